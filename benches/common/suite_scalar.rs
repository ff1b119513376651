//! The suite's scalar workloads: a logistic regression, a robust line fit, a nonlinear
//! least-squares fit, classic unconstrained test functions with different operation mixes, a
//! rational function, a sum of repeated polynomial blocks, three likelihoods of statistical
//! models and an ODE-like chain. Each is recorded with core operations the way its formula reads;
//! each hand-written gradient is the closed form or reverse mode written out.

use std::f64::consts::{E, TAU};

use rand::Rng;
use tapegrad::{Tape, Var, loss};

use super::{Kind, Size, Workload, rng, rosenbrock, sigmoid, softplus, uniform};

/// Logistic regression: the mean of `softplus(zᵢ) - yᵢ zᵢ` with `zᵢ = w·xᵢ + b`, labels 0 or 1
/// (the negative log-likelihood of a Bernoulli model with a logit link).
pub struct LogisticRegression {
    features: usize,
    /// `points × features` values.
    x: Vec<f64>,
    y: Vec<f64>,
    start: Vec<f64>,
}

impl LogisticRegression {
    /// `points` deterministic points of `features` values; the inputs are `w` then `b`.
    pub fn new(features: usize, points: usize) -> Self {
        let mut rng = rng(11);
        let x = uniform(&mut rng, points * features, -1.0, 1.0);
        let truth = uniform(&mut rng, features, -2.0, 2.0);
        let y = x
            .chunks(features)
            .map(|xi| {
                let z: f64 = xi.iter().zip(&truth).map(|(a, b)| a * b).sum();
                if sigmoid(z) > rng.gen_range(0.0..1.0) {
                    1.0
                } else {
                    0.0
                }
            })
            .collect();
        let mut start = uniform(&mut rng, features, -0.5, 0.5);
        start.push(0.1);
        LogisticRegression {
            features,
            x,
            y,
            start,
        }
    }
}

impl Workload for LogisticRegression {
    fn name(&self) -> String {
        format!(
            "logistic regression, {} features, {} points",
            self.features,
            self.y.len()
        )
    }

    fn kind(&self) -> Kind {
        Kind::RepeatedTerms
    }

    fn point(&self) -> &[f64] {
        &self.start
    }

    fn plain(&mut self, p: &[f64]) -> f64 {
        let (w, b) = (&p[..self.features], p[self.features]);
        let total: f64 = self
            .x
            .chunks_exact(self.features)
            .zip(&self.y)
            .map(|(xi, &y)| {
                let z = xi.iter().zip(w).map(|(a, b)| a * b).sum::<f64>() + b;
                softplus(z) - y * z
            })
            .sum();
        total / self.y.len() as f64
    }

    fn hand(&mut self, p: &[f64], grad: &mut [f64]) -> f64 {
        let d = self.features;
        let (w, b) = (&p[..d], p[d]);
        let n = self.y.len() as f64;
        grad.fill(0.0);
        let mut total = 0.0;
        for (xi, &y) in self.x.chunks_exact(d).zip(&self.y) {
            let z = xi.iter().zip(w).map(|(a, b)| a * b).sum::<f64>() + b;
            // softplus(z) and sigmoid(z) from one exponential, e^-|z|.
            let e = (-z.abs()).exp();
            total += z.max(0.0) + e.ln_1p() - y * z;
            let sigmoid = if z >= 0.0 { 1.0 } else { e } / (1.0 + e);
            // d/dz (softplus z - y z) = sigmoid(z) - y
            let r = (sigmoid - y) / n;
            for (g, &v) in grad[..d].iter_mut().zip(xi) {
                *g += r * v;
            }
            grad[d] += r;
        }
        total / n
    }

    fn record<'t>(&self, tape: &'t Tape, p: &[Var<'t>]) -> Var<'t> {
        let (w, b) = (&p[..self.features], p[self.features]);
        let terms: Vec<Var<'t>> = self
            .x
            .chunks_exact(self.features)
            .zip(&self.y)
            .map(|(xi, &y)| {
                let z = tape.dot(w, xi) + b;
                z.softplus() - y * z
            })
            .collect();
        tape.sum(&terms) / self.y.len() as f64
    }
}

/// A robust line fit: the pseudo-Huber loss `Σ √(1 + rᵢ²) - 1` of the residuals
/// `rᵢ = yᵢ - (a xᵢ + b)`, on data with outliers — a few cheap operations a point and one `sqrt`.
pub struct RobustLine {
    x: Vec<f64>,
    y: Vec<f64>,
    start: Vec<f64>,
}

impl RobustLine {
    /// `points` deterministic points near the line `0.7 x - 0.2`, one in ten far off it; the
    /// inputs are `a` then `b`.
    pub fn new(points: usize) -> Self {
        let mut rng = rng(12);
        let x = uniform(&mut rng, points, -2.0, 2.0);
        let y = x
            .iter()
            .enumerate()
            .map(|(i, &x)| {
                let off = if i % 10 == 0 { 5.0 } else { 0.3 };
                0.7 * x - 0.2 + rng.gen_range(-off..off)
            })
            .collect();
        RobustLine {
            x,
            y,
            start: vec![0.1, 0.0],
        }
    }
}

impl Workload for RobustLine {
    fn name(&self) -> String {
        format!("robust line fit (pseudo-Huber), {} points", self.y.len())
    }

