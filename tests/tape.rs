//! Tape behaviour: identities of the reverse sweep, node counts, reuse, and the messages of every
//! misuse (asserted verbatim).

use proptest::prelude::*;
use rand::SeedableRng;
use rand::rngs::StdRng;
use tapegrad::check::Expr;
use tapegrad::{Error, OpKind, Scalar, Tape, Var};

mod common;
use common::{panic_message, proptest_config};

/// Two random expressions over the same three inputs, and inputs in their range.
fn two_exprs(seed: u64) -> (Expr, Expr, Vec<f64>) {
    let mut rng = StdRng::seed_from_u64(seed);
    let f = Expr::random(&mut rng, 3, 20);
    let g = Expr::random(&mut rng, 3, 20);
    let at = f.sample_inputs(&mut rng);
    (f, g, at)
}

fn assert_close(a: &[f64], b: &[f64]) {
    for (x, y) in a.iter().zip(b) {
        assert!(
            (x - y).abs() <= 1e-12 * x.abs().max(y.abs()).max(1.0),
            "{a:?} != {b:?}"
        );
    }
}

fn bits<T: Scalar>(xs: &[T]) -> Vec<u64> {
    xs.iter().map(|x| x.to_f64().to_bits()).collect()
}

// -------------------------------------------------------------------------------- identities

proptest! {
    #![proptest_config(proptest_config(32))]

    #[test]
    fn gradient_of_a_sum_is_the_sum_of_gradients(seed in any::<u64>()) {
        let (f, g, at) = two_exprs(seed);
        let tape = Tape::new();
        let xs = tape.vars(&at);
        let (a, b) = (f.build(&xs), g.build(&xs));
        let da = a.backward().wrt_all(&xs);
        let db = b.backward().wrt_all(&xs);
        let separate: Vec<f64> = da.iter().zip(&db).map(|(x, y)| x + y).collect();

        let via_vjp = tape.vjp(&[a, b], &[1.0, 1.0]).wrt_all(&xs);
        let via_add = (a + b).backward().wrt_all(&xs);
        // One sweep seeded at both outputs is the sweep through `a + b`, step for step.
        prop_assert_eq!(bits(&via_vjp), bits(&via_add));
        // Separate sweeps add the same terms in another order.
        assert_close(&via_add, &separate);
    }

    #[test]
    fn weighted_vjp_is_the_weighted_sum_of_gradients(seed in any::<u64>(), w in -3.0..3.0f64) {
        let (f, g, at) = two_exprs(seed);
        let tape = Tape::new();
        let xs = tape.vars(&at);
        let (a, b) = (f.build(&xs), g.build(&xs));
        let da = a.backward().wrt_all(&xs);
        let db = b.backward().wrt_all(&xs);
        let expected: Vec<f64> = da.iter().zip(&db).map(|(x, y)| w * x - y).collect();
        assert_close(&tape.vjp(&[a, b], &[w, -1.0]).wrt_all(&xs), &expected);
    }

    #[test]
    fn backward_twice_gives_bit_identical_gradients(seed in any::<u64>()) {
        let (f, _, at) = two_exprs(seed);
        let tape = Tape::new();
        let xs = tape.vars(&at);
        let y = f.build(&xs);
        let first = y.backward();
        let second = y.backward();
        prop_assert_eq!(bits(first.adjoints()), bits(second.adjoints()));
        prop_assert_eq!(bits(&first.wrt_all(&xs)), bits(&y.backward_checked().unwrap().wrt_all(&xs)));
    }

    #[test]
    fn several_outputs_of_one_tape_match_separate_tapes(seed in any::<u64>()) {
        let (f, g, at) = two_exprs(seed);
        let shared = Tape::new();
        let xs = shared.vars(&at);
        let (a, b) = (f.build(&xs), g.build(&xs));
        let grads = [a.backward().wrt_all(&xs), b.backward().wrt_all(&xs)];
        for (expr, on_shared) in [(&f, &grads[0]), (&g, &grads[1])] {
            let alone = Tape::new();
            let ys = alone.vars(&at);
            let alone_grad = expr.build(&ys).backward().wrt_all(&ys);
            prop_assert_eq!(bits(&alone_grad), bits(on_shared));
        }
        let j = shared.jacobian(&[a, b], &xs);
        prop_assert_eq!(bits(j.row(0)), bits(&grads[0]));
        prop_assert_eq!(bits(j.row(1)), bits(&grads[1]));
    }
}

