//! Record once, replay many: a recorded tape compiled into a function of new input values.
//!
//! Recording a tape costs a push per operation, and a fresh tape per evaluation when the inputs
//! change. When the computation itself does not change — the same network, the same loss, only
//! new parameter values or new data — [`Tape::compile`] turns one recording into a
//! [`CompiledTape`]: a flat program of fixed-size instructions that, given new input values,
//! recomputes every value through the same rules as recording ([`crate::ops`]) and makes the same
//! reverse-sweep updates as [`crate::gradients`], in the same order, in buffers it keeps. Its
//! results equal those of recording afresh on the same inputs, bit for bit, and after the first
//! call it allocates nothing.
//!
//! # When a replay is valid
//!
//! A tape records the operations that ran, not the program that ran them. Replaying it on new
//! inputs is right exactly when recording afresh on those inputs would record the same
//! operations. That holds when:
//!
//! - every branch that depends on a value goes through a recorded comparison
//!   ([`Var::lt`](crate::Var::lt), [`le`](crate::Var::le), [`gt`](crate::Var::gt),
//!   [`ge`](crate::Var::ge)). Replay re-evaluates each one and returns
//!   [`Error::BranchChanged`] when it comes out differently, instead of computing on the wrong
//!   branch. An `if x.value() < 0.0` in plain Rust is invisible to the tape and is *not* checked;
//! - loop counts and sizes do not depend on values (a loop "until converged" records as many
//!   iterations as it took for the recorded inputs, and replays exactly that many);
//! - values read with [`Var::value`](crate::Var::value) and used in plain Rust arithmetic — in
//!   `x * y.value()`, say — are constants of the recording and stay so on replay;
//! - the tape holds no custom operation recorded with numbers ([`Tape::custom`]) that the outputs
//!   or a comparison depend on: its value and partials were supplied by user code that replay
//!   cannot run again, so [`Tape::compile`] refuses it with [`Error::ReplayCustomOp`]. A custom
//!   operation recorded with its rule ([`Tape::custom_rule`]) replays; the losses of
//!   [`crate::loss`] are recorded that way.
//!
//! The kinks of `relu`, `leaky_relu`, `abs`, `max` and `min` need no guard: their rules pick the
//! piece the new inputs call for, as recording would.
//!
//! Data that changes from call to call (a training point, its target) must be recorded as leaves
//! and passed to [`Tape::compile_with_data`]: `tape.dot(&w, &data)` with plain numbers bakes the
//! numbers into the node. [`Mlp::compile_loss`](crate::nn::Mlp::compile_loss) does this for a
//! network's loss.
//!
//! Leaves that are not among the compiled inputs (parameters left out, [`Tape::constant`]s,
//! detached values) keep the values they were recorded with. Nodes that neither an output nor a
//! comparison depends on are left out of the program; comparisons recorded after the last output
//! are not checked.
//!
//! # Examples
//!
//! ```
//! use tapegrad::Tape;
//! # fn main() -> Result<(), tapegrad::Error> {
//! let tape = Tape::new();
//! let x = tape.var(1.0);
//! let y = tape.var(2.0);
//! let z = x * y + x.sin();
//! let mut f = tape.compile(&[x, y], &[z])?;
//!
//! let r = f.run(&[3.0, -1.0])?;
//! // z = xy + sin x, dz/dx = y + cos x, dz/dy = x
//! assert_eq!(r.value(), 3.0 * -1.0 + 3f64.sin());
//! assert_eq!(r.grad(), &[-1.0 + 3f64.cos(), 3.0]);
//! # Ok(())
//! # }
//! ```

use std::fmt;
use std::ops::Range;

use crate::gradients::operand_ends;
use crate::ops::compare::Comparison;
use crate::ops::record::Layout;
use crate::ops::{OpKind, Shape};
use crate::tape::{NodeId, Storage};
use crate::{Error, Scalar, Tape, Var};

pub(crate) use program::Passes;
use program::Program;

mod nn;
mod program;

/// A recorded tape compiled into a function of new input values: it returns the outputs and their
/// gradients with respect to every input, bit for bit as recording afresh would, and allocates
/// nothing after its first call.
///
/// Built by [`Tape::compile`]; it owns its program and buffers and does not borrow the tape, which
/// can be cleared or dropped. The module documentation ([`crate::replay`]) says when a replay is
/// valid.
///
/// # Examples
///
/// Record a function once, then evaluate its gradient at many points:
///
/// ```
/// use tapegrad::Tape;
/// # fn main() -> Result<(), tapegrad::Error> {
/// let mut tape = Tape::new();
/// let mut f = {
///     let x = tape.vars(&[0.0, 0.0]);
///     let rosenbrock = (1.0 - x[0]).powi(2) + 100.0 * (x[1] - x[0].powi(2)).powi(2);
///     tape.compile(&x, &[rosenbrock])?
/// };
/// tape.clear(); // the compiled tape does not need the recording any more
///
/// let r = f.run(&[1.0, 1.0])?;
/// assert_eq!(r.value(), 0.0);
/// assert_eq!(r.grad(), &[0.0, 0.0]);
/// let r = f.run(&[0.0, 1.0])?;
/// assert_eq!(r.value(), 101.0);
/// assert_eq!(r.grad(), &[-2.0, 200.0]);
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct CompiledTape<T: Scalar = f64> {
    /// The instructions both passes run.
    program: Program<T>,
    /// The kind of every node of the program, leaves first.
    kinds: Vec<OpKind>,
    /// The value of every node; leaves that are not inputs keep their recorded value.
    values: Vec<T>,
    /// The adjoint buffer of the reverse sweep. Between calls every slot but the leaves' holds
    /// zero: a sweep sets each slot it passes on back to zero, so the next one zeroes only the
    /// leaves.
    adjoints: Vec<T>,
    /// Gradients, one row of `inputs.len()` per output (or one row for [`CompiledTape::vjp`]).
    grads: Vec<T>,
    /// Output values, in the order given to `compile`.
    out_values: Vec<T>,
    /// Program index of each input.
    inputs: Vec<u32>,
    /// `Some(first)` when the inputs are Vars in the consecutive slots `first..first + n`, in
    /// order — as `tape.vars(..)` makes them: binding them and reading their gradient are then
    /// slice copies.
    vars_run: Option<usize>,
    /// Program index of each data leaf: bound like an input, not differentiated.
    data: Vec<u32>,
    /// Program index of each output.
    outputs: Vec<u32>,
    /// The number of nodes on the tape the program was compiled from.
    recorded_len: usize,
}

impl<T: Scalar> fmt::Debug for CompiledTape<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CompiledTape")
            .field("inputs", &self.inputs.len())
            .field("data", &self.data.len())
            .field("outputs", &self.outputs.len())
            .field("nodes", &self.kinds.len())
            .field("recorded_nodes", &self.recorded_len)
            .finish()
    }
}

/// The result of one replay: the output values and the gradients, borrowed from the
/// [`CompiledTape`] until its next call.
///
/// # Examples
///
/// ```
/// use tapegrad::Tape;
/// # fn main() -> Result<(), tapegrad::Error> {
/// let tape = Tape::new();
/// let x = tape.var(1.0);
/// let mut f = tape.compile(&[x], &[x * x, x.exp()])?;
/// let r = f.run(&[2.0])?;
/// assert_eq!(r.values(), &[4.0, 2f64.exp()]);
/// assert_eq!(r.grad_of(0), &[4.0]);
/// assert_eq!(r.grad_of(1), &[2f64.exp()]);
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Replay<'a, T = f64> {
    values: &'a [T],
    grads: &'a [T],
    inputs: usize,
}

impl<'a, T: Copy> Replay<'a, T> {
    /// The value of the first output.
    pub fn value(&self) -> T {
        self.values[0]
    }

    /// The values of all outputs, in the order given to [`Tape::compile`].
    pub fn values(&self) -> &'a [T] {
        self.values
    }

    /// The gradient of the first output with respect to every input, in the order given to
    /// [`Tape::compile`] (for [`CompiledTape::vjp`]: the gradient of the weighted sum).
    pub fn grad(&self) -> &'a [T] {
        self.grad_of(0)
    }

    /// The gradient of output `k` with respect to every input.
    ///
    /// # Panics
    ///
    /// When there is no gradient row `k` (after [`CompiledTape::vjp`] there is only row 0).
    #[track_caller]
    pub fn grad_of(&self, k: usize) -> &'a [T] {
        // Found without dividing: this is called once per step of a training loop.
        let n = self.inputs;
        let row = k.checked_mul(n).and_then(|at| Some(at..at.checked_add(n)?));
        match row.and_then(|row| self.grads.get(row)) {
            Some(grad) if n > 0 || k < self.values.len() => grad,
            _ => no_row(k, self.grads.len() / n.max(1)),
        }
    }
}

