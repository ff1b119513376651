//! The baselines of `benches/suite.rs` compute what they claim: for every workload of the suite,
//! at small sizes, the plain value and the hand-written value equal the tape's, the hand-written
//! gradient equals the tape's, and a replay of the compiled recording gives both again — also at
//! a second point, so that a hand-written gradient right only at the starting point fails.

#[path = "../benches/common/suite.rs"]
mod suite;

use suite::{Size, Workload};
use tapegrad::Tape;

/// `a` and `b` agree to a few units in the last places, relative to the larger of them and to
/// `scale` (the largest component of the gradient, so that a component that cancels to nearly 0
/// is judged against the size of its neighbours).
fn close(a: f64, b: f64, scale: f64) -> bool {
    (a - b).abs() <= 1e-11 * a.abs().max(b.abs()) + 1e-13 * scale
}

fn assert_all_close(what: &str, name: &str, expected: &[f64], actual: &[f64]) {
    assert_eq!(expected.len(), actual.len(), "{name}: {what} lengths");
    let scale = expected.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    for (i, (e, a)) in expected.iter().zip(actual).enumerate() {
        assert!(
            close(*e, *a, scale),
            "{name}: {what}[{i}] is {a}, expected {e} (largest component {scale})"
        );
    }
}

/// The starting point moved by a small deterministic amount per input.
fn shifted(x: &[f64]) -> Vec<f64> {
    x.iter()
        .enumerate()
        .map(|(i, v)| v + 0.05 * ((i as f64 * 0.618_033_988_75).fract() - 0.5))
        .collect()
}

fn check(w: &mut dyn Workload, x: &[f64], tape: &mut Tape) {
    let name = w.name();
    let n = x.len();
    let mut taped = vec![0.0; n];
    let f_tape = suite::recording(tape, w, x, &mut taped);
    let mut hand = vec![f64::NAN; n];
    let f_hand = w.hand(x, &mut hand);
    let f_plain = w.plain(x);
    assert!(
        close(f_hand, f_tape, 0.0) && close(f_plain, f_tape, 0.0),
        "{name}: plain {f_plain}, hand-written {f_hand}, tape {f_tape}"
    );
    assert!(
        taped.iter().any(|&g| g != 0.0),
        "{name}: the gradient is 0 everywhere, so it checks nothing"
    );
    assert_all_close("hand-written gradient", &name, &taped, &hand);
    let mut compiled = suite::compile(w, w.point());
    let r = compiled.run(x).expect("the suite records no comparisons");
    assert!(
        close(r.value(), f_tape, 0.0),
        "{name}: replay {}, recording {f_tape}",
        r.value()
    );
    assert_all_close("replayed gradient", &name, &taped, r.grad());
}

#[test]
fn every_hand_written_gradient_equals_the_tapes_at_two_points() {
    let mut tape = Tape::new();
    let mut suite = suite::all(Size::Test);
    for w in &mut suite {
        let start = w.point().to_vec();
        check(w.as_mut(), &start, &mut tape);
        check(w.as_mut(), &shifted(&start), &mut tape);
    }
}

#[test]
fn the_suite_has_at_least_eight_workloads_of_every_kind() {
    let suite = suite::all(Size::Test);
    assert!(suite.len() >= 8, "{} workloads", suite.len());
    for kind in [
        suite::Kind::Network,
        suite::Kind::RepeatedTerms,
        suite::Kind::Rosenbrock,
        suite::Kind::Chain,
    ] {
        assert!(
            suite.iter().any(|w| w.kind() == kind),
            "no workload of kind {kind:?}"
        );
    }
}

#[test]
fn every_activation_and_every_loss_of_the_library_is_in_the_suite() {
    // The names carry each network's activations and loss as the library prints them.
    let names: Vec<String> = suite::all(Size::Test).iter().map(|w| w.name()).collect();
    let all = names.join("\n");
    for part in [
        "identity",
        "sigmoid",
        "tanh",
        "relu,",
        "leaky_relu(",
        "softplus",
        "+ mse",
        "+ mae",
        "+ bce,",
        "+ bce with logits",
        "+ hinge",
        "+ l2",
        "+ softmax cross-entropy",
        "log_sum_exp",
    ] {
        assert!(all.contains(part), "no workload uses {part}:\n{all}");
    }
}