    fn kind(&self) -> Kind {
        Kind::RepeatedTerms
    }

    fn point(&self) -> &[f64] {
        &self.start
    }

    fn plain(&mut self, p: &[f64]) -> f64 {
        let residuals = self
            .x
            .iter()
            .zip(&self.y)
            .map(|(&x, &y)| y - (p[0] * x + p[1]));
        residuals.map(|r| (1.0 + r * r).sqrt() - 1.0).sum()
    }

    fn hand(&mut self, p: &[f64], grad: &mut [f64]) -> f64 {
        let (mut total, mut ga, mut gb) = (0.0, 0.0, 0.0);
        for (&x, &y) in self.x.iter().zip(&self.y) {
            let r = y - (p[0] * x + p[1]);
            let s = (1.0 + r * r).sqrt();
            total += s - 1.0;
            // d/dr √(1 + r²) = r / s, and dr/da = -x, dr/db = -1.
            let d = r / s;
            ga -= d * x;
            gb -= d;
        }
        grad[0] = ga;
        grad[1] = gb;
        total
    }

    fn record<'t>(&self, tape: &'t Tape, p: &[Var<'t>]) -> Var<'t> {
        let terms: Vec<Var<'t>> = self
            .x
            .iter()
            .zip(&self.y)
            .map(|(&x, &y)| {
                let r = y - (p[0] * x + p[1]);
                (1.0 + r * r).sqrt() - 1.0
            })
            .collect();
        tape.sum(&terms)
    }
}

/// A nonlinear least-squares fit of a Gaussian bump, `Σ (yᵢ - A exp(-(xᵢ - μ)² / (2 σ²)))²`:
/// three shared parameters, an `exp` and a division by a parameter a point.
pub struct GaussianBump {
    x: Vec<f64>,
    y: Vec<f64>,
    start: Vec<f64>,
}

impl GaussianBump {
    /// `points` deterministic noisy points of the bump `A = 1.5`, `μ = 0.3`, `σ = 0.6`; the
    /// inputs are `A`, `μ` and `σ`.
    pub fn new(points: usize) -> Self {
        let mut rng = rng(13);
        let x = uniform(&mut rng, points, -2.0, 2.0);
        let y = x
            .iter()
            .map(|&x| {
                let d = x - 0.3;
                1.5 * (-(d * d) / (2.0 * 0.36)).exp() + rng.gen_range(-0.05..0.05)
            })
            .collect();
        GaussianBump {
            x,
            y,
            start: vec![1.0, 0.1, 0.8],
        }
    }
}

impl Workload for GaussianBump {
    fn name(&self) -> String {
        format!("gaussian bump least squares, {} points", self.y.len())
    }

    fn kind(&self) -> Kind {
        Kind::RepeatedTerms
    }

    fn point(&self) -> &[f64] {
        &self.start
    }

    fn plain(&mut self, p: &[f64]) -> f64 {
        let (a, mu, s) = (p[0], p[1], p[2]);
        let points = self.x.iter().zip(&self.y);
        points
            .map(|(&x, &y)| {
                let d = x - mu;
                let r = y - a * (-(d * d) / (2.0 * s * s)).exp();
                r * r
            })
            .sum()
    }

    fn hand(&mut self, p: &[f64], grad: &mut [f64]) -> f64 {
        let (a, mu, s) = (p[0], p[1], p[2]);
        let s2 = s * s;
        let (mut total, mut ga, mut gm, mut gs) = (0.0, 0.0, 0.0, 0.0);
        for (&x, &y) in self.x.iter().zip(&self.y) {
            let d = x - mu;
            let e = (-(d * d) / (2.0 * s2)).exp();
            let r = y - a * e;
            total += r * r;
            // The derivatives of r², with e = exp(-d² / (2σ²)): ∂/∂A = -2 r e,
            // ∂/∂μ = -2 r A e d / σ², ∂/∂σ = -2 r A e d² / σ³.
            let t = -2.0 * r * e;
            ga += t;
            let u = t * a * d / s2;
            gm += u;
            gs += u * d / s;
        }
        grad.copy_from_slice(&[ga, gm, gs]);
        total
    }

