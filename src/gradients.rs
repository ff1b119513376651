//! The reverse sweep — the one place where the chain rule is applied — and its results.
//!
//! [`Var::backward`] seeds the output's adjoint with one, walks the nodes from the output down to
//! the first, and for each recorded `(parent, partial)` adds `partial * adjoint[node]` to
//! `adjoint[parent]`. The tape's order is a topological order, so when the sweep reaches a node
//! every use of it has already been accounted for: its adjoint is complete.
//!
//! One other loop makes the same updates: a compiled tape's backward pass
//! (`src/replay/program.rs`), over an instruction encoding of its own with the fusions it
//! allows. It must make exactly these updates in exactly this order; the replay tests compare
//! the two to the bit, over random expressions, so the copies cannot drift apart unnoticed.

use std::fmt;
use std::ops::Index;

use crate::ops::record::Layout;
use crate::ops::{OpKind, Shape, Sign};
use crate::tape::{NodeId, Storage, pool};
use crate::{Error, Scalar, Tape, Var};

/// The gradient of one output with respect to every node recorded before it.
///
/// Read it with [`wrt`](Gradients::wrt) or by indexing with a [`Var`]. The gradient with respect
/// to a Var the output does not depend on — including a Var recorded after the output — is
/// exactly 0.
///
/// # Examples
///
/// ```
/// use tapegrad::{Gradients, Tape};
///
/// let tape = Tape::new();
/// let x = tape.var(3.0);
/// let unused = tape.var(1.0);
/// let g: Gradients = (x * x).backward();
/// assert_eq!(g.wrt(x), 6.0);
/// assert_eq!(g[x], 6.0);
/// assert_eq!(g[unused], 0.0);
/// ```
pub struct Gradients<T: Scalar = f64> {
    adjoints: Vec<T>,
    tape_id: u64,
    /// What `g[x]` refers to for a Var recorded after the output.
    zero: T,
}

impl<T: Scalar> fmt::Debug for Gradients<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Gradients")
            .field("adjoints", &self.adjoints)
            .finish()
    }
}

impl<T: Scalar> Clone for Gradients<T> {
    fn clone(&self) -> Self {
        let mut adjoints = fresh_buffer::<T>();
        adjoints.extend_from_slice(&self.adjoints);
        Gradients {
            adjoints,
            tape_id: self.tape_id,
            zero: T::zero(),
        }
    }
}

impl<T: Scalar> Drop for Gradients<T> {
    fn drop(&mut self) {
        let mut adjoints = std::mem::take(&mut self.adjoints);
        let bytes = adjoints.capacity() * std::mem::size_of::<T>();
        adjoints.clear();
        pool::give(adjoints, bytes);
    }
}

/// An empty adjoint buffer, reusing one given back by a dropped [`Gradients`] if possible.
fn fresh_buffer<T: Scalar>() -> Vec<T> {
    pool::take::<Vec<T>>().unwrap_or_default()
}

#[cold]
#[inline(never)]
#[track_caller]
fn foreign_var(what: &str) -> ! {
    panic!(
        "{what}: Var from another Tape, or recorded after Tape::clear; \
         read gradients with Vars of the recording that computed them"
    )
}

impl<T: Scalar> Gradients<T> {
    /// The gradient of the output with respect to `x`: `∂output/∂x`.
    ///
    /// # Panics
    ///
    /// When `x` belongs to another tape, or to a later recording of this one (after
    /// [`Tape::clear`]).
    ///
    /// # Examples
    ///
    /// ```
    /// use tapegrad::Tape;
    ///
    /// let tape = Tape::new();
    /// let x = tape.var(2.0);
    /// let g = x.exp().backward();
    /// assert_eq!(g.wrt(x), 2f64.exp());
    /// ```
    #[inline]
    #[track_caller]
    pub fn wrt(&self, x: Var<'_, T>) -> T {
        if x.tape().id() != self.tape_id {
            foreign_var("Gradients::wrt");
        }
        self.adjoints
            .get(x.id().index())
            .copied()
            .unwrap_or_else(T::zero)
    }

