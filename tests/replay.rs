//! Replaying a compiled tape gives what recording afresh gives, to the last bit: per operation,
//! for random expressions with branches, and for training a small network.

mod common;

use common::bits;

use proptest::prelude::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tapegrad::{Comparison, Error, OpKind, Tape, Var};

/// Records `f` at `at`, then returns the output values and the gradient of each output with
/// respect to every input, read from a fresh recording.
fn record<F>(f: &F, at: &[f64]) -> (Vec<f64>, Vec<Vec<f64>>)
where
    F: for<'t> Fn(&'t Tape, &[Var<'t>]) -> Vec<Var<'t>>,
{
    let tape = Tape::new();
    let xs = tape.vars(at);
    let outs = f(&tape, &xs);
    let values = outs.iter().map(|o| o.value()).collect();
    let grads = outs.iter().map(|o| o.backward().wrt_all(&xs)).collect();
    (values, grads)
}

/// Records `f` at `recorded`, compiles it, replays it at each of `replayed` and checks every
/// value and gradient against a fresh recording there, bit for bit.
fn assert_replay_matches<F>(f: F, recorded: &[f64], replayed: &[&[f64]])
where
    F: for<'t> Fn(&'t Tape, &[Var<'t>]) -> Vec<Var<'t>>,
{
    let tape = Tape::new();
    let xs = tape.vars(recorded);
    let outs = f(&tape, &xs);
    let mut compiled = tape.compile(&xs, &outs).expect("compiles");
    for &at in replayed.iter().chain([&recorded]) {
        let (values, grads) = record(&f, at);
        let r = compiled.run(at).expect("replays");
        assert_eq!(bits(r.values()), bits(&values), "values at {at:?}");
        for (k, g) in grads.iter().enumerate() {
            assert_eq!(
                bits(r.grad_of(k)),
                bits(g),
                "gradient of output {k} at {at:?}"
            );
        }
    }
}

macro_rules! unary_cases {
    ($($name:ident: |$x:ident| $body:expr, $rec:expr, [$($at:expr),*];)*) => {
        $(
            #[test]
            fn $name() {
                assert_replay_matches(
                    |_, v| {
                        let $x = v[0];
                        vec![$body]
                    },
                    &[$rec],
                    &[$(&[$at]),*],
                );
            }
        )*
    };
}

unary_cases! {
    exp_replays_like_recording: |x| x.exp(), 0.5, [-1.3, 2.0];
    ln_replays_like_recording: |x| x.ln(), 0.5, [3.0, 1e-3];
    sqrt_replays_like_recording: |x| x.sqrt(), 4.0, [2.0, 0.3];
    powi_replays_like_recording: |x| x.powi(3) + x.powi(2) + x.powi(-2) + x.powi(0) + x.powi(1), 1.5, [-0.7, 2.5];
    powf_replays_like_recording: |x| x.powf(1.7), 1.5, [0.2, 3.0];
    sin_replays_like_recording: |x| x.sin(), 0.5, [2.0, -4.0];
    cos_replays_like_recording: |x| x.cos(), 0.5, [2.0, -4.0];
    tan_replays_like_recording: |x| x.tan(), 0.5, [1.2, -0.3];
    tanh_replays_like_recording: |x| x.tanh(), 0.5, [-2.0, 7.0];
    sigmoid_replays_like_recording: |x| x.sigmoid(), 0.5, [-30.0, 4.0];
    softplus_replays_like_recording: |x| x.softplus(), 0.5, [-30.0, 800.0];
    recip_replays_like_recording: |x| x.recip(), 0.5, [-3.0, 1e-8];
    neg_replays_like_recording: |x| -x, 0.5, [-3.0];
    constants_on_either_side_replay_like_recording:
        |x| (x + 2.5) * (x - 1.25) * (3.0 - x) * (x * 0.3) * (x / 7.0) * (2.0 / x) * (2.0 * x), 0.5, [-1.5, 4.0];
    relu_takes_the_branch_of_the_new_input: |x| x.relu(), 1.0, [-1.0, 0.0, 2.0];
    leaky_relu_takes_the_branch_of_the_new_input: |x| x.leaky_relu(0.1), 1.0, [-1.0, 0.0, 2.0];
    abs_takes_the_branch_of_the_new_input: |x| x.abs(), 1.0, [-1.0, 0.0, -0.0, 2.0];
}

macro_rules! binary_cases {
    ($($name:ident: |$x:ident, $y:ident| $body:expr, $rec:expr, [$($at:expr),*];)*) => {
        $(
            #[test]
            fn $name() {
                assert_replay_matches(
                    |_, v| {
                        let ($x, $y) = (v[0], v[1]);
                        vec![$body]
                    },
                    &$rec,
                    &[$(&$at),*],
                );
            }
        )*
    };
}

binary_cases! {
    add_replays_like_recording: |x, y| x + y, [0.5, 2.0], [[-1.0, 3.0]];
    sub_replays_like_recording: |x, y| x - y, [0.5, 2.0], [[-1.0, 3.0]];
    mul_replays_like_recording: |x, y| x * y, [0.5, 2.0], [[-1.0, 3.0]];
    div_replays_like_recording: |x, y| x / y, [0.5, 2.0], [[-1.0, 3.0], [1.0, 0.0]];
    pow_replays_like_recording: |x, y| x.pow(y), [0.5, 2.0], [[3.0, -1.5], [0.0, 2.0]];
    max_takes_the_branch_of_the_new_inputs: |x, y| x.max(y), [0.5, 2.0], [[3.0, -1.0], [1.0, 1.0]];
    min_takes_the_branch_of_the_new_inputs: |x, y| x.min(y), [0.5, 2.0], [[3.0, -1.0], [1.0, 1.0]];
    compound_assignments_replay_like_recording: |x, y| {
        let mut z = x;
        z += y;
        z *= x;
        z -= y;
        z /= y;
        z += 1.0;
        z -= 2.0;
        z *= 3.0;
        z /= 4.0;
        z
    }, [0.5, 2.0], [[-1.0, 3.0]];
}

#[test]
fn sum_and_both_dot_forms_replay_like_recording() {
    assert_replay_matches(
        |tape, v| {
            let (a, b) = v.split_at(3);
            vec![
                tape.sum(v),
                tape.sum(&[a[0], a[0], b[2]]),
                tape.dot(a, b),
                tape.dot(a, &[0.5, -2.0, 3.0]),
                tape.dot(&[a[1], a[1]], &[b[0], a[1]]),
                tape.sum(&[]),
            ]
        },
        &[0.1, 0.2, 0.3, 0.4, 0.5, 0.6],
        &[&[1.0, -2.0, 3.5, 0.25, -1.0, 8.0]],
    );
}

#[test]
fn leaves_that_are_not_inputs_keep_their_recorded_values() {
    let tape = Tape::new();
    let x = tape.var(1.0);
    let w = tape.var(3.0); // a parameter left out of the inputs
    let c = tape.constant(10.0);
    let d = (x * 2.0).detach();
    let y = x * w + c + d;
    let mut f = tape.compile(&[x], &[y]).unwrap();
    let r = f.run(&[5.0]).unwrap();
    // y = x·3 + 10 + (recorded 2·1 = 2)
    assert_eq!(r.value(), 5.0 * 3.0 + 10.0 + 2.0);
    assert_eq!(r.grad(), &[3.0]);
}

#[test]
fn a_constant_bound_as_an_input_takes_the_new_value_and_gets_no_gradient() {
    let tape = Tape::new();
    let w = tape.var(2.0);
    let data = tape.constant(1.0);
    let y = w * data;
    let mut f = tape.compile(&[w, data], &[y]).unwrap();
    let r = f.run(&[2.0, 4.0]).unwrap();
    assert_eq!(r.value(), 8.0);
    assert_eq!(r.grad(), &[4.0, 0.0]);
}

#[test]
fn an_input_the_outputs_do_not_depend_on_gets_gradient_zero() {
    let tape = Tape::new();
    let x = tape.var(1.0);
    let y = x.exp();
    let later = tape.var(2.0);
    let mut f = tape.compile(&[x, later], &[y]).unwrap();
    assert_eq!(f.run(&[0.0, 7.0]).unwrap().grad(), &[1.0, 0.0]);
}

#[test]
fn several_outputs_replay_like_the_jacobian_and_vjp() {
    let tape = Tape::new();
    let x = tape.vars(&[0.3, -1.2]);
    let outs = [x[0] * x[1], x[0].sin() + x[1], x[1].tanh()];
    let mut f = tape.compile(&x, &outs).unwrap();

    let fresh = Tape::new();
    let y = fresh.vars(&[2.0, 0.7]);
    let fresh_outs = [y[0] * y[1], y[0].sin() + y[1], y[1].tanh()];
    let jacobian = fresh.jacobian(&fresh_outs, &y);
    let vjp = fresh.vjp(&fresh_outs, &[1.0, -2.0, 0.5]);

    let r = f.run(&[2.0, 0.7]).unwrap();
    for k in 0..3 {
        assert_eq!(bits(r.grad_of(k)), bits(jacobian.row(k)));
    }
    let r = f.vjp(&[2.0, 0.7], &[1.0, -2.0, 0.5]).unwrap();
    assert_eq!(bits(r.grad()), bits(&vjp.wrt_all(&y)));
    assert_eq!(
        bits(f.forward(&[2.0, 0.7]).unwrap()),
        bits(&[1.4, 2f64.sin() + 0.7, 0.7f64.tanh()])
    );
}

#[test]
fn an_f32_tape_replays_like_recording() {
    fn build(tape: &Tape<f32>, x: f32) -> (Var<'_, f32>, Var<'_, f32>) {
        let v = tape.var(x);
        (v * v.sin() + v.exp() * 0.5f32, v)
    }
    let tape = Tape::<f32>::new();
    let (y, x) = build(&tape, 0.5);
    let mut f = tape.compile(&[x], &[y]).unwrap();
    let fresh = Tape::<f32>::new();
    let (y2, x2) = build(&fresh, -1.5);
    let r = f.run(&[-1.5]).unwrap();
    assert_eq!(r.value().to_bits(), y2.value().to_bits());
    assert_eq!(r.grad()[0].to_bits(), y2.backward()[x2].to_bits());
}

/// `|x|` written with a branch, the way user code does it.
fn branchy_abs<'t>(x: Var<'t>) -> Var<'t> {
    if x.lt(0.0) { -x } else { x }
}

