//! Optimizers: how a parameter store moves along its gradients.
//!
//! [`Sgd`] (with optional momentum, Nesterov momentum and weight decay) and [`Adam`] both
//! implement [`Optimizer`]; both take their learning rate from a [`Schedule`] (constant, step
//! decay or exponential decay). Hyper-parameters are checked when set: a bad one is an
//! [`Error::InvalidHyperparameter`] naming the value.
//!
//! `step(params, grads)` reads one gradient per parameter, in the store's order — what
//! [`BoundMlp::gradients_into`](crate::nn::BoundMlp::gradients_into) writes. A gradient buffer of
//! another length is a programming mistake and panics with both lengths.
//!
//! # Examples
//!
//! Minimizing `(p - 3)²`, whose gradient is `2(p - 3)`:
//!
//! ```
//! use tapegrad::nn::Params;
//! use tapegrad::optim::{Adam, Optimizer, Schedule};
//!
//! # fn main() -> Result<(), tapegrad::Error> {
//! let mut params = Params::new();
//! params.push("p", 0.0);
//! let mut opt = Adam::with_schedule(Schedule::exponential(0.1, 0.999)?);
//! for _ in 0..2000 {
//!     let grad = 2.0 * (params.values()[0] - 3.0);
//!     opt.step(&mut params, &[grad]);
//! }
//! assert!((params.values()[0] - 3.0).abs() < 1e-3);
//! # Ok(()) }
//! ```

use crate::Error;
use crate::nn::Params;

fn invalid(name: &'static str, expected: &'static str, value: f64) -> Error {
    Error::InvalidHyperparameter {
        name,
        expected,
        value,
    }
}

fn positive(name: &'static str, value: f64) -> Result<f64, Error> {
    if value.is_finite() && value > 0.0 {
        Ok(value)
    } else {
        Err(invalid(name, "a positive finite number", value))
    }
}

fn non_negative(name: &'static str, value: f64) -> Result<f64, Error> {
    if value.is_finite() && value >= 0.0 {
        Ok(value)
    } else {
        Err(invalid(name, "a finite number >= 0", value))
    }
}

fn unit_interval(name: &'static str, value: f64) -> Result<f64, Error> {
    if (0.0..1.0).contains(&value) {
        Ok(value)
    } else {
        Err(invalid(name, "in [0, 1)", value))
    }
}

/// A learning rate that may change with the number of steps taken.
///
/// # Examples
///
/// ```
/// use tapegrad::optim::Schedule;
///
/// # fn main() -> Result<(), tapegrad::Error> {
/// let step = Schedule::step_decay(0.1, 0.5, 10)?;
/// assert_eq!(step.learning_rate(9), 0.1);
/// assert_eq!(step.learning_rate(10), 0.05);
/// assert_eq!(step.learning_rate(25), 0.025);
///
/// let exp = Schedule::exponential(1.0, 0.9)?;
/// assert_eq!(exp.learning_rate(2), 0.81);
///
/// assert_eq!(
///     Schedule::constant(-0.1).unwrap_err().to_string(),
///     "learning rate must be a positive finite number, got -0.1"
/// );
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Schedule(ScheduleKind);

#[derive(Debug, Clone, Copy, PartialEq)]
enum ScheduleKind {
    Constant(f64),
    Step { lr: f64, factor: f64, every: usize },
    Exponential { lr: f64, gamma: f64 },
}

fn decay_factor(name: &'static str, value: f64) -> Result<f64, Error> {
    if value > 0.0 && value <= 1.0 {
        Ok(value)
    } else {
        Err(invalid(name, "in (0, 1]", value))
    }
}

impl Schedule {
    /// The same learning rate `lr` at every step.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidHyperparameter`] unless `lr` is a positive finite number.
    pub fn constant(lr: f64) -> Result<Self, Error> {
        Ok(Schedule(ScheduleKind::Constant(positive(
            "learning rate",
            lr,
        )?)))
    }

    /// `lr * factor^⌊step / every⌋`: multiplied by `factor` every `every` steps.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidHyperparameter`] unless `lr` is a positive finite number, `factor` is in
    /// `(0, 1]` and `every` is at least 1.
    pub fn step_decay(lr: f64, factor: f64, every: usize) -> Result<Self, Error> {
        let lr = positive("learning rate", lr)?;
        let factor = decay_factor("step decay factor", factor)?;
        if every == 0 {
            return Err(invalid("step decay interval", "at least 1 step", 0.0));
        }
        Ok(Schedule(ScheduleKind::Step { lr, factor, every }))
    }

