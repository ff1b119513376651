//! Compiling, replaying, explaining and exporting a tape take time linear in its length and
//! stack space independent of it, for every instruction shape the compiler fuses and for plain
//! operations.
//!
//! Each shape is built as long chains and as long runs of consecutive nodes of that shape:
//!
//! - every shape at more than 10^5 nodes goes through `compile`, one replay, `explain`,
//!   `to_dot` and `to_dot_all` on a thread with a 2 MiB stack, the default of test threads, so
//!   a pass that recursed once per node would overflow it;
//! - every shape is timed at `n` and `8n` nodes (the thread's processor time, best of a few runs,
//!   each phase apart): a pass linear in the tape's length takes about the same time per node at
//!   both sizes, a quadratic one eight times as long. The bound allows three times as long, for
//!   caches and a noisy shared machine.

use std::sync::Mutex;
use std::time::Duration;

use tapegrad::{DotOptions, Tape, Var};

/// The stack of a thread `cargo test` spawns for a test.
const TEST_STACK: usize = 2 << 20;

/// Nodes of the long tapes that must not overflow the stack.
const LONG: usize = 100_000;

/// Nodes of the smaller tape of a timing; the larger has eight times as many. Large enough for
/// a quadratic pass to dominate at eight times the size, in the debug profile `cargo test` uses.
const TIMED: usize = 2_500;

/// The most a linear pass may take per node at `8n` over its time per node at `n`.
const MAX_GROWTH: f64 = 3.0;

/// A generous ceiling on the time per node of each phase in the debug profile, against a pass
/// that is slow at every size.
const MAX_PER_NODE: Duration = Duration::from_micros(200);

/// Times below this, at the larger size, are too short to compare: noise, not growth.
const NOISE_FLOOR: Duration = Duration::from_micros(500);

/// Runs of each size a timing takes the best of.
const ROUNDS: usize = 3;

/// Held by each test while it runs, so that the timings do not share the machine with the other
/// test of this file.
static SERIAL: Mutex<()> = Mutex::new(());

/// The processor time this thread has used: unlike the wall clock, it does not count the time
/// the thread waits while other processes run, which on a busy machine would make a longer
/// measurement look slower per node.
#[cfg(all(target_os = "linux", target_pointer_width = "64"))]
fn thread_time() -> Duration {
    #[repr(C)]
    struct Timespec {
        tv_sec: i64,
        tv_nsec: i64,
    }
    unsafe extern "C" {
        fn clock_gettime(clock: i32, time: *mut Timespec) -> i32;
    }
    const CLOCK_THREAD_CPUTIME_ID: i32 = 3;
    let mut t = Timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `clock_gettime` writes one `timespec`, which on 64-bit Linux is two 64-bit
    // integers, into the valid, exclusively borrowed `t`, and reads nothing else.
    let status = unsafe { clock_gettime(CLOCK_THREAD_CPUTIME_ID, &mut t) };
    assert_eq!(status, 0, "clock_gettime(CLOCK_THREAD_CPUTIME_ID) failed");
    Duration::new(t.tv_sec as u64, t.tv_nsec as u32)
}

/// Elsewhere, the wall clock since the first call.
#[cfg(not(all(target_os = "linux", target_pointer_width = "64")))]
fn thread_time() -> Duration {
    static START: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
    START.get_or_init(std::time::Instant::now).elapsed()
}

/// Records a tape of about `n` nodes of one shape and returns its inputs and its output.
type Build = for<'t> fn(&'t Tape, usize) -> (Vec<Var<'t>>, Var<'t>);

/// Inputs away from 0 and 1, different from one another, so that no value repeats by chance.
fn inputs(n: usize) -> Vec<f64> {
    (0..n).map(|i| 0.5 + (i % 97) as f64 / 128.0).collect()
}

/// `Σ xᵢ²` over `tape.sum`: a long run of consecutive squares, as an L2 penalty records.
fn sum_of_squares(tape: &Tape, n: usize) -> (Vec<Var<'_>>, Var<'_>) {
    let x = tape.vars(&inputs(n / 2));
    let squares: Vec<_> = x.iter().map(|w| w.powi(2)).collect();
    (x, tape.sum(&squares))
}

/// `((x²)²)²…`: a chain of squares, each read by the next; `x = -1` keeps every value finite.
fn chain_of_squares(tape: &Tape, n: usize) -> (Vec<Var<'_>>, Var<'_>) {
    let x = tape.var(-1.0);
    let mut y = x;
    for _ in 0..n {
        y = y.powi(2);
    }
    (vec![x], y)
}

