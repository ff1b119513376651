//! Second derivatives through `tapegrad::functional`: Hessians against closed forms and against
//! central differences of the gradient, symmetry, HVP = H v, forward mode, and f32.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tapegrad::functional::{
    Function, Hessian, VectorFunction, grad, grad_and_hvp, grad_fn, hessian, hvp, jacobian,
    jacobian_fn, jvp, value_and_grad,
};
use tapegrad::{Dual, Scalar, Var};

#[path = "../benches/common/functions.rs"]
mod functions;
use functions::{Rosenbrock, TanhNetLoss};

/// Softmax cross-entropy of logits `z` for class `label`: `log Σⱼ e^(zⱼ) - z_label`, with the
/// log-sum-exp shifted by the largest logit so that no exponential overflows.
struct SoftmaxCrossEntropy {
    label: usize,
}

impl Function for SoftmaxCrossEntropy {
    fn eval<'t, T: Scalar>(&self, z: &[Var<'t, T>]) -> Var<'t, T> {
        let m = z
            .iter()
            .map(|zi| zi.value())
            .fold(z[0].value(), |m, v| if v > m { v } else { m });
        let exps: Vec<_> = z.iter().map(|&zi| (zi - m).exp()).collect();
        z[0].tape().sum(&exps).ln() + m - z[self.label]
    }
}

/// One hidden tanh layer and a linear output, as a function of its inputs:
/// `f(x) = Σₖ aₖ tanh(wₖ·x + bₖ)`.
struct TanhNet {
    /// `hidden × inputs`, row after row.
    w: Vec<f64>,
    b: Vec<f64>,
    a: Vec<f64>,
}

impl TanhNet {
    fn random(inputs: usize, hidden: usize, rng: &mut StdRng) -> Self {
        let mut draw = |n: usize| {
            (0..n)
                .map(|_| rng.gen_range(-1.0..1.0))
                .collect::<Vec<f64>>()
        };
        TanhNet {
            w: draw(inputs * hidden),
            b: draw(hidden),
            a: draw(hidden),
        }
    }

    fn inputs(&self) -> usize {
        self.w.len() / self.b.len()
    }

    /// `H = Σₖ aₖ tanh''(sₖ) wₖ wₖᵀ` with `tanh'' = -2t(1 - t²)`, `sₖ = wₖ·x + bₖ`.
    fn hessian_closed_form(&self, x: &[f64]) -> Vec<f64> {
        let n = self.inputs();
        let mut h = vec![0.0; n * n];
        for (k, wk) in self.w.chunks(n).enumerate() {
            let s: f64 = wk.iter().zip(x).map(|(w, x)| w * x).sum::<f64>() + self.b[k];
            let t = s.tanh();
            let c = self.a[k] * -2.0 * t * (1.0 - t * t);
            for i in 0..n {
                for j in 0..n {
                    h[i * n + j] += c * wk[i] * wk[j];
                }
            }
        }
        h
    }
}

impl Function for TanhNet {
    fn eval<'t, T: Scalar>(&self, x: &[Var<'t, T>]) -> Var<'t, T> {
        let tape = x[0].tape();
        let n = self.inputs();
        let hidden: Vec<_> = self
            .w
            .chunks(n)
            .zip(&self.b)
            .map(|(wk, &bk)| {
                let wk: Vec<T> = wk.iter().map(|&w| T::from_f64(w)).collect();
                (tape.dot(x, &wk) + T::from_f64(bk)).tanh()
            })
            .collect();
        let a: Vec<T> = self.a.iter().map(|&a| T::from_f64(a)).collect();
        tape.dot(&hidden, &a)
    }
}

/// Column `j` of the Hessian by central differences of the gradient:
/// `(∇f(x + h eⱼ) - ∇f(x - h eⱼ)) / 2h`.
fn hessian_by_differences(f: &impl Function, x: &[f64]) -> Vec<f64> {
    let n = x.len();
    let mut h = vec![0.0; n * n];
    for j in 0..n {
        let step = 1e-5 * (1.0 + x[j].abs());
        let mut plus = x.to_vec();
        let mut minus = x.to_vec();
        plus[j] += step;
        minus[j] -= step;
        let (gp, gm) = (grad(f, &plus), grad(f, &minus));
        for i in 0..n {
            h[i * n + j] = (gp[i] - gm[i]) / (2.0 * step);
        }
    }
    h
}

