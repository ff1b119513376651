//! Every loss in `tapegrad::loss` against central finite differences, plus the behaviour at the
//! edges: clamping, ±1000 logits, f32, and the panic messages.

use proptest::prelude::*;
use tapegrad::check::GradCheck;
use tapegrad::{Tape, Var, loss};

mod common;
use common::proptest_config;

/// Asserts that the tape's gradient of `f` at `at` matches central finite differences from
/// `tapegrad::check`, to a relative 1e-6 and an absolute 1e-8 (as `tests/grad_check.rs`).
#[track_caller]
fn assert_grad_close(f: impl for<'t> Fn(&[Var<'t>]) -> Var<'t>, at: &[f64]) {
    GradCheck::new().rel_tol(1e-6).abs_tol(1e-8).assert(f, at);
}

/// Predictions and targets of the same length, at least `min_gap` apart elementwise (away from
/// the kink of |p - y|).
fn pairs(min_gap: f64) -> impl Strategy<Value = (Vec<f64>, Vec<f64>)> {
    (1usize..6).prop_flat_map(move |n| {
        (
            prop::collection::vec(-3.0f64..3.0, n),
            prop::collection::vec(-3.0f64..3.0, n),
        )
            .prop_filter("away from the kink", move |(p, y)| {
                p.iter().zip(y).all(|(p, y)| (p - y).abs() > min_gap)
            })
    })
}

fn labels_01(n: usize) -> impl Strategy<Value = Vec<f64>> {
    prop::collection::vec(prop_oneof![Just(0.0), Just(1.0), 0.0f64..1.0], n)
}

proptest! {
    #![proptest_config(proptest_config(64))]

    #[test]
    fn mse_matches_finite_difference((p, y) in pairs(0.0)) {
        assert_grad_close(|v| loss::mse(v, &y), &p);
    }

    #[test]
    fn mae_matches_finite_difference((p, y) in pairs(1e-3)) {
        assert_grad_close(|v| loss::mae(v, &y), &p);
    }

    #[test]
    fn binary_cross_entropy_matches_finite_difference(
        (p, y) in (1usize..6).prop_flat_map(|n| {
            (prop::collection::vec(0.01f64..0.99, n), labels_01(n))
        })
    ) {
        assert_grad_close(|v| loss::binary_cross_entropy(v, &y), &p);
    }

    #[test]
    fn binary_cross_entropy_with_logits_matches_finite_difference(
        (z, y) in (1usize..6).prop_flat_map(|n| {
            (prop::collection::vec(-20.0f64..20.0, n), labels_01(n))
        })
    ) {
        assert_grad_close(|v| loss::binary_cross_entropy_with_logits(v, &y), &z);
    }

    #[test]
    fn with_logits_equals_cross_entropy_of_the_sigmoid(
        (z, y) in (1usize..6).prop_flat_map(|n| {
            (prop::collection::vec(-10.0f64..10.0, n), labels_01(n))
        })
    ) {
        let tape = Tape::new();
        let zs = tape.vars(&z);
        let probabilities: Vec<_> = zs.iter().map(|z| z.sigmoid()).collect();
        let composed = loss::binary_cross_entropy(&probabilities, &y);
        let fused = loss::binary_cross_entropy_with_logits(&zs, &y);
        prop_assert!((composed.value() - fused.value()).abs() < 1e-9);
        let gc = composed.backward().wrt_all(&zs);
        let gf = fused.backward().wrt_all(&zs);
        for (a, b) in gc.iter().zip(&gf) {
            prop_assert!((a - b).abs() < 1e-9, "{gc:?} vs {gf:?}");
        }
    }

    #[test]
    fn hinge_matches_finite_difference(
        (s, y) in (1usize..6).prop_flat_map(|n| {
            (
                prop::collection::vec(-3.0f64..3.0, n),
                prop::collection::vec(prop_oneof![Just(-1.0), Just(1.0)], n),
            )
        })
        .prop_filter("away from the kink", |(s, y)| {
            s.iter().zip(y).all(|(s, y)| (1.0 - s * y).abs() > 1e-3)
        })
    ) {
        assert_grad_close(|v| loss::hinge(v, &y), &s);
    }

    #[test]
    fn l2_penalty_matches_finite_difference(
        w in prop::collection::vec(-3.0f64..3.0, 1..6),
        lambda in 0.0f64..2.0,
    ) {
        assert_grad_close(|v| loss::l2_penalty(v, lambda), &w);
    }

    #[test]
    fn log_sum_exp_matches_finite_difference(x in prop::collection::vec(-10.0f64..10.0, 1..6)) {
        assert_grad_close(loss::log_sum_exp, &x);
    }

    #[test]
    fn softmax_cross_entropy_matches_finite_difference(
        (z, class) in (1usize..6).prop_flat_map(|n| {
            (prop::collection::vec(-10.0f64..10.0, n), 0..n)
        })
    ) {
        assert_grad_close(|v| loss::softmax_cross_entropy(v, class), &z);
    }

    #[test]
    fn softmax_cross_entropy_stays_finite_at_thousand(
        signs in prop::collection::vec(prop_oneof![Just(-1000.0), Just(1000.0), -1000.0f64..1000.0], 1..8),
        pick in any::<prop::sample::Index>(),
    ) {
        let tape = Tape::new();
        let z = tape.vars(&signs);
        let class = pick.index(z.len());
        let l = loss::softmax_cross_entropy(&z, class);
        prop_assert!(l.value().is_finite() && l.value() >= 0.0, "value {}", l.value());
        let g = l.backward_checked().expect("finite adjoints");
        let grads = g.wrt_all(&z);
        // The partials are softmax - one-hot: they sum to 0 and lie in [-1, 1].
        prop_assert!(grads.iter().sum::<f64>().abs() < 1e-12, "{grads:?}");
        prop_assert!(grads.iter().all(|d| (-1.0..=1.0).contains(d)), "{grads:?}");
    }
}

