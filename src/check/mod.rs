//! Finite-difference gradient checking, and random expressions for property tests.
//!
//! [`gradient`] compares the gradient the tape computes for a function with central finite
//! differences, input by input, and returns a [`GradReport`]; [`assert_gradient`] panics with
//! the report when an input disagrees, for use in tests. [`GradCheck`] sets the step and the
//! tolerances. The function is an ordinary closure over a slice of [`Var`]s:
//!
//! ```
//! use tapegrad::{check, Var};
//!
//! check::assert_gradient(|x: &[Var<'_>]| x[0].sin() * x[1], &[0.5, -2.0]);
//! ```
//!
//! [`Expr`] is a random expression — a DAG of operations over `n` inputs whose sub-expressions
//! are reused — that stays inside every operation's domain and away from kinks, so finite
//! differences are valid on it; it is the raw material of property tests of the tape itself and
//! of code built on it. With the cargo feature `proptest`, `check::strategies` wraps it in
//! proptest strategies.
//!
//! The checker uses only the public core API: it records the function on a fresh tape, runs
//! [`Var::backward`], and evaluates the function again at `x ± h` for every input.

use std::fmt;

use crate::{Scalar, Tape, Var};

mod expr;
#[cfg(feature = "proptest")]
pub mod strategies;

pub use expr::Expr;

/// How much of the finite difference's own rounding noise, `ε max(|f(x+h)|, |f(x-h)|) / 2h`, the
/// allowed error includes: evaluating `f` rounds a few times, not once.
const NOISE_FACTOR: f64 = 4.0;

/// Settings of a gradient check: the finite-difference step and the tolerances.
///
/// Each setting left unset takes a default that depends on the scalar type of the function being
/// checked, through its machine epsilon `ε` (`2.2e-16` for `f64`, `1.2e-7` for `f32`):
///
/// - step: `h = step * max(1, |x|)` with `step = ε^(1/3)` (`6.1e-6` for `f64`, `4.9e-3` for
///   `f32`), which balances the truncation error of central differences (`h²`) against rounding
///   (`ε / h`);
/// - the numeric gradient is Richardson's extrapolation `(4 D(h/2) - D(h)) / 3` of the central
///   differences `D(h) = (f(x+h) - f(x-h)) / 2h` and `D(h/2)`, which cancels their `h²` error;
/// - tolerances: an input passes when
///   `|analytic - numeric| <= abs_tol + rel_tol * max(|analytic|, |numeric|) + noise + truncation`,
///   with `abs_tol = rel_tol = 10 ε^(1/3)` (`6.1e-5` for `f64`, `4.9e-2` for `f32`), `noise`
///   the rounding noise of the differences, `4 ε max(|f(x+h)|, |f(x-h)|) / 2h` for each, and
///   `truncation = |D(h/2) - D(h)| / 3`, a bound on what extrapolation leaves of the
///   truncation error. A wrong gradient is off by the same amount at both steps, so
///   `truncation` does not hide it; a function that curves sharply within `h` is not blamed
///   for the finite difference's own error.
///
/// # Examples
///
/// ```
/// use tapegrad::check::GradCheck;
/// use tapegrad::Var;
///
/// let report = GradCheck::new()
///     .rel_tol(1e-7)
///     .abs_tol(1e-9)
///     .run(|x: &[Var<'_>]| x[0].exp() * x[1], &[0.3, 2.0]);
/// assert!(report.passed(), "{report}");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct GradCheck {
    step: Option<f64>,
    rel_tol: Option<f64>,
    abs_tol: Option<f64>,
}

#[track_caller]
fn check_setting(name: &str, value: f64, positive: bool) {
    let ok = value.is_finite() && if positive { value > 0.0 } else { value >= 0.0 };
    assert!(
        ok,
        "GradCheck::{name}: got {value}; pass a finite number {}",
        if positive { "above 0" } else { "of at least 0" }
    );
}