#[track_caller]
fn assert_all_close(actual: &[f64], expected: &[f64], rel: f64) {
    assert_eq!(actual.len(), expected.len(), "lengths differ");
    let scale = expected.iter().fold(1.0f64, |m, e| m.max(e.abs()));
    for (k, (a, e)) in actual.iter().zip(expected).enumerate() {
        assert!(
            (a - e).abs() <= rel * scale,
            "entry {k}: got {a}, expected {e} (tolerance {} on scale {scale})",
            rel * scale
        );
    }
}

#[track_caller]
fn assert_symmetric(h: &Hessian) {
    let n = h.dim();
    let scale = h.as_slice().iter().fold(1.0f64, |m, e| m.max(e.abs()));
    for i in 0..n {
        for j in 0..i {
            assert!(
                (h[(i, j)] - h[(j, i)]).abs() <= 1e-13 * scale,
                "H[{i}][{j}] = {} but H[{j}][{i}] = {}",
                h[(i, j)],
                h[(j, i)]
            );
        }
    }
}

fn random_vec(n: usize, rng: &mut StdRng, range: f64) -> Vec<f64> {
    (0..n).map(|_| rng.gen_range(-range..range)).collect()
}

#[test]
fn rosenbrock_hessian_matches_closed_form() {
    for x in [[-1.2, 1.0], [1.0, 1.0], [0.3, -0.7]] {
        let (a, b) = (x[0], x[1]);
        // f = (1 - a)² + 100 (b - a²)²
        // H = [[2 - 400 (b - a²) + 800 a², -400 a], [-400 a, 200]]
        let expected = [
            2.0 - 400.0 * (b - a * a) + 800.0 * a * a,
            -400.0 * a,
            -400.0 * a,
            200.0,
        ];
        assert_all_close(hessian(&Rosenbrock, &x).as_slice(), &expected, 1e-14);
    }
}

#[test]
fn extended_rosenbrock_hessian_is_tridiagonal_and_matches_differences() {
    let mut rng = StdRng::seed_from_u64(5);
    let x = random_vec(6, &mut rng, 1.5);
    let h = hessian(&Rosenbrock, &x);
    for i in 0..6usize {
        for j in 0..6 {
            if i.abs_diff(j) > 1 {
                assert_eq!(h[(i, j)], 0.0, "H[{i}][{j}]");
            }
        }
    }
    assert_all_close(h.as_slice(), &hessian_by_differences(&Rosenbrock, &x), 1e-7);
    assert_symmetric(&h);
}

#[test]
fn softmax_cross_entropy_hessian_is_diag_p_minus_p_p_transposed() {
    let mut rng = StdRng::seed_from_u64(7);
    for label in 0..4 {
        let z = random_vec(4, &mut rng, 3.0);
        let f = SoftmaxCrossEntropy { label };
        // p = softmax(z)   ∇f = p - e_label   H = diag(p) - p pᵀ
        let total: f64 = z.iter().map(|v| v.exp()).sum();
        let p: Vec<f64> = z.iter().map(|v| v.exp() / total).collect();
        let mut expected = vec![0.0; 16];
        for i in 0..4 {
            for j in 0..4 {
                expected[i * 4 + j] = if i == j { p[i] } else { 0.0 } - p[i] * p[j];
            }
        }
        let h = hessian(&f, &z);
        assert_all_close(h.as_slice(), &expected, 1e-14);
        assert_all_close(h.as_slice(), &hessian_by_differences(&f, &z), 1e-8);
        assert_symmetric(&h);
        let mut g_expected = p.clone();
        g_expected[label] -= 1.0;
        assert_all_close(&grad(&f, &z), &g_expected, 1e-15);
    }
}

#[test]
fn softmax_cross_entropy_hessian_stays_finite_for_huge_logits() {
    // Without the shift, e^800 overflows; with it, p = (1, 0) and H = 0 up to e^-800.
    let h = hessian(&SoftmaxCrossEntropy { label: 1 }, &[800.0, 0.0]);
    assert_eq!(h.as_slice(), &[0.0, 0.0, 0.0, 0.0]);
    let (loss, g) = value_and_grad(&SoftmaxCrossEntropy { label: 1 }, &[800.0, 0.0]);
    assert_eq!((loss, g), (800.0, vec![1.0, -1.0]));
}