    fn record<'t>(&self, tape: &'t Tape, p: &[Var<'t>]) -> Var<'t> {
        let (a, mu, s) = (p[0], p[1], p[2]);
        let terms: Vec<Var<'t>> = self
            .x
            .iter()
            .zip(&self.y)
            .map(|(&x, &y)| {
                let d = x - mu;
                let r = y - a * (-(d * d) / (2.0 * s * s)).exp();
                r * r
            })
            .collect();
        tape.sum(&terms)
    }
}

/// The negative log-likelihood of a Student-t regression with three degrees of freedom, up to
/// a constant: `Σ ln σ + 2 ln(1 + zᵢ² / 3)`, `zᵢ = (yᵢ - a xᵢ - b) / σ`, `σ = e^s` — a robust
/// model's likelihood, a `ln` and a division a point, the scale through `exp`.
pub struct StudentT {
    x: Vec<f64>,
    y: Vec<f64>,
    start: Vec<f64>,
}

impl StudentT {
    /// `points` deterministic points near `0.5 x + 1` with heavy-tailed noise; the inputs are
    /// `a`, `b` and the log-scale `s`.
    pub fn new(points: usize) -> Self {
        let mut rng = rng(14);
        let x = uniform(&mut rng, points, -3.0, 3.0);
        let y = x
            .iter()
            .map(|&x| {
                let u: f64 = rng.gen_range(-1.45..1.45);
                0.5 * x + 1.0 + 0.3 * u.tan()
            })
            .collect();
        StudentT {
            x,
            y,
            start: vec![0.2, 0.0, -0.5],
        }
    }
}

impl Workload for StudentT {
    fn name(&self) -> String {
        format!("student-t regression nll, {} points", self.y.len())
    }

    fn kind(&self) -> Kind {
        Kind::RepeatedTerms
    }

    fn point(&self) -> &[f64] {
        &self.start
    }

    fn plain(&mut self, p: &[f64]) -> f64 {
        let sigma = p[2].exp();
        let points = self.x.iter().zip(&self.y);
        let terms: f64 = points
            .map(|(&x, &y)| {
                let z = (y - p[0] * x - p[1]) / sigma;
                2.0 * (1.0 + z * z / 3.0).ln()
            })
            .sum();
        terms + p[2] * self.y.len() as f64
    }

    fn hand(&mut self, p: &[f64], grad: &mut [f64]) -> f64 {
        let sigma = p[2].exp();
        let (mut total, mut ga, mut gb, mut gz) = (0.0, 0.0, 0.0, 0.0);
        for (&x, &y) in self.x.iter().zip(&self.y) {
            let z = (y - p[0] * x - p[1]) / sigma;
            let q = 1.0 + z * z / 3.0;
            total += 2.0 * q.ln();
            // d/dz 2 ln(1 + z²/3) = (4 z / 3) / q; dz/da = -x/σ, dz/db = -1/σ, dz/ds = -z.
            let d = 4.0 * z / 3.0 / q;
            ga -= d * x;
            gb -= d;
            gz -= d * z;
        }
        let n = self.y.len() as f64;
        grad.copy_from_slice(&[ga / sigma, gb / sigma, gz + n]);
        total + p[2] * n
    }

    fn record<'t>(&self, _: &'t Tape, p: &[Var<'t>]) -> Var<'t> {
        let sigma = p[2].exp();
        let mut f = p[2] * self.y.len() as f64;
        for (&x, &y) in self.x.iter().zip(&self.y) {
            let z = (y - p[0] * x - p[1]) / sigma;
            f += 2.0 * (1.0 + z * z / 3.0).ln();
        }
        f
    }
}

/// A rational test function, `Σ xᵢ / (1 + xᵢ²)`: a square, a constant sum and a division of
/// two Vars a term.
pub struct Rational {
    start: Vec<f64>,
}

impl Workload for Rational {
    fn name(&self) -> String {
        format!("sum of x / (1 + x²), n = {}", self.start.len())
    }

    fn kind(&self) -> Kind {
        Kind::RepeatedTerms
    }

    fn point(&self) -> &[f64] {
        &self.start
    }

    fn plain(&mut self, x: &[f64]) -> f64 {
        x.iter().map(|&v| v / (1.0 + v * v)).sum()
    }

    fn hand(&mut self, x: &[f64], grad: &mut [f64]) -> f64 {
        let mut total = 0.0;
        for (g, &v) in grad.iter_mut().zip(x) {
            let q = 1.0 + v * v;
            total += v / q;
            *g = (1.0 - v * v) / (q * q);
        }
        total
    }