    /// The gradients with respect to each of `xs`, in order.
    ///
    /// # Examples
    ///
    /// ```
    /// use tapegrad::Tape;
    ///
    /// let tape = Tape::new();
    /// let xs = tape.vars(&[1.0, 2.0]);
    /// let g = (xs[0] * xs[1]).backward();
    /// assert_eq!(g.wrt_all(&xs), vec![2.0, 1.0]);
    /// ```
    pub fn wrt_all(&self, xs: &[Var<'_, T>]) -> Vec<T> {
        xs.iter().map(|&x| self.wrt(x)).collect()
    }

    /// The adjoint of every node up to the output, indexed by [`NodeId::index`].
    ///
    /// # Examples
    ///
    /// ```
    /// use tapegrad::Tape;
    ///
    /// let tape = Tape::new();
    /// let x = tape.var(2.0);
    /// let y = x * 3.0;
    /// assert_eq!(y.backward().adjoints(), &[3.0, 1.0]);
    /// ```
    pub fn adjoints(&self) -> &[T] {
        &self.adjoints
    }
}

impl<'t, T: Scalar> Index<Var<'t, T>> for Gradients<T> {
    type Output = T;

    /// `g[x]` is [`g.wrt(x)`](Gradients::wrt).
    #[inline]
    #[track_caller]
    fn index(&self, x: Var<'t, T>) -> &T {
        if x.tape().id() != self.tape_id {
            foreign_var("Gradients[Var]");
        }
        self.adjoints.get(x.id().index()).unwrap_or(&self.zero)
    }
}

/// Moves the operand cursors `(p, q)` back over node `i`, returning where its operands start.
#[inline(always)]
fn step_back<T>(s: &Storage<T>, shape: Shape, p: usize, q: usize) -> (usize, usize) {
    let (words, stored) = Layout::backward(s, shape, p);
    (p - words, q - stored)
}

/// Where the operands of the nodes `0..end` end on the parent and partial stacks.
pub(crate) fn operand_ends<T>(s: &Storage<T>, end: usize) -> (usize, usize) {
    let (mut p, mut q) = (s.parents.len(), s.partials.len());
    for i in (end..s.kinds.len()).rev() {
        (p, q) = step_back(s, s.kinds[i].shape(), p, q);
    }
    (p, q)
}

#[inline(always)]
fn signed<T: Scalar>(sign: Sign, a: T) -> T {
    match sign {
        Sign::Plus => a,
        Sign::Minus => -a,
    }
}

/// The terms a node whose partials are ±1 ([`Shape::UnitUnary`], [`Shape::UnitBinary`]) passes
/// to its operands from its adjoint `a`, in operand order (the second unused for one operand):
/// the sweep's rule for such a node, which a compiled tape's instructions apply too.
#[inline(always)]
pub(crate) fn unit_terms<T: Scalar>(shape: Shape, a: T) -> (T, T) {
    match shape {
        Shape::UnitUnary(sign) => (signed(sign, a), T::zero()),
        Shape::UnitBinary(sign) => (a, signed(sign, a)),
        other => unreachable!("invariant: {other:?} has stored partials, not ±1"),
    }
}

/// The reverse sweep over the nodes `0..adj.len()`, whose adjoints must hold the seeds.
///
/// For every edge `node → parent` whose node has a non-zero adjoint it adds
/// `partial * adjoint[node]` to `adjoint[parent]`, then calls `visit(node, parent, partial,
/// adjoint[node], adjoint[parent])` with the parent's updated adjoint. Constants end with adjoint
/// 0. Pass `|_, _, _, _, _| {}` to pay nothing for the visit.
#[inline(always)]
pub(crate) fn sweep<T: Scalar>(
    s: &Storage<T>,
    adj: &mut [T],
    mut visit: impl FnMut(u32, u32, T, T, T),
) {
    let zero = T::zero();
    let (mut p, mut q) = operand_ends(s, adj.len());
    let parents = &s.parents[..p];
    let partials = &s.partials[..q];
    for (i, &kind) in s.kinds[..adj.len()].iter().enumerate().rev() {
        let a = adj[i];
        let node = i as u32;
        // Each arm moves the cursors back over the node's operands, then — unless the adjoint is
        // zero and there is nothing to pass on — adds `partial * a` to each parent's adjoint.
        match kind.shape() {
            Shape::Leaf => {
                if kind == OpKind::Const {
                    adj[i] = zero;
                }
            }
            shape @ Shape::UnitUnary(sign) => {
                p -= 1;
                if a != zero {
                    let x = parents[p] as usize;
                    adj[x] += unit_terms(shape, a).0;
                    visit(node, x as u32, signed(sign, T::one()), a, adj[x]);
                }
            }
            shape @ (Shape::Unary | Shape::UnaryAux) => {
                // `powi` keeps its exponent after its operand.
                p -= if shape == Shape::UnaryAux { 2 } else { 1 };
                q -= 1;
                if a != zero {
                    let x = parents[p] as usize;
                    let d = partials[q];
                    adj[x] += d * a;
                    visit(node, x as u32, d, a, adj[x]);
                }
            }
            shape @ Shape::UnitBinary(sign) => {
                p -= 2;
                if a != zero {
                    let (x, y) = (parents[p] as usize, parents[p + 1] as usize);
                    let (tx, ty) = unit_terms(shape, a);
                    adj[x] += tx;
                    visit(node, x as u32, T::one(), a, adj[x]);
                    adj[y] += ty;
                    visit(node, y as u32, signed(sign, T::one()), a, adj[y]);
                }
            }
            Shape::Binary => {
                p -= 2;
                q -= 2;
                if a != zero {
                    let (x, y) = (parents[p] as usize, parents[p + 1] as usize);
                    let (dx, dy) = (partials[q], partials[q + 1]);
                    adj[x] += dx * a;
                    visit(node, x as u32, dx, a, adj[x]);
                    adj[y] += dy * a;
                    visit(node, y as u32, dy, a, adj[y]);
                }
            }
            Shape::UnitNary => {
                let n = parents[p - 1] as usize;
                let end = p - 1;
                p -= n + 2;
                if a != zero {
                    for &x in &parents[p + 1..end] {
                        adj[x as usize] += a;
                        visit(node, x, T::one(), a, adj[x as usize]);
                    }
                }
            }
            Shape::Guard(words) => p -= words as usize,
            Shape::Nary => {
                let n = parents[p - 1] as usize;
                let end = p - 1;
                p -= n + 2;
                q -= n;
                if a != zero {
                    let operands = &parents[p + 1..end];
                    for (&x, &d) in operands.iter().zip(&partials[q..q + n]) {
                        adj[x as usize] += d * a;
                        visit(node, x, d, a, adj[x as usize]);
                    }
                }
            }
        }
    }
}

/// A zeroed adjoint buffer for the nodes `0..=output`.
fn seeded<T: Scalar>(len: usize) -> Vec<T> {
    let mut adj = fresh_buffer::<T>();
    adj.resize(len, T::zero());
    adj
}

/// `output.backward()`: one reverse sweep seeded with `∂output/∂output = 1`.
pub(crate) fn backward<T: Scalar>(output: Var<'_, T>) -> Gradients<T> {
    let tape = output.tape();
    let mut adjoints = seeded::<T>(output.id().index() + 1);
    adjoints[output.id().index()] = T::one();
    tape.with_storage(|s| sweep(s, &mut adjoints, |_, _, _, _, _| {}));
    Gradients {
        adjoints,
        tape_id: tape.id(),
        zero: T::zero(),
    }
}

/// The Jacobian of several outputs with respect to several inputs: row `i`, column `j` holds
/// `∂outputs[i]/∂inputs[j]`.
///
/// # Examples
///
/// ```
/// use tapegrad::Tape;
///
/// let tape = Tape::new();
/// let x = tape.var(2.0);
/// let y = tape.var(3.0);
/// let j = tape.jacobian(&[x * y, x + y.sin()], &[x, y]);
/// assert_eq!(j.row(0), &[3.0, 2.0]);
/// assert_eq!(j[(1, 1)], 3f64.cos());
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Jacobian<T = f64> {
    rows: usize,
    cols: usize,
    data: Vec<T>,
}

impl<T> Jacobian<T> {
    /// The number of outputs.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// The number of inputs.
    pub fn cols(&self) -> usize {
        self.cols
    }