/// `Σ (xᵢ - yᵢ)²`: squared differences, a squared error.
fn squared_differences(tape: &Tape, n: usize) -> (Vec<Var<'_>>, Var<'_>) {
    let x = tape.vars(&inputs(n / 2));
    let terms: Vec<_> = x.chunks_exact(2).map(|p| (p[0] - p[1]).powi(2)).collect();
    (x, tape.sum(&terms))
}

/// `Σ 3 (xᵢ + 1.5)² + (2 - xᵢ)²`: squares of a constant shift, scaled and not.
fn constant_shifted_squares(tape: &Tape, n: usize) -> (Vec<Var<'_>>, Var<'_>) {
    let x = tape.vars(&inputs(n / 6));
    let terms: Vec<_> = x
        .iter()
        .flat_map(|&w| [3.0 * (w + 1.5).powi(2), (2.0 - w).powi(2)])
        .collect();
    (x, tape.sum(&terms))
}

/// Rosenbrock's function as `f += 100 (x₁ - x₀²)² + (1 - x₀)²` in a loop: squares of a
/// residual `x - y²`, scaled, sums of three and an accumulating sum.
fn rosenbrock(tape: &Tape, n: usize) -> (Vec<Var<'_>>, Var<'_>) {
    let x = tape.vars(&inputs(n / 8));
    let mut f = x[0] * 0.0;
    for w in x.windows(2) {
        f += 100.0 * (w[1] - w[0].powi(2)).powi(2) + (1.0 - w[0]).powi(2);
    }
    (x, f)
}

/// `y ← (xₖ - y²)²`: fused squares of a residual, each reading the one before.
fn chain_of_residual_squares(tape: &Tape, n: usize) -> (Vec<Var<'_>>, Var<'_>) {
    let x = tape.vars(&inputs(n / 4));
    let mut y = x[0] * 0.5;
    for &xk in &x {
        y = (xk - y.powi(2)).powi(2) * 0.25;
    }
    (x, y)
}

/// A single layer of tanh neurons on one data point, as wide as the tape is long, and the sum of
/// its activations.
fn wide_layer(tape: &Tape, n: usize) -> (Vec<Var<'_>>, Var<'_>) {
    let neurons = n / 6;
    let w = tape.vars(&inputs(3 * neurons));
    let point = [0.25, -0.5];
    let acts: Vec<_> = w
        .chunks_exact(3)
        .map(|p| (tape.dot(&p[..2], &point) + p[2]).tanh())
        .collect();
    (w, tape.sum(&acts))
}

/// A chain of neurons, each reading the one before: sigmoid, relu and no activation in turn, the
/// bias after the sum and before it in turn.
fn deep_neurons(tape: &Tape, n: usize) -> (Vec<Var<'_>>, Var<'_>) {
    let w = tape.vars(&inputs(n / 4 * 2));
    let mut h = tape.var(0.5);
    for (k, p) in w.chunks_exact(2).enumerate() {
        let dot = tape.dot(&p[..1], &[h]);
        let z = if k % 2 == 0 { dot + p[1] } else { p[1] + dot };
        h = match k % 3 {
            0 => z.sigmoid(),
            1 => z.relu(),
            _ => z,
        };
    }
    (w, h)
}

/// The mean squared error of a 2-4-1 tanh network with a sigmoid output over a batch: a repeat
/// of blocks, one per data point, whose layers run as lanes and whose end is a loss's head.
fn network_batch(tape: &Tape, n: usize) -> (Vec<Var<'_>>, Var<'_>) {
    let p = tape.vars(&inputs(17));
    let points = n / 17 + 1;
    let terms: Vec<_> = (0..points)
        .map(|i| {
            let x = [(i % 7) as f64 / 7.0, (i % 5) as f64 / 5.0];
            let hidden: Vec<_> = (0..4)
                .map(|j| (tape.dot(&p[3 * j..3 * j + 2], &x) + p[3 * j + 2]).tanh())
                .collect();
            let out = (tape.dot(&p[12..16], &hidden) + p[16]).sigmoid();
            (out - (i % 2) as f64).powi(2)
        })
        .collect();
    (p.clone(), tape.sum(&terms) * (1.0 / points as f64))
}

