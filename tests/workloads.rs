//! The benchmark workloads compute what they claim: the tape's Rosenbrock gradient (W1) equals
//! the hand-written one, the plain value equals both, and a replay equals recording bit for bit.

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

#[test]
fn rosenbrock_replayed_equals_rosenbrock_recorded_bit_for_bit() {
    // As the replay bench runs W1: recorded once at one point, replayed at others. Each term is
    // two fused instructions, run place by place across the terms (neighbours share an input),
    // and the sum of all terms one chain.
    let x = rosenbrock::inputs(1000);
    let mut compiled = rosenbrock::compiled(&x);
    for shift in [0.0, 0.25, -0.5] {
        let at: Vec<f64> = x.iter().map(|v| v + shift).collect();
        let mut recorded = Vec::new();
        let value = rosenbrock::tape_gradient(&at, &mut recorded);
        let r = compiled.run(&at).unwrap();
        assert_eq!(r.value().to_bits(), value.to_bits(), "shift {shift}");
        let bits = |g: &[f64]| g.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(r.grad()), bits(&recorded), "shift {shift}");
    }
}