impl GradCheck {
    /// The default settings (see [`GradCheck`]).
    ///
    /// # Examples
    ///
    /// ```
    /// use tapegrad::check::GradCheck;
    /// use tapegrad::Var;
    ///
    /// let report = GradCheck::new().run(|x: &[Var<'_>]| x[0].powi(3), &[2.0]);
    /// assert!(report.passed());
    /// ```
    pub fn new() -> Self {
        GradCheck::default()
    }

    /// Sets the relative step: input `x` is moved by `h = step * max(1, |x|)` each way.
    ///
    /// # Panics
    ///
    /// When `step` is not a finite number above 0.
    ///
    /// # Examples
    ///
    /// ```
    /// use tapegrad::check::GradCheck;
    /// use tapegrad::Var;
    ///
    /// let report = GradCheck::new().step(1e-4).run(|x: &[Var<'_>]| x[0] * x[0], &[3.0]);
    /// assert!((report.inputs[0].numeric - 6.0).abs() < 1e-9);
    /// ```
    #[track_caller]
    pub fn step(mut self, step: f64) -> Self {
        check_setting("step", step, true);
        self.step = Some(step);
        self
    }

    /// Sets the relative tolerance: the part of the allowed error proportional to
    /// `max(|analytic|, |numeric|)`.
    ///
    /// # Panics
    ///
    /// When `rel_tol` is negative, NaN or infinite.
    ///
    /// # Examples
    ///
    /// ```
    /// use tapegrad::check::GradCheck;
    /// use tapegrad::Var;
    ///
    /// let check = GradCheck::new().rel_tol(1e-3).abs_tol(0.0);
    /// assert!(check.run(|x: &[Var<'_>]| x[0].tanh(), &[0.5]).passed());
    /// ```
    #[track_caller]
    pub fn rel_tol(mut self, rel_tol: f64) -> Self {
        check_setting("rel_tol", rel_tol, false);
        self.rel_tol = Some(rel_tol);
        self
    }

    /// Sets the absolute tolerance: the part of the allowed error that does not scale with the
    /// gradient, which matters where the gradient is near 0.
    ///
    /// # Panics
    ///
    /// When `abs_tol` is negative, NaN or infinite.
    ///
    /// # Examples
    ///
    /// ```
    /// use tapegrad::check::GradCheck;
    /// use tapegrad::Var;
    ///
    /// // d/dx cos(x) at 0 is exactly 0: only an absolute tolerance can accept a numeric 1e-12.
    /// let check = GradCheck::new().rel_tol(0.0).abs_tol(1e-8);
    /// assert!(check.run(|x: &[Var<'_>]| x[0].cos(), &[0.0]).passed());
    /// ```
    #[track_caller]
    pub fn abs_tol(mut self, abs_tol: f64) -> Self {
        check_setting("abs_tol", abs_tol, false);
        self.abs_tol = Some(abs_tol);
        self
    }