#[test]
fn replay_follows_a_branch_while_its_comparison_holds() {
    let tape = Tape::new();
    let x = tape.var(-2.0);
    let y = branchy_abs(x) * 3.0;
    let mut f = tape.compile(&[x], &[y]).unwrap();
    let r = f.run(&[-5.0]).unwrap();
    assert_eq!((r.value(), r.grad()[0]), (15.0, -3.0));
}

#[test]
fn a_branch_that_changes_is_reported_with_the_comparison_and_both_outcomes() {
    let tape = Tape::new();
    let x = tape.var(-2.0);
    let y = branchy_abs(x) * 3.0;
    let mut f = tape.compile(&[x], &[y]).unwrap();
    let err = f.run(&[4.0]).unwrap_err();
    let Error::BranchChanged {
        node,
        comparison,
        lhs,
        rhs,
        recorded,
    } = err.clone()
    else {
        panic!("expected BranchChanged, got {err:?}");
    };
    assert_eq!(
        (node.index(), comparison, lhs, rhs, recorded),
        (1, Comparison::Lt, 4.0, 0.0, true)
    );
    assert_eq!(
        err.to_string(),
        "comparison #1 `4 < 0` is now false but was recorded true; the new inputs take another \
         branch, so the tape must be recorded again"
    );
    // The compiled tape stays usable for inputs on the recorded branch.
    assert_eq!(f.run(&[-1.0]).unwrap().value(), 3.0);
}

#[test]
fn a_comparison_of_two_vars_is_checked_on_replay() {
    let tape = Tape::new();
    let x = tape.var(1.0);
    let y = tape.var(2.0);
    let z = if x.ge(y) { x } else { y * y };
    let mut f = tape.compile(&[x, y], &[z]).unwrap();
    assert_eq!(f.run(&[0.0, 3.0]).unwrap().grad(), &[0.0, 6.0]);
    assert_eq!(
        f.run(&[3.0, 3.0]).unwrap_err().to_string(),
        "comparison #2 `3 >= 3` is now true but was recorded false; the new inputs take another \
         branch, so the tape must be recorded again"
    );
}

#[test]
fn a_custom_op_the_output_depends_on_cannot_be_compiled() {
    let tape = Tape::new();
    let x = tape.var(1.0);
    let c = tape.custom(5.0, &[(x, 2.0)]);
    let y = c * x;
    let err = tape.compile(&[x], &[y]).unwrap_err();
    assert_eq!(err, Error::ReplayCustomOp { node: c.id() });
    assert_eq!(
        err.to_string(),
        "node #1 is a custom operation recorded with numbers (Tape::custom), whose value and \
         partials replay cannot recompute; record it with its rule (Tape::custom_rule), write it \
         with built-in operations, or record the tape for each input"
    );
}

#[test]
fn a_dot_of_consecutive_nodes_replays_like_recording_even_when_its_halves_overlap() {
    assert_replay_matches(
        |tape, v| {
            let ys: Vec<_> = v.iter().map(|x| x.tanh()).collect();
            vec![
                // Weights first, as a neuron has them: consecutive leaves.
                tape.dot(&v[..3], &ys[..3]),
                // Both halves consecutive and overlapping: x₂ and x₃ are also y₁ and y₂.
                tape.dot(&v[..3], &v[1..]),
                // The same node on both sides.
                tape.dot(&v[1..3], &v[1..3]),
                // Overlapping, after x₂ and x₃ already received adjoints: three terms each, so
                // the order in which the dot passes them on shows in the last bits.
                tape.dot(&v[..3], &v[1..]) * 1.1 + v[1].sin() * 0.3 + v[2].exp() * 0.7,
            ]
        },
        &[0.5, -1.0, 2.0, 0.25],
        &[&[3.0, 0.5, -2.0, 1.0], &[-0.1, 0.2, 0.3, -0.4]],
    );
}

/// `c₀ x₀² + sin(x₀ x₁)`, a rule with a constant and two inputs.
fn a_rule(x: &[f64], c: &[f64], d: &mut [f64]) -> f64 {
    let (s, co) = (x[0] * x[1]).sin_cos();
    d[0] = 2.0 * c[0] * x[0] + co * x[1];
    d[1] = co * x[0];
    c[0] * x[0] * x[0] + s
}

#[test]
fn a_custom_rule_replays_like_recording() {
    assert_replay_matches(
        |tape, v| {
            let y = tape.custom_rule(a_rule, &[v[0].tanh(), v[1]], &[1.5]);
            vec![y * v[0], y]
        },
        &[0.3, -0.7],
        &[&[2.0, 0.25], &[-1.0, 4.0]],
    );
}

/// `c₀ · x₀`, a second rule, so that running the wrong one shows.
fn a_scaling_rule(x: &[f64], c: &[f64], d: &mut [f64]) -> f64 {
    d[0] = c[0];
    c[0] * x[0]
}

#[test]
fn custom_rules_run_in_order_again_after_a_pass_stopped_between_them() {
    // Records `rule₁(x) · [x < 1] + rule₂(x)`, with a guard between the two custom nodes. A run
    // where the guard fails stops after the first; the next run must still pick each node's
    // own rule.
    fn record(tape: &Tape, x: f64) -> (Var<'_>, Var<'_>) {
        let v = tape.var(x);
        let first = tape.custom_rule(a_scaling_rule, &[v], &[3.0]);
        let below = v.lt(1.0);
        let second = tape.custom_rule(a_rule, &[v, first], &[0.5]);
        let y = if below { first + second } else { second };
        (v, y)
    }
    let tape = Tape::new();
    let (v, y) = record(&tape, 0.25);
    let mut compiled = tape.compile(&[v], &[y]).unwrap();
    assert!(matches!(
        compiled.run(&[2.0]),
        Err(Error::BranchChanged { .. })
    ));
    for x in [0.5, -0.75] {
        let fresh = Tape::new();
        let (v, y) = record(&fresh, x);
        let r = compiled.run(&[x]).unwrap();
        assert_eq!(r.value().to_bits(), y.value().to_bits(), "at {x}");
        assert_eq!(r.grad()[0].to_bits(), y.backward()[v].to_bits(), "at {x}");
    }
}

