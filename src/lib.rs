//! # tapegrad
//!
//! Reverse-mode automatic differentiation on a tape: exact gradients of ordinary scalar Rust code.
//!
//! ```
//! use tapegrad::Tape;
//!
//! let tape = Tape::new();
//! let x = tape.var(2.0);
//! let y = tape.var(-3.0);
//! let z = (x * y + x.sin() * 3.0 - 1.0 / y).tanh();
//! let g = z.backward();
//! println!("z = {}, dz/dx = {}, dz/dy = {}", z.value(), g[x], g[y]);
//! # assert!(g[x].is_finite() && g[y].is_finite());
//! ```
//!
//! Every operation on a [`Var`] records one node on its [`Tape`] — a Wengert list — with the
//! local partial derivatives of the operation. [`Var::backward`] walks the tape once, in reverse,
//! multiplying local partials and accumulating adjoints: the chain rule. `docs/chain-rule.md`
//! walks through it step by step.
//!
//! - Core: [`Tape`], [`Var`], [`Gradients`], [`Jacobian`], the operators and the methods on `Var`
//!   ([`ops`]), the scalar type ([`Scalar`]);
//! - Checking: [`check`] compares the tape's gradients with finite differences and generates
//!   random expressions for property tests (proptest strategies with the `proptest` feature);
//! - Seeing the chain rule: [`explain`] prints a backward pass step by step, [`graph`] exports the
//!   tape as Graphviz DOT, [`stats`] counts what a tape holds;
//! - Second derivatives: [`Dual`] numbers as a tape scalar and the [`functional`] API (`grad`,
//!   `hvp`, `hessian`, `jacobian`, `jvp`);
//! - Neural networks, built only on the public core: [`nn`] (activations, neurons, layers, `Mlp`
//!   and its named parameter store), [`init`] (weight initializers), [`loss`] (losses) and
//!   [`optim`] (SGD with momentum, Adam, learning-rate schedules). `docs/neural-networks.md` goes
//!   from one neuron to a trained network;
//! - Record once, replay many: [`Tape::compile`] turns a recording into a [`CompiledTape`] that
//!   gives values and gradients at new inputs without recording again ([`replay`],
//!   `docs/replay.md`);
//! - Every core: [`batch`] computes a batch loss's gradient on several threads, the same bits for
//!   any number of them (`docs/threads-and-solvers.md`).
//!
//! # Threads: which types are `Send` and `Sync`
//!
//! | type | `Send` | `Sync` | why |
//! |---|---|---|---|
//! | [`Tape`] | yes | no | recording appends through `&self` without locks: one thread records on a tape at a time, and a tape can move to another thread between recordings |
//! | [`Var`], [`nn::BoundMlp`] | no | no | handles that borrow their tape: they live on the thread that records |
//! | [`CompiledTape`] | yes | yes | a program and its buffers; `run` takes `&mut self`, so each thread replays its own copy ([`CompiledTape::clone`](Clone) or compile once per thread) |
//! | [`Gradients`], [`Jacobian`], [`functional::Hessian`], [`Replay`], [`Dual`] | yes | yes | plain numbers, detached from the tape |
//! | [`nn::Mlp`], [`nn::Params`], [`nn::Layer`], [`nn::Neuron`], [`optim::Sgd`], [`optim::Adam`], [`optim::Schedule`], [`init::Init`] | yes | yes | models and optimizers own their numbers |
//! | [`Error`], [`OpKind`], [`NodeId`], [`Explanation`], [`TapeStats`], [`check::Expr`], [`check::GradReport`], the option types | yes | yes | values |
//!
//! To use every core, give each thread its own tape (or its own compiled tape) and add the
//! gradients afterwards. `tests/send_sync.rs` checks the table; the two "no" rows are checked
//! here:
//!
//! ```compile_fail
//! // A tape cannot be shared between threads: it is not `Sync`.
//! fn sync<T: Sync>() {}
//! sync::<tapegrad::Tape>();
//! ```
//!
//! ```compile_fail
//! // A Var cannot leave its thread: it borrows its tape.
//! fn send<T: Send>() {}
//! send::<tapegrad::Var<'static>>();
//! ```
//!
//! # Cargo features
//!
//! None is on by default.
//!
//! - `proptest`: `check::strategies`, proptest strategies that draw random expressions and
//!   inputs inside their operations' domains (see [`check`]), for property tests of the tape
//!   and of code built on it. Adds a dependency on `proptest`.
//! - `argmin`: [`argmin`] (the module), argmin's solvers — L-BFGS, Newton-CG,
//!   trust regions, … — on a [`functional::Function`] with no glue: its cost, gradient and
//!   Hessian over `Vec<f64>`. Adds dependencies on `argmin` and `argmin-math`.
//! - `serde`: `Serialize` and `Deserialize` for [`nn::Mlp`], [`nn::Params`], [`nn::Activation`],
//!   [`optim::Sgd`], [`optim::Adam`] and [`optim::Schedule`], state included, so that a run
//!   stops and resumes bit for bit; deserializing checks every number and shape as loading a
//!   parameter file does. Adds a dependency on `serde`.
//!
//! Items that need a feature are marked with it in this documentation.
//!
//! # Minimum supported Rust version
//!
//! Rust 1.85, the first with edition 2024, with every feature.

#![warn(missing_docs)]
// On docs.rs (nightly, `--cfg docsrs`), mark each feature-gated item with its feature.
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(feature = "argmin")]
#[cfg_attr(docsrs, doc(cfg(feature = "argmin")))]
pub mod argmin;
pub mod batch;
pub mod check;
pub mod dual;
pub mod error;
pub mod explain;
pub mod functional;
pub mod gradients;
pub mod graph;
pub mod init;
pub mod loss;
pub mod nn;
pub mod ops;
pub mod optim;
pub mod replay;
pub mod scalar;
pub mod stats;
pub mod tape;
pub mod var;

pub use dual::Dual;
pub use error::Error;
pub use explain::{ExplainOptions, Explanation};
pub use gradients::{Gradients, Jacobian};
pub use graph::DotOptions;
pub use ops::OpKind;
pub use ops::compare::{Comparand, Comparison};
pub use ops::nary::{CustomRule, DotOperand};
pub use replay::{CompiledTape, Replay};
pub use scalar::Scalar;
pub use stats::TapeStats;
pub use tape::{NodeId, Tape, release_buffers};
pub use var::Var;

/// The README's code, compiled and run as a doctest so that it cannot go stale.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;

/// The code of `docs/second-derivatives.md`, run as doctests.
#[doc = include_str!("../docs/second-derivatives.md")]
#[cfg(doctest)]
pub struct SecondDerivativesDoctests;

/// The code of `docs/threads-and-solvers.md`, run as doctests.
#[doc = include_str!("../docs/threads-and-solvers.md")]
#[cfg(doctest)]
pub struct ThreadsAndSolversDoctests;

/// The code of `docs/replay.md`, run as doctests.
#[doc = include_str!("../docs/replay.md")]
#[cfg(doctest)]
pub struct ReplayDoctests;