    /// Checks the tape's gradient of `f` at `at` against central finite differences.
    ///
    /// `f` is called once on a tape to get the analytic gradient (through [`Var::backward`]),
    /// then four times per input, on the point moved by `±h` and `±h/2` in that input. The differences are taken
    /// in `T`, the function's own scalar type.
    ///
    /// `f` must be generic over the tape's lifetime; a closure passed directly, such as
    /// `|x: &[Var<'_>]| x[0].sin() * x[1]`, is. (A closure first bound with `let` may lose that
    /// generality: pass a `fn` item, or the closure itself, instead.)
    ///
    /// # Examples
    ///
    /// ```
    /// use tapegrad::check::GradCheck;
    /// use tapegrad::Var;
    ///
    /// let report = GradCheck::new().run(|x: &[Var<'_, f32>]| x[0].sigmoid() * x[1], &[0.5f32, 3.0]);
    /// assert!(report.passed(), "{report}");
    /// assert_eq!(report.inputs.len(), 2);
    /// ```
    pub fn run<T, F>(&self, f: F, at: &[T]) -> GradReport
    where
        T: Scalar,
        F: for<'t> Fn(&[Var<'t, T>]) -> Var<'t, T>,
    {
        let eps = epsilon::<T>();
        let step = self.step.unwrap_or_else(|| eps.cbrt());
        let rel_tol = self.rel_tol.unwrap_or_else(|| 10.0 * eps.cbrt());
        let abs_tol = self.abs_tol.unwrap_or_else(|| 10.0 * eps.cbrt());

        // One tape serves the analytic gradient and then, cleared, every evaluation at x ± h.
        let mut tape = Tape::<T>::new();
        let (value, analytic) = {
            let xs = tape.vars(at);
            let y = f(&xs);
            (y.value().to_f64(), y.backward().wrt_all(&xs))
        };

        let mut point = at.to_vec();
        let inputs = at
            .iter()
            .zip(analytic)
            .enumerate()
            .map(|(index, (&x, analytic))| {
                let h = step * x.to_f64().abs().max(1.0);
                let mut central = |h: f64| {
                    central_difference(&f, &mut tape, &mut point, index, T::from_f64(h), eps)
                };
                let (coarse, coarse_noise) = central(h);
                let (fine, fine_noise) = central(h / 2.0);
                // Richardson: both differences are f' + c h² + O(h⁴), so (4 fine - coarse) / 3
                // cancels the h² term. What remains is smaller than the fine difference's own
                // error, (fine - coarse) / 3, which the allowance counts: a function that curves
                // sharply is not blamed for the finite difference's error, while a wrong
                // gradient, off by the same amount at both steps, still is.
                let numeric = fine + (fine - coarse) / 3.0;
                let truncation = (fine - coarse).abs() / 3.0;
                let noise = (4.0 * fine_noise + coarse_noise) / 3.0;
                let analytic = analytic.to_f64();
                let abs_error = (analytic - numeric).abs();
                let scale = analytic.abs().max(numeric.abs());
                let rel_error = if abs_error == 0.0 {
                    0.0
                } else {
                    abs_error / scale
                };
                let allowed = abs_tol + rel_tol * scale + noise + truncation;
                InputCheck {
                    index,
                    at: x.to_f64(),
                    analytic,
                    numeric,
                    abs_error,
                    rel_error,
                    allowed,
                    passed: abs_error <= allowed,
                }
            })
            .collect();
        GradReport {
            value,
            step,
            inputs,
        }
    }

    /// [`run`](GradCheck::run), panicking with the report when an input disagrees.
    ///
    /// # Panics
    ///
    /// When the analytic and numeric gradients disagree for some input beyond the tolerances
    /// (or either is NaN); the message is the report's [`Display`](GradReport#impl-Display-for-GradReport).
    ///
    /// # Examples
    ///
    /// ```
    /// use tapegrad::check::GradCheck;
    /// use tapegrad::Var;
    ///
    /// GradCheck::new().rel_tol(1e-8).assert(|x: &[Var<'_>]| x[0].ln() / x[1], &[2.0, 3.0]);
    /// ```
    #[track_caller]
    pub fn assert<T, F>(&self, f: F, at: &[T])
    where
        T: Scalar,
        F: for<'t> Fn(&[Var<'t, T>]) -> Var<'t, T>,
    {
        self.run(f, at).assert_passed();
    }
}

/// The central difference `(f(x+h) - f(x-h)) / 2h` in input `index` of `point`, and its rounding
/// noise `4 ε max(|f(x+h)|, |f(x-h)|) / 2h`.
fn central_difference<T, F>(
    f: &F,
    tape: &mut Tape<T>,
    point: &mut [T],
    index: usize,
    h: T,
    eps: f64,
) -> (f64, f64)
where
    T: Scalar,
    F: for<'t> Fn(&[Var<'t, T>]) -> Var<'t, T>,
{
    let x = point[index];
    let (plus, minus) = (x + h, x - h);
    point[index] = plus;
    let f_plus = evaluate(f, tape, point);
    point[index] = minus;
    let f_minus = evaluate(f, tape, point);
    point[index] = x;
    // Dividing by the difference of the points actually used, not by 2h, removes the rounding
    // of x ± h from the quotient.
    let width = (plus - minus).to_f64();
    let numeric = ((f_plus - f_minus) / (plus - minus)).to_f64();
    let noise = NOISE_FACTOR * eps * f_plus.to_f64().abs().max(f_minus.to_f64().abs()) / width;
    (numeric, noise)
}