#[test]
fn every_loss_replays_like_recording() {
    use tapegrad::loss;
    assert_replay_matches(
        |tape, v| {
            let p = [v[0] * v[1], v[1].sin(), v[0] + v[2]];
            let probabilities = [v[0].sigmoid(), v[2].sigmoid()];
            vec![
                loss::mse(&p, &[1.0, -0.5, 0.25]),
                loss::mae(&p, &[1.0, -0.5, 0.25]),
                loss::binary_cross_entropy(&probabilities, &[1.0, 0.0]),
                loss::binary_cross_entropy_with_logits(&p[..2], &[0.0, 1.0]),
                loss::hinge(&p, &[1.0, -1.0, 1.0]),
                loss::l2_penalty(&p, 0.1),
                loss::log_sum_exp(&p),
                loss::softmax_cross_entropy(&p, 2),
                tape.sum(&p),
            ]
        },
        &[0.5, -1.0, 2.0],
        &[&[3.0, 0.5, -2.0], &[-0.1, 0.2, 0.3], &[40.0, -30.0, 1e3]],
    );
}

#[test]
fn fused_nodes_between_rules_and_several_outputs_replay_like_recording() {
    use tapegrad::loss;
    // Neurons and squared differences fuse, which renumbers every later node: the losses' rules,
    // the outputs and the operands after them must follow.
    assert_replay_matches(
        |tape, v| {
            let h1 = (tape.dot(&v[..2], &[0.5, -1.5]) + v[2]).tanh();
            let h2 = (v[3] + tape.dot(&v[..2], &v[2..4])).relu();
            let e = (h1 - 0.25).powi(2) + (v[0] - h2).powi(2);
            let l = loss::mse(&[h1, h2, e], &[0.1, 0.2, 0.3]);
            let out = (tape.dot(&[h1, h2], &[l, e]) + v[0]).sigmoid();
            vec![out, l, e, (1.0 - out).powi(2)]
        },
        &[0.5, -1.0, 2.0, 0.3],
        &[
            &[3.0, 0.5, -2.0, 1.0],
            &[-0.1, 0.2, 0.3, -0.4],
            &[0.0, 0.0, 0.0, 0.0],
        ],
    );
}

#[test]
fn a_fused_neuron_whose_activation_passes_nothing_on_passes_nothing_to_its_inputs() {
    // relu at a negative sum has partial zero: the sweep stops there, and the infinite input
    // never meets that zero (which would make NaN weight gradients). Each fused neuron must stop
    // too: weights times constants, weights times values, and lists that are not runs.
    assert_replay_matches(
        |tape, v| {
            let konst = (tape.dot(&v[..2], &[f64::INFINITY, 1.0]) + v[2]).relu();
            let values = (tape.dot(&v[..2], &v[2..4]) + v[4]).relu();
            let scattered = (tape.dot(&[v[1], v[0]], &[v[3], v[2]]) + v[4]).relu();
            vec![konst, values, scattered, konst + values + scattered]
        },
        &[-1.0, 0.5, 0.0, f64::INFINITY, 1.0],
        &[
            &[-2.0, 0.25, 1.0, f64::INFINITY, -3.0],
            &[-1.0, 0.5, 0.0, f64::NEG_INFINITY, 1.0],
        ],
    );
}

#[test]
fn a_fused_square_with_a_zero_adjoint_passes_nothing_on_from_an_infinite_base() {
    // Each square times the constant 0 has a zero adjoint, and the sweep stops there; at an
    // infinite or NaN input its term, 2u · 0, is NaN, which must not reach the inputs: their
    // gradients come from the products alone. One square of each fused kind.
    assert_replay_matches(
        |_, v| {
            // Each square with its factor right after it, as a fused square records them.
            let square = |k| match k {
                0 => (v[0] - 1.0).powi(2),
                1 => (1.0 - v[0]).powi(2),
                2 => (v[0] - v[1]).powi(2),
                _ => (v[1] - v[0].powi(2)).powi(2),
            };
            (0..4).map(|k| square(k) * 0.0 + v[0] * v[1]).collect()
        },
        &[2.0, 3.0],
        &[
            &[f64::INFINITY, 1.0],
            &[f64::NEG_INFINITY, 0.5],
            &[1.0, f64::INFINITY],
            &[f64::NAN, 2.0],
        ],
    );
}

#[test]
fn a_cleared_tape_forgets_its_rules() {
    let mut tape = Tape::new();
    let x = tape.var(1.0);
    let _ = tape.custom_rule(a_rule, &[x, x], &[1.0]);
    tape.clear();
    // The same node index now holds a custom operation without a rule: it must not replay with
    // the rule of the node it replaced.
    let x = tape.var(1.0);
    let c = tape.custom(5.0, &[(x, 2.0)]);
    assert_eq!(
        tape.compile(&[x], &[c]).unwrap_err(),
        Error::ReplayCustomOp { node: c.id() }
    );
}

#[test]
#[should_panic(expected = "Var from another Tape passed to 'custom_rule'")]
fn a_custom_rule_on_a_var_of_another_tape_panics() {
    let (a, b) = (Tape::new(), Tape::new());
    let x = a.var(1.0);
    let _ = b.custom_rule(a_rule, &[x, x], &[1.0]);
}

#[test]
fn a_custom_op_nothing_depends_on_does_not_stop_compiling() {
    let tape = Tape::new();
    let x = tape.var(1.0);
    let _unused = tape.custom(5.0, &[(x, 2.0)]);
    let y = x * x;
    let mut f = tape.compile(&[x], &[y]).unwrap();
    assert_eq!(f.run(&[3.0]).unwrap().grad(), &[6.0]);
}

#[test]
fn each_call_with_the_wrong_number_of_inputs_errs_naming_both_counts() {
    let tape = Tape::new();
    let x = tape.vars(&[1.0, 2.0]);
    let d = tape.constant(3.0);
    let y = x[0] * x[1] * d;
    let mut f = tape.compile_with_data(&x, &[d], &[y, x[0]]).unwrap();
    let message = |call: &str, got: usize| {
        format!(
            "{call}: got {got} input values for 2 compiled inputs; pass one value per input, \
             in the order given to Tape::compile"
        )
    };
    assert_eq!(
        f.run(&[1.0]).unwrap_err(),
        Error::ReplayInputCount {
            call: "run",
            expected: 2,
            actual: 1
        }
    );
    assert_eq!(f.run(&[1.0]).unwrap_err().to_string(), message("run", 1));
    assert_eq!(
        f.forward(&[1.0, 2.0, 3.0]).unwrap_err().to_string(),
        message("forward", 3)
    );
    assert_eq!(
        f.vjp(&[], &[1.0, 1.0]).unwrap_err().to_string(),
        message("vjp", 0)
    );
    assert_eq!(
        f.run_with_data(&[1.0], &[3.0]).unwrap_err().to_string(),
        message("run_with_data", 1)
    );
    // A failed call leaves the compiled tape as it was.
    assert_eq!(f.run(&[2.0, 5.0]).unwrap().values(), &[30.0, 2.0]);
}

#[test]
fn a_vjp_with_the_wrong_number_of_weights_errs_naming_both_counts() {
    let tape = Tape::new();
    let x = tape.var(1.0);
    let mut f = tape.compile(&[x], &[x * 2.0, x * 3.0]).unwrap();
    let err = f.vjp(&[1.0], &[1.0]).unwrap_err();
    assert_eq!(
        err,
        Error::ReplayWeightCount {
            expected: 2,
            actual: 1
        }
    );
    assert_eq!(
        err.to_string(),
        "vjp: got 1 weights for 2 outputs; pass one weight per output"
    );
}

