//! Repeated blocks: a loop over data points records the same instructions once per point, and
//! the passes can run them position by position across the points instead of point by point.
//!
//! A training loss over a batch records, for each data point, the same network on that point:
//! `times` blocks of `len` instructions, block `p`'s instruction `j` of the same kind and shape
//! as block 0's, reading the shared parameters and its own block's earlier slots. Run point by
//! point, every instruction pays a dispatch, and the processor sees one point's work at a time.
//! Run position by position — instruction `j` of every block, then `j + 1` — a fused neuron's
//! kind, activation and length are decided once for all the blocks, and the activations of the
//! points, which do not depend on each other, sit side by side for the processor to overlap.
//!
//! Both orders compute every value from the same operands by the same rule, so the forward pass
//! gives the same bits in either. The backward pass must also keep, for every slot, the order in
//! which its adjoint receives its terms ([`super::Program::backward`]). Position by position,
//! from the last position to the first and at each from the last block to the first, it does
//! when:
//!
//! - a block reads only slots from before the stretch and its own earlier slots, so each slot
//!   made in a block receives its terms from its own block, in the order of the positions;
//! - a slot from before the stretch that several blocks read, such as a weight, is read at one
//!   position only, so it receives its terms block after block, from the last to the first, as
//!   the sweep gives them; a slot that one block alone reads, such as a point's input, may be
//!   read at several positions.
//!
//! In a program without neurons the second condition is wider: the blocks that read a slot from
//! before the stretch, taken in order, read it at positions that never go back. A chain of terms
//! that each read their own input and the next — Rosenbrock's `100 (xᵢ₊₁ - xᵢ²)² + (1 - xᵢ)²`,
//! a finite difference, a smoothness penalty — reads `xᵢ₊₁` at block `i`'s first position and
//! again at block `i + 1`'s first and second. Position by position from the last, and at each
//! from the last block, that input still receives block `i + 1`'s terms, the later position's
//! first, before block `i`'s, as the sweep gives them; the same holds for chunks of blocks. A
//! network keeps the narrower rule: its lanes hold a weight's adjoint in registers across a
//! position's blocks ([`Lane`]), which another position's reads of it would miss.
//!
//! Where block `p` reads such a slot at a later position than block `p + 1` first reads it —
//! `xᵢ.exp() * (xᵢ₊₁.sin() - xᵢ)`, or Rosenbrock's term written `(100 t) t`, reads `xᵢ₊₁` after
//! its own input, where the next term reads it first — block `p` reads it through a copy of its
//! own ([`Deferred`]): the copy's adjoint collects block `p`'s term, and passes it on once the
//! repeat has run backward, after every later block's terms, as the sweep gives them.
//!
//! Where a position's neurons all read the same weights and bias — one neuron of a layer, on
//! each point — and find their partners a fixed step apart, the passes read the weights once
//! for all the blocks and the backward pass sums their adjoints' terms in registers ([`Lane`]):
//! the same additions, in the same order, as through memory.
//!
//! Consecutive positions of the same kind — a layer's neurons, all of one length and shape —
//! make a [`Group`], whose code, a [`Kernel`], is chosen when the program is built: a small
//! batch (XOR's four points) pays one call per layer, not a choice of code per neuron.
//! Where a group's lanes all read the same partners — a layer's neurons, each reading the
//! layer before or the data point — it is a [`Kind::Layer`], and its lanes run four at a time,
//! block by block: a block's partners are read once for four neurons, and the backward pass
//! keeps four neurons' weights' adjoints in registers. Block by block is the sweep's own order,
//! the blocks taken from the last, so every slot still receives its terms in that order.
//!
//! In a network a block starts with a neuron. Blocks of fused neurons whose lists are runs,
//! fused squares and custom nodes — what a network and its loss record — are tried first; where
//! none repeat, as where a loss written out of other operations ends each point's block, blocks
//! of any kinds but comparisons are. In a program without neurons — a sum of terms, a
//! likelihood over data points — an instruction proposes the distances to the next
//! instructions of its kind as block lengths. Neurons run in the kernels here; every other
//! instruction runs by the general rules (`value!`, `pass_on!`), position by position across a
//! chunk of blocks ([`Kind::Other`]). A comparison ends a stretch; so it is never run out of
//! recorded order, and a failed one is still reported as the first that fails.
//!
//! Where the instructions at a position differ from block to block only in index fields that
//! step evenly — each block's operands one block on, a shared parameter at the same slot, a
//! data point's constant the next one ([`Stride`]) — the passes make each block's instruction
//! from the first block's instead of reading it, with its variant matched once for all the
//! blocks: the rules then run without a choice of code per instruction. Run by the general
//! rules with the variant matched per instruction, such positions ran no faster than one by one
//! (benches/FINDINGS.md). A position whose blocks all run the same one-input operation of the
//! table share its entry; a position of `powi`s of one small exponent then runs in a loop
//! compiled for that exponent.

use std::cell::Cell;
use std::cmp::Reverse;
use std::collections::HashMap;
use std::mem::{Discriminant, discriminant};
use std::ops::Range;

use super::{Act, ForwardedSum, HANDED_ON, Ins, NO_SUM, Program, Shape, add_bias, bias_terms};

use crate::ops::Unary;
use crate::ops::nary::weighted_sum;
use crate::{Error, Scalar};

/// `times` blocks of `len` instructions from instruction `start`, run position by position;
/// its positions make up the [`Group`]s [`Program::groups`]`[groups..groups + count]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Repeat {
    start: u32,
    len: u32,
    times: u32,
    groups: u32,
    count: u32,
}

/// Consecutive positions of a repeat that the passes run with one dispatch: fused neurons of
/// the same length and shape, each position with a [`Lane`], or instructions of other kinds.
/// A layer of a network, on every data point, is one group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Group {
    /// Its repeat, copied here so that a kernel reads it without an index.
    repeat: Repeat,
    /// The first position and how many there are.
    first: u32,
    count: u32,
    /// For [`Kind::Lanes`] and [`Kind::Layer`], where the positions' lanes start in
    /// [`Program::lanes`].
    lanes: u32,
    /// Where the positions' strides start in [`Program::strides`].
    strides: u32,
    kind: Kind,
}

/// What a [`Group`]'s positions hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Fused neurons of `n` inputs and the shape `shape`, each position with a [`Lane`].
    Lanes { n: u16, shape: Shape },
    /// [`Kind::Lanes`] whose lanes, four or more, all read the same partners — the neurons of
    /// one layer, each reading the whole of the layer before, or the data point — run four
    /// at a time ([`Program::quad`]). `packed` when the lanes' weights and biases lie one
    /// after another, each lane's weights then its bias — as [`crate::nn`] and a loop over a
    /// flat parameter vector lay them out — so that a quad reads and writes its four lanes'
    /// through one checked slice ([`quad_params`]).
    Layer { n: u16, shape: Shape, packed: bool },
    /// Instructions of any other kind but comparisons — a loss written out of operations of
    /// the table, fused squares, a custom node such as a point's softmax cross-entropy — run
    /// position by position across a chunk of blocks, by the general rules (`value!`,
    /// `pass_on!`; [`Program::forward_other`], [`other_backward`]), each block's instruction
    /// made from the first's where the position has a [`Stride`].
    Other,
}

/// A position of a repeat whose fused neurons all read the same weights, from slot `xs`, and
/// the same bias — a layer's neuron on each data point — and whose partners lie a fixed `step`
/// apart from block to block: block `p`'s from `ys + p · step`. The passes then read the
/// weights and the bias once for all the blocks, and the backward pass sums their adjoints'
/// terms in registers ([`Program::shared_neurons_backward`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Lane {
    xs: u32,
    bias: u32,
    ys: u32,
    step: u32,
}

/// The code that runs a [`Group`] in each pass, chosen when the program is built
/// ([`Kernel::of`]) and called with the group, which holds all it needs. A run makes
/// no choice of code but one call per group, and each kernel, a small function of its own,
/// sets up only what its own loops use: one large function holding every variant, as before,
/// saved and loaded the state of all of them on each call.
#[derive(Clone, Copy)]
pub(super) struct Kernel<T> {
    /// `None` for [`Kind::Other`], whose forward pass stores partials in the program and so
    /// runs through [`Program::forward_other`].
    forward: Option<ForwardKernel<T>>,
    backward: BackwardKernel<T>,
}

/// A forward kernel: the program, the group and the values.
type ForwardKernel<T> = fn(&Program<T>, &Group, &[Cell<T>]);

/// A backward kernel: the program, the group, the adjoints and the values.
type BackwardKernel<T> = fn(&Program<T>, &Group, &[Cell<T>], &[T]);

/// The most inputs of a neuron whose weights a [`Lane`] keeps in registers, or on the stack; a
/// wider one runs by the general rules ([`Kind::Other`]).
const LANE_INPUTS: usize = 32;

/// The most inputs of a neuron whose kernel keeps its lanes in arrays of this length rather
/// than [`LANE_INPUTS`]: the kernels size their arrays by a constant, and arrays far longer
/// than the neurons made a six-input layer's passes slower.
const SHORT_LANE: usize = 8;

/// How many blocks a group of [`Kind::Other`] runs at each position before the next: few
/// enough that their slots stay in the first-level cache across the positions, enough that
/// each position's loop pays its set-up over many blocks.
const CHUNK: usize = 256;

/// The longest block of a repeat: its positions are noted in 16 bits while the repeats are
/// searched ([`Reads`]).
const LONGEST: usize = u16::MAX as usize;

/// The longest block of a repeat of any kinds ([`any_key`]).
const ANY_LEN: usize = 128;

/// How many block lengths an instruction of a program without neurons proposes: the distances
/// to the next instructions of its key at which [`ANY_TIMES`] blocks from it match in kind. A
/// block that holds its first instruction's kind several times (a term of three `powf`s, a
/// data point's hidden units written out) is still proposed, and the shorter repeats inside it
/// (the hidden units) are not, as they end before `ANY_TIMES` blocks; of the distances whose
/// blocks match, the shortest two are. Each proposal costs a pair of blocks read, at every
/// instruction of a long program that repeats nothing; a distance whose kinds differ costs only
/// their comparison, up to the first that differs.
const PROPOSALS: usize = 2;

/// How many instructions of its kind an instruction looks past for its [`PROPOSALS`]: a term
/// may hold its first instruction's kind up to this many times and still be found.
const HOPS: usize = 16;

/// The fewest blocks of a repeat of any kinds.
const ANY_TIMES: usize = 8;

/// How many lanes of a [`Kind::Layer`] group run together, block by block ([`Program::quad`]).
const QUAD: usize = 4;

impl Repeat {
    /// The first instruction of the stretch.
    pub(super) fn start(self) -> usize {
        self.start as usize
    }

    /// The instruction after the stretch.
    pub(super) fn end(self) -> usize {
        (self.start + self.len * self.times) as usize
    }

    /// The instructions at position `j` of each block, the first block's first.
    fn position(self, j: usize) -> impl DoubleEndedIterator<Item = usize> + ExactSizeIterator {
        self.at(0..self.times as usize, j)
    }

    /// The instructions at position `j` of the blocks `blocks`, in order.
    fn at(
        self,
        blocks: Range<usize>,
        j: usize,
    ) -> impl DoubleEndedIterator<Item = usize> + ExactSizeIterator {
        let (start, len) = (self.start as usize, self.len as usize);
        blocks.map(move |p| start + p * len + j)
    }

    /// Its blocks in chunks of [`CHUNK`], in order.
    fn chunks(self) -> impl DoubleEndedIterator<Item = Range<usize>> {
        let times = self.times as usize;
        (0..times.div_ceil(CHUNK)).map(move |c| c * CHUNK..times.min((c + 1) * CHUNK))
    }

    /// Where its groups are in [`Program::groups`].
    pub(super) fn groups(self) -> Range<usize> {
        self.groups as usize..(self.groups + self.count) as usize
    }
}

impl Group {
    /// Its positions, in order.
    fn positions(self) -> Range<usize> {
        self.first as usize..(self.first + self.count) as usize
    }

    /// Where position `j`'s stride is in [`Program::strides`].
    fn stride_at(self, j: usize) -> usize {
        self.strides as usize + j - self.first as usize
    }

    /// Where its positions' lanes are in [`Program::lanes`] (only for [`Kind::Lanes`] and
    /// [`Kind::Layer`]).
    fn lanes(self) -> Range<usize> {
        self.lanes as usize..(self.lanes + self.count) as usize
    }
}

/// How far each index field of an instruction ([`indices`]) moves from one block to the next.
pub(super) type Stride = [u32; 3];

/// The index fields of `ins` — value slots, constants, operations, partials — in order, the
/// rest zero; `None` for an instruction with an operand list or one that needs its own index
/// (sums, dots, neurons, custom nodes) and for comparisons.
fn indices(ins: Ins) -> Option<Stride> {
    let mut fields = [0; 3];
    with_indices(ins, |i, x| {
        fields[i] = x;
        x
    })?;
    Some(fields)
}

/// Block `p`'s instruction at a position whose first is `first` and whose index fields step by
/// `step` ([`Program::stride`] found that they do).
#[inline(always)]
fn shifted(first: Ins, step: Stride, p: usize) -> Ins {
    let p = p as u32;
    let moved = with_indices(first, |i, x| x.wrapping_add(step[i].wrapping_mul(p)));
    moved.expect("invariant: a stride is found only for an instruction with index fields")
}

/// `ins` with each index field `x`, the `i`-th, replaced by `f(i, x)`; `None` where [`indices`]
/// is.
#[inline(always)]
fn with_indices(ins: Ins, mut f: impl FnMut(usize, u32) -> u32) -> Option<Ins> {
    Some(match ins {
        Ins::AddConst { x, c } => Ins::AddConst {
            x: f(0, x),
            c: f(1, c),
        },
        Ins::RSubConst { x, c } => Ins::RSubConst {
            x: f(0, x),
            c: f(1, c),
        },
        Ins::Neg { x } => Ins::Neg { x: f(0, x) },
        Ins::MulConst { x, c } => Ins::MulConst {
            x: f(0, x),
            c: f(1, c),
        },
        Ins::Square { x, sq } => Ins::Square { x: f(0, x), sq },
        Ins::AddConstSquared { x, c, s, sq } => Ins::AddConstSquared {
            x: f(0, x),
            c: f(1, c),
            s: f(2, s),
            sq,
        },
        Ins::RSubConstSquared { x, c, s, sq } => Ins::RSubConstSquared {
            x: f(0, x),
            c: f(1, c),
            s: f(2, s),
            sq,
        },
        Ins::SubSquared { x, y, s, sq } => Ins::SubSquared {
            x: f(0, x),
            y: f(1, y),
            s: f(2, s),
            sq,
        },
        Ins::SubSquareSquared { x, y, s, sq, inner } => Ins::SubSquareSquared {
            x: f(0, x),
            y: f(1, y),
            s: f(2, s),
            sq,
            inner,
        },
        Ins::Exp { x } => Ins::Exp { x: f(0, x) },
        Ins::Tanh { x } => Ins::Tanh { x: f(0, x) },
        Ins::Sigmoid { x } => Ins::Sigmoid { x: f(0, x) },
        Ins::Unary { op, x, q } => Ins::Unary {
            op: f(0, op),
            x: f(1, x),
            q: f(2, q),
        },
        Ins::Add { x, y } => Ins::Add {
            x: f(0, x),
            y: f(1, y),
        },
        Ins::Sub { x, y } => Ins::Sub {
            x: f(0, x),
            y: f(1, y),
        },
        Ins::AddAdd { x, y, z, right } => Ins::AddAdd {
            x: f(0, x),
            y: f(1, y),
            z: f(2, z),
            right,
        },
        Ins::Mul { x, y } => Ins::Mul {
            x: f(0, x),
            y: f(1, y),
        },
        Ins::Scaled { x, y, c, op, first } => Ins::Scaled {
            x: f(0, x),
            y: f(1, y),
            c: f(2, c),
            op,
            first,
        },
        Ins::MulAdd { x, y, z, op, first } => Ins::MulAdd {
            x: f(0, x),
            y: f(1, y),
            z: f(2, z),
            op,
            first,
        },
        Ins::Binary { op, x, y, q } => Ins::Binary {
            op,
            x: f(0, x),
            y: f(1, y),
            q: f(2, q),
        },
        Ins::Sum { .. }
        | Ins::Chain { .. }
        | Ins::Fold { .. }
        | Ins::Dot { .. }
        | Ins::DotConst { .. }
        | Ins::Custom { .. }
        | Ins::Neuron { .. }
        | Ins::RunNeuron { .. }
        | Ins::Compare { .. }
        | Ins::CompareConst { .. } => return None,
    })
}

/// `by_variant!($ins, $run, $kernel, $first, ($params))`: a function of the type `$kernel`
/// that calls `$run` with its parameters `$params`, one written out for `$ins`'s arm among an
/// arm for each variant [`with_indices`] moves and for each value of the fields that choose
/// how the variant's rules run (whether a square is a product, a fused square scaled, a scaled
/// operation's operation and side). Each copy matches its arm's pattern again on the parameter
/// `$first`, the first block's instruction, so that the optimizer knows these of every
/// instruction [`shifted`] makes from it, and the rules' matches and tests fold away: a
/// position's forward or backward code, chosen once when the program is built
/// ([`Program::position_kernel`]). The copies are functions, not closures inlined into one
/// large caller, so no change to that caller can leave them out of line with the variant
/// unknown (benches/FINDINGS.md).
///
/// Only the optimizer makes the copies pay, and each holds the whole of `value!` or `pass_on!`
/// until it folds them: a build with debug assertions (unoptimized, as a rule) matches the same
/// patterns in one arm with one copy — the same code on the same instructions — which compiles
/// faster and keeps the copies' frames off the stack. Both read the one list of patterns
/// below, so the tests of either build find a variant missing from it.
macro_rules! by_variant {
    ($ins:expr, $run:expr, $kernel:ty, $first:ident, $params:tt) => {
        by_variant!(
            @arms $ins, $run, ($kernel, $first, $params),
            Ins::AddConst { .. },
            Ins::RSubConst { .. },
            Ins::Neg { .. },
            Ins::MulConst { .. },
            Ins::Square { sq: Sq::Powi, .. },
            Ins::Square { sq: Sq::Product, .. },
            Ins::AddConstSquared { sq: Sq::Powi, s: UNSCALED, .. },
            Ins::AddConstSquared { sq: Sq::Powi, .. },
            Ins::AddConstSquared { sq: Sq::Product, s: UNSCALED, .. },
            Ins::AddConstSquared { sq: Sq::Product, .. },
            Ins::AddConstSquared { sq: Sq::ScaledProduct, .. },
            Ins::RSubConstSquared { sq: Sq::Powi, s: UNSCALED, .. },
            Ins::RSubConstSquared { sq: Sq::Powi, .. },
            Ins::RSubConstSquared { sq: Sq::Product, s: UNSCALED, .. },
            Ins::RSubConstSquared { sq: Sq::Product, .. },
            Ins::RSubConstSquared { sq: Sq::ScaledProduct, .. },
            Ins::SubSquared { sq: Sq::Powi, s: UNSCALED, .. },
            Ins::SubSquared { sq: Sq::Powi, .. },
            Ins::SubSquared { sq: Sq::Product, s: UNSCALED, .. },
            Ins::SubSquared { sq: Sq::Product, .. },
            Ins::SubSquared { sq: Sq::ScaledProduct, .. },
            Ins::SubSquareSquared { sq: Sq::Powi, inner: Sq::Powi, s: UNSCALED, .. },
            Ins::SubSquareSquared { sq: Sq::Powi, inner: Sq::Powi, .. },
            Ins::SubSquareSquared { sq: Sq::Powi, inner: Sq::Product, s: UNSCALED, .. },
            Ins::SubSquareSquared { sq: Sq::Powi, inner: Sq::Product, .. },
            Ins::SubSquareSquared { sq: Sq::Product, inner: Sq::Powi, s: UNSCALED, .. },
            Ins::SubSquareSquared { sq: Sq::Product, inner: Sq::Powi, .. },
            Ins::SubSquareSquared { sq: Sq::Product, inner: Sq::Product, s: UNSCALED, .. },
            Ins::SubSquareSquared { sq: Sq::Product, inner: Sq::Product, .. },
            Ins::SubSquareSquared { sq: Sq::ScaledProduct, inner: Sq::Powi, .. },
            Ins::SubSquareSquared { sq: Sq::ScaledProduct, inner: Sq::Product, .. },
            Ins::Exp { .. },
            Ins::Tanh { .. },
            Ins::Sigmoid { .. },
            Ins::Unary { .. },
            Ins::Add { .. },
            Ins::Sub { .. },
            Ins::AddAdd { right: true, .. },
            Ins::AddAdd { right: false, .. },
            Ins::Mul { .. },
            Ins::Scaled { op: Binary::Add, first: true, .. },
            Ins::Scaled { op: Binary::Add, first: false, .. },
            Ins::Scaled { op: Binary::Sub, first: true, .. },
            Ins::Scaled { op: Binary::Sub, first: false, .. },
            Ins::Scaled { op: Binary::Mul, first: true, .. },
            Ins::Scaled { op: Binary::Mul, first: false, .. },
            Ins::MulAdd { op: Binary::Add, first: true, .. },
            Ins::MulAdd { op: Binary::Add, first: false, .. },
            Ins::MulAdd { op: Binary::Sub, first: true, .. },
            Ins::MulAdd { op: Binary::Sub, first: false, .. },
            Ins::Binary { .. }
        )
    };
    (@arms $ins:expr, $run:expr, ($kernel:ty, $first:ident, $params:tt),
     $($pattern:pat),*) => {{
        #[allow(unused_imports)]
        use $crate::{ops::Binary, replay::program::{Sq, UNSCALED}};
        #[cfg(not(debug_assertions))]
        let out: $kernel = match $ins {
            $($pattern => by_variant!(@one $run, $first, $params, $pattern),)*
            _ => unreachable!(
                "invariant: a stride is found only for an instruction with index fields"
            ),
        };
        #[cfg(debug_assertions)]
        let out: $kernel = match $ins {
            $($pattern)|* => by_variant!(@any $run, $params),
            _ => unreachable!(
                "invariant: a stride is found only for an instruction with index fields"
            ),
        };
        out
    }};
    (@one $run:expr, $first:ident, ($($param:ident),*), $pattern:pat) => {
        |$($param),*| {
            // Matched again inside, where the optimizer then knows the variant.
            let $first = match $first {
                first @ $pattern => first,
                _ => unreachable!("invariant: the kernel of a position of this variant"),
            };
            ($run)($($param),*)
        }
    };
    (@any $run:expr, ($($param:ident),*)) => {
        |$($param),*| ($run)($($param),*)
    };
}