/// Records `f` at `point` on `tape`, cleared first, and returns its value.
fn evaluate<T, F>(f: &F, tape: &mut Tape<T>, point: &[T]) -> T
where
    T: Scalar,
    F: for<'t> Fn(&[Var<'t, T>]) -> Var<'t, T>,
{
    tape.clear();
    let xs = tape.vars(point);
    f(&xs).value()
}

/// The machine epsilon of `T`: the distance from 1 to the next larger number, as `f64`.
fn epsilon<T: Scalar>() -> f64 {
    let one = T::one();
    let half = T::from_f64(0.5);
    let mut eps = one;
    // A binary floating-point type has fewer than 200 bits of mantissa; the bound keeps an
    // exotic scalar whose `1 + e` never rounds to 1 from looping forever.
    for _ in 0..200 {
        if one + eps * half == one {
            break;
        }
        eps *= half;
    }
    eps.to_f64()
}

/// Checks the tape's gradient of `f` at `at` against central finite differences, with the
/// default settings of [`GradCheck`].
///
/// # Examples
///
/// ```
/// use tapegrad::{check, Var};
///
/// let report = check::gradient(|x: &[Var<'_>]| x[0].sin() * x[1], &[0.5, -2.0]);
/// assert!(report.passed(), "{report}");
/// // d/dx1 [sin(x0) x1] = sin(x0)
/// assert_eq!(report.inputs[1].analytic, 0.5f64.sin());
/// ```
pub fn gradient<T, F>(f: F, at: &[T]) -> GradReport
where
    T: Scalar,
    F: for<'t> Fn(&[Var<'t, T>]) -> Var<'t, T>,
{
    GradCheck::new().run(f, at)
}

/// Checks the tape's gradient of `f` at `at` with the default settings of [`GradCheck`], and
/// panics with the report when an input disagrees.
///
/// # Panics
///
/// When the analytic and numeric gradients disagree for some input beyond the tolerances; the
/// message names each such input and by how much it is off.
///
/// # Examples
///
/// ```
/// use tapegrad::{check, Var};
///
/// check::assert_gradient(|x: &[Var<'_, f32>]| (x[0] * x[1]).tanh(), &[0.5f32, -1.5]);
/// ```
///
/// A user-defined operation with a wrong partial is caught:
///
/// ```should_panic
/// use tapegrad::{check, Var};
///
/// // d/dx x² is 2x, not x
/// check::assert_gradient(
///     |x: &[Var<'_>]| x[0].tape().custom(x[0].value().powi(2), &[(x[0], x[0].value())]),
///     &[3.0],
/// );
/// ```
#[track_caller]
pub fn assert_gradient<T, F>(f: F, at: &[T])
where
    T: Scalar,
    F: for<'t> Fn(&[Var<'t, T>]) -> Var<'t, T>,
{
    GradCheck::new().assert(f, at);
}

/// The outcome of a gradient check: for every input, the analytic and numeric gradient and how
/// far apart they are.
///
/// Its [`Display`](fmt::Display) names each input that disagreed and by how much.
///
/// # Examples
///
/// ```
/// use tapegrad::{check, Var};
///
/// // A custom operation that claims d/dx (2x) = 3.
/// let report = check::gradient(
///     |x: &[Var<'_>]| x[0].tape().custom(2.0 * x[0].value(), &[(x[0], 3.0)]),
///     &[1.0],
/// );
/// assert!(!report.passed());
/// assert_eq!(report.failures().count(), 1);
/// assert_eq!(
///     report.to_string(),
///     "gradient check failed for 1 of 1 inputs (f = 2)\n  \
///      input 0 at 1: analytic 3, numeric 2, off by 1 (relative 0.333), allowed 0.000242"
/// );
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct GradReport {
    /// The function's value at the point checked, as `f64`.
    pub value: f64,
    /// The relative step used: input `x` moved by `step * max(1, |x|)`.
    pub step: f64,
    /// One entry per input, in order.
    pub inputs: Vec<InputCheck>,
}

