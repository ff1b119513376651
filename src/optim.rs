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
//! # NaN and infinity
//!
//! `step` does arithmetic and nothing else: a NaN gradient makes a NaN parameter, as it would
//! in `f64`. [`step_checked`](Optimizer::step_checked) refuses the step instead, leaving the
//! parameters and the optimizer's state untouched, when a gradient is NaN or infinite
//! ([`Error::NonFiniteGradient`]) or when the update would make a parameter or the optimizer's
//! state for it so ([`Error::NonFiniteUpdate`]); both name the step and the parameter. It gives
//! the same numbers as `step` whenever it accepts. [`check_loss`](Optimizer::check_loss) does the
//! same for the loss ([`Error::NonFiniteLoss`]). A training loop that should stop at the first
//! non-finite number, rather than train on NaN, uses both; `Var::backward_checked` then tells
//! which node of the tape produced it.
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
//! params.push("p", 0.0)?;
//! let mut opt = Adam::with_schedule(Schedule::exponential(0.1, 0.999)?);
//! for _ in 0..2000 {
//!     let p = params.values()[0];
//!     opt.check_loss((p - 3.0).powi(2))?;
//!     opt.step_checked(&mut params, &[2.0 * (p - 3.0)])?;
//! }
//! assert!((params.values()[0] - 3.0).abs() < 1e-3);
//!
//! let err = opt.step_checked(&mut params, &[f64::NAN]).unwrap_err();
//! assert_eq!(
//!     err.to_string(),
//!     "step 2000: the gradient of parameter 0 (p) is NaN; no parameter was updated"
//! );
//! assert_eq!(opt.steps(), 2000);
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
/// params.push("x", 1.0)?;
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
    /// NaN and infinity are not checked: they propagate into the parameters as in `f64`
    /// arithmetic. [`step_checked`](Optimizer::step_checked) refuses them.
    ///
    /// # Panics
    ///
    /// When `grads.len() != params.len()`, or when the optimizer has state for a store of
    /// another size.
    fn step(&mut self, params: &mut Params, grads: &[f64]);

    /// [`step`](Optimizer::step), unless a gradient is NaN or infinite or the step would make a
    /// parameter or the optimizer's state NaN or infinite: then nothing changes — neither the
    /// parameters nor the optimizer's state or step count — and the error says why. When it
    /// accepts, the parameters and the state are bit for bit those `step` gives.
    ///
    /// # Errors
    ///
    /// [`Error::NonFiniteGradient`] naming the first parameter (position and name) whose
    /// gradient is NaN or infinite; otherwise [`Error::NonFiniteUpdate`] naming the first
    /// parameter that, or whose state, would become so. Both carry the refused step's number,
    /// [`steps`](Optimizer::steps) counted from 0.
    ///
    /// # Panics
    ///
    /// As [`step`](Optimizer::step).
    ///
    /// # Examples
    ///
    /// ```
    /// use tapegrad::nn::Params;
    /// use tapegrad::optim::{Optimizer, Sgd};
    ///
    /// # fn main() -> Result<(), tapegrad::Error> {
    /// let mut params = Params::new();
    /// params.push("w", 1.0)?;
    /// params.push("b", 0.0)?;
    /// let mut sgd = Sgd::new(1e300)?;
    /// sgd.step_checked(&mut params, &[0.5, -1.0])?; // w = 1 - 0.5e300, b = 1e300
    /// assert_eq!(
    ///     sgd.step_checked(&mut params, &[1.0, f64::INFINITY]).unwrap_err().to_string(),
    ///     "step 1: the gradient of parameter 1 (b) is inf; no parameter was updated"
    /// );
    /// assert_eq!(
    ///     sgd.step_checked(&mut params, &[0.0, 1e10]).unwrap_err().to_string(),
    ///     "step 1: the value of parameter 1 (b) would become -inf; no parameter was updated"
    /// );
    /// assert_eq!(params.values(), &[1.0 - 0.5e300, 1e300]);
    /// assert_eq!(sgd.steps(), 1);
    /// # Ok(()) }
    /// ```
    fn step_checked(&mut self, params: &mut Params, grads: &[f64]) -> Result<(), Error>;

    /// Checks a loss before its gradients are used for step [`steps`](Optimizer::steps).
    ///
    /// # Errors
    ///
    /// [`Error::NonFiniteLoss`] with the step's number when `loss` is NaN or infinite.
    ///
    /// # Examples
    ///
    /// ```
    /// use tapegrad::optim::{Optimizer, Sgd};
    ///
    /// # fn main() -> Result<(), tapegrad::Error> {
    /// let sgd = Sgd::new(0.1)?;
    /// sgd.check_loss(0.25)?;
    /// assert_eq!(sgd.check_loss(f64::NAN).unwrap_err().to_string(), "step 0: the loss is NaN");
    /// # Ok(()) }
    /// ```
    fn check_loss(&self, loss: f64) -> Result<(), Error> {
        if loss.is_finite() {
            Ok(())
        } else {
            Err(Error::NonFiniteLoss {
                step: self.steps(),
                value: loss,
            })
        }
    }

    /// The learning rate the next step will use.
    fn learning_rate(&self) -> f64;

    /// The number of steps taken.
    fn steps(&self) -> usize;

    /// Forgets the state (momentum, moment estimates, step count), as if new.
    fn reset(&mut self);
}