#[test]
fn an_intermediate_as_input_errs_naming_its_position_and_node() {
    let tape = Tape::new();
    let x = tape.var(1.0);
    let c = tape.constant(2.0);
    let s = x.sin();
    let err = tape.compile(&[x, s], &[s * 2.0]).unwrap_err();
    assert_eq!(
        err,
        Error::ReplayNotLeaf {
            list: "input",
            position: 1,
            node: s.id(),
            op: OpKind::Sin
        }
    );
    assert_eq!(
        err.to_string(),
        "compile: input 1 (node #2) is a sin node, not a leaf; pass the Vars returned by tape.var \
         or tape.constant"
    );
    let err = tape.compile_with_data(&[x], &[c, s], &[s * c]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "compile: data 1 (node #2) is a sin node, not a leaf; pass the Vars returned by tape.var \
         or tape.constant"
    );
}

#[test]
fn a_leaf_given_twice_errs_naming_both_positions() {
    let tape = Tape::new();
    let x = tape.var(1.0);
    let y = tape.var(2.0);
    let err = tape.compile(&[y, x, y, x], &[x * y]).unwrap_err();
    assert_eq!(
        err,
        Error::ReplayLeafTwice {
            list: "input",
            position: 2,
            first_list: "input",
            first_position: 0,
            node: y.id()
        }
    );
    assert_eq!(
        err.to_string(),
        "compile: input 2 is input 0 again (node #1); pass each leaf once"
    );
}

#[test]
fn no_outputs_err() {
    let tape = Tape::new();
    let x = tape.var(1.0);
    let err = tape.compile(&[x], &[]).unwrap_err();
    assert_eq!(err, Error::ReplayNoOutputs);
    assert_eq!(
        err.to_string(),
        "compile: no outputs; pass at least one Var to differentiate"
    );
}

#[test]
#[should_panic(
    expected = "Var from another Tape passed to 'compile'; build all inputs on one tape"
)]
fn vars_of_another_tape_panic() {
    let tape = Tape::new();
    let other = Tape::new();
    let x = tape.var(1.0);
    let y = other.var(1.0);
    let _ = tape.compile(&[x], &[y]);
}

#[test]
fn the_compiled_tape_outlives_a_cleared_recording() {
    let mut tape = Tape::new();
    let mut f = {
        let x = tape.var(1.0);
        tape.compile(&[x], &[x.sin()]).unwrap()
    };
    tape.clear();
    let _ = tape.var(9.0).exp();
    assert_eq!(f.run(&[2.0]).unwrap().grad(), &[2f64.cos()]);
}

// ---------------------------------------------------------------------------------------------
// Random expressions with branches.

/// One step of a random expression; operand indices are taken modulo the nodes built so far.
#[derive(Debug, Clone)]
enum Op {
    Unary(u8, usize, f64),
    Binary(u8, usize, usize),
    Sum(Vec<usize>),
    Dot(Vec<(usize, usize)>),
    DotConst(Vec<(usize, f64)>),
    /// `if a < b { a * b } else { a - b }`, through a recorded comparison.
    Branch(usize, usize),
    /// `if a > c { a.relu() } else { a * c }`.
    BranchConst(usize, f64),
    /// One of the library's losses (a custom node with a rule) over some nodes.
    Loss(u8, Vec<usize>),
    /// A neuron, `act(dot + bias)` or `act(bias + dot)`, which replay may fuse into one
    /// instruction: the pairs of a dot of two node lists (or of nodes and constants), the bias,
    /// whether the bias comes first, and the activation (tanh, sigmoid, relu, exp, none). The sum
    /// and the sum-plus-bias become nodes later steps may read, which stops the fusion.
    Neuron(Vec<(usize, usize, f64)>, bool, usize, bool, u8),
    /// `(x + c)²`, `(c - x)²`, `(x - y)²` or `(x - y²)²`, times `c` if the flag says so, which
    /// replay may fuse into one instruction; the difference, `y²` and the square become nodes
    /// later steps may read, which stops the fusion.
    Squared(u8, usize, usize, f64, bool),
    /// `x + (y + z)` if the flag says so, else `(x + y) + z`, which replay may fuse into one
    /// instruction; the inner sum becomes a node later steps may read, which stops the fusion.
    Sum3(usize, usize, usize, bool),
    /// `f = start; f = f + t; f = f + (t + u); f = (f + t) + u; …` as a loop accumulates, which
    /// replay may run as one instruction: each step's kind, its terms (a fresh product of two
    /// nodes, or a node as it is, which other steps may read too) and whether later steps may
    /// read the running sum, which stops the fusion there.
    Accumulate(usize, Vec<Step>),
}

/// A step of [`Op::Accumulate`]: its kind, its two terms (nodes `a` and `b`, and whether the term
/// is their fresh product `a * b` or `a` as it is), and whether later steps may read the sum.
type Step = (u8, [(usize, usize, bool); 2], bool);

fn op() -> impl Strategy<Value = Op> {
    let i = 0usize..64;
    let c = -2.0f64..2.0;
    prop_oneof![
        4 => (0u8..22, i.clone(), c.clone()).prop_map(|(k, a, c)| Op::Unary(k, a, c)),
        4 => (0u8..7, i.clone(), i.clone()).prop_map(|(k, a, b)| Op::Binary(k, a, b)),
        1 => prop::collection::vec(i.clone(), 0..5).prop_map(Op::Sum),
        1 => prop::collection::vec((i.clone(), i.clone()), 1..5).prop_map(Op::Dot),
        1 => prop::collection::vec((i.clone(), c.clone()), 1..5).prop_map(Op::DotConst),
        1 => (i.clone(), i.clone()).prop_map(|(a, b)| Op::Branch(a, b)),
        1 => (i.clone(), c.clone()).prop_map(|(a, c)| Op::BranchConst(a, c)),
        1 => (0u8..6, prop::collection::vec(i.clone(), 1..5)).prop_map(|(k, xs)| Op::Loss(k, xs)),
        2 => (
            prop::collection::vec((i.clone(), i.clone(), c.clone()), 1..5),
            any::<bool>(),
            i.clone(),
            any::<bool>(),
            0u8..5,
        )
            .prop_map(|(pairs, consts, b, first, act)| Op::Neuron(pairs, consts, b, first, act)),
        2 => (0u8..4, i.clone(), i.clone(), c, any::<bool>())
            .prop_map(|(k, a, b, c, scaled)| Op::Squared(k, a, b, c, scaled)),
        1 => (i.clone(), i.clone(), i.clone(), any::<bool>())
            .prop_map(|(a, b, c, right)| Op::Sum3(a, b, c, right)),
        2 => (
            i.clone(),
            prop::collection::vec(
                (0u8..3, [(i.clone(), i.clone(), any::<bool>()), (i.clone(), i, any::<bool>())], prop::bool::weighted(0.2)),
                1..6,
            ),
        )
            .prop_map(|(start, steps)| Op::Accumulate(start, steps)),
    ]
}