#[cold]
#[inline(never)]
#[track_caller]
fn no_row(k: usize, rows: usize) -> ! {
    panic!("replay: no gradient row {k}; this replay has {rows}")
}

impl<T: Scalar> Tape<T> {
    /// Compiles the recording into a [`CompiledTape`]: a function from new values of `inputs` to
    /// the values of `outputs` and their gradients with respect to `inputs`.
    ///
    /// `inputs` are leaves ([`Tape::var`], or [`Tape::constant`] for data that needs no
    /// gradient), bound in the order given; every other leaf keeps its recorded value. The
    /// program keeps only the nodes an output or a comparison depends on. The module
    /// documentation ([`crate::replay`]) says when a replay is valid.
    ///
    /// # Errors
    ///
    /// - [`Error::ReplayNoOutputs`] when `outputs` is empty;
    /// - [`Error::ReplayNotLeaf`] when an input is not a leaf, naming its position in `inputs`;
    /// - [`Error::ReplayLeafTwice`] when an input is given twice, naming both positions;
    /// - [`Error::ReplayCustomOp`] when an output or a comparison depends on a custom operation
    ///   ([`Tape::custom`]), whose value and partials replay cannot recompute.
    ///
    /// # Panics
    ///
    /// When a Var belongs to another tape.
    ///
    /// # Examples
    ///
    /// ```
    /// use tapegrad::Tape;
    /// # fn main() -> Result<(), tapegrad::Error> {
    /// let tape = Tape::new();
    /// let w = tape.var(0.5);
    /// let x = tape.constant(2.0); // a data point, bound as an input
    /// let loss = (w * x - 1.0).powi(2);
    /// let mut f = tape.compile(&[w, x], &[loss])?;
    /// let r = f.run(&[1.0, 3.0])?;
    /// assert_eq!(r.value(), 4.0);
    /// assert_eq!(r.grad(), &[12.0, 0.0]); // constants receive no gradient
    ///
    /// // An operation's result is no input.
    /// let e = tape.compile(&[w, w.sin()], &[loss]).unwrap_err();
    /// assert_eq!(
    ///     e.to_string(),
    ///     "compile: input 1 (node #5) is a sin node, not a leaf; \
    ///      pass the Vars returned by tape.var or tape.constant"
    /// );
    /// # Ok(())
    /// # }
    /// ```
    pub fn compile<'t>(
        &'t self,
        inputs: &[Var<'t, T>],
        outputs: &[Var<'t, T>],
    ) -> Result<CompiledTape<T>, Error> {
        for v in inputs.iter().chain(outputs) {
            self.assert_owns(*v, "compile");
        }
        self.with_storage(|s| T::compile(s, &self.rules(), inputs, &[], outputs))
    }

    /// Like [`compile`](Tape::compile), with `data` leaves that each call binds to new values
    /// ([`CompiledTape::run_with_data`]) but that get no gradient: a training point, its target.
    ///
    /// # Errors
    ///
    /// As [`compile`](Tape::compile), for `inputs` and `data` alike: a leaf given twice may be
    /// among the inputs, among the data or in both.
    ///
    /// # Panics
    ///
    /// As [`compile`](Tape::compile).
    ///
    /// # Examples
    ///
    /// ```
    /// use tapegrad::Tape;
    /// # fn main() -> Result<(), tapegrad::Error> {
    /// let tape = Tape::new();
    /// let w = tape.var(0.5);
    /// let (x, y) = (tape.constant(1.0), tape.constant(2.0));
    /// let loss = (w * x - y).powi(2);
    /// let mut f = tape.compile_with_data(&[w], &[x, y], &[loss])?;
    /// // d/dw (w x - y)² = 2 (w x - y) x
    /// assert_eq!(f.run_with_data(&[1.0], &[3.0, 1.0])?.grad(), &[12.0]);
    /// # Ok(())
    /// # }
    /// ```
    pub fn compile_with_data<'t>(
        &'t self,
        inputs: &[Var<'t, T>],
        data: &[Var<'t, T>],
        outputs: &[Var<'t, T>],
    ) -> Result<CompiledTape<T>, Error> {
        for v in inputs.iter().chain(data).chain(outputs) {
            self.assert_owns(*v, "compile");
        }
        self.with_storage(|s| T::compile(s, &self.rules(), inputs, data, outputs))
    }
}

/// Checks what `compile` was given: at least one output, and leaves as inputs and data, each
/// once. Errors name positions in the caller's lists.
fn check_lists<T: Scalar>(
    s: &Storage<T>,
    inputs: &[Var<'_, T>],
    data: &[Var<'_, T>],
    outputs: &[Var<'_, T>],
) -> Result<(), Error> {
    if outputs.is_empty() {
        return Err(Error::ReplayNoOutputs);
    }
    let lists = [("input", inputs), ("data", data)];
    let given = || {
        lists
            .iter()
            .flat_map(|&(list, vars)| vars.iter().enumerate().map(move |(k, x)| (list, k, x)))
    };
    for (list, position, x) in given() {
        let op = s.kinds[x.id().index()];
        if !matches!(op, OpKind::Var | OpKind::Const) {
            return Err(Error::ReplayNotLeaf {
                list,
                position,
                node: x.id(),
                op,
            });
        }
    }
    // Sorted by node, then in the order given: a leaf given twice sits next to its first
    // occurrence. Of all such pairs, the error names the one whose second occurrence comes first.
    let mut order: Vec<_> = given()
        .enumerate()
        .map(|(at, (_, _, x))| (x.id(), at))
        .collect();
    order.sort_unstable();
    let twice = order
        .windows(2)
        .filter(|w| w[0].0 == w[1].0)
        .min_by_key(|w| w[1].1);
    if let Some(w) = twice {
        let place = |at: usize| {
            let (list, position, _) = given().nth(at).expect("invariant: a position given");
            (list, position)
        };
        let ((first_list, first_position), (list, position)) = (place(w[0].1), place(w[1].1));
        return Err(Error::ReplayLeafTwice {
            list,
            position,
            first_list,
            first_position,
            node: w[0].0,
        });
    }
    Ok(())
}

/// The nodes of a recording that a compiled program keeps — those the outputs and the
/// comparisons depend on, and the inputs — with how often kept nodes read each: one byte per
/// node up to the last output.
struct Kept {
    marks: Vec<u8>,
    /// How many nodes are kept.
    count: usize,
}

impl Kept {
    const DROPPED: u8 = 0;
    /// Kept, and read by no kept node.
    const UNREAD: u8 = 1;
    /// Kept, and read once by a kept node.
    const ONCE: u8 = 2;
    /// Kept, and read by two kept nodes.
    const TWICE: u8 = 3;
    /// Kept, and read more than twice, or an output (whose value must stay in its slot).
    const MORE: u8 = 4;

    /// Finds the kept nodes among the first `end` in one pass back over the records (no
    /// per-node cursors kept: compiling a long tape costs little beyond the program); each
    /// node's readers come after it, so its count is complete when the pass reaches it.
    fn find<T: Scalar>(
        s: &Storage<T>,
        end: usize,
        outputs: &[Var<'_, T>],
        leaves: impl Iterator<Item = NodeId>,
    ) -> Kept {
        let mut marks = vec![Kept::DROPPED; end];
        for x in leaves {
            if let Some(m) = marks.get_mut(x.index()) {
                *m = Kept::UNREAD;
            }
        }
        for o in outputs {
            marks[o.id().index()] = Kept::MORE;
        }
        let (mut p, _) = operand_ends(s, end);
        let mut count = 0;
        for i in (0..end).rev() {
            let kind = s.kinds[i];
            p -= Layout::backward(s, kind.shape(), p).0;
            if matches!(kind.shape(), Shape::Guard(_)) {
                marks[i] = marks[i].max(Kept::UNREAD);
            }
            if marks[i] != Kept::DROPPED {
                let words = Layout::forward(s, kind, p).operand_words();
                // A product `u * u` reads `u` once: the program runs it as a square.
                let square =
                    kind == OpKind::Mul && s.parents[words.start] == s.parents[words.end - 1];
                let words = if square {
                    words.start..words.start + 1
                } else {
                    words
                };
                for w in words {
                    let m = &mut marks[s.parents[w] as usize];
                    *m = ((*m).max(Kept::UNREAD) + 1).min(Kept::MORE);
                }
                count += 1;
            }
        }
        Kept { marks, count }
    }

    /// How many nodes the program keeps.
    fn count(&self) -> usize {
        self.count
    }

    /// Whether the program keeps node `i`.
    fn keeps(&self, i: usize) -> bool {
        self.marks[i] != Kept::DROPPED
    }

    /// Whether node `i` is read exactly once in the program, and is no output: only then can
    /// its one reader absorb it.
    fn read_once(&self, i: u32) -> bool {
        self.marks[i as usize] == Kept::ONCE
    }

    /// Whether node `i` is read by exactly two nodes of the program, and is no output.
    fn read_twice(&self, i: u32) -> bool {
        self.marks[i as usize] == Kept::TWICE
    }
}

impl<T: Scalar> CompiledTape<T> {
    /// The number of inputs, the length of the slice each call takes.
    pub fn inputs(&self) -> usize {
        self.inputs.len()
    }

    /// The number of data leaves ([`Tape::compile_with_data`]).
    pub fn data_len(&self) -> usize {
        self.data.len()
    }

    /// The number of outputs.
    pub fn outputs(&self) -> usize {
        self.outputs.len()
    }

    /// The number of nodes in the compiled program (at most the recorded ones up to the last
    /// output: nodes that neither an output nor a comparison depends on are left out).
    ///
    /// # Examples
    ///
    /// ```
    /// use tapegrad::Tape;
    /// # fn main() -> Result<(), tapegrad::Error> {
    /// let tape = Tape::new();
    /// let x = tape.var(1.0);
    /// let _unused = x.sin();
    /// let y = x * 2.0;
    /// assert_eq!(tape.compile(&[x], &[y])?.len(), 2);
    /// # Ok(())
    /// # }
    /// ```
    pub fn len(&self) -> usize {
        self.kinds.len()
    }

    /// `true` when the program has no nodes (never: it has at least its outputs).
    pub fn is_empty(&self) -> bool {
        self.kinds.is_empty()
    }

    /// The output values at new inputs, without gradients: a forward pass alone.
    ///
    /// # Errors
    ///
    /// [`Error::ReplayInputCount`] when `inputs` does not hold one value per compiled input;
    /// [`Error::BranchChanged`] when a recorded comparison comes out differently on these inputs.
    ///
    /// # Examples
    ///
    /// ```
    /// use tapegrad::Tape;
    /// # fn main() -> Result<(), tapegrad::Error> {
    /// let tape = Tape::new();
    /// let x = tape.var(0.0);
    /// let mut f = tape.compile(&[x], &[x.exp() + 1.0])?;
    /// assert_eq!(f.forward(&[1.0])?, &[1f64.exp() + 1.0]);
    /// # Ok(())
    /// # }
    /// ```
    pub fn forward(&mut self, inputs: &[T]) -> Result<&[T], Error> {
        self.check_inputs("forward", inputs)?;
        self.forward_pass(inputs)?;
        Ok(&self.out_values)
    }

    /// The output values at new inputs and the gradient of each output with respect to every
    /// input: a forward pass and one reverse sweep per output.
    ///
    /// The results equal, bit for bit, what recording afresh on these inputs and calling
    /// [`Var::backward`] on each output would give. After the first call nothing is allocated.
    ///
    /// # Errors
    ///
    /// [`Error::ReplayInputCount`] when `inputs` does not hold one value per compiled input;
    /// [`Error::BranchChanged`] when a recorded comparison comes out differently on these inputs:
    /// the tape must be recorded again. The compiled tape stays usable for other inputs.
    ///
    /// # Examples
    ///
    /// ```
    /// use tapegrad::{Error, Tape};
    ///
    /// let tape = Tape::new();
    /// let x = tape.var(2.0);
    /// let y = if x.gt(0.0) { x.ln() } else { (-x).ln() };
    /// let mut f = tape.compile(&[x], &[y]).unwrap();
    /// assert_eq!(f.run(&[4.0]).unwrap().grad(), &[0.25]);
    /// assert!(matches!(f.run(&[-4.0]), Err(Error::BranchChanged { .. })));
    /// assert_eq!(
    ///     f.run(&[4.0, 1.0]).unwrap_err().to_string(),
    ///     "run: got 2 input values for 1 compiled inputs; \
    ///      pass one value per input, in the order given to Tape::compile"
    /// );
    /// ```
    pub fn run(&mut self, inputs: &[T]) -> Result<Replay<'_, T>, Error> {
        self.check_inputs("run", inputs)?;
        self.run_checked(inputs)
    }

    /// [`run`](CompiledTape::run) on inputs of the right number.
    fn run_checked(&mut self, inputs: &[T]) -> Result<Replay<'_, T>, Error> {
        self.forward_pass(inputs)?;
        let n = self.inputs.len();
        // One output's gradient can be read where its sweep left it; several need their rows.
        let single = self.outputs.len() == 1;
        let mut in_place = None;
        for k in 0..self.outputs.len() {
            let o = self.outputs[k] as usize;
            let adj = &mut self.adjoints[..o + 1];
            let leaves = self.program.leaves().min(o + 1);
            adj[..leaves].fill(T::zero());
            adj[o] = T::one();
            in_place = self.sweep_into(o + 1, k * n..(k + 1) * n, single);
        }
        Ok(Replay {
            values: &self.out_values,
            grads: match in_place {
                Some(at) => &self.adjoints[at],
                None => &self.grads,
            },
            inputs: n,
        })
    }

    /// The output values at new inputs and the gradient of `Σ weights[k] * outputs[k]` with
    /// respect to every input, in one reverse sweep (a vector–Jacobian product, as
    /// [`Tape::vjp`]). Read the gradient with [`Replay::grad`].
    ///
    /// # Errors
    ///
    /// [`Error::ReplayInputCount`] when `inputs` does not hold one value per compiled input,
    /// [`Error::ReplayWeightCount`] when `weights` does not hold one per output;
    /// [`Error::BranchChanged`] as for [`run`](CompiledTape::run).
    ///
    /// # Examples
    ///
    /// ```
    /// use tapegrad::Tape;
    /// # fn main() -> Result<(), tapegrad::Error> {
    /// let tape = Tape::new();
    /// let x = tape.var(1.0);
    /// let mut f = tape.compile(&[x], &[x * x, x.sin()])?;
    /// let r = f.vjp(&[2.0], &[1.0, 10.0])?;
    /// assert_eq!(r.grad(), &[4.0 + 10.0 * 2f64.cos()]);
    /// # Ok(())
    /// # }
    /// ```
    pub fn vjp(&mut self, inputs: &[T], weights: &[T]) -> Result<Replay<'_, T>, Error> {
        self.check_inputs("vjp", inputs)?;
        if weights.len() != self.outputs.len() {
            return Err(Error::ReplayWeightCount {
                expected: self.outputs.len(),
                actual: weights.len(),
            });
        }
        self.forward_pass(inputs)?;
        let n = self.inputs.len();
        let len = self
            .outputs
            .iter()
            .map(|&o| o as usize + 1)
            .max()
            .unwrap_or(0);
        let adj = &mut self.adjoints[..len];
        adj[..self.program.leaves().min(len)].fill(T::zero());
        for (&o, &w) in self.outputs.iter().zip(weights) {
            adj[o as usize] += w;
        }
        let in_place = self.sweep_into(len, 0..n, true);
        Ok(Replay {
            values: &self.out_values,
            grads: match in_place {
                Some(at) => &self.adjoints[at],
                None => &self.grads[..n],
            },
            inputs: n,
        })
    }

    /// [`run`](CompiledTape::run) with new values for the data leaves too
    /// ([`Tape::compile_with_data`]), in the order given there. Gradients are with respect to the
    /// inputs only. ([`run`](CompiledTape::run) alone leaves the data at the values last bound,
    /// at first the recorded ones.)
    ///
    /// # Errors
    ///
    /// [`Error::ReplayInputCount`] when `inputs` does not hold one value per compiled input,
    /// [`Error::ReplayDataCount`] when `data` does not hold one per data leaf (and then no
    /// value is bound); [`Error::BranchChanged`] as for [`run`](CompiledTape::run).
    pub fn run_with_data(&mut self, inputs: &[T], data: &[T]) -> Result<Replay<'_, T>, Error> {
        self.check_inputs("run_with_data", inputs)?;
        if data.len() != self.data.len() {
            return Err(Error::ReplayDataCount {
                expected: self.data.len(),
                actual: data.len(),
            });
        }
        for (&slot, &v) in self.data.iter().zip(data) {
            if let Some(x) = self.values.get_mut(slot as usize) {
                *x = v;
            }
        }
        self.run_checked(inputs)
    }

    /// Fails unless `inputs` holds one value per compiled input; `call` names the method.
    fn check_inputs(&self, call: &'static str, inputs: &[T]) -> Result<(), Error> {
        if inputs.len() == self.inputs.len() {
            Ok(())
        } else {
            Err(Error::ReplayInputCount {
                call,
                expected: self.inputs.len(),
                actual: inputs.len(),
            })
        }
    }

    /// Sweeps the seeded adjoints of the nodes `0..len` and finds the inputs' gradient. With
    /// `in_place`, when the inputs are a run of leaves the sweep covered, their gradient is their
    /// adjoints, and the range they take is returned (no copy of a gradient as long as the
    /// inputs); otherwise it is copied into `row` of the gradient buffer.
    fn sweep_into(
        &mut self,
        len: usize,
        row: Range<usize>,
        in_place: bool,
    ) -> Option<Range<usize>> {
        T::backward(&self.program, &mut self.adjoints, len, &self.values);
        let adj = &self.adjoints[..len];
        let n = self.inputs.len();
        match self.vars_run {
            Some(first) if first + n <= len => {
                if in_place {
                    return Some(first..first + n);
                }
                copy_unaliased(&mut self.grads[row], &adj[first..first + n]);
            }
            _ => read_gradient(adj, &self.kinds, &self.inputs, &mut self.grads[row]),
        }
        None
    }

    /// Binds the inputs, one value per input ([`CompiledTape::check_inputs`]), and recomputes
    /// every value and stored partial, checking the comparisons.
    fn forward_pass(&mut self, inputs: &[T]) -> Result<(), Error> {
        debug_assert_eq!(
            inputs.len(),
            self.inputs.len(),
            "invariant: checked by the caller"
        );
        if let Some(first) = self.vars_run {
            copy_unaliased(&mut self.values[first..first + inputs.len()], inputs);
        } else {
            for (&slot, &v) in self.inputs.iter().zip(inputs) {
                if let Some(x) = self.values.get_mut(slot as usize) {
                    *x = v;
                }
            }
        }
        T::forward(&mut self.program, &mut self.values)?;
        for (out, &o) in self.out_values.iter_mut().zip(&self.outputs) {
            *out = self.values[o as usize];
        }
        Ok(())
    }
}

/// Fails when the comparison `x cmp y` no longer comes out as recorded.
#[inline(always)]
fn check<T: Scalar>(cmp: Comparison, x: T, y: T, recorded: bool, node: u32) -> Result<(), Error> {
    let now = cmp.holds(x, y);
    if now == recorded {
        Ok(())
    } else {
        Err(Error::BranchChanged {
            node: NodeId(node),
            comparison: cmp,
            lhs: x.to_f64(),
            rhs: y.to_f64(),
            recorded,
        })
    }
}

/// Copies `src` into `dst`, from the back when `dst` starts less than [`ALIAS`] bytes past
/// `src` in the low twelve bits of their addresses. Those are the bits a processor compares
/// first to tell whether a load reads what an earlier store wrote (4K aliasing): a copy from
/// the front, a vector at a time, then finds each load matching the store just made and waits
/// on it, many times slower than a copy of the same bytes elsewhere. From the back, a chunk at
/// a time (each chunk's loads before its stores), every store lands above the loads still to
/// come. The user's slice and the tape's buffers lie wherever the allocator put them, so any
/// program can meet this.
fn copy_unaliased<T: Copy>(dst: &mut [T], src: &[T]) {
    const PAGE: usize = 4096;
    const CHUNK: usize = 8;
    let ahead = (dst.as_ptr() as usize).wrapping_sub(src.as_ptr() as usize) % PAGE;
    if ahead == 0 || ahead >= ALIAS {
        dst.copy_from_slice(src);
        return;
    }
    let mut to = dst.rchunks_exact_mut(CHUNK);
    let mut from = src.rchunks_exact(CHUNK);
    for (d, s) in (&mut to).zip(&mut from) {
        let chunk: [T; CHUNK] = s.try_into().expect("a chunk of CHUNK");
        d.copy_from_slice(&chunk);
    }
    to.into_remainder().copy_from_slice(from.remainder());
}

/// How far past its source, in the low twelve bits, a copy's destination may start before
/// [`copy_unaliased`] copies from the back: the widest vector a `memcpy` moves at a time
/// (64 bytes with AVX-512).
const ALIAS: usize = 64;

/// Copies the adjoints of the inputs into `row`; inputs outside the swept range, and constants
/// (which receive no gradient), get 0.
#[inline]
fn read_gradient<T: Scalar>(adj: &[T], kinds: &[OpKind], inputs: &[u32], row: &mut [T]) {
    for (g, &x) in row.iter_mut().zip(inputs) {
        *g = match adj.get(x as usize) {
            Some(&a) if kinds[x as usize] != OpKind::Const => a,
            _ => T::zero(),
        };
    }
}

/// Makes this crate generate replay's entry points for `f64` and `f32` itself.
///
/// Without optimization rustc shares generic instances between crates: a crate built in debug
/// that calls one of these links the copy made here instead of generating the interpreter
/// again. That generation was most of the debug build time of every test, example and bench
/// that replays, and of a user's crate too. Optimized builds do not share instances, so there
/// the statics are left out; for `f64`, [`Passes`] keeps the interpreter in this crate's build
/// there too. A static is generated whether or not it is read; nothing reads these.
macro_rules! generate_entry_points {
    ($($t:ty => $name:ident),* $(,)?) => {$(
        #[cfg(debug_assertions)]
        #[allow(dead_code)]
        #[allow(clippy::type_complexity)]
        static $name: (
            for<'t, 'a, 'b> fn(
                &'t Tape<$t>,
                &'a [Var<'t, $t>],
                &'b [Var<'t, $t>],
            ) -> Result<CompiledTape<$t>, Error>,
            for<'t, 'a, 'b, 'c> fn(
                &'t Tape<$t>,
                &'a [Var<'t, $t>],
                &'b [Var<'t, $t>],
                &'c [Var<'t, $t>],
            ) -> Result<CompiledTape<$t>, Error>,
            for<'a, 'b> fn(&'a mut CompiledTape<$t>, &'b [$t]) -> Result<&'a [$t], Error>,
            for<'a, 'b> fn(&'a mut CompiledTape<$t>, &'b [$t]) -> Result<Replay<'a, $t>, Error>,
            for<'a, 'b, 'c> fn(
                &'a mut CompiledTape<$t>,
                &'b [$t],
                &'c [$t],
            ) -> Result<Replay<'a, $t>, Error>,
            for<'a, 'b, 'c> fn(
                &'a mut CompiledTape<$t>,
                &'b [$t],
                &'c [$t],
            ) -> Result<Replay<'a, $t>, Error>,
        ) = (
            Tape::<$t>::compile,
            Tape::<$t>::compile_with_data,
            CompiledTape::<$t>::forward,
            CompiledTape::<$t>::run,
            CompiledTape::<$t>::vjp,
            CompiledTape::<$t>::run_with_data,
        );
    )*};
}