/// A gated recurrent layer as wide as the tape is long, run for four steps: each step's neurons,
/// tanh and sigmoid in turn as an LSTM's candidates and gates, read two neighbours of the step
/// before, with the same weights at every step. Each step would repeat the one before but for
/// reading it, and a neuron does not repeat the one before it.
fn gated_recurrent_layer(tape: &Tape, n: usize) -> (Vec<Var<'_>>, Var<'_>) {
    let width = n / 12 + 2;
    let w = tape.vars(&inputs(3 * width));
    let mut h: Vec<_> = (0..width)
        .map(|j| tape.constant(j as f64 / width as f64))
        .collect();
    for _ in 0..4 {
        h = w
            .chunks_exact(3)
            .enumerate()
            .map(|(j, p)| {
                let z = tape.dot(&p[..2], &[h[j], h[(j + 1) % width]]) + p[2];
                if j % 2 == 0 { z.tanh() } else { z.sigmoid() }
            })
            .collect();
    }
    (w, tape.sum(&h))
}

/// A deep network of one neuron per layer on two points, each point's output through a log loss
/// (`-ln σ(h)`), which no repeat takes in: each layer's weights are read again one point on, but
/// the blocks that would repeat hold the loss.
fn deep_network_with_log_loss(tape: &Tape, n: usize) -> (Vec<Var<'_>>, Var<'_>) {
    let depth = n / 8;
    let w = tape.vars(&inputs(2 * depth));
    let losses: Vec<_> = [0.25, -0.5]
        .into_iter()
        .map(|x| {
            let mut h = tape.constant(x);
            for p in w.chunks_exact(2) {
                h = (tape.dot(&p[..1], &[h]) + p[1]).tanh();
            }
            -h.sigmoid().ln()
        })
        .collect();
    (w, tape.sum(&losses))
}

/// A wide layer of tanh and sigmoid neurons in turn on four points, each point's activations
/// summed: the neurons of one point do not repeat one another, and each would repeat one point
/// on but for the sum between.
fn gated_layer_on_four_points(tape: &Tape, n: usize) -> (Vec<Var<'_>>, Var<'_>) {
    let width = n / 10;
    let w = tape.vars(&inputs(3 * width));
    let sums: Vec<_> = [[0.25, -0.5], [1.0, 0.5], [-0.75, 0.25], [0.5, 1.0]]
        .iter()
        .map(|x| {
            let acts: Vec<_> = w
                .chunks_exact(3)
                .enumerate()
                .map(|(j, p)| {
                    let z = tape.dot(&p[..2], x.as_slice()) + p[2];
                    if j % 2 == 0 { z.tanh() } else { z.sigmoid() }
                })
                .collect();
            tape.sum(&acts)
        })
        .collect();
    (w, tape.sum(&sums))
}

/// A gated recurrent layer unrolled for four steps on each of four points, the same weights at
/// every step and point, each point's last step summed: a weight is read again one step on,
/// and from the last step one point on.
fn gated_recurrent_layer_on_four_points(tape: &Tape, n: usize) -> (Vec<Var<'_>>, Var<'_>) {
    let width = n / 48 + 2;
    let w = tape.vars(&inputs(3 * width));
    let losses: Vec<_> = (0..4)
        .map(|point| {
            let mut h: Vec<_> = (0..width)
                .map(|j| tape.constant((j + point) as f64 / width as f64))
                .collect();
            for _ in 0..4 {
                h = w
                    .chunks_exact(3)
                    .enumerate()
                    .map(|(j, p)| {
                        let z = tape.dot(&p[..2], &[h[j], h[(j + 1) % width]]) + p[2];
                        if j % 2 == 0 { z.tanh() } else { z.sigmoid() }
                    })
                    .collect();
            }
            tape.sum(&h)
        })
        .collect();
    (w, tape.sum(&losses))
}

/// `f += xₖ · c` in a loop: a chain of accumulating sums.
fn accumulated_sum(tape: &Tape, n: usize) -> (Vec<Var<'_>>, Var<'_>) {
    let x = tape.vars(&inputs(n / 3));
    let mut f = x[0] * 1.0;
    for &xk in &x[1..] {
        f += xk * 0.5;
    }
    (x, f)
}

/// `f += a + b` and `f = f + a + b` in turn: sums of three, chained in pairs and one by one.
fn accumulated_pairs(tape: &Tape, n: usize) -> (Vec<Var<'_>>, Var<'_>) {
    let x = tape.vars(&inputs(n / 5));
    let mut f = x[0] * 2.0;
    for (k, &xk) in x.iter().enumerate() {
        if k % 2 == 0 {
            f += xk.sin() + xk.cos();
        } else {
            f = f + xk.exp() + xk.tanh();
        }
    }
    (x, f)
}