    fn record<'t>(&self, tape: &'t Tape, x: &[Var<'t>]) -> Var<'t> {
        let terms: Vec<Var<'t>> = x.iter().map(|&v| v / (1.0 + v * v)).collect();
        tape.sum(&terms)
    }
}

/// Extended Rosenbrock (W1), `Σ 100 (xᵢ₊₁ - xᵢ²)² + (1 - xᵢ)²`, on the tape in one of the ways
/// a user writes it ([`Form`]). The target holds however it is written.
pub struct Rosenbrock {
    start: Vec<f64>,
    form: Form,
}

/// How a [`Rosenbrock`] workload writes its terms on the tape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    /// `100 (xᵢ₊₁ - xᵢ.powi(2)).powi(2) + (1 - xᵢ).powi(2)`, as `benches/common/rosenbrock.rs`
    /// writes it, the terms summed in one node.
    Powi,
    /// Products of named differences, `t = xᵢ₊₁ - xᵢ xᵢ` and `u = 1 - xᵢ`, the term
    /// `100 (t t) + u u` added to a running total.
    Products,
    /// As [`Form::Products`] but `100 t t`, read from the left as `(100 t) t`, as the
    /// hand-written gradient writes it: no square on the tape, and each term reads `xᵢ₊₁`
    /// after the next term has.
    ScaledProducts,
}

impl Rosenbrock {
    /// `n` inputs, the terms written in `form`.
    pub fn new(n: usize, form: Form) -> Self {
        Rosenbrock {
            start: rosenbrock::inputs(n),
            form,
        }
    }
}

impl Workload for Rosenbrock {
    fn name(&self) -> String {
        let form = match self.form {
            Form::Powi => "powi(2)",
            Form::Products => "x * x",
            Form::ScaledProducts => "100 * t * t",
        };
        format!("rosenbrock (W1) with {form}, n = {}", self.start.len())
    }

    fn kind(&self) -> Kind {
        Kind::Rosenbrock
    }

    fn point(&self) -> &[f64] {
        &self.start
    }

    fn plain(&mut self, x: &[f64]) -> f64 {
        rosenbrock::plain(x)
    }

    fn hand(&mut self, x: &[f64], grad: &mut [f64]) -> f64 {
        rosenbrock::hand(x, grad)
    }

    fn record<'t>(&self, _: &'t Tape, x: &[Var<'t>]) -> Var<'t> {
        if self.form == Form::Powi {
            return rosenbrock::on_tape(x);
        }
        let mut f = x[0] * 0.0;
        for w in x.windows(2) {
            let t = w[1] - w[0] * w[0];
            let u = 1.0 - w[0];
            f += match self.form {
                Form::ScaledProducts => 100.0 * t * t + u * u,
                _ => 100.0 * (t * t) + u * u,
            };
        }
        f
    }
}

/// Rastrigin, `10 n + Σ xᵢ² - 10 cos(2π xᵢ)`: products and cosines, the terms summed in one node.
pub struct Rastrigin {
    start: Vec<f64>,
}

impl Workload for Rastrigin {
    fn name(&self) -> String {
        format!("rastrigin, n = {}", self.start.len())
    }

    fn kind(&self) -> Kind {
        Kind::RepeatedTerms
    }

    fn point(&self) -> &[f64] {
        &self.start
    }

    fn plain(&mut self, x: &[f64]) -> f64 {
        let terms: f64 = x.iter().map(|&v| v * v - 10.0 * (TAU * v).cos()).sum();
        terms + 10.0 * x.len() as f64
    }

    fn hand(&mut self, x: &[f64], grad: &mut [f64]) -> f64 {
        let mut total = 0.0;
        for (g, &v) in grad.iter_mut().zip(x) {
            let (sin, cos) = (TAU * v).sin_cos();
            total += v * v - 10.0 * cos;
            *g = 2.0 * v + 10.0 * TAU * sin;
        }
        total + 10.0 * x.len() as f64
    }

    fn record<'t>(&self, tape: &'t Tape, x: &[Var<'t>]) -> Var<'t> {
        let terms: Vec<Var<'t>> = x.iter().map(|&v| v * v - 10.0 * (TAU * v).cos()).collect();
        tape.sum(&terms) + 10.0 * x.len() as f64
    }
}

/// Ackley, `-20 exp(-0.2 √(Σ xᵢ² / n)) - exp(Σ cos(2π xᵢ) / n) + 20 + e`: two sums over every
/// input feeding `sqrt` and `exp`.
pub struct Ackley {
    start: Vec<f64>,
}

impl Workload for Ackley {
    fn name(&self) -> String {
        format!("ackley, n = {}", self.start.len())
    }

    fn kind(&self) -> Kind {
        Kind::RepeatedTerms
    }

    fn point(&self) -> &[f64] {
        &self.start
    }

    fn plain(&mut self, x: &[f64]) -> f64 {
        let n = x.len() as f64;
        let squares: f64 = x.iter().map(|&v| v.powi(2)).sum();
        let cosines: f64 = x.iter().map(|&v| (TAU * v).cos()).sum();
        -20.0 * (-0.2 * (squares / n).sqrt()).exp() - (cosines / n).exp() + 20.0 + E
    }

