//! `Var`: a handle to one node of a tape, carrying its value.

use std::fmt;

use crate::ops::record::Layout;
use crate::ops::{Binary, Unary};
use crate::tape::NodeId;
use crate::{Gradients, Scalar, Tape};

/// A value recorded on a [`Tape`]: an input, a parameter or an intermediate result.
///
/// `Var` is a small `Copy` handle (the tape, the node's index and its value). Arithmetic on Vars
/// records one node per operation; [`backward`](Var::backward) differentiates the Var with respect
/// to every node recorded before it.
///
/// # Examples
///
/// ```
/// use tapegrad::{Gradients, Tape, Var};
///
/// let tape = Tape::new();
/// let x: Var<'_> = tape.var(2.0);
/// let y = tape.var(-3.0);
/// let z = (x * y + x.sin() * 3.0 - 1.0 / y).tanh();
/// let v: f64 = z.value();
/// let g: Gradients = z.backward();
/// let dz_dx: f64 = g.wrt(x);
/// assert_eq!(g.wrt(y), g[y]);
/// assert!(v.is_finite() && dz_dx.is_finite());
/// ```
#[derive(Clone, Copy)]
pub struct Var<'t, T: Scalar = f64> {
    tape: &'t Tape<T>,
    id: NodeId,
    value: T,
}

impl<T: Scalar> fmt::Debug for Var<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Var({} = {:?})", self.id, self.value)
    }
}

impl<T: Scalar> fmt::Display for Var<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.value, f)
    }
}

/// Panics because an operation received Vars of two different tapes.
#[cold]
#[inline(never)]
#[track_caller]
pub(crate) fn mixed_tapes(op: &str) -> ! {
    panic!("Var from another Tape passed to '{op}'; build all inputs on one tape")
}

impl<'t, T: Scalar> Var<'t, T> {
    #[inline(always)]
    pub(crate) fn from_parts(tape: &'t Tape<T>, id: NodeId, value: T) -> Self {
        Var { tape, id, value }
    }

    /// The value computed when this Var was recorded.
    ///
    /// # Examples
    ///
    /// ```
    /// use tapegrad::Tape;
    ///
    /// let tape = Tape::new();
    /// let x = tape.var(3.0);
    /// assert_eq!((x * x + 1.0).value(), 10.0);
    /// ```
    #[inline(always)]
    pub fn value(self) -> T {
        self.value
    }

    /// The index of this Var's node on its tape.
    #[inline(always)]
    pub fn id(self) -> NodeId {
        self.id
    }

    /// The tape this Var was recorded on.
    #[inline(always)]
    pub fn tape(self) -> &'t Tape<T> {
        self.tape
    }

    /// Differentiates this Var with respect to every node recorded before it: one reverse sweep
    /// over the tape.
    ///
    /// May be called on any Var, any number of times; each call returns fresh [`Gradients`] and
    /// gives the same numbers, bit for bit. The gradient with respect to a Var this one does not
    /// depend on (including any Var recorded after it) is exactly 0.
    ///
    /// # Examples
    ///
    /// ```
    /// use tapegrad::Tape;
    ///
    /// let tape = Tape::new();
    /// let x = tape.var(3.0);
    /// let y = x * x;
    /// let z = y.ln();
    /// assert_eq!(y.backward().wrt(x), 6.0);
    /// assert_eq!(z.backward().wrt(x), 2.0 / 3.0);
    /// ```
    pub fn backward(self) -> Gradients<T> {
        crate::gradients::backward(self)
    }

    /// A constant with this Var's value: gradients do not flow through it.
    ///
    /// # Examples
    ///
    /// ```
    /// use tapegrad::Tape;
    ///
    /// let tape = Tape::new();
    /// let x = tape.var(3.0);
    /// // d/dx [x * stop(x)] = stop(x) = 3, not 2x = 6.
    /// let g = (x * x.detach()).backward();
    /// assert_eq!(g[x], 3.0);
    /// ```
    #[inline]
    pub fn detach(self) -> Self {
        self.tape.constant(self.value)
    }

    /// Gives this Var a name for explanations and graph export, and returns it.
    ///
    /// Names cost nothing for the nodes that have none.
    ///
    /// # Examples
    ///
    /// ```
    /// use tapegrad::Tape;
    ///
    /// let tape = Tape::new();
    /// let w = tape.var(0.5).named("w1");
    /// assert_eq!(w.name(), "w1");
    /// assert_eq!((w * 2.0).name(), "v1");
    /// ```
    pub fn named(self, name: impl Into<String>) -> Self {
        self.tape.set_name(self.id, name.into());
        self
    }

    /// The name given with [`named`](Var::named), or `v` followed by the node's index.
    pub fn name(self) -> String {
        self.tape
            .name_of(self.id)
            .unwrap_or_else(|| format!("v{}", self.id.0))
    }

    /// Records a one-input operation, in the layout its shape gives ([`Layout::fixed`]): the
    /// operand and the auxiliary word the entry writes, the partial unless it is ±1, and the
    /// constant the entry keeps.
    #[inline(always)]
    pub(crate) fn unary(self, op: Unary<T>) -> Self {
        let (value, partial) = op.eval(self.value);
        let kind = op.kind();
        let (words, stored) = Layout::fixed(kind.shape());
        let parents = [self.id.0, op.aux().unwrap_or(0)];
        let constant = op.constant();
        let id = self.tape.push(
            kind,
            &parents[..words],
            &[partial][..stored],
            constant.as_slice(),
        );
        Var::from_parts(self.tape, id, value)
    }

    /// Records a two-input operation; `name` is the operator shown if the tapes differ.
    #[inline(always)]
    #[track_caller]
    pub(crate) fn binary(self, other: Self, op: Binary, name: &str) -> Self {
        if !std::ptr::eq(self.tape, other.tape) {
            mixed_tapes(name);
        }
        let (value, dx, dy) = op.eval(self.value, other.value);
        let kind = op.kind();
        let (_, stored) = Layout::fixed(kind.shape());
        let id = self
            .tape
            .push(kind, &[self.id.0, other.id.0], &[dx, dy][..stored], &[]);
        Var::from_parts(self.tape, id, value)
    }
}