#[test]
fn tanh_network_hessian_in_its_inputs_matches_closed_form() {
    let mut rng = StdRng::seed_from_u64(11);
    let net = TanhNet::random(3, 5, &mut rng);
    for _ in 0..3 {
        let x = random_vec(3, &mut rng, 1.0);
        let h = hessian(&net, &x);
        assert_all_close(h.as_slice(), &net.hessian_closed_form(&x), 1e-14);
        assert_all_close(h.as_slice(), &hessian_by_differences(&net, &x), 1e-8);
        assert_symmetric(&h);
    }
}

#[test]
fn tanh_network_loss_hessian_in_its_parameters_matches_differences() {
    let mut rng = StdRng::seed_from_u64(13);
    let loss = TanhNetLoss {
        inputs: 2,
        hidden: 3,
        data: (0..4)
            .map(|_| (random_vec(2, &mut rng, 1.0), rng.gen_range(-1.0..1.0)))
            .collect(),
    };
    let p = random_vec(loss.parameters(), &mut rng, 1.0);
    let h = hessian(&loss, &p);
    assert_eq!(h.dim(), 12);
    assert_all_close(h.as_slice(), &hessian_by_differences(&loss, &p), 1e-7);
    assert_symmetric(&h);
}

#[test]
fn hvp_equals_hessian_times_v() {
    let mut rng = StdRng::seed_from_u64(17);
    let net = TanhNet::random(4, 6, &mut rng);
    for _ in 0..5 {
        let x = random_vec(4, &mut rng, 1.0);
        let v = random_vec(4, &mut rng, 2.0);
        assert_all_close(&hvp(&net, &x, &v), &hessian(&net, &x).mul_vec(&v), 1e-14);
        let y = random_vec(5, &mut rng, 1.5);
        let w = random_vec(5, &mut rng, 2.0);
        assert_all_close(
            &hvp(&Rosenbrock, &y, &w),
            &hessian(&Rosenbrock, &y).mul_vec(&w),
            1e-14,
        );
    }
}

#[test]
fn grad_and_hvp_gives_the_plain_gradient_bit_for_bit() {
    let mut rng = StdRng::seed_from_u64(19);
    let x = random_vec(5, &mut rng, 1.5);
    let v = random_vec(5, &mut rng, 1.0);
    let (g, hv) = grad_and_hvp(&Rosenbrock, &x, &v);
    assert_eq!(g, grad(&Rosenbrock, &x));
    assert_eq!(hv, hvp(&Rosenbrock, &x, &v));
}

#[test]
fn hvp_along_zero_is_zero() {
    assert_eq!(hvp(&Rosenbrock, &[-1.2, 1.0], &[0.0, 0.0]), vec![0.0, 0.0]);
}

#[test]
fn f32_grad_matches_closed_form() {
    // ∇f = (-2(1 - a) - 400 a (b - a²), 200 (b - a²)) at (-1.2, 1): (-215.6, -88)
    let g = grad(&Rosenbrock, &[-1.2f32, 1.0]);
    assert!((g[0] - -215.6).abs() < 1e-3, "{g:?}");
    assert!((g[1] - -88.0).abs() < 1e-3, "{g:?}");
    let g64 = grad(&Rosenbrock, &[-1.2f64, 1.0]);
    assert!((g64[0] - -215.6).abs() < 1e-12 && (g64[1] - -88.0).abs() < 1e-12);
}

#[test]
fn f32_hessian_matches_f64_to_single_precision() {
    let h32 = hessian(&Rosenbrock, &[-1.2f32, 1.0]);
    let h64 = hessian(&Rosenbrock, &[-1.2f64, 1.0]);
    for (a, b) in h32.as_slice().iter().zip(h64.as_slice()) {
        assert!((*a as f64 - b).abs() <= 1e-5 * b.abs(), "{a} vs {b}");
    }
}

#[test]
fn grad_on_duals_carries_the_hvp_in_its_tangents() {
    let x = [Dual::new(-1.2, 1.0), Dual::new(1.0, 0.0)];
    let g = grad(&Rosenbrock, &x);
    let h = hessian(&Rosenbrock, &[-1.2, 1.0]);
    assert_eq!(g[0].eps, h[(0, 0)]);
    assert_eq!(g[1].eps, h[(1, 0)]);
}

/// `(x₀ x₁, sin x₀ + x₁²)`.
struct TwoOutputs;