    fn hand(&mut self, x: &[f64], grad: &mut [f64]) -> f64 {
        let n = x.len() as f64;
        let (mut squares, mut cosines) = (0.0, 0.0);
        // The sines wait in `grad` until the sums are known.
        for (g, &v) in grad.iter_mut().zip(x) {
            let (sin, cos) = (TAU * v).sin_cos();
            squares += v * v;
            cosines += cos;
            *g = sin;
        }
        let r = (squares / n).sqrt();
        let (e1, e2) = ((-0.2 * r).exp(), (cosines / n).exp());
        // d/dxᵢ: 20 · 0.2 · e1 · xᵢ / (n r) from the first term, e2 · 2π sin(2π xᵢ) / n from the second
        let (a, b) = (4.0 * e1 / (n * r), e2 * TAU / n);
        for (g, &v) in grad.iter_mut().zip(x) {
            *g = a * v + b * *g;
        }
        -20.0 * e1 - e2 + 20.0 + E
    }

    fn record<'t>(&self, tape: &'t Tape, x: &[Var<'t>]) -> Var<'t> {
        let n = x.len() as f64;
        let squares: Vec<Var<'t>> = x.iter().map(|&v| v.powi(2)).collect();
        let cosines: Vec<Var<'t>> = x.iter().map(|&v| (TAU * v).cos()).collect();
        let r = (tape.sum(&squares) / n).sqrt();
        -20.0 * (-0.2 * r).exp() - (tape.sum(&cosines) / n).exp() + 20.0 + E
    }
}

/// A sum of independent polynomial blocks, each over its own `(x, y, z)`:
/// `x² y - 3 x z + 0.5 y³ + (z - x)²`.
pub struct PolynomialBlocks {
    start: Vec<f64>,
}

impl Workload for PolynomialBlocks {
    fn name(&self) -> String {
        format!("{} polynomial blocks", self.start.len() / 3)
    }

    fn kind(&self) -> Kind {
        Kind::RepeatedTerms
    }

    fn point(&self) -> &[f64] {
        &self.start
    }

    fn plain(&mut self, v: &[f64]) -> f64 {
        v.chunks_exact(3)
            .map(|b| {
                let (x, y, z) = (b[0], b[1], b[2]);
                x * x * y - 3.0 * x * z + 0.5 * y.powi(3) + (z - x).powi(2)
            })
            .sum()
    }

    fn hand(&mut self, v: &[f64], grad: &mut [f64]) -> f64 {
        let mut total = 0.0;
        for (b, g) in v.chunks_exact(3).zip(grad.chunks_exact_mut(3)) {
            let (x, y, z) = (b[0], b[1], b[2]);
            let d = z - x;
            total += x * x * y - 3.0 * x * z + 0.5 * y * y * y + d * d;
            g[0] = 2.0 * x * y - 3.0 * z - 2.0 * d;
            g[1] = x * x + 1.5 * y * y;
            g[2] = -3.0 * x + 2.0 * d;
        }
        total
    }

    fn record<'t>(&self, tape: &'t Tape, v: &[Var<'t>]) -> Var<'t> {
        let blocks: Vec<Var<'t>> = v
            .chunks_exact(3)
            .map(|b| {
                let (x, y, z) = (b[0], b[1], b[2]);
                x * x * y - 3.0 * x * z + 0.5 * y.powi(3) + (z - x).powi(2)
            })
            .collect();
        tape.sum(&blocks)
    }
}

/// Negative log-likelihood of a hierarchical Poisson regression: counts `yᵢ` with
/// `ln λᵢ = α + β xᵢ + u_{gᵢ}`, group effects `u_g ~ Normal(0, τ²)`; the inputs are `α`, `β`,
/// `ln τ` and one `u_g` per group. Every point reads the shared `α`, `β` and its group's `u`.
pub struct HierarchicalPoisson {
    x: Vec<f64>,
    group: Vec<usize>,
    y: Vec<f64>,
    groups: usize,
    start: Vec<f64>,
}

impl HierarchicalPoisson {
    /// `points` deterministic counts in `groups` groups.
    pub fn new(points: usize, groups: usize) -> Self {
        let mut rng = rng(12);
        let effects = uniform(&mut rng, groups, -0.7, 0.7);
        let x = uniform(&mut rng, points, -1.0, 1.0);
        let group: Vec<usize> = (0..points).map(|_| rng.gen_range(0..groups)).collect();
        let y = x
            .iter()
            .zip(&group)
            .map(|(&xi, &g)| {
                let rate = (0.5 + 0.8 * xi + effects[g]).exp();
                (rate * rng.gen_range(0.5..1.5)).round()
            })
            .collect();
        let mut start = vec![0.1, 0.2, -0.5];
        start.extend(uniform(&mut rng, groups, -0.2, 0.2));
        HierarchicalPoisson {
            x,
            group,
            y,
            groups,
            start,
        }
    }
}

impl Workload for HierarchicalPoisson {
    fn name(&self) -> String {
        format!(
            "poisson hierarchical nll, {} points, {} groups",
            self.y.len(),
            self.groups
        )
    }