/// A chain of plain operations of every arity: sin, products, quotients, `pow`, `max`, softplus,
/// `n`-ary sums and dot products of three.
fn plain_chain(tape: &Tape, n: usize) -> (Vec<Var<'_>>, Var<'_>) {
    let x = tape.vars(&inputs(n / 4));
    let mut y = x[0];
    for (k, &xk) in x.iter().enumerate() {
        y = match k % 5 {
            0 => (y.sin() * xk + 0.5) / xk,
            1 => y.max(xk).softplus().ln(),
            2 => tape.sum(&[y, xk, y]).tanh(),
            3 => tape.dot(&[y, xk, y], &[xk, y, xk]).sqrt().recip(),
            _ => y.abs().pow(xk).min(xk) - y,
        };
    }
    (x, y)
}

/// A chain whose every step is guarded by a recorded comparison, as a branch in a loop records.
fn guarded_chain(tape: &Tape, n: usize) -> (Vec<Var<'_>>, Var<'_>) {
    let x = tape.vars(&inputs(n / 4));
    let mut y = x[0];
    for &xk in &x {
        y = if y.lt(xk) { y + xk } else { y * 0.5 };
        assert!(y.gt(-1.0));
    }
    (x, y)
}

fn a_rule(x: &[f64], c: &[f64], d: &mut [f64]) -> f64 {
    d[0] = c[0] * x[1];
    d[1] = c[0] * x[0];
    c[0] * x[0] * x[1]
}

/// A chain of custom operations recorded with their rule.
fn custom_chain(tape: &Tape, n: usize) -> (Vec<Var<'_>>, Var<'_>) {
    let x = tape.vars(&inputs(n / 2));
    let mut y = x[0];
    for &xk in &x {
        y = tape.custom_rule(a_rule, &[y, xk], &[0.9]);
    }
    (x, y)
}

/// One `n`-ary sum of every input and one dot product of the inputs with themselves reversed.
fn one_long_node(tape: &Tape, n: usize) -> (Vec<Var<'_>>, Var<'_>) {
    let x = tape.vars(&inputs(n));
    let reversed: Vec<_> = x.iter().rev().copied().collect();
    let dot = tape.dot(&x, &reversed);
    (x.clone(), tape.sum(&x) + dot)
}

const SHAPES: [(&str, Build); 19] = [
    ("sum of squares", sum_of_squares),
    ("chain of squares", chain_of_squares),
    ("squared differences", squared_differences),
    ("constant-shifted squares", constant_shifted_squares),
    ("rosenbrock", rosenbrock),
    ("chain of residual squares", chain_of_residual_squares),
    ("wide layer", wide_layer),
    ("deep neurons", deep_neurons),
    ("network batch", network_batch),
    ("gated recurrent layer", gated_recurrent_layer),
    ("deep network with a log loss", deep_network_with_log_loss),
    ("gated layer on four points", gated_layer_on_four_points),
    (
        "gated recurrent layer on four points",
        gated_recurrent_layer_on_four_points,
    ),
    ("accumulated sum", accumulated_sum),
    ("accumulated pairs", accumulated_pairs),
    ("plain chain", plain_chain),
    ("guarded chain", guarded_chain),
    ("custom chain", custom_chain),
    ("one long node", one_long_node),
];

/// The time of each phase on one tape.
#[derive(Debug, Clone, Copy)]
struct Phases {
    nodes: usize,
    compile: Duration,
    replay: Duration,
    explain: Duration,
    export: Duration,
}