/// What must match at one position across the blocks: the variant, and for a fused neuron its
/// length and shape, which its kernels fix.
type Key = (Discriminant<Ins>, u32);

/// The key of an instruction a network's repeat, grown from a neuron, holds: fused neurons
/// whose lists are runs, fused squares and custom nodes, what a network and its loss record.
fn key(ins: &Ins) -> Option<Key> {
    let extra = match *ins {
        Ins::RunNeuron { n, shape, .. } => u32::from(n) << 8 | u32::from(shape.0),
        Ins::AddConstSquared { .. }
        | Ins::RSubConstSquared { .. }
        | Ins::SubSquared { .. }
        | Ins::SubSquareSquared { .. } => 0,
        // A custom node — a loss of the library's own, such as a point's softmax cross-entropy —
        // runs by the general rules ([`Kind::Other`]). Blocks of custom nodes of the same
        // number of operands are alike.
        Ins::Custom { n, .. } => n,
        _ => return None,
    };
    Some((discriminant(ins), extra))
}

/// The key of an instruction any repeat holds: every kind but comparisons, which run in
/// recorded order, so that a failed one is still the first that fails.
fn any_key(ins: &Ins) -> Option<Key> {
    let extra = match *ins {
        Ins::Compare { .. } | Ins::CompareConst { .. } => return None,
        Ins::RunNeuron { n, shape, .. } => u32::from(n) << 8 | u32::from(shape.0),
        _ => 0,
    };
    Some((discriminant(ins), extra))
}

/// For each instruction, the next with the same key, or `keys.len()` if none.
fn same_next(keys: &[Option<Key>]) -> Vec<u32> {
    let n = keys.len();
    let mut next = vec![super::word(n); n];
    let mut last: std::collections::HashMap<Key, u32> = Default::default();
    for k in (0..n).rev() {
        if let Some(key) = keys[k] {
            if let Some(&after) = last.get(&key) {
                next[k] = after;
            }
            last.insert(key, super::word(k));
        }
    }
    next
}

/// For each instruction, where the run of instructions with a key from it ends: two blocks fit
/// only within it, which a search tells at once instead of after reading up to its end.
fn keyed_ends(keys: &[Option<Key>]) -> Vec<u32> {
    let mut end = vec![super::word(keys.len()); keys.len() + 1];
    for k in (0..keys.len()).rev() {
        if keys[k].is_none() {
            end[k] = super::word(k);
        } else {
            end[k] = end[k + 1];
        }
    }
    end
}

/// Where the stretch being grown has read a slot from before it: the last block that read it,
/// that block's first and last positions, and the last position of the blocks before it, if
/// any. The reads come block after block, but for the first two blocks, which are read side by
/// side ([`Program::grow`]). Positions take 16 bits ([`LONGEST`]): a note for each slot of a long
/// program is much of the search's memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Reads {
    last: u32,
    first: u16,
    latest: u16,
    before: Option<u16>,
}

impl Reads {
    /// The reads of one instruction, at `position` of `block`.
    fn new(block: u32, position: u16) -> Self {
        Reads {
            last: block,
            first: position,
            latest: position,
            before: None,
        }
    }

    /// Notes a read at `position` of `block`, and says whether the reads noted, taken block
    /// after block, still come at positions that never go back, and whether two blocks and two
    /// positions have now read the slot. Each answer holds if the reads noted before gave it
    /// as fitting: positions that never went back, or one block or one position.
    fn add(&mut self, block: u32, position: u16) -> (bool, bool) {
        let Reads {
            last,
            first,
            latest,
            before,
        } = *self;
        // Read as fitting by two blocks, the slot was read at one position: so two positions
        // read it if the last block's are two, or this read's is another.
        let blocks = before.is_some() || block != last;
        let positions = first != latest || position != first;
        let ordered = if block > last {
            *self = Reads {
                before: Some(before.map_or(latest, |b| b.max(latest))),
                ..Reads::new(block, position)
            };
            position >= latest
        } else if block == last {
            (self.first, self.latest) = (first.min(position), latest.max(position));
            before.is_none_or(|b| position >= b)
        } else {
            // Block 0, read beside block 1: no block comes before it.
            self.before = Some(before.map_or(position, |b| b.max(position)));
            block == 0 && last == 1 && position <= first
        };
        (ordered, blocks && positions)
    }
}

/// The search's notes, reused from one length tried to the next: each slot's direct reads, and
/// for the few read through copies ([`Deferred`]) the last block that read them so, with what
/// the reads of the block being read changed, to undo it.
struct Scratch {
    reads: Vec<Option<Reads>>,
    touched: Vec<(u32, Option<Reads>)>,
    deferred: HashMap<u32, u32>,
    touched_deferred: Vec<(u32, Option<u32>)>,
}

impl Scratch {
    /// Puts back what the reads since the lists of changes were cleared changed.
    fn undo(&mut self) {
        for &(x, was) in self.touched.iter().rev() {
            self.reads[x as usize] = was;
        }
        for &(x, was) in self.touched_deferred.iter().rev() {
            match was {
                Some(block) => self.deferred.insert(x, block),
                None => self.deferred.remove(&x),
            };
        }
    }

    /// Notes that `block` reads slot `x` through a copy, and says whether that still keeps
    /// the sweep's order: no block up to this one reads `x` directly. The blocks come in order
    /// but for the first two, read side by side, so a direct read already noted may only be
    /// block 1's, the one block to read it so far.
    fn read_through_copy(&mut self, x: usize, block: u32) -> bool {
        let fits = self.reads[x].is_none_or(|r| r.last > block && r.before.is_none());
        let x = super::word(x);
        let was = self.deferred.get(&x).copied();
        if was.is_none_or(|last| last < block) {
            self.deferred.insert(x, block);
            self.touched_deferred.push((x, was));
        }
        fits
    }
}

/// A field of the instructions at one position of a repeat that reads a slot from before it
/// through a copy of its own in each block: block `p`'s copy is slot `first + p`, which the
/// forward pass fills from the slot before the repeat runs ([`Program::copy_in`]), and whose
/// adjoint the backward pass adds to the slot's once the repeat is done ([`Program::flush`]).
///
/// Position by position, a slot that block `p` reads at a later position than block `p + 1`
/// does would receive block `p`'s term before block `p + 1`'s earlier one, where the sweep
/// gives them the other way round. Read through a copy, block `p`'s term waits in the copy's
/// adjoint and reaches the slot after every block's direct terms, blocks from the last and
/// positions from the last within each: the sweep's order, when every block that reads the
/// slot directly comes after every block that reads it through a copy ([`Scratch`] checks).
/// A copy receives one term, so adding its adjoint adds that term: adjoints start at `+0` and
/// are only added to, so none is `-0`, and adding the `+0` a `-0` term leaves in the copy
/// changes nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Deferred {
    repeat: u32,
    first: u32,
}

/// Whether the `i`-th field of `ins` ([`super::inline_slots`]) receives one term from the
/// backward pass: not the base of a square written as a product, nor the operand of an inner
/// square written so, each of which receives the product's two.
fn one_term(ins: &Ins, i: usize) -> bool {
    use super::Sq;
    !matches!(
        (ins, i),
        (
            Ins::Square {
                sq: Sq::Product,
                ..
            },
            0
        ) | (
            Ins::SubSquareSquared {
                inner: Sq::Product,
                ..
            },
            1
        )
    )
}

/// The forward code of one position of a group of [`Kind::Other`] that has a [`Stride`], chosen
/// when the program is built ([`Program::position_kernel`]): called with the program, the first
/// block's instruction and its stride, the blocks to run, and the repeat's first instruction,
/// its blocks' length and the position.
pub(super) type PositionKernel<T> = fn(
    &mut Program<T>,
    Ins,
    Stride,
    Range<usize>,
    (usize, usize, usize),
    &[Cell<T>],
) -> Result<(), Error>;

/// The backward code of one position of a group of [`Kind::Other`] that has a [`Stride`], chosen
/// when the program is built ([`Program::backward_kernel`]): called with the program, the first
/// block's instruction and its stride, the blocks to run, the repeat's first instruction, its
/// blocks' length and the position, the adjoint of a sum every block's instruction there takes
/// as its own ([`Program::forward_sums`]), the adjoints, and the values with their twins.
pub(super) type PositionBackward<T> =
    fn(&Program<T>, Ins, Stride, Range<usize>, (usize, usize, usize), Option<T>, &[Cell<T>], &[T]);

/// The forward code of a position of `powi(N)`s ([`Program::position_kernel`]): [`Unary::eval`]'s
/// rule with the exponent a constant, so that the repeated squaring of [`crate::ops::powi`]
/// unrolls to its multiplications, the same in the same order, where an exponent read at run
/// time loops over its bits twice (the value and the partial) in every block. The partial is
/// stored where the general rules store it.
fn powers<T: Scalar, const N: i32>(
    program: &mut Program<T>,
    first: Ins,
    step: Stride,
    blocks: Range<usize>,
    (start, len, j): (usize, usize, usize),
    values: &[Cell<T>],
) -> Result<(), Error> {
    let slot = program.leaves + start + j;
    for p in blocks {
        let Ins::Unary { x, q, .. } = shifted(first, step, p) else {
            unreachable!("invariant: a position of powers holds one-input operations");
        };
        let (y, d) = Unary::Powi(N).eval(values[x as usize].get());
        program.partials[q as usize] = d;
        values[slot + p * len].set(y);
    }
    Ok(())
}

/// The forward code of a position of the general rules: block `p`'s instruction made from the
/// first block's by the stride ([`shifted`]), its value by `value!`. Called in each arm of
/// `by_variant!`, that arm's variant known in it, so that the rules fold to that variant's.
#[inline(always)]
fn stepped<T: Scalar>(
    program: &mut Program<T>,
    first: Ins,
    step: Stride,
    blocks: Range<usize>,
    (start, len, j): (usize, usize, usize),
    values: &[Cell<T>],
) -> Result<(), Error> {
    let v = |x: u32| values[x as usize].get();
    let (consts, unaries) = (&program.consts, &program.unaries);
    let operands = &program.operands;
    let list = |at: u32, n: u32| &operands[at as usize..(at + n) as usize];
    for p in blocks {
        let k = start + p * len + j;
        let ins = shifted(first, step, p);
        let value = value!(program, &ins, k, values, consts, unaries, list, v);
        values[program.leaves + k].set(value);
    }
    Ok(())
}

/// The backward code of a position of the general rules ([`other_backward`]), the blocks from the
/// last: block `p`'s instruction made from the first block's by the stride ([`shifted`]), its
/// updates by `pass_on!`, its adjoint `from_sum` where every block's is a sum's, else its own.
/// Called in each arm of `by_variant!`, as [`stepped`] is.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn stepped_backward<T: Scalar>(
    program: &Program<T>,
    first: Ins,
    step: Stride,
    blocks: Range<usize>,
    (start, len, j): (usize, usize, usize),
    from_sum: Option<T>,
    adj: &[Cell<T>],
    all: &[T],
) {
    // As long as the adjoints, so that one check of an operand's index covers both.
    let values = &all[..adj.len()];
    let zero = T::zero();
    let list = |at: u32, n: u32| &program.operands[at as usize..(at + n) as usize];
    let slot = |p: usize| program.leaves + start + p * len + j;
    // Block `$p`'s updates, its adjoint `$a` not zero.
    macro_rules! pass {
        ($p:expr, $a:expr) => {{
            let (ins, slot) = (shifted(first, step, $p), slot($p));
            pass_on!(
                program,
                &ins,
                $a,
                || slot,
                || values[slot],
                adj,
                values,
                all,
                list
            );
        }};
    }
    // Two loops, so that neither tests where the adjoint comes from.
    match from_sum {
        Some(a) => {
            for p in blocks.rev() {
                pass!(p, a);
            }
        }
        None => {
            for p in blocks.rev() {
                let a = adj[slot(p)].replace(zero);
                // As the tape's sweep: a node with a zero adjoint passes nothing on.
                if a != zero {
                    pass!(p, a);
                }
            }
        }
    }
}

/// The [`Kernel`] of a group of fused neurons of `n` inputs and the shape `shape`, from the
/// generic functions `forward` and `backward`: when `n` is 1 to 4, with `n`, the activation and
/// the kind of partners as constants, so that each compiles to loops of its own (32 in all for
/// each kind of group): the dot products unroll, each list takes one bounds check and no branch
/// picks the activation. A longer neuron's kernel reads `n` at run time (`N = 0`), as does
/// every kernel of an [`Act::Table`] activation, whose function is read from the program. The
/// last constant, `W`, is the length of the kernel's arrays of lanes: 4, [`SHORT_LANE`] or
/// [`LANE_INPUTS`], the shortest that holds `n`.
macro_rules! kernel {
    ($forward:ident, $backward:ident, $n:expr, $shape:expr) => {{
        let shape: Shape = $shape;
        match $n {
            1 => kernel!(@act $forward, $backward, 1, 4, shape),
            2 => kernel!(@act $forward, $backward, 2, 4, shape),
            3 => kernel!(@act $forward, $backward, 3, 4, shape),
            4 => kernel!(@act $forward, $backward, 4, 4, shape),
            n if usize::from(n) <= SHORT_LANE => {
                kernel!(@act $forward, $backward, 0, { SHORT_LANE }, shape)
            }
            _ => kernel!(@act $forward, $backward, 0, { LANE_INPUTS }, shape),
        }
    }};
    (@act $forward:ident, $backward:ident, $n:literal, $w:tt, $shape:ident) => {
        match $shape.act() {
            Act::Identity => {
                kernel!(@konst $forward, $backward, $n, { Act::Identity as u8 }, $w, $shape)
            }
            Act::Tanh => kernel!(@konst $forward, $backward, $n, { Act::Tanh as u8 }, $w, $shape),
            Act::Sigmoid => {
                kernel!(@konst $forward, $backward, $n, { Act::Sigmoid as u8 }, $w, $shape)
            }
            Act::Relu => kernel!(@konst $forward, $backward, $n, { Act::Relu as u8 }, $w, $shape),
            // Any other function of the table: one kernel for each width of lane, the length
            // and the function read at run time.
            Act::Table => {
                const TABLE: u8 = Act::Table as u8;
                if $w <= SHORT_LANE {
                    kernel!(@konst $forward, $backward, 0, { TABLE }, { SHORT_LANE }, $shape)
                } else {
                    kernel!(@konst $forward, $backward, 0, { TABLE }, { LANE_INPUTS }, $shape)
                }
            }
        }
    };
    (@konst $forward:ident, $backward:ident, $n:literal, $act:block, $w:tt, $shape:ident) => {
        if $shape.konst() {
            Kernel {
                forward: Some($forward::<T, $n, $act, true, $w>),
                backward: $backward::<T, $n, $act, true, $w>,
            }
        } else {
            Kernel {
                forward: Some($forward::<T, $n, $act, false, $w>),
                backward: $backward::<T, $n, $act, false, $w>,
            }
        }
    };
}

