//! Optimizers: how parameters move along their gradients.
//!
//! [`Sgd`] (with optional momentum, Nesterov momentum and weight decay) and [`Adam`] both
//! implement [`Optimizer`]; both take their learning rate from a [`Schedule`] (constant, step
//! decay, exponential, linear or cosine decay, each with an optional linear warm-up), which
//! [`set_learning_rate`](Optimizer::set_learning_rate) and
//! [`set_schedule`](Optimizer::set_schedule) replace between steps. Hyper-parameters are checked
//! when set: a bad one is an [`Error::InvalidHyperparameter`] naming the value.
//!
//! `step(params, grads)` reads one gradient per parameter, in the order of a [`Params`] store —
//! what [`BoundMlp::gradients_into`](crate::nn::BoundMlp::gradients_into) writes.
//! `step_slice(values, grads)` does the same on a plain `&mut [f64]`, for a model whose
//! parameters have no names; the optimizer's state does not depend on which form steps it. A
//! gradient buffer of another length is a programming mistake and panics with both lengths.
//!
//! With the `serde` feature, [`Sgd`], [`Adam`] and [`Schedule`] serialize with their state
//! (velocity or moment estimates, step count) and their hyper-parameters, so a run saved between
//! two steps resumes with the numbers it would have had; reading them back checks every
//! hyper-parameter as its setter does and every number of the state ([`Error::InvalidState`]).
//! With `serde_json`, turn on its `float_roundtrip` feature, without which a number can read
//! back a bit off.
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
/// A decay — [`constant`](Schedule::constant), [`step_decay`](Schedule::step_decay),
/// [`exponential`](Schedule::exponential), [`linear`](Schedule::linear) or
/// [`cosine`](Schedule::cosine) — optionally preceded by a linear
/// [`warmup`](Schedule::warmup). An optimizer reads it at its step count
/// ([`Optimizer::steps`]), counted from 0.
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
/// // Three warm-up steps, then a linear decay from 0.4 to 0 over 4 steps.
/// let warm = Schedule::warmup(3, Schedule::linear(0.4, 0.0, 4)?)?;
/// let rates: Vec<f64> = (0..9).map(|t| warm.learning_rate(t)).collect();
/// assert_eq!(rates, [0.1, 0.2, 0.30000000000000004, 0.4, 0.30000000000000004, 0.2, 0.1, 0.0, 0.0]);
///
/// assert_eq!(
///     Schedule::constant(-0.1).unwrap_err().to_string(),
///     "learning rate must be a positive finite number, got -0.1"
/// );
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Schedule {
    /// Steps of linear warm-up before `decay` starts, 0 for none.
    warmup: usize,
    /// The rate after warm-up, counted from the first step after it.
    decay: Decay,
}

#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(rename_all = "snake_case")
)]
enum Decay {
    Constant(f64),
    Step { lr: f64, factor: f64, every: usize },
    Exponential { lr: f64, gamma: f64 },
    Linear { lr: f64, last: f64, steps: usize },
    Cosine { lr: f64, last: f64, steps: usize },
}

fn decay_factor(name: &'static str, value: f64) -> Result<f64, Error> {
    if value > 0.0 && value <= 1.0 {
        Ok(value)
    } else {
        Err(invalid(name, "in (0, 1]", value))
    }
}

/// A number of steps that must be at least 1.
fn at_least_one_step(name: &'static str, steps: usize) -> Result<usize, Error> {
    if steps == 0 {
        Err(invalid(name, "at least 1 step", 0.0))
    } else {
        Ok(steps)
    }
}

/// A decay's first rate and its last, checked: `0 <= last <= lr`.
fn decay_ends(lr: f64, last: f64) -> Result<(f64, f64), Error> {
    let lr = positive("learning rate", lr)?;
    if last.is_finite() && (0.0..=lr).contains(&last) {
        Ok((lr, last))
    } else {
        Err(invalid(
            "final learning rate",
            "in [0, lr], from 0 to the initial learning rate",
            last,
        ))
    }
}

impl Schedule {
    fn decay(decay: Decay) -> Self {
        Schedule { warmup: 0, decay }
    }

