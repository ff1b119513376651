//! Every operation, and random expression DAGs with reused sub-expressions, against central
//! finite differences from `tapegrad::check`, in `f64` and `f32`.
//!
//! Strategies keep each operation inside its domain and away from its kinks; `assert_grad_close`
//! owns the tolerances.

use std::any::TypeId;

use proptest::prelude::*;
use rand::SeedableRng;
use rand::rngs::StdRng;
use tapegrad::check::{self, Expr, GradCheck};
use tapegrad::{Scalar, Var};

mod common;
use common::proptest_config;

/// The checker every test here uses: the one place that sets the tolerances.
///
/// `f64`: relative 1e-6 and absolute 1e-8 (central differences with the default step are good
/// to about 1e-8 on these functions, see the random expressions). `f32`: relative and absolute
/// 1e-2, since its differences are good to a few 1e-3 at best, and where a gradient nearly
/// cancels, its absolute error is what is left.
fn grad_check<T: Scalar>() -> GradCheck {
    let (rel, abs) = if TypeId::of::<T>() == TypeId::of::<f32>() {
        (1e-2, 1e-2)
    } else {
        (1e-6, 1e-8)
    };
    GradCheck::new().rel_tol(rel).abs_tol(abs)
}

/// Asserts that the tape's gradient of `f` at `at` matches central finite differences.
#[track_caller]
fn assert_grad_close<T, F>(f: F, at: &[T])
where
    T: Scalar,
    F: for<'t> Fn(&[Var<'t, T>]) -> Var<'t, T>,
{
    grad_check::<T>().assert(f, at);
}

/// Numbers at least 0.05 away from 0 on either side, up to `limit` in size.
fn away_from_zero(limit: f64) -> impl Strategy<Value = f64> {
    prop_oneof![-limit..-0.05, 0.05..limit]
}

// ------------------------------------------------------------------------------- operators