generate_entry_points!(f64 => ENTRY_POINTS_F64, f32 => ENTRY_POINTS_F32);

#[cfg(test)]
mod tests {
    use super::program::{Ins, Sq, UNSCALED};
    use super::{Kept, copy_unaliased};
    use crate::{CompiledTape, OpKind, Tape, Var};

    #[test]
    fn a_node_is_read_once_when_one_kept_node_reads_it_and_it_is_no_output() {
        let tape = Tape::new();
        let x = tape.var(1.0);
        let y = tape.var(2.0);
        let a = x * y;
        let b = a.sin();
        let _dropped = y.cos();
        let z = a + b;
        let kept = tape.with_storage(|s| Kept::find(s, 6, &[z], [x.id(), y.id()].into_iter()));
        // x and y are read by the product alone: the cosine, dropped, does not count.
        let once: Vec<bool> = (0..6).map(|i| kept.read_once(i)).collect();
        assert_eq!(once, [true, true, false, true, false, false]);
        let keeps: Vec<bool> = (0..6).map(|i| kept.keeps(i)).collect();
        assert_eq!(keeps, [true, true, true, true, false, true]);
        assert_eq!(kept.count(), 5);
    }

    #[test]
    fn nodes_no_output_depends_on_are_left_out() {
        let tape = Tape::new();
        let x = tape.var(1.0);
        let y = tape.var(2.0);
        let _dead = (x * y).sin();
        let z = x.exp();
        let f = tape.compile(&[x, y], &[z]).unwrap();
        assert_eq!(f.len(), 3); // x, y (an input), exp
        assert_eq!(f.kinds, vec![OpKind::Var, OpKind::Var, OpKind::Exp]);
        assert_eq!(f.program.operands_of(0), vec![0]);
    }