    fn kind(&self) -> Kind {
        Kind::RepeatedTerms
    }

    fn point(&self) -> &[f64] {
        &self.start
    }

    fn plain(&mut self, p: &[f64]) -> f64 {
        let (alpha, beta, log_tau, u) = (p[0], p[1], p[2], &p[3..]);
        let inv_var = (-2.0 * log_tau).exp();
        let mut total = 0.0;
        for ((&x, &g), &y) in self.x.iter().zip(&self.group).zip(&self.y) {
            let eta = alpha + beta * x + u[g];
            total += eta.exp() - y * eta;
        }
        for &ug in u {
            total += 0.5 * ug.powi(2) * inv_var;
        }
        total + self.groups as f64 * log_tau
    }

    fn hand(&mut self, p: &[f64], grad: &mut [f64]) -> f64 {
        let (alpha, beta, log_tau) = (p[0], p[1], p[2]);
        let u = &p[3..];
        let inv_var = (-2.0 * log_tau).exp();
        grad.fill(0.0);
        let (head, gu) = grad.split_at_mut(3);
        let mut total = 0.0;
        for ((&x, &g), &y) in self.x.iter().zip(&self.group).zip(&self.y) {
            let eta = alpha + beta * x + u[g];
            let rate = eta.exp();
            total += rate - y * eta;
            // d/dη (e^η - y η) = e^η - y
            let r = rate - y;
            head[0] += r;
            head[1] += r * x;
            gu[g] += r;
        }
        let mut squares = 0.0;
        for (g, &ug) in gu.iter_mut().zip(u) {
            total += 0.5 * ug * ug * inv_var;
            squares += ug * ug;
            *g += ug * inv_var;
        }
        // d/d(ln τ) of Σ u² e^(-2 ln τ) / 2 + G ln τ
        head[2] = -squares * inv_var + self.groups as f64;
        total + self.groups as f64 * log_tau
    }

    fn record<'t>(&self, tape: &'t Tape, p: &[Var<'t>]) -> Var<'t> {
        let (alpha, beta, log_tau, u) = (p[0], p[1], p[2], &p[3..]);
        let inv_var = (-2.0 * log_tau).exp();
        let mut terms = Vec::with_capacity(self.y.len() + self.groups + 1);
        for ((&x, &g), &y) in self.x.iter().zip(&self.group).zip(&self.y) {
            let eta = alpha + beta * x + u[g];
            terms.push(eta.exp() - y * eta);
        }
        for &ug in u {
            terms.push(0.5 * ug.powi(2) * inv_var);
        }
        terms.push(self.groups as f64 * log_tau);
        tape.sum(&terms)
    }
}

/// Negative log-likelihood of a one-dimensional mixture of `K` normals, up to the constant
/// `N ln √(2π)`: `N lse(a) - Σᵢ lse_k(a_k - ρ_k - zᵢₖ² / 2)` with `zᵢₖ = (xᵢ - μ_k) e^(-ρ_k)`.
/// The inputs are the mixing logits `a`, the means `μ` and the log standard deviations `ρ`;
/// `lse` is [`loss::log_sum_exp`].
pub struct GaussianMixture {
    components: usize,
    x: Vec<f64>,
    start: Vec<f64>,
}

impl GaussianMixture {
    /// `points` deterministic draws from three normals, fitted with `components` components.
    pub fn new(points: usize, components: usize) -> Self {
        let mut rng = rng(13);
        let centres = [(-2.0, 0.5), (0.5, 1.0), (3.0, 0.7)];
        let x = (0..points)
            .map(|i| {
                let (mean, sd) = centres[i % centres.len()];
                let bell: f64 = uniform(&mut rng, 3, -1.0, 1.0).iter().sum();
                mean + sd * bell
            })
            .collect();
        let k = components as f64;
        let mut start: Vec<f64> = (0..components).map(|c| 0.1 * c as f64).collect();
        start.extend((0..components).map(|c| -1.5 + 3.0 * c as f64 / (k - 1.0).max(1.0)));
        start.extend(vec![0.0; components]);
        GaussianMixture {
            components,
            x,
            start,
        }
    }
}

impl Workload for GaussianMixture {
    fn name(&self) -> String {
        format!(
            "gaussian mixture nll (log_sum_exp), {} components, {} points",
            self.components,
            self.x.len()
        )
    }

    fn kind(&self) -> Kind {
        Kind::RepeatedTerms
    }

    fn point(&self) -> &[f64] {
        &self.start
    }

