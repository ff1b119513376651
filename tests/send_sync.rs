//! The Send/Sync table of `lib.rs`'s documentation, checked: each type that the table says is
//! `Send` or `Sync` is, here; the ones it says are not are `compile_fail` examples there.

use tapegrad::check::{Expr, GradCheck, GradReport, InputCheck};
use tapegrad::explain::{ExplainedNode, LeafGradient, LocalPartial, SweepEdge, SweepNode};
use tapegrad::functional::Hessian;
use tapegrad::nn::{Activation, Layer, Mlp, Neuron, Params};
use tapegrad::optim::{Adam, Schedule, Sgd};
use tapegrad::stats::Bytes;
use tapegrad::{
    Comparison, CompiledTape, DotOptions, Dual, Error, ExplainOptions, Explanation, Gradients,
    Jacobian, NodeId, OpKind, Replay, Tape, TapeStats,
};

fn send<T: Send>() {}
fn both<T: Send + Sync>() {}

#[test]
fn values_results_and_configuration_are_send_and_sync() {
    both::<Gradients>();
    both::<Gradients<f32>>();
    both::<Jacobian>();
    both::<Hessian>();
    both::<Dual>();
    both::<NodeId>();
    both::<OpKind>();
    both::<Comparison>();
    both::<Error>();
    both::<Replay<'static>>();
    both::<Explanation>();
    both::<ExplainedNode>();
    both::<LocalPartial>();
    both::<SweepEdge>();
    both::<SweepNode>();
    both::<LeafGradient>();
    both::<ExplainOptions>();
    both::<DotOptions>();
    both::<TapeStats>();
    both::<Bytes>();
    both::<Expr>();
    both::<GradCheck>();
    both::<GradReport>();
    both::<InputCheck>();
}

#[test]
fn models_and_optimizers_are_send_and_sync() {
    both::<Mlp>();
    both::<Layer>();
    both::<Neuron>();
    both::<Params>();
    both::<Activation>();
    both::<Sgd>();
    both::<Adam>();
    both::<Schedule>();
    both::<tapegrad::init::Init>();
}

#[test]
fn a_compiled_tape_is_send_and_sync() {
    both::<CompiledTape>();
    both::<CompiledTape<f32>>();
}

#[test]
fn a_tape_is_send_but_not_sync() {
    // Not Sync: see the compile_fail example in lib.rs.
    send::<Tape>();
    send::<Tape<f32>>();
}