    #[test]
    fn comparisons_and_what_they_read_stay_in_the_program() {
        let tape = Tape::new();
        let x = tape.var(1.0);
        let y = tape.var(2.0);
        let s = x.sin();
        assert!(s.lt(y));
        let z = x * 3.0;
        let f = tape.compile(&[x], &[z]).unwrap();
        assert_eq!(
            f.kinds,
            vec![
                OpKind::Var,
                OpKind::Var,
                OpKind::Sin,
                OpKind::Compare,
                OpKind::MulConst
            ]
        );
    }

    #[test]
    fn leaves_open_the_program_and_the_passes_skip_them() {
        let tape = Tape::new();
        let x = tape.var(1.0);
        let s = x.sin();
        let c = tape.constant(2.0);
        let y = s * c;
        let mut f = tape.compile(&[x], &[y]).unwrap();
        assert_eq!(f.program.leaves(), 2);
        assert_eq!(
            f.kinds,
            vec![OpKind::Var, OpKind::Const, OpKind::Sin, OpKind::Mul]
        );
        // sin reads x (0); the product reads sin (2) and the constant (1).
        assert_eq!(f.program.operands_of(0), vec![0]);
        assert_eq!(f.program.operands_of(1), vec![2, 1]);
        assert_eq!(f.run(&[0.5]).unwrap().grad(), &[2.0 * 0.5f64.cos()]);
    }

