//! Functions written once for every scalar (f64, f32, duals), shared by `benches/hvp.rs` and
//! `tests/hessian.rs`: extended Rosenbrock, and the loss of a small tanh network as a function
//! of its parameters.
#![allow(dead_code)]

use tapegrad::functional::Function;
use tapegrad::{Scalar, Var};

/// Extended Rosenbrock: `Σᵢ (1 - xᵢ)² + 100 (xᵢ₊₁ - xᵢ²)²`.
pub struct Rosenbrock;

impl Function for Rosenbrock {
    fn eval<'t, T: Scalar>(&self, x: &[Var<'t, T>]) -> Var<'t, T> {
        let terms: Vec<_> = x
            .windows(2)
            .map(|w| (w[0] - T::one()).powi(2) + (w[1] - w[0].powi(2)).powi(2) * T::from_f64(100.0))
            .collect();
        x[0].tape().sum(&terms)
    }
}

/// A tanh network as a function of its parameters `(W, b, a)` for fixed data: the mean squared
/// error of `Σₖ aₖ tanh(wₖ·x + bₖ)` against targets.
pub struct TanhNetLoss {
    pub inputs: usize,
    pub hidden: usize,
    pub data: Vec<(Vec<f64>, f64)>,
}

impl TanhNetLoss {
    /// How many parameters the loss takes: `W` (hidden × inputs), `b` and `a` (hidden each).
    pub fn parameters(&self) -> usize {
        self.hidden * (self.inputs + 2)
    }
}

impl Function for TanhNetLoss {
    fn eval<'t, T: Scalar>(&self, p: &[Var<'t, T>]) -> Var<'t, T> {
        let tape = p[0].tape();
        let (w, rest) = p.split_at(self.hidden * self.inputs);
        let (b, a) = rest.split_at(self.hidden);
        let errors: Vec<_> = self
            .data
            .iter()
            .map(|(x, y)| {
                let x: Vec<T> = x.iter().map(|&v| T::from_f64(v)).collect();
                let hidden: Vec<_> = w
                    .chunks(self.inputs)
                    .zip(b)
                    .map(|(wk, &bk)| (tape.dot(wk, &x) + bk).tanh())
                    .collect();
                (tape.dot(&hidden, a) - T::from_f64(*y)).powi(2)
            })
            .collect();
        tape.sum(&errors) / T::from_f64(self.data.len() as f64)
    }
}
