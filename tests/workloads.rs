//! The benchmark workloads compute what they claim: the tape's Rosenbrock gradient (W1) equals
//! the hand-written one, and the plain value equals both.

#[path = "../benches/common/rosenbrock.rs"]
mod rosenbrock;

#[test]
fn rosenbrock_on_a_tape_matches_the_hand_written_gradient() {
    let x = rosenbrock::inputs(1000);
    let mut hand = vec![0.0; x.len()];
    let mut taped = Vec::new();
    let f_hand = rosenbrock::hand(&x, &mut hand);
    let f_tape = rosenbrock::tape_gradient(&x, &mut taped);
    let f_plain = rosenbrock::plain(&x);
    let close = |a: f64, b: f64| (a - b).abs() <= 1e-12 * a.abs().max(b.abs()).max(1.0);
    assert!(
        close(f_hand, f_tape) && close(f_plain, f_tape),
        "{f_plain} {f_hand} {f_tape}"
    );
    for (i, (h, t)) in hand.iter().zip(&taped).enumerate() {
        assert!(close(*h, *t), "d/dx{i}: hand-written {h}, tape {t}");
    }
}