    #[test]
    fn renumbered_operands_point_at_the_kept_nodes() {
        let tape = Tape::new();
        let a = tape.var(1.0);
        let _dead = tape.var(5.0);
        let b = tape.var(2.0);
        let s = tape.sum(&[a, b, a]);
        let f = tape.compile(&[a, b], &[s]).unwrap();
        assert_eq!(f.program.operands_of(0), vec![0, 1, 0]);
    }

    fn is_neuron(ins: &Ins) -> bool {
        matches!(ins, Ins::Neuron { .. } | Ins::RunNeuron { .. })
    }

    #[test]
    fn a_neuron_with_each_fusable_activation_runs_as_one_instruction() {
        for act in 0..4 {
            let tape = Tape::new();
            let w = tape.vars(&[0.5, -0.25]);
            let b = tape.var(0.1);
            let x = tape.vars(&[1.0, 2.0]);
            let z = tape.dot(&w, &x) + b;
            let y = match act {
                0 => z.tanh(),
                1 => z.sigmoid(),
                2 => z.relu(),
                _ => z,
            };
            let f = tape.compile(&[w[0], w[1], b], &[y]).unwrap();
            let ins = f.program.instructions();
            assert_eq!(ins.len(), 1, "activation {act}: {ins:?}");
            assert!(is_neuron(&ins[0]));
        }
    }

    #[test]
    fn a_neuron_fuses_across_nodes_no_output_depends_on() {
        let tape = Tape::new();
        let w = tape.vars(&[0.5, -0.25]);
        let b = tape.var(0.1);
        let sum = tape.dot(&w, &[1.0, 2.0]);
        let _dropped = b.sin();
        let z = sum + b;
        let _also_dropped = z.cos();
        let y = z.tanh();
        let f = tape.compile(&[w[0], w[1], b], &[y]).unwrap();
        let ins = f.program.instructions();
        assert_eq!(ins.len(), 1, "{ins:?}");
        assert!(is_neuron(&ins[0]));
    }

    /// `c·a + a·b` for the inputs `a, b` and the constant `c`.
    fn scaled_product(inputs: &[f64], consts: &[f64], partials: &mut [f64]) -> f64 {
        let (a, b, c) = (inputs[0], inputs[1], consts[0]);
        partials[0] = c + b;
        partials[1] = a;
        c * a + a * b
    }