#[test]
fn softmax_cross_entropy_of_a_confident_right_answer_is_zero() {
    let tape = Tape::new();
    let z = tape.vars(&[-1000.0, 1000.0]);
    let l = loss::softmax_cross_entropy(&z, 1);
    assert_eq!(l.value(), 0.0);
    assert_eq!(l.backward().wrt_all(&z), vec![0.0, 0.0]);
}

#[test]
fn softmax_cross_entropy_of_equal_logits_is_ln_n() {
    let tape = Tape::new();
    let z = tape.vars(&[3.0, 3.0, 3.0, 3.0]);
    let l = loss::softmax_cross_entropy(&z, 0);
    assert!((l.value() - 4f64.ln()).abs() < 1e-15);
    assert_eq!(l.backward().wrt_all(&z), vec![-0.75, 0.25, 0.25, 0.25]);
}

#[test]
fn binary_cross_entropy_clamps_certain_predictions_to_epsilon() {
    let tape = Tape::new();
    let p = tape.vars(&[0.0, 1.0]);
    // Both certain and wrong: each term costs -ln(1e-12), and nothing flows back through the
    // clamp.
    let wrong = loss::binary_cross_entropy(&p, &[1.0, 0.0]);
    assert_eq!(wrong.value(), -(loss::PROBABILITY_EPSILON.ln()));
    assert_eq!(wrong.backward().wrt_all(&p), vec![0.0, 0.0]);
    // Both certain and right: no loss at all.
    let right = loss::binary_cross_entropy(&p, &[0.0, 1.0]);
    assert_eq!(right.value(), 0.0);
    assert!(right.backward_checked().is_ok());
}

#[test]
fn binary_cross_entropy_clamps_in_f32_too() {
    let tape = Tape::<f32>::new();
    let p = tape.vars(&[1.0, 0.5]);
    let l = loss::binary_cross_entropy(&p, &[0.0, 1.0]);
    let expected = (-(1e-12f32.ln()) - 0.5f32.ln()) / 2.0;
    assert!((l.value() - expected).abs() < 1e-5, "{}", l.value());
    assert_eq!(l.backward().wrt_all(&p), vec![0.0, -1.0]);
}

#[test]
fn losses_are_generic_over_f32() {
    let tape = Tape::<f32>::new();
    let p = tape.vars(&[0.5, 2.0]);
    let l = loss::mse(&p, &[1.0, 1.0]);
    assert_eq!(l.value(), 0.625f32);
    assert_eq!(l.backward().wrt_all(&p), vec![-0.5f32, 1.0]);
    let z = tape.vars(&[100.0, -100.0]);
    let ce = loss::softmax_cross_entropy(&z, 1);
    assert_eq!(ce.value(), 200.0f32);
}

#[test]
fn mse_of_one_prediction_is_its_squared_error() {
    // f(w) = (3w - 1)²   df/dw = 6 (3w - 1) = 6 · 5 = 30 at w = 2
    let tape = Tape::new();
    let w = tape.var(2.0);
    let l = loss::mse(&[w * 3.0], &[1.0]);
    assert_eq!(l.value(), 25.0);
    assert_eq!(l.backward()[w], 30.0);
}