/// Builds the expression on `inputs` (plus a parameter and a constant that are not inputs) and
/// returns two outputs and the outcome of every comparison, in order.
fn build<'t>(tape: &'t Tape, inputs: &[Var<'t>], ops: &[Op]) -> (Vec<Var<'t>>, Vec<bool>) {
    let mut nodes: Vec<Var<'t>> = inputs.to_vec();
    nodes.push(tape.var(0.7));
    nodes.push(tape.constant(-1.3));
    let mut outcomes = Vec::new();
    for op in ops {
        let at = |i: usize| nodes[i % nodes.len()];
        let v = match op {
            Op::Unary(k, a, c) => {
                let (x, c) = (at(*a), *c);
                match k {
                    0 => x.exp(),
                    1 => x.ln(),
                    2 => x.sqrt(),
                    3 => x.powi((c * 2.0) as i32),
                    4 => x.powf(c),
                    5 => x.sin(),
                    6 => x.cos(),
                    7 => x.tan(),
                    8 => x.tanh(),
                    9 => x.sigmoid(),
                    10 => x.relu(),
                    11 => x.leaky_relu(c),
                    12 => x.softplus(),
                    13 => x.abs(),
                    14 => x.recip(),
                    15 => -x,
                    16 => x + c,
                    17 => x - c,
                    18 => c - x,
                    19 => x * c,
                    20 => x / c,
                    _ => c / x,
                }
            }
            Op::Binary(k, a, b) => {
                let (x, y) = (at(*a), at(*b));
                match k {
                    0 => x + y,
                    1 => x - y,
                    2 => x * y,
                    3 => x / y,
                    4 => x.pow(y),
                    5 => x.max(y),
                    _ => x.min(y),
                }
            }
            Op::Sum(xs) => tape.sum(&xs.iter().map(|&i| at(i)).collect::<Vec<_>>()),
            Op::Dot(pairs) => {
                let xs: Vec<_> = pairs.iter().map(|&(a, _)| at(a)).collect();
                let ys: Vec<_> = pairs.iter().map(|&(_, b)| at(b)).collect();
                tape.dot(&xs, &ys)
            }
            Op::DotConst(pairs) => {
                let xs: Vec<_> = pairs.iter().map(|&(a, _)| at(a)).collect();
                let cs: Vec<_> = pairs.iter().map(|&(_, c)| c).collect();
                tape.dot(&xs, &cs)
            }
            Op::Branch(a, b) => {
                let (x, y) = (at(*a), at(*b));
                let outcome = x.lt(y);
                outcomes.push(outcome);
                if outcome { x * y } else { x - y }
            }
            Op::BranchConst(a, c) => {
                let x = at(*a);
                let outcome = x.gt(*c);
                outcomes.push(outcome);
                if outcome { x.relu() } else { x * *c }
            }
            Op::Loss(k, xs) => {
                use tapegrad::loss;
                let xs: Vec<_> = xs.iter().map(|&i| at(i)).collect();
                let targets: Vec<f64> = (0..xs.len()).map(|j| 0.5 - j as f64 * 0.25).collect();
                let labels: Vec<f64> = (0..xs.len()).map(|j| [1.0, -1.0][j % 2]).collect();
                match k {
                    0 => loss::mse(&xs, &targets),
                    1 => loss::mae(&xs, &targets),
                    2 => loss::binary_cross_entropy_with_logits(&xs, &targets),
                    3 => loss::hinge(&xs, &labels),
                    4 => loss::log_sum_exp(&xs),
                    _ => loss::softmax_cross_entropy(&xs, xs.len() - 1),
                }
            }
            Op::Neuron(pairs, consts, bias, first, act) => {
                let xs: Vec<_> = pairs.iter().map(|&(a, _, _)| at(a)).collect();
                let sum = if *consts {
                    tape.dot(&xs, &pairs.iter().map(|&(_, _, c)| c).collect::<Vec<_>>())
                } else {
                    tape.dot(
                        &xs,
                        &pairs.iter().map(|&(_, b, _)| at(b)).collect::<Vec<_>>(),
                    )
                };
                let b = at(*bias);
                let z = if *first { b + sum } else { sum + b };
                nodes.push(sum);
                nodes.push(z);
                match act {
                    0 => z.tanh(),
                    1 => z.sigmoid(),
                    2 => z.relu(),
                    3 => z.exp(),
                    _ => z,
                }
            }
            Op::Squared(k, a, b, c, scaled) => {
                let (x, y) = (at(*a), at(*b));
                let u = match k {
                    0 => x + *c,
                    1 => *c - x,
                    2 => x - y,
                    _ => {
                        let square = y.powi(2);
                        nodes.push(square);
                        x - square
                    }
                };
                nodes.push(u);
                if *scaled {
                    let square = u.powi(2);
                    nodes.push(square);
                    *c * square
                } else {
                    u.powi(2)
                }
            }
            Op::Sum3(a, b, c, right) => {
                let (x, y, z) = (at(*a), at(*b), at(*c));
                let inner = if *right { y + z } else { x + y };
                nodes.push(inner);
                if *right { x + inner } else { inner + z }
            }
            Op::Accumulate(start, steps) => {
                let mut f = at(*start);
                let mut read_later = Vec::new();
                for (kind, terms, read) in steps {
                    let [t, u] =
                        terms.map(|(a, b, fresh)| if fresh { at(a) * at(b) } else { at(a) });
                    f = match kind {
                        0 => f + t,
                        1 => f + (t + u),
                        _ => f + t + u,
                    };
                    if *read {
                        read_later.push(f);
                    }
                }
                nodes.extend(read_later);
                f
            }
        };
        nodes.push(v);
    }
    let last = nodes[nodes.len() - 1];
    let middle = nodes[nodes.len() / 2];
    (vec![last, middle], outcomes)
}

fn new_inputs() -> impl Strategy<Value = Vec<f64>> {
    prop::collection::vec(-2.0f64..2.0, 3)
}