    /// The same learning rate `lr` at every step.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidHyperparameter`] unless `lr` is a positive finite number.
    pub fn constant(lr: f64) -> Result<Self, Error> {
        Ok(Self::decay(Decay::Constant(positive("learning rate", lr)?)))
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
        let every = at_least_one_step("step decay interval", every)?;
        Ok(Self::decay(Decay::Step { lr, factor, every }))
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
        Ok(Self::decay(Decay::Exponential { lr, gamma }))
    }

    /// A straight line from `lr` at step 0 to `final_lr` at step `steps`, then `final_lr`:
    /// with `t = min(step, steps) / steps`, the rate is `lr · (1 - t) + final_lr · t`.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidHyperparameter`] unless `lr` is a positive finite number, `final_lr` is
    /// in `[0, lr]` and `steps` is at least 1.
    ///
    /// # Examples
    ///
    /// ```
    /// use tapegrad::optim::Schedule;
    ///
    /// # fn main() -> Result<(), tapegrad::Error> {
    /// let s = Schedule::linear(1.0, 0.5, 4)?;
    /// let rates: Vec<f64> = (0..6).map(|t| s.learning_rate(t)).collect();
    /// assert_eq!(rates, [1.0, 0.875, 0.75, 0.625, 0.5, 0.5]);
    /// assert_eq!(
    ///     Schedule::linear(0.1, 0.2, 10).unwrap_err().to_string(),
    ///     "final learning rate must be in [0, lr], from 0 to the initial learning rate, got 0.2"
    /// );
    /// # Ok(()) }
    /// ```
    pub fn linear(lr: f64, final_lr: f64, steps: usize) -> Result<Self, Error> {
        let (lr, last) = decay_ends(lr, final_lr)?;
        let steps = at_least_one_step("linear decay steps", steps)?;
        Ok(Self::decay(Decay::Linear { lr, last, steps }))
    }

    /// Half a cosine from `lr` at step 0 down to `min_lr` at step `steps`, then `min_lr`: with
    /// `t = min(step, steps) / steps`, the rate is `min_lr + (lr - min_lr) · (1 + cos πt) / 2`
    /// (Loshchilov & Hutter's SGDR without restarts).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidHyperparameter`] unless `lr` is a positive finite number, `min_lr` is in
    /// `[0, lr]` and `steps` is at least 1.
    ///
    /// # Examples
    ///
    /// ```
    /// use tapegrad::optim::Schedule;
    ///
    /// # fn main() -> Result<(), tapegrad::Error> {
    /// let s = Schedule::cosine(1.0, 0.0, 4)?;
    /// assert_eq!(s.learning_rate(0), 1.0);
    /// assert!((s.learning_rate(2) - 0.5).abs() < 1e-15);
    /// assert_eq!(s.learning_rate(4), 0.0);
    /// assert_eq!(s.learning_rate(100), 0.0);
    /// # Ok(()) }
    /// ```
    pub fn cosine(lr: f64, min_lr: f64, steps: usize) -> Result<Self, Error> {
        let (lr, last) = decay_ends(lr, min_lr)?;
        let steps = at_least_one_step("cosine decay steps", steps)?;
        Ok(Self::decay(Decay::Cosine { lr, last, steps }))
    }

    /// `then`, preceded by `steps` steps of linear warm-up towards its first rate: step
    /// `k < steps` uses `then.learning_rate(0) · (k + 1) / (steps + 1)`, and step `k >= steps`
    /// uses `then.learning_rate(k - steps)`, so `then` starts over when the warm-up ends.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidHyperparameter`] unless `steps` is at least 1 and `then` does not warm
    /// up already.
    ///
    /// # Examples
    ///
    /// ```
    /// use tapegrad::optim::Schedule;
    ///
    /// # fn main() -> Result<(), tapegrad::Error> {
    /// let s = Schedule::warmup(4, Schedule::constant(1.0)?)?;
    /// let rates: Vec<f64> = (0..6).map(|t| s.learning_rate(t)).collect();
    /// assert_eq!(rates, [0.2, 0.4, 0.6, 0.8, 1.0, 1.0]);
    /// assert_eq!(
    ///     Schedule::warmup(2, s).unwrap_err().to_string(),
    ///     "warm-up steps of the schedule it wraps must be 0 (wrap a schedule without warm-up), \
    ///      got 4"
    /// );
    /// # Ok(()) }
    /// ```
    pub fn warmup(steps: usize, then: Schedule) -> Result<Self, Error> {
        let steps = at_least_one_step("warm-up steps", steps)?;
        if then.warmup != 0 {
            return Err(invalid(
                "warm-up steps of the schedule it wraps",
                "0 (wrap a schedule without warm-up)",
                then.warmup as f64,
            ));
        }
        Ok(Schedule {
            warmup: steps,
            decay: then.decay,
        })
    }