/// Why a checked step was refused: the parameter's position and what is not finite.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Refusal {
    index: usize,
    kind: RefusalKind,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum RefusalKind {
    /// The gradient.
    Gradient(f64),
    /// What the update would make of the named quantity.
    Update(&'static str, f64),
}

impl Refusal {
    fn into_error(self, step: usize, names: Option<&Params>) -> Error {
        let index = self.index;
        let name = names.and_then(|p| p.name(index)).map(String::from);
        match self.kind {
            RefusalKind::Gradient(value) => Error::NonFiniteGradient {
                step,
                index,
                name,
                value,
            },
            RefusalKind::Update(quantity, value) => Error::NonFiniteUpdate {
                step,
                index,
                name,
                quantity,
                value,
            },
        }
    }
}

/// The first gradient that is NaN or infinite.
fn bad_gradient(grads: &[f64]) -> Option<Refusal> {
    grads
        .iter()
        .position(|g| !g.is_finite())
        .map(|index| Refusal {
            index,
            kind: RefusalKind::Gradient(grads[index]),
        })
}

/// The first of `quantities` (name, new value) that is not finite.
fn bad_update(index: usize, quantities: &[(&'static str, f64)]) -> Option<Refusal> {
    quantities
        .iter()
        .find(|(_, v)| !v.is_finite())
        .map(|&(quantity, value)| Refusal {
            index,
            kind: RefusalKind::Update(quantity, value),
        })
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
/// params.push("w", 1.0)?;
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

impl Sgd {
    /// The new value and velocity of a parameter `p` with gradient `g` and velocity `v`: the
    /// one formula both `step` and the check before a checked step use.
    #[inline(always)]
    fn update(&self, lr: f64, p: f64, g: f64, v: f64) -> (f64, f64) {
        let d = g + self.weight_decay * p;
        if self.momentum == 0.0 {
            return (p - lr * d, v);
        }
        let v = self.momentum * v + d;
        let update = if self.nesterov {
            d + self.momentum * v
        } else {
            v
        };
        (p - lr * update, v)
    }

    fn step_values(&mut self, values: &mut [f64], grads: &[f64]) {
        check_lengths("Sgd", values.len(), grads.len(), self.velocity.len());
        let lr = self.learning_rate();
        if self.momentum == 0.0 {
            for (p, &g) in values.iter_mut().zip(grads) {
                (*p, _) = self.update(lr, *p, g, 0.0);
            }
        } else {
            let mut velocity = std::mem::take(&mut self.velocity);
            velocity.resize(values.len(), 0.0);
            for ((p, &g), v) in values.iter_mut().zip(grads).zip(&mut velocity) {
                (*p, *v) = self.update(lr, *p, g, *v);
            }
            self.velocity = velocity;
        }
        self.steps += 1;
    }

    /// Why the next step on `values` must be refused, if it must.
    fn refusal(&self, values: &[f64], grads: &[f64]) -> Option<Refusal> {
        check_lengths("Sgd", values.len(), grads.len(), self.velocity.len());
        bad_gradient(grads).or_else(|| {
            let lr = self.learning_rate();
            values
                .iter()
                .zip(grads)
                .enumerate()
                .find_map(|(i, (&p, &g))| {
                    let v = self.velocity.get(i).copied().unwrap_or(0.0);
                    let (p, v) = self.update(lr, p, g, v);
                    bad_update(i, &[("value", p), ("velocity", v)])
                })
        })
    }
}

impl Optimizer for Sgd {
    fn step(&mut self, params: &mut Params, grads: &[f64]) {
        self.step_values(params.values_mut(), grads);
    }

    fn step_checked(&mut self, params: &mut Params, grads: &[f64]) -> Result<(), Error> {
        if let Some(refusal) = self.refusal(params.values(), grads) {
            return Err(refusal.into_error(self.steps, Some(params)));
        }
        self.step(params, grads);
        Ok(())
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
/// params.push("w", 1.0)?;
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

/// What one Adam step needs besides the parameter's own numbers.
#[derive(Debug, Clone, Copy)]
struct AdamStep {
    lr: f64,
    /// `1 - β₁ᵗ` for this step `t`.
    correct1: f64,
    /// `1 - β₂ᵗ`.
    correct2: f64,
}

impl Adam {
    /// The learning rate and bias corrections of the next step.
    fn next_step(&self) -> AdamStep {
        let t = i32::try_from(self.steps + 1).unwrap_or(i32::MAX);
        AdamStep {
            lr: self.learning_rate(),
            correct1: 1.0 - self.beta1.powi(t),
            correct2: 1.0 - self.beta2.powi(t),
        }
    }

    /// The new value and moment estimates of a parameter `p` with gradient `g` and moments
    /// `m`, `v`: the one formula both `step` and the check before a checked step use.
    #[inline(always)]
    fn update(&self, s: AdamStep, p: f64, g: f64, m: f64, v: f64) -> (f64, f64, f64) {
        let (b1, b2) = (self.beta1, self.beta2);
        let d = g + self.weight_decay * p;
        let m = b1 * m + (1.0 - b1) * d;
        let v = b2 * v + (1.0 - b2) * d * d;
        let p = p - s.lr * (m / s.correct1) / ((v / s.correct2).sqrt() + self.eps);
        (p, m, v)
    }

    fn step_values(&mut self, values: &mut [f64], grads: &[f64]) {
        check_lengths("Adam", values.len(), grads.len(), self.m.len());
        let s = self.next_step();
        let (mut ms, mut vs) = (std::mem::take(&mut self.m), std::mem::take(&mut self.v));
        ms.resize(values.len(), 0.0);
        vs.resize(values.len(), 0.0);
        for (((p, &g), m), v) in values.iter_mut().zip(grads).zip(&mut ms).zip(&mut vs) {
            (*p, *m, *v) = self.update(s, *p, g, *m, *v);
        }
        (self.m, self.v) = (ms, vs);
        self.steps += 1;
    }

    /// Why the next step on `values` must be refused, if it must.
    fn refusal(&self, values: &[f64], grads: &[f64]) -> Option<Refusal> {
        check_lengths("Adam", values.len(), grads.len(), self.m.len());
        bad_gradient(grads).or_else(|| {
            let s = self.next_step();
            values
                .iter()
                .zip(grads)
                .enumerate()
                .find_map(|(i, (&p, &g))| {
                    let m = self.m.get(i).copied().unwrap_or(0.0);
                    let v = self.v.get(i).copied().unwrap_or(0.0);
                    let (p, m, v) = self.update(s, p, g, m, v);
                    bad_update(
                        i,
                        &[("value", p), ("first moment", m), ("second moment", v)],
                    )
                })
        })
    }
}

impl Optimizer for Adam {
    fn step(&mut self, params: &mut Params, grads: &[f64]) {
        self.step_values(params.values_mut(), grads);
    }

    fn step_checked(&mut self, params: &mut Params, grads: &[f64]) -> Result<(), Error> {
        if let Some(refusal) = self.refusal(params.values(), grads) {
            return Err(refusal.into_error(self.steps, Some(params)));
        }
        self.step(params, grads);
        Ok(())
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
        params.push("w", 1.0).unwrap();
        let mut sgd = Sgd::new(0.1).unwrap();
        sgd.step(&mut params, &[1.0]);
        assert!(sgd.velocity.is_empty());
        assert_eq!(sgd.steps(), 1);
    }

    #[test]
    fn reset_forgets_moments_and_steps() {
        let mut params = Params::new();
        params.push("w", 1.0).unwrap();
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
