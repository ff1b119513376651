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
    /// A compiled tape would contain a custom operation, whose value and partials replay cannot
    /// recompute ([`Tape::compile`](crate::Tape::compile)).
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
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::NonFiniteValue { node, op, value } => write!(
                f,
                "value of node {node} ({}) is {value}; it is the first non-finite value on the tape",
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
            Error::ReplayCustomOp { node } => write!(
                f,
                "node {node} is a custom operation, whose value and partials replay cannot \
                 recompute; write it with built-in operations or record the tape for each input"
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
        }
    }
}

impl std::error::Error for Error {}