impl<T: Scalar> Program<T> {
    /// Finds the stretches of repeated blocks ([`Repeat`]), each as long as it can be, the
    /// program read from the start. In a network a block starts with a neuron, as a network's
    /// first layer does, and its length is the distance from there to the next instruction
    /// that reads the same slot from before it — the same weight, one point on. In a program
    /// without neurons, a block's length is the distance from its first instruction to one of
    /// the next [`PROPOSALS`] of the same key.
    ///
    /// Blocks of fused neurons, squares and custom nodes ([`key`]), what a network and its
    /// loss record, are tried first, two or more of at most [`LONGEST`] instructions. Where
    /// none repeat — a loss written out of other operations, such as a logistic regression's,
    /// ends each point's block — blocks of any kinds but comparisons ([`any_key`]) are tried,
    /// at most [`ANY_LEN`] long and at least [`ANY_TIMES`] of them: with every kind keyed, a
    /// search can read a pair of blocks as long as the length tried before it fails (a
    /// recurrent layer's), so the bound keeps compiling linear.
    pub(super) fn find_repeats(&mut self, values: &mut Vec<T>) {
        let is_neuron = |ins: &Ins| matches!(ins, Ins::RunNeuron { .. });
        let network = self.ins.iter().any(is_neuron);
        if network {
            self.share_constants();
        }
        let n = self.ins.len();
        let slots = self.leaves + n;
        // A network's blocks are proposed by the slots its neurons read: the distance from a
        // neuron to the next reader of each (a weight's next reader is one point on, an
        // input's the next neuron). Without neurons, by the next instructions of the same key.
        // Each proposal keeps only what it needs, as compiling a long tape is bounded in memory.
        let keys: Vec<Option<Key>> = if network {
            self.ins.iter().map(key).collect()
        } else {
            Vec::new()
        };
        let any_keys: Vec<Option<Key>> = self.ins.iter().map(any_key).collect();
        let (keyed_end, any_end) = (keyed_ends(&keys), keyed_ends(&any_keys));
        let same_next = if network {
            Vec::new()
        } else {
            same_next(&any_keys)
        };
        // Each slot's readers, in order: the instructions from `first[x]` to `first[x + 1]`.
        let (first, readers) = if network {
            self.readers(slots)
        } else {
            (Vec::new(), Vec::new())
        };
        let next_reader = |x: u32, k: usize| {
            let of = &readers[first[x as usize] as usize..first[x as usize + 1] as usize];
            of.get(of.partition_point(|&r| r as usize <= k))
                .map(|&r| r as usize)
        };

        // Scratch space, reused from one instruction to the next.
        let mut scratch = Scratch {
            reads: vec![None; slots],
            touched: Vec::new(),
            deferred: HashMap::new(),
            touched_deferred: Vec::new(),
        };
        let mut lens: Vec<usize> = Vec::new();
        let mut s = 0;
        while s < n {
            // The lengths proposed (above); of those that repeat, the one that covers the most
            // instructions wins, and of those the shortest: two terms of a sum make a block as
            // well as one does, but with twice the positions, each across half the blocks.
            lens.clear();
            if !network {
                let mut k = s;
                for _ in 0..HOPS {
                    if lens.len() == PROPOSALS {
                        break;
                    }
                    k = same_next[k] as usize;
                    if k >= n || k - s > ANY_LEN {
                        break;
                    }
                    // Only a length whose first ANY_TIMES blocks match in kind can repeat.
                    let len = k - s;
                    let block = |i: usize| &any_keys[s + i * len..s + (i + 1) * len];
                    let enough = s + ANY_TIMES * len <= n;
                    if enough && (1..ANY_TIMES).all(|i| block(i) == block(0)) {
                        lens.push(len);
                    }
                }
            } else if is_neuron(&self.ins[s]) {
                self.each_operand(self.ins[s], |x| {
                    if (x as usize) < self.leaves + s {
                        lens.extend(next_reader(x, s).map(|r| r - s));
                    }
                });
            }
            lens.sort_unstable();
            lens.dedup();
            // The length that covers the most instructions in blocks of `keys`, at most `most`
            // long and at least `fewest` of them.
            let mut longest = |keys: &[Option<Key>], end: &[u32], most: usize, fewest: usize| {
                lens.iter()
                    .filter(|&&len| len <= most && s + fewest * len <= end[s] as usize)
                    .map(|&len| (len, self.grow(s, len, (keys, !network), &mut scratch)))
                    .filter(|&(_, times)| times >= fewest)
                    .max_by_key(|&(len, times)| (len * times, Reverse(len)))
            };
            let found = network
                .then(|| longest(&keys, &keyed_end, LONGEST, 2))
                .flatten();
            match found.or_else(|| longest(&any_keys, &any_end, ANY_LEN, ANY_TIMES)) {
                Some((len, times)) => {
                    let mut repeat = Repeat {
                        start: super::word(s),
                        len: super::word(len),
                        times: super::word(times),
                        groups: super::word(self.groups.len()),
                        count: 0,
                    };
                    if !network {
                        let masks = self.deferrals(s, len);
                        self.defer(repeat, &masks, values);
                    }
                    self.make_groups(&mut repeat);
                    self.repeats.push(repeat);
                    s = repeat.end();
                }
                _ => s += 1,
            }
        }
    }

    /// Each of the `slots` value slots' readers, in order: the instructions `readers[first[x]..
    /// first[x + 1]]` read slot `x`.
    fn readers(&self, slots: usize) -> (Vec<u32>, Vec<u32>) {
        let mut first = vec![0u32; slots + 1];
        for &ins in &self.ins {
            self.each_operand(ins, |x| first[x as usize + 1] += 1);
        }
        for x in 0..slots {
            first[x + 1] += first[x];
        }
        let mut readers = vec![0u32; first[slots] as usize];
        let mut filled = first.clone();
        for (k, &ins) in self.ins.iter().enumerate() {
            self.each_operand(ins, |x| {
                readers[filled[x as usize] as usize] = super::word(k);
                filled[x as usize] += 1;
            });
        }
        (first, readers)
    }

    /// Points each fused neuron whose constant partners equal, bit for bit, those of the
    /// fused neuron just before it at that neuron's copy. A layer's neurons on one data point
    /// each record their own copy of the point (`tape.dot(&weights, &point)`); read from one
    /// copy, they share their partners, and the layer's lanes can run together
    /// ([`Kind::Layer`]). The values read are the same, so no result changes.
    fn share_constants(&mut self) {
        let consts = &self.consts;
        let bits = |at: u32, n: u16| {
            let run = &consts[at as usize..at as usize + usize::from(n)];
            run.iter().map(|c| c.to_f64().to_bits())
        };
        let mut before: Option<(u32, u16)> = None;
        for ins in &mut self.ins {
            let Ins::RunNeuron { ys, n, shape, .. } = ins else {
                continue;
            };
            if !shape.konst() {
                before = None;
                continue;
            }
            match before {
                Some((at, m)) if m == *n && bits(at, m).eq(bits(*ys, *n)) => *ys = at,
                _ => before = Some((*ys, *n)),
            }
        }
    }

    /// How many blocks of `len` instructions from `s` repeat the first, when at least two do,
    /// else 0; `reads` is all `None` before and after, and `touched` (where the reads that
    /// changed `reads` are noted, to undo a block that does not fit) is scratch space. It holds
    /// the first two blocks' reads, then one block's at a time: once the blocks are found, their
    /// notes are cleared by reading them again, as a long repeat's changes would take more memory
    /// than its program.
    ///
    /// The first two blocks are read side by side, position by position: where the second does
    /// not repeat the first — as where each block reads the block before, a recurrent layer — the
    /// search stops at the first position that differs. Read one after the other, the whole
    /// first block was read at every instruction a block could start from, which made finding
    /// the repeats quadratic in a block's length. The blocks after them are read one after the
    /// other ([`Reads::add`]).
    fn grow(
        &self,
        s: usize,
        len: usize,
        (keys, sliding): (&[Option<Key>], bool),
        scratch: &mut Scratch,
    ) -> usize {
        let masks = if sliding {
            self.deferrals(s, len)
        } else {
            Vec::new()
        };
        let read = |at, scratch: &mut _| self.read_at(s, len, at, (keys, sliding, &masks), scratch);
        scratch.touched.clear();
        scratch.touched_deferred.clear();
        let pair = s + 2 * len <= self.ins.len()
            && (0..len).all(|j| (0..2).all(|p| read((p, j), scratch)));
        if !pair {
            scratch.undo();
            return 0;
        }
        let mut times = 2;
        while s + (times + 1) * len <= self.ins.len() {
            scratch.touched.clear();
            scratch.touched_deferred.clear();
            if !(0..len).all(|j| read((times, j), scratch)) {
                scratch.undo();
                break;
            }
            times += 1;
        }
        scratch.deferred.clear();
        let outside = self.leaves + s;
        for &ins in &self.ins[s..s + times * len] {
            self.each_operand(ins, |x| {
                if (x as usize) < outside {
                    scratch.reads[x as usize] = None;
                }
            });
        }
        times
    }

    /// Notes in `scratch` the reads of the instruction at `(block, position)` of the blocks of
    /// `len` instructions from `s`, each read that changes a slot's note noted with what it
    /// replaced, and whether the instruction fits: of the kind and shape of the first block's
    /// at that position, reading its own block's earlier slots and slots from before `s`, and,
    /// with `sliding`, no slot from before `s` read by a block at a later position than by a
    /// block after it; without, none read both by two blocks and at two positions. The fields
    /// `masks` marks at each position ([`Program::deferrals`]) read through copies: a slot
    /// read so is read directly by no block up to the last that reads it through a copy.
    fn read_at(
        &self,
        s: usize,
        len: usize,
        (block, position): (usize, usize),
        (keys, sliding, masks): (&[Option<Key>], bool, &[u8]),
        scratch: &mut Scratch,
    ) -> bool {
        let outside = self.leaves + s;
        let own = outside + block * len;
        let k = s + block * len + position;
        if keys[k].is_none() || keys[k] != keys[s + position] {
            return false;
        }
        let mask = masks.get(position).copied().unwrap_or(0);
        let mut fits = true;
        let mut field = 0;
        self.each_operand(self.ins[k], |x| {
            let x = x as usize;
            let copied = field < 8 && mask >> field & 1 == 1;
            field += 1;
            if x >= outside {
                // Its own block's earlier slots only.
                fits &= x >= own;
                return;
            }
            let block = super::word(block);
            if copied {
                fits &= scratch.read_through_copy(x, block);
                return;
            }
            if let Some(&by) = scratch.deferred.get(&super::word(x)) {
                fits &= by < block;
            }
            let was = scratch.reads[x];
            let position = u16::try_from(position).expect("a block is at most LONGEST long");
            match &mut scratch.reads[x] {
                None => scratch.reads[x] = Some(Reads::new(block, position)),
                Some(r) => {
                    let (ordered, across) = r.add(block, position);
                    fits &= if sliding { ordered } else { !across };
                }
            }
            // Only a read that changes what is noted needs undoing: a weight read by every
            // block at one position changes it twice, not once per block.
            if scratch.reads[x] != was {
                scratch.touched.push((super::word(x), was));
            }
        });
        fits
    }

    /// For each position of the blocks of `len` instructions from `s`, the fields (bit `i` for
    /// the `i`-th of [`super::inline_slots`]) that read a slot from before `s` through a copy
    /// of their own ([`Deferred`]); empty if none do. A slot that block 0 reads at a later
    /// position than block 1 first reads it — Rosenbrock's `xᵢ₊₁` in `(100 t) t`, read by term
    /// `i` in its second instruction and by term `i + 1` in its first — is read through copies
    /// by block 0 at every position, if each of those reads is a field that receives one term
    /// and the only field of its instruction that reads the slot. The blocks after are alike,
    /// and [`Program::read_at`] checks that they are.
    fn deferrals(&self, s: usize, len: usize) -> Vec<u8> {
        if s + 2 * len > self.ins.len() {
            return Vec::new();
        }
        let (first, second) = (s..s + len, s + len..s + 2 * len);
        let outside = self.leaves + s;
        // The reads of slots from before `s` in each block, as (slot, position), in order.
        let reads = |block: Range<usize>| {
            let mut reads: Vec<(u32, usize)> = Vec::new();
            for (j, k) in block.enumerate() {
                self.each_operand(self.ins[k], |x| {
                    if (x as usize) < outside {
                        reads.push((x, j));
                    }
                });
            }
            reads.sort_unstable();
            reads
        };
        let (by_first, by_second) = (reads(first), reads(second));
        // Whether block 1 first reads `x` at an earlier position than block 0 last reads it.
        let goes_back = |x: u32| {
            let at = by_second.partition_point(|&(y, _)| y < x);
            let earliest = by_second.get(at).filter(|r| r.0 == x).map(|r| r.1);
            let at = by_first.partition_point(|&(y, _)| y <= x);
            let latest = at
                .checked_sub(1)
                .map(|at| by_first[at])
                .filter(|r| r.0 == x);
            matches!((earliest, latest), (Some(a), Some((_, b))) if a < b)
        };
        let mut masks = vec![0u8; len];
        let mut any = false;
        for (j, mask) in masks.iter_mut().enumerate() {
            let ins = self.ins[s + j];
            let fields = super::slots_of(ins);
            let copied = fields.iter().enumerate().filter_map(|(i, x)| {
                x.filter(|&x| (x as usize) < outside && goes_back(x))
                    .map(|x| (i, x))
            });
            for (i, x) in copied {
                let unique = fields.iter().filter(|&&y| y == Some(x)).count() == 1;
                if !(unique && one_term(&ins, i)) {
                    return Vec::new();
                }
                *mask |= 1 << i;
                any = true;
            }
            // A read of such a slot through an operand list cannot take a copy.
            let listed = fields.iter().flatten().count();
            let mut n = 0;
            let mut through_list = false;
            self.each_operand(ins, |x| {
                through_list |= n >= listed && (x as usize) < outside && goes_back(x);
                n += 1;
            });
            if through_list {
                return Vec::new();
            }
        }
        if any { masks } else { Vec::new() }
    }

    /// Rewrites the fields `masks` marks at each position ([`Program::deferrals`]) in the blocks
    /// of `repeat` (not yet pushed) to read copies of their slots: block `p`'s copy of a
    /// position's field is slot `first + p`, after the program's slots and the copies before
    /// it, its value the slot's own at first. Notes each such field as a [`Deferred`].
    fn defer(&mut self, repeat: Repeat, masks: &[u8], values: &mut Vec<T>) {
        let base = self.leaves + self.ins.len();
        for (j, &mask) in masks.iter().enumerate() {
            for i in (0..3).filter(|i| mask >> i & 1 == 1) {
                let first = super::word(base + self.origins.len());
                self.deferred.push(Deferred {
                    repeat: super::word(self.repeats.len()),
                    first,
                });
                for (p, k) in repeat.position(j).enumerate() {
                    let mut fields = super::inline_slots(&mut self.ins[k]);
                    let field = fields[i]
                        .take()
                        .expect("invariant: a deferred field is an inline slot");
                    let x = *field;
                    *field = first + super::word(p);
                    self.origins.push(x);
                    values.push(values[x as usize]);
                }
            }
        }
    }

    /// Sorts the positions of `repeat` into [`Group`]s, appended to [`Program::groups`] (and
    /// their lanes to [`Program::lanes`]): each position joins the group before it if it holds
    /// the same kind of instructions.
    fn make_groups(&mut self, repeat: &mut Repeat) {
        for j in 0..repeat.len {
            let ins = self.ins[repeat.start() + j as usize];
            let lane = self.lane(*repeat, j as usize);
            let kind = match (ins, lane) {
                (Ins::RunNeuron { n, shape, .. }, Some(_)) => Kind::Lanes { n, shape },
                _ => Kind::Other,
            };
            let lanes = super::word(self.lanes.len());
            self.lanes.extend(lane);
            let strides = super::word(self.strides.len());
            let stride = match kind {
                Kind::Other => {
                    self.share_unary(*repeat, j as usize);
                    self.stride(*repeat, j as usize)
                }
                _ => None,
            };
            let first = self.ins[repeat.start() + j as usize];
            let kernel = stride.map(|step| self.position_kernel(first, step));
            self.position_kernels.push(kernel);
            self.backward_kernels
                .push(stride.map(|_| Self::backward_kernel(first)));
            self.strides.push(stride);
            match self.groups[repeat.groups()].last_mut() {
                Some(group) if group.kind == kind => group.count += 1,
                _ => {
                    let (first, count) = (j, 1);
                    self.groups.push(Group {
                        repeat: *repeat,
                        first,
                        count,
                        lanes,
                        strides,
                        kind,
                    });
                    repeat.count += 1;
                }
            }
        }
        for group in &mut self.groups[repeat.groups()] {
            if let Kind::Lanes { n, shape } = group.kind {
                let lanes = &self.lanes[group.lanes()];
                let shared = |lane: &Lane| (lane.ys, lane.step) == (lanes[0].ys, lanes[0].step);
                if lanes.len() >= QUAD && lanes.iter().all(shared) {
                    let packed = packed(lanes, n);
                    group.kind = Kind::Layer { n, shape, packed };
                }
            }
        }
        for g in repeat.groups() {
            let group = &mut self.groups[g];
            group.repeat = *repeat;
            self.kernels.push(Kernel::of(group.kind));
        }
    }

    /// The [`Lane`] of position `j` of `repeat`, if its neurons have at most [`LANE_INPUTS`]
    /// inputs, all read the same weights and bias, and find their partners a fixed step apart.
    /// The passes then keep the weights, the bias and their adjoints in registers across the
    /// blocks, which gives the same bits only if no other slot the neurons read or update is one
    /// of them: the bias is not a weight, and partners that are values are neither.
    fn lane(&self, repeat: Repeat, j: usize) -> Option<Lane> {
        let Ins::RunNeuron {
            xs, bias, n, shape, ..
        } = self.ins[repeat.start() + j]
        else {
            return None;
        };
        let n = u32::from(n);
        let weights = xs..xs + n;
        if n as usize > LANE_INPUTS || weights.contains(&bias) {
            return None;
        }
        let partners = |k: usize| match self.ins[k] {
            Ins::RunNeuron {
                xs: x, ys, bias: b, ..
            } if x == xs && b == bias => Some(ys),
            _ => None,
        };
        let ys = partners(repeat.start() + j)?;
        let step = partners(repeat.start() + repeat.len as usize + j)?.checked_sub(ys)?;
        for (p, k) in repeat.position(j).enumerate() {
            let at = partners(k)?;
            let stepped = step
                .checked_mul(super::word(p))
                .and_then(|d| ys.checked_add(d));
            if stepped != Some(at) {
                return None;
            }
            let mut run = at..at + n;
            if !shape.konst() && run.any(|y| y == bias || weights.contains(&y)) {
                return None;
            }
        }
        Some(Lane { xs, bias, ys, step })
    }

    /// Points the instructions at position `j` of `repeat`, if they are one-input operations
    /// of the table ([`Ins::Unary`]) and all the same operation with the same number to the
    /// bit — a `powi(3)` in every term — at the first block's: each block records its own, and
    /// then the position's [`Stride`] shows the operation the same in every block, which
    /// [`Program::position_kernel`] reads.
    fn share_unary(&mut self, repeat: Repeat, j: usize) {
        let Ins::Unary { op: first, .. } = self.ins[repeat.start() + j] else {
            return;
        };
        let bits = |u: Unary<T>| {
            let constant = u.constant().map(|c| c.to_f64().to_bits());
            (u.kind(), constant, u.aux())
        };
        let of = bits(self.unaries[first as usize]);
        let unaries = &self.unaries;
        let same =
            |ins: &Ins| matches!(*ins, Ins::Unary { op, .. } if bits(unaries[op as usize]) == of);
        if !repeat.position(j).all(|k| same(&self.ins[k])) {
            return;
        }
        for k in repeat.position(j) {
            if let Ins::Unary { op, .. } = &mut self.ins[k] {
                *op = first;
            }
        }
    }

    /// The forward code of a position of a group of [`Kind::Other`] whose first instruction is
    /// `first` and whose instructions step by `step`: a position of `powi`s of one exponent
    /// from −4 to 8 (but 0, 1 and 2, which the rule gives without a loop) runs in a loop
    /// compiled for that exponent ([`powers`]); any other by the general rules, in the copy
    /// of [`stepped`] written for its variant (`by_variant!`).
    fn position_kernel(&self, first: Ins, step: Stride) -> PositionKernel<T> {
        self.powers_kernel(first, step).unwrap_or_else(|| {
            by_variant!(
                first,
                stepped,
                PositionKernel<T>,
                first,
                (program, first, step, blocks, at, values)
            )
        })
    }

    /// The backward code of a position of a group of [`Kind::Other`] whose first instruction is
    /// `first` and which has a stride: the general rules, in the copy of [`stepped_backward`]
    /// written for its variant (`by_variant!`).
    fn backward_kernel(first: Ins) -> PositionBackward<T> {
        by_variant!(
            first,
            stepped_backward,
            PositionBackward<T>,
            first,
            (program, first, step, blocks, at, from_sum, adj, all)
        )
    }

    /// [`powers`] for the position, if its instructions are `powi`s of the same exponent
    /// from −4 to 8 but 0, 1 and 2.
    fn powers_kernel(&self, first: Ins, step: Stride) -> Option<PositionKernel<T>> {
        // The operation's index is the first field: the same operation in every block.
        let Ins::Unary { op, .. } = first else {
            return None;
        };
        let Unary::Powi(n) = self.unaries[op as usize] else {
            return None;
        };
        if step[0] != 0 {
            return None;
        }
        macro_rules! exponents {
            ($($n:literal)*) => {
                match n {
                    $($n => Some(powers::<T, $n>),)*
                    _ => None,
                }
            };
        }
        exponents!(3 4 5 6 7 8 -1 -2 -3 -4)
    }

    /// How the instructions at position `j` of `repeat` step from block to block, if they do
    /// evenly: block `p`'s is block 0's with each index field moved by `p` times its step
    /// ([`shifted`]). The passes then make each block's instruction from block 0's, with its
    /// variant matched once for all the blocks, instead of reading it.
    fn stride(&self, repeat: Repeat, j: usize) -> Option<Stride> {
        let first = self.ins[repeat.start() + j];
        let second = self.ins[repeat.start() + repeat.len as usize + j];
        let (a, b) = (indices(first)?, indices(second)?);
        let step: Stride = std::array::from_fn(|i| b[i].wrapping_sub(a[i]));
        let even = repeat
            .position(j)
            .enumerate()
            .all(|(p, k)| shifted(first, step, p) == self.ins[k]);
        even.then_some(step)
    }