proptest! {
    #![proptest_config(proptest_config(48))]

    #[test]
    fn add_matches_finite_difference(x in -5.0..5.0f64, y in -5.0..5.0f64) {
        assert_grad_close(|v| v[0] + v[1] * v[0], &[x, y]);
    }

    #[test]
    fn sub_matches_finite_difference(x in -5.0..5.0f64, y in -5.0..5.0f64) {
        assert_grad_close(|v| (v[0] - v[1]) * v[1], &[x, y]);
    }

    #[test]
    fn mul_matches_finite_difference(x in -5.0..5.0f64, y in -5.0..5.0f64) {
        assert_grad_close(|v| v[0] * v[1], &[x, y]);
    }

    #[test]
    fn div_matches_finite_difference(x in -5.0..5.0f64, y in away_from_zero(5.0)) {
        assert_grad_close(|v| v[0] / v[1], &[x, y]);
    }

    #[test]
    fn neg_matches_finite_difference(x in -5.0..5.0f64) {
        assert_grad_close(|v| -v[0] * v[0], &[x]);
    }

    #[test]
    fn operators_with_constants_match_finite_difference(
        x in away_from_zero(5.0),
        c in -3.0..3.0f64,
    ) {
        assert_grad_close(|v| v[0] + c, &[x]);
        assert_grad_close(|v| v[0] - c, &[x]);
        assert_grad_close(|v| v[0] * c, &[x]);
        assert_grad_close(|v| v[0] / 1.7, &[x]);
        assert_grad_close(|v| c + v[0] * v[0], &[x]);
        assert_grad_close(|v| c - v[0] * v[0], &[x]);
        assert_grad_close(|v| c * v[0] * v[0], &[x]);
        assert_grad_close(|v| c / v[0], &[x]);
    }

    #[test]
    fn compound_assignments_match_finite_difference(
        x in -3.0..3.0f64,
        y in away_from_zero(3.0),
    ) {
        assert_grad_close(
            |v| {
                let mut a = v[0];
                a += v[1];
                a *= v[0];
                a -= v[1] * v[1];
                a /= v[1];
                a += 2.0;
                a *= 0.5;
                a -= 1.0;
                a /= 3.0;
                a
            },
            &[x, y],
        );
    }

    // -------------------------------------------------------------------- elementary functions

    #[test]
    fn exp_matches_finite_difference(x in -5.0..5.0f64) {
        assert_grad_close(|v| v[0].exp(), &[x]);
    }

    #[test]
    fn ln_matches_finite_difference(x in 0.05..10.0f64) {
        assert_grad_close(|v| v[0].ln(), &[x]);
    }

    #[test]
    fn sqrt_matches_finite_difference(x in 0.05..10.0f64) {
        assert_grad_close(|v| v[0].sqrt(), &[x]);
    }

    #[test]
    fn powi_matches_finite_difference(x in -3.0..3.0f64, n in 0..6i32) {
        assert_grad_close(|v| v[0].powi(n), &[x]);
    }

    #[test]
    fn powi_with_negative_exponent_matches_finite_difference(
        x in away_from_zero(3.0).prop_filter("|x| >= 0.2", |x| x.abs() >= 0.2),
        n in -4..0i32,
    ) {
        assert_grad_close(|v| v[0].powi(n), &[x]);
    }

    #[test]
    fn powf_matches_finite_difference(x in 0.1..5.0f64, c in -3.0..3.0f64) {
        assert_grad_close(|v| v[0].powf(c), &[x]);
    }

    #[test]
    fn pow_matches_finite_difference(x in 0.1..5.0f64, y in -3.0..3.0f64) {
        assert_grad_close(|v| v[0].pow(v[1]), &[x, y]);
    }

    #[test]
    fn sin_matches_finite_difference(x in -6.0..6.0f64) {
        assert_grad_close(|v| v[0].sin(), &[x]);
    }

    #[test]
    fn cos_matches_finite_difference(x in -6.0..6.0f64) {
        assert_grad_close(|v| v[0].cos(), &[x]);
    }

    #[test]
    fn tan_matches_finite_difference(x in -1.4..1.4f64) {
        assert_grad_close(|v| v[0].tan(), &[x]);
    }

    #[test]
    fn tanh_matches_finite_difference(x in -5.0..5.0f64) {
        assert_grad_close(|v| v[0].tanh(), &[x]);
    }

    #[test]
    fn sigmoid_matches_finite_difference(x in -8.0..8.0f64) {
        assert_grad_close(|v| v[0].sigmoid(), &[x]);
    }

    #[test]
    fn softplus_matches_finite_difference(x in -8.0..8.0f64) {
        assert_grad_close(|v| v[0].softplus(), &[x]);
    }

    #[test]
    fn recip_matches_finite_difference(x in away_from_zero(5.0)) {
        assert_grad_close(|v| v[0].recip(), &[x]);
    }

    #[test]
    fn relu_matches_finite_difference_away_from_its_kink(x in away_from_zero(5.0)) {
        assert_grad_close(|v| v[0].relu() * v[0], &[x]);
    }

    #[test]
    fn leaky_relu_matches_finite_difference_away_from_its_kink(
        x in away_from_zero(5.0),
        slope in 0.0..0.5f64,
    ) {
        assert_grad_close(|v| v[0].leaky_relu(slope), &[x]);
    }

    #[test]
    fn abs_matches_finite_difference_away_from_its_kink(x in away_from_zero(5.0)) {
        assert_grad_close(|v| v[0].abs(), &[x]);
    }

    #[test]
    fn max_and_min_match_finite_difference_away_from_a_tie(
        x in -5.0..5.0f64,
        gap in away_from_zero(3.0),
    ) {
        let y = x + gap;
        assert_grad_close(|v| v[0].max(v[1]), &[x, y]);
        assert_grad_close(|v| v[0].min(v[1]), &[x, y]);
    }

    // ------------------------------------------------------------------ n-ary and custom nodes

    #[test]
    fn sum_matches_finite_difference(xs in prop::collection::vec(-3.0..3.0f64, 1..6)) {
        // reuse inside one node: x₀ appears twice
        assert_grad_close(
            |v| {
                let mut terms: Vec<Var<'_>> = v.iter().map(|x| x.sin()).collect();
                terms.push(v[0]);
                v[0].tape().sum(&terms)
            },
            &xs,
        );
    }

    #[test]
    fn dot_of_vars_matches_finite_difference(xs in prop::collection::vec(-3.0..3.0f64, 2..8)) {
        let n = xs.len() / 2;
        assert_grad_close(|v| v[0].tape().dot(&v[..n], &v[n..2 * n]), &xs);
        // a slice dotted with itself counts each Var twice
        assert_grad_close(|v| v[0].tape().dot(v, v), &xs);
    }

    #[test]
    fn dot_with_numbers_matches_finite_difference(
        xs in prop::collection::vec(-3.0..3.0f64, 1..6),
        c in -2.0..2.0f64,
    ) {
        let weights: Vec<f64> = (0..xs.len()).map(|i| c + i as f64).collect();
        assert_grad_close(|v| v[0].tape().dot(v, &weights).tanh(), &xs);
    }

    #[test]
    fn custom_with_correct_partials_matches_finite_difference(
        x in -3.0..3.0f64,
        y in -3.0..3.0f64,
    ) {
        // hypot(x, y, 1) = √(x² + y² + 1), partials x/h and y/h
        assert_grad_close(
            |v| {
                let (a, b) = (v[0].value(), v[1].value());
                let h = (a * a + b * b + 1.0).sqrt();
                v[0].tape().custom(h, &[(v[0], a / h), (v[1], b / h)]) * v[0]
            },
            &[x, y],
        );
    }

    // ---------------------------------------------------------------------------------- f32

    #[test]
    fn f32_operations_match_finite_difference(
        x in -2.0..2.0f32,
        y in 0.2..3.0f32,
        gap in prop_oneof![-2.0..-0.1f32, 0.1..2.0f32],
    ) {
        let away = if x.abs() < 0.1 { x + 0.5 } else { x };
        assert_grad_close(|v| v[0] * v[1] - v[0] / v[1] + v[1] * 2.0 - 1.0, &[x, y]);
        assert_grad_close(|v| v[0].exp() + v[1].ln() + v[1].sqrt(), &[x, y]);
        assert_grad_close(|v| v[0].sin() * v[0].cos() + v[0].tanh(), &[x]);
        assert_grad_close(|v| (v[0] * 0.6).tan(), &[x]);
        assert_grad_close(|v| v[0].sigmoid() + v[0].softplus(), &[x]);
        assert_grad_close(|v| v[0].powi(3) + v[1].powi(-2) + v[1].powf(1.5), &[x, y]);
        assert_grad_close(|v| v[1].pow(v[0]), &[x, y]);
        assert_grad_close(|v| v[1].recip() + (-v[0]).exp(), &[x, y]);
        assert_grad_close(|v| v[0].relu() + v[0].abs() + v[0].leaky_relu(0.1), &[away]);
        assert_grad_close(|v| v[0].max(v[1]) + v[0].min(v[1]) * 2.0, &[x, x + gap]);
        assert_grad_close(
            |v| {
                let t = v[0].tape();
                t.sum(v) + t.dot(v, v) + t.dot(v, &[0.5f32, -2.0])
            },
            &[x, y],
        );
    }

    // ------------------------------------------------------------------ random expression DAGs

    #[test]
    fn random_expressions_match_finite_difference(
        seed in any::<u64>(),
        inputs in 1..5usize,
        ops in 1..40usize,
    ) {
        let mut rng = StdRng::seed_from_u64(seed);
        let expr = Expr::random(&mut rng, inputs, ops);
        let at = expr.sample_inputs(&mut rng);
        let report = grad_check::<f64>().run(|x| expr.build(x), &at);
        prop_assert!(report.passed(), "{}\n{}\nat {:?}", report, expr, at);
    }

    #[test]
    fn random_expressions_in_f32_match_finite_difference(
        seed in any::<u64>(),
        inputs in 1..5usize,
        ops in 1..40usize,
    ) {
        let mut rng = StdRng::seed_from_u64(seed);
        let expr = Expr::random(&mut rng, inputs, ops);
        let at: Vec<f32> = expr.sample_inputs(&mut rng).iter().map(|&x| x as f32).collect();
        let report = grad_check::<f32>().run(|x| expr.build(x), &at);
        prop_assert!(report.passed(), "{}\n{}\nat {:?}", report, expr, at);
    }

    #[test]
    fn random_expressions_record_what_they_evaluate(seed in any::<u64>()) {
        let mut rng = StdRng::seed_from_u64(seed);
        let expr = Expr::random(&mut rng, 3, 30);
        let at = expr.sample_inputs(&mut rng);
        let tape = tapegrad::Tape::new();
        let xs = tape.vars(&at);
        let y = expr.build(&xs);
        prop_assert_eq!(y.value().to_bits(), expr.eval(&at).to_bits(), "{}", expr);
        prop_assert_eq!(tape.len(), 3 + expr.len());
    }
}