    /// The gradient of output `i` with respect to every input.
    ///
    /// # Panics
    ///
    /// When `i` is not below [`rows`](Jacobian::rows).
    ///
    /// # Examples
    ///
    /// ```
    /// use tapegrad::Tape;
    ///
    /// let tape = Tape::new();
    /// let x = tape.var(2.0);
    /// let j = tape.jacobian(&[x * x, x.exp()], &[x]);
    /// assert_eq!(j.row(0), &[4.0]);
    /// assert_eq!(j.row(1), &[2f64.exp()]);
    /// ```
    #[track_caller]
    pub fn row(&self, i: usize) -> &[T] {
        assert!(
            i < self.rows,
            "jacobian row {i} out of range for {} outputs; rows are numbered from 0",
            self.rows
        );
        &self.data[i * self.cols..(i + 1) * self.cols]
    }

    /// All entries, row after row.
    pub fn as_slice(&self) -> &[T] {
        &self.data
    }
}

impl<T> Index<(usize, usize)> for Jacobian<T> {
    type Output = T;

    #[track_caller]
    fn index(&self, (i, j): (usize, usize)) -> &T {
        assert!(
            i < self.rows && j < self.cols,
            "jacobian index ({i}, {j}) out of range for {} outputs and {} inputs",
            self.rows,
            self.cols
        );
        &self.data[i * self.cols + j]
    }
}

impl<T: Scalar> Tape<T> {
    /// The Jacobian `∂outputs[i]/∂inputs[j]`: one reverse sweep per output, through one reused
    /// adjoint buffer.
    ///
    /// # Panics
    ///
    /// When a Var belongs to another tape.
    ///
    /// # Examples
    ///
    /// ```
    /// use tapegrad::Tape;
    ///
    /// let tape = Tape::new();
    /// let r = tape.var(2.0);
    /// let t = tape.var(0.0);
    /// // polar to Cartesian: x = r cos t, y = r sin t
    /// let j = tape.jacobian(&[r * t.cos(), r * t.sin()], &[r, t]);
    /// assert_eq!(j.as_slice(), &[1.0, 0.0, 0.0, 2.0]);
    /// ```
    pub fn jacobian<'t>(&'t self, outputs: &[Var<'t, T>], inputs: &[Var<'t, T>]) -> Jacobian<T> {
        for v in outputs.iter().chain(inputs) {
            self.assert_owns(*v, "jacobian");
        }
        let mut data = Vec::with_capacity(outputs.len() * inputs.len());
        let mut adj = fresh_buffer::<T>();
        for out in outputs {
            adj.clear();
            adj.resize(out.id().index() + 1, T::zero());
            adj[out.id().index()] = T::one();
            self.with_storage(|s| sweep(s, &mut adj, |_, _, _, _, _| {}));
            data.extend(
                inputs
                    .iter()
                    .map(|x| adj.get(x.id().index()).copied().unwrap_or_else(T::zero)),
            );
        }
        let bytes = adj.capacity() * std::mem::size_of::<T>();
        adj.clear();
        pool::give(adj, bytes);
        Jacobian {
            rows: outputs.len(),
            cols: inputs.len(),
            data,
        }
    }