    /// The forward pass over the group `g`: position by position, each across the blocks, by
    /// its [`Kernel`], or by the general rules for [`Kind::Other`]. A repeat's groups in order
    /// make its forward pass.
    #[inline(always)]
    pub(super) fn forward_group(&mut self, g: usize, values: &[Cell<T>]) -> Result<(), Error> {
        match self.kernels[g].forward {
            Some(forward) => {
                forward(self, &self.groups[g], values);
                Ok(())
            }
            None => self.forward_other(g, values),
        }
    }

    /// The forward pass over a group of [`Kind::Other`]: position by position, each across the
    /// blocks, the blocks taken [`CHUNK`] at a time so that a chunk's slots stay near at hand
    /// from one position to the next. A block reads only its own earlier slots and slots from
    /// before the repeat, all computed by then. A position with a [`Stride`] runs by its
    /// [`PositionKernel`]; any other, instruction by instruction.
    #[inline(never)]
    fn forward_other(&mut self, g: usize, values: &[Cell<T>]) -> Result<(), Error> {
        let group = self.groups[g];
        let repeat = group.repeat;
        let v = |x: u32| values[x as usize].get();
        let (start, len) = (repeat.start(), repeat.len as usize);
        for blocks in repeat.chunks() {
            for j in group.positions() {
                let s = group.stride_at(j);
                if let (Some(step), Some(kernel)) = (self.strides[s], self.position_kernels[s]) {
                    let first = self.ins[start + j];
                    kernel(self, first, step, blocks.clone(), (start, len, j), values)?;
                    continue;
                }
                let (consts, operands, unaries) = (&self.consts, &self.operands, &self.unaries);
                let list = |at: u32, n: u32| &operands[at as usize..(at + n) as usize];
                for k in repeat.at(blocks.clone(), j) {
                    let value = value!(self, &self.ins[k], k, values, consts, unaries, list, v);
                    values[self.leaves + k].set(value);
                }
            }
        }
        Ok(())
    }

    /// The copies of the repeat `r` ([`Deferred`]), in the order of their positions.
    pub(super) fn copies(&self, r: usize) -> &[Deferred] {
        let r = super::word(r);
        let from = self.deferred.partition_point(|d| d.repeat < r);
        let to = self.deferred.partition_point(|d| d.repeat <= r);
        &self.deferred[from..to]
    }

    /// Fills the copies of the repeat `r` with the values of the slots they copy, before its
    /// groups run forward.
    pub(super) fn copy_in(&self, r: usize, values: &[Cell<T>]) {
        let base = self.leaves + self.ins.len();
        let times = self.repeats[r].times as usize;
        for d in self.copies(r) {
            let first = d.first as usize;
            let copies = &values[first..first + times];
            for (copy, &x) in copies.iter().zip(&self.origins[first - base..]) {
                copy.set(values[x as usize].get());
            }
        }
    }

    /// Adds the adjoint of each copy of the repeat `r` to the slot it copies, and sets it back
    /// to zero, once the repeat has run backward: from the last block and, within each, from
    /// the last position, the order in which the sweep gives those terms. A copy whose adjoint
    /// is zero, as when its reader passed nothing on, adds nothing: no adjoint is `-0`
    /// ([`Deferred`]), so adding a zero would change none.
    pub(super) fn flush(&self, r: usize, adj: &[Cell<T>]) {
        let copies = self.copies(r);
        if copies.is_empty() {
            return;
        }
        let base = self.leaves + self.ins.len();
        let zero = T::zero();
        for p in (0..self.repeats[r].times as usize).rev() {
            for d in copies.iter().rev() {
                let copy = d.first as usize + p;
                let a = adj[copy].replace(zero);
                if a != zero {
                    super::add(adj, self.origins[copy - base], a);
                }
            }
        }
    }

    /// Finds the positions of the repeats, of groups of [`Kind::Other`], whose every block's
    /// instruction is a term of one sum or chain of accumulating sums after the repeat, and read
    /// by nothing else: each such term's adjoint is the sum's, which the sweep adds to zero,
    /// so the backward pass reads it there instead ([`Program::sources`]) and the sum passes
    /// nothing to them ([`ForwardedSum`]). The sum's partials are all 1; a term read by anything
    /// else, an output, or a term twice in the sum, receives more than that one term, and its
    /// position keeps its own adjoints. Adding `a` to a zero adjoint gives `a` but for `-0`,
    /// which passes nothing on either way.
    ///
    /// The same holds one step down: a term that passes its adjoint on unchanged — `u + c`,
    /// `u + v` — to values of its own block that it alone reads gives each of them the sum's
    /// adjoint, added to zero. Those positions then take it from the sum too, and the term's
    /// passes nothing ([`HANDED_ON`]); and so on down, from the last position.
    pub(super) fn forward_sums(&mut self, outputs: &[u32]) {
        self.sources = vec![NO_SUM; self.strides.len()];
        let is_sum = |ins: &Ins| matches!(ins, Ins::Sum { .. } | Ins::Chain { .. });
        if self.repeats.is_empty() || !self.ins.iter().any(is_sum) {
            return;
        }
        // A term the sum alone reads is read once; an output counts more.
        let uses = self.uses(outputs);
        // At each position, how many of a sum's terms are its blocks', and how many blocks.
        let mut terms = vec![(0u32, 0u32); self.strides.len()];
        let mut counted = Vec::new();
        for k in 0..self.ins.len() {
            let (Ins::Sum { at, n } | Ins::Chain { at, n, .. }) = self.ins[k] else {
                continue;
            };
            let list = at as usize..(at + n) as usize;
            // The position of each term that only this sum reads, or `NO_SUM`.
            let mut positions = Vec::with_capacity(list.len());
            for &x in &self.operands[list.clone()] {
                let at = match uses[x as usize] {
                    1 => self.other_position(x, k),
                    _ => None,
                };
                positions.push(match at {
                    Some((i, times)) => {
                        if terms[i].0 == 0 {
                            counted.push(i);
                        }
                        terms[i] = (terms[i].0 + 1, times);
                        super::word(i)
                    }
                    None => NO_SUM,
                });
            }
            let sum = super::word(self.leaves + k);
            for i in counted.drain(..) {
                if terms[i].0 == terms[i].1 {
                    self.sources[i] = sum;
                }
                terms[i] = (0, 0);
            }
            let passed = |i: u32| i == NO_SUM || self.sources[i as usize] != sum;
            let kept: Vec<u32> = self.operands[list.clone()]
                .iter()
                .zip(positions)
                .filter_map(|(&x, i)| passed(i).then_some(x))
                .collect();
            if kept.len() < list.len() {
                let (at, n) = (super::word(self.operands.len()), super::word(kept.len()));
                self.sums.push(ForwardedSum { slot: sum, at, n });
                // No doubling of a list the program keeps for every call.
                self.operands.reserve_exact(kept.len());
                self.operands.extend(kept);
            }
        }
        for r in 0..self.repeats.len() {
            let repeat = self.repeats[r];
            for j in (0..repeat.len as usize).rev() {
                let end = self.ins.len();
                let Some((s, _)) =
                    self.other_position(super::word(self.leaves + repeat.start() + j), end)
                else {
                    continue;
                };
                let sum = self.sources[s];
                if sum == NO_SUM || sum == HANDED_ON {
                    continue;
                }
                if let Some(down) = self.handed_down(repeat, j, &uses) {
                    for i in down.into_iter().flatten() {
                        self.sources[i] = sum;
                    }
                    self.sources[s] = HANDED_ON;
                }
            }
        }
    }

    /// Where in [`Program::strides`] the positions are whose values the instructions at
    /// position `j` of `repeat` pass their adjoint to unchanged, if in every block they add
    /// (`u + c`, or `u + v` of two values), each operand a value of the same block at an
    /// earlier position of the general rules, read by nothing else and not yet a sum's term.
    fn handed_down(&self, repeat: Repeat, j: usize, uses: &[u32]) -> Option<[Option<usize>; 2]> {
        let (start, len) = (self.leaves + repeat.start(), repeat.len as usize);
        let operands = |ins: Ins| match ins {
            Ins::AddConst { x, .. } => Some([Some(x), None]),
            Ins::Add { x, y } if x != y => Some([Some(x), Some(y)]),
            _ => None,
        };
        let first = operands(self.ins[repeat.start() + j])?;
        let mut down = [None; 2];
        for (d, x) in down.iter_mut().zip(first) {
            let Some(x) = x else { continue };
            let i = (x as usize).checked_sub(start).filter(|&i| i < j)?;
            let (s, _) = self.other_position(x, self.ins.len())?;
            (self.sources[s] == NO_SUM).then_some(())?;
            *d = Some((s, i));
        }
        for p in 0..repeat.times as usize {
            let block = operands(self.ins[repeat.start() + p * len + j])?;
            for (d, x) in down.iter().zip(block) {
                if let (Some((_, i)), Some(x)) = (d, x) {
                    let slot = start + p * len + i;
                    (x as usize == slot && uses[slot] == 1).then_some(())?;
                } else if d.is_some() != x.is_some() {
                    return None;
                }
            }
        }
        Some(down.map(|d| d.map(|(s, _)| s)))
    }

    /// Where in [`Program::strides`] the position of the value slot `x` is, and how many blocks
    /// its repeat has: an instruction's of a repeat that ends by instruction `end`, at a
    /// position of a group of [`Kind::Other`].
    fn other_position(&self, x: u32, end: usize) -> Option<(usize, u32)> {
        let k = (x as usize).checked_sub(self.leaves)?;
        let r = self
            .repeats
            .partition_point(|r| r.start() <= k)
            .checked_sub(1)?;
        let repeat = self.repeats[r];
        if k >= repeat.end() || repeat.end() > end {
            return None;
        }
        let j = (k - repeat.start()) % repeat.len as usize;
        let group = self.groups[repeat.groups()]
            .iter()
            .find(|g| g.positions().contains(&j))?;
        (group.kind == Kind::Other).then(|| (group.stride_at(j), repeat.times))
    }

    /// The backward pass over the group `g`: position by position from the last, each across
    /// the blocks from the last, by its [`Kernel`].
    #[inline(always)]
    pub(super) fn backward_group(&self, g: usize, adj: &[Cell<T>], values: &[T]) {
        (self.kernels[g].backward)(self, &self.groups[g], adj, values);
    }

    /// The backward pass over a repeat: its groups' from the last group.
    #[inline(always)]
    pub(super) fn backward_repeat(&self, repeat: Repeat, adj: &[Cell<T>], values: &[T]) {
        for g in repeat.groups().rev() {
            self.backward_group(g, adj, values);
        }
    }
}

impl<T: Scalar> Program<T> {
    /// The values of the fused neurons at the positions of a group with [`Lane`]s: at each
    /// position the weights and the bias are read once, and each block's partners found by the
    /// lane's step. The same expressions on the same operands as [`Program::run_neuron`].
    #[inline(always)]
    fn shared_neurons<const W: usize>(
        &self,
        repeat: Repeat,
        lanes: Range<usize>,
        first: usize,
        n: usize,
        shape: Shape,
        values: &[Cell<T>],
    ) {
        let (len, times) = (repeat.len as usize, repeat.times as usize);
        for (lane, j) in self.lanes[lanes].iter().zip(first..) {
            let xs = lane.xs as usize;
            let mut w = [T::zero(); W];
            for (w, x) in w.iter_mut().zip(&values[xs..xs + n]) {
                *w = x.get();
            }
            let (w, b) = (&w[..n], values[lane.bias as usize].get());
            let (mut ys, step) = (lane.ys as usize, lane.step as usize);
            let first_out = self.leaves + repeat.start() + j;
            let mut out = first_out;
            for _ in 0..times {
                let sum = if shape.konst() {
                    let cs = &self.consts[ys..ys + n];
                    weighted_sum(w.iter().zip(cs).map(|(&x, &c)| (x, c)))
                } else {
                    weighted_sum(
                        w.iter()
                            .zip(&values[ys..ys + n])
                            .map(|(&x, y)| (x, y.get())),
                    )
                };
                let z = add_bias(sum, b, shape.bias_first());
                values[out].set(shape.act().value_or_later(z));
                (ys, out) = (ys + step, out + len);
            }
            self.activate_later(shape, values, first_out, len, times, 1);
        }
    }

    /// The sweep's updates for the fused neurons at the positions of a group with [`Lane`]s,
    /// from the last position to the first and at each from the last block to the first. At
    /// each position the adjoints of the weights and the bias are read once, receive each block's
    /// term in registers, from the last block to the first as the sweep gives them, and are
    /// written back once: the same additions in the same order as
    /// [`Program::run_neuron_backward`] makes through memory, since no other update of the
    /// position touches those slots ([`Program::lane`]).
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    fn shared_neurons_backward<const W: usize>(
        &self,
        repeat: Repeat,
        lanes: Range<usize>,
        first: usize,
        n: usize,
        shape: Shape,
        adj: &[Cell<T>],
        (values, keys): (&[T], &[T]),
    ) {
        let (len, times) = (repeat.len as usize, repeat.times as usize);
        let last = times - 1;
        let positions = first..first + lanes.len();
        let lanes = self.lanes[lanes].iter().zip(positions);
        for (lane, j) in lanes.rev() {
            let (mut g, w, mut g_b) = self.lane_sums::<W>(lane, n, adj, values);
            let (g_w, w) = (&mut g[..n], &w[..n]);
            // The last block's slot and partners; both step back a block at a time.
            let step = lane.step as usize;
            let mut slot = self.leaves + repeat.start() + j + last * len;
            let mut ys = lane.ys as usize + last * step;
            for _ in 0..times {
                let (at, from) = (slot, ys);
                (slot, ys) = (slot.wrapping_sub(len), ys.wrapping_sub(step));
                let neuron = (&adj[at], keys[at], self.partners(from, n, shape, values));
                self.lane_backward(neuron, (g_w, &mut g_b, w), n, shape, adj);
            }
            store_lane_sums(lane, g_w, g_b, adj);
        }
    }

    /// The adjoints of `lane`'s `n` weights, their values and the adjoint of its bias, to
    /// receive the backward pass's terms in registers ([`store_lane_sums`] writes them back).
    #[inline(always)]
    fn lane_sums<const W: usize>(
        &self,
        lane: &Lane,
        n: usize,
        adj: &[Cell<T>],
        values: &[T],
    ) -> ([T; W], [T; W], T) {
        let zero = T::zero();
        let (g, g_b) = lane_params::<_, _, W>(adj, lane, n, zero, Cell::get);
        let (w, _) = lane_params::<_, _, W>(values, lane, n, zero, |&x| x);
        (g, w, g_b)
    }
}

/// A neuron's partners' values and, for value slots, where they start ([`Program::partners`]).
type Partners<'a, T> = (&'a [T], usize);

/// [`Program::lane_backward`]'s updates from the neuron's adjoint `a`: its output `output` and
/// its partners as [`Program::partners`] reads them. As the tape's sweep, nothing is passed on
/// from a zero `a`, nor by an activation that passes zero on. The activation passes `a` times
/// its partial, which for a zero `a` is zero or NaN (0 · ∞, or a NaN partial): so what it
/// passes, above or below zero, says that `a` is not zero, in one compare where there were two
/// per neuron and block (benches/FINDINGS.md: one compare for the zero-adjoint test).
#[inline(always)]
fn lane_pass<T: Scalar>(
    a: T,
    (output, (y, from)): (T, Partners<'_, T>),
    (g_w, g_b, w): (&mut [T], &mut T, &[T]),
    n: usize,
    shape: Shape,
    adj: &[Cell<T>],
) {
    let zero = T::zero();
    let passed = shape.act().passed(output, a);
    // Above or below zero (for a dual number, its real part): not `passed != zero`, which a
    // NaN meets too. Only a zero or NaN `passed` takes the tests after it.
    #[allow(clippy::double_comparisons)]
    let ordered_nonzero = passed < zero || passed > zero;
    if !ordered_nonzero && (passed == zero || a == zero) {
        return;
    }
    let (a, to_bias) = bias_terms(passed, shape.bias_first());
    *g_b += to_bias;
    for (g, &y) in g_w.iter_mut().zip(&y[..n]) {
        *g += y * a;
    }
    if !shape.konst() {
        for (g, &x) in adj[from..from + n].iter().zip(w) {
            g.set(g.get() + x * a);
        }
    }
}

/// Writes the adjoints [`Program::lane_sums`] read back: `g_w` the weights', `g_b` the bias's.
#[inline(always)]
fn store_lane_sums<T: Scalar>(lane: &Lane, g_w: &[T], g_b: T, adj: &[Cell<T>]) {
    let xs = lane.xs as usize;
    for (a, &g) in adj[xs..xs + g_w.len()].iter().zip(g_w) {
        a.set(g);
    }
    adj[lane.bias as usize].set(g_b);
}

impl<T: Scalar> Program<T> {
    /// The sweep's updates of one block's neuron of a lane: `neuron` is its adjoint's slot, its
    /// value and where its partners start; `sums` the adjoints of the lane's weights and bias,
    /// held in registers, and the weights' values. As in `run_neuron_backward`, nothing is
    /// passed on from a zero adjoint, nor by an activation that passes zero on; else the bias
    /// and each weight receive their term, and partners that are values theirs through memory.
    #[inline(always)]
    fn lane_backward(
        &self,
        (slot, output, partners): (&Cell<T>, T, Partners<'_, T>),
        sums: (&mut [T], &mut T, &[T]),
        n: usize,
        shape: Shape,
        adj: &[Cell<T>],
    ) {
        let a = slot.replace(T::zero());
        lane_pass(a, (output, partners), sums, n, shape, adj);
    }

    /// The values of the `n` partners from `from` of a neuron of the shape `shape` —
    /// constants or value slots — and where they start, read once for the neurons of a block
    /// that share them.
    #[inline(always)]
    fn partners<'a>(
        &'a self,
        from: usize,
        n: usize,
        shape: Shape,
        values: &'a [T],
    ) -> Partners<'a, T> {
        let list = if shape.konst() {
            &self.consts[from..from + n]
        } else {
            &values[from..from + n]
        };
        (list, from)
    }

    /// [`Program::shared_neurons`] for the four lanes from `lanes`, at the positions from `j`,
    /// which read the same partners ([`Kind::Layer`]): block by block, the partners read once
    /// for the four neurons and their four values written as one slice. The same expressions
    /// on the same operands as [`Program::run_neuron`]; the neurons of a block do not read each
    /// other, since the first's partners precede its own slot and are the others' too.
    #[inline(always)]
    fn quad<const W: usize>(
        &self,
        repeat: Repeat,
        (lanes, packed): (usize, bool),
        j: usize,
        n: usize,
        shape: Shape,
        values: &[Cell<T>],
    ) {
        let zero = T::zero();
        let quad: &[Lane; QUAD] = self.lanes[lanes..]
            .first_chunk()
            .expect("invariant: a quad has four lanes");
        let (w, b) = quad_params::<_, _, W>(values, (quad, n, packed), zero, Cell::get);
        let (len, step) = (repeat.len as usize, quad[0].step as usize);
        let first_out = self.leaves + repeat.start() + j;
        let (mut ys, mut out) = (quad[0].ys as usize, first_out);
        // Past `n`, the partners of an earlier block or zeros, never read.
        let mut y = [zero; W];
        for _ in 0..repeat.times {
            if shape.konst() {
                y[..n].copy_from_slice(&self.consts[ys..ys + n]);
            } else {
                for (y, x) in y.iter_mut().zip(&values[ys..ys + n]) {
                    *y = x.get();
                }
            }
            let outs: &[Cell<T>; QUAD] = values[out..]
                .first_chunk()
                .expect("invariant: a quad has four slots");
            for ((out, w), &b) in outs.iter().zip(&w).zip(&b) {
                let sum = weighted_sum(w[..n].iter().copied().zip(y[..n].iter().copied()));
                let z = add_bias(sum, b, shape.bias_first());
                out.set(shape.act().value_or_later(z));
            }
            (ys, out) = (ys + step, out + len);
        }
        let times = repeat.times as usize;
        self.activate_later(shape, values, first_out, len, times, QUAD);
    }

    /// [`Program::shared_neurons_backward`] for the four lanes of [`Program::quad`]: block by
    /// block from the last, and in each the four neurons from the last, the adjoints of the
    /// four lanes' weights and biases summed in registers. Each slot receives its terms in the
    /// sweep's order: a weight or a bias only from its own lane, block after block from the
    /// last; a partner, a slot of its own block, from the neurons of that block, the last
    /// first. No update touches another lane's weights or bias, which a repeat reads at one
    /// position only ([`Program::find_repeats`]).
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    fn quad_backward<const W: usize>(
        &self,
        repeat: Repeat,
        (lanes, packed): (usize, bool),
        j: usize,
        n: usize,
        shape: Shape,
        adj: &[Cell<T>],
        (values, keys): (&[T], &[T]),
    ) {
        let zero = T::zero();
        let quad: &[Lane; QUAD] = self.lanes[lanes..]
            .first_chunk()
            .expect("invariant: a quad has four lanes");
        // The weights' adjoints and values, and the biases' adjoints.
        let (mut g, mut g_b) = quad_params::<_, _, W>(adj, (quad, n, packed), zero, Cell::get);
        let (w, _) = quad_params::<_, _, W>(values, (quad, n, packed), zero, |&x| x);
        let (len, step, last) = (
            repeat.len as usize,
            quad[0].step as usize,
            repeat.times as usize - 1,
        );
        // The last block's slots and partners; both step back a block at a time.
        let mut slot = self.leaves + repeat.start() + j + last * len;
        let mut ys = quad[0].ys as usize + last * step;
        for _ in 0..repeat.times {
            let (at, from) = (slot, ys);
            (slot, ys) = (slot.wrapping_sub(len), ys.wrapping_sub(step));
            let outs: &[Cell<T>; QUAD] = adj[at..]
                .first_chunk()
                .expect("invariant: a quad has four slots");
            let outputs: &[T; QUAD] = keys[at..]
                .first_chunk()
                .expect("invariant: a quad has four slots");
            let lanes = outs
                .iter()
                .zip(outputs)
                .zip(g.iter_mut().zip(&mut g_b).zip(&w));
            let partners = self.partners(from, n, shape, values);
            for ((slot, &output), ((g, g_b), w)) in lanes.rev() {
                let sums = (&mut g[..n], g_b, &w[..n]);
                self.lane_backward((slot, output, partners), sums, n, shape, adj);
            }
        }
        store_quad_sums(adj, (quad, n, packed), &g, &g_b);
    }
}

