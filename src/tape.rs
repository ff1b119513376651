//! The tape: append-only storage of recorded operations (a Wengert list).
//!
//! This is the only module with `unsafe` code. A [`Tape`] hands out [`Var`] handles that borrow it
//! immutably, yet recording an operation appends to the tape; the storage therefore sits in an
//! [`UnsafeCell`]. Soundness rests on three facts, each checked below where it is used:
//!
//! 1. `Tape` is `!Sync` (the `UnsafeCell` makes it so), so only one thread touches a tape;
//! 2. every method that mutates the storage takes its `&mut` for the duration of the method body
//!    only, runs no user code while holding it, and never lets a reference into the buffers escape;
//! 3. readers (the reverse sweep, statistics) likewise borrow for the duration of one call that
//!    records nothing;
//! 4. no user code runs while a borrow of the storage lives: the scalar arithmetic that does run
//!    there is the crate's own, because [`Scalar`] is sealed, and user-defined operations
//!    ([`Tape::custom_rule`]) are evaluated before their node is pushed;
//! 5. the unchecked appends of `Tape::push` rely on `room` never overstating the spare capacity
//!    of any buffer: an n-ary push settles `room` before it appends, and a dot product given a
//!    Var of another tape takes its half-written node off again before it panics, so that a
//!    caught panic leaves the tape as it was.
//!
//! Facts 1 and 4 are checked at compile time (`compile_fail` examples in the crate documentation
//! and on [`Scalar`]); fact 2 holds by construction (no method returns a reference into the
//! buffers); `tests/soundness.rs` tests fact 5 and the panics of fact 2, and
//! `scripts/valgrind.sh` runs it under valgrind.
//!
//! # Layout
//!
//! A node costs one byte (its [`OpKind`]); its operands go on flat stacks: a `u32` parent index
//! each, plus a stored partial only where the partial is not ±1 (`+`, `-`, negation and adding a
//! constant store none). Constants needed to replay or explain the tape (a leaf's value, `c` in
//! `x + c`) go on a third stack. Values are not stored: a [`Var`] carries its own. See
//! `docs/performance.md` for why each choice of this layout is there.

use std::any::Any;
use std::cell::{Cell, RefCell, UnsafeCell};
use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::ops::OpKind;
use crate::ops::nary::Rules;
use crate::{Scalar, Var};

/// Index of a node on its tape.
///
/// Nodes are numbered from 0 in the order they were recorded, which is a topological order of the
/// computation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId(pub(crate) u32);

impl NodeId {
    /// The node's position on the tape, from 0.
    ///
    /// # Examples
    ///
    /// ```
    /// use tapegrad::Tape;
    ///
    /// let tape = Tape::new();
    /// let x = tape.var(1.0);
    /// let y = x.exp();
    /// assert_eq!(x.id().index(), 0);
    /// assert_eq!(y.id().index(), 1);
    /// ```
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// The recorded operations of one tape.
#[derive(Debug, Default)]
pub(crate) struct Storage<T> {
    /// One kind per node.
    pub(crate) kinds: Vec<OpKind>,
    /// Operand parent indices and auxiliary words (n-ary counts, `powi` exponents).
    pub(crate) parents: Vec<u32>,
    /// Partials that are not ±1, in operand order.
    pub(crate) partials: Vec<T>,
    /// Constants kept for replay and explanation.
    pub(crate) consts: Vec<T>,
    /// How many more fixed-size nodes fit in every buffer without growing it (and without passing
    /// the tape's node limit): while it is positive, [`Tape::push`] appends without checks.
    /// A lower bound: anything that uses spare capacity otherwise resets it to 0.
    room: usize,
}

/// The most words a fixed-size node puts on each stack (see [`Tape::push`]).
const MAX_PARENT_WORDS: usize = 3;
const MAX_PARTIALS: usize = 2;
const MAX_CONSTS: usize = 1;
/// Nodes' worth of space reserved at a time by [`Storage::make_room`].
const ROOM_CHUNK: usize = 1 << 8;

/// Appends `xs` to `v` without a capacity check.
///
/// # Safety
///
/// `v` must have spare capacity for `xs.len()` more elements.
#[inline(always)]
unsafe fn append_unchecked<X: Copy>(v: &mut Vec<X>, xs: &[X]) {
    let len = v.len();
    debug_assert!(v.capacity() - len >= xs.len());
    // SAFETY: the caller guarantees the spare capacity; `xs` cannot overlap `v`'s spare part,
    // which nothing else can reference; `X: Copy` needs no drop.
    unsafe {
        std::ptr::copy_nonoverlapping(xs.as_ptr(), v.as_mut_ptr().add(len), xs.len());
        v.set_len(len + xs.len());
    }
}

impl<T> Storage<T> {
    fn clear(&mut self) {
        self.kinds.clear();
        self.parents.clear();
        self.partials.clear();
        self.consts.clear();
        // Recomputed from the (now larger) spare capacity at the next push.
        self.room = 0;
    }