impl VectorFunction for TwoOutputs {
    fn eval<'t, T: Scalar>(&self, x: &[Var<'t, T>]) -> Vec<Var<'t, T>> {
        vec![x[0] * x[1], x[0].sin() + x[1].powi(2)]
    }
}

#[test]
fn jacobian_matches_closed_form() {
    // J = [[x₁, x₀], [cos x₀, 2x₁]]
    let j = jacobian(&TwoOutputs, &[0.5, -2.0]);
    assert_eq!(j.as_slice(), &[-2.0, 0.5, 0.5f64.cos(), -4.0]);
    let j_fn = jacobian_fn(
        |x| vec![x[0] * x[1], x[0].sin() + x[1].powi(2)],
        &[0.5, -2.0],
    );
    assert_eq!(j_fn, j);
}

#[test]
fn jvp_equals_jacobian_times_v() {
    let mut rng = StdRng::seed_from_u64(23);
    for _ in 0..5 {
        let x = random_vec(2, &mut rng, 2.0);
        let v = random_vec(2, &mut rng, 2.0);
        let j = jacobian(&TwoOutputs, &x);
        let (values, jv) = jvp(&TwoOutputs, &x, &v);
        assert_eq!(values, vec![x[0] * x[1], x[0].sin() + x[1] * x[1]]);
        let expected: Vec<f64> = (0..2)
            .map(|i| j.row(i)[0] * v[0] + j.row(i)[1] * v[1])
            .collect();
        assert_all_close(&jv, &expected, 1e-15);
    }
}

#[test]
fn jvp_of_a_scalar_function_is_the_directional_derivative() {
    let x = [0.3, -0.4, 1.1];
    let v = [1.0, 2.0, -0.5];
    let g = grad(&Rosenbrock, &x);
    let (values, jv) = jvp(&Rosenbrock, &x, &v);
    assert_eq!(values, vec![value_and_grad(&Rosenbrock, &x).0]);
    let expected: f64 = g.iter().zip(&v).map(|(g, v)| g * v).sum();
    assert_all_close(&jv, &[expected], 1e-14);
}

#[test]
fn grad_fn_of_a_closure_matches_the_trait_version() {
    let x = [0.7, -0.2, 1.3];
    let g = grad_fn(
        |x| {
            let terms: Vec<_> = x
                .windows(2)
                .map(|w| (w[0] - 1.0).powi(2) + 100.0 * (w[1] - w[0].powi(2)).powi(2))
                .collect();
            x[0].tape().sum(&terms)
        },
        &x,
    );
    assert_eq!(g, grad(&Rosenbrock, &x));
}

#[test]
fn nested_duals_give_third_derivatives() {
    /// `x³`: f''' = 6.
    struct Cube;
    impl Function for Cube {
        fn eval<'t, T: Scalar>(&self, x: &[Var<'t, T>]) -> Var<'t, T> {
            x[0].powi(3)
        }
    }
    // hvp over Dual<f64> inputs: the tangent of (H v) along w is the third derivative.
    let x = [Dual::new(2.0, 1.0)];
    let v = [Dual::new(1.0, 0.0)];
    let hv = hvp(&Cube, &x, &v);
    assert_eq!(hv, vec![Dual::new(12.0, 6.0)]);
}

/// `softplus(x₀)² + softplus(x₀ x₁)`, whose pre-activations can sit exactly at 0.
struct SoftplusSquare;

impl Function for SoftplusSquare {
    fn eval<'t, T: Scalar>(&self, x: &[Var<'t, T>]) -> Var<'t, T> {
        x[0].softplus().powi(2) + (x[0] * x[1]).softplus()
    }
}

#[test]
fn softplus_hessian_at_zero_matches_closed_form() {
    // s = softplus, s(0) = ln 2, s'(0) = 1/2, s''(0) = 1/4
    // f = s(a)² + s(ab)   at a = 0, b = 3:
    // ∂²f/∂a² = 2 (s'(a)² + s(a) s''(a)) + b² s''(ab) = 2 (1/4 + ln2/4) + 9/4
    // ∂²f/∂a∂b = s'(ab) + ab s''(ab) = 1/2     ∂²f/∂b² = a² s''(ab) = 0
    let h = hessian(&SoftplusSquare, &[0.0, 3.0]);
    let ln2 = 2f64.ln();
    assert_all_close(
        h.as_slice(),
        &[(1.0 + ln2) / 2.0 + 2.25, 0.5, 0.5, 0.0],
        1e-15,
    );
}