#[test]
fn random_expressions_reuse_subexpressions() {
    // Adjoint accumulation is only exercised when some node feeds several others.
    let mut rng = StdRng::seed_from_u64(17);
    let exprs: Vec<Expr> = (0..100).map(|_| Expr::random(&mut rng, 3, 25)).collect();
    let max_uses: Vec<usize> = exprs
        .iter()
        .map(|e| e.uses().into_iter().max().unwrap_or(0))
        .collect();
    let reused = max_uses.iter().filter(|&&m| m >= 3).count();
    assert!(
        reused >= 90,
        "only {reused} of 100 expressions use some node 3 times or more"
    );
    let shared_nodes: usize = exprs
        .iter()
        .map(|e| e.uses().iter().filter(|&&n| n >= 2).count())
        .sum();
    assert!(
        shared_nodes >= 300,
        "only {shared_nodes} nodes in 100 expressions feed two others or more"
    );
}

// ------------------------------------------------------------------ the checker catches errors

#[test]
fn check_reports_a_wrong_partial_with_its_numbers() {
    // custom claims d/dx (2x) = 3; finite differences of 2x at 1 give exactly 2
    let report = check::gradient(
        |x: &[Var<'_>]| x[0].tape().custom(2.0 * x[0].value(), &[(x[0], 3.0)]) + x[1],
        &[1.0, 0.0],
    );
    assert!(!report.passed());
    assert!(!report.is_ok());
    assert_eq!(report.failures().map(|i| i.index).collect::<Vec<_>>(), [0]);
    let input = report.inputs[0];
    assert_eq!(
        (input.analytic, input.numeric, input.abs_error),
        (3.0, 2.0, 1.0)
    );
    assert_eq!(
        report.to_string(),
        "gradient check failed for 1 of 2 inputs (f = 2)\n  \
         input 0 at 1: analytic 3, numeric 2, off by 1 (relative 0.333), allowed 0.000242"
    );
}

#[test]
fn assert_gradient_panics_with_the_report() {
    let message = std::panic::catch_unwind(|| {
        check::assert_gradient(
            |x: &[Var<'_>]| x[0].tape().custom(-x[0].value(), &[(x[0], 1.0)]),
            &[4.0],
        );
    })
    .expect_err("a wrong sign must fail the check");
    assert_eq!(
        message.downcast_ref::<String>().map(String::as_str),
        Some(
            "gradient check failed for 1 of 1 inputs (f = -4)\n  \
             input 0 at 4: analytic 1, numeric -1, off by 2 (relative 2), allowed 0.000121"
        )
    );
}

#[test]
fn check_catches_a_relative_error_of_one_in_a_thousand() {
    // d/dx sin x = cos x; a partial off by 1e-3 relative fails the default f64 tolerances
    // (6.1e-5 absolute and relative), one off by 1e-7 passes them.
    let off_by = |e: f64| {
        check::gradient(
            move |x: &[Var<'_>]| {
                let v = x[0].value();
                x[0].tape().custom(v.sin(), &[(x[0], v.cos() * (1.0 + e))])
            },
            &[0.3],
        )
    };
    assert!(!off_by(1e-3).passed());
    assert!(off_by(1e-7).passed());
}

#[test]
fn check_sees_through_detach() {
    // detach hides a dependence from the tape; finite differences still see it
    let report = check::gradient(|x: &[Var<'_>]| x[0] * x[0].detach(), &[3.0]);
    assert!(!report.passed(), "{report}");
    assert_eq!(report.inputs[0].analytic, 3.0);
}

#[test]
fn check_of_f32_uses_looser_default_tolerances() {
    // a partial 1% off passes f32's defaults (4.9e-2) but not f64's (6.1e-5)
    let report32 = check::gradient(
        |x: &[Var<'_, f32>]| {
            let v = x[0].value();
            x[0].tape().custom(v * v, &[(x[0], 2.0 * v * 1.01)])
        },
        &[1.5f32],
    );
    assert!(report32.passed(), "{report32}");
    let report64 = check::gradient(
        |x: &[Var<'_>]| {
            let v = x[0].value();
            x[0].tape().custom(v * v, &[(x[0], 2.0 * v * 1.01)])
        },
        &[1.5],
    );
    assert!(!report64.passed(), "{report64}");
}

#[test]
fn check_reports_nan_gradients_as_failures() {
    // ln(-1) is NaN, so are its partial and its finite difference: NaN never passes, even where
    // both sides agree on it
    let report = check::gradient(|x: &[Var<'_>]| x[0].ln(), &[-1.0]);
    assert!(!report.passed());
    assert!(report.inputs[0].numeric.is_nan());
    assert!(report.inputs[0].analytic.is_nan());
}

#[test]
fn gradcheck_settings_reject_nonsense_with_a_message() {
    let message = |f: fn()| {
        let payload = std::panic::catch_unwind(f).expect_err("expected a panic");
        payload
            .downcast_ref::<String>()
            .cloned()
            .unwrap_or_default()
    };
    assert_eq!(
        message(|| {
            let _ = GradCheck::new().step(0.0);
        }),
        "GradCheck::step: got 0; pass a finite number above 0"
    );
    assert_eq!(
        message(|| {
            let _ = GradCheck::new().rel_tol(-1.0);
        }),
        "GradCheck::rel_tol: got -1; pass a finite number of at least 0"
    );
    assert_eq!(
        message(|| {
            let _ = GradCheck::new().abs_tol(f64::NAN);
        }),
        "GradCheck::abs_tol: got NaN; pass a finite number of at least 0"
    );
}

#[test]
fn expr_build_with_the_wrong_number_of_vars_panics_with_both_counts() {
    let expr = Expr::random(&mut StdRng::seed_from_u64(0), 2, 5);
    let payload = std::panic::catch_unwind(|| {
        let tape = tapegrad::Tape::new();
        let xs = tape.vars(&[1.0]);
        let _ = expr.build(&xs);
    })
    .expect_err("expected a panic");
    assert_eq!(
        payload.downcast_ref::<String>().map(String::as_str),
        Some("Expr::build: got 1 Vars for an expression over 2 inputs; pass one Var per input")
    );
}