    /// Reserves room for about `nodes` more nodes, or says why it cannot.
    fn try_reserve(&mut self, nodes: usize) -> Result<(), std::collections::TryReserveError> {
        self.room = 0;
        self.kinds.try_reserve(nodes)?;
        self.parents.try_reserve(nodes.saturating_mul(2))?;
        self.partials.try_reserve(nodes)
    }

    /// Recomputes `room` from the spare capacity, growing the buffers only when one of them
    /// cannot take another fixed-size node; `left` is how many more nodes the tape accepts.
    ///
    /// Growing only then — never to a fixed margin ahead — is what makes a recording that repeats
    /// an earlier one on a cleared tape allocate nothing: every buffer then already has the
    /// capacity the earlier recording grew it to at the same point.
    #[cold]
    #[inline(never)]
    fn make_room(&mut self, left: usize) {
        fn spare<X>(v: &Vec<X>) -> usize {
            v.capacity() - v.len()
        }
        let room = |s: &Self| {
            spare(&s.kinds)
                .min(spare(&s.parents) / MAX_PARENT_WORDS)
                .min(spare(&s.partials) / MAX_PARTIALS)
                .min(spare(&s.consts) / MAX_CONSTS)
        };
        if room(self) == 0 {
            if spare(&self.kinds) < 1 {
                self.kinds.reserve(ROOM_CHUNK);
            }
            if spare(&self.parents) < MAX_PARENT_WORDS {
                self.parents.reserve(ROOM_CHUNK * MAX_PARENT_WORDS);
            }
            if spare(&self.partials) < MAX_PARTIALS {
                self.partials.reserve(ROOM_CHUNK * MAX_PARTIALS);
            }
            if spare(&self.consts) < MAX_CONSTS {
                self.consts.reserve(ROOM_CHUNK * MAX_CONSTS);
            }
        }
        self.room = room(self).min(left);
    }

    fn capacity_bytes(&self) -> usize {
        self.kinds.capacity()
            + self.parents.capacity() * 4
            + (self.partials.capacity() + self.consts.capacity()) * std::mem::size_of::<T>()
    }
}

/// Hands the buffers of a dropped tape (or gradient) to the next one created on the same thread,
/// so that creating a tape per training step does not pay for fresh allocations.
pub(crate) mod pool {
    use super::*;

    /// Buffers larger than this are freed rather than kept for reuse.
    const MAX_KEPT_BYTES: usize = 1 << 28;
    /// At most this many buffers of each kind are kept per thread.
    const MAX_KEPT: usize = 4;

    thread_local! {
        /// Slots of type `Option<B>`; a slot once allocated is kept and refilled, so that taking
        /// and giving back a buffer allocates nothing after the first time.
        static KEPT: RefCell<Vec<Box<dyn Any>>> = const { RefCell::new(Vec::new()) };
    }

    /// A kept buffer of type `B`, if one exists.
    pub(crate) fn take<B: Any>() -> Option<B> {
        KEPT.try_with(|kept| {
            let mut kept = kept.try_borrow_mut().ok()?;
            kept.iter_mut()
                .filter_map(|slot| slot.downcast_mut::<Option<B>>())
                .find_map(Option::take)
        })
        .ok()
        .flatten()
    }