#[test]
fn gradient_wrt_an_unused_input_is_exactly_zero() {
    let tape = Tape::<f64>::new();
    let x = tape.var(2.0);
    let unused = tape.var(7.0);
    let y = (x * x).sin() / x;
    let g = y.backward();
    assert_eq!(g[unused].to_bits(), 0.0f64.to_bits());
    assert_eq!(g.wrt(unused).to_bits(), 0.0f64.to_bits());
}

#[test]
fn gradient_wrt_vars_recorded_after_the_output_is_exactly_zero() {
    let tape = Tape::<f64>::new();
    let x = tape.var(2.0);
    let y = x.exp();
    let later = tape.var(3.0);
    let uses_y = y * later;
    let g = y.backward();
    assert_eq!(g[later].to_bits(), 0.0f64.to_bits());
    assert_eq!(g.wrt(uses_y).to_bits(), 0.0f64.to_bits());
    assert_eq!(g[x], 2f64.exp());
}

#[test]
fn a_path_that_cancels_gives_zero_not_garbage() {
    // y = x - x: the two paths cancel exactly
    let tape = Tape::new();
    let x = tape.var(3.0);
    assert_eq!((x - x).backward()[x], 0.0);
}

#[test]
fn jacobian_matches_the_closed_form() {
    // f(r, t, z) = (r cos t, r sin t, z r)
    // J = [[cos t, -r sin t, 0], [sin t, r cos t, 0], [z, 0, r]]
    let (r0, t0, z0) = (2.0f64, 0.6f64, -1.5f64);
    let tape = Tape::new();
    let (r, t, z) = (tape.var(r0), tape.var(t0), tape.var(z0));
    let j = tape.jacobian(&[r * t.cos(), r * t.sin(), z * r], &[r, t, z]);
    assert_eq!((j.rows(), j.cols()), (3, 3));
    let expected = [
        t0.cos(),
        -r0 * t0.sin(),
        0.0,
        t0.sin(),
        r0 * t0.cos(),
        0.0,
        z0,
        0.0,
        r0,
    ];
    assert_close(j.as_slice(), &expected);
    assert_eq!(j[(2, 0)], z0);
}

#[test]
fn backward_after_a_jacobian_gives_the_same_gradients() {
    // The Jacobian's adjoint buffer goes back to the thread's pool; a later backward that takes
    // it must start from zeros, not from the Jacobian's last sweep.
    let tape = Tape::new();
    let x = tape.var(0.5);
    let y = tape.var(2.0);
    let z = x * y + x.sin();
    let before = z.backward().wrt_all(&[x, y]);
    let _ = tape.jacobian(&[z, x.exp() * y, y.ln() * x], &[x, y]);
    assert_eq!(z.backward().wrt_all(&[x, y]), before);
    let _ = tape.jacobian(&[z, x.exp() * y], &[x, y]);
    assert_eq!(tape.vjp(&[z], &[1.0]).wrt_all(&[x, y]), before);
}

#[test]
fn jacobian_of_no_outputs_is_empty() {
    let tape = Tape::new();
    let x = tape.var(1.0);
    let j = tape.jacobian(&[], &[x]);
    assert_eq!((j.rows(), j.cols(), j.as_slice().len()), (0, 1, 0));
}

#[test]
fn jacobian_index_out_of_range_panics_with_the_shape() {
    let tape = Tape::new();
    let x = tape.var(1.0);
    let j = tape.jacobian(&[x.sin()], &[x]);
    assert_eq!(
        panic_message(|| {
            let _ = j[(1, 0)];
        }),
        "jacobian index (1, 0) out of range for 1 outputs and 1 inputs"
    );
}

// --------------------------------------------------------------------------- length and reuse

#[test]
fn len_counts_one_node_per_operation() {
    let tape = Tape::new();
    assert_eq!(tape.len(), 0);
    let xs = tape.vars(&[1.0, 2.0, 3.0]);
    assert_eq!(tape.len(), 3);
    let c = tape.constant(4.0);
    let _ = xs[0] + xs[1];
    let _ = 2.0 * xs[0];
    let _ = xs[0].sin();
    let _ = xs[0].detach();
    assert_eq!(tape.len(), 8, "leaves, a constant, +, * c, sin, detach");
    // n-ary operations are one node whatever n
    let _ = tape.sum(&xs);
    let _ = tape.dot(&xs, &xs);
    let _ = tape.dot(&xs, &[1.0, 2.0, 3.0]);
    let _ = tape.custom(1.0, &[(xs[0], 1.0), (c, 0.0)]);
    assert_eq!(tape.len(), 12);
    // compound assignment records one node; backward records none
    let mut y = xs[0];
    y += xs[1];
    assert_eq!(tape.len(), 13);
    let _ = y.backward();
    assert_eq!(tape.len(), 13);
}