    #[test]
    fn a_custom_rule_after_fused_nodes_and_a_chain_replays_like_recording() {
        // A squared difference and a chain of sums before the custom node: both move its slot.
        fn record<'t>(tape: &'t Tape, x: &[Var<'t>]) -> Var<'t> {
            let sq = (x[0] - x[1]).powi(2);
            let mut acc = x[0] * 2.0;
            for &xk in x {
                acc += xk.sin();
            }
            tape.custom_rule(scaled_product, &[sq, acc], &[3.0]).exp()
        }
        let tape = Tape::new();
        let x = tape.vars(&[0.5, 2.0, -1.0]);
        let mut f = tape.compile(&x, &[record(&tape, &x)]).unwrap();
        let ins = f.program.instructions();
        assert!(
            ins.iter().any(|i| matches!(i, Ins::SubSquared { .. })),
            "{ins:?}"
        );
        assert!(
            ins.iter().any(|i| matches!(i, Ins::Chain { .. })),
            "{ins:?}"
        );

        let at = [-0.75, 1.5, 0.25];
        let fresh = Tape::new();
        let v = fresh.vars(&at);
        let out = record(&fresh, &v);
        let g = out.backward();
        let r = f.run(&at).unwrap();
        assert_eq!(r.value().to_bits(), out.value().to_bits());
        let bits = |xs: &[f64]| xs.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        let want: Vec<f64> = v.iter().map(|&vi| g[vi]).collect();
        assert_eq!(bits(r.grad()), bits(&want));
    }

    #[test]
    fn a_neuron_with_constant_weights_and_the_bias_first_is_fused() {
        let tape = Tape::new();
        let x = tape.vars(&[1.0, 2.0]);
        let b = tape.var(0.1);
        let y = (b + tape.dot(&x, &[0.5, -0.25])).sigmoid();
        let f = tape.compile(&[x[0], x[1], b], &[y]).unwrap();
        assert_eq!(f.program.instructions().len(), 1);
        // The operands in recorded order: the bias, then the dot's.
        assert_eq!(f.program.operands_of(0), vec![2, 0, 1]);
    }

    #[test]
    fn a_sum_that_something_else_reads_is_not_fused() {
        let tape = Tape::new();
        let w = tape.vars(&[0.5, -0.25]);
        let b = tape.var(0.1);
        let s = tape.dot(&w, &[1.0, 2.0]);
        let z = s + b;
        let y = z.tanh();
        // The sum is read again, and is an output: dot, +, tanh and * stay apart.
        let f = tape.compile(&w, &[y * s, s]).unwrap();
        assert!(!f.program.instructions().iter().any(is_neuron));
        // Here only the sum-plus-bias is read again: dot and + fuse, tanh stays apart.
        let g = tape.compile(&w, &[y + z]).unwrap();
        let ins = g.program.instructions();
        assert!(is_neuron(&ins[0]));
        assert_eq!(ins.len(), 3, "{ins:?}");
    }

    /// Records `act(w · (1, 2) + b)` for each activation on one tape, compiles their sum and
    /// checks replay's value and gradient against recording afresh, bit for bit; returns how
    /// many instructions the program has.
    fn activations_replayed(acts: &[fn(Var<'_>) -> Var<'_>]) -> usize {
        let record = |inputs: &[f64]| {
            let tape = Tape::new();
            let xs = tape.vars(inputs);
            let neurons = acts
                .iter()
                .map(|act| act(tape.dot(&xs[..2], &[1.0, 2.0]) + xs[2]));
            let f = tape.sum(&neurons.collect::<Vec<_>>());
            (
                f.value(),
                xs.iter().map(|&x| f.backward()[x]).collect::<Vec<_>>(),
            )
        };
        let tape = Tape::new();
        let xs = tape.vars(&[0.5, -0.25, 0.1]);
        let neurons: Vec<Var<'_>> = acts
            .iter()
            .map(|act| act(tape.dot(&xs[..2], &[1.0, 2.0]) + xs[2]))
            .collect();
        let mut f = tape.compile(&xs, &[tape.sum(&neurons)]).unwrap();
        for inputs in [[0.5, -0.25, 0.1], [-1.5, 0.25, -0.3], [2.0, 1.0, 0.0]] {
            let (value, grad) = record(&inputs);
            let r = f.run(&inputs).unwrap();
            assert_eq!(r.value().to_bits(), value.to_bits(), "{inputs:?}");
            let bits = |g: &[f64]| g.iter().map(|d| d.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(r.grad()), bits(&grad), "{inputs:?}");
        }
        f.program.instructions().len()
    }

    #[test]
    fn any_function_of_the_table_is_fused_as_an_activation_and_keeps_its_partial() {
        let tape = Tape::new();
        let w = tape.vars(&[0.5, -0.25]);
        let b = tape.var(0.1);
        let y = (tape.dot(&w, &[1.0, 2.0]) + b).softplus();
        let f = tape.compile(&w, &[y]).unwrap();
        let ins = f.program.instructions();
        assert_eq!(ins.len(), 1, "{ins:?}");
        assert!(is_neuron(&ins[0]));
        // Neurons and a sum: softplus's and leaky relu's partials do not follow from the value.
        let acts: [fn(Var<'_>) -> Var<'_>; 3] =
            [|z| z.softplus(), |z| z.leaky_relu(-0.5), |z| z.exp()];
        assert_eq!(activations_replayed(&acts), 4);
    }

    #[test]
    fn a_program_names_eight_functions_as_activations_and_keeps_the_rest_apart() {
        let acts: [fn(Var<'_>) -> Var<'_>; 10] = [
            |z| z.softplus(),
            |z| z.sin(),
            |z| z.cos(),
            |z| z.tan(),
            |z| z.leaky_relu(0.1),
            |z| z.leaky_relu(0.2),
            |z| z.exp(),
            |z| z.recip().abs(),
            |z| z.sin(),
            |z| z.powi(3),
        ];
        // Nine different functions after a `+`: the first eight fuse, and `powi`, the ninth,
        // stays an instruction of its own, as `abs`, which follows no `+`, does.
        assert_eq!(activations_replayed(&acts), 10 + 2 + 1);
    }

    #[test]
    fn a_squared_difference_runs_as_one_instruction_unless_its_difference_is_read() {
        let tape = Tape::new();
        let x = tape.vars(&[0.5, 2.0]);
        // A Rosenbrock term: x₀² is read only by x₁ - x₀², which, like 1 - x₀, is read only by
        // its square, and 100·(x₁ - x₀²)² only by the sum: 100·(x₁ - x₀²)², (1 - x₀)² and the
        // sum.
        let term = 100.0 * (x[1] - x[0].powi(2)).powi(2) + (1.0 - x[0]).powi(2);
        let f = tape.compile(&x, &[term]).unwrap();
        let ins = f.program.instructions();
        assert!(
            matches!(ins[0], Ins::SubSquareSquared { s, .. } if s != UNSCALED),
            "{ins:?}"
        );
        assert!(
            matches!(ins[1], Ins::RSubConstSquared { s: UNSCALED, .. }),
            "{ins:?}"
        );
        assert_eq!(ins.len(), 3, "{ins:?}");
        // A square read again keeps its own instruction.
        let sq = x[0].powi(2);
        let f = tape.compile(&x, &[(x[1] - sq).powi(2) + sq]).unwrap();
        let ins = f.program.instructions();
        assert!(matches!(ins[1], Ins::SubSquared { .. }), "{ins:?}");
        assert_eq!(ins.len(), 3, "{ins:?}");

        let e = x[0] - 3.0;
        let g = tape.compile(&x, &[e.powi(2)]).unwrap();
        assert!(matches!(
            g.program.instructions(),
            [Ins::AddConstSquared { s: UNSCALED, .. }]
        ));
        let h = tape.compile(&x, &[e.powi(2) * e]).unwrap();
        assert_eq!(h.program.instructions().len(), 3);
        // A square that something else reads keeps its factor apart, which joins the sum.
        let sq = (x[0] - x[1]).powi(2);
        let k = tape.compile(&x, &[2.0 * sq + sq]).unwrap();
        let ins = k.program.instructions();
        assert!(
            matches!(ins[0], Ins::SubSquared { s: UNSCALED, .. }),
            "{ins:?}"
        );
        assert!(matches!(ins[1], Ins::Scaled { .. }), "{ins:?}");
        assert_eq!(ins.len(), 2, "{ins:?}");
    }

    #[test]
    fn squares_written_as_products_fuse_as_powi_does_and_keep_their_form() {
        let tape = Tape::new();
        let x = tape.vars(&[0.5, 2.0]);
        // The Rosenbrock term with every square a product `u * u`.
        let t = x[1] - x[0] * x[0];
        let u = 1.0 - x[0];
        let term = 100.0 * (t * t) + u * u;
        let f = tape.compile(&x, &[term]).unwrap();
        let ins = f.program.instructions();
        assert!(
            matches!(
                ins[0],
                Ins::SubSquareSquared { sq: Sq::Product, inner: Sq::Product, s, .. } if s != UNSCALED
            ),
            "{ins:?}"
        );
        assert!(
            matches!(
                ins[1],
                Ins::RSubConstSquared {
                    sq: Sq::Product,
                    ..
                }
            ),
            "{ins:?}"
        );
        assert_eq!(ins.len(), 3, "{ins:?}");
        // The base moves to its square past a node that updates none of its operands' adjoints,
        // and not past one that does: the sweep's order of terms decides.
        let z = tape.var(-1.0);
        let d = x[0] - x[1];
        let apart = z * 3.0;
        let h = tape.compile(&[x[0], x[1], z], &[d * d + apart]).unwrap();
        let ins = h.program.instructions();
        assert!(
            matches!(
                ins[1],
                Ins::SubSquared {
                    sq: Sq::Product,
                    ..
                }
            ),
            "{ins:?}"
        );
        assert_eq!(ins.len(), 3, "{ins:?}");
        // Past one that does, it stays apart, and the square joins the sum after it.
        let d = x[0] - x[1];
        let sharing = x[1] * 3.0;
        let h = tape.compile(&x, &[d * d + sharing]).unwrap();
        let ins = h.program.instructions();
        assert!(matches!(ins[0], Ins::Sub { .. }), "{ins:?}");
        assert!(matches!(ins[2], Ins::MulAdd { .. }), "{ins:?}");
        assert_eq!(ins.len(), 3, "{ins:?}");
        // A product of two different values stays a product, and a square's form is kept.
        let g = tape.compile(&x, &[x[0] * x[1] + x[0].powi(2)]).unwrap();
        let ins = g.program.instructions();
        assert!(matches!(ins[0], Ins::Mul { .. }), "{ins:?}");
        assert!(
            matches!(ins[1], Ins::Square { sq: Sq::Powi, .. }),
            "{ins:?}"
        );
    }

    #[test]
    fn a_square_written_c_u_u_fuses_with_its_base() {
        let tape = Tape::new();
        let x = tape.vars(&[0.5, 2.0]);
        // Rosenbrock's term written `100 * t * t`: three instructions, as `100 * (t * t)`.
        let t = x[1] - x[0] * x[0];
        let u = 1.0 - x[0];
        let f = tape.compile(&x, &[100.0 * t * t + u * u]).unwrap();
        let ins = f.program.instructions();
        assert!(
            matches!(
                ins[0],
                Ins::SubSquareSquared {
                    sq: Sq::ScaledProduct,
                    inner: Sq::Product,
                    ..
                }
            ),
            "{ins:?}"
        );
        assert_eq!(ins.len(), 3, "{ins:?}");
        let fused: [for<'t> fn(Var<'t>, Var<'t>) -> Var<'t>; 6] = [
            |a, b| {
                let t = b - a * a;
                100.0 * t * t
            },
            |a, b| {
                let t = b - a.powi(2);
                0.5 * t * t
            },
            |a, b| {
                let d = a - b;
                0.5 * d * d
            },
            // The scaled operand second.
            |a, b| {
                let d = a - b;
                d * (2.0 * d)
            },
            |a, b| {
                let e = a + 3.0;
                -1.5 * e * e * b
            },
            |a, b| {
                let e = 1.0 - a;
                (e * 4.0) * e + b
            },
        ];
        for (k, form) in fused.iter().enumerate() {
            let mut c = tape.compile(&x, &[form(x[0], x[1])]).unwrap();
            let ins = c.program.instructions();
            let scaled_square = |i: &Ins| match *i {
                Ins::AddConstSquared { sq, .. }
                | Ins::RSubConstSquared { sq, .. }
                | Ins::SubSquared { sq, .. }
                | Ins::SubSquareSquared { sq, .. } => sq == Sq::ScaledProduct,
                _ => false,
            };
            assert!(ins.iter().any(scaled_square), "{k}: {ins:?}");
            replays_form_like_recording(&mut c, *form, k);
        }
        // Read elsewhere, the base or the scaled operand keeps the product apart.
        let apart: [for<'t> fn(Var<'t>, Var<'t>) -> Var<'t>; 2] = [
            |a, b| {
                let d = a - b;
                0.5 * d * d + d
            },
            |a, b| {
                let d = a - b;
                let h = 0.5 * d;
                h * d + h
            },
        ];
        for (k, form) in apart.iter().enumerate() {
            let mut c = tape.compile(&x, &[form(x[0], x[1])]).unwrap();
            let ins = c.program.instructions();
            assert!(matches!(ins[0], Ins::Sub { .. }), "{k}: {ins:?}");
            replays_form_like_recording(&mut c, *form, k);
        }
    }

    /// Checks that `c`, `form` of two inputs compiled, replays the value and the gradient of
    /// recording `form` afresh, bit for bit, at points with zeros of both signs, an infinity,
    /// an overflow and a NaN (every NaN taken as the same: Rust leaves a NaN result's sign and
    /// payload open).
    fn replays_form_like_recording(
        c: &mut CompiledTape,
        form: for<'t> fn(Var<'t>, Var<'t>) -> Var<'t>,
        k: usize,
    ) {
        let bits = |xs: &[f64]| -> Vec<u64> {
            let same = |v: f64| if v.is_nan() { f64::NAN } else { v };
            xs.iter().map(|&v| same(v).to_bits()).collect()
        };
        for at in [
            [0.5, 2.0],
            [-1.25, 1e300],
            [f64::INFINITY, -0.0],
            [0.0, 2.0],
            [3.0, -0.1],
            [-0.0, f64::NAN],
        ] {
            let fresh = Tape::new();
            let y = fresh.vars(&at);
            let out = form(y[0], y[1]);
            let want = out.backward().wrt_all(&y);
            let r = c.run(&at).unwrap();
            assert_eq!(bits(&[r.value()]), bits(&[out.value()]), "{k} at {at:?}");
            assert_eq!(bits(r.grad()), bits(&want), "{k} at {at:?}");
        }
    }

    #[test]
    fn a_sum_or_difference_with_a_product_for_an_operand_runs_as_one_instruction() {
        let tape = Tape::new();
        let x = tape.vars(&[0.5, 2.0]);
        let forms: [for<'t> fn(Var<'t>, Var<'t>) -> Var<'t>; 7] = [
            |a, b| a - b * b,
            |a, b| b * b - a,
            |a, b| a * b + b,
            // The same Var as the sum's operand and a factor: its terms in the sweep's order.
            |a, b| (a + a * b) * a.sin(),
            |a, b| (a * b - a) * a.cos(),
            // The other operand a product too.
            |a, b| a * b - b * a.sin(),
            // `x₁ - x₀ x₀`, Rosenbrock's residual, then `(100 t) b` (with `(100 t) t` the whole
            // is a fused square instead, tested below).
            |a, b| {
                let t = b - a * a;
                100.0 * t * b
            },
        ];
        for (k, form) in forms.iter().enumerate() {
            let f = form(x[0], x[1]);
            let mut c = tape.compile(&x, &[f]).unwrap();
            let ins = c.program.instructions();
            assert!(
                ins.iter().any(|i| matches!(i, Ins::MulAdd { .. })),
                "{k}: {ins:?}"
            );
            replays_form_like_recording(&mut c, *form, k);
        }
        // A product moves to the sum that reads it past a node that updates none of the slots it
        // updates, and not past one that does.
        let z = tape.vars(&[0.5, 2.0, -1.0]);
        let moved = tape.compile(&z, &[z[0] * z[1] - z[2].exp()]).unwrap();
        let ins = moved.program.instructions();
        assert!(
            matches!(ins, [Ins::Exp { .. }, Ins::MulAdd { .. }]),
            "{ins:?}"
        );
        // Past a product by a constant, which stays with its own product: `x² y - 3 x z`.
        fn poly<'t>(v: &[Var<'t>]) -> Var<'t> {
            v[0] * v[0] * v[1] - 3.0 * v[0] * v[2]
        }
        let mut moved = tape.compile(&z, &[poly(&z)]).unwrap();
        let ins = moved.program.instructions();
        assert!(
            matches!(
                ins,
                [Ins::Square { .. }, Ins::Scaled { .. }, Ins::MulAdd { .. }]
            ),
            "{ins:?}"
        );
        let at = [1.5, -0.25, 3.0];
        let fresh = Tape::new();
        let y = fresh.vars(&at);
        let out = poly(&y);
        let r = moved.run(&at).unwrap();
        assert_eq!(r.value().to_bits(), out.value().to_bits());
        let bits = |xs: &[f64]| xs.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(r.grad()), bits(&out.backward().wrt_all(&y)));
        let form: for<'t> fn(Var<'t>, Var<'t>) -> Var<'t> = |a, b| a * b - b.exp();
        let mut kept = tape.compile(&x, &[form(x[0], x[1])]).unwrap();
        let ins = kept.program.instructions();
        assert!(
            matches!(ins, [Ins::Mul { .. }, Ins::Exp { .. }, Ins::Sub { .. }]),
            "{ins:?}"
        );
        replays_form_like_recording(&mut kept, form, forms.len());
        // A running total's step keeps its product apart, so that the steps make one fold.
        let mut f = x[0] + x[1];
        for _ in 0..8 {
            f -= x[0] * x[1];
        }
        let c = tape.compile(&x, &[f]).unwrap();
        let ins = c.program.instructions();
        assert!(
            !ins.iter().any(|i| matches!(i, Ins::MulAdd { .. })),
            "{ins:?}"
        );
        assert!(ins.iter().any(|i| matches!(i, Ins::Fold { .. })), "{ins:?}");
    }