    /// `lr * gamma^step`.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidHyperparameter`] unless `lr` is a positive finite number and `gamma` is
    /// in `(0, 1]`.
    pub fn exponential(lr: f64, gamma: f64) -> Result<Self, Error> {
        let lr = positive("learning rate", lr)?;
        let gamma = decay_factor("exponential decay gamma", gamma)?;
        Ok(Schedule(ScheduleKind::Exponential { lr, gamma }))
    }

    /// The learning rate for step `step`, counted from 0.
    pub fn learning_rate(&self, step: usize) -> f64 {
        let exponent = |n: usize| i32::try_from(n).unwrap_or(i32::MAX);
        match self.0 {
            ScheduleKind::Constant(lr) => lr,
            ScheduleKind::Step { lr, factor, every } => lr * factor.powi(exponent(step / every)),
            ScheduleKind::Exponential { lr, gamma } => lr * gamma.powi(exponent(step)),
        }
    }
}

/// Something that updates a parameter store from its gradients.
///
/// # Examples
///
/// Training code generic over the optimizer:
///
/// ```
/// use tapegrad::nn::Params;
/// use tapegrad::optim::{Adam, Optimizer, Sgd};
///
/// fn descend(opt: &mut impl Optimizer, params: &mut Params, steps: usize) {
///     for _ in 0..steps {
///         let grads: Vec<f64> = params.values().iter().map(|p| 2.0 * p).collect();
///         opt.step(params, &grads);
///     }
/// }
///
/// # fn main() -> Result<(), tapegrad::Error> {
/// let mut params = Params::new();
/// params.push("x", 1.0);
/// descend(&mut Sgd::new(0.1)?, &mut params, 100);
/// assert!(params.values()[0].abs() < 1e-6);
///
/// params.set("x", 1.0)?;
/// descend(&mut Adam::new(0.05)?, &mut params, 200);
/// assert!(params.values()[0].abs() < 0.05);
/// # Ok(()) }
/// ```
pub trait Optimizer {
    /// Updates every parameter from its gradient: `grads[i]` belongs to `params.values()[i]`.
    ///
    /// # Panics
    ///
    /// When `grads.len() != params.len()`, or when the optimizer has state for a store of
    /// another size.
    fn step(&mut self, params: &mut Params, grads: &[f64]);

    /// The learning rate the next step will use.
    fn learning_rate(&self) -> f64;

    /// The number of steps taken.
    fn steps(&self) -> usize;

    /// Forgets the state (momentum, moment estimates, step count), as if new.
    fn reset(&mut self);
}

/// Panics unless there is one gradient per parameter and the state (if any) fits the store.
fn check_lengths(who: &str, params: usize, grads: usize, state: usize) {
    assert!(
        grads == params,
        "{who}::step: got {grads} gradients for {params} parameters; pass one gradient per \
         parameter, in the store's order"
    );
    assert!(
        state == 0 || state == params,
        "{who}::step: this optimizer holds state for {state} parameters, got a store of \
         {params}; use one optimizer per parameter store, or reset it"
    );
}

/// Stochastic gradient descent, optionally with momentum (classical or Nesterov) and L2 weight
/// decay.
///
/// With learning rate `η`, momentum `μ` and weight decay `λ`, each step computes, for each
/// parameter `p` with gradient `g`:
///
/// ```text
/// d = g + λp
/// v = μv + d                         (v starts at 0)
/// p = p - η(d + μv)   with Nesterov
/// p = p - ηv          otherwise      (with μ = 0 this is p - ηd)
/// ```
///
/// # Examples
///
/// ```
/// use tapegrad::nn::Params;
/// use tapegrad::optim::{Optimizer, Sgd};
///
/// # fn main() -> Result<(), tapegrad::Error> {
/// let mut params = Params::new();
/// params.push("w", 1.0);
/// let mut sgd = Sgd::new(0.1)?.momentum(0.5)?;
/// sgd.step(&mut params, &[2.0]); // v = 2,   w = 1 - 0.2 = 0.8
/// sgd.step(&mut params, &[2.0]); // v = 3,   w = 0.8 - 0.3 = 0.5
/// assert!((params.values()[0] - 0.5).abs() < 1e-15);
///
/// assert_eq!(
///     Sgd::new(0.1)?.momentum(1.0).unwrap_err().to_string(),
///     "momentum must be in [0, 1), got 1"
/// );
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Sgd {
    schedule: Schedule,
    momentum: f64,
    nesterov: bool,
    weight_decay: f64,
    velocity: Vec<f64>,
    steps: usize,
}

