//! Random tapes under random inputs, edge values among them (±0, ±1, huge, tiny, subnormal, NaN,
//! ±∞): recording and the reverse sweep never panic, a compiled tape never panics and gives what
//! recording afresh gives — the values, each output's gradient and a vector–Jacobian product — bit
//! for bit (any NaN equal to any NaN), and `backward_checked` is `Ok` only when the output, its
//! gradient and every adjoint are finite, and names a node whose adjoint ends non-finite when it
//! reports one.
//!
//! Two kinds of tapes: the random expressions of `tapegrad::check::Expr`, which use every
//! operation, and random programs of this file made of the shapes the compiler fuses — squares,
//! squared differences (written with `powi(2)` or as products, their bases computed before other
//! nodes or right before them), neurons, accumulating sums, sums of three, sums and differences
//! with a scaled operand, a batch's repeated blocks —
//! among plain operations, since the fused instructions restate the sweep's updates and their
//! edge cases (a zero adjoint, a NaN partial) most need checking.
//!
//! `cargo test` runs a modest number of cases; `PROPTEST_CASES` raises it.

mod common;

use proptest::prelude::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tapegrad::check::Expr;
use tapegrad::{Error, OpKind, Tape, Var};

/// Cases per property when `PROPTEST_CASES` is not set.
const CASES: u32 = 256;

/// Equal bit for bit, any NaN equal to any NaN: Rust leaves the sign and payload of a NaN result
/// unspecified, so two evaluations of one formula agree on "NaN" but not always on which.
fn same(a: &[f64], b: &[f64]) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|(x, y)| x.to_bits() == y.to_bits() || (x.is_nan() && y.is_nan()))
}

/// The weights of the vector–Jacobian products, one per output.
const VJP_WEIGHTS: [f64; 3] = [1.0, -0.5, 2.0];

