//! [argmin](https://docs.rs/argmin)'s solvers on a tapegrad function, with no glue: L-BFGS, BFGS,
//! steepest descent, nonlinear conjugate gradients, Newton-CG and trust regions.
//!
//! [`Problem`] wraps a [`Function`] and implements argmin's [`CostFunction`], [`Gradient`] and
//! [`Hessian`] over `Vec<f64>` (argmin's `vec` math backend): the cost by recording `f` on a tape,
//! the gradient by one reverse sweep, the Hessian by forward-over-reverse on a
//! [`Dual`](crate::Dual) tape ([`functional::hessian`]). Every call
//! records afresh on a tape whose buffers the thread reuses, so a solver's loop allocates little.
//!
//! A NaN or infinite gradient stops the solver with an error that names the node where it first
//! appeared (see [`Var::backward_checked`](crate::Var::backward_checked)), rather than letting a
//! line search wander on NaN.
//!
//! Needs the `argmin` cargo feature.
//!
//! # Examples
//!
//! The two-dimensional Rosenbrock function minimised with L-BFGS:
//!
//! ```
//! use argmin::core::{Executor, State};
//! use argmin::solver::linesearch::MoreThuenteLineSearch;
//! use argmin::solver::quasinewton::LBFGS;
//! use tapegrad::argmin::Problem;
//! use tapegrad::functional::Function;
//! use tapegrad::{Scalar, Var};
//!
//! struct Rosenbrock;
//!
//! impl Function for Rosenbrock {
//!     fn eval<'t, T: Scalar>(&self, x: &[Var<'t, T>]) -> Var<'t, T> {
//!         let a = -x[0] + T::one();
//!         let b = x[1] - x[0] * x[0];
//!         a * a + b * b * T::from_f64(100.0)
//!     }
//! }
//!
//! # fn main() -> Result<(), argmin::core::Error> {
//! let solver = LBFGS::new(MoreThuenteLineSearch::new(), 7).with_tolerance_grad(1e-12)?;
//! let result = Executor::new(Problem::new(Rosenbrock), solver)
//!     .configure(|state| state.param(vec![-1.2, 1.0]).max_iters(200))
//!     .run()?;
//! let best = result.state().get_best_param().expect("a solver run has a best point");
//! assert!((best[0] - 1.0).abs() < 1e-8 && (best[1] - 1.0).abs() < 1e-8);
//! # Ok(())
//! # }
//! ```

use ::argmin::core::{CostFunction, Error as ArgminError, Gradient, Hessian};

use crate::functional::{self, Function};
use crate::{Tape, Var};

/// A tapegrad [`Function`] as an argmin problem: its cost, gradient and Hessian over `Vec<f64>`.
///
/// # Examples
///
/// ```
/// use argmin::core::{CostFunction, Gradient, Hessian};
/// use tapegrad::argmin::Problem;
/// use tapegrad::functional::Function;
/// use tapegrad::{Scalar, Var};
///
/// /// `x₀² x₁ + sin x₁`.
/// struct F;
/// impl Function for F {
///     fn eval<'t, T: Scalar>(&self, x: &[Var<'t, T>]) -> Var<'t, T> {
///         x[0] * x[0] * x[1] + x[1].sin()
///     }
/// }
///
/// # fn main() -> Result<(), argmin::core::Error> {
/// let p = Problem::new(F);
/// let x = vec![2.0, 0.0];
/// assert_eq!(p.cost(&x)?, 0.0);
/// assert_eq!(p.gradient(&x)?, vec![0.0, 5.0]);
/// assert_eq!(p.hessian(&x)?, vec![vec![0.0, 4.0], vec![4.0, 0.0]]);
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Problem<F> {
    f: F,
}

impl<F: Function> Problem<F> {
    /// Wraps `f` for argmin's solvers.
    pub fn new(f: F) -> Self {
        Problem { f }
    }

    /// The wrapped function.
    pub fn function(&self) -> &F {
        &self.f
    }

    /// The wrapped function, taken back.
    pub fn into_function(self) -> F {
        self.f
    }
}

/// Records `f` at `x` on a fresh tape and hands the output and the inputs to `read`.
fn recorded<F: Function, R>(f: &F, x: &[f64], read: impl FnOnce(Var<'_>, &[Var<'_>]) -> R) -> R {
    let tape = Tape::new();
    let xs = tape.vars(x);
    let y = f.eval(&xs);
    read(y, &xs)
}

impl<F: Function> CostFunction for Problem<F> {
    type Param = Vec<f64>;
    type Output = f64;

    /// `f(x)`, recorded on a tape (the cost of one recording, no sweep).
    fn cost(&self, x: &Vec<f64>) -> Result<f64, ArgminError> {
        Ok(recorded(&self.f, x, |y, _| y.value()))
    }
}

impl<F: Function> Gradient for Problem<F> {
    type Param = Vec<f64>;
    type Gradient = Vec<f64>;

    /// `∇f(x)`: one recording and one reverse sweep.
    ///
    /// # Errors
    ///
    /// When the gradient is not finite: the error names the first node, on the output's path,
    /// whose value or adjoint became NaN or infinite.
    fn gradient(&self, x: &Vec<f64>) -> Result<Vec<f64>, ArgminError> {
        recorded(&self.f, x, |y, xs| {
            let grad = y.backward().wrt_all(xs);
            if grad.iter().all(|g| g.is_finite()) {
                return Ok(grad);
            }
            // Only on the way out: find where the NaN or infinity came from.
            match y.backward_checked() {
                Err(err) => Err(ArgminError::new(err)),
                Ok(_) => unreachable!("invariant: the checked sweep makes the same updates"),
            }
        })
    }
}

impl<F: Function> Hessian for Problem<F> {
    type Param = Vec<f64>;
    type Hessian = Vec<Vec<f64>>;

    /// The Hessian `∂²f/∂xᵢ∂xⱼ`, row by row: one forward-over-reverse sweep per input
    /// ([`functional::hessian`]).
    fn hessian(&self, x: &Vec<f64>) -> Result<Vec<Vec<f64>>, ArgminError> {
        let h = functional::hessian(&self.f, x);
        Ok((0..h.dim()).map(|i| h.row(i).to_vec()).collect())
    }
}