    #[test]
    fn a_sum_difference_or_product_with_a_scaled_operand_runs_as_one_instruction() {
        let tape = Tape::new();
        let x = tape.vars(&[0.5, 2.0]);
        let forms: [for<'t> fn(Var<'t>, Var<'t>) -> Var<'t>; 10] = [
            |a, b| a + 0.3 * b,
            |a, b| b * 0.3 + a,
            |a, b| a - 0.3 * b,
            |a, b| 0.3 * b - a,
            // The same Var on both sides, after a term of its own: its three terms in the
            // sweep's order.
            |a, _| (a - a * 0.3) + a.sin(),
            |a, b| 0.3 * b * a,
            |a, b| a * (b * 0.3),
            // `100 t t`, read `(100 t) t`: both terms to `t`, the product's second. (Were `t`
            // read only there, the whole would be a fused square, tested above.)
            |a, b| {
                let t = a - b;
                100.0 * t * t + t.sin()
            },
            // Where the product's adjoint is zero it passes nothing on, though `c` is infinite.
            |a, b| f64::INFINITY * b * a,
            |a, b| a * (f64::MAX * b),
        ];
        for (k, form) in forms.iter().enumerate() {
            let f = form(x[0], x[1]);
            let mut c = tape.compile(&x, &[f]).unwrap();
            let ins = c.program.instructions();
            let scaled = ins.iter().filter(|i| matches!(i, Ins::Scaled { .. }));
            assert_eq!(scaled.count(), 1, "{k}: {ins:?}");
            assert!(
                !ins.iter().any(|i| matches!(i, Ins::MulConst { .. })),
                "{k}: {ins:?}"
            );
            replays_form_like_recording(&mut c, *form, k);
        }
        // A running sum of scaled terms, `f += c * t`, stays a chain: its first step, which
        // adds to a value that is no sum, fuses; after it each term's product is an
        // instruction of its own and the steps one chain, from the first step's value.
        let xs = tape.vars(&[0.5, 2.0, -1.0, 0.25]);
        let mut f = xs[0].exp();
        for &t in &xs[1..] {
            f += 0.5 * t;
        }
        let c = tape.compile(&xs, &[f]).unwrap();
        let ins = c.program.instructions();
        let scaled = ins.iter().filter(|i| matches!(i, Ins::Scaled { .. }));
        assert_eq!(scaled.count(), 1, "{ins:?}");
        let found = chains(&c);
        assert_eq!(found.len(), 1, "{ins:?}");
        assert_eq!(found[0].1.len(), 3, "{found:?}");
        // A product something else reads stays an instruction of its own.
        let p = 0.3 * x[1];
        let c = tape.compile(&x, &[x[0] + p, p]).unwrap();
        let ins = c.program.instructions();
        assert!(
            matches!(ins, [Ins::MulConst { .. }, Ins::Add { .. }]),
            "{ins:?}"
        );
    }

    #[test]
    fn a_sum_of_three_runs_as_one_instruction_unless_its_inner_sum_is_read() {
        let tape = Tape::new();
        let x = tape.vars(&[0.5, 2.0, -1.0]);
        let right = x[0] + (x[1] + x[2]);
        let left = x[0] + x[1] + x[2];
        for (f, order) in [(right, [0, 1, 2]), (left, [0, 1, 2])] {
            let c = tape.compile(&x, &[f]).unwrap();
            let ins = c.program.instructions();
            assert!(matches!(ins, [Ins::AddAdd { .. }]), "{ins:?}");
            assert_eq!(c.program.operands_of(0), order);
        }
        let inner = x[1] + x[2];
        let c = tape.compile(&x, &[x[0] + inner, inner]).unwrap();
        let ins = c.program.instructions();
        assert!(
            !ins.iter().any(|i| matches!(i, Ins::AddAdd { .. })),
            "{ins:?}"
        );
    }