impl Sgd {
    /// Plain SGD with a constant learning rate `lr`.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidHyperparameter`] unless `lr` is a positive finite number.
    pub fn new(lr: f64) -> Result<Self, Error> {
        Ok(Self::with_schedule(Schedule::constant(lr)?))
    }

    /// Plain SGD with a learning-rate schedule.
    ///
    /// # Examples
    ///
    /// ```
    /// use tapegrad::optim::{Optimizer, Schedule, Sgd};
    ///
    /// # fn main() -> Result<(), tapegrad::Error> {
    /// let mut sgd = Sgd::with_schedule(Schedule::step_decay(0.1, 0.5, 100)?).momentum(0.9)?;
    /// assert_eq!(sgd.learning_rate(), 0.1);
    /// # Ok(()) }
    /// ```
    pub fn with_schedule(schedule: Schedule) -> Self {
        Sgd {
            schedule,
            momentum: 0.0,
            nesterov: false,
            weight_decay: 0.0,
            velocity: Vec::new(),
            steps: 0,
        }
    }

    /// Adds classical momentum `momentum` (0 turns it off).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidHyperparameter`] unless `momentum` is in `[0, 1)`.
    pub fn momentum(mut self, momentum: f64) -> Result<Self, Error> {
        self.momentum = unit_interval("momentum", momentum)?;
        self.nesterov = false;
        Ok(self)
    }

    /// Adds Nesterov momentum `momentum`.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidHyperparameter`] unless `momentum` is in `(0, 1)`.
    ///
    /// # Examples
    ///
    /// ```
    /// use tapegrad::optim::Sgd;
    ///
    /// # fn main() -> Result<(), tapegrad::Error> {
    /// assert_eq!(
    ///     Sgd::new(0.1)?.nesterov(0.0).unwrap_err().to_string(),
    ///     "nesterov momentum must be in (0, 1), got 0"
    /// );
    /// # Ok(()) }
    /// ```
    pub fn nesterov(mut self, momentum: f64) -> Result<Self, Error> {
        if !(momentum > 0.0 && momentum < 1.0) {
            return Err(invalid("nesterov momentum", "in (0, 1)", momentum));
        }
        self.momentum = momentum;
        self.nesterov = true;
        Ok(self)
    }

    /// Adds L2 weight decay: `weight_decay * p` is added to each gradient.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidHyperparameter`] unless `weight_decay` is a finite number `>= 0`.
    pub fn weight_decay(mut self, weight_decay: f64) -> Result<Self, Error> {
        self.weight_decay = non_negative("weight decay", weight_decay)?;
        Ok(self)
    }
}

impl Optimizer for Sgd {
    fn step(&mut self, params: &mut Params, grads: &[f64]) {
        check_lengths("Sgd", params.len(), grads.len(), self.velocity.len());
        let lr = self.learning_rate();
        let (mu, wd) = (self.momentum, self.weight_decay);
        let values = params.values_mut();
        if mu == 0.0 {
            for (p, &g) in values.iter_mut().zip(grads) {
                *p -= lr * (g + wd * *p);
            }
        } else {
            if self.velocity.is_empty() {
                self.velocity.resize(values.len(), 0.0);
            }
            for ((p, &g), v) in values.iter_mut().zip(grads).zip(&mut self.velocity) {
                let d = g + wd * *p;
                *v = mu * *v + d;
                let update = if self.nesterov { d + mu * *v } else { *v };
                *p -= lr * update;
            }
        }
        self.steps += 1;
    }

    fn learning_rate(&self) -> f64 {
        self.schedule.learning_rate(self.steps)
    }

    fn steps(&self) -> usize {
        self.steps
    }

    fn reset(&mut self) {
        self.velocity.clear();
        self.steps = 0;
    }
}

/// Adam: per-parameter steps scaled by running estimates of the gradient's first and second
/// moments, with bias correction (Kingma & Ba, 2015).
///
/// With learning rate `η`, `β₁`, `β₂`, `ε` and L2 weight decay `λ`, step `t` (from 1) computes,
/// for each parameter `p` with gradient `g`:
///
/// ```text
/// d = g + λp
/// m = β₁m + (1 - β₁)d                (m and v start at 0)
/// v = β₂v + (1 - β₂)d²
/// p = p - η (m / (1 - β₁ᵗ)) / (√(v / (1 - β₂ᵗ)) + ε)
/// ```
///
/// Defaults: `β₁ = 0.9`, `β₂ = 0.999`, `ε = 1e-8`, no weight decay.
///
/// # Examples
///
/// ```
/// use tapegrad::nn::Params;
/// use tapegrad::optim::{Adam, Optimizer};
///
/// # fn main() -> Result<(), tapegrad::Error> {
/// let mut params = Params::new();
/// params.push("w", 1.0);
/// let mut adam = Adam::new(0.1)?;
/// adam.step(&mut params, &[5.0]);
/// // The first step moves each parameter by about the learning rate, whatever the gradient.
/// assert!((params.values()[0] - 0.9).abs() < 1e-8);
///
/// assert_eq!(
///     Adam::new(0.1)?.betas(0.9, 1.0).unwrap_err().to_string(),
///     "beta2 must be in [0, 1), got 1"
/// );
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Adam {
    schedule: Schedule,
    beta1: f64,
    beta2: f64,
    eps: f64,
    weight_decay: f64,
    m: Vec<f64>,
    v: Vec<f64>,
    steps: usize,
}