    /// Frees every buffer kept on this thread.
    pub(crate) fn release() {
        let _ = KEPT.try_with(|kept| {
            if let Ok(mut kept) = kept.try_borrow_mut() {
                *kept = Vec::new();
            }
        });
    }

    /// Keeps `buffer` for reuse unless it is too large or enough are kept already.
    pub(crate) fn give<B: Any>(buffer: B, bytes: usize) {
        if bytes == 0 || bytes > MAX_KEPT_BYTES {
            return;
        }
        let _ = KEPT.try_with(|kept| {
            let Ok(mut kept) = kept.try_borrow_mut() else {
                return;
            };
            let mut count = 0;
            let mut buffer = Some(buffer);
            for slot in kept
                .iter_mut()
                .filter_map(|slot| slot.downcast_mut::<Option<B>>())
            {
                count += 1;
                if slot.is_none() {
                    *slot = buffer.take();
                    return;
                }
            }
            if count < MAX_KEPT {
                kept.push(Box::new(buffer));
            }
        });
    }
}

/// Frees the buffers that tapes, gradients and Jacobians dropped on this thread keep for reuse.
///
/// A dropped [`Tape`] hands its buffers to the next tape created on the same thread, so that a
/// tape per training step costs no fresh allocation. The price is memory: after a large recording,
/// up to a few buffers of each kind (each at most 256 MiB) stay allocated on the thread until it
/// ends. Call this when a phase with large tapes is over. Tapes alive at the time keep theirs and
/// hand them back when dropped; the next tape created starts empty and grows as it records.
///
/// # Examples
///
/// ```
/// use tapegrad::Tape;
///
/// {
///     let big = Tape::with_capacity(1 << 20);
///     let x = big.var(1.0);
///     let _ = x.exp().backward();
/// } // the tape's and the gradient's buffers are kept for the next tape on this thread
/// tapegrad::release_buffers(); // ... and now freed
/// let tape = Tape::<f64>::new();
/// assert_eq!(tape.capacity_bytes(), 0);
/// ```
pub fn release_buffers() {
    pool::release();
}

static NEXT_TAPE_ID: AtomicU64 = AtomicU64::new(1);

fn fresh_id() -> u64 {
    NEXT_TAPE_ID.fetch_add(1, Ordering::Relaxed)
}

/// A tape that records scalar operations as they run, so that [`Var::backward`] can apply the
/// chain rule in one reverse sweep.
///
/// `Tape` is generic over its [`Scalar`]: `Tape::new()` gives a `Tape<f64>` when the values are
/// `f64` literals, and `Tape::<f32>::new()` computes in `f32` with the same code.
///
/// # Examples
///
/// ```
/// use tapegrad::Tape;
///
/// let tape = Tape::new();
/// let x = tape.var(2.0);
/// let y = tape.var(-3.0);
/// let z = x * y + x.sin();
/// let g = z.backward();
/// // dz/dx = y + cos(x), dz/dy = x
/// assert_eq!(g.wrt(x), -3.0 + 2f64.cos());
/// assert_eq!(g[y], 2.0);
/// assert_eq!(tape.len(), 5);
/// ```
///
/// A tape is cleared to be reused, keeping its buffers:
///
/// ```
/// use tapegrad::Tape;
///
/// let mut tape = Tape::new();
/// for step in 0..3 {
///     tape.clear();
///     let w = tape.var(step as f64);
///     let loss = (w - 1.0).powi(2);
///     let _dw = loss.backward()[w];
/// }
/// ```
pub struct Tape<T: Scalar = f64> {
    storage: UnsafeCell<Storage<T>>,
    /// Identifies this tape (and this generation of it, since `clear` takes a fresh one) in
    /// [`Gradients`](crate::Gradients), which must not be read with Vars of another tape.
    id: u64,
    /// The largest number of nodes the tape accepts; `u32::MAX` except in tests.
    limit: u32,
    /// Names given to nodes; empty unless the user names something.
    names: RefCell<HashMap<u32, String>>,
    /// Set once any node is named, so unnamed tapes never touch `names`.
    named: Cell<bool>,
    /// The rules of the custom operations recorded with [`Tape::custom_rule`], for replay.
    rules: RefCell<Rules<T>>,
}

impl<T: Scalar> Default for Tape<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: Scalar> fmt::Debug for Tape<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tape")
            .field("len", &self.len())
            .field("id", &self.id)
            .finish()
    }
}