#[test]
fn kind_names_the_operation_recorded() {
    let tape = Tape::new();
    let x = tape.var(2.0);
    let kinds = [
        tape.kind(x),
        tape.kind(x.detach()),
        tape.kind(x - 1.0),
        tape.kind(1.0 - x),
        tape.kind(1.0 / x),
        tape.kind(tape.dot(&[x], &[1.0])),
    ];
    assert_eq!(
        kinds,
        [
            OpKind::Var,
            OpKind::Const,
            OpKind::AddConst,
            OpKind::RSubConst,
            OpKind::RDivConst,
            OpKind::DotConst
        ]
    );
}

#[test]
fn clear_empties_the_tape_and_it_records_again() {
    let mut tape = Tape::new();
    let first = {
        let x = tape.var(2.0);
        let y = x * x * x;
        y.backward()[x]
    };
    assert_eq!(tape.len(), 3);
    tape.clear();
    assert!(tape.is_empty());
    let x = tape.var(2.0);
    assert_eq!(x.id().index(), 0);
    let y = x * x * x;
    assert_eq!(y.backward()[x], first);
    assert_eq!(tape.len(), 3);
}

// ----------------------------------------------------------------------------- misuse panics

const MIXED: &str = "; build all inputs on one tape";

/// One test per operation: combining `x` (of tape `a`) with `y` (of another tape) panics with a
/// message naming the operation.
macro_rules! mixed_tape_cases {
    ($($name:ident: $op:literal => |$a:ident, $x:ident, $y:ident| $body:block)*) => {$(
        #[test]
        fn $name() {
            let ($a, other) = (Tape::new(), Tape::new());
            let ($x, $y) = ($a.var(1.0), other.var(2.0));
            assert_eq!(
                panic_message(|| $body),
                format!("Var from another Tape passed to '{}'{MIXED}", $op)
            );
        }
    )*};
}

mixed_tape_cases! {
    mixed_tapes_panic_with_message_for_add: "+" => |_a, x, y| {
        let _ = x + y;
    }
    mixed_tapes_panic_with_message_for_mul_assign: "*=" => |_a, x, y| {
        let mut z = x;
        z *= y;
    }
    mixed_tapes_panic_with_message_for_max: "max" => |_a, x, y| {
        let _ = x.max(y);
    }
    mixed_tapes_panic_with_message_for_pow: "pow" => |_a, x, y| {
        let _ = x.pow(y);
    }
    mixed_tapes_panic_with_message_for_sum: "sum" => |a, x, y| {
        let _ = a.sum(&[x, y]);
    }
    mixed_tapes_panic_with_message_for_dot: "dot" => |a, x, y| {
        let _ = a.dot(&[x], &[y]);
    }
    // a Var of another tape among the plain-number form's inputs
    mixed_tapes_panic_with_message_for_dot_with_numbers: "dot" => |a, _x, y| {
        let _ = a.dot(&[y], &[1.0]);
    }
}

#[test]
fn dot_of_unequal_lengths_panics_with_both_lengths() {
    let tape = Tape::new();
    let x = tape.vars(&[1.0, 2.0]);
    let y = tape.vars(&[1.0]);
    assert_eq!(
        panic_message(|| {
            let _ = tape.dot(&x, &y);
        }),
        "dot: got 2 inputs and 1 weights; pass slices of equal length"
    );
}

#[test]
fn vjp_of_unequal_lengths_panics_with_both_lengths() {
    let tape = Tape::new();
    let x = tape.var(1.0);
    assert_eq!(
        panic_message(|| {
            let _ = tape.vjp(&[x, x], &[1.0]);
        }),
        "vjp: got 2 outputs and 1 weights; pass slices of equal length"
    );
}

const FOREIGN: &str = ": Var from another Tape, or recorded after Tape::clear; \
                       read gradients with Vars of the recording that computed them";

#[test]
fn reading_gradients_with_a_var_of_another_tape_panics() {
    let (a, b) = (Tape::new(), Tape::new());
    let x = a.var(1.0);
    let other = b.var(1.0);
    let g = x.exp().backward();
    assert_eq!(
        panic_message(|| {
            let _ = g.wrt(other);
        }),
        format!("Gradients::wrt{FOREIGN}")
    );
    assert_eq!(
        panic_message(|| {
            let _ = g[other];
        }),
        format!("Gradients[Var]{FOREIGN}")
    );
}