    fn chains(f: &CompiledTape) -> Vec<(bool, Vec<u32>)> {
        let ins = f.program.instructions();
        (0..ins.len())
            .filter_map(|k| match ins[k] {
                Ins::Chain { pairs, .. } => Some((pairs, f.program.operands_of(k))),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn a_sum_accumulated_in_a_loop_runs_as_one_instruction() {
        let tape = Tape::new();
        let x = tape.vars(&[0.5, 2.0, -1.0]);
        // f = x₀ + x₁ + x₀x₁ + x₁x₂ + x₂x₀, one product per step, from a sum: the sum (slot 3),
        // the products (slots 4, 5 and 6 once the steps are gone) and the chain.
        let mut f = x[0] + x[1];
        for k in 0..3 {
            f += x[k] * x[(k + 1) % 3];
        }
        let c = tape.compile(&x, &[f]).unwrap();
        assert_eq!(c.program.instructions().len(), 5);
        assert_eq!(chains(&c), vec![(false, vec![3, 4, 5, 6])]);
        // From a value that is no sum, the first step joins its product, and the chain goes on
        // from it.
        let mut f = x[0] * x[1];
        for k in 1..3 {
            f += x[k] * x[(k + 1) % 3];
        }
        let c = tape.compile(&x, &[f]).unwrap();
        let ins = c.program.instructions();
        assert!(matches!(ins[1], Ins::MulAdd { .. }), "{ins:?}");
        assert_eq!(ins.len(), 4, "{ins:?}");
        // `f += a + b` steps add sums of two; `f = f + a + b` steps two terms one at a time.
        let (mut right, mut left) = (x[0] * 2.0, x[0] * 2.0);
        for &xk in &x {
            right += xk.sin() + xk.cos();
            left = left + xk.sin() + xk.cos();
        }
        for (f, pairs) in [(right, true), (left, false)] {
            let c = tape.compile(&x, &[f]).unwrap();
            assert_eq!(
                c.program.instructions().len(),
                8,
                "{:?}",
                c.program.instructions()
            );
            assert_eq!(chains(&c), vec![(pairs, vec![3, 4, 5, 6, 7, 8, 9])]);
        }
    }

    #[test]
    fn a_chain_stops_at_a_sum_or_term_read_elsewhere_and_leaves_out_a_shared_start() {
        let tape = Tape::new();
        let x = tape.vars(&[0.5, 2.0, -1.0]);
        let terms: Vec<_> = (0..8).map(|k| x[k % 3] * (k + 1) as f64).collect();
        let sum = |start, terms: &[_]| terms.iter().fold(start, |f, &t| f + t);
        // `f + t + u` records `(f + t) + u`, one instruction: a step of two terms.
        // The start x₀ is read by a product too: the first step stays out, and the chain starts
        // from its value, adding the last three terms.
        let c = tape.compile(&x, &[sum(x[0], &terms[..5])]).unwrap();
        let found = chains(&c);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].1.len(), 4, "{found:?}");
        assert_ne!(found[0].1[0], 0, "{found:?}");
        // A running sum that is also an output ends one chain; the next leaves it out too.
        let half = sum(x[1].exp(), &terms[..3]);
        let whole = sum(half, &terms[3..]);
        let c = tape.compile(&x, &[whole, half]).unwrap();
        let found = chains(&c);
        assert_eq!(found.len(), 2, "{found:?}");
        assert_eq!(found[0].1.len(), 4, "{found:?}");
        assert_eq!(found[1].1.len(), 4, "{found:?}");
        // A term read twice is no chain's operand.
        let t = x[2].sin();
        let f = sum(
            x[1].exp(),
            &[
                terms[0], terms[1], terms[2], t, terms[3], terms[4], terms[5],
            ],
        );
        let c = tape.compile(&x, &[f * t]).unwrap();
        let ins = c.program.instructions();
        let sin = ins
            .iter()
            .position(|i| matches!(i, Ins::Unary { .. }))
            .unwrap();
        let found = chains(&c);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(!found[0].1.contains(&(3 + sin as u32)), "{found:?}");
    }

    #[test]
    fn a_layers_weights_and_activations_are_read_as_runs() {
        let tape = Tape::new();
        let w = tape.vars(&[0.5, -0.25, 0.1, 0.3, 0.2, -0.4, 0.7]);
        let x = [1.0, 2.0];
        // Two hidden neurons: consecutive weights, fused into consecutive slots.
        let h: Vec<_> = (0..2)
            .map(|j| (tape.dot(&w[2 * j..2 * j + 2], &x) + w[4]).tanh())
            .collect();
        let out = (tape.dot(&w[5..7], &h) + w[4]).sigmoid();
        // Weights out of order are read one by one.
        let shuffled = tape.dot(&[w[1], w[0]], &h);
        let f = tape.compile(&w, &[out + shuffled]).unwrap();
        let runs: Vec<_> = (0..f.program.instructions().len())
            .filter_map(|k| f.program.reads_runs(k))
            .collect();
        assert_eq!(runs, vec![true, true, true, false]);
    }

    #[test]
    fn inputs_in_any_order_or_beyond_an_output_bind_and_read_as_given() {
        let tape = Tape::new();
        let xs = tape.vars(&[1.0, 2.0, 3.0]);
        let c = tape.constant(4.0);
        let outs = [xs[0], xs[1] * xs[2] + xs[0]];
        // In order: bound and read as one slice; the first output, x₀ itself, sweeps only
        // slot 0, so x₁ and x₂ get 0 there.
        let mut in_order = tape.compile(&xs, &outs).unwrap();
        assert_eq!(in_order.vars_run, Some(0));
        let r = in_order.run(&[5.0, 6.0, 7.0]).unwrap();
        assert_eq!(r.values(), &[5.0, 47.0]);
        assert_eq!(r.grad_of(0), &[1.0, 0.0, 0.0]);
        assert_eq!(r.grad_of(1), &[1.0, 7.0, 6.0]);
        // Shuffled, or with a constant among them: one by one, the same numbers.
        let mut shuffled = tape.compile(&[xs[2], xs[0], xs[1]], &outs).unwrap();
        assert_eq!(shuffled.vars_run, None);
        let r = shuffled.run(&[7.0, 5.0, 6.0]).unwrap();
        assert_eq!(r.grad_of(1), &[6.0, 1.0, 7.0]);
        let mut with_constant = tape.compile(&[xs[0], xs[1], xs[2], c], &outs).unwrap();
        assert_eq!(with_constant.vars_run, None);
        let r = with_constant.run(&[5.0, 6.0, 7.0, 1.0]).unwrap();
        assert_eq!(r.grad_of(1), &[1.0, 7.0, 6.0, 0.0]);
    }

    #[test]
    fn a_copy_is_the_same_wherever_its_ends_lie_in_their_pages() {
        let mut buf: Vec<f64> = (0..3 * 4096).map(|i| i as f64).collect();
        for n in [0, 1, 7, 8, 9, 63, 500] {
            // Every 8-byte offset of the destination past the source within a page, those
            // copied from the back among them.
            for ahead in (0..4096).step_by(8) {
                let (src_at, dst_at) = (0, 4096 + ahead / 8);
                let want: Vec<f64> = buf[src_at..src_at + n].iter().map(|x| x + 0.5).collect();
                let (head, tail) = buf.split_at_mut(dst_at);
                head[src_at..src_at + n].copy_from_slice(&want);
                tail[..n + 1].fill(-1.0);
                copy_unaliased(&mut tail[..n], &head[src_at..src_at + n]);
                assert_eq!(&tail[..n], &want[..], "n {n}, {ahead} bytes ahead");
                assert_eq!(tail[n], -1.0, "n {n}: nothing past the end");
            }
        }
    }

    #[test]
    fn a_replay_is_the_same_wherever_the_inputs_lie_in_their_page() {
        fn f<'t>(tape: &'t Tape, x: &[Var<'t>]) -> Var<'t> {
            let terms: Vec<Var> = x.iter().map(|&v| v / (1.0 + v * v)).collect();
            tape.sum(&terms)
        }
        let n = 300;
        let point =
            |k: usize| -> Vec<f64> { (0..n).map(|i| (i + k) as f64 * 0.37 - 50.0).collect() };
        let tape = Tape::new();
        let x = tape.vars(&point(0));
        let mut c = tape.compile(&x, &[f(&tape, &x)]).unwrap();
        // The inputs at every 8-byte offset within a page, each time new: some start just
        // short of the tape's values in the low bits, and are bound from the back.
        let mut buf = vec![0.0; 512 + n];
        for start in 0..512 {
            let at = point(start);
            buf[start..start + n].copy_from_slice(&at);
            let fresh = Tape::new();
            let x = fresh.vars(&at);
            let out = f(&fresh, &x);
            let want: Vec<u64> = out
                .backward()
                .wrt_all(&x)
                .iter()
                .map(|g| g.to_bits())
                .collect();
            let r = c.run(&buf[start..start + n]).unwrap();
            assert_eq!(
                r.value().to_bits(),
                out.value().to_bits(),
                "inputs at {start}"
            );
            let got: Vec<u64> = r.grad().iter().map(|g| g.to_bits()).collect();
            assert_eq!(got, want, "inputs at {start}");
        }
    }
}
