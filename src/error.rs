//! The errors tapegrad returns.

use std::fmt;

use crate::{Comparison, NodeId, OpKind};

/// What went wrong, with the values involved.
///
/// Messages start lowercase, carry the offending values and end without a period.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Error {
    /// A recorded value is NaN or infinite ([`Var::backward_checked`](crate::Var::backward_checked)).
    NonFiniteValue {
        /// The first node whose value is not finite.
        node: NodeId,
        /// Its operation.
        op: OpKind,
        /// The value, as `f64`.
        value: f64,
    },
    /// An adjoint became NaN or infinite during the reverse sweep
    /// ([`Var::backward_checked`](crate::Var::backward_checked)).
    NonFiniteAdjoint {
        /// The node whose adjoint became non-finite.
        node: NodeId,
        /// Its operation.
        op: OpKind,
        /// The adjoint, as `f64`.
        adjoint: f64,
        /// The node whose contribution made it so.
        via: NodeId,
        /// That node's operation.
        via_op: OpKind,
        /// The local partial on that edge, as `f64`.
        partial: f64,
    },
    /// A Var recorded on another tape was passed where this tape's output is expected
    /// ([`Tape::explain`](crate::Tape::explain), [`Tape::to_dot`](crate::Tape::to_dot)).
    ForeignVar {
        /// The method that received it.
        op: &'static str,
        /// The Var's node on its own tape.
        node: NodeId,
    },
    /// A uniform initializer was given an empty range ([`Init::uniform`](crate::init::Init::uniform)).
    EmptyRange {
        /// The lower bound given.
        low: f64,
        /// The upper bound given.
        high: f64,
    },
    /// A hyper-parameter (learning rate, momentum, standard deviation, ...) is outside its range.
    InvalidHyperparameter {
        /// What the value is, e.g. `"learning rate"`.
        name: &'static str,
        /// What it must be, e.g. `"a positive finite number"`.
        expected: &'static str,
        /// The value given.
        value: f64,
    },
    /// A network was given the wrong number of inputs.
    InputSize {
        /// The number of inputs the network (or layer) takes.
        expected: usize,
        /// The number given.
        actual: usize,
    },
    /// An architecture is unusable: too few sizes, a layer without neurons, or as many
    /// activations as layers missing ([`Mlp::new`](crate::nn::Mlp::new)).
    BadArchitecture {
        /// The layer sizes given, inputs first.
        sizes: Vec<usize>,
        /// The number of activations given.
        activations: usize,
        /// What is wrong with them.
        reason: &'static str,
    },
    /// No parameter has this name ([`Params::set`](crate::nn::Params::set)).
    UnknownParameter {
        /// The name asked for.
        name: String,
    },
    /// A parameter file could not be read or written.
    Io {
        /// The file.
        path: String,
        /// What the operating system said.
        message: String,
    },
    /// A parameter file does not hold what was expected at some line.
    ParamFile {
        /// The line, from 1.
        line: usize,
        /// What the line should hold.
        expected: String,
        /// What it holds.
        actual: String,
    },
    /// A parameter file describes another architecture than the network it is loaded into.
    ArchitectureMismatch {
        /// The network's architecture.
        expected: String,
        /// The file's.
        actual: String,
    },
    /// A parameter file holds a number that is NaN, infinite, or too large for an `f64` (`1e400`
    /// reads as infinity) ([`Mlp::from_text`](crate::nn::Mlp::from_text)).
    NonFiniteInFile {
        /// The line, from 1.
        line: usize,
        /// The parameter on that line.
        name: String,
        /// The number as written.
        text: String,
        /// What it reads as.
        value: f64,
    },
    /// A parameter was given, or holds, a value that is NaN or infinite
    /// ([`Params::set`](crate::nn::Params::set), [`Params::push`](crate::nn::Params::push),
    /// [`Params::check_finite`](crate::nn::Params::check_finite)).
    NonFiniteParameter {
        /// The parameter's name.
        name: String,
        /// The value.
        value: f64,
    },
    /// An input given to a network is NaN or infinite ([`Mlp::predict`](crate::nn::Mlp::predict)).
    NonFiniteInput {
        /// Its position, from 0.
        index: usize,
        /// The value.
        value: f64,
    },
    /// A network's output is NaN or infinite although its inputs and parameters are finite: a
    /// value overflowed on the way ([`Mlp::predict`](crate::nn::Mlp::predict)).
    NonFiniteOutput {
        /// The output's position, from 0.
        index: usize,
        /// Its value.
        value: f64,
        /// The first node of the forward pass whose value is not finite.
        node: NodeId,
        /// Its operation.
        op: OpKind,
    },
    /// A gradient handed to an optimizer is NaN or infinite; no parameter was updated
    /// ([`Optimizer::step_checked`](crate::optim::Optimizer::step_checked)).
    NonFiniteGradient {
        /// The optimizer's step that was refused, counted from 0.
        step: usize,
        /// The parameter's position.
        index: usize,
        /// The parameter's name, when the parameters have names.
        name: Option<String>,
        /// The gradient.
        value: f64,
    },
    /// An optimizer step would make a parameter, or the optimizer's state for it, NaN or
    /// infinite; no parameter was updated
    /// ([`Optimizer::step_checked`](crate::optim::Optimizer::step_checked)).
    NonFiniteUpdate {
        /// The optimizer's step that was refused, counted from 0.
        step: usize,
        /// The parameter's position.
        index: usize,
        /// The parameter's name, when the parameters have names.
        name: Option<String>,
        /// What would overflow: `"value"`, `"velocity"`, `"first moment"` or `"second moment"`.
        quantity: &'static str,
        /// What it would become.
        value: f64,
    },
    /// A training loss is NaN or infinite
    /// ([`Optimizer::check_loss`](crate::optim::Optimizer::check_loss)).
    NonFiniteLoss {
        /// The optimizer's step the loss was computed for, counted from 0.
        step: usize,
        /// The loss.
        value: f64,
    },
    /// A compiled tape would contain a custom operation recorded with numbers
    /// ([`Tape::custom`](crate::Tape::custom)), whose value and partials replay cannot recompute
    /// ([`Tape::compile`](crate::Tape::compile)); one recorded with its rule
    /// ([`Tape::custom_rule`](crate::Tape::custom_rule)) replays.
    ReplayCustomOp {
        /// The custom node an output or a comparison depends on.
        node: NodeId,
    },
    /// A recorded comparison came out differently on replay
    /// ([`CompiledTape::run`](crate::CompiledTape::run)): the new inputs take another branch,
    /// so the tape must be recorded again.
    BranchChanged {
        /// The comparison node, as recorded.
        node: NodeId,
        /// The comparison.
        comparison: Comparison,
        /// Its left-hand value on replay, as `f64`.
        lhs: f64,
        /// Its right-hand value on replay, as `f64`.
        rhs: f64,
        /// The outcome recorded; the outcome on replay is the opposite.
        recorded: bool,
    },
    /// [`Tape::compile`](crate::Tape::compile) was given no outputs.
    ReplayNoOutputs,
    /// A Var given to [`Tape::compile`](crate::Tape::compile) as an input or a data leaf is not
    /// a leaf: an operation's result has no value of its own to bind.
    ReplayNotLeaf {
        /// The list it was given in: `"input"` or `"data"`.
        list: &'static str,
        /// Its position in that list, from 0.
        position: usize,
        /// Its node on the tape.
        node: NodeId,
        /// The node's operation.
        op: OpKind,
    },
    /// A leaf was given to [`Tape::compile`](crate::Tape::compile) twice, among the inputs, the
    /// data leaves or both.
    ReplayLeafTwice {
        /// The list of its second occurrence: `"input"` or `"data"`.
        list: &'static str,
        /// Its position in that list, from 0.
        position: usize,
        /// The list of its first occurrence.
        first_list: &'static str,
        /// Its position there.
        first_position: usize,
        /// The leaf's node on the tape.
        node: NodeId,
    },
    /// A [`CompiledTape`](crate::CompiledTape) was called with a number of input values other
    /// than its number of inputs.
    ReplayInputCount {
        /// The method called: `"forward"`, `"run"`, `"vjp"` or `"run_with_data"`.
        call: &'static str,
        /// The number of compiled inputs.
        expected: usize,
        /// The number of values given.
        actual: usize,
    },
    /// [`CompiledTape::run_with_data`](crate::CompiledTape::run_with_data) was given a number of
    /// data values other than its number of data leaves.
    ReplayDataCount {
        /// The number of data leaves.
        expected: usize,
        /// The number of values given.
        actual: usize,
    },
    /// [`CompiledTape::vjp`](crate::CompiledTape::vjp) was given a number of weights other than
    /// its number of outputs.
    ReplayWeightCount {
        /// The number of outputs.
        expected: usize,
        /// The number of weights given.
        actual: usize,
    },
    /// One point of a batch failed; `error` says how
    /// ([`BoundMlp::forward_batch`](crate::nn::BoundMlp::forward_batch),
    /// [`Mlp::predict_batch`](crate::nn::Mlp::predict_batch)).
    BatchPoint {
        /// The point's position in the batch, from 0.
        index: usize,
        /// What is wrong with it: [`Error::InputSize`], [`Error::NonFiniteInput`] or
        /// [`Error::NonFiniteOutput`].
        error: Box<Error>,
    },
    /// A metric was given no predictions ([`accuracy`](crate::nn::accuracy)).
    NoPredictions,
    /// A metric was given as many labels as predictions, but not one each
    /// ([`accuracy`](crate::nn::accuracy)).
    LabelCount {
        /// The number of predictions.
        predictions: usize,
        /// The number of labels.
        labels: usize,
    },
    /// A label is not the index of a class ([`accuracy`](crate::nn::accuracy)).
    BadLabel {
        /// The label's position, from 0.
        index: usize,
        /// The label.
        label: f64,
        /// The number of classes: a label must be an integer from 0 below it.
        classes: usize,
    },
    /// A prediction holds another number of outputs than expected
    /// ([`accuracy`](crate::nn::accuracy)).
    OutputCount {
        /// The prediction's position, from 0.
        index: usize,
        /// The number of outputs expected.
        expected: usize,
        /// The number it holds.
        actual: usize,
    },
    /// A name that is not an activation's ([`Activation`](crate::nn::Activation)'s `FromStr`).
    UnknownActivation {
        /// The text given.
        text: String,
    },
    /// Two parameters of a store have the same name (deserializing a
    /// [`Params`](crate::nn::Params)).
    DuplicateParameter {
        /// The name.
        name: String,
    },
    /// A network's parameters do not fit its layers (deserializing an
    /// [`Mlp`](crate::nn::Mlp)).
    ParameterCount {
        /// The architecture, as [`Mlp::architecture`](crate::nn::Mlp::architecture) writes it.
        architecture: String,
        /// The number of parameters its layers have.
        expected: usize,
        /// The number given.
        actual: usize,
    },
    /// A network's parameter is not named after its place in the layers (deserializing an
    /// [`Mlp`](crate::nn::Mlp)).
    ParameterName {
        /// The parameter's position, from 0.
        index: usize,
        /// The name of that place, e.g. `layer0.neuron1.b`.
        expected: String,
        /// The name given.
        actual: String,
    },
    /// An optimizer's state for a parameter is outside its range (deserializing an
    /// [`Sgd`](crate::optim::Sgd) or an [`Adam`](crate::optim::Adam)).
    InvalidState {
        /// What it is: `"velocity"`, `"first moment"` or `"second moment"`.
        quantity: &'static str,
        /// The parameter's position, from 0.
        index: usize,
        /// What it must be, e.g. `"a finite number"`.
        expected: &'static str,
        /// The value given.
        value: f64,
    },
    /// Adam's state holds another number of first moments than of second moments
    /// (deserializing an [`Adam`](crate::optim::Adam)).
    MomentCount {
        /// The number of first moments.
        first: usize,
        /// The number of second moments.
        second: usize,
    },
    /// A compiled tape given to [`Batch`](crate::batch::Batch) is not a per-point loss: it needs
    /// one output and the point's numbers as data leaves ([`Tape::compile_with_data`](crate::Tape::compile_with_data)).
    BatchShape {
        /// Its number of outputs.
        outputs: usize,
        /// Its number of data leaves.
        data: usize,
    },
    /// A batch's data is not a whole number of points ([`Batch::gradient`](crate::batch::Batch::gradient)).
    BatchData {
        /// The numbers given.
        len: usize,
        /// The numbers of one point: the compiled tape's data leaves.
        per_point: usize,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::NonFiniteValue { node, op, value } => write!(
                f,
                "value of node {node} ({}) is {value}; it is the first non-finite value the output depends on",
                op.name()
            ),
            Error::NonFiniteAdjoint {
                node,
                op,
                adjoint,
                via,
                via_op,
                partial,
            } => write!(
                f,
                "adjoint of node {node} ({}) became {adjoint} through node {via} ({}), whose partial is {partial}",
                op.name(),
                via_op.name()
            ),
            Error::ForeignVar { op, node } => write!(
                f,
                "output {node} passed to '{op}' was recorded on another tape; \
                 call it on the tape that recorded the output"
            ),
            Error::EmptyRange { low, high } => {
                write!(
                    f,
                    "uniform init needs low < high, got low = {low}, high = {high}"
                )
            }
            Error::InvalidHyperparameter {
                name,
                expected,
                value,
            } => write!(f, "{name} must be {expected}, got {value}"),
            Error::InputSize { expected, actual } => {
                write!(f, "network takes {expected} inputs, got {actual}")
            }
            Error::BadArchitecture {
                sizes,
                activations,
                reason,
            } => write!(
                f,
                "bad architecture: {reason}, got sizes {sizes:?} and {activations} activations"
            ),
            Error::UnknownParameter { name } => write!(f, "no parameter is named {name:?}"),
            Error::Io { path, message } => write!(f, "cannot access {path}: {message}"),
            Error::ParamFile {
                line,
                expected,
                actual,
            } => write!(
                f,
                "parameter file line {line}: expected {expected}, got {actual}"
            ),
            Error::ArchitectureMismatch { expected, actual } => write!(
                f,
                "parameter file is for the architecture {actual}, the network is {expected}"
            ),
            Error::NonFiniteInFile {
                line,
                name,
                text,
                value,
            } => write!(
                f,
                "parameter file line {line}: {name} must be a finite number, got `{text}` \
                 (reads as {value})"
            ),
            Error::NonFiniteParameter { name, value } => {
                write!(f, "parameter {name:?} must be a finite number, got {value}")
            }
            Error::NonFiniteInput { index, value } => {
                write!(f, "input {index} must be a finite number, got {value}")
            }
            Error::NonFiniteOutput {
                index,
                value,
                node,
                op,
            } => write!(
                f,
                "output {index} is {value} although the inputs and parameters are finite; the \
                 first non-finite value is node {node} ({})",
                op.name()
            ),
            Error::NonFiniteGradient {
                step,
                index,
                name,
                value,
            } => write!(
                f,
                "step {step}: the gradient of parameter {} is {value}; no parameter was updated",
                Parameter(*index, name.as_deref())
            ),
            Error::NonFiniteUpdate {
                step,
                index,
                name,
                quantity,
                value,
            } => write!(
                f,
                "step {step}: the {quantity} of parameter {} would become {value}; no parameter \
                 was updated",
                Parameter(*index, name.as_deref())
            ),
            Error::NonFiniteLoss { step, value } => write!(f, "step {step}: the loss is {value}"),
            Error::ReplayCustomOp { node } => write!(
                f,
                "node {node} is a custom operation recorded with numbers (Tape::custom), whose \
                 value and partials replay cannot recompute; record it with its rule \
                 (Tape::custom_rule), write it with built-in operations, or record the tape for \
                 each input"
            ),
            Error::BranchChanged {
                node,
                comparison,
                lhs,
                rhs,
                recorded,
            } => write!(
                f,
                "comparison {node} `{lhs} {} {rhs}` is now {} but was recorded {recorded}; \
                 the new inputs take another branch, so the tape must be recorded again",
                comparison.symbol(),
                !recorded
            ),
            Error::ReplayNoOutputs => {
                write!(
                    f,
                    "compile: no outputs; pass at least one Var to differentiate"
                )
            }
            Error::ReplayNotLeaf {
                list,
                position,
                node,
                op,
            } => write!(
                f,
                "compile: {list} {position} (node {node}) is a {} node, not a leaf; pass the Vars \
                 returned by tape.var or tape.constant",
                op.name()
            ),
            Error::ReplayLeafTwice {
                list,
                position,
                first_list,
                first_position,
                node,
            } => write!(
                f,
                "compile: {list} {position} is {first_list} {first_position} again (node {node}); \
                 pass each leaf once"
            ),
            Error::ReplayInputCount {
                call,
                expected,
                actual,
            } => write!(
                f,
                "{call}: got {actual} input values for {expected} compiled inputs; pass one value \
                 per input, in the order given to Tape::compile"
            ),
            Error::ReplayDataCount { expected, actual } => write!(
                f,
                "run_with_data: got {actual} data values for {expected} data leaves; pass one \
                 value per data leaf, in the order given to Tape::compile_with_data"
            ),
            Error::ReplayWeightCount { expected, actual } => write!(
                f,
                "vjp: got {actual} weights for {expected} outputs; pass one weight per output"
            ),
            Error::BatchPoint { index, error } => write!(f, "batch point {index}: {error}"),
            Error::NoPredictions => f.write_str("accuracy needs at least one prediction, got none"),
            Error::LabelCount {
                predictions,
                labels,
            } => write!(
                f,
                "got {predictions} predictions and {labels} labels; pass one label per prediction"
            ),
            Error::BadLabel {
                index,
                label,
                classes,
            } => write!(
                f,
                "label {index} must be a class index, an integer from 0 below {classes}, got {label}"
            ),
            Error::OutputCount {
                index,
                expected,
                actual,
            } => write!(
                f,
                "prediction {index} has {actual} outputs, expected {expected}"
            ),
            Error::UnknownActivation { text } => write!(
                f,
                "unknown activation `{text}`; expected identity, sigmoid, tanh, relu, \
                 leaky_relu(<finite slope>) or softplus"
            ),
            Error::DuplicateParameter { name } => write!(
                f,
                "two parameters are named {name:?}; each parameter needs its own name"
            ),
            Error::ParameterCount {
                architecture,
                expected,
                actual,
            } => write!(
                f,
                "the architecture {architecture} has {expected} parameters, got {actual}"
            ),
            Error::ParameterName {
                index,
                expected,
                actual,
            } => write!(
                f,
                "parameter {index} must be named {expected:?}, got {actual:?}"
            ),
            Error::InvalidState {
                quantity,
                index,
                expected,
                value,
            } => write!(
                f,
                "the {quantity} of parameter {index} must be {expected}, got {value}"
            ),
            Error::MomentCount { first, second } => write!(
                f,
                "adam state holds {first} first moments and {second} second moments; it needs \
                 one of each per parameter"
            ),
            Error::BatchShape { outputs, data } => write!(
                f,
                "a batch replays a per-point loss with one output and data leaves, got a compiled \
                 tape with {outputs} outputs and {data} data leaves; compile the loss of one point \
                 with Tape::compile_with_data"
            ),
            Error::BatchData { len, per_point } => write!(
                f,
                "batch data holds {len} numbers, not a whole number of points of {per_point}; \
                 pass the points one after the other"
            ),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::BatchPoint { error, .. } => Some(error.as_ref()),
            _ => None,
        }
    }
}

/// A parameter as messages name it: `3 (layer0.neuron0.b)`, or `3` without a name.
struct Parameter<'a>(usize, Option<&'a str>);

impl fmt::Display for Parameter<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.1 {
            Some(name) => write!(f, "{} ({name})", self.0),
            None => write!(f, "{}", self.0),
        }
    }
}