/// The check of one input: analytic against numeric gradient.
///
/// # Examples
///
/// ```
/// use tapegrad::{check, Var};
///
/// let report = check::gradient(|x: &[Var<'_>]| x[0] * x[0], &[3.0]);
/// let input = &report.inputs[0];
/// assert_eq!((input.index, input.at, input.analytic), (0, 3.0, 6.0));
/// assert!(input.abs_error < 1e-8 && input.passed);
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct InputCheck {
    /// The input's position in the slice checked.
    pub index: usize,
    /// The input's value.
    pub at: f64,
    /// The gradient the tape computed.
    pub analytic: f64,
    /// The finite-difference gradient: `(4 D(h/2) - D(h)) / 3`, Richardson's extrapolation of
    /// the central differences `D(h) = (f(x+h) - f(x-h)) / 2h` (see [`GradCheck`]).
    pub numeric: f64,
    /// `|analytic - numeric|`.
    pub abs_error: f64,
    /// `|analytic - numeric| / max(|analytic|, |numeric|)`, and 0 when both are 0.
    pub rel_error: f64,
    /// The largest `abs_error` accepted:
    /// `abs_tol + rel_tol * max(|analytic|, |numeric|) + noise + truncation` (see [`GradCheck`]).
    pub allowed: f64,
    /// `abs_error <= allowed`; false when either gradient is NaN.
    pub passed: bool,
}

impl GradReport {
    /// `true` when every input passed.
    ///
    /// # Examples
    ///
    /// ```
    /// use tapegrad::{check, Var};
    ///
    /// assert!(check::gradient(|x: &[Var<'_>]| x[0].exp(), &[1.0]).passed());
    /// ```
    pub fn passed(&self) -> bool {
        self.inputs.iter().all(|i| i.passed)
    }

    /// Same as [`passed`](GradReport::passed), under the name `Result` uses.
    ///
    /// # Examples
    ///
    /// ```
    /// use tapegrad::{check, Var};
    ///
    /// assert!(check::gradient(|x: &[Var<'_>]| x[0].cos(), &[1.0]).is_ok());
    /// ```
    pub fn is_ok(&self) -> bool {
        self.passed()
    }

    /// The inputs that did not pass.
    ///
    /// # Examples
    ///
    /// ```
    /// use tapegrad::{check, Var};
    ///
    /// // x1 is detached: the tape says its gradient is 0, finite differences disagree.
    /// let report = check::gradient(|x: &[Var<'_>]| x[0] * x[1].detach(), &[2.0, 5.0]);
    /// let failed: Vec<usize> = report.failures().map(|i| i.index).collect();
    /// assert_eq!(failed, vec![1]);
    /// ```
    pub fn failures(&self) -> impl Iterator<Item = &InputCheck> + '_ {
        self.inputs.iter().filter(|i| !i.passed)
    }

    /// The input whose error is the largest fraction of what it is allowed, if there are inputs.
    ///
    /// # Examples
    ///
    /// ```
    /// use tapegrad::{check, Var};
    ///
    /// let report = check::gradient(|x: &[Var<'_>]| x[0] * x[1].detach(), &[2.0, 5.0]);
    /// assert_eq!(report.worst().map(|i| i.index), Some(1));
    /// ```
    pub fn worst(&self) -> Option<&InputCheck> {
        let badness = |i: &InputCheck| {
            if i.passed {
                i.abs_error / i.allowed
            } else {
                f64::INFINITY
            }
        };
        self.inputs
            .iter()
            .max_by(|a, b| badness(a).total_cmp(&badness(b)))
    }

    /// Panics with this report unless every input passed.
    ///
    /// # Panics
    ///
    /// When an input failed; the message is the report's `Display`.
    ///
    /// # Examples
    ///
    /// ```
    /// use tapegrad::{check, Var};
    ///
    /// check::gradient(|x: &[Var<'_>]| x[0].sqrt(), &[4.0]).assert_passed();
    /// ```
    #[track_caller]
    pub fn assert_passed(&self) {
        if !self.passed() {
            panic!("{self}");
        }
    }
}

