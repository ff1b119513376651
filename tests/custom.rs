//! Custom operations (`Var::custom_unary`, `Var::custom_binary`, `Tape::custom`) against central
//! finite differences, and their second derivatives on a `Dual` tape.

use std::f64::consts::PI;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tapegrad::{Dual, Tape, Var};

/// `(f(x + h eᵢ) - f(x - h eᵢ)) / 2h` for every `i`.
fn central_difference(f: impl Fn(&[f64]) -> f64, x: &[f64]) -> Vec<f64> {
    (0..x.len())
        .map(|i| {
            let h = 1e-6 * (1.0 + x[i].abs());
            let mut plus = x.to_vec();
            let mut minus = x.to_vec();
            plus[i] += h;
            minus[i] -= h;
            (f(&plus) - f(&minus)) / (2.0 * h)
        })
        .collect()
}

#[track_caller]
fn assert_close(actual: &[f64], expected: &[f64], tol: f64) {
    for (k, (a, e)) in actual.iter().zip(expected).enumerate() {
        assert!(
            (a - e).abs() <= tol * (1.0 + e.abs()),
            "entry {k}: got {a}, expected {e}"
        );
    }
}

/// The error function by its Taylor series, `2/√π Σ (-1)ⁿ x²ⁿ⁺¹ / (n! (2n + 1))`; accurate to
/// about 1e-13 for `|x| ≤ 2.5`.
fn erf(x: f64) -> f64 {
    let mut term = x;
    let mut sum = x;
    for n in 1..80 {
        term *= -x * x / n as f64;
        sum += term / (2 * n + 1) as f64;
    }
    2.0 / PI.sqrt() * sum
}

/// `erf'(x) = 2/√π e^(-x²)`.
fn erf_d1(x: f64) -> f64 {
    2.0 / PI.sqrt() * (-x * x).exp()
}

/// `erf''(x) = -2x erf'(x)`.
fn erf_d2(x: f64) -> f64 {
    -2.0 * x * erf_d1(x)
}