impl<T: Scalar> Drop for Tape<T> {
    fn drop(&mut self) {
        let mut storage = std::mem::take(self.storage.get_mut());
        let bytes = storage.capacity_bytes();
        storage.clear();
        pool::give(storage, bytes);
        let mut rules = std::mem::take(self.rules.get_mut());
        let bytes = rules.capacity_bytes();
        rules.clear();
        pool::give(rules, bytes);
    }
}

impl<T: Scalar> Tape<T> {
    /// An empty tape. It reuses the buffers of a tape dropped earlier on this thread, if any.
    ///
    /// # Examples
    ///
    /// ```
    /// use tapegrad::Tape;
    ///
    /// let tape = Tape::<f32>::new();
    /// let x = tape.var(3.0);
    /// assert_eq!(x.powi(2).backward().wrt(x), 6.0f32);
    /// ```
    pub fn new() -> Self {
        let storage = pool::take::<Storage<T>>().unwrap_or_default();
        Self::from_storage(storage)
    }

    /// An empty tape with room for about `nodes` operations before it must grow.
    ///
    /// # Panics
    ///
    /// When the memory for `nodes` operations cannot be had (the request overflows or the
    /// allocator refuses it): the message names the number asked for.
    ///
    /// # Examples
    ///
    /// ```
    /// use tapegrad::Tape;
    ///
    /// let tape = Tape::with_capacity(1_000);
    /// let x = tape.var(0.5);
    /// assert_eq!(x.exp().value(), 0.5f64.exp());
    /// ```
    pub fn with_capacity(nodes: usize) -> Self {
        let mut storage = pool::take::<Storage<T>>().unwrap_or_default();
        if let Err(err) = storage.try_reserve(nodes) {
            panic!(
                "Tape::with_capacity: cannot reserve room for {nodes} nodes ({err}); \
                 ask for fewer, or let the tape grow as it records"
            );
        }
        Self::from_storage(storage)
    }

    fn from_storage(storage: Storage<T>) -> Self {
        Tape {
            storage: UnsafeCell::new(storage),
            id: fresh_id(),
            limit: u32::MAX,
            names: RefCell::new(HashMap::new()),
            named: Cell::new(false),
            rules: RefCell::new(pool::take::<Rules<T>>().unwrap_or_default()),
        }
    }