/// What a fresh recording at `at` gives: the values of the outputs, the gradient of each, and the
/// gradient of their sum weighted by [`VJP_WEIGHTS`].
fn record<F>(build: &F, at: &[f64]) -> (Vec<f64>, Vec<Vec<f64>>, Vec<f64>)
where
    F: for<'t> Fn(&'t Tape, &[Var<'t>]) -> Vec<Var<'t>>,
{
    let tape = Tape::new();
    let xs = tape.vars(at);
    let outs = build(&tape, &xs);
    let values = outs.iter().map(|o| o.value()).collect();
    let grads = outs.iter().map(|o| o.backward().wrt_all(&xs)).collect();
    let vjp = tape.vjp(&outs, &VJP_WEIGHTS[..outs.len()]).wrt_all(&xs);
    (values, grads, vjp)
}

/// Records `build` at `base`, compiles it, and replays it at `base` and at `at`, checking each
/// against a fresh recording there; then checks `backward_checked` at `at`.
fn check_tape<F>(build: F, base: &[f64], at: &[f64]) -> Result<(), TestCaseError>
where
    F: for<'t> Fn(&'t Tape, &[Var<'t>]) -> Vec<Var<'t>>,
{
    let tape = Tape::new();
    let xs = tape.vars(base);
    let outs = build(&tape, &xs);
    match tape.compile(&xs, &outs) {
        Ok(mut compiled) => {
            for point in [base, at] {
                let (values, grads, vjp) = record(&build, point);
                let forward = compiled
                    .forward(point)
                    .expect("no comparisons were recorded");
                prop_assert!(same(forward, &values), "forward values at {point:?}");
                let weights = &VJP_WEIGHTS[..values.len()];
                let r = compiled.vjp(point, weights).expect("no comparisons");
                prop_assert!(
                    same(r.grad(), &vjp),
                    "vector-Jacobian product at {point:?}: replay {:?}, recording {vjp:?}",
                    r.grad()
                );
                let r = compiled.run(point).expect("no comparisons were recorded");
                prop_assert!(
                    same(r.values(), &values),
                    "values at {point:?}: replay {:?}, recording {values:?}",
                    r.values()
                );
                for (k, g) in grads.iter().enumerate() {
                    prop_assert!(
                        same(r.grad_of(k), g),
                        "gradient of output {k} at {point:?}: replay {:?}, recording {g:?}",
                        r.grad_of(k)
                    );
                }
            }
        }
        // A custom operation recorded with numbers cannot replay; nothing else may fail.
        Err(Error::ReplayCustomOp { .. }) => {}
        Err(e) => prop_assert!(false, "compile failed: {e}"),
    }

    let tape = Tape::new();
    let xs = tape.vars(at);
    let outs = build(&tape, &xs);
    let y = outs[0];
    let swept = y.backward();
    match y.backward_checked() {
        Ok(g) => {
            prop_assert!(y.value().is_finite(), "Ok with the value {}", y.value());
            let grad = g.wrt_all(&xs);
            prop_assert!(
                grad.iter().all(|d| d.is_finite()),
                "Ok with the gradient {grad:?}"
            );
            prop_assert!(same(&grad, &swept.wrt_all(&xs)));
            let adjoints = swept.adjoints();
            prop_assert!(
                adjoints.iter().all(|a| a.is_finite()),
                "Ok with the adjoints {adjoints:?}"
            );
        }
        Err(Error::NonFiniteValue { .. }) => {}
        // An adjoint, once infinite or NaN, stays so: the sweep only adds to it (a constant's
        // is set to 0 at the end).
        Err(Error::NonFiniteAdjoint { node, op, .. }) => {
            let a = swept.adjoints()[node.index()];
            prop_assert!(
                op == OpKind::Const || !a.is_finite(),
                "node {node} ({}) was reported with a non-finite adjoint, which ends as {a}",
                op.name()
            );
        }
        Err(e) => prop_assert!(false, "backward_checked failed with {e}"),
    }
    Ok(())
}

/// A value for an input: an edge value, a small ordinary number, or any `f64` at all.
fn value() -> impl Strategy<Value = f64> {
    prop_oneof![
        3 => prop::sample::select(vec![
            0.0,
            -0.0,
            1.0,
            -1.0,
            1e300,
            -1e300,
            1e-300,
            -1e-300,
            f64::MIN_POSITIVE,
            5e-324,
            f64::MAX,
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
        ]),
        4 => -3.0..3.0f64,
        1 => any::<f64>(),
    ]
}

/// `n` inputs at which to record (ordinary numbers) and `n` at which to replay: each drawn by
/// [`value`], or all ordinary but one edge value, so that long programs are not all NaN.
fn points(n: usize) -> impl Strategy<Value = (Vec<f64>, Vec<f64>)> {
    let ordinary = || prop::collection::vec(-2.0..2.0f64, n);
    let one_edge = (ordinary(), 0..n, value()).prop_map(|(mut at, k, v)| {
        at[k] = v;
        at
    });
    let at = prop_oneof![prop::collection::vec(value(), n), one_edge, ordinary()];
    (ordinary(), at)
}

/// A random program over `xs` made of the shapes the compiler fuses, among plain operations,
/// drawn from `seed` (so that every recording of one seed records the same operations). Its
/// outputs: the last value, the running sum, and one value drawn from the rest.
fn fusable<'t>(tape: &'t Tape, xs: &[Var<'t>], seed: u64, steps: usize) -> Vec<Var<'t>> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut slots: Vec<Var<'t>> = xs.to_vec();
    let mut acc: Option<Var<'t>> = None;
    // Half the time one of the three latest values, which builds depth, else any.
    let pick = |rng: &mut StdRng, slots: &[Var<'t>]| {
        let len = slots.len();
        if rng.gen_bool(0.5) {
            slots[len - 1 - rng.gen_range(0..len.min(3))]
        } else {
            slots[rng.gen_range(0..len)]
        }
    };
    let constant = |rng: &mut StdRng| (rng.gen_range(-3.0..3.0f64) * 4.0).round() / 4.0;
    let maybe_scaled = |rng: &mut StdRng, y: Var<'t>| {
        if rng.gen_bool(0.5) {
            constant(rng) * y
        } else {
            y
        }
    };
    for _ in 0..steps {
        let a = pick(&mut rng, &slots);
        let b = pick(&mut rng, &slots);
        let y = match rng.gen_range(0..18) {
            0 => a.powi(2),
            1 => maybe_scaled(&mut rng, (a - b).powi(2)),
            2 => {
                let c = constant(&mut rng);
                maybe_scaled(&mut rng, (a + c).powi(2))
            }
            3 => {
                let c = constant(&mut rng);
                maybe_scaled(&mut rng, (c - a).powi(2))
            }
            4 => maybe_scaled(&mut rng, (a - b.powi(2)).powi(2)),
            5 => neuron(&mut rng, tape, xs, &slots),
            6 => {
                // A product or a scaled term: a running sum of scaled terms stays a chain.
                let t = if rng.gen_bool(0.5) {
                    a * b
                } else {
                    constant(&mut rng) * b
                };
                let sum = match (acc, rng.gen_range(0..3)) {
                    (None, _) => t,
                    (Some(f), 0) => f + t,
                    (Some(f), 1) => f + (t + b),
                    (Some(f), _) => f + t + b,
                };
                acc = Some(sum);
                sum
            }
            7 => {
                let n = rng.gen_range(1..5);
                let terms: Vec<_> = (0..n).map(|_| pick(&mut rng, &slots)).collect();
                tape.sum(&terms)
            }
            8 => batch(&mut rng, tape, xs),
            9 => a * b,
            10 => a / b,
            11 => match rng.gen_range(0..4) {
                0 => a.exp(),
                1 => a.ln(),
                2 => a.sqrt(),
                _ => a.sin(),
            },
            12 => match rng.gen_range(0..3) {
                0 => a.max(b),
                1 => a.abs(),
                _ => a.softplus(),
            },
            // A square written as a product, of a value or of a difference.
            13 => {
                let d = if rng.gen_bool(0.5) { a } else { a - b };
                maybe_scaled(&mut rng, d * d)
            }
            // A square's base, then nodes that may read the base's operands (or the base
            // itself), then the square, of either form: the compiler moves the base to the
            // square only where that keeps the sweep's order of terms.
            14 => {
                let d = match rng.gen_range(0..3) {
                    0 => a - b,
                    1 => a + constant(&mut rng),
                    _ => constant(&mut rng) - a,
                };
                // Up to fifteen nodes between, past the twelve the compiler looks back.
                for _ in 0..rng.gen_range(1..=15) {
                    let c = pick(&mut rng, &slots);
                    let between = match rng.gen_range(0..5) {
                        0 => 1.0 - c,
                        1 => c * a,
                        2 => c.sin(),
                        3 => c * c,
                        _ => d * c,
                    };
                    slots.push(between);
                }
                let square = if rng.gen_bool(0.5) { d * d } else { d.powi(2) };
                maybe_scaled(&mut rng, square)
            }
            // Rosenbrock's term written with products: `b - a²` and `1 - a` both come before
            // either square.
            15 => {
                let t = b - a * a;
                let u = 1.0 - a;
                maybe_scaled(&mut rng, t * t) + u * u
            }
            // A sum or difference with a scaled operand on either side, as `x + h * f` records.
            16 => {
                let p = constant(&mut rng) * b;
                match rng.gen_range(0..4) {
                    0 => a + p,
                    1 => p + a,
                    2 => a - p,
                    _ => p - a,
                }
            }
            _ => match rng.gen_range(0..3) {
                0 => a.tanh(),
                1 => a.sigmoid(),
                _ => a.relu(),
            },
        };
        slots.push(y);
    }
    let last = *slots.last().expect("at least the inputs");
    let other = slots[rng.gen_range(0..slots.len())];
    vec![last, acc.unwrap_or(last), other]
}

/// `act(w · p + b)` with the weights a run of inputs, the partners constants or recent values,
/// the bias an input on either side, and the activation tanh, sigmoid, relu or none.
fn neuron<'t>(rng: &mut StdRng, tape: &'t Tape, xs: &[Var<'t>], slots: &[Var<'t>]) -> Var<'t> {
    let k = rng.gen_range(1..=xs.len().min(3));
    let at = rng.gen_range(0..=xs.len() - k);
    let w = &xs[at..at + k];
    let sum = if rng.gen_bool(0.5) {
        let p: Vec<f64> = (0..k).map(|_| rng.gen_range(-1.0..1.0)).collect();
        tape.dot(w, &p)
    } else {
        tape.dot(w, &slots[slots.len() - k..])
    };
    let b = xs[rng.gen_range(0..xs.len())];
    let z = if rng.gen_bool(0.5) { sum + b } else { b + sum };
    activate(rng.gen_range(0..4), z)
}