    /// The gradient of the weighted sum `Σ weights[i] * outputs[i]` in one reverse sweep (a
    /// vector–Jacobian product).
    ///
    /// # Panics
    ///
    /// When the slices differ in length or a Var belongs to another tape.
    ///
    /// # Examples
    ///
    /// ```
    /// use tapegrad::Tape;
    ///
    /// let tape = Tape::new();
    /// let x = tape.var(2.0);
    /// let g = tape.vjp(&[x * x, x.sin()], &[1.0, 10.0]);
    /// assert_eq!(g[x], 4.0 + 10.0 * 2f64.cos());
    /// ```
    pub fn vjp<'t>(&'t self, outputs: &[Var<'t, T>], weights: &[T]) -> Gradients<T> {
        assert!(
            outputs.len() == weights.len(),
            "vjp: got {} outputs and {} weights; pass slices of equal length",
            outputs.len(),
            weights.len()
        );
        for v in outputs {
            self.assert_owns(*v, "vjp");
        }
        let len = outputs
            .iter()
            .map(|o| o.id().index() + 1)
            .max()
            .unwrap_or(0);
        let mut adjoints = seeded::<T>(len);
        for (o, &w) in outputs.iter().zip(weights) {
            adjoints[o.id().index()] += w;
        }
        self.with_storage(|s| sweep(s, &mut adjoints, |_, _, _, _, _| {}));
        Gradients {
            adjoints,
            tape_id: self.id(),
            zero: T::zero(),
        }
    }
}