impl Adam {
    /// Adam with a constant learning rate `lr` and the default betas and epsilon.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidHyperparameter`] unless `lr` is a positive finite number.
    pub fn new(lr: f64) -> Result<Self, Error> {
        Ok(Self::with_schedule(Schedule::constant(lr)?))
    }

    /// Adam with a learning-rate schedule and the default betas and epsilon.
    pub fn with_schedule(schedule: Schedule) -> Self {
        Adam {
            schedule,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.0,
            m: Vec::new(),
            v: Vec::new(),
            steps: 0,
        }
    }

    /// Sets the decay rates of the moment estimates.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidHyperparameter`] unless both are in `[0, 1)`.
    pub fn betas(mut self, beta1: f64, beta2: f64) -> Result<Self, Error> {
        self.beta1 = unit_interval("beta1", beta1)?;
        self.beta2 = unit_interval("beta2", beta2)?;
        Ok(self)
    }

    /// Sets `ε`, added to the denominator.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidHyperparameter`] unless `eps` is a positive finite number.
    pub fn eps(mut self, eps: f64) -> Result<Self, Error> {
        self.eps = positive("eps", eps)?;
        Ok(self)
    }

    /// Adds L2 weight decay: `weight_decay * p` is added to each gradient.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidHyperparameter`] unless `weight_decay` is a finite number `>= 0`.
    pub fn weight_decay(mut self, weight_decay: f64) -> Result<Self, Error> {
        self.weight_decay = non_negative("weight decay", weight_decay)?;
        Ok(self)
    }
}

impl Optimizer for Adam {
    fn step(&mut self, params: &mut Params, grads: &[f64]) {
        check_lengths("Adam", params.len(), grads.len(), self.m.len());
        let lr = self.learning_rate();
        let values = params.values_mut();
        if self.m.is_empty() {
            self.m.resize(values.len(), 0.0);
            self.v.resize(values.len(), 0.0);
        }
        self.steps += 1;
        let t = i32::try_from(self.steps).unwrap_or(i32::MAX);
        let (b1, b2, wd) = (self.beta1, self.beta2, self.weight_decay);
        let correct1 = 1.0 - b1.powi(t);
        let correct2 = 1.0 - b2.powi(t);
        for (((p, &g), m), v) in values
            .iter_mut()
            .zip(grads)
            .zip(&mut self.m)
            .zip(&mut self.v)
        {
            let d = g + wd * *p;
            *m = b1 * *m + (1.0 - b1) * d;
            *v = b2 * *v + (1.0 - b2) * d * d;
            *p -= lr * (*m / correct1) / ((*v / correct2).sqrt() + self.eps);
        }
    }

    fn learning_rate(&self) -> f64 {
        self.schedule.learning_rate(self.steps)
    }

    fn steps(&self) -> usize {
        self.steps
    }

    fn reset(&mut self) {
        self.m.clear();
        self.v.clear();
        self.steps = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_sgd_allocates_no_velocity() {
        let mut params = Params::new();
        params.push("w", 1.0);
        let mut sgd = Sgd::new(0.1).unwrap();
        sgd.step(&mut params, &[1.0]);
        assert!(sgd.velocity.is_empty());
        assert_eq!(sgd.steps(), 1);
    }

    #[test]
    fn reset_forgets_moments_and_steps() {
        let mut params = Params::new();
        params.push("w", 1.0);
        let mut adam = Adam::new(0.1).unwrap();
        adam.step(&mut params, &[1.0]);
        adam.reset();
        assert!(adam.m.is_empty() && adam.v.is_empty());
        assert_eq!(adam.steps(), 0);
    }

    #[test]
    fn huge_step_counts_do_not_overflow_the_exponent() {
        let s = Schedule::exponential(1.0, 0.5).unwrap();
        assert_eq!(s.learning_rate(usize::MAX), 0.0);
    }
}