impl Phases {
    fn each(&self) -> [(&'static str, Duration); 4] {
        [
            ("compile", self.compile),
            ("replay", self.replay),
            ("explain", self.explain),
            ("export", self.export),
        ]
    }
}

/// Builds the shape at about `n` nodes, then compiles, replays, explains and exports it, timing
/// each phase. The replay at the recorded inputs gives the recorded value and gradient.
fn run_phases(name: &str, build: Build, n: usize) -> Phases {
    let tape = Tape::new();
    let (x, y) = build(&tape, n);
    let nodes = tape.len();

    let start = thread_time();
    let mut compiled = tape
        .compile(&x, &[y])
        .expect("no custom operation with numbers");
    let compile = thread_time() - start;

    let at: Vec<f64> = x.iter().map(|v| v.value()).collect();
    let start = thread_time();
    let r = compiled
        .run(&at)
        .expect("the recorded inputs take the recorded branches");
    let replay = thread_time() - start;
    let g = y.backward();
    assert!(same(r.value(), y.value()), "{name}: value");
    assert!(
        r.grad().iter().zip(&x).all(|(&r, &v)| same(r, g.wrt(v))),
        "{name}: gradient"
    );

    let start = thread_time();
    let text = tape.explain(y).expect("same tape").to_string();
    let explain = thread_time() - start;
    assert!(text.starts_with("chain rule for"), "{name}: {text}");

    let start = thread_time();
    let dot = tape.to_dot(y).expect("same tape");
    let all = tape.to_dot_all(DotOptions::default().gradients(false));
    let export = thread_time() - start;
    assert!(dot.ends_with("}\n") && all.ends_with("}\n"), "{name}");

    Phases {
        nodes,
        compile,
        replay,
        explain,
        export,
    }
}

/// Equal bit for bit, or both NaN (whose sign and payload Rust leaves unspecified).
fn same(a: f64, b: f64) -> bool {
    a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())
}

/// Runs `f` on a thread with the stack of a test thread, whatever the harness's own.
fn on_test_stack<R: Send + 'static>(f: impl FnOnce() -> R + Send + 'static) -> R {
    std::thread::Builder::new()
        .stack_size(TEST_STACK)
        .spawn(f)
        .expect("spawns a thread")
        .join()
        .expect("the work on the test stack does not panic")
}

#[test]
fn every_shape_at_a_hundred_thousand_nodes_fits_a_test_threads_stack() {
    let _alone = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    on_test_stack(|| {
        for (name, build) in SHAPES {
            // The shapes come out a little short of or over the size asked for.
            let phases = run_phases(name, build, LONG + LONG / 10);
            assert!(phases.nodes >= LONG, "{name}: only {} nodes", phases.nodes);
        }
    });
}

#[test]
fn rosenbrock_at_a_million_nodes_compiles_and_replays_on_a_test_threads_stack() {
    let _alone = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    on_test_stack(|| {
        let tape = Tape::new();
        let (x, y) = rosenbrock(&tape, 1_000_000);
        assert!(tape.len() >= 1_000_000, "only {} nodes", tape.len());
        let mut compiled = tape.compile(&x, &[y]).expect("no custom operation");
        let at: Vec<f64> = x.iter().map(|v| v.value()).collect();
        let r = compiled.run(&at).expect("no comparison");
        assert_eq!(r.value().to_bits(), y.value().to_bits());
    });
}

/// The best of [`ROUNDS`] runs of each phase at about `n` and `8n` nodes, the sizes taken in
/// turn so that a busy moment of the machine slows both.
fn best_of_rounds(name: &str, build: Build, n: usize) -> [Phases; 2] {
    let mut best: [Option<Phases>; 2] = [None, None];
    for _ in 0..ROUNDS {
        for (size, best) in [n, 8 * n].into_iter().zip(&mut best) {
            let run = run_phases(name, build, size);
            *best = Some(match *best {
                None => run,
                Some(b) => Phases {
                    nodes: run.nodes,
                    compile: b.compile.min(run.compile),
                    replay: b.replay.min(run.replay),
                    explain: b.explain.min(run.explain),
                    export: b.export.min(run.export),
                },
            });
        }
    }
    best.map(|b| b.expect("at least one round"))
}

#[test]
fn every_phase_takes_linear_time_in_the_tapes_length() {
    let _alone = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    on_test_stack(|| {
        let mut failures = Vec::new();
        for (name, build) in SHAPES {
            let [small, large] = best_of_rounds(name, build, TIMED);
            for ((phase, t), (_, t8)) in small.each().into_iter().zip(large.each()) {
                let per_node = |t: Duration, nodes: usize| t.as_secs_f64() / nodes as f64;
                let growth = per_node(t8, large.nodes) / per_node(t, small.nodes).max(1e-12);
                if t8 > NOISE_FLOOR && growth > MAX_GROWTH {
                    failures.push(format!(
                        "{name}, {phase}: {t:?} for {} nodes, {t8:?} for {} ({growth:.1}x per node)",
                        small.nodes, large.nodes
                    ));
                }
                if per_node(t8, large.nodes) > MAX_PER_NODE.as_secs_f64() {
                    failures.push(format!(
                        "{name}, {phase}: {t8:?} for {} nodes is over {MAX_PER_NODE:?} per node",
                        large.nodes
                    ));
                }
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    });
}