    fn plain(&mut self, p: &[f64]) -> f64 {
        let k = self.components;
        let (a, mu, rho) = (&p[..k], &p[k..2 * k], &p[2 * k..]);
        let inv_sd: Vec<f64> = rho.iter().map(|r| (-r).exp()).collect();
        let mut c = vec![0.0; k];
        let mut total = 0.0;
        for &x in &self.x {
            for j in 0..k {
                let z = (x - mu[j]) * inv_sd[j];
                c[j] = a[j] - rho[j] - 0.5 * z * z;
            }
            total += log_sum_exp(&c);
        }
        self.x.len() as f64 * log_sum_exp(a) - total
    }

    fn hand(&mut self, p: &[f64], grad: &mut [f64]) -> f64 {
        let k = self.components;
        let n = self.x.len() as f64;
        let (a, mu, rho) = (&p[..k], &p[k..2 * k], &p[2 * k..]);
        let inv_sd: Vec<f64> = rho.iter().map(|r| (-r).exp()).collect();
        let (mut c, mut z) = (vec![0.0; k], vec![0.0; k]);
        grad.fill(0.0);
        let (ga, rest) = grad.split_at_mut(k);
        let (gmu, grho) = rest.split_at_mut(k);
        let mut total = 0.0;
        for &x in &self.x {
            let mut largest = f64::NEG_INFINITY;
            for j in 0..k {
                z[j] = (x - mu[j]) * inv_sd[j];
                c[j] = a[j] - rho[j] - 0.5 * z[j] * z[j];
                largest = largest.max(c[j]);
            }
            let mut sum = 0.0;
            for cj in c.iter_mut() {
                *cj = (*cj - largest).exp();
                sum += *cj;
            }
            total += largest + sum.ln();
            // The point's weight on component j, wⱼ = ∂lse/∂cⱼ = e^(cⱼ - m) / Σ; then ∂c/∂a = 1,
            // ∂c/∂μ = z e^(-ρ), ∂c/∂ρ = z² - 1, and the point enters with a minus sign.
            let inv_sum = 1.0 / sum;
            for j in 0..k {
                let w = c[j] * inv_sum;
                ga[j] -= w;
                gmu[j] -= w * z[j] * inv_sd[j];
                grho[j] -= w * (z[j] * z[j] - 1.0);
            }
        }
        let lse_a = log_sum_exp(a);
        for (g, &aj) in ga.iter_mut().zip(a) {
            *g += n * (aj - lse_a).exp();
        }
        n * lse_a - total
    }

    fn record<'t>(&self, tape: &'t Tape, p: &[Var<'t>]) -> Var<'t> {
        let k = self.components;
        let (a, mu, rho) = (&p[..k], &p[k..2 * k], &p[2 * k..]);
        let inv_sd: Vec<Var<'t>> = rho.iter().map(|&r| (-r).exp()).collect();
        let mut c = Vec::with_capacity(k);
        let mut terms = Vec::with_capacity(self.x.len());
        for &x in &self.x {
            c.clear();
            for j in 0..k {
                let z = (x - mu[j]) * inv_sd[j];
                c.push(a[j] - rho[j] - 0.5 * z * z);
            }
            terms.push(loss::log_sum_exp(&c));
        }
        self.x.len() as f64 * loss::log_sum_exp(a) - tape.sum(&terms)
    }
}

/// `ln Σ e^v`, shifted by the largest `v`.
fn log_sum_exp(v: &[f64]) -> f64 {
    let m = v.iter().copied().fold(v[0], f64::max);
    m + v.iter().map(|x| (x - m).exp()).sum::<f64>().ln()
}

/// Lotka–Volterra predator and prey, `x' = αx - βxy`, `y' = δxy - γy`, integrated with explicit
/// Euler steps of `h = 0.01`; the loss is the squared distance of every step's state to an
/// observed trajectory. The inputs are `α, β, γ, δ, x₀, y₀`: each step reads the last, so the
/// recording is one long chain.
pub struct LotkaVolterra {
    observed: Vec<(f64, f64)>,
    start: Vec<f64>,
    /// The states of the last hand-written forward pass, `x₀` first.
    states: Vec<(f64, f64)>,
}

const H: f64 = 0.01;

impl LotkaVolterra {
    /// `steps` Euler steps, observed from slightly different parameters with a little noise.
    pub fn new(steps: usize) -> Self {
        let mut rng = rng(14);
        let truth = [1.1, 0.45, 0.9, 0.35, 2.2, 1.4];
        let mut states = Vec::new();
        simulate(&truth, steps, &mut states);
        let observed = states[1..]
            .iter()
            .map(|&(x, y)| {
                (
                    x + rng.gen_range(-0.05..0.05),
                    y + rng.gen_range(-0.05..0.05),
                )
            })
            .collect();
        LotkaVolterra {
            observed,
            start: vec![1.0, 0.4, 1.0, 0.3, 2.0, 1.5],
            states,
        }
    }
}

/// The states after `0..=steps` Euler steps from `p = [α, β, γ, δ, x₀, y₀]` into `states`.
fn simulate(p: &[f64], steps: usize, states: &mut Vec<(f64, f64)>) {
    let (a, b, c, d) = (p[0], p[1], p[2], p[3]);
    let (mut x, mut y) = (p[4], p[5]);
    states.clear();
    states.push((x, y));
    for _ in 0..steps {
        let xy = x * y;
        (x, y) = (x + H * (a * x - b * xy), y + H * (d * xy - c * y));
        states.push((x, y));
    }
}

impl Workload for LotkaVolterra {
    fn name(&self) -> String {
        format!("lotka-volterra euler chain, {} steps", self.observed.len())
    }