#[test]
fn hinge_is_zero_beyond_the_margin() {
    let tape = Tape::new();
    let s = tape.vars(&[2.0, -1.5]);
    let l = loss::hinge(&s, &[1.0, -1.0]);
    assert_eq!(l.value(), 0.0);
    assert_eq!(l.backward().wrt_all(&s), vec![0.0, 0.0]);
}

#[test]
#[should_panic(expected = "mse: got 3 predictions and 2 targets; pass slices of equal length")]
fn mse_of_unequal_lengths_panics_with_both_lengths() {
    let tape = Tape::new();
    let p = tape.vars(&[1.0, 2.0, 3.0]);
    let _ = loss::mse(&p, &[1.0, 2.0]);
}

#[test]
#[should_panic(
    expected = "binary_cross_entropy_with_logits: got 1 predictions and 2 targets; pass slices of equal length"
)]
fn with_logits_of_unequal_lengths_panics_with_both_lengths() {
    let tape = Tape::new();
    let z = tape.vars(&[1.0]);
    let _ = loss::binary_cross_entropy_with_logits(&z, &[1.0, 0.0]);
}

#[test]
#[should_panic(expected = "mae: got no predictions; pass at least one")]
fn mae_of_nothing_panics() {
    let _ = loss::mae::<f64>(&[], &[]);
}

#[test]
#[should_panic(
    expected = "hinge: label 0 at index 1 is not -1 or 1; map the two classes to -1 and 1"
)]
fn hinge_with_a_zero_label_panics_naming_it() {
    let tape = Tape::new();
    let s = tape.vars(&[1.0, 2.0]);
    let _ = loss::hinge(&s, &[1.0, 0.0]);
}

#[test]
#[should_panic(
    expected = "softmax_cross_entropy: class 3 is out of range for 3 logits; pass an index below 3"
)]
fn softmax_cross_entropy_with_a_class_out_of_range_panics() {
    let tape = Tape::new();
    let z = tape.vars(&[1.0, 2.0, 3.0]);
    let _ = loss::softmax_cross_entropy(&z, 3);
}

#[test]
#[should_panic(expected = "log_sum_exp: got no inputs; pass at least one")]
fn log_sum_exp_of_nothing_panics() {
    let _ = loss::log_sum_exp::<f64>(&[]);
}

/// The bits of a value and of a gradient, so that `assert_eq!` compares NaN and -0 exactly.
fn bits(value: f64, grad: &[f64]) -> (u64, Vec<u64>) {
    (value.to_bits(), grad.iter().map(|g| g.to_bits()).collect())
}

proptest! {
    #![proptest_config(proptest_config(64))]

    #[test]
    fn with_logits_var_matches_finite_difference_in_logits_and_labels(
        (z, y) in (1usize..6).prop_flat_map(|n| {
            (prop::collection::vec(-20.0f64..20.0, n), labels_01(n))
        })
    ) {
        let n = z.len();
        let at: Vec<f64> = z.iter().chain(&y).copied().collect();
        // The loss is linear in each label: ∂/∂yᵢ = -zᵢ / n.
        assert_grad_close(|v| loss::binary_cross_entropy_with_logits_var(&v[..n], &v[n..]), &at);
    }

    #[test]
    fn softmax_cross_entropy_var_matches_finite_difference_in_the_logits(
        (z, class) in (1usize..6).prop_flat_map(|n| {
            (prop::collection::vec(-10.0f64..10.0, n), 0..n)
        })
    ) {
        assert_grad_close(
            |v| loss::softmax_cross_entropy_var(v, v[0].tape().constant(class as f64)),
            &z,
        );
    }

    #[test]
    fn one_compiled_with_logits_loss_replays_any_labels_as_recording_them(
        (z, labels) in (1usize..6).prop_flat_map(|n| {
            (
                prop::collection::vec(-20.0f64..20.0, n),
                prop::collection::vec(labels_01(n), 1..5),
            )
        })
    ) {
        let n = z.len();
        let tape = Tape::new();
        let zs = tape.vars(&z);
        let ys: Vec<Var> = (0..n).map(|_| tape.constant(0.5)).collect();
        let l = loss::binary_cross_entropy_with_logits_var(&zs, &ys);
        let mut compiled = tape.compile_with_data(&zs, &ys, &[l]).unwrap();
        for y in &labels {
            let replay = compiled.run_with_data(&z, y).unwrap();
            let replayed = bits(replay.value(), replay.grad());

            let fresh = Tape::new();
            let zs = fresh.vars(&z);
            let plain = loss::binary_cross_entropy_with_logits(&zs, y);
            prop_assert_eq!(&replayed, &bits(plain.value(), &plain.backward().wrt_all(&zs)));
            let labels_as_vars: Vec<Var> = y.iter().map(|&y| fresh.constant(y)).collect();
            let var = loss::binary_cross_entropy_with_logits_var(&zs, &labels_as_vars);
            prop_assert_eq!(&replayed, &bits(var.value(), &var.backward().wrt_all(&zs)));
        }
    }
}