    /// The learning rate for step `step`, counted from 0.
    pub fn learning_rate(&self, step: usize) -> f64 {
        if step < self.warmup {
            // `step + 1 <= warmup`: no overflow.
            let rise = (step + 1) as f64 / (self.warmup as f64 + 1.0);
            return self.decay.learning_rate(0) * rise;
        }
        self.decay.learning_rate(step - self.warmup)
    }
}

impl Decay {
    fn learning_rate(&self, step: usize) -> f64 {
        let exponent = |n: usize| i32::try_from(n).unwrap_or(i32::MAX);
        // The fraction of a decay of `steps` steps done at `step`, in [0, 1].
        let done = |steps: usize| step.min(steps) as f64 / steps as f64;
        match *self {
            Decay::Constant(lr) => lr,
            Decay::Step { lr, factor, every } => lr * factor.powi(exponent(step / every)),
            Decay::Exponential { lr, gamma } => lr * gamma.powi(exponent(step)),
            Decay::Linear { lr, last, steps } => {
                let t = done(steps);
                lr * (1.0 - t) + last * t
            }
            Decay::Cosine { lr, last, steps } => {
                let t = done(steps);
                last + (lr - last) * 0.5 * (1.0 + (std::f64::consts::PI * t).cos())
            }
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
    /// Updates every value from its gradient: `grads[i]` belongs to `values[i]`. The form for
    /// a model of your own whose parameters are a plain slice, without names; the optimizer's
    /// state is the same whichever form steps it, so the two can be mixed.
    ///
    /// NaN and infinity are not checked: they propagate into the values as in `f64`
    /// arithmetic. [`step_slice_checked`](Optimizer::step_slice_checked) refuses them.
    ///
    /// # Panics
    ///
    /// When `grads.len() != values.len()`, or when the optimizer has state for a slice of
    /// another length.
    ///
    /// # Examples
    ///
    /// Fitting `y = a·x + b` to two points, with the gradient written by hand:
    ///
    /// ```
    /// use tapegrad::optim::{Optimizer, Sgd};
    ///
    /// # fn main() -> Result<(), tapegrad::Error> {
    /// let points = [(0.0, 1.0), (1.0, 3.0)]; // y = 2x + 1
    /// let mut ab = [0.0, 0.0];
    /// let mut sgd = Sgd::new(0.2)?.momentum(0.5)?;
    /// for _ in 0..300 {
    ///     let mut grad = [0.0, 0.0];
    ///     for (x, y) in points {
    ///         let r = ab[0] * x + ab[1] - y;
    ///         grad[0] += 2.0 * r * x;
    ///         grad[1] += 2.0 * r;
    ///     }
    ///     sgd.step_slice(&mut ab, &grad);
    /// }
    /// assert!((ab[0] - 2.0).abs() < 1e-9 && (ab[1] - 1.0).abs() < 1e-9);
    /// # Ok(()) }
    /// ```
    fn step_slice(&mut self, values: &mut [f64], grads: &[f64]);

    /// [`step_slice`](Optimizer::step_slice), unless a gradient is NaN or infinite or the step
    /// would make a value or the optimizer's state NaN or infinite: then nothing changes —
    /// neither the values nor the optimizer's state or step count — and the error says why.
    /// When it accepts, the values and the state are bit for bit those `step_slice` gives.
    ///
    /// # Errors
    ///
    /// [`Error::NonFiniteGradient`] naming the position of the first gradient that is NaN or
    /// infinite; otherwise [`Error::NonFiniteUpdate`] naming the first position whose value or
    /// state would become so. Both carry the refused step's number, [`steps`](Optimizer::steps)
    /// counted from 0, and no parameter name.
    ///
    /// # Panics
    ///
    /// As [`step_slice`](Optimizer::step_slice).
    ///
    /// # Examples
    ///
    /// ```
    /// use tapegrad::optim::{Adam, Optimizer};
    ///
    /// # fn main() -> Result<(), tapegrad::Error> {
    /// let mut values = [1.0, 2.0, 3.0];
    /// let mut adam = Adam::new(0.1)?;
    /// adam.step_slice_checked(&mut values, &[1.0, 1.0, 1.0])?;
    /// let err = adam.step_slice_checked(&mut values, &[1.0, f64::NAN, 1.0]).unwrap_err();
    /// assert_eq!(
    ///     err.to_string(),
    ///     "step 1: the gradient of parameter 1 is NaN; no parameter was updated"
    /// );
    /// # Ok(()) }
    /// ```
    fn step_slice_checked(&mut self, values: &mut [f64], grads: &[f64]) -> Result<(), Error>;

    /// Updates every parameter from its gradient: `grads[i]` belongs to `params.values()[i]`.
    /// [`step_slice`](Optimizer::step_slice) on the store's values.
    ///
    /// NaN and infinity are not checked: they propagate into the parameters as in `f64`
    /// arithmetic. [`step_checked`](Optimizer::step_checked) refuses them.
    ///
    /// # Panics
    ///
    /// When `grads.len() != params.len()`, or when the optimizer has state for a store of
    /// another size.
    fn step(&mut self, params: &mut Params, grads: &[f64]) {
        self.step_slice(params.values_mut(), grads);
    }

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
    fn step_checked(&mut self, params: &mut Params, grads: &[f64]) -> Result<(), Error> {
        self.step_slice_checked(params.values_mut(), grads)
            .map_err(|e| named(e, params))
    }

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

    /// Replaces the learning-rate schedule from the next step on. The schedule is read at the
    /// optimizer's step count, which goes on from where it is: a new schedule meant to start
    /// from its own step 0 belongs after [`reset`](Optimizer::reset), or on a fresh optimizer.
    /// The optimizer's state (momentum, moment estimates) is kept.
    fn set_schedule(&mut self, schedule: Schedule);

    /// Uses the constant learning rate `lr` from the next step on, in place of the schedule;
    /// the optimizer's state and step count are kept. For decisions made during training, such
    /// as dividing the rate when the loss stops falling.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidHyperparameter`] unless `lr` is a positive finite number; the schedule
    /// is then unchanged.
    ///
    /// # Examples
    ///
    /// ```
    /// use tapegrad::optim::{Optimizer, Sgd};
    ///
    /// # fn main() -> Result<(), tapegrad::Error> {
    /// let mut x = [1.0];
    /// let mut sgd = Sgd::new(0.5)?;
    /// sgd.step_slice(&mut x, &[1.0]); // x = 1 - 0.5
    /// sgd.set_learning_rate(sgd.learning_rate() / 10.0)?;
    /// sgd.step_slice(&mut x, &[1.0]); // x = 0.5 - 0.05
    /// assert_eq!(x, [0.45]);
    /// assert_eq!(
    ///     sgd.set_learning_rate(f64::NAN).unwrap_err().to_string(),
    ///     "learning rate must be a positive finite number, got NaN"
    /// );
    /// assert_eq!(sgd.learning_rate(), 0.05);
    /// # Ok(()) }
    /// ```
    fn set_learning_rate(&mut self, lr: f64) -> Result<(), Error> {
        self.set_schedule(Schedule::constant(lr)?);
        Ok(())
    }

    /// The number of steps taken.
    fn steps(&self) -> usize;

    /// Forgets the state (momentum, moment estimates, step count), as if new. The schedule
    /// stays.
    fn reset(&mut self);
}

/// `error` with the parameter's name from `params`, for the errors that name a parameter.
fn named(error: Error, params: &Params) -> Error {
    let name_of = |index: usize| params.name(index).map(String::from);
    match error {
        Error::NonFiniteGradient {
            step, index, value, ..
        } => Error::NonFiniteGradient {
            step,
            index,
            name: name_of(index),
            value,
        },
        Error::NonFiniteUpdate {
            step,
            index,
            quantity,
            value,
            ..
        } => Error::NonFiniteUpdate {
            step,
            index,
            name: name_of(index),
            quantity,
            value,
        },
        other => other,
    }
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
    /// The error for the step numbered `step`, without a parameter name.
    fn into_error(self, step: usize) -> Error {
        let (index, name) = (self.index, None);
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
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
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

    fn apply(&mut self, values: &mut [f64], grads: &[f64]) {
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
    fn step_slice(&mut self, values: &mut [f64], grads: &[f64]) {
        self.apply(values, grads);
    }

    fn step_slice_checked(&mut self, values: &mut [f64], grads: &[f64]) -> Result<(), Error> {
        if let Some(refusal) = self.refusal(values, grads) {
            return Err(refusal.into_error(self.steps));
        }
        self.apply(values, grads);
        Ok(())
    }

    fn learning_rate(&self) -> f64 {
        self.schedule.learning_rate(self.steps)
    }

    fn set_schedule(&mut self, schedule: Schedule) {
        self.schedule = schedule;
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
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
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

    fn apply(&mut self, values: &mut [f64], grads: &[f64]) {
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
    fn step_slice(&mut self, values: &mut [f64], grads: &[f64]) {
        self.apply(values, grads);
    }

    fn step_slice_checked(&mut self, values: &mut [f64], grads: &[f64]) -> Result<(), Error> {
        if let Some(refusal) = self.refusal(values, grads) {
            return Err(refusal.into_error(self.steps));
        }
        self.apply(values, grads);
        Ok(())
    }

    fn learning_rate(&self) -> f64 {
        self.schedule.learning_rate(self.steps)
    }

    fn set_schedule(&mut self, schedule: Schedule) {
        self.schedule = schedule;
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

/// Serialization behind the `serde` feature. Everything read goes through the constructors
/// and builder methods, so a hyper-parameter out of range is refused as it is when set, and the
/// state is checked to be finite: no optimizer can be built this way that could not be built by
/// training.
#[cfg(feature = "serde")]
mod serde_impls {
    use super::*;
    use serde::Deserialize;
    use serde::de::{self, Deserializer};

    /// What a [`Schedule`] is read from, before it is checked.
    #[derive(Deserialize)]
    #[serde(rename = "Schedule", deny_unknown_fields)]
    struct ScheduleData {
        warmup: usize,
        decay: Decay,
    }

    impl TryFrom<ScheduleData> for Schedule {
        type Error = Error;

        fn try_from(data: ScheduleData) -> Result<Self, Error> {
            let decay = match data.decay {
                Decay::Constant(lr) => Schedule::constant(lr)?,
                Decay::Step { lr, factor, every } => Schedule::step_decay(lr, factor, every)?,
                Decay::Exponential { lr, gamma } => Schedule::exponential(lr, gamma)?,
                Decay::Linear { lr, last, steps } => Schedule::linear(lr, last, steps)?,
                Decay::Cosine { lr, last, steps } => Schedule::cosine(lr, last, steps)?,
            };
            match data.warmup {
                0 => Ok(decay),
                steps => Schedule::warmup(steps, decay),
            }
        }
    }

    /// Checked by the constructors: a rate, factor or step count out of range is an
    /// [`Error::InvalidHyperparameter`] naming it.
    #[cfg_attr(docsrs, doc(cfg(feature = "serde")))]
    impl<'de> Deserialize<'de> for Schedule {
        fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            Schedule::try_from(ScheduleData::deserialize(deserializer)?).map_err(de::Error::custom)
        }
    }

    /// Each value of `state` finite (and, with `non_negative`, at least 0).
    fn check_state(quantity: &'static str, state: &[f64], non_negative: bool) -> Result<(), Error> {
        let bad = |v: f64| !v.is_finite() || (non_negative && v < 0.0);
        match state.iter().position(|&v| bad(v)) {
            None => Ok(()),
            Some(index) => Err(Error::InvalidState {
                quantity,
                index,
                expected: if non_negative {
                    "a finite number >= 0"
                } else {
                    "a finite number"
                },
                value: state[index],
            }),
        }
    }

    /// What an [`Sgd`] is read from, before it is checked.
    #[derive(Deserialize)]
    #[serde(rename = "Sgd", deny_unknown_fields)]
    struct SgdData {
        schedule: Schedule,
        momentum: f64,
        nesterov: bool,
        weight_decay: f64,
        velocity: Vec<f64>,
        steps: usize,
    }

    impl TryFrom<SgdData> for Sgd {
        type Error = Error;

        fn try_from(data: SgdData) -> Result<Self, Error> {
            let sgd = Sgd::with_schedule(data.schedule);
            let sgd = if data.nesterov {
                sgd.nesterov(data.momentum)?
            } else {
                sgd.momentum(data.momentum)?
            };
            let mut sgd = sgd.weight_decay(data.weight_decay)?;
            check_state("velocity", &data.velocity, false)?;
            sgd.velocity = data.velocity;
            sgd.steps = data.steps;
            Ok(sgd)
        }
    }

    /// Checked as when set: a hyper-parameter out of range is an
    /// [`Error::InvalidHyperparameter`] naming it, a NaN or infinite velocity an
    /// [`Error::InvalidState`] naming the parameter's position.
    #[cfg_attr(docsrs, doc(cfg(feature = "serde")))]
    impl<'de> Deserialize<'de> for Sgd {
        fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            Sgd::try_from(SgdData::deserialize(deserializer)?).map_err(de::Error::custom)
        }
    }

    /// What an [`Adam`] is read from, before it is checked.
    #[derive(Deserialize)]
    #[serde(rename = "Adam", deny_unknown_fields)]
    struct AdamData {
        schedule: Schedule,
        beta1: f64,
        beta2: f64,
        eps: f64,
        weight_decay: f64,
        m: Vec<f64>,
        v: Vec<f64>,
        steps: usize,
    }

    impl TryFrom<AdamData> for Adam {
        type Error = Error;

        fn try_from(data: AdamData) -> Result<Self, Error> {
            let mut adam = Adam::with_schedule(data.schedule)
                .betas(data.beta1, data.beta2)?
                .eps(data.eps)?
                .weight_decay(data.weight_decay)?;
            if data.m.len() != data.v.len() {
                return Err(Error::MomentCount {
                    first: data.m.len(),
                    second: data.v.len(),
                });
            }
            check_state("first moment", &data.m, false)?;
            check_state("second moment", &data.v, true)?;
            (adam.m, adam.v, adam.steps) = (data.m, data.v, data.steps);
            Ok(adam)
        }
    }

    /// Checked as when set: a hyper-parameter out of range is an
    /// [`Error::InvalidHyperparameter`] naming it; first and second moments must be as many,
    /// finite, and the second ones at least 0, or an [`Error::InvalidState`] names the
    /// parameter's position.
    #[cfg_attr(docsrs, doc(cfg(feature = "serde")))]
    impl<'de> Deserialize<'de> for Adam {
        fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            Adam::try_from(AdamData::deserialize(deserializer)?).map_err(de::Error::custom)
        }
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
    fn a_refused_first_step_allocates_no_state() {
        let mut sgd = Sgd::new(0.1).unwrap().momentum(0.9).unwrap();
        let mut adam = Adam::new(0.1).unwrap();
        assert!(sgd.step_slice_checked(&mut [1.0], &[f64::NAN]).is_err());
        assert!(adam.step_slice_checked(&mut [1.0], &[f64::NAN]).is_err());
        assert!(sgd.velocity.is_empty());
        assert!(adam.m.is_empty() && adam.v.is_empty());
    }

    #[test]
    fn huge_warmups_and_step_counts_stay_finite() {
        let s = Schedule::warmup(usize::MAX, Schedule::constant(1.0).unwrap()).unwrap();
        assert_eq!(s.learning_rate(usize::MAX - 1), 1.0);
        let s = Schedule::cosine(1.0, 0.5, usize::MAX).unwrap();
        assert_eq!(s.learning_rate(usize::MAX), 0.5);
    }

    #[test]
    fn huge_step_counts_do_not_overflow_the_exponent() {
        let s = Schedule::exponential(1.0, 0.5).unwrap();
        assert_eq!(s.learning_rate(usize::MAX), 0.0);
    }
}