impl fmt::Display for GradReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let failed = self.failures().count();
        if failed == 0 {
            write!(
                f,
                "gradient check passed for {} inputs (f = {})",
                self.inputs.len(),
                self.value
            )?;
            if let Some(worst) = self.worst() {
                write!(
                    f,
                    "; largest error {} at input {}, allowed {}",
                    Sig(worst.abs_error),
                    worst.index,
                    Sig(worst.allowed)
                )?;
            }
            return Ok(());
        }
        write!(
            f,
            "gradient check failed for {failed} of {} inputs (f = {})",
            self.inputs.len(),
            self.value
        )?;
        for input in self.failures() {
            write!(f, "\n  {input}")?;
        }
        Ok(())
    }
}

impl fmt::Display for InputCheck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "input {} at {}: analytic {}, numeric {}, off by {} (relative {}), allowed {}",
            self.index,
            self.at,
            self.analytic,
            self.numeric,
            Sig(self.abs_error),
            Sig(self.rel_error),
            Sig(self.allowed)
        )
    }
}

/// An error magnitude printed with three significant digits: `0.000182`, `1.5e-11`, `42`.
struct Sig(f64);

impl fmt::Display for Sig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let x = self.0;
        if x == 0.0 || !x.is_finite() {
            return write!(f, "{x}");
        }
        let exponent = x.abs().log10().floor() as i32;
        if (-4..6).contains(&exponent) {
            let decimals = (2 - exponent).max(0) as usize;
            // `{:.N}` keeps trailing zeros; trim them so 0.5 does not print as 0.500.
            let s = format!("{x:.decimals$}");
            let s = if s.contains('.') {
                s.trim_end_matches('0').trim_end_matches('.')
            } else {
                &s
            };
            write!(f, "{s}")
        } else {
            write!(f, "{x:.2e}")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epsilon_is_the_machine_epsilon_of_each_float() {
        assert_eq!(epsilon::<f64>(), f64::EPSILON);
        assert_eq!(epsilon::<f32>(), f32::EPSILON as f64);
    }

    #[test]
    fn sig_prints_three_significant_digits() {
        let shown: Vec<String> = [0.000182_123, 1.5e-11, 42.0, 0.5, 0.333_333, 1234567.0, 0.0]
            .iter()
            .map(|&x| Sig(x).to_string())
            .collect();
        assert_eq!(
            shown,
            ["0.000182", "1.50e-11", "42", "0.5", "0.333", "1.23e6", "0"]
        );
    }

    #[test]
    fn extrapolation_passes_a_sharp_curve_that_one_central_difference_misses() {
        let (x, h) = (0.1f32, (f32::EPSILON as f64).cbrt() as f32);
        let plain = ((x + h) * 200.0).sin() - ((x - h) * 200.0).sin();
        let plain = (plain / ((x + h) - (x - h))) as f64;
        let exact = 200.0 * (20.0f64).cos();
        // A single central difference is off by more than the 4.9% relative tolerance ...
        assert!(
            (plain - exact).abs() > 0.1 * exact.abs(),
            "{plain} vs {exact}"
        );
        // ... while the extrapolated one is close, and the check passes.
        let report = gradient(|x: &[Var<'_, f32>]| (x[0] * 200.0).sin(), &[x]);
        assert!(report.passed(), "{report}");
        assert!((report.inputs[0].numeric - exact).abs() < 0.01 * exact.abs());
    }

    #[test]
    fn a_gradient_off_by_a_tenth_of_a_percent_still_fails() {
        fn f<'t>(x: &[Var<'t>]) -> Var<'t> {
            let v = x[0].value();
            x[0].tape().custom(v.sin(), &[(x[0], v.cos() * 1.001)])
        }
        let report = gradient(f, &[0.7]);
        assert!(!report.passed(), "{report}");
        // The allowance is the tolerances alone: the extrapolation adds next to nothing.
        assert!(report.inputs[0].allowed < 1.1e-4, "{report}");
    }

    #[test]
    fn default_step_is_the_cube_root_of_epsilon() {
        let report = gradient(|x: &[Var<'_, f32>]| x[0] * 2.0, &[1.0f32]);
        assert_eq!(report.step, (f32::EPSILON as f64).cbrt());
    }
}