    fn kind(&self) -> Kind {
        Kind::Chain
    }

    fn point(&self) -> &[f64] {
        &self.start
    }

    fn plain(&mut self, p: &[f64]) -> f64 {
        let (a, b, c, d) = (p[0], p[1], p[2], p[3]);
        let (mut x, mut y) = (p[4], p[5]);
        let mut total = 0.0;
        for &(ox, oy) in &self.observed {
            let xy = x * y;
            (x, y) = (x + H * (a * x - b * xy), y + H * (d * xy - c * y));
            total += (x - ox).powi(2) + (y - oy).powi(2);
        }
        total
    }

    fn hand(&mut self, p: &[f64], grad: &mut [f64]) -> f64 {
        let (a, b, c, d) = (p[0], p[1], p[2], p[3]);
        simulate(p, self.observed.len(), &mut self.states);
        let mut total = 0.0;
        for (&(x, y), &(ox, oy)) in self.states[1..].iter().zip(&self.observed) {
            total += (x - ox).powi(2) + (y - oy).powi(2);
        }
        grad.fill(0.0);
        // (ax, ay): the adjoint of the state after step t, its own residual added first.
        let (mut ax, mut ay) = (0.0, 0.0);
        for t in (0..self.observed.len()).rev() {
            let (nx, ny) = self.states[t + 1];
            let (ox, oy) = self.observed[t];
            ax += 2.0 * (nx - ox);
            ay += 2.0 * (ny - oy);
            let (x, y) = self.states[t];
            let xy = x * y;
            grad[0] += ax * H * x;
            grad[1] -= ax * H * xy;
            grad[2] -= ay * H * y;
            grad[3] += ay * H * xy;
            (ax, ay) = (
                ax * (1.0 + H * (a - b * y)) + ay * H * d * y,
                -ax * H * b * x + ay * (1.0 + H * (d * x - c)),
            );
        }
        grad[4] = ax;
        grad[5] = ay;
        total
    }

    fn record<'t>(&self, tape: &'t Tape, p: &[Var<'t>]) -> Var<'t> {
        let (a, b, c, d) = (p[0], p[1], p[2], p[3]);
        let (mut x, mut y) = (p[4], p[5]);
        let mut terms = Vec::with_capacity(self.observed.len());
        for &(ox, oy) in &self.observed {
            let xy = x * y;
            (x, y) = (x + H * (a * x - b * xy), y + H * (d * xy - c * y));
            terms.push((x - ox).powi(2) + (y - oy).powi(2));
        }
        tape.sum(&terms)
    }
}

/// The suite's scalar workloads.
pub fn all(size: Size) -> Vec<Box<dyn Workload>> {
    let mut rng = rng(10);
    let n = |bench, test| size.pick(bench, test);
    vec![
        Box::new(LogisticRegression::new(10, n(1000, 30))),
        Box::new(RobustLine::new(n(2000, 40))),
        Box::new(GaussianBump::new(n(2000, 40))),
        Box::new(StudentT::new(n(2000, 40))),
        Box::new(Rosenbrock::new(n(100_000, 50), Form::Products)),
        Box::new(Rosenbrock::new(n(100_000, 50), Form::Powi)),
        Box::new(Rosenbrock::new(n(100_000, 50), Form::ScaledProducts)),
        Box::new(Rastrigin {
            start: uniform(&mut rng, n(10_000, 50), -5.12, 5.12),
        }),
        Box::new(Ackley {
            start: uniform(&mut rng, n(10_000, 50), -2.0, 2.0),
        }),
        Box::new(PolynomialBlocks {
            start: uniform(&mut rng, 3 * n(10_000, 30), -1.0, 1.0),
        }),
        Box::new(Rational {
            start: uniform(&mut rng, n(10_000, 50), -3.0, 3.0),
        }),
        Box::new(HierarchicalPoisson::new(n(2000, 60), n(40, 6))),
        Box::new(GaussianMixture::new(n(1000, 30), 3)),
        Box::new(LotkaVolterra::new(n(1000, 50))),
    ]
}