fn erf_var(x: Var<'_>) -> Var<'_> {
    let v = x.value();
    x.custom_unary(erf(v), erf_d1(v))
}

/// `erf` on a dual tape with dual-aware value and partial, so that second derivatives are right.
fn erf_dual(x: Var<'_, Dual>) -> Var<'_, Dual> {
    let d = x.value();
    x.custom_unary(
        d.chain(erf(d.re), erf_d1(d.re)),
        d.chain(erf_d1(d.re), erf_d2(d.re)),
    )
}

const TABLE: [(f64, f64); 4] = [(0.0, 1.0), (1.0, 3.0), (2.0, 2.0), (4.0, 2.5)];

/// Linear interpolation in `TABLE`, constant outside it.
fn interpolate(x: f64) -> f64 {
    let k = TABLE
        .partition_point(|&(xi, _)| xi <= x)
        .clamp(1, TABLE.len() - 1);
    let ((x0, y0), (x1, y1)) = (TABLE[k - 1], TABLE[k]);
    if x < x0 {
        y0
    } else if x > x1 {
        y1
    } else {
        y0 + (y1 - y0) / (x1 - x0) * (x - x0)
    }
}

/// [`interpolate`] as a custom operation whose partial is the slope of the segment (0 outside
/// the table).
fn interpolate_var(x: Var<'_>) -> Var<'_> {
    let v = x.value();
    let k = TABLE
        .partition_point(|&(xi, _)| xi <= v)
        .clamp(1, TABLE.len() - 1);
    let ((x0, y0), (x1, y1)) = (TABLE[k - 1], TABLE[k]);
    let slope = if v < x0 || v > x1 {
        0.0
    } else {
        (y1 - y0) / (x1 - x0)
    };
    x.custom_unary(interpolate(v), slope)
}

/// `ln(e^x + e^y)`, with partials the softmax weights `e^x / (e^x + e^y)` and `e^y / (…)`,
/// shifted by the larger input so that nothing overflows.
fn log_add_exp<'t>(x: Var<'t>, y: Var<'t>) -> Var<'t> {
    let (a, b) = (x.value(), y.value());
    let m = a.max(b);
    let (ea, eb) = ((a - m).exp(), (b - m).exp());
    let total = ea + eb;
    x.custom_binary(y, m + total.ln(), ea / total, eb / total)
}

#[test]
fn erf_custom_unary_matches_finite_difference() {
    for x in [-2.0, -0.9, -0.1, 0.3, 1.2, 2.4] {
        let tape = Tape::new();
        let v = tape.var(x);
        let g = erf_var(v).backward();
        assert_close(&[g[v]], &central_difference(|x| erf(x[0]), &[x]), 1e-8);
    }
}

#[test]
fn interpolation_custom_unary_matches_finite_difference_inside_segments() {
    for x in [-1.0, 0.25, 0.9, 1.5, 3.3, 5.0] {
        let tape = Tape::new();
        let v = tape.var(x);
        let y = interpolate_var(v);
        assert_eq!(y.value(), interpolate(x));
        let g = y.backward();
        assert_close(
            &[g[v]],
            &central_difference(|x| interpolate(x[0]), &[x]),
            1e-8,
        );
    }
}

#[test]
fn log_add_exp_custom_binary_matches_finite_difference() {
    let mut rng = StdRng::seed_from_u64(29);
    for _ in 0..10 {
        let x = [rng.gen_range(-5.0..5.0), rng.gen_range(-5.0..5.0)];
        let tape = Tape::new();
        let (a, b) = (tape.var(x[0]), tape.var(x[1]));
        let g = log_add_exp(a, b).backward();
        let fd = central_difference(|x| (x[0].exp() + x[1].exp()).ln(), &x);
        assert_close(&[g[a], g[b]], &fd, 1e-8);
    }
}

#[test]
fn log_add_exp_stays_finite_where_the_naive_form_overflows() {
    let tape = Tape::new();
    let (a, b) = (tape.var(1000.0), tape.var(999.0));
    let z = log_add_exp(a, b);
    let g = z.backward();
    assert!((z.value() - (1000.0 + (-1f64).exp().ln_1p())).abs() < 1e-12);
    assert!((g[a] + g[b] - 1.0).abs() < 1e-15);
}

#[test]
fn custom_operations_compose_with_built_in_ones() {
    // f(x, y) = sin(erf(x y)) + interp(x) · logaddexp(x, y)
    let plain =
        |x: &[f64]| (erf(x[0] * x[1])).sin() + interpolate(x[0]) * (x[0].exp() + x[1].exp()).ln();
    let mut rng = StdRng::seed_from_u64(31);
    for _ in 0..10 {
        // Keep x away from the table's breakpoints, where interp has kinks.
        let x = [
            rng.gen_range(0.05..0.95) + rng.gen_range(0..3) as f64,
            rng.gen_range(-1.5..1.5),
        ];
        let tape = Tape::new();
        let (a, b) = (tape.var(x[0]), tape.var(x[1]));
        let z = erf_var(a * b).sin() + interpolate_var(a) * log_add_exp(a, b);
        assert!((z.value() - plain(&x)).abs() < 1e-12);
        let g = z.backward();
        assert_close(&[g[a], g[b]], &central_difference(plain, &x), 1e-7);
    }
}

#[test]
fn n_ary_custom_operation_matches_finite_difference() {
    // f(x) = ‖x‖ as one node, with partials xᵢ / ‖x‖.
    let x = [0.3, -1.2, 2.0];
    let tape = Tape::new();
    let xs = tape.vars(&x);
    let norm = x.iter().map(|v| v * v).sum::<f64>().sqrt();
    let inputs: Vec<_> = xs.iter().map(|&v| (v, v.value() / norm)).collect();
    let z = tape.custom(norm, &inputs);
    let g = z.backward();
    let fd = central_difference(|x| x.iter().map(|v| v * v).sum::<f64>().sqrt(), &x);
    assert_close(&g.wrt_all(&xs), &fd, 1e-8);
}

/// The Hessian of `erf(x₀ x₁)` on a dual tape, one direction per column.
fn hessian_of_erf_product(x: [f64; 2]) -> [[f64; 2]; 2] {
    let mut tape = Tape::<Dual>::new();
    let columns: [[f64; 2]; 2] = std::array::from_fn(|j| {
        tape.clear();
        let v = |i: usize| if i == j { 1.0 } else { 0.0 };
        let a = tape.var(Dual::new(x[0], v(0)));
        let b = tape.var(Dual::new(x[1], v(1)));
        let g = erf_dual(a * b).backward();
        [g[a].eps, g[b].eps]
    });
    std::array::from_fn(|i| std::array::from_fn(|j| columns[j][i]))
}

#[test]
fn dual_aware_custom_op_gives_the_closed_form_hessian() {
    let mut rng = StdRng::seed_from_u64(37);
    for _ in 0..5 {
        let x = [rng.gen_range(-1.5..1.5), rng.gen_range(-1.5..1.5)];
        let (a, b) = (x[0], x[1]);
        let s = a * b;
        // f = erf(ab)   H = erf''(s) [[b², ab], [ab, a²]] + erf'(s) [[0, 1], [1, 0]]
        let expected = [
            [erf_d2(s) * b * b, erf_d2(s) * a * b + erf_d1(s)],
            [erf_d2(s) * a * b + erf_d1(s), erf_d2(s) * a * a],
        ];
        let h = hessian_of_erf_product(x);
        for (row, expected_row) in h.iter().zip(&expected) {
            assert_close(row, expected_row, 1e-14);
        }
        // Against central differences of the gradient from the f64 tape.
        let grad = |x: &[f64], i: usize| {
            let tape = Tape::new();
            let (p, q) = (tape.var(x[0]), tape.var(x[1]));
            let g = erf_var(p * q).backward();
            [g[p], g[q]][i]
        };
        for (i, row) in h.iter().enumerate() {
            assert_close(row, &central_difference(|x| grad(x, i), &x), 1e-7);
        }
    }
}

#[test]
fn custom_op_with_real_only_partials_loses_its_own_curvature() {
    // erf recorded with constant duals: its value and partial carry no tangent, so the
    // second derivative erf''(x) = -2x erf'(x) is dropped and H v reads 0.
    let x = 0.5;
    let tape = Tape::<Dual>::new();
    let v = tape.var(Dual::new(x, 1.0));
    let naive = v.custom_unary(Dual::constant(erf(x)), Dual::constant(erf_d1(x)));
    assert_eq!(naive.backward()[v], Dual::new(erf_d1(x), 0.0));
    // With Dual::chain the tangent is right.
    let aware = erf_dual(v);
    assert_eq!(aware.backward()[v], Dual::new(erf_d1(x), erf_d2(x)));
}
