//! The errors tapegrad returns.

use std::fmt;

use crate::{NodeId, OpKind};

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
            Error::ForeignVar { op, node } => write!(
                f,
                "output {node} passed to '{op}' was recorded on another tape; \
                 call it on the tape that recorded the output"
            ),
        }
    }
}

impl std::error::Error for Error {}