#[test]
fn reading_gradients_after_clear_panics() {
    let mut tape = Tape::new();
    let g = {
        let x = tape.var(1.0);
        x.exp().backward()
    };
    tape.clear();
    let x = tape.var(1.0);
    assert_eq!(
        panic_message(|| {
            let _ = g.wrt(x);
        }),
        format!("Gradients::wrt{FOREIGN}")
    );
    assert_eq!(
        panic_message(|| {
            let _ = g[x];
        }),
        format!("Gradients[Var]{FOREIGN}")
    );
}

// -------------------------------------------------------------------------- checked backward

#[test]
fn backward_checked_reports_the_first_non_finite_value() {
    let tape = Tape::new();
    let x = tape.var(-1.0);
    let ln = x.ln();
    let y = ln * 2.0 + 1.0;
    let err = y.backward_checked().unwrap_err();
    assert!(
        matches!(err, Error::NonFiniteValue { node, op: OpKind::Ln, value }
            if node == ln.id() && value.is_nan()),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "value of node #1 (ln) is NaN; it is the first non-finite value the output depends on"
    );
}

#[test]
fn backward_checked_reports_an_infinite_value() {
    let tape = Tape::new();
    let x = tape.var(0.0);
    let y = (x.recip() + 1.0).tanh();
    assert_eq!(
        y.backward_checked().unwrap_err().to_string(),
        "value of node #1 (recip) is inf; it is the first non-finite value the output depends on"
    );
}

#[test]
fn backward_checked_reports_the_first_non_finite_adjoint() {
    // sqrt'(0) = inf: the adjoint of x becomes inf through the sqrt node
    let tape = Tape::new();
    let x = tape.var(0.0);
    let sqrt = x.sqrt();
    let y = sqrt * 3.0;
    let err = y.backward_checked().unwrap_err();
    assert_eq!(
        err,
        Error::NonFiniteAdjoint {
            node: x.id(),
            op: OpKind::Var,
            adjoint: f64::INFINITY,
            via: sqrt.id(),
            via_op: OpKind::Sqrt,
            partial: f64::INFINITY,
        }
    );
    assert_eq!(
        err.to_string(),
        "adjoint of node #0 (var) became inf through node #1 (sqrt), whose partial is inf"
    );
}

#[test]
fn backward_checked_succeeds_where_everything_is_finite() {
    let tape = Tape::new();
    let x = tape.var(4.0);
    let g = x.sqrt().ln().backward_checked().unwrap();
    // d/dx ln √x = 1/(2x)
    assert_eq!(g[x], 0.125);
}

// ------------------------------------------------------------------------ f32 with f64's code

/// One function, compiled for both scalars: `(x y + sin x) / (1 + y²)`.
fn model<'t, T: Scalar>(x: Var<'t, T>, y: Var<'t, T>) -> Var<'t, T> {
    (x * y + x.sin()) / (y * y + T::one())
}

fn model_grad<T: Scalar>(x: T, y: T) -> (T, T) {
    let tape = Tape::<T>::new();
    let (vx, vy) = (tape.var(x), tape.var(y));
    let g = model(vx, vy).backward();
    (g[vx], g[vy])
}

#[test]
fn f32_tapes_run_the_same_code_as_f64() {
    let (x, y) = (0.8, -1.3);
    let (dx64, dy64) = model_grad::<f64>(x, y);
    let (dx32, dy32) = model_grad::<f32>(x as f32, y as f32);
    // df/dx = (y + cos x)/(1 + y²);   df/dy = (x(1 + y²) - 2y(x y + sin x))/(1 + y²)²
    let d = 1.0 + y * y;
    let dx = (y + x.cos()) / d;
    let dy = (x * d - 2.0 * y * (x * y + x.sin())) / (d * d);
    assert!((dx64 - dx).abs() < 1e-14 && (dy64 - dy).abs() < 1e-14);
    assert!((f64::from(dx32) - dx).abs() < 1e-6 && (f64::from(dy32) - dy).abs() < 1e-6);
}

#[test]
fn f32_tapes_give_the_same_identities() {
    let mut tape = Tape::<f32>::new();
    let x = tape.var(0.5);
    let unused = tape.var(1.0);
    let y = (x * 3.0).tanh() * x;
    let (g1, g2) = (y.backward(), y.backward());
    assert_eq!(bits(g1.adjoints()), bits(g2.adjoints()));
    assert_eq!(g1[unused], 0.0);
    tape.clear();
    let x = tape.var(-4.0f32);
    assert_eq!(
        x.sqrt().backward_checked().unwrap_err().to_string(),
        "value of node #1 (sqrt) is NaN; it is the first non-finite value the output depends on"
    );
}