impl<'t, T: Scalar> Var<'t, T> {
    /// [`backward`](Var::backward), checking that every value and adjoint on the way is finite.
    ///
    /// Costs a forward replay of the tape and a second look at each edge; use it to find where a
    /// NaN or infinity first appeared, not in the inner loop.
    ///
    /// # Errors
    ///
    /// [`Error::NonFiniteValue`] naming the first node (index and operation) the output depends
    /// on whose value is NaN or infinite — nodes off its path are not its concern —, else [`Error::NonFiniteAdjoint`] naming the first node, in the sweep's order,
    /// whose adjoint became NaN or infinite, and the operation it came through.
    ///
    /// # Examples
    ///
    /// ```
    /// use tapegrad::{Error, Tape};
    ///
    /// let tape = Tape::new();
    /// let x = tape.var(0.0);
    /// let y = x.sqrt() * 2.0;
    /// let err = y.backward_checked().unwrap_err();
    /// assert_eq!(
    ///     err.to_string(),
    ///     "adjoint of node #0 (var) became inf through node #1 (sqrt), whose partial is inf"
    /// );
    /// ```
    pub fn backward_checked(self) -> Result<Gradients<T>, Error> {
        let tape = self.tape();
        let end = self.id().index() + 1;
        let bad_value = tape.with_storage(|s| {
            let values = crate::ops::forward::values(s, end);
            let first = values.iter().position(|v| !v.is_finite())?;
            // Only a node the output depends on can spoil it: a NaN recorded beside the output
            // (another loss, an unused branch) is none of this backward's business.
            let records = crate::ops::record::decode(s, end);
            let needed = crate::explain::depends_on(s, &records, end - 1);
            (first..end)
                .find(|&i| needed[i] && !values[i].is_finite())
                .map(|i| (i, s.kinds[i], values[i]))
        });
        if let Some((i, op, value)) = bad_value {
            return Err(Error::NonFiniteValue {
                node: NodeId(i as u32),
                op,
                value: value.to_f64(),
            });
        }
        let mut adjoints = seeded::<T>(end);
        adjoints[end - 1] = T::one();
        let mut first = None;
        tape.with_storage(|s| {
            sweep(s, &mut adjoints, |node, parent, partial, _, after| {
                if first.is_none() && !after.is_finite() {
                    first = Some((node, parent, partial, after));
                }
            });
            first.map(|(node, parent, partial, after)| Error::NonFiniteAdjoint {
                node: NodeId(parent),
                op: s.kinds[parent as usize],
                adjoint: after.to_f64(),
                via: NodeId(node),
                via_op: s.kinds[node as usize],
                partial: partial.to_f64(),
            })
        })
        .map_or(
            Ok(Gradients {
                adjoints,
                tape_id: tape.id(),
                zero: T::zero(),
            }),
            Err,
        )
    }
}

#[cfg(test)]
mod tests {
    use crate::Tape;

    #[test]
    fn sweep_skips_the_nodes_after_the_output() {
        let tape = Tape::new();
        let x = tape.var(2.0);
        let y = x * x;
        let _later = tape.sum(&[y, x, y]);
        let _more = y.sin();
        let g = y.backward();
        assert_eq!(g.adjoints(), &[4.0, 1.0]);
    }

    #[test]
    fn a_constant_ends_with_adjoint_zero() {
        let tape = Tape::new();
        let c = tape.constant(2.0);
        let x = tape.var(3.0);
        let g = (c * x).backward();
        assert_eq!(g.adjoints()[0], 0.0);
        assert_eq!(g[x], 2.0);
    }
}