#[test]
fn one_compiled_softmax_cross_entropy_replays_every_class_as_recording_it() {
    let z = [0.5, -2.0, 3.0, 1000.0, -1000.0];
    let tape = Tape::new();
    let zs = tape.vars(&z);
    let class = tape.constant(0.0);
    let l = loss::softmax_cross_entropy_var(&zs, class);
    let mut compiled = tape.compile_with_data(&zs, &[class], &[l]).unwrap();
    for c in [3, 0, 4, 1, 2] {
        let replay = compiled.run_with_data(&z, &[c as f64]).unwrap();
        let replayed = bits(replay.value(), replay.grad());

        let fresh = Tape::new();
        let zs = fresh.vars(&z);
        let plain = loss::softmax_cross_entropy(&zs, c);
        assert_eq!(
            replayed,
            bits(plain.value(), &plain.backward().wrt_all(&zs)),
            "class {c}"
        );
        let var = loss::softmax_cross_entropy_var(&zs, fresh.constant(c as f64));
        assert_eq!(
            replayed,
            bits(var.value(), &var.backward().wrt_all(&zs)),
            "class {c}"
        );
    }
}

#[test]
fn a_replayed_class_that_is_not_an_index_gives_nan_and_the_next_good_one_recovers() {
    let z = [0.5, -2.0, 3.0];
    let tape = Tape::new();
    let zs = tape.vars(&z);
    let class = tape.constant(1.0);
    let l = loss::softmax_cross_entropy_var(&zs, class);
    let mut compiled = tape.compile_with_data(&zs, &[class], &[l]).unwrap();
    for bad in [3.0, -1.0, 0.5, f64::NAN, f64::INFINITY, -0.5] {
        let r = compiled.run_with_data(&z, &[bad]).unwrap();
        assert!(r.value().is_nan(), "class {bad}: value {}", r.value());
        assert!(
            r.grad().iter().all(|g| g.is_nan()),
            "class {bad}: {:?}",
            r.grad()
        );
    }
    let r = compiled.run_with_data(&z, &[2.0]).unwrap();
    let fresh = Tape::new();
    let zs = fresh.vars(&z);
    let plain = loss::softmax_cross_entropy(&zs, 2);
    assert_eq!(
        bits(r.value(), r.grad()),
        bits(plain.value(), &plain.backward().wrt_all(&zs))
    );
}

#[test]
fn labels_as_vars_work_in_f32() {
    let tape = Tape::<f32>::new();
    let z = tape.vars(&[0.25f32, -1.5]);
    let y = [tape.constant(1.0f32), tape.constant(0.0)];
    let var = loss::binary_cross_entropy_with_logits_var(&z, &y);
    let plain = loss::binary_cross_entropy_with_logits(&z, &[1.0f32, 0.0]);
    assert_eq!(var.value().to_bits(), plain.value().to_bits());
    let class = loss::softmax_cross_entropy_var(&z, tape.constant(1.0f32));
    assert_eq!(
        class.value().to_bits(),
        loss::softmax_cross_entropy(&z, 1).value().to_bits()
    );
}

#[test]
#[should_panic(
    expected = "softmax_cross_entropy_var: class 3 is not an index into 3 logits; pass an integer from 0 below 3"
)]
fn softmax_cross_entropy_var_with_a_class_out_of_range_panics_when_recorded() {
    let tape = Tape::new();
    let z = tape.vars(&[1.0, 2.0, 3.0]);
    let _ = loss::softmax_cross_entropy_var(&z, tape.constant(3.0));
}

#[test]
#[should_panic(
    expected = "softmax_cross_entropy_var: class 1.5 is not an index into 3 logits; pass an integer from 0 below 3"
)]
fn softmax_cross_entropy_var_with_a_fractional_class_panics_when_recorded() {
    let tape = Tape::new();
    let z = tape.vars(&[1.0, 2.0, 3.0]);
    let _ = loss::softmax_cross_entropy_var(&z, tape.constant(1.5));
}

#[test]
#[should_panic(
    expected = "binary_cross_entropy_with_logits_var: got 2 predictions and 1 labels; pass slices of equal length"
)]
fn with_logits_var_of_unequal_lengths_panics_with_both_lengths() {
    let tape = Tape::new();
    let z = tape.vars(&[1.0, 2.0]);
    let _ = loss::binary_cross_entropy_with_logits_var(&z, &[tape.constant(1.0)]);
}