fn activate(act: usize, z: Var<'_>) -> Var<'_> {
    match act {
        0 => z.tanh(),
        1 => z.sigmoid(),
        2 => z.relu(),
        _ => z,
    }
}

/// The mean squared error of a small network over a batch of points, its parameters inputs
/// laid out as a network lays them out (each neuron's weights, then its bias): repeated blocks,
/// one per point, whose neurons each read their own weights (lanes, layers of four or more,
/// a loss's head).
fn batch<'t>(rng: &mut StdRng, tape: &'t Tape, xs: &[Var<'t>]) -> Var<'t> {
    let fan_in = if xs.len() < 6 { 1 } else { 2 };
    // Each hidden neuron takes `fan_in + 1` parameters and the output neuron one more each.
    let fits = (xs.len() - 1) / (fan_in + 2);
    let hidden = rng.gen_range(1..=fits.clamp(1, 5));
    let (act, out_act) = (rng.gen_range(0..4), rng.gen_range(0..4));
    let points = rng.gen_range(2..6);
    let data: Vec<(Vec<f64>, f64)> = (0..points)
        .map(|_| {
            let x = (0..fan_in).map(|_| rng.gen_range(-1.0..1.0)).collect();
            (x, rng.gen_range(-1.0..1.0))
        })
        .collect();
    let (layer, out) = xs.split_at(hidden * (fan_in + 1));
    let terms: Vec<_> = data
        .iter()
        .map(|(x, target)| {
            let h: Vec<_> = layer
                .chunks_exact(fan_in + 1)
                .map(|p| activate(act, tape.dot(&p[..fan_in], x.as_slice()) + p[fan_in]))
                .collect();
            let y = activate(out_act, tape.dot(&out[..hidden], &h) + out[hidden]);
            (y - *target).powi(2)
        })
        .collect();
    tape.sum(&terms) * (1.0 / points as f64)
}

proptest! {
    #![proptest_config(common::proptest_config(CASES))]

    #[test]
    fn random_expressions_replay_like_recording_and_never_panic(
        seed in any::<u64>(),
        (inputs, ops) in (1usize..=4, 1usize..=24),
        (base, at) in points(4),
    ) {
        let expr = Expr::from_seed(seed, inputs, ops);
        check_tape(|_, xs| vec![expr.build(xs)], &base[..inputs], &at[..inputs])?;
    }

    #[test]
    fn fusable_programs_replay_like_recording_and_never_panic(
        seed in any::<u64>(),
        steps in 1usize..=24,
        (base, at) in (4usize..=24).prop_flat_map(points),
    ) {
        check_tape(|tape, xs| fusable(tape, xs, seed, steps), &base, &at)?;
    }
}