    /// Records an input or parameter with the given value: a leaf of the computation, whose
    /// gradient [`Gradients::wrt`](crate::Gradients::wrt) reads.
    ///
    /// # Examples
    ///
    /// ```
    /// use tapegrad::Tape;
    ///
    /// let tape = Tape::new();
    /// let x = tape.var(4.0);
    /// assert_eq!(x.value(), 4.0);
    /// assert_eq!(x.sqrt().backward().wrt(x), 0.25);
    /// ```
    #[inline]
    pub fn var(&self, value: T) -> Var<'_, T> {
        let id = self.push(OpKind::Var, &[], &[], &[value]);
        Var::from_parts(self, id, value)
    }

    /// Records one leaf per value, in order.
    ///
    /// # Examples
    ///
    /// ```
    /// use tapegrad::Tape;
    ///
    /// let tape = Tape::new();
    /// let xs = tape.vars(&[1.0, 2.0, 3.0]);
    /// let g = tape.sum(&xs).backward();
    /// assert_eq!(g.wrt_all(&xs), vec![1.0, 1.0, 1.0]);
    /// ```
    pub fn vars(&self, values: &[T]) -> Vec<Var<'_, T>> {
        values.iter().map(|&v| self.var(v)).collect()
    }

    /// Records a constant: it takes part in the computation but never receives a gradient (its
    /// gradient reads as exactly 0, and nothing flows through it).
    ///
    /// Plain numbers work directly with the operators (`x * 3.0`); a constant `Var` is for code
    /// that needs a `Var` in hand, such as a slice passed to [`Tape::dot`].
    ///
    /// # Examples
    ///
    /// ```
    /// use tapegrad::Tape;
    ///
    /// let tape = Tape::new();
    /// let x = tape.var(2.0);
    /// let c = tape.constant(5.0);
    /// let g = (x * c).backward();
    /// assert_eq!(g[x], 5.0);
    /// assert_eq!(g[c], 0.0);
    /// ```
    #[inline]
    pub fn constant(&self, value: T) -> Var<'_, T> {
        let id = self.push(OpKind::Const, &[], &[], &[value]);
        Var::from_parts(self, id, value)
    }

    /// The number of nodes recorded so far (leaves included).
    ///
    /// # Examples
    ///
    /// ```
    /// use tapegrad::Tape;
    ///
    /// let tape = Tape::new();
    /// assert!(tape.is_empty());
    /// let x = tape.var(1.0);
    /// let _ = x * x + 1.0;
    /// assert_eq!(tape.len(), 3);
    /// ```
    #[inline]
    pub fn len(&self) -> usize {
        self.with_storage(|s| s.kinds.len())
    }

    /// The bytes the tape's buffers hold allocated, used or not: what it costs to keep the tape
    /// (or, after it is dropped, its buffers until [`release_buffers`]).
    ///
    /// # Examples
    ///
    /// ```
    /// use tapegrad::Tape;
    ///
    /// let tape = Tape::<f64>::with_capacity(1_000);
    /// assert!(tape.capacity_bytes() >= 1_000);
    /// ```
    pub fn capacity_bytes(&self) -> usize {
        self.with_storage(|s| s.capacity_bytes())
    }

    /// `true` when nothing has been recorded.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Forgets every node and keeps the allocation for the next recording.
    ///
    /// Because it takes `&mut self`, the borrow checker guarantees that no [`Var`] of the old
    /// recording is still alive. [`Gradients`](crate::Gradients) computed before the clear refuse
    /// Vars recorded after it.
    ///
    /// # Examples
    ///
    /// ```
    /// use tapegrad::Tape;
    ///
    /// let mut tape = Tape::new();
    /// let x = tape.var(1.0);
    /// let _ = x.exp();
    /// assert_eq!(tape.len(), 2);
    /// tape.clear();
    /// assert_eq!(tape.len(), 0);
    /// ```
    pub fn clear(&mut self) {
        self.storage.get_mut().clear();
        self.names.get_mut().clear();
        self.named.set(false);
        self.rules.get_mut().clear();
        self.id = fresh_id();
    }

    /// The operation that recorded `var`.
    ///
    /// # Panics
    ///
    /// When `var` belongs to another tape.
    ///
    /// # Examples
    ///
    /// ```
    /// use tapegrad::{OpKind, Tape};
    ///
    /// let tape = Tape::new();
    /// let x = tape.var(1.0);
    /// assert_eq!(tape.kind(x), OpKind::Var);
    /// assert_eq!(tape.kind(x + x), OpKind::Add);
    /// ```
    pub fn kind(&self, var: Var<'_, T>) -> OpKind {
        self.assert_owns(var, "Tape::kind");
        self.with_storage(|s| s.kinds[var.id().index()])
    }

    /// The tape's identity, unique among the tapes of this process and renewed by
    /// [`clear`](Tape::clear).
    #[inline]
    pub(crate) fn id(&self) -> u64 {
        self.id
    }

    /// Panics with a clear message unless `var` was recorded on this tape.
    #[inline]
    #[track_caller]
    pub(crate) fn assert_owns(&self, var: Var<'_, T>, op: &str) {
        if !std::ptr::eq(self, var.tape()) {
            crate::var::mixed_tapes(op);
        }
    }

    /// The rules of the custom operations recorded with [`Tape::custom_rule`].
    pub(crate) fn rules(&self) -> std::cell::Ref<'_, Rules<T>> {
        self.rules.borrow()
    }

    /// The same, to record a custom node with its rule.
    pub(crate) fn rules_mut(&self) -> std::cell::RefMut<'_, Rules<T>> {
        self.rules.borrow_mut()
    }

    /// Gives a node a human-readable name, for explanations and graph export.
    pub(crate) fn set_name(&self, id: NodeId, name: String) {
        self.names.borrow_mut().insert(id.0, name);
        self.named.set(true);
    }

    /// The name given to a node, if any.
    pub(crate) fn name_of(&self, id: NodeId) -> Option<String> {
        if !self.named.get() {
            return None;
        }
        self.names.borrow().get(&id.0).cloned()
    }

    /// Runs `f` with shared access to the recorded nodes. `f` must not record on this tape.
    #[inline]
    pub(crate) fn with_storage<R>(&self, f: impl FnOnce(&Storage<T>) -> R) -> R {
        // SAFETY: `Tape` is `!Sync`, so no other thread can be writing. Within this thread the
        // only writers are the `push*` methods below, which hold their `&mut` only inside their
        // own bodies and call no user code; `f` is crate code that records nothing, so no
        // `&mut` to the storage exists while this shared reference lives. The reference does not
        // escape: `R` cannot borrow from it because of the higher-ranked closure signature.
        let storage = unsafe { &*self.storage.get() };
        f(storage)
    }

    /// Appends a node of `kind` with its operands and returns its index.
    ///
    /// `parents` and `partials` are laid out as `kind.shape()` says; `consts` has
    /// `kind.consts()` entries. At most 3 parent words, 2 partials and 1 constant: the n-ary
    /// operations go through [`push_nary`](Tape::push_nary).
    ///
    /// This is the hot path of recording: while `room` lasts it is four unchecked appends.
    #[inline(always)]
    pub(crate) fn push(
        &self,
        kind: OpKind,
        parents: &[u32],
        partials: &[T],
        consts: &[T],
    ) -> NodeId {
        assert!(
            parents.len() <= MAX_PARENT_WORDS
                && partials.len() <= MAX_PARTIALS
                && consts.len() <= MAX_CONSTS,
            "invariant: fixed-size nodes have at most 3 parent words, 2 partials, 1 constant"
        );
        // SAFETY: see `with_storage`: the `&mut` lives only for this body, which runs no user code
        // and returns no reference into the storage.
        let s = unsafe { &mut *self.storage.get() };
        let index = s.kinds.len();
        if s.room == 0 {
            let left = (self.limit as usize).saturating_sub(index);
            if left == 0 {
                self.full();
            }
            s.make_room(left);
        }
        s.room -= 1;
        // SAFETY: `room > 0` before the decrement guarantees spare capacity for one more node of
        // the largest fixed size on every stack (checked just above: the slices are no larger).
        unsafe {
            append_unchecked(&mut s.kinds, &[kind]);
            append_unchecked(&mut s.parents, parents);
            append_unchecked(&mut s.partials, partials);
            append_unchecked(&mut s.consts, consts);
        }
        NodeId(index as u32)
    }

    /// Appends an n-ary node: `n` parents framed by the count `n` on both sides, and the
    /// partials that go with them (none for `sum`, whose partials are all 1).
    ///
    /// `parents` must yield exactly `n` indices and `partials` exactly `n` partials or none.
    #[inline(always)]
    pub(crate) fn push_nary(
        &self,
        kind: OpKind,
        n: usize,
        parents: impl Iterator<Item = u32>,
        partials: impl ExactSizeIterator<Item = T>,
        consts: &[T],
    ) -> NodeId {
        let stored = partials.len();
        let id = self.push_nary_with(kind, n, stored, consts, |slots, partial_slots| {
            for (slot, p) in slots.iter_mut().zip(parents) {
                *slot = p;
            }
            for (slot, d) in partial_slots.iter_mut().zip(partials) {
                *slot = d;
            }
            true
        });
        id.expect("invariant: this fill keeps every node")
    }

    /// Appends an n-ary node with `n` parents and `stored` partials (`n` or 0), letting `fill`
    /// write them straight into the tape's stacks: one pass over the operands, no check per
    /// element.
    ///
    /// `fill` receives the `n` parent slots and the `stored` partial slots, zeroed, and must fill
    /// them; it is crate code that neither records on this tape nor reads its storage, and it
    /// does not panic. It returns whether to keep the node: a dot product's fill checks its
    /// operands' tapes as it goes and returns `false` for a Var of another tape. The node then
    /// comes off again and this returns `None`, for the caller to panic with its own message
    /// and leave the tape as it was. (A guard that took the node off while unwinding from a
    /// panic inside `fill` made recording a network markedly slower.)
    #[inline(always)]
    pub(crate) fn push_nary_with(
        &self,
        kind: OpKind,
        n: usize,
        stored: usize,
        consts: &[T],
        fill: impl FnOnce(&mut [u32], &mut [T]) -> bool,
    ) -> Option<NodeId> {
        debug_assert!(stored == n || stored == 0);
        let count = u32::try_from(n).unwrap_or_else(|_| {
            panic!(
                "{}: got {n} operands; one node takes at most {} — split the operation",
                kind.name(),
                u32::MAX
            )
        });
        // SAFETY: see `with_storage`. `fill` is crate code over slices of Vars and plain numbers
        // that writes only the slots it is given: it neither records on this tape nor reads it,
        // and the scalar arithmetic it runs is the crate's own (`Scalar` is sealed).
        let s = unsafe { &mut *self.storage.get() };
        let index = s.kinds.len();
        if index >= self.limit as usize {
            self.full();
        }
        // `room` is settled before anything is appended, so that no later unchecked append
        // counts on capacity this node used, whether it is kept or not.
        let used = (n + 2)
            .div_ceil(MAX_PARENT_WORDS)
            .max(stored.div_ceil(MAX_PARTIALS))
            .max(consts.len())
            .max(1);
        s.room = s.room.saturating_sub(used);
        s.kinds.push(kind);
        let p0 = s.parents.len();
        s.parents.resize(p0 + n + 2, count);
        let q0 = s.partials.len();
        s.partials.resize(q0 + stored, T::zero());
        if !fill(&mut s.parents[p0 + 1..p0 + 1 + n], &mut s.partials[q0..]) {
            s.kinds.truncate(index);
            s.parents.truncate(p0);
            s.partials.truncate(q0);
            return None;
        }
        s.consts.extend_from_slice(consts);
        Some(NodeId(index as u32))
    }

    #[cold]
    #[inline(never)]
    fn full(&self) -> ! {
        panic!(
            "tape is full: it holds {} nodes, the most one tape can index with u32; \
             clear it between steps or split the computation",
            self.limit
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn add_stores_no_partials_and_mul_stores_two() {
        let tape = Tape::new();
        let x = tape.var(2.0);
        let y = tape.var(3.0);
        let _ = x + y;
        tape.with_storage(|s| {
            assert_eq!(s.parents, vec![0, 1]);
            assert!(s.partials.is_empty());
        });
        let _ = x * y;
        tape.with_storage(|s| {
            assert_eq!(s.parents, vec![0, 1, 0, 1]);
            assert_eq!(s.partials, vec![3.0, 2.0]);
            assert_eq!(s.consts, vec![2.0, 3.0]);
        });
    }

    #[test]
    fn sum_frames_its_parents_with_the_count() {
        let tape = Tape::new();
        let xs = tape.vars(&[1.0, 2.0, 3.0]);
        let _ = tape.sum(&xs);
        tape.with_storage(|s| {
            assert_eq!(s.parents, vec![3, 0, 1, 2, 3]);
            assert!(s.partials.is_empty());
        });
    }

    #[test]
    #[should_panic(
        expected = "tape is full: it holds 3 nodes, the most one tape can index with u32; clear it between steps or split the computation"
    )]
    fn a_full_tape_panics_instead_of_wrapping() {
        let mut tape = Tape::new();
        tape.limit = 3;
        let x = tape.var(1.0);
        let y = x + 1.0;
        let _ = y * x;
        let _ = y * x;
    }

    #[test]
    fn a_dropped_tape_hands_its_buffers_to_the_next() {
        let first = Tape::with_capacity(10_000);
        let x = first.var(1.0);
        let _ = x.sin();
        let cap = first.with_storage(|s| s.kinds.capacity());
        drop(first);
        let second = Tape::<f64>::new();
        assert!(second.is_empty());
        assert_eq!(second.with_storage(|s| s.kinds.capacity()), cap);
    }

    #[test]
    fn clear_renews_the_identity() {
        let mut tape = Tape::<f64>::new();
        let before = tape.id();
        tape.clear();
        assert_ne!(before, tape.id());
    }
}
