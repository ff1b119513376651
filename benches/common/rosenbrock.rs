//! W1, the extended Rosenbrock function, three ways: plain `f64`, with a hand-written gradient,
//! and on a tape (recorded afresh, or compiled once for replay). Shared by `benches/tape.rs`,
//! `benches/replay.rs`, `benches/replay_best.rs`, `examples/memory.rs` and `tests/workloads.rs`
//! (which checks that they agree).
#![allow(dead_code)]

use tapegrad::{CompiledTape, Tape, Var};

/// Deterministic inputs in [-1.5, 1.5] without a random number generator.
pub fn inputs(n: usize) -> Vec<f64> {
    (0..n)
        .map(|i| ((i as f64) * 0.618_033_988_75).fract() * 3.0 - 1.5)
        .collect()
}

/// `Σ 100 (x_{i+1} - x_i²)² + (1 - x_i)²`, plain `f64`.
pub fn plain(x: &[f64]) -> f64 {
    x.windows(2)
        .map(|w| 100.0 * (w[1] - w[0] * w[0]).powi(2) + (1.0 - w[0]).powi(2))
        .sum()
}

/// The value and the analytic gradient, written by hand.
pub fn hand(x: &[f64], grad: &mut [f64]) -> f64 {
    grad.iter_mut().for_each(|g| *g = 0.0);
    let mut f = 0.0;
    for i in 0..x.len() - 1 {
        let t = x[i + 1] - x[i] * x[i];
        let u = 1.0 - x[i];
        f += 100.0 * t * t + u * u;
        grad[i] += -400.0 * t * x[i] - 2.0 * u;
        grad[i + 1] += 200.0 * t;
    }
    f
}

/// The same function on Vars, written the way the plain version reads.
pub fn on_tape<'t>(x: &[Var<'t>]) -> Var<'t> {
    let mut f = x[0] * 0.0;
    for w in x.windows(2) {
        f += 100.0 * (w[1] - w[0].powi(2)).powi(2) + (1.0 - w[0]).powi(2);
    }
    f
}

/// The value, and the gradient into `grad`, through a tape.
pub fn tape_gradient(x: &[f64], grad: &mut Vec<f64>) -> f64 {
    let tape = Tape::new();
    let vars = tape.vars(x);
    let f = on_tape(&vars);
    let g = f.backward();
    grad.clear();
    grad.extend(vars.iter().map(|&v| g[v]));
    f.value()
}

/// The function recorded once at `x` and compiled, its inputs the Vars of `x`, for replay.
pub fn compiled(x: &[f64]) -> CompiledTape {
    let tape = Tape::new();
    let vars = tape.vars(x);
    let f = on_tape(&vars);
    tape.compile(&vars, &[f]).expect("no custom operations")
}