/// The weights and the biases of the four lanes `quad`, of `n` inputs each, as `get` reads
/// them from `slots` (values or adjoints). If `packed` ([`Kind::Layer`]), the twenty or fewer
/// slots are one checked slice, each lane's at fixed offsets within it: with `n` a constant of
/// the kernel, no other check is left (a lane's own slices took two checks each).
#[inline(always)]
fn quad_params<S, X: Copy, const W: usize>(
    slots: &[S],
    (quad, n, packed): (&[Lane; QUAD], usize, bool),
    zero: X,
    get: impl Fn(&S) -> X,
) -> ([[X; W]; QUAD], [X; QUAD]) {
    let (mut w, mut b) = ([[zero; W]; QUAD], [zero; QUAD]);
    if packed {
        let stride = n + 1;
        let all = &slots[quad[0].xs as usize..][..QUAD * stride];
        for ((w, b), lane) in w.iter_mut().zip(&mut b).zip(all.chunks_exact(stride)) {
            for (w, x) in w.iter_mut().zip(&lane[..n]) {
                *w = get(x);
            }
            *b = get(&lane[n]);
        }
    } else {
        for ((w, b), lane) in w.iter_mut().zip(&mut b).zip(quad) {
            (*w, *b) = lane_params::<_, _, W>(slots, lane, n, zero, &get);
        }
    }
    (w, b)
}

/// The `n` weights and the bias of `lane`, as `get` reads them from `slots` (values or
/// adjoints).
#[inline(always)]
fn lane_params<S, X: Copy, const W: usize>(
    slots: &[S],
    lane: &Lane,
    n: usize,
    zero: X,
    get: impl Fn(&S) -> X,
) -> ([X; W], X) {
    let mut w = [zero; W];
    let xs = lane.xs as usize;
    for (w, x) in w.iter_mut().zip(&slots[xs..xs + n]) {
        *w = get(x);
    }
    (w, get(&slots[lane.bias as usize]))
}

/// Writes the four lanes' adjoints [`quad_params`] read back: `g` the weights', `g_b` the
/// biases'.
#[inline(always)]
fn store_quad_sums<T: Scalar, const W: usize>(
    adj: &[Cell<T>],
    (quad, n, packed): (&[Lane; QUAD], usize, bool),
    g: &[[T; W]; QUAD],
    g_b: &[T; QUAD],
) {
    if packed {
        let stride = n + 1;
        let all = &adj[quad[0].xs as usize..][..QUAD * stride];
        for ((g, &g_b), lane) in g.iter().zip(g_b).zip(all.chunks_exact(stride)) {
            for (a, &g) in lane[..n].iter().zip(g) {
                a.set(g);
            }
            lane[n].set(g_b);
        }
    } else {
        for ((g, &g_b), lane) in g.iter().zip(g_b).zip(quad) {
            store_lane_sums(lane, &g[..n], g_b, adj);
        }
    }
}

/// Whether the lanes' weights and biases are packed ([`Kind::Layer`]): lane `k`'s weights
/// from the first lane's plus `k (n + 1)`, each lane's bias right after its weights.
fn packed(lanes: &[Lane], n: u16) -> bool {
    let stride = u64::from(n) + 1;
    let first = u64::from(lanes[0].xs);
    (0u64..).zip(lanes).all(|(k, lane)| {
        u64::from(lane.xs) == first + k * stride
            && u64::from(lane.bias) == u64::from(lane.xs) + u64::from(n)
    })
}

impl<T: Scalar> Kernel<T> {
    /// The kernel of a group of the kind `kind`.
    fn of(kind: Kind) -> Self {
        match kind {
            Kind::Lanes { n, shape } => kernel!(lanes_forward, lanes_backward, n, shape),
            Kind::Layer { n, shape, .. } => kernel!(layer_forward, layer_backward, n, shape),
            Kind::Other => Kernel {
                forward: None,
                backward: other_backward,
            },
        }
    }
}

/// A neuron kernel's group and what it fixes: the group's repeat, the group, and the neurons'
/// length and shape with what the kernel fixes as constants — `N` inputs unless it is 0, the
/// activation `ACT` and constant partners or not, `KONST`.
#[inline(always)]
fn unpack<const N: usize, const ACT: u8, const KONST: bool>(
    group: &Group,
) -> (Repeat, Group, usize, Shape) {
    let (Kind::Lanes { n, shape } | Kind::Layer { n, shape, .. }) = group.kind else {
        unreachable!("invariant: a neuron kernel runs a group of neurons");
    };
    let n = if N == 0 { usize::from(n) } else { N };
    let shape = shape.fixed(Act::from_bits(ACT), KONST);
    (group.repeat, *group, n, shape)
}

/// The values of the slots a sweep covers, as many as their adjoints `adj`: a backward kernel's
/// check of a slot's adjoint then covers its value too, one compare and branch fewer for each
/// (benches/FINDINGS.md: slices of equal length merge bounds checks).
#[inline(always)]
fn swept<'v, T>(values: &'v [T], adj: &[Cell<T>]) -> &'v [T] {
    &values[..adj.len()]
}

/// The forward kernel of a group of [`Kind::Lanes`]: [`Program::shared_neurons`].
fn lanes_forward<T: Scalar, const N: usize, const ACT: u8, const KONST: bool, const W: usize>(
    program: &Program<T>,
    group: &Group,
    values: &[Cell<T>],
) {
    let (repeat, group, n, shape) = unpack::<N, ACT, KONST>(group);
    let (lanes, first) = (group.lanes(), group.first as usize);
    program.shared_neurons::<W>(repeat, lanes, first, n, shape, values);
}

/// The backward kernel of a group of [`Kind::Lanes`]: [`Program::shared_neurons_backward`].
fn lanes_backward<T: Scalar, const N: usize, const ACT: u8, const KONST: bool, const W: usize>(
    program: &Program<T>,
    group: &Group,
    adj: &[Cell<T>],
    values: &[T],
) {
    let (repeat, group, n, shape) = unpack::<N, ACT, KONST>(group);
    let values = (
        swept(values, adj),
        program.keys(shape.act(), values, adj.len()),
    );
    let (lanes, first) = (group.lanes(), group.first as usize);
    program.shared_neurons_backward::<W>(repeat, lanes, first, n, shape, adj, values);
}

/// Whether a [`Kind::Layer`]'s lanes are packed.
#[inline(always)]
fn is_packed(group: &Group) -> bool {
    matches!(group.kind, Kind::Layer { packed: true, .. })
}

/// The forward kernel of a group of [`Kind::Layer`]: [`Program::quad`] on each four lanes,
/// [`Program::shared_neurons`] on the rest. (Kept apart from [`lanes_forward`]: one kernel
/// for both executes more instructions where an output neuron is a lone lane.)
fn layer_forward<T: Scalar, const N: usize, const ACT: u8, const KONST: bool, const W: usize>(
    program: &Program<T>,
    group: &Group,
    values: &[Cell<T>],
) {
    let (repeat, group, n, shape) = unpack::<N, ACT, KONST>(group);
    let (lanes, first, packed) = (group.lanes(), group.first as usize, is_packed(&group));
    // A layer of exactly four neurons (XOR's hidden layer) runs its one quad alone: kept across
    // the loop of quads, the set-up of the loop and of the lanes after the last quad spills to
    // the stack, in the backward kernel too. A loop over several quads still pays it.
    if lanes.len() == QUAD {
        return program.quad::<W>(repeat, (lanes.start, packed), first, n, shape, values);
    }
    let quads = lanes.len() / QUAD * QUAD;
    for q in (0..quads).step_by(QUAD) {
        program.quad::<W>(
            repeat,
            (lanes.start + q, packed),
            first + q,
            n,
            shape,
            values,
        );
    }
    let rest = lanes.start + quads..lanes.end;
    program.shared_neurons::<W>(repeat, rest, first + quads, n, shape, values);
}

/// The backward kernel of a group of [`Kind::Layer`]: as [`layer_forward`], from the last
/// lanes to the first — the lanes past the last four first, then each four.
fn layer_backward<T: Scalar, const N: usize, const ACT: u8, const KONST: bool, const W: usize>(
    program: &Program<T>,
    group: &Group,
    adj: &[Cell<T>],
    values: &[T],
) {
    let (repeat, group, n, shape) = unpack::<N, ACT, KONST>(group);
    let values = (
        swept(values, adj),
        program.keys(shape.act(), values, adj.len()),
    );
    let (lanes, first, packed) = (group.lanes(), group.first as usize, is_packed(&group));
    // As in the forward kernel.
    if lanes.len() == QUAD {
        let quad = (lanes.start, packed);
        return program.quad_backward::<W>(repeat, quad, first, n, shape, adj, values);
    }
    let quads = lanes.len() / QUAD * QUAD;
    let rest = lanes.start + quads..lanes.end;
    program.shared_neurons_backward::<W>(repeat, rest, first + quads, n, shape, adj, values);
    for q in (0..quads).step_by(QUAD).rev() {
        let quad = (lanes.start + q, packed);
        program.quad_backward::<W>(repeat, quad, first + q, n, shape, adj, values);
    }
}

/// The backward kernel of a group of [`Kind::Other`]: the chunks of blocks from the last, in
/// each the positions from the last, at each the blocks from the last. Each slot receives its
/// terms in the sweep's order ([`Program::find_repeats`]): a slot of a block from that block's
/// positions alone, the last first; a slot from before the repeat that several blocks read at
/// one position only (or, without neurons, at positions that never go back from block to block),
/// block after block from the last; one that one block reads, from that block's positions, the
/// last first.
#[inline(never)]
fn other_backward<T: Scalar>(program: &Program<T>, group: &Group, adj: &[Cell<T>], all: &[T]) {
    let (repeat, group) = (group.repeat, *group);
    // As long as the adjoints, so that one check of an operand's index covers both.
    let values = &all[..adj.len()];
    let zero = T::zero();
    let list = |at: u32, n: u32| &program.operands[at as usize..(at + n) as usize];
    let (start, len) = (repeat.start(), repeat.len as usize);
    // The sweep's updates for the instruction `$ins` of value slot `$slot`, whose adjoint `$a`
    // is not zero.
    macro_rules! pass {
        ($ins:expr, $slot:expr, $a:expr) => {{
            let slot = $slot;
            pass_on!(
                program,
                $ins,
                $a,
                || slot,
                || values[slot],
                adj,
                values,
                all,
                list
            );
        }};
    }
    for blocks in repeat.chunks().rev() {
        for j in group.positions().rev() {
            // Where every block's instruction is a term of the same sum and read by nothing
            // else, the sum's adjoint is each one's ([`Program::forward_sums`]).
            let sum = program.sources[group.stride_at(j)];
            if sum == HANDED_ON {
                continue;
            }
            let from_sum = (sum != NO_SUM).then(|| adj[sum as usize].get());
            if from_sum == Some(zero) {
                continue;
            }
            let s = group.stride_at(j);
            if let (Some(step), Some(kernel)) = (program.strides[s], program.backward_kernels[s]) {
                let first = program.ins[start + j];
                kernel(
                    program,
                    first,
                    step,
                    blocks.clone(),
                    (start, len, j),
                    from_sum,
                    adj,
                    all,
                );
                continue;
            }
            for k in repeat.at(blocks.clone(), j).rev() {
                let slot = program.leaves + k;
                let a = from_sum.unwrap_or_else(|| adj[slot].replace(zero));
                // As the tape's sweep: a node with a zero adjoint passes nothing on.
                if a == zero {
                    continue;
                }
                pass!(&program.ins[k], slot, a);
            }
        }
    }
}

impl<T: Scalar> Program<T> {
    /// The second loop of a group's forward pass whose activation calls a function (tanh,
    /// sigmoid, those of the table): the first wrote each neuron's sum plus bias, `z`, to its
    /// slot ([`Act::value_or_later`]); this sets the `width` slots from `first`, and as many at
    /// each of the `times - 1` blocks after it, `len` apart, to the activation of `z`
    /// ([`Program::activate`]). The same values as one loop; but in one loop each call of the
    /// function clobbers every floating-point register, so the weights and partners held across
    /// it go to the stack and come back, block after block: on a busy core a load or a store
    /// costs several times an arithmetic instruction (benches/FINDINGS.md: loads and stores
    /// around libm calls). A function of the table is looked up once for all the blocks, and
    /// its partial written to the value's twin as [`Program::activate`] writes it.
    #[inline(always)]
    fn activate_later(
        &self,
        shape: Shape,
        values: &[Cell<T>],
        first: usize,
        len: usize,
        times: usize,
        width: usize,
    ) {
        let act = (shape.act(), shape.table());
        if !act.0.calls() {
            return;
        }
        let mut at = first;
        if act.0 == Act::Table {
            // The function and the partials' twins found once for all the blocks.
            let unary = self.acts[usize::from(act.1)];
            let (values, twins) = values.split_at(self.slots);
            for _ in 0..times {
                let slots = values[at..at + width].iter().zip(&twins[at..at + width]);
                for (slot, twin) in slots {
                    let (y, d) = unary.eval(slot.get());
                    slot.set(y);
                    twin.set(d);
                }
                at += len;
            }
            return;
        }
        for _ in 0..times {
            for (k, slot) in (at..).zip(&values[at..at + width]) {
                slot.set(self.activate(act, slot.get(), k, values));
            }
            at += len;
        }
    }
}

#[cfg(test)]
mod tests {
    use rand::{SeedableRng, rngs::StdRng};

    use super::super::{Act, Ins, Shape};
    use super::{ANY_TIMES, CHUNK, Kind, Lane, NO_SUM, Reads};
    use crate::init::Init;
    use crate::nn::{Activation, Mlp};
    use crate::{CompiledTape, Replay, Scalar, Tape, Var};
    use proptest::prelude::*;

    /// XOR's loss on a 2-4-1 network, one block per point; with `shared`, the output neuron
    /// reads the last hidden neuron's weights and bias too.
    fn xor_loss(shared: bool) -> CompiledTape {
        let tape = Tape::new();
        let p = tape.vars(&[0.1; 17]);
        let points = [
            ([0.0, 0.0], 0.0),
            ([0.0, 1.0], 1.0),
            ([1.0, 0.0], 1.0),
            ([1.0, 1.0], 0.0),
        ];
        let terms: Vec<Var> = points
            .iter()
            .map(|(x, y)| {
                let h: Vec<Var> = (0..4)
                    .map(|j| (tape.dot(&p[3 * j..3 * j + 2], x) + p[3 * j + 2]).tanh())
                    .collect();
                let w = if shared { &p[9..13] } else { &p[12..16] };
                let o = (tape.dot(w, &h) + p[16]).sigmoid();
                (o - *y).powi(2)
            })
            .collect();
        let loss = tape.sum(&terms) * 0.25;
        tape.compile(&p, &[loss]).unwrap()
    }

    /// Each repeat of `f`'s program as `(start, len, times)`.
    fn spans(f: &CompiledTape) -> Vec<(u32, u32, u32)> {
        let spans = f.program.repeats.iter();
        spans.map(|r| (r.start, r.len, r.times)).collect()
    }

    /// The kinds of the groups of `f`'s program, with their first position and length.
    fn groups(f: &CompiledTape) -> Vec<(u32, u32, Kind)> {
        let groups = f.program.groups.iter();
        groups.map(|g| (g.first, g.count, g.kind)).collect()
    }

    /// Asserts that the replay `r` holds the value of `out`, recorded afresh, and its gradient
    /// with respect to `wrt`, bit for bit (an `f32` widens to `f64` exactly), every NaN the same
    /// (Rust leaves which NaN a sum of two gives to the compiler, as `tests/common` says).
    fn assert_replays_like_recording<T: Scalar>(r: Replay<T>, out: Var<T>, wrt: &[Var<T>]) {
        let bits = |xs: &[T]| -> Vec<u64> {
            let bits = |x: f64| if x.is_nan() { f64::NAN } else { x }.to_bits();
            xs.iter().map(|x| bits(x.to_f64())).collect()
        };
        assert_eq!(bits(&[r.value()]), bits(&[out.value()]));
        assert_eq!(bits(r.grad()), bits(&out.backward().wrt_all(wrt)));
    }

    #[test]
    fn a_loss_over_points_runs_its_blocks_as_one_repeat() {
        let f = xor_loss(false);
        // Four neurons, the output neuron and the squared error, four times; then the sum and
        // the scaling, one instruction at a time.
        assert_eq!(f.program.instructions().len(), 26);
        assert_eq!(spans(&f), [(0, 6, 4)]);
        assert_eq!(f.program.repeats[0].end(), 24);
        // The four hidden neurons make one group, a layer that runs four at a time; the output
        // neuron has lanes of its own, and the squared error runs by the general rules.
        let tanh = Shape::new(Act::Tanh, 0, true, false);
        let sigmoid = Shape::new(Act::Sigmoid, 0, false, false);
        let hidden = Kind::Layer {
            n: 2,
            shape: tanh,
            packed: true,
        };
        let output = Kind::Lanes {
            n: 4,
            shape: sigmoid,
        };
        assert_eq!(
            groups(&f),
            [(0, 4, hidden), (4, 1, output), (5, 1, Kind::Other)]
        );
        // Each neuron reads the same weights on every point: hidden neuron j its three
        // parameters and its point's two constants, nine on from block to block (a block's
        // constants are its four neurons' two and its target); the output neuron its block's
        // hidden values, a block (six slots) on. The hidden neurons of a point read one copy
        // of its constants, the first neuron's.
        let lanes = &f.program.lanes;
        assert_eq!(lanes.len(), 5);
        for (j, lane) in (0u32..).zip(&lanes[..4]) {
            assert_eq!((lane.xs, lane.bias, lane.step), (3 * j, 3 * j + 2, 9));
            assert_eq!(lane.ys, lanes[0].ys);
        }
        let ys = u32::try_from(f.program.leaves).unwrap();
        let (xs, bias, step) = (12, 16, 6);
        assert_eq!(lanes[4], Lane { xs, bias, ys, step });
    }