proptest! {
    #[test]
    fn replay_equals_recording_afresh_or_reports_the_changed_branch(
        ops in prop::collection::vec(op(), 1..30),
        recorded in new_inputs(),
        replayed in new_inputs(),
        nearby in any::<bool>(),
    ) {
        // Half the time, replay near the recording so that most branches hold.
        let replayed: Vec<f64> = if nearby {
            recorded.iter().zip(&replayed).map(|(a, d)| a + d * 1e-3).collect()
        } else {
            replayed
        };
        let tape = Tape::new();
        let xs = tape.vars(&recorded);
        let (outs, recorded_outcomes) = build(&tape, &xs, &ops);
        let mut compiled = tape.compile(&xs, &outs).unwrap();

        let fresh = Tape::new();
        let ys = fresh.vars(&replayed);
        let (fresh_outs, fresh_outcomes) = build(&fresh, &ys, &ops);

        match compiled.run(&replayed) {
            Ok(r) => {
                prop_assert_eq!(&recorded_outcomes, &fresh_outcomes);
                let values: Vec<f64> = fresh_outs.iter().map(|o| o.value()).collect();
                prop_assert_eq!(bits(r.values()), bits(&values));
                for (k, o) in fresh_outs.iter().enumerate() {
                    prop_assert_eq!(bits(r.grad_of(k)), bits(&o.backward().wrt_all(&ys)));
                }
                // One output's gradient is read where its sweep leaves it: the same bits, on a
                // second call too.
                let mut single = tape.compile(&xs, &outs[..1]).unwrap();
                let _ = single.run(&recorded);
                let r = single.run(&replayed).unwrap();
                prop_assert_eq!(bits(r.grad()), bits(&fresh_outs[0].backward().wrt_all(&ys)));
            }
            Err(Error::BranchChanged { recorded, .. }) => {
                let first = recorded_outcomes
                    .iter()
                    .zip(&fresh_outcomes)
                    .position(|(a, b)| a != b);
                prop_assert!(first.is_some(), "reported a change, yet every branch held");
                prop_assert_eq!(recorded, recorded_outcomes[first.unwrap()]);
            }
            Err(other) => prop_assert!(false, "unexpected error {}", other),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Training a 2-4-1 network both ways.

const XOR: [([f64; 2], f64); 4] = [
    ([0.0, 0.0], 0.0),
    ([0.0, 1.0], 1.0),
    ([1.0, 0.0], 1.0),
    ([1.0, 1.0], 0.0),
];

/// Parameters: 4×(2 weights + bias) for the hidden layer, then 4 weights + bias for the output.
const PARAMS: usize = 4 * 3 + 5;

/// The squared error of a 2-4-1 tanh/sigmoid network on one point, from core operations.
fn point_loss<'t>(tape: &'t Tape, p: &[Var<'t>], x: &[Var<'t>], y: Var<'t>) -> Var<'t> {
    let hidden: Vec<Var<'t>> = (0..4)
        .map(|j| (tape.dot(&p[3 * j..3 * j + 2], x) + p[3 * j + 2]).tanh())
        .collect();
    let out = (tape.dot(&p[12..16], &hidden) + p[16]).sigmoid();
    (out - y).powi(2)
}

fn initial_params() -> Vec<f64> {
    let mut rng = StdRng::seed_from_u64(7);
    (0..PARAMS).map(|_| rng.gen_range(-1.0..1.0)).collect()
}

#[test]
fn a_network_trains_identically_by_replay_and_by_recording() {
    let lr = 0.5;
    let epochs = 300;

    // Recording afresh at every step.
    let mut recorded = initial_params();
    let mut recorded_losses = Vec::new();
    let mut tape = Tape::new();
    for _ in 0..epochs {
        for (x, y) in XOR {
            tape.clear();
            let p = tape.vars(&recorded);
            let xv = tape.vars(&x);
            let yv = tape.constant(y);
            let loss = point_loss(&tape, &p, &xv, yv);
            let g = loss.backward();
            for (w, v) in recorded.iter_mut().zip(&p) {
                *w -= lr * g[*v];
            }
            recorded_losses.push(loss.value());
        }
    }

    // Recording once, with the data point bound as inputs, and replaying.
    let mut replayed = initial_params();
    let mut replayed_losses = Vec::new();
    let mut compiled = {
        let tape = Tape::new();
        let p = tape.vars(&replayed);
        let xv = tape.vars(&XOR[0].0);
        let yv = tape.constant(XOR[0].1);
        let loss = point_loss(&tape, &p, &xv, yv);
        let inputs: Vec<Var> = p.iter().chain(&xv).copied().chain([yv]).collect();
        tape.compile(&inputs, &[loss]).unwrap()
    };
    let mut bound = vec![0.0; PARAMS + 3];
    for _ in 0..epochs {
        for (x, y) in XOR {
            bound[..PARAMS].copy_from_slice(&replayed);
            bound[PARAMS..].copy_from_slice(&[x[0], x[1], y]);
            let r = compiled.run(&bound).unwrap();
            for (w, g) in replayed.iter_mut().zip(r.grad()) {
                *w -= lr * g;
            }
            replayed_losses.push(r.value());
        }
    }

    assert_eq!(bits(&replayed), bits(&recorded));
    assert_eq!(bits(&replayed_losses), bits(&recorded_losses));
    let last_epoch: f64 = recorded_losses[recorded_losses.len() - 4..].iter().sum();
    assert!(
        last_epoch < 0.1,
        "the network learned XOR: loss {last_epoch}"
    );
}

#[test]
fn data_leaves_are_bound_per_call_and_get_no_gradient_row() {
    let tape = Tape::new();
    let w = tape.vars(&[0.5, -0.5]);
    let x = [tape.constant(1.0), tape.constant(2.0)];
    let y = tape.constant(0.0);
    let loss = (tape.dot(&w, &x) - y).powi(2);
    let mut f = tape
        .compile_with_data(&w, &[x[0], x[1], y], &[loss])
        .unwrap();
    assert_eq!((f.inputs(), f.data_len()), (2, 3));
    // loss = (w·x - y)², d/dwᵢ = 2 (w·x - y) xᵢ
    let r = f.run_with_data(&[1.0, 1.0], &[3.0, 4.0, 5.0]).unwrap();
    assert_eq!(r.value(), 4.0);
    assert_eq!(r.grad(), &[12.0, 16.0]);
    // `run` alone keeps the data last bound.
    assert_eq!(f.run(&[1.0, 1.0]).unwrap().value(), 4.0);
}

#[test]
fn replaying_with_the_wrong_number_of_data_values_errs_and_binds_nothing() {
    let tape = Tape::new();
    let w = tape.var(1.0);
    let d = [tape.constant(1.0), tape.constant(2.0), tape.constant(3.0)];
    let mut f = tape.compile_with_data(&[w], &d, &[w * d[0]]).unwrap();
    let err = f.run_with_data(&[1.0], &[5.0]).unwrap_err();
    assert_eq!(
        err,
        Error::ReplayDataCount {
            expected: 3,
            actual: 1
        }
    );
    assert_eq!(
        err.to_string(),
        "run_with_data: got 1 data values for 3 data leaves; pass one value per data leaf, in \
         the order given to Tape::compile_with_data"
    );
    assert_eq!(f.run(&[1.0]).unwrap().value(), 1.0);
}

#[test]
fn a_leaf_given_as_input_and_as_data_errs_naming_both() {
    let tape = Tape::new();
    let x = tape.var(1.0);
    let c = tape.constant(2.0);
    let err = tape.compile_with_data(&[x], &[c, x], &[x * c]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "compile: data 1 is input 0 again (node #0); pass each leaf once"
    );
}

mod with_nn {
    use rand::SeedableRng;
    use rand::rngs::StdRng;
    use tapegrad::init::Init;
    use tapegrad::nn::{Activation, BoundMlp, Mlp};
    use tapegrad::optim::{Optimizer, Sgd};
    use tapegrad::{Tape, Var};

    use super::{XOR, bits};

    fn xor_mlp() -> Mlp {
        let mut rng = StdRng::seed_from_u64(3);
        let acts = [Activation::Tanh, Activation::Sigmoid];
        Mlp::new(&[2, 4, 1], &acts, &Init::xavier_uniform(), &mut rng).unwrap()
    }

    #[test]
    fn an_mlp_trains_per_point_identically_by_replay_and_by_recording() {
        let epochs = 200;
        let mut recorded = xor_mlp();
        let mut opt = Sgd::new(0.5).unwrap().momentum(0.9).unwrap();
        let mut recorded_losses = Vec::new();
        let mut tape = Tape::new();
        let mut grads = Vec::new();
        for _ in 0..epochs {
            for (x, y) in XOR {
                tape.clear();
                let mut net = recorded.bind(&tape);
                let out = net.forward(&x).unwrap()[0];
                let loss = (out - y).powi(2);
                recorded_losses.push(loss.value());
                net.gradients_into(&loss.backward(), &mut grads);
                opt.step(recorded.parameters_mut(), &grads);
            }
        }

        let mut replayed = xor_mlp();
        let mut opt = Sgd::new(0.5).unwrap().momentum(0.9).unwrap();
        let mut replayed_losses = Vec::new();
        let mut step = replayed
            .compile_loss(&[0.0; 3], |_, net, d| {
                let out = net.forward(&d[..2])?[0];
                Ok((out - d[2]).powi(2))
            })
            .unwrap();
        for _ in 0..epochs {
            for (x, y) in XOR {
                let r = step
                    .run_with_data(replayed.parameters().values(), &[x[0], x[1], y])
                    .unwrap();
                replayed_losses.push(r.value());
                opt.step(replayed.parameters_mut(), r.grad());
            }
        }

        assert_eq!(
            bits(replayed.parameters().values()),
            bits(recorded.parameters().values())
        );
        assert_eq!(bits(&replayed_losses), bits(&recorded_losses));
    }

    #[test]
    fn an_mlp_trains_full_batch_identically_by_replay_and_by_recording() {
        let epochs = 300;
        fn full_batch_loss<'t>(tape: &'t Tape, net: &mut BoundMlp<'t>) -> Var<'t> {
            let mut loss = tape.constant(0.0);
            for (x, y) in XOR {
                loss += (net.forward(&x).unwrap()[0] - y).powi(2);
            }
            loss
        }
        let mut recorded = xor_mlp();
        let mut opt = Sgd::new(0.5).unwrap();
        let mut tape = Tape::new();
        let mut grads = Vec::new();
        let mut recorded_loss = 0.0;
        for _ in 0..epochs {
            tape.clear();
            let mut net = recorded.bind(&tape);
            let loss = full_batch_loss(&tape, &mut net);
            recorded_loss = loss.value();
            net.gradients_into(&loss.backward(), &mut grads);
            opt.step(recorded.parameters_mut(), &grads);
        }

        let mut replayed = xor_mlp();
        let mut opt = Sgd::new(0.5).unwrap();
        let mut step = replayed
            .compile_loss(&[], |tape, net, _| Ok(full_batch_loss(tape, net)))
            .unwrap();
        let mut replayed_loss = 0.0;
        for _ in 0..epochs {
            let r = step.run(replayed.parameters().values()).unwrap();
            replayed_loss = r.value();
            opt.step(replayed.parameters_mut(), r.grad());
        }

        assert_eq!(
            bits(replayed.parameters().values()),
            bits(recorded.parameters().values())
        );
        assert_eq!(bits(&[replayed_loss]), bits(&[recorded_loss]));
        assert!(
            recorded_loss < 0.1,
            "the network learned XOR: loss {recorded_loss}"
        );
    }

    /// The loss of `examples/xor.rs`, `loss::mse`, is a custom operation recorded with its rule:
    /// it compiles, and replaying it trains the network exactly as recording does. Written with
    /// `Var` operations it records the same arithmetic, and replays to the same bits too.
    #[test]
    fn the_xor_examples_mse_replays_bit_for_bit_as_a_loss_and_as_var_operations() {
        let inputs = XOR.map(|(x, _)| x);
        let targets = XOR.map(|(_, y)| y);
        let epochs = 300;

        let mut recorded = xor_mlp();
        let mut opt = Sgd::new(0.5).unwrap();
        let mut tape = Tape::new();
        let mut grads = Vec::new();
        let mut recorded_losses = Vec::new();
        for _ in 0..epochs {
            tape.clear();
            let mut net = recorded.bind(&tape);
            let outputs: [Var; 4] = inputs.map(|x| net.forward(&x).unwrap()[0]);
            let l = tapegrad::loss::mse(&outputs, &targets);
            recorded_losses.push(l.value());
            net.gradients_into(&l.backward(), &mut grads);
            opt.step(recorded.parameters_mut(), &grads);
        }

        fn with_loss<'t>(_: &'t Tape, net: &mut BoundMlp<'t>) -> Var<'t> {
            let outputs: [Var; 4] = XOR.map(|(x, _)| net.forward(&x).unwrap()[0]);
            tapegrad::loss::mse(&outputs, &XOR.map(|(_, y)| y))
        }
        fn with_var_ops<'t>(tape: &'t Tape, net: &mut BoundMlp<'t>) -> Var<'t> {
            let squares: Vec<Var> = XOR
                .iter()
                .map(|(x, y)| (net.forward(x).unwrap()[0] - *y).powi(2))
                .collect();
            tape.sum(&squares) * (1.0 / 4.0)
        }
        for use_loss in [true, false] {
            let mut replayed = xor_mlp();
            let mut opt = Sgd::new(0.5).unwrap();
            let mut step = replayed
                .compile_loss(&[], |tape, net, _| {
                    Ok(if use_loss {
                        with_loss(tape, net)
                    } else {
                        with_var_ops(tape, net)
                    })
                })
                .unwrap();
            let mut replayed_losses = Vec::new();
            for _ in 0..epochs {
                let r = step.run(replayed.parameters().values()).unwrap();
                replayed_losses.push(r.value());
                opt.step(replayed.parameters_mut(), r.grad());
            }

            assert_eq!(bits(&replayed_losses), bits(&recorded_losses), "{use_loss}");
            assert_eq!(
                bits(replayed.parameters().values()),
                bits(recorded.parameters().values()),
                "{use_loss}"
            );
        }
    }
}

#[test]
#[should_panic(expected = "replay: no gradient row 1; this replay has 1")]
fn a_vjp_has_one_gradient_row() {
    let tape = Tape::new();
    let x = tape.var(1.0);
    let mut f = tape.compile(&[x], &[x * 2.0, x * 3.0]).unwrap();
    let r = f.vjp(&[1.0], &[1.0, 1.0]).unwrap();
    let _ = r.grad_of(1);
}

/// `(-p)·x + x·p` with `p` a NaN: the sum of two NaNs of opposite signs. Recording and replay
/// both give NaN; which of the two NaNs is up to the compiler, so only "NaN" is compared.
#[test]
fn nans_of_either_sign_replay_as_nan() {
    fn f<'t>(tape: &'t Tape, xs: &[Var<'t>]) -> Vec<Var<'t>> {
        let p = xs[1].pow(xs[0]);
        let d = tape.dot(&[-p, xs[0]], &[xs[0], p]);
        vec![p, d]
    }
    assert_replay_matches(
        f,
        &[0.0, 0.0],
        &[&[1.5404277706340515, -0.8489589844438777]],
    );
    let tape = Tape::new();
    let xs = tape.vars(&[1.5, -0.8]);
    assert!(f(&tape, &xs).iter().all(|v| v.value().is_nan()));
}

/// A network-like function of three inputs with a guarded branch and three outputs; the output
/// `x₀` itself is a leaf, whose sweep reaches only the leaves.
fn guarded<'t>(tape: &'t Tape, v: &[Var<'t>]) -> Vec<Var<'t>> {
    let h = (tape.dot(&v[..2], &[0.5, -1.5]) + v[2]).tanh();
    let e = if v[2].gt(0.0) {
        (h - 0.25).powi(2)
    } else {
        h * v[0]
    };
    vec![e * v[1] + h, v[0], (v[0] - e).powi(2)]
}

#[test]
fn calls_in_any_order_give_what_a_fresh_compiled_tape_gives() {
    // Each sweep leaves the adjoint buffer as it found it (zero but the leaves'), whatever ran
    // before it: run, vjp, forward, or a call whose branch changed.
    let compile = |at: &[f64]| {
        let tape = Tape::new();
        let xs = tape.vars(at);
        let outs = guarded(&tape, &xs);
        tape.compile(&xs, &outs).unwrap()
    };
    let recorded = [0.5, -1.0, 2.0];
    let mut reused = compile(&recorded);
    let points = [
        [0.3, 0.7, 1.5],
        [-2.0, 0.1, 0.2],
        [1.0, 1.0, -1.0],
        [0.0, 0.0, 3.0],
    ];
    for round in 0..3 {
        for (k, at) in points.iter().enumerate() {
            let mut fresh = compile(&recorded);
            let weights = [1.5, -0.5, 2.0];
            match (round + k) % 3 {
                0 => {
                    let want = fresh
                        .run(at)
                        .map(|r| (r.values().to_vec(), r.grad_of(2).to_vec()));
                    let got = reused
                        .run(at)
                        .map(|r| (r.values().to_vec(), r.grad_of(2).to_vec()));
                    assert_eq!(got.is_ok(), want.is_ok(), "run at {at:?}");
                    if let (Ok(got), Ok(want)) = (got, want) {
                        assert_eq!(got, want, "run at {at:?}");
                    }
                }
                1 => {
                    let want = fresh.vjp(at, &weights).map(|r| r.grad().to_vec());
                    let got = reused.vjp(at, &weights).map(|r| r.grad().to_vec());
                    assert_eq!(got.ok(), want.ok(), "vjp at {at:?}");
                }
                _ => {
                    let want = fresh.forward(at).map(|v| v.to_vec());
                    let got = reused.forward(at).map(|v| v.to_vec());
                    assert_eq!(got.ok(), want.ok(), "forward at {at:?}");
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The same block recorded once per data point, as a training loss over a batch records it.

/// One step of a block, recorded once per point; node indices count the block's own nodes.
#[derive(Debug, Clone)]
enum BlockOp {
    /// A layer of `width` neurons, activation `act` (tanh, sigmoid, relu, none), the bias
    /// first or last, on the point's two inputs (0), its two data constants (1), the
    /// previous layer (2), its own weights shifted by one, the bias among them (3), or the
    /// point's inputs with its first weight as the bias (4). With `shared`, every neuron reads
    /// the first neuron's weights, so one weight is read at several positions of a block.
    Layer {
        width: usize,
        act: u8,
        bias_first: bool,
        source: u8,
        shared: bool,
    },
    /// `(a + c)²`, `(c - a)²`, `(a - b)²` or `(a - b²)²`, times `c` if the flag says so, on the
    /// block's nodes (`b` may also be a parameter).
    Squared(u8, usize, usize, f64, bool),
    /// `exp` of a block node: a kind that repeats do not run.
    Exp(usize),
    /// The product of a block node and a node of the previous point's block (or a parameter,
    /// for the first point): blocks that read each other.
    Across(usize, usize),
}

fn block_op() -> impl Strategy<Value = BlockOp> {
    let i = 0usize..16;
    prop_oneof![
        4 => (1usize..8, 0u8..4, any::<bool>(), 0u8..5, prop::bool::weighted(0.1)).prop_map(
            |(width, act, bias_first, source, shared)| BlockOp::Layer {
                width,
                act,
                bias_first,
                source,
                shared
            }
        ),
        2 => (0u8..4, i.clone(), i.clone(), -2.0f64..2.0, any::<bool>())
            .prop_map(|(k, a, b, c, scaled)| BlockOp::Squared(k, a, b, c, scaled)),
        1 => i.clone().prop_map(BlockOp::Exp),
        1 => (i.clone(), i).prop_map(|(a, b)| BlockOp::Across(a, b)),
    ]
}

/// Records the block on every point — the parameters first, then each point's two inputs —
/// and returns each point's last node, and their sum.
fn record_blocks<'t>(
    tape: &'t Tape,
    vars: &[Var<'t>],
    ops: &[BlockOp],
    points: usize,
) -> Vec<Var<'t>> {
    let (params, inputs) = vars.split_at(vars.len() - 2 * points);
    let mut last: Vec<Var<'t>> = Vec::new();
    let mut outs = Vec::new();
    for p in 0..points {
        let x = &inputs[2 * p..2 * p + 2];
        let data = [0.25 * p as f64 - 0.5, 0.5 - 0.125 * p as f64];
        let mut nodes: Vec<Var<'t>> = x.to_vec();
        let mut layer: Vec<Var<'t>> = x.to_vec();
        let mut used = 0;
        let mut take = |n: usize| {
            let at = used % (params.len() - n);
            used += n;
            &params[at..at + n]
        };
        for op in ops {
            let at = |i: usize| nodes[i % nodes.len()];
            match *op {
                BlockOp::Layer {
                    width,
                    act,
                    bias_first,
                    source,
                    shared,
                } => {
                    let n = if source == 2 { layer.len() } else { 2 };
                    let first = take(n + 1);
                    let next: Vec<Var<'t>> = (0..width)
                        .map(|_| {
                            let w = if shared { first } else { take(n + 1) };
                            let sum = match source {
                                0 | 4 => tape.dot(&w[..n], x),
                                1 => tape.dot(&w[..n], &data),
                                2 => tape.dot(&w[..n], &layer),
                                _ => tape.dot(&w[..n], &w[1..=n]),
                            };
                            let b = if source == 4 { w[0] } else { w[n] };
                            let z = if bias_first { b + sum } else { sum + b };
                            match act {
                                0 => z.tanh(),
                                1 => z.sigmoid(),
                                2 => z.relu(),
                                _ => z,
                            }
                        })
                        .collect();
                    nodes.extend(&next);
                    layer = next;
                }
                BlockOp::Squared(k, a, b, c, scaled) => {
                    let b = if b % 2 == 0 { at(b) } else { take(1)[0] };
                    let u = match k {
                        0 => at(a) + c,
                        1 => c - at(a),
                        2 => at(a) - b,
                        _ => at(a) - b.powi(2),
                    };
                    let sq = u.powi(2);
                    nodes.push(if scaled { sq * c } else { sq });
                }
                BlockOp::Exp(a) => nodes.push((at(a) * 0.1).exp()),
                BlockOp::Across(a, b) => {
                    let other = last
                        .get(b % last.len().max(1))
                        .copied()
                        .unwrap_or(params[0]);
                    nodes.push(at(a) * other);
                }
            }
        }
        outs.push(nodes[nodes.len() - 1]);
        last = nodes;
    }
    let total = tape.sum(&outs);
    outs.push(total);
    outs
}

proptest! {
    #[test]
    fn a_block_recorded_per_point_replays_like_recording(
        ops in prop::collection::vec(block_op(), 1..6),
        points in 1usize..6,
        recorded in prop::collection::vec(-1.0f64..1.0, 58),
        replayed in prop::collection::vec(-1.0f64..1.0, 58),
        weights in prop::collection::vec(-2.0f64..2.0, 7),
    ) {
        // 48 parameters; a layer that needs more takes them again from the start, and a
        // weight read at two positions then stops the repeat.
        let n = 48 + 2 * points;
        let tape = Tape::new();
        let xs = tape.vars(&recorded[..n]);
        let outs = record_blocks(&tape, &xs, &ops, points);
        let mut compiled = tape.compile(&xs, &outs).unwrap();
        // The sum alone, read in place, and each point's output, whose sweep may end inside the
        // stretch of repeated blocks.
        let mut total = tape.compile(&xs, &outs[points..]).unwrap();

        let fresh = Tape::new();
        let ys = fresh.vars(&replayed[..n]);
        let fresh_outs = record_blocks(&fresh, &ys, &ops, points);
        let values: Vec<f64> = fresh_outs.iter().map(|o| o.value()).collect();
        let r = compiled.run(&replayed[..n]).unwrap();
        prop_assert_eq!(bits(r.values()), bits(&values));
        for (k, o) in fresh_outs.iter().enumerate() {
            prop_assert_eq!(bits(r.grad_of(k)), bits(&o.backward().wrt_all(&ys)), "output {}", k);
        }
        let r = total.run(&replayed[..n]).unwrap();
        prop_assert_eq!(bits(r.grad()), bits(&fresh_outs[points].backward().wrt_all(&ys)));
        // One sweep from all the outputs at once.
        let weights = &weights[..fresh_outs.len()];
        let r = compiled.vjp(&replayed[..n], weights).unwrap();
        prop_assert_eq!(bits(r.grad()), bits(&fresh.vjp(&fresh_outs, weights).wrt_all(&ys)));
    }
}

// ---------------------------------------------------------------------------------------------
// A network's mean squared error over a batch, whose last neuron, squared errors and sum the
// passes may run as one head.

/// The squared errors of a 2-`width`-1 network over `points` points, summed, times `1/points` if
/// `mean`. `v` holds the parameters — each hidden neuron's two weights and bias, then the
/// output's `width` weights and bias — then one target per point. The output's activation is
/// `act` (tanh, sigmoid, relu, none) and its error `(o - 0.5)²`, `(0.5 - o)²`, `(o - t)²` or
/// `(o - t²)²` by `kind`, times 0.75 if `scaled`.
#[allow(clippy::too_many_arguments)]
fn batch_loss<'t>(
    tape: &'t Tape,
    v: &[Var<'t>],
    width: usize,
    points: usize,
    act: u8,
    kind: u8,
    scaled: bool,
    mean: bool,
) -> Var<'t> {
    let (p, t) = v.split_at(4 * width + 1);
    let (hidden, out) = p.split_at(3 * width);
    let terms: Vec<Var<'t>> = (0..points)
        .map(|i| {
            let x = [0.5 - 0.25 * i as f64, 0.125 * i as f64 - 0.25];
            let h: Vec<Var<'t>> = hidden
                .chunks(3)
                .map(|w| (tape.dot(&w[..2], &x) + w[2]).tanh())
                .collect();
            let z = tape.dot(&out[..width], &h) + out[width];
            let o = match act {
                0 => z.tanh(),
                1 => z.sigmoid(),
                2 => z.relu(),
                _ => z,
            };
            let u = match kind {
                0 => o - 0.5,
                1 => 0.5 - o,
                2 => o - t[i],
                _ => o - t[i].powi(2),
            };
            if scaled { u.powi(2) * 0.75 } else { u.powi(2) }
        })
        .collect();
    let sum = tape.sum(&terms);
    if mean {
        sum * (1.0 / points as f64)
    } else {
        sum
    }
}

proptest! {
    #[test]
    fn a_batch_mean_squared_error_replays_like_recording(
        width in 1usize..6,
        points in 1usize..6,
        act in 0u8..4,
        kind in 0u8..4,
        scaled in any::<bool>(),
        mean in any::<bool>(),
        recorded in prop::collection::vec(-1.5f64..1.5, 26),
        replayed in prop::collection::vec(-1.5f64..1.5, 26),
    ) {
        let n = 4 * width + 1 + points;
        let tape = Tape::new();
        let xs = tape.vars(&recorded[..n]);
        let loss = batch_loss(&tape, &xs, width, points, act, kind, scaled, mean);
        let mut compiled = tape.compile(&xs, &[loss]).unwrap();
        let fresh = Tape::new();
        let ys = fresh.vars(&replayed[..n]);
        let out = batch_loss(&fresh, &ys, width, points, act, kind, scaled, mean);
        let r = compiled.run(&replayed[..n]).unwrap();
        prop_assert_eq!(bits(r.values()), bits(&[out.value()]));
        prop_assert_eq!(bits(r.grad()), bits(&out.backward().wrt_all(&ys)));
    }
}
