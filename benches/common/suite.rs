//! The workloads of `benches/suite.rs`: a gradient suite of many kinds of code, so that no single
//! shape decides how fast tapegrad looks. Shared with `tests/suite_gradients.rs`, which proves
//! every hand-written baseline right against the tape.
//!
//! Each [`Workload`] computes one scalar function of a vector of inputs four ways: in plain `f64`,
//! with a gradient derived by hand (reverse mode written out, or the closed form), recorded on a
//! tape as a user would write it, and — through the same recording — compiled once for replay.
//! Data (training points, observations) are plain numbers baked into the recording, as in
//! full-batch training. The workloads themselves live in `suite_networks.rs` (networks and their
//! losses) and `suite_scalar.rs` (test functions, likelihoods, an ODE-like chain).
#![allow(dead_code)]

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tapegrad::{CompiledTape, Tape, Var};

#[path = "rosenbrock.rs"]
pub mod rosenbrock;
#[path = "suite_networks.rs"]
pub mod suite_networks;
#[path = "suite_scalar.rs"]
pub mod suite_scalar;

/// What a workload is judged against: the targets the suite reports, by kind of code.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Kind {
    /// A network with one of the library's losses: replay at most 1.3× the hand-written gradient.
    Network,
    /// A sum of repeated scalar terms (test functions, likelihoods): replay at most 4× hand.
    RepeatedTerms,
    /// Extended Rosenbrock (W1): repeated terms, and replay at most 10× the plain value.
    Rosenbrock,
    /// A sequential chain (each step reads the last): no target, measured for the record.
    Chain,
}

impl Kind {
    /// The most replay may take over the hand-written gradient, if there is a target.
    pub fn replay_over_hand_target(self) -> Option<f64> {
        match self {
            Kind::Network => Some(1.3),
            Kind::RepeatedTerms | Kind::Rosenbrock => Some(4.0),
            Kind::Chain => None,
        }
    }

    /// The most replay may take over the plain `f64` value, if there is a target.
    pub fn replay_over_plain_target(self) -> Option<f64> {
        match self {
            Kind::Rosenbrock => Some(10.0),
            _ => None,
        }
    }
}

/// One function of the suite, computed four ways.
pub trait Workload {
    /// The row's name in the table.
    fn name(&self) -> String;

    /// What the workload is judged against.
    fn kind(&self) -> Kind;

    /// The point the benchmark takes the gradient at; its length is the number of inputs.
    fn point(&self) -> &[f64];

    /// The value in plain `f64`.
    fn plain(&mut self, x: &[f64]) -> f64;

    /// The value, and the gradient written into `grad` (one per input), derived by hand.
    fn hand(&mut self, x: &[f64], grad: &mut [f64]) -> f64;

    /// The function recorded on `tape`, `x` its inputs, written as a user of tapegrad would.
    fn record<'t>(&self, tape: &'t Tape, x: &[Var<'t>]) -> Var<'t>;
}

/// The gradient by recording: the inputs and the function recorded afresh on `tape` (cleared
/// first, so its buffers are reused), one backward sweep, the gradient read into `grad`.
pub fn recording(tape: &mut Tape, w: &dyn Workload, x: &[f64], grad: &mut [f64]) -> f64 {
    tape.clear();
    let vars = tape.vars(x);
    let f = w.record(tape, &vars);
    let g = f.backward();
    for (out, &v) in grad.iter_mut().zip(&vars) {
        *out = g[v];
    }
    f.value()
}

/// The workload recorded once at `x` and compiled, its inputs the Vars of `x`, for replay.
pub fn compile(w: &dyn Workload, x: &[f64]) -> CompiledTape {
    let tape = Tape::new();
    let vars = tape.vars(x);
    let f = w.record(&tape, &vars);
    tape.compile(&vars, &[f])
        .expect("the suite records no custom operation without a rule")
}

/// How many nodes one recording of the workload at `x` puts on a tape.
pub fn recorded_len(w: &dyn Workload, x: &[f64]) -> usize {
    let tape = Tape::new();
    let vars = tape.vars(x);
    w.record(&tape, &vars);
    tape.len()
}

/// How big the workloads are: `Bench` for timing, `Test` small enough for a debug build.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Size {
    /// The sizes the benchmark reports.
    Bench,
    /// Small sizes for `tests/suite_gradients.rs`.
    Test,
}

impl Size {
    /// `bench` for the benchmark, `test` for the tests.
    pub fn pick(self, bench: usize, test: usize) -> usize {
        match self {
            Size::Bench => bench,
            Size::Test => test,
        }
    }
}

/// Every workload of the suite, in the order of the table.
pub fn all(size: Size) -> Vec<Box<dyn Workload>> {
    let mut suite = suite_networks::all(size);
    suite.extend(suite_scalar::all(size));
    suite
}

/// A seeded generator, so that every run builds the same data.
pub fn rng(seed: u64) -> StdRng {
    StdRng::seed_from_u64(seed)
}

/// `n` values drawn uniformly from `[low, high)`.
pub fn uniform(rng: &mut StdRng, n: usize, low: f64, high: f64) -> Vec<f64> {
    (0..n).map(|_| rng.gen_range(low..high)).collect()
}

/// Logistic sigmoid, `1 / (1 + e^-z)`: without a branch on the sign of `z`, whose outcome a
/// processor cannot predict on data; for `z` below about -709 `e^-z` overflows to infinity and
/// the quotient is 0, as it should be.
pub fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

/// `ln(1 + e^z)` without overflow: `max(z, 0) + ln(1 + e^-|z|)`.
pub fn softplus(z: f64) -> f64 {
    z.max(0.0) + (-z.abs()).exp().ln_1p()
}