    #[test]
    fn partners_not_evenly_spaced_have_no_lanes_and_replay_like_recording() {
        // The points' inputs bound in a shuffled order: block p reads the inputs of point
        // order[p], whose slots are not a fixed step apart from block to block, in its neuron
        // and in its square.
        fn loss<'t>(tape: &'t Tape, p: &[Var<'t>], x: &[Var<'t>]) -> Var<'t> {
            let terms: Vec<Var> = [0, 2, 1, 3]
                .iter()
                .map(|&i| {
                    let h = (tape.dot(&p[0..2], &x[2 * i..2 * i + 2]) + p[2]).tanh();
                    (h - x[2 * i + 1]).powi(2)
                })
                .collect();
            tape.sum(&terms)
        }
        let values = [0.3, -0.2, 0.1, 1.0, 2.0, -1.0, 0.5, 0.25, -0.75, 1.5, -2.0];
        let tape = Tape::new();
        let v = tape.vars(&values);
        let mut f = tape.compile(&v, &[loss(&tape, &v[..3], &v[3..])]).unwrap();
        assert_eq!(f.program.repeats.len(), 1);
        assert!(f.program.lanes.is_empty());
        assert_eq!(groups(&f), [(0, 2, Kind::Other)]);
        let at = [-0.4, 0.7, 0.2, 0.5, -1.5, 1.0, 0.25, -0.5, 2.0, 0.75, 1.25];
        let fresh = Tape::new();
        let w = fresh.vars(&at);
        let out = loss(&fresh, &w[..3], &w[3..]);
        assert_replays_like_recording(f.run(&at).unwrap(), out, &w);
    }

    /// A loss's head as a network records it: the squared errors of a 2-2-1 network (or with
    /// `single`, of one neuron on the point) over three points, summed, times a third if
    /// `mean`. The output's activation is `act` (tanh, sigmoid, relu, none), the square's kind
    /// `kind` (`(o - 0.5)²`, `(0.5 - o)²`, `(o - t)²` and `(o - t²)²`, `t` the point's target,
    /// an input), times 0.75 if `scaled`.
    #[derive(Debug, Clone, Copy)]
    struct HeadLoss {
        single: bool,
        act: u8,
        kind: u8,
        scaled: bool,
        mean: bool,
    }

    impl HeadLoss {
        /// The loss; `v` holds the nine parameters, then the three targets.
        fn record<'t>(self, tape: &'t Tape, v: &[Var<'t>]) -> Var<'t> {
            let sum = tape.sum(&self.terms(tape, v).1);
            if self.mean { sum * (1.0 / 3.0) } else { sum }
        }

        /// Each point's output and its squared error.
        fn terms<'t>(self, tape: &'t Tape, v: &[Var<'t>]) -> (Vec<Var<'t>>, Vec<Var<'t>>) {
            let (p, t) = v.split_at(9);
            let points = [[0.5, -1.0], [-0.75, 0.25], [1.0, 0.5]];
            points
                .iter()
                .zip(t)
                .map(|(x, &t)| {
                    let z = if self.single {
                        tape.dot(&p[6..8], x) + p[8]
                    } else {
                        let h: Vec<Var> = (0..2)
                            .map(|j| (tape.dot(&p[3 * j..3 * j + 2], x) + p[3 * j + 2]).tanh())
                            .collect();
                        tape.dot(&p[6..8], &h) + p[8]
                    };
                    let o = match self.act {
                        0 => z.tanh(),
                        1 => z.sigmoid(),
                        2 => z.relu(),
                        _ => z,
                    };
                    let u = match self.kind {
                        0 => o - 0.5,
                        1 => 0.5 - o,
                        2 => o - t,
                        _ => o - t.powi(2),
                    };
                    let square = if self.scaled {
                        u.powi(2) * 0.75
                    } else {
                        u.powi(2)
                    };
                    (o, square)
                })
                .unzip()
        }
    }

    #[test]
    fn a_loss_head_of_every_square_kind_repeats_and_replays_like_recording() {
        let mut rng = StdRng::seed_from_u64(11);
        let mut at = || -> Vec<f64> {
            (0..12)
                .map(|_| rand::Rng::gen_range(&mut rng, -1.5..1.5))
                .collect()
        };
        for single in [false, true] {
            for act in 0..4 {
                for kind in 0..4 {
                    for (scaled, mean) in [(false, false), (true, false), (false, true)] {
                        let loss = HeadLoss {
                            single,
                            act,
                            kind,
                            scaled,
                            mean,
                        };
                        let tape = Tape::new();
                        let v = tape.vars(&at());
                        let mut f = tape.compile(&v, &[loss.record(&tape, &v)]).unwrap();
                        // The squares run by the general rules, across the points.
                        let head = groups(&f).last().map(|g| g.2);
                        assert_eq!(head, Some(Kind::Other), "{loss:?}");
                        // Relu's zero adjoints on some points and not others.
                        for _ in 0..10 {
                            let new = at();
                            let fresh = Tape::new();
                            let w = fresh.vars(&new);
                            let out = loss.record(&fresh, &w);
                            assert_replays_like_recording(f.run(&new).unwrap(), out, &w);
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn a_head_whose_values_are_read_elsewhere_replays_like_recording() {
        let loss = HeadLoss {
            single: false,
            act: 1,
            kind: 0,
            scaled: false,
            mean: true,
        };
        let at = [
            0.3, -0.2, 0.1, 0.4, 0.5, -0.6, 0.7, -0.8, 0.9, 0.2, -0.4, 0.6,
        ];
        let new = [
            -0.5, 0.25, 0.75, -0.1, 0.3, 0.2, -0.9, 0.6, -0.3, 0.1, 0.8, -0.2,
        ];
        // The outputs: the loss, and what else reads the points' squares or outputs, or the
        // sum; or the squares summed in another order.
        type Outputs = for<'t> fn(&'t Tape, &[Var<'t>], &[Var<'t>]) -> Vec<Var<'t>>;
        let cases: [Outputs; 6] = [
            |tape, _, sq| vec![tape.sum(sq) * 0.25],
            // The sum an output too: its own sweep starts after the repeat.
            |tape, _, sq| {
                let sum = tape.sum(sq);
                vec![sum * 0.25, sum]
            },
            |tape, _, sq| vec![tape.sum(sq) * 0.25, sq[0]],
            |tape, o, sq| vec![tape.sum(sq) * 0.25 + o[1] * 2.0],
            |tape, _, sq| {
                let sum = tape.sum(sq);
                vec![sum * 0.25 + sum.sin()]
            },
            |tape, _, sq| vec![tape.sum(&[sq[1], sq[0], sq[2]]) * 0.25],
        ];
        for (k, case) in cases.iter().enumerate() {
            let tape = Tape::new();
            let v = tape.vars(&at);
            let (o, sq) = loss.terms(&tape, &v);
            let outs = case(&tape, &o, &sq);
            let mut f = tape.compile(&v, &outs).unwrap();
            assert_eq!(f.program.repeats.len(), 1, "case {k}");
            let fresh = Tape::new();
            let w = fresh.vars(&new);
            let (o, sq) = loss.terms(&fresh, &w);
            let outs = case(&fresh, &o, &sq);
            let r = f.run(&new).unwrap();
            let bits = |xs: &[f64]| -> Vec<u64> { xs.iter().map(|x| x.to_bits()).collect() };
            let values: Vec<f64> = outs.iter().map(|o| o.value()).collect();
            assert_eq!(bits(r.values()), bits(&values), "case {k}");
            for (j, out) in outs.iter().enumerate() {
                let want = out.backward().wrt_all(&w);
                assert_eq!(bits(r.grad_of(j)), bits(&want), "case {k}, output {j}");
            }
        }
    }

    #[test]
    fn a_weight_read_at_two_positions_across_blocks_stops_the_repeat() {
        // Run position by position, that weight would receive its terms in another order.
        assert!(xor_loss(true).program.repeats.is_empty());
    }

    #[test]
    fn blocks_that_read_each_other_do_not_repeat() {
        let tape = Tape::new();
        let p = tape.vars(&[0.5, -0.5, 0.25]);
        let mut carry = p[2];
        let mut terms = Vec::new();
        for x in [1.0, 2.0, 3.0] {
            // Each point's neuron reads the one before: a recurrence, not a batch.
            let h = (tape.dot(&p[..2], &[x, 1.0]) + carry).tanh();
            terms.push((h - 1.0).powi(2));
            carry = h;
        }
        let f = tape.compile(&p, &[tape.sum(&terms)]).unwrap();
        assert!(f.program.repeats.is_empty());
    }

    #[test]
    fn a_point_input_read_at_several_positions_of_its_own_block_repeats() {
        // The points bound as inputs: each input is read by every hidden neuron of its block.
        let tape = Tape::new();
        let p = tape.vars(&[0.1, 0.2, 0.3, 0.4, 0.5, 0.6]);
        let data = tape.vars(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        let terms: Vec<Var> = data
            .chunks(2)
            .map(|x| {
                let a = (tape.dot(&p[0..2], x) + p[2]).tanh();
                let b = (tape.dot(&p[3..5], x) + p[5]).tanh();
                (a - b).powi(2)
            })
            .collect();
        let f = tape.compile(&p, &[tape.sum(&terms)]).unwrap();
        assert_eq!(spans(&f), [(0, 3, 3)]);
    }

    #[test]
    fn an_mlp_full_batch_loss_runs_its_points_as_one_repeat() {
        let acts = [Activation::Tanh, Activation::Sigmoid];
        let mut rng = StdRng::seed_from_u64(3);
        let mlp = Mlp::new(&[2, 4, 1], &acts, &Init::xavier_uniform(), &mut rng).unwrap();
        let points = [
            ([0.0, 0.0], 0.0),
            ([0.0, 1.0], 1.0),
            ([1.0, 0.0], 1.0),
            ([1.0, 1.0], 0.0),
        ];
        let f = mlp
            .compile_loss(&[], |tape, net, _| {
                let mut loss = tape.constant(0.0);
                for (x, y) in points {
                    loss += (net.forward(&x)?[0] - y).powi(2);
                }
                Ok(loss)
            })
            .unwrap();
        assert_eq!(spans(&f), [(0, 6, 4)]);
    }

    #[test]
    fn an_f32_batch_loss_repeats_and_replays_like_recording() {
        fn loss<'t>(tape: &'t Tape<f32>, p: &[Var<'t, f32>]) -> Var<'t, f32> {
            let terms: Vec<Var<'t, f32>> = [[0.5f32, -1.0], [1.5, 0.25], [-0.75, 2.0]]
                .iter()
                .map(|x| {
                    let h = (tape.dot(&p[0..2], x) + p[2]).tanh();
                    let o = (tape.dot(&p[3..4], &[h]) + p[4]).sigmoid();
                    (o - 0.5f32).powi(2)
                })
                .collect();
            tape.sum(&terms)
        }
        let tape = Tape::<f32>::new();
        let p = tape.vars(&[0.1f32, -0.2, 0.3, 0.4, -0.5]);
        let mut f = tape.compile(&p, &[loss(&tape, &p)]).unwrap();
        assert!(!f.program.repeats.is_empty());
        let at = [0.7f32, 0.1, -0.3, 1.2, 0.05];
        let fresh = Tape::<f32>::new();
        let q = fresh.vars(&at);
        let out = loss(&fresh, &q);
        assert_replays_like_recording(f.run(&at).unwrap(), out, &q);
    }

    #[test]
    fn a_loss_written_out_of_other_operations_repeats_with_its_neurons() {
        // A logistic regression's loss over 300 points, written out: each point's block is its
        // neuron, then `ln(1 + e^z) - y z` and a ratio, which no network's repeat holds. Its
        // blocks repeat as blocks of any kinds: the neuron in lanes, the rest position by
        // position, in chunks of blocks.
        fn loss<'t>(tape: &'t Tape, w: &[Var<'t>], data: &[(f64, f64, f64)]) -> Var<'t> {
            let terms: Vec<Var> = data
                .iter()
                .map(|&(x0, x1, y)| {
                    let z = (tape.dot(&w[..2], &[x0, x1]) + w[2]).sigmoid();
                    let nll = (z.exp() + 1.0).ln() - y * z;
                    nll + (z - w[3]).abs() / (z * z + 1.0)
                })
                .collect();
            tape.sum(&terms)
        }
        let data: Vec<(f64, f64, f64)> = (0..300)
            .map(|i| {
                let t = f64::from(i) / 10.0;
                (t.sin(), t.cos() - 0.5, f64::from(i % 2))
            })
            .collect();
        let tape = Tape::new();
        let w = tape.vars(&[0.3, -0.2, 0.1, 0.4]);
        let mut f = tape.compile(&w, &[loss(&tape, &w, &data)]).unwrap();
        let [(start, len, times)] = spans(&f)[..] else {
            panic!("one repeat: {:?}", spans(&f));
        };
        assert_eq!((start, times), (0, 300));
        let groups = groups(&f);
        assert!(
            matches!(groups[0], (0, 1, Kind::Lanes { n: 2, .. })),
            "{groups:?}"
        );
        assert_eq!(groups[1..], [(1, len - 1, Kind::Other)]);
        assert!(times as usize > CHUNK, "blocks in more than one chunk");
        let mut rng = StdRng::seed_from_u64(5);
        for _ in 0..20 {
            let at: Vec<f64> = (0..4)
                .map(|_| rand::Rng::gen_range(&mut rng, -2.0..2.0))
                .collect();
            let fresh = Tape::new();
            let v = fresh.vars(&at);
            let out = loss(&fresh, &v, &data);
            assert_replays_like_recording(f.run(&at).unwrap(), out, &v);
        }
    }

    #[test]
    fn blocks_of_any_kinds_repeat_without_a_neuron_when_there_are_enough() {
        // Ten terms of a polynomial or a likelihood: an `exp`, and a product and a difference
        // as one instruction, whose index fields all step evenly from block to block.
        let tape = Tape::new();
        let x = tape.vars(&[0.5; 30]);
        let terms: Vec<Var> = x.chunks(3).map(|b| b[0] * b[1] - b[2].exp()).collect();
        let out = tape.sum(&terms);
        let mut f = tape.compile(&x, &[out]).unwrap();
        assert_eq!(spans(&f), [(0, 2, 10)]);
        assert_eq!(groups(&f), [(0, 2, Kind::Other)]);
        assert!(f.program.strides.iter().all(Option::is_some));
        assert_replays_like_recording(
            f.run(&x.iter().map(|v| v.value()).collect::<Vec<_>>())
                .unwrap(),
            out,
            &x,
        );
        // Twenty terms make as many instructions in blocks of two terms, but the blocks are
        // one term long.
        let x20 = tape.vars(&[0.5; 60]);
        let terms: Vec<Var> = x20.chunks(3).map(|b| b[0] * b[1] - b[2].exp()).collect();
        let f = tape.compile(&x20, &[tape.sum(&terms)]).unwrap();
        assert_eq!(spans(&f), [(0, 2, 20)]);
        // Seven are too few.
        let terms: Vec<Var> = x
            .chunks(3)
            .take(ANY_TIMES - 1)
            .map(|b| b[0] * b[1])
            .collect();
        let f = tape.compile(&x, &[tape.sum(&terms)]).unwrap();
        assert!(spans(&f).is_empty());
        // So are seven points of a logistic loss, neurons and all.
        let w = tape.vars(&[0.3, -0.2, 0.1]);
        let terms: Vec<Var> = (0..ANY_TIMES - 1)
            .map(|i| {
                let z = (tape.dot(&w[..2], &[1.0, i as f64]) + w[2]).sigmoid();
                (z.exp() + 1.0).ln() - z
            })
            .collect();
        let f = tape.compile(&w, &[tape.sum(&terms)]).unwrap();
        assert!(spans(&f).is_empty());
    }

    #[test]
    fn a_running_total_of_every_kind_of_step_is_one_fold_and_replays_like_recording() {
        use super::super::FoldStep;
        let tape = Tape::new();
        let at: Vec<f64> = (0..24).map(|i| f64::from(i) * 0.31 - 3.0).collect();
        let x = tape.vars(&at);
        let folds = |f: &CompiledTape| {
            let ins = f.program.instructions();
            ins.iter().filter(|i| matches!(i, Ins::Fold { .. })).count()
        };
        // Each term adds, subtracts and adds a constant; adds and subtracts scaled terms, then
        // adds one with the product first; adds a term to the total's left, a pair, and a sum
        // of two from the left.
        let mut total = tape.constant(0.5);
        for w in x.chunks(3) {
            total = total + w[0].sin() - w[1].exp() + 2.0;
            total = total + w[0].tanh() * 0.25 - 3.0 * w[2].cos();
            total = 1.5 * w[1].sin() + total;
            total = w[2].cos() + total;
            total += w[2].exp() + w[0].cos();
            total = (total + w[1].cos()) + w[2].sin();
        }
        let mut f = tape.compile(&x, &[total]).unwrap();
        assert_eq!(folds(&f), 1);
        let steps = &f.program.folds;
        let kinds = [
            FoldStep::Add,
            FoldStep::AddFirst,
            FoldStep::Sub,
            FoldStep::Pair,
        ];
        for kind in kinds.into_iter().chain([FoldStep::End]) {
            assert!(steps.contains(&kind), "{kind:?}");
        }
        assert!(steps.iter().any(|s| matches!(s, FoldStep::AddConst(_))));
        let scaled = |first| {
            steps
                .iter()
                .any(|s| matches!(s, FoldStep::Scaled { first: f, .. } if *f == first))
        };
        assert!(scaled(false) && scaled(true));
        assert_replays_like_recording(f.run(&at).unwrap(), total, &x);
        // Scaled by zero, the total passes nothing on, as the sweep does.
        let zero = total * 0.0;
        let mut f = tape.compile(&x, &[zero]).unwrap();
        assert_replays_like_recording(f.run(&at).unwrap(), zero, &x);
        // A term read again after its step, by a later term, keeps its step out of the fold:
        // moved to the fold's end, the step's update to it would come before the later
        // reader's, where the sweep gives them the other way round.
        let mut total = tape.constant(0.25);
        for w in x.windows(2) {
            let u = w[0].sin() * w[1];
            total = total - u + w[1].exp();
            total = total + (u * 3.0).tanh() - 0.5 + (u * 2.0).sin();
        }
        let mut f = tape.compile(&x, &[total]).unwrap();
        assert_replays_like_recording(f.run(&at).unwrap(), total, &x);
        // A short total that does more than add stays as recorded: `a + b - c`.
        let short = x[0] + x[1] - x[2];
        let f = tape.compile(&x, &[short]).unwrap();
        assert_eq!(folds(&f), 0);
        // Shorter than a fold, a total's runs of additions still make chains.
        let mut total = x[0] - x[1];
        for &v in &x[2..6] {
            total += v.sin();
        }
        let total = total - x[6];
        let mut f = tape.compile(&x, &[total]).unwrap();
        assert_eq!(folds(&f), 0);
        let ins = f.program.instructions();
        assert_eq!(
            ins.iter()
                .filter(|i| matches!(i, Ins::Chain { .. }))
                .count(),
            1
        );
        assert_replays_like_recording(f.run(&at).unwrap(), total, &x);
    }

    #[test]
    fn a_total_that_only_adds_between_its_start_and_finish_is_a_chain_not_a_fold() {
        let tape = Tape::new();
        let at: Vec<f64> = (0..40).map(|i| f64::from(i) * 0.17 - 2.0).collect();
        let x = tape.vars(&at);
        let count = |f: &CompiledTape, fold: bool| {
            let ins = f.program.instructions().iter();
            ins.filter(|i| match i {
                Ins::Fold { .. } => fold,
                Ins::Chain { .. } => !fold,
                _ => false,
            })
            .count()
        };
        // A likelihood's shape: `n ln σ`, then a scaled term a point, then a constant off.
        // The first step fuses the scaled start (`n s + 2 t₀`), the last subtracts: neither
        // is the loop's, and the 38 additions between make one chain.
        let mut f = x[0] * 40.0;
        for &v in &x[1..] {
            f += 2.0 * (1.0 + v * v / 3.0).ln();
        }
        let f = f - 0.5;
        let mut c = tape.compile(&x, &[f]).unwrap();
        assert_eq!((count(&c, true), count(&c, false)), (0, 1));
        assert!(!spans(&c).is_empty(), "the points repeat");
        assert_replays_like_recording(c.run(&at).unwrap(), f, &x);
        // Steps that do more than add inside the loop keep it a fold, as before.
        let mut f = x[0] * 40.0;
        for &v in &x[1..] {
            f = f + 2.0 * v.sin() - 0.5;
        }
        let mut c = tape.compile(&x, &[f]).unwrap();
        assert_eq!((count(&c, true), count(&c, false)), (1, 0));
        assert_replays_like_recording(c.run(&at).unwrap(), f, &x);
    }

    /// A program built by `f` from 60 inputs and 240 numbers of data, compiled and replayed:
    /// asserts that it replays like recording, bit for bit, and gives the share of its
    /// instructions that run in repeats.
    fn share_in_repeats(f: impl for<'t> Fn(&'t Tape, &[Var<'t>], &[f64]) -> Var<'t>) -> f64 {
        let tape = Tape::new();
        let at: Vec<f64> = (0..60)
            .map(|i| 0.3 + (f64::from(i) * 0.7).sin() * 0.4)
            .collect();
        let x = tape.vars(&at);
        let data: Vec<f64> = (0..240)
            .map(|i| f64::from(i * 37 % 97) / 97.0 - 0.5)
            .collect();
        let out = f(&tape, &x, &data);
        let mut c = tape.compile(&x, &[out]).unwrap();
        assert_replays_like_recording(c.run(&at).unwrap(), out, &x);
        let program = &c.program;
        let repeated: u32 = program.repeats.iter().map(|r| r.len * r.times).sum();
        f64::from(repeated) / program.instructions().len() as f64
    }

    #[test]
    fn common_objectives_written_as_users_write_them_run_in_repeats() {
        use std::f64::consts::TAU;
        type Objective = for<'t> fn(&'t Tape, &[Var<'t>], &[f64]) -> Var<'t>;
        let cases: [(&str, Objective); 16] = [
            ("a 2-4-1 network written out with loops", |_, p, d| {
                let mut loss = p[0] * 0.0;
                for s in d.chunks(3).take(40) {
                    let mut h = [p[0]; 4];
                    for (j, h) in h.iter_mut().enumerate() {
                        let mut z = p[8 + j];
                        for (i, &s) in s[..2].iter().enumerate() {
                            z += p[2 * j + i] * s;
                        }
                        *h = z.tanh();
                    }
                    let mut o = p[16];
                    for (j, &h) in h.iter().enumerate() {
                        o += p[12 + j] * h;
                    }
                    loss += (o - s[2]).powi(2);
                }
                loss / 40.0
            }),
            ("rastrigin, a running total", |t, x, _| {
                let total = x.iter().fold(t.constant(0.0), |acc, &v| {
                    acc + v * v - 10.0 * (TAU * v).cos() + 10.0
                });
                total * 1.0
            }),
            ("poisson likelihood, a running total", |t, x, d| {
                let (a, b) = (x[0], x[1]);
                let total = d.chunks(2).fold(t.constant(0.0), |acc, p| {
                    let eta = a + b * p[0];
                    acc + eta.exp() - (p[1] + 1.0).round() * eta
                });
                total * 1.0
            }),
            ("rastrigin", |t, x, _| {
                let terms = x.iter().map(|&v| v * v - 10.0 * (TAU * v).cos() + 10.0);
                t.sum(&terms.collect::<Vec<_>>())
            }),
            ("smoothness penalty", |t, x, _| {
                let terms = x.windows(2).map(|w| (w[1] - w[0]).powi(2));
                t.sum(&terms.collect::<Vec<_>>())
            }),
            ("second differences", |t, x, _| {
                let terms = x.windows(3).map(|w| {
                    let d = w[0] - 2.0 * w[1] + w[2];
                    d * d
                });
                t.sum(&terms.collect::<Vec<_>>())
            }),
            ("least squares", |t, x, d| {
                let terms = d.chunks(3).map(|r| {
                    let e = x[0] * r[0] + x[1] * r[1] + x[2] - r[2];
                    e * e
                });
                t.sum(&terms.collect::<Vec<_>>())
            }),
            ("normal likelihood", |t, x, d| {
                let (mu, log_sigma) = (x[0], x[1]);
                let terms = d.iter().map(|&y| {
                    let z = (y - mu) / log_sigma.exp();
                    0.5 * z * z + log_sigma
                });
                t.sum(&terms.collect::<Vec<_>>())
            }),
            ("logistic loss", |t, x, d| {
                let terms = d.chunks(3).map(|r| {
                    let z = x[0] * r[0] + x[1] * r[1] + x[2];
                    let y = if r[2] > 0.0 { 1.0 } else { -1.0 };
                    (1.0 + (-(z * y)).exp()).ln()
                });
                t.sum(&terms.collect::<Vec<_>>())
            }),
            ("springs", |t, x, _| {
                let terms = x.windows(2).map(|w| {
                    let d = w[1] - w[0] - 1.0;
                    0.5 * 3.0 * d * d
                });
                t.sum(&terms.collect::<Vec<_>>())
            }),
            ("dixon-price, a running total", |_, x, _| {
                let mut f = (x[0] - 1.0).powi(2);
                for (i, w) in x.windows(2).enumerate() {
                    f += (i as f64 + 2.0) * (2.0 * w[1] * w[1] - w[0]).powi(2);
                }
                f
            }),
            ("styblinski-tang", |t, x, _| {
                let terms = x.iter().map(|&v| v.powi(4) - 16.0 * v.powi(2) + 5.0 * v);
                t.sum(&terms.collect::<Vec<_>>()) * 0.5
            }),
            ("exp and sin of neighbours", |t, x, _| {
                let terms = x
                    .windows(2)
                    .map(|w| (w[0] * w[1]).exp() + (w[1] - w[0]).sin());
                t.sum(&terms.collect::<Vec<_>>())
            }),
            ("rosenbrock, 100 t t", |t, x, _| {
                let terms = x.windows(2).map(|w| {
                    let (a, b) = (w[1] - w[0] * w[0], 1.0 - w[0]);
                    100.0 * a * a + b * b
                });
                t.sum(&terms.collect::<Vec<_>>())
            }),
            ("rosenbrock, powf", |t, x, _| {
                let terms = x
                    .windows(2)
                    .map(|w| 100.0 * (w[1] - w[0].powf(2.0)).powf(2.0) + (1.0 - w[0]).powf(2.0));
                t.sum(&terms.collect::<Vec<_>>())
            }),
            ("own input, then the next", |t, x, _| {
                let terms = x.windows(2).map(|w| w[0].exp() * (w[1].sin() - w[0]));
                t.sum(&terms.collect::<Vec<_>>())
            }),
        ];
        for (name, f) in cases {
            let share = share_in_repeats(f);
            assert!(share > 0.95, "{name}: {:.0}% in repeats", 100.0 * share);
        }
    }

    /// Whether the reads `(block, position)`, made in this order, never go back from block to
    /// block ([`Reads::add`]), and whether two blocks and two positions read the slot.
    fn noted(reads: &[(u32, u16)]) -> (bool, bool) {
        let mut r = Reads::new(reads[0].0, reads[0].1);
        let (mut ordered, mut across) = (true, false);
        for &(b, p) in &reads[1..] {
            let (o, a) = r.add(b, p);
            (ordered, across) = (ordered && o, across || a);
        }
        (ordered, across)
    }

    #[test]
    fn reads_that_never_go_back_from_block_to_block_are_told_from_those_that_do() {
        // Rosenbrock's x₁: block 0's first position, block 1's first and second.
        assert_eq!(noted(&[(0, 0), (1, 0), (1, 1)]), (true, true));
        assert_eq!(noted(&[(0, 2), (0, 0), (1, 2), (2, 3)]), (true, true));
        // Block 0 at a later position than block 1, its read made before or after block 1's.
        assert!(!noted(&[(0, 1), (1, 0)]).0);
        assert!(!noted(&[(1, 0), (0, 2)]).0);
        assert!(!noted(&[(0, 0), (1, 0), (0, 1)]).0);
        // A later block at an earlier position than the block before.
        assert!(!noted(&[(0, 2), (0, 0), (1, 2), (2, 1)]).0);
        assert!(!noted(&[(0, 1), (1, 2), (1, 0)]).0);
        // A weight, every block at one position; a point's input, one block at several.
        assert_eq!(noted(&[(0, 3), (1, 3), (2, 3), (3, 3)]), (true, false));
        assert_eq!(noted(&[(0, 4), (0, 0)]), (true, false));
    }

    proptest! {
        #[test]
        fn reads_are_told_as_a_check_of_all_of_them_would_tell(
            (len, picks) in (1usize..5, 2usize..6).prop_flat_map(|(len, times)| {
                (Just(len), prop::collection::vec(0usize..3, len * times))
            })
        ) {
            // `picks[b * len + j]`: how often block `b` reads the slot at position `j`, in the
            // order `grow` reads them: the first two blocks side by side, then block by block.
            let times = picks.len() / len;
            let side_by_side = (0..len).flat_map(|j| [(0, j), (1, j)]);
            let in_order = (2..times).flat_map(|b| (0..len).map(move |j| (b, j)));
            let reads: Vec<(u32, u16)> = side_by_side
                .chain(in_order)
                .flat_map(|(b, j)| vec![(b as u32, j as u16); picks[b * len + j]])
                .collect();
            // Each rule, up to the first read it refuses, as `grow` stops there.
            for sliding in [true, false] {
                let Some(&(block, position)) = reads.first() else {
                    break;
                };
                let mut r = Reads::new(block, position);
                for k in 1..reads.len() {
                    let (ordered, across) = r.add(reads[k].0, reads[k].1);
                    let seen = &reads[..=k];
                    let never_back = seen
                        .iter()
                        .all(|&(b, p)| seen.iter().all(|&(c, q)| b >= c || p <= q));
                    let distinct = |f: fn(&(u32, u16)) -> u32| {
                        seen.iter().any(|r| f(r) != f(&seen[0]))
                    };
                    let two_and_two = distinct(|r| r.0) && distinct(|r| u32::from(r.1));
                    if sliding {
                        prop_assert_eq!(ordered, never_back, "{:?}", seen);
                        if !ordered {
                            break;
                        }
                    } else {
                        prop_assert_eq!(across, two_and_two, "{:?}", seen);
                        if across {
                            break;
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn a_chain_of_terms_each_reading_the_next_input_repeats_and_replays_like_recording() {
        // Each term reads the next input first, then its own at two positions: the next block
        // reads that input at its second and third positions, never earlier than this block.
        let tape = Tape::new();
        let x = tape.vars(
            &(0..13)
                .map(|i| f64::from(i) * 0.37 - 2.0)
                .collect::<Vec<_>>(),
        );
        let at: Vec<f64> = x.iter().map(|v| v.value()).collect();
        // The repeats of the terms' sum, which replays like recording either way.
        let replayed_spans = |terms: Vec<Var>| {
            let out = tape.sum(&terms);
            let mut f = tape.compile(&x, &[out]).unwrap();
            assert_replays_like_recording(f.run(&at).unwrap(), out, &x);
            spans(&f)
        };
        let terms = x.windows(2).map(|w| (w[1].sin() - w[0]) * w[0].exp());
        assert_eq!(replayed_spans(terms.collect()), [(0, 4, 12)]);
        // Its own input first: the next input at a later position than the next block's first
        // read of it. Run position by position, that input's terms would come out of order, so
        // each block reads it through a copy, whose term reaches it after the next block's.
        let terms = x.windows(2).map(|w| w[0].exp() * (w[1].sin() - w[0]));
        assert_eq!(replayed_spans(terms.collect()), [(0, 4, 12)]);
        // Rosenbrock's term with `(100 t) t`: that and `t = x₁ - x₀ x₀` are one fused square,
        // which reads both inputs at its position; then the two `1 - x₀`, their product and
        // the sum.
        let terms = x.windows(2).map(|w| {
            let t = w[1] - w[0] * w[0];
            100.0 * t * t + (1.0 - w[0]) * (1.0 - w[0])
        });
        assert_eq!(replayed_spans(terms.collect()), [(0, 4, 12)]);
        // Written with `powf(2.0)`: three calls of the table's `powf` a term, the term's first
        // instruction one of them, so that the block ends at the third instruction of its kind.
        let terms = x
            .windows(2)
            .map(|w| 100.0 * (w[1] - w[0].powf(2.0)).powf(2.0) + (1.0 - w[0]).powf(2.0));
        assert_eq!(replayed_spans(terms.collect()), [(0, 7, 12)]);
        // Read as the base of a square written as a product, the next input would receive two
        // terms from one instruction, which a copy cannot pass on one by one: no repeat.
        let terms = x.windows(2).map(|w| w[0].exp() * (w[1] * w[1] - w[0]));
        assert!(replayed_spans(terms.collect()).is_empty());
    }

    #[test]
    fn a_sweep_that_ends_inside_or_after_a_repeat_with_copies_replays_like_recording() {
        let tape = Tape::new();
        let x = tape.vars(
            &(0..21)
                .map(|i| f64::from(i) * 0.29 - 2.5)
                .collect::<Vec<_>>(),
        );
        let at: Vec<f64> = x.iter().map(|v| v.value()).collect();
        let terms: Vec<Var> = x
            .windows(2)
            .map(|w| w[0].exp() * (w[1].sin() - w[0]))
            .collect();
        let total = tape.sum(&terms);
        // A term inside the repeat, the total after it, and the total again, scaled.
        let outputs = [terms[7], total, total * 3.0];
        let mut f = tape.compile(&x, &outputs).unwrap();
        assert_eq!(spans(&f), [(0, 4, 20)]);
        for _ in 0..2 {
            let r = f.run(&at).unwrap();
            let bits = |xs: &[f64]| -> Vec<u64> { xs.iter().map(|x| x.to_bits()).collect() };
            for (k, out) in outputs.iter().enumerate() {
                assert_eq!(r.values()[k].to_bits(), out.value().to_bits());
                let recorded = out.backward().wrt_all(&x);
                assert_eq!(bits(r.grad_of(k)), bits(&recorded), "output {k}");
            }
        }
    }

    #[test]
    fn a_position_whose_operands_do_not_step_evenly_reads_each_block_and_replays_alike() {
        // Each block adds a parameter to its own input: the first shared parameter, but the
        // sixth block the second. The blocks still repeat (each parameter is read at one
        // position), but the sum's second operand does not step evenly; the product does.
        let tape = Tape::new();
        let x = tape.vars(
            &(0..12)
                .map(|i| f64::from(i) * 0.25 - 1.0)
                .collect::<Vec<_>>(),
        );
        let p = tape.vars(&[0.75, -1.5]);
        let terms: Vec<Var> = (0..12)
            .map(|i| (x[i] + p[usize::from(i == 5)]) * x[i])
            .collect();
        let out = tape.sum(&terms);
        let wrt: Vec<Var> = x.iter().chain(&p).copied().collect();
        let mut f = tape.compile(&wrt, &[out]).unwrap();
        assert_eq!(spans(&f), [(0, 2, 12)]);
        // The product reads its block's sum, a block (two slots) on, and its input, one on.
        assert_eq!(f.program.strides, [None, Some([2, 1, 0])]);
        assert_replays_like_recording(
            f.run(&wrt.iter().map(|v| v.value()).collect::<Vec<_>>())
                .unwrap(),
            out,
            &wrt,
        );
    }

    #[test]
    fn a_layer_repeats_when_a_longer_block_does_not() {
        // The first neuron's input proposes blocks of one (the next neuron reads it), its
        // weights blocks of six (the last neuron reads them again); only the first repeat.
        let tape = Tape::new();
        let x = tape.vars(&[0.5, -0.5]);
        let p = tape.vars(&[0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.1, 1.2]);
        let h: Vec<Var> = (0..4)
            .map(|j| (tape.dot(&p[3 * j..3 * j + 2], &x) + p[3 * j + 2]).tanh())
            .collect();
        let a = (h[0] - 1.0).powi(2);
        let b = (h[1] - 1.0).powi(2);
        let o = (tape.dot(&p[0..2], &h[2..4]) + p[2]).tanh();
        let f = tape.compile(&p, &[a + b + o]).unwrap();
        assert_eq!(spans(&f), [(0, 1, 4)]);
    }

    /// The mean squared error over three points of a network whose output at a point `net`
    /// records.
    fn three_point_loss<'t>(tape: &'t Tape, net: impl Fn(&[f64; 2]) -> Var<'t>) -> Var<'t> {
        let points = [([0.5, -1.0], 0.25), ([-0.75, 0.5], 1.0), ([1.0, 1.0], 0.0)];
        let terms: Vec<Var> = points.iter().map(|(x, y)| (net(x) - *y).powi(2)).collect();
        tape.sum(&terms) * (1.0 / 3.0)
    }

    /// The activation of a hidden layer.
    type Squash<'t> = fn(Var<'t>) -> Var<'t>;

    /// A 2-4-`m`-1 network at the point `x`, its parameters `p` laid out as `nn` lays them out
    /// (each neuron's weights, then its bias, layer after layer): `first` and `second` the
    /// hidden layers' activations, sigmoid the output's.
    fn two_hidden_layers<'t>(
        tape: &'t Tape,
        p: &[Var<'t>],
        x: &[f64; 2],
        m: usize,
        (first, second): (Squash<'t>, Squash<'t>),
    ) -> Var<'t> {
        let h: Vec<Var> = (0..4)
            .map(|j| first(tape.dot(&p[3 * j..3 * j + 2], x) + p[3 * j + 2]))
            .collect();
        let g: Vec<Var> = (0..m)
            .map(|k| {
                let w = &p[12 + 5 * k..12 + 5 * k + 5];
                second(tape.dot(&w[..4], &h) + w[4])
            })
            .collect();
        let out = 12 + 5 * m;
        (tape.dot(&p[out..out + m], &g) + p[out + m]).sigmoid()
    }

    /// `count` parameters drawn in [-1, 1).
    fn random_params(rng: &mut StdRng, count: usize) -> Vec<f64> {
        (0..count)
            .map(|_| rand::Rng::gen_range(rng, -1.0..1.0))
            .collect()
    }

    /// A loss over a network's parameters, recorded on a tape.
    type Loss = for<'t> fn(&'t Tape, &[Var<'t>]) -> Var<'t>;

    /// `loss` recorded at `params` and compiled, its inputs the parameters.
    fn compiled(loss: Loss, params: &[f64]) -> CompiledTape {
        let tape = Tape::new();
        let p = tape.vars(params);
        tape.compile(&p, &[loss(&tape, &p)]).unwrap()
    }

    /// Replays `f` at `params`, checks it against `loss` recorded afresh there, bit for bit
    /// ([`assert_replays_like_recording`]), and returns the replayed gradient.
    fn replay_checked(f: &mut CompiledTape, loss: Loss, params: &[f64]) -> Vec<f64> {
        let fresh = Tape::new();
        let w = fresh.vars(params);
        let r = f.run(params).unwrap();
        let grad = r.grad().to_vec();
        assert_replays_like_recording(r, loss(&fresh, &w), &w);
        grad
    }

    #[test]
    fn a_custom_node_in_each_block_runs_there_and_the_layers_still_run_across_the_points() {
        // 2-4-2 on eight points, each point's softmax cross-entropy a custom node of its own,
        // over the two outputs and a logit all points share, which so receives a term from
        // every block, in the sweep's order of the blocks.
        fn loss<'t>(tape: &'t Tape, p: &[Var<'t>]) -> Var<'t> {
            let terms: Vec<Var> = (0..8)
                .map(|i| {
                    let x = [(i as f64 * 0.7).sin(), (i as f64 * 1.3).cos()];
                    let h: Vec<Var> = (0..4)
                        .map(|j| (tape.dot(&p[3 * j..3 * j + 2], &x) + p[3 * j + 2]).tanh())
                        .collect();
                    let mut logits: Vec<Var> = (0..2)
                        .map(|k| tape.dot(&p[12 + 5 * k..16 + 5 * k], &h) + p[16 + 5 * k])
                        .collect();
                    logits.push(p[22]);
                    crate::loss::softmax_cross_entropy(&logits, i % 3)
                })
                .collect();
            tape.sum(&terms) * (1.0 / 8.0)
        }
        let mut rng = StdRng::seed_from_u64(5);
        let at = |rng: &mut StdRng| random_params(rng, 23);
        let mut f = compiled(loss, &at(&mut rng));
        let kinds: Vec<Kind> = groups(&f).into_iter().map(|(_, _, kind)| kind).collect();
        assert!(matches!(kinds[0], Kind::Layer { n: 2, .. }), "{kinds:?}");
        assert!(kinds.contains(&Kind::Other), "{kinds:?}");
        for _ in 0..20 {
            replay_checked(&mut f, loss, &at(&mut rng));
        }
    }

    #[test]
    fn neurons_of_every_width_run_in_their_kernels_and_replay_like_recording() {
        // 2-4-m-1 on three points, softplus in the second layer: the output neuron reads m
        // inputs, which a kernel keeps in lanes of 8 (m ≤ 8) or of 32 (m ≤ 32), or which run
        // by the general rules (m > 32).
        fn loss<'t, const M: usize>(tape: &'t Tape, p: &[Var<'t>]) -> Var<'t> {
            three_point_loss(tape, |x| {
                two_hidden_layers(tape, p, x, M, (Var::tanh, Var::softplus))
            })
        }
        let cases: [(Loss, u16); 3] = [(loss::<7>, 7), (loss::<12>, 12), (loss::<40>, 40)];
        let mut rng = StdRng::seed_from_u64(11);
        for (loss, m) in cases {
            let at = |rng: &mut StdRng| random_params(rng, 13 + 6 * usize::from(m));
            let mut f = compiled(loss, &at(&mut rng));
            let found = groups(&f);
            let lanes = found
                .iter()
                .any(|&(_, _, kind)| matches!(kind, Kind::Lanes { n, .. } if n == m));
            // Wider, the output neuron runs by the general rules, with its squared error.
            let general = found
                .iter()
                .any(|&(_, count, kind)| (count, kind) == (2, Kind::Other));
            assert_eq!((lanes, general), (m <= 32, m > 32), "{m}: {found:?}");
            for _ in 0..5 {
                replay_checked(&mut f, loss, &at(&mut rng));
            }
        }
    }

    #[test]
    fn a_layers_neurons_run_four_at_a_time_and_replay_like_recording() {
        // 2-4-5-1 on three points: a first layer of four (constant partners, one group of
        // four), a second of five reading the first (value partners, four and one more), an
        // output neuron of five inputs in lanes, and its squared error.
        fn loss<'t>(tape: &'t Tape, p: &[Var<'t>]) -> Var<'t> {
            three_point_loss(tape, |x| {
                two_hidden_layers(tape, p, x, 5, (Var::tanh, Var::relu))
            })
        }
        let mut rng = StdRng::seed_from_u64(7);
        let at = |rng: &mut StdRng| random_params(rng, 43);
        let mut f = compiled(loss, &at(&mut rng));
        let first = Kind::Layer {
            n: 2,
            shape: Shape::new(Act::Tanh, 0, true, false),
            packed: true,
        };
        let second = Kind::Layer {
            n: 4,
            shape: Shape::new(Act::Relu, 0, false, false),
            packed: true,
        };
        let sigmoid = Shape::new(Act::Sigmoid, 0, false, false);
        let found = groups(&f);
        assert_eq!(found[..2], [(0, 4, first), (4, 5, second)]);
        let output = Kind::Lanes {
            n: 5,
            shape: sigmoid,
        };
        assert_eq!(found[2..], [(9, 1, output), (10, 1, Kind::Other)]);
        // Relu's zero adjoints on some points and not others, at new parameters each time.
        for _ in 0..20 {
            replay_checked(&mut f, loss, &at(&mut rng));
        }
    }

    #[test]
    fn a_layer_whose_weights_precede_its_biases_runs_unpacked_and_replays_like_recording() {
        // 2-4-4-1 on three points with a layer's weights first, all its biases after them:
        // the layers run four at a time, their lanes not packed.
        fn loss<'t>(tape: &'t Tape, p: &[Var<'t>]) -> Var<'t> {
            three_point_loss(tape, |x| {
                let h: Vec<Var> = (0..4)
                    .map(|j| (tape.dot(&p[2 * j..2 * j + 2], x) + p[8 + j]).tanh())
                    .collect();
                let g: Vec<Var> = (0..4)
                    .map(|k| (tape.dot(&p[12 + 4 * k..16 + 4 * k], &h) + p[28 + k]).tanh())
                    .collect();
                (tape.dot(&p[32..36], &g) + p[36]).sigmoid()
            })
        }
        let mut rng = StdRng::seed_from_u64(5);
        let mut f = compiled(loss, &random_params(&mut rng, 37));
        let layers: Vec<(u32, u32, Kind)> = groups(&f).into_iter().take(2).collect();
        let layer = |n, konst| Kind::Layer {
            n,
            shape: Shape::new(Act::Tanh, 0, konst, false),
            packed: false,
        };
        assert_eq!(layers, [(0, 4, layer(2, true)), (4, 4, layer(4, false))]);
        for _ in 0..10 {
            replay_checked(&mut f, loss, &random_params(&mut rng, 37));
        }
    }

    #[test]
    fn a_neuron_with_a_zero_adjoint_passes_nothing_on_where_its_partial_is_nan() {
        // 2-4-1 on three points, the output neuron reading three of the four hidden neurons;
        // the fourth is read after the loss, by the larger of it and the output's bias. Its
        // weights are infinite, so its sum is ∞ - ∞ = NaN on two points, where `max` ignores
        // it and its adjoint is zero — but zero times its partial, NaN, is NaN. The sweep
        // passes nothing on from a zero adjoint, and the gradients of its weights and bias stay
        // zero (on the third point its partial is zero).
        fn loss<'t>(tape: &'t Tape, p: &[Var<'t>]) -> Var<'t> {
            let fourth = std::cell::RefCell::new(Vec::new());
            let loss = three_point_loss(tape, |x| {
                let h: Vec<Var> = (0..4)
                    .map(|j| (tape.dot(&p[3 * j..3 * j + 2], x) + p[3 * j + 2]).tanh())
                    .collect();
                fourth.borrow_mut().push(h[3]);
                (tape.dot(&p[12..15], &h[..3]) + p[15]).sigmoid()
            });
            fourth
                .take()
                .into_iter()
                .fold(loss, |l, h| l + h.max(p[15]))
        }
        let mut rng = StdRng::seed_from_u64(11);
        let mut params = random_params(&mut rng, 16);
        params[9..11].fill(f64::INFINITY);
        let mut f = compiled(loss, &params);
        let layer = Kind::Layer {
            n: 2,
            shape: Shape::new(Act::Tanh, 0, true, false),
            packed: true,
        };
        assert_eq!(groups(&f)[0], (0, 4, layer));
        for _ in 0..3 {
            let grad = replay_checked(&mut f, loss, &params);
            assert_eq!(grad[9..12], [0.0; 3]);
            params[..9].copy_from_slice(&random_params(&mut rng, 9));
        }
    }

    #[test]
    fn a_neuron_that_passes_zero_on_passes_nothing_to_its_weights_from_infinite_partners() {
        // 2-4-4-1 relu, relu, sigmoid on three points. The first hidden neuron is infinite on
        // two points, and every neuron of the second layer weighs it by -1, so on those points
        // the second layer's sums are -∞: relu passes zero on from each neuron's non-zero
        // adjoint, and the sweep stops there. Passing that zero on would make the second
        // layer's weights' gradients ∞ · 0 = NaN.
        fn loss<'t>(tape: &'t Tape, p: &[Var<'t>]) -> Var<'t> {
            three_point_loss(tape, |x| {
                two_hidden_layers(tape, p, x, 4, (Var::relu, Var::relu))
            })
        }
        let mut rng = StdRng::seed_from_u64(13);
        let mut params = random_params(&mut rng, 37);
        params[..3].copy_from_slice(&[f64::INFINITY, 0.0, 0.0]);
        for k in 0..4 {
            params[12 + 5 * k] = -1.0;
        }
        let mut f = compiled(loss, &params);
        let second = Kind::Layer {
            n: 4,
            shape: Shape::new(Act::Relu, 0, false, false),
            packed: true,
        };
        assert_eq!(groups(&f)[1], (4, 4, second));
        let grad = replay_checked(&mut f, loss, &params);
        assert!(grad.iter().all(|g| g.is_finite()));
    }

    /// Rosenbrock's terms over `x`, one block each, in a running total (`f += a + b`) or a
    /// `tape.sum`, with `extra` operands of the sum before and after them.
    fn rosenbrock_terms<'t>(tape: &'t Tape, x: &[Var<'t>], total: bool, extra: bool) -> Var<'t> {
        let terms = x.windows(2).map(|w| {
            let t = w[1] - w[0] * w[0];
            let u = 1.0 - w[0];
            (100.0 * (t * t), u * u)
        });
        if total {
            let mut f = x[0] * 0.0;
            for (a, b) in terms {
                f += a + b;
            }
            return f;
        }
        let mut all: Vec<Var> = terms.flat_map(|(a, b)| [a, b]).collect();
        if extra {
            all.insert(0, x[3]);
            all.push(x[1]);
        }
        tape.sum(&all)
    }

    /// Each point of `rosenbrock_terms`' tests: ordinary numbers, a zero, an infinity, a NaN.
    fn points(n: usize) -> Vec<Vec<f64>> {
        let at = |i: usize| 0.3 + (i as f64 * 0.7).sin();
        let mut points = vec![(0..n).map(at).collect::<Vec<_>>()];
        for bad in [0.0, f64::INFINITY, f64::NAN, 1e200] {
            let mut p = points[0].clone();
            p[n / 2] = bad;
            points.push(p);
        }
        points
    }

    #[test]
    fn a_sums_terms_read_by_it_alone_take_its_adjoint_from_its_slot() {
        let n = 3 * CHUNK + 5;
        for (total, extra) in [(true, false), (false, false), (false, true)] {
            for scale in [1.0, 0.0, -2.5] {
                for at in points(n) {
                    let tape = Tape::new();
                    let x = tape.vars(&at);
                    let out = rosenbrock_terms(&tape, &x, total, extra) * scale;
                    let mut f = tape.compile(&x, &[out]).unwrap();
                    // Both of a block's terms, at two positions of one repeat, take the sum's
                    // adjoint; the sum still passes its own to the rest of its operands.
                    let program = &f.program;
                    assert_eq!(program.sums.len(), 1, "total {total}, extra {extra}");
                    let slot = program.sums[0].slot;
                    assert_eq!(program.sources.iter().filter(|&&s| s == slot).count(), 2);
                    let kept = program.sums[0].n;
                    assert_eq!(
                        kept,
                        if total {
                            1
                        } else if extra {
                            2
                        } else {
                            0
                        }
                    );
                    // Twice: the sum's slot is back to zero for the next call.
                    for _ in 0..2 {
                        assert_replays_like_recording(f.run(&at).unwrap(), out, &x);
                    }
                }
            }
        }
    }

    #[test]
    fn a_term_that_adds_hands_the_sums_adjoint_down_to_what_it_alone_reads() {
        use super::super::HANDED_ON;
        let n = CHUNK + 40;
        // Each case's term, and how many positions take the sum's adjoint and hand it down.
        type Term = for<'t> fn(Var<'t>, Var<'t>, Var<'t>) -> Var<'t>;
        let cases: [(Term, usize, usize); 5] = [
            // `(√(u² + 1) + 1) + 2`: both `+ c` hand down, to the root, then no further.
            (|u, _, _| ((u * u + 1.0).sqrt() + 1.0) + 2.0, 1, 2),
            // `sin u + cos v` of the block's own values: both sides take it.
            (|u, v, _| u.sin() + v.cos(), 2, 1),
            // A shared parameter on one side keeps its update: nothing handed down.
            (|u, _, p| u.sin() + p, 1, 0),
            // `w + w` passes two terms to `w`.
            (
                |u, _, _| {
                    let w = u.sin();
                    w + w
                },
                1,
                0,
            ),
            // `w` read again, by `cos`: `w + 1` and `cos w` take the sum's adjoint, and `w`
            // keeps its own.
            (
                |u, _, _| {
                    let w = u.sin();
                    (w + 1.0) + w.cos()
                },
                2,
                1,
            ),
        ];
        for (case, (term, from_sum, handed)) in cases.into_iter().enumerate() {
            for at in points(n + 2) {
                let tape = Tape::new();
                let x = tape.vars(&at);
                let p = x[n + 1];
                let terms: Vec<Var> = x[..n + 1].windows(2).map(|w| term(w[0], w[1], p)).collect();
                let out = tape.sum(&terms);
                let mut f = tape.compile(&x, &[out]).unwrap();
                let sources = &f.program.sources;
                let count = |keep: fn(u32) -> bool| sources.iter().filter(|&&s| keep(s)).count();
                assert_eq!(
                    count(|s| s != NO_SUM && s != HANDED_ON),
                    from_sum,
                    "case {case}"
                );
                assert_eq!(count(|s| s == HANDED_ON), handed, "case {case}");
                // Twice: nothing left behind in the slots the positions no longer read.
                for _ in 0..2 {
                    assert_replays_like_recording(f.run(&at).unwrap(), out, &x);
                }
            }
        }
    }

    #[test]
    fn a_term_read_elsewhere_or_an_output_keeps_its_positions_adjoints() {
        let n = 2 * CHUNK + 3;
        let at = &points(n)[0];
        // Block 5's term read again: by a product, by the sum twice, as an output; or not.
        for case in 0..4 {
            let tape = Tape::new();
            let x = tape.vars(at);
            let terms: Vec<Var> = x
                .windows(2)
                .map(|w| (w[1] - w[0]).powi(2) + w[0].exp())
                .collect();
            let mut all = terms.clone();
            if case == 1 {
                all.push(terms[5]);
            }
            let sum = tape.sum(&all);
            let out = if case == 0 { sum + terms[5] * 3.0 } else { sum };
            let outputs = if case == 2 {
                vec![out, terms[5]]
            } else {
                vec![out]
            };
            let mut f = tape.compile(&x, &outputs).unwrap();
            // Unread elsewhere, the terms take the sum's adjoint, and hand it down to both
            // sides of their `+` (three positions).
            let forwarded = f.program.sources.iter().filter(|&&s| s != NO_SUM).count();
            assert_eq!(forwarded, if case == 3 { 3 } else { 0 }, "case {case}");
            assert_eq!(f.program.sums.len(), usize::from(case == 3), "case {case}");
            let bits = |xs: &[f64]| -> Vec<u64> { xs.iter().map(|x| x.to_bits()).collect() };
            // Only ordinary numbers here, so no NaN whose sign is the compiler's choice.
            for _ in 0..2 {
                let r = f.run(at).unwrap();
                assert_eq!(
                    bits(r.grad_of(0)),
                    bits(&out.backward().wrt_all(&x)),
                    "case {case}"
                );
                if case == 2 {
                    let term = terms[5].backward().wrt_all(&x);
                    assert_eq!(bits(r.grad_of(1)), bits(&term));
                }
            }
        }
    }

    #[test]
    fn a_sums_terms_take_its_adjoint_for_every_output_and_weighting() {
        let n = 2 * CHUNK + 7;
        let at = &points(n)[0];
        let tape = Tape::new();
        let x = tape.vars(at);
        let early = x[2] * 3.0;
        let sum = rosenbrock_terms(&tape, &x, false, true);
        let late = sum * 2.0 + x[0];
        let outputs = [early, sum, late];
        let mut f = tape.compile(&x, &outputs).unwrap();
        assert_eq!(f.program.sums.len(), 1);
        let bits = |xs: &[f64]| -> Vec<u64> { xs.iter().map(|x| x.to_bits()).collect() };
        for _ in 0..2 {
            // Each output's row: one sweep ends before the repeat, one at the sum, one after.
            let r = f.run(at).unwrap();
            for (k, out) in outputs.iter().enumerate() {
                assert_eq!(
                    bits(r.grad_of(k)),
                    bits(&out.backward().wrt_all(&x)),
                    "row {k}"
                );
            }
            let weights = [0.5, -1.5, 2.0];
            let recorded = tape.vjp(&outputs, &weights).wrt_all(&x);
            assert_eq!(bits(f.vjp(at, &weights).unwrap().grad()), bits(&recorded));
        }
    }

    /// The strides of the positions of `f`'s repeats whose instructions are [`Ins::Unary`]s.
    fn unary_strides(f: &CompiledTape) -> Vec<Option<super::Stride>> {
        let program = &f.program;
        let mut found = Vec::new();
        for repeat in &program.repeats {
            for group in &program.groups[repeat.groups()] {
                for j in group.positions() {
                    if matches!(program.ins[repeat.start() + j], Ins::Unary { .. }) {
                        found.push(program.strides[group.stride_at(j)]);
                    }
                }
            }
        }
        found
    }

    #[test]
    fn powers_of_one_exponent_share_it_and_replay_like_recording() {
        let n = 2 * CHUNK + 3;
        let special = [
            0.0,
            -0.0,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
            1e-300,
            1e300,
        ];
        let mut at: Vec<f64> = (0..n).map(|i| (i as f64 * 0.37).sin() * 2.5).collect();
        at[..special.len()].copy_from_slice(&special);
        // Each exponent the passes compile on its own, and some they do not.
        for e in [-5, -4, -3, -2, -1, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, i32::MIN] {
            let tape = Tape::new();
            let x = tape.vars(&at);
            let terms: Vec<Var> = x.iter().map(|&v| (v * 1.5).powi(e) + v).collect();
            let out = tape.sum(&terms);
            let mut f = tape.compile(&x, &[out]).unwrap();
            // `powi(0)`, `powi(1)` and `powi(2)` are not `Ins::Unary`s.
            let strides = unary_strides(&f);
            if !(0..=2).contains(&e) {
                assert_eq!(strides.len(), 1, "powi({e})");
                assert_eq!(strides[0].map(|s| s[0]), Some(0), "powi({e})");
            }
            for _ in 0..2 {
                assert_replays_like_recording(f.run(&at).unwrap(), out, &x);
            }
        }
    }

    #[test]
    fn operations_that_differ_from_block_to_block_keep_their_own() {
        let n = CHUNK + 5;
        let at: Vec<f64> = (0..n).map(|i| (i as f64 * 0.61).cos() * 2.0).collect();
        // Exponents that alternate, and constants that differ only in the sign of zero, which
        // compare equal as numbers but divide to infinities of opposite signs.
        type Op = fn(Var<'_>, usize) -> Var<'_>;
        let ops: [Op; 2] = [
            |v, i| v.powi(if i % 2 == 0 { 3 } else { 4 }),
            |v, i| v / if i % 3 == 0 { -0.0 } else { 0.0 },
        ];
        for op in ops {
            let tape = Tape::new();
            let x = tape.vars(&at);
            let terms: Vec<Var> = x
                .iter()
                .enumerate()
                .map(|(i, &v)| op(v * 1.5, i) + v)
                .collect();
            let out = tape.sum(&terms);
            let mut f = tape.compile(&x, &[out]).unwrap();
            let strides = unary_strides(&f);
            assert_eq!(strides.len(), 1);
            assert_ne!(strides[0].map(|s| s[0]), Some(0));
            for _ in 0..2 {
                assert_replays_like_recording(f.run(&at).unwrap(), out, &x);
            }
        }
    }
}
