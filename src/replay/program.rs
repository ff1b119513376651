//! The instructions a compiled tape runs: its nodes re-encoded once for fast replay.
//!
//! A tape's layout is made for recording: a kind byte per node and operands on shared stacks,
//! read through cursors whose steps depend on each node's shape. Replay runs the same nodes
//! thousands of times, so [`Program::build`] turns them into one fixed-size instruction per node
//! that names its operands' value slots directly, with constants, operand lists and stored
//! partials in side arrays.
//!
//! Both passes keep the results of recording bit for bit:
//!
//! - the forward pass evaluates every instruction through the rule that recorded it
//!   ([`Unary::eval`], [`Binary::eval`], [`weighted_sum`], the custom rule);
//! - the backward pass makes the updates of [`crate::gradients`]'s sweep — for each node from
//!   the last to the first, unless its adjoint is zero, `adjoint[parent] += partial * adjoint`
//!   for each operand in recorded order — so every adjoint receives the same terms in the same
//!   order.
//!
//! Three patterns of consecutive nodes, each read only by the next, run as one instruction:
//!
//! - a neuron — a `dot`, the `+` of its bias, and optionally an activation: any one-input
//!   function of the table (up to eight different ones in a program, [`Act`]) — is one
//!   [`Ins::Neuron`]: one dispatch and one stored value instead of three (two where the
//!   activation's partial does not follow from its value and is kept);
//! - a squared difference — `(x + c)²`, `(c - x)²`, `(x - y)²` or `(x - y²)²`, as in a squared
//!   error or Rosenbrock's terms — is one instruction instead of two (three for `(x - y²)²`),
//!   and one more with a constant factor after it (`c·(x - y)²`);
//! - a sum of three, `x + (y + z)` or `(x + y) + z`, as in `f += a + b`, is one instruction.
//!
//! The fused backward pass makes the updates the separate nodes would, in their order, so this
//! too keeps every bit.
//!
//! A partial that is a function of values the replay holds anyway — the other factor of a
//! product, the value of `exp`, `tanh` and `sigmoid`, `2x` for `x²`, a constant factor — is not
//! stored: the backward pass computes it again with the expression of the rule, which gives the
//! same bits.
//!
//! A dot product whose operand lists are runs of consecutive slots — a neuron's weights, and,
//! once neurons are fused, a layer's activations — reads them as slices, without an index load
//! and a bounds check per operand. A neuron whose lists are runs becomes an [`Ins::RunNeuron`],
//! which holds all its details itself.
//!
//! A loss over a batch records the same block of such neurons and squares once per data point;
//! both passes run these stretches position by position across the points ([`repeats`]).

use std::cell::Cell;
use std::ops::Range;

use crate::gradients::unit_terms;
use crate::ops::compare::Comparison;
use crate::ops::nary::{Rules, sum, weighted_sum};
use crate::ops::record::{Record, records};
use crate::ops::{Binary, OpKind, Unary};
use crate::tape::{NodeId, Storage};
use crate::{Error, Scalar};

use super::Kept;

/// The value of `$ins`, the instruction `$k` of `$program`, from its operands' values in
/// `$values`, with the partials it keeps stored: the value rule of every kind of instruction,
/// written once, and expanded in the general forward pass ([`Program::forward_range`]) and in
/// the kernel of repeated blocks of any kinds ([`Program::forward_other`]), both generic over
/// `T: Scalar`. A macro, not a method: a method of `&mut self` (for the partials) called from
/// the general pass's loop made that pass slower (benches/FINDINGS.md). `$consts`, `$unaries`,
/// `$list` and `$v` are the program's constants and unary operations, an operand list by
/// `(at, n)` and a slot's value, borrowed once before the caller's loop. A comparison, which
/// has no value, is checked, and the caller's loop goes on to the next instruction.
macro_rules! value {
    ($program:ident, $ins:expr, $k:expr, $values:ident, $consts:ident, $unaries:ident,
     $list:ident, $v:ident) => {{
        use $crate::ops::{Binary, Unary};
        use $crate::replay::check;
        use $crate::replay::program::{
            Ins, add_bias, mul_const, scaled, sum_of, with_operand, word,
        };
        let (consts, unaries, list, v, k, ins) = (&$consts, &$unaries, &$list, &$v, $k, $ins);
        match *ins {
            Ins::AddConst { x, c } => Unary::AddConst(consts[c as usize]).eval(v(x)).0,
            Ins::RSubConst { x, c } => Unary::RSubConst(consts[c as usize]).eval(v(x)).0,
            Ins::Neg { x } => Unary::<T>::Neg.eval(v(x)).0,
            Ins::MulConst { x, c } => mul_const(v(x), consts[c as usize]),
            Ins::Square { x, sq } => sq.value(v(x)),
            // Each arm on its own, so that the call's match folds away.
            Ins::AddConstSquared { .. } => $program.fused_square(ins, $values),
            Ins::RSubConstSquared { .. } => $program.fused_square(ins, $values),
            Ins::SubSquared { .. } => $program.fused_square(ins, $values),
            Ins::SubSquareSquared { .. } => $program.fused_square(ins, $values),
            Ins::Exp { x } => Unary::<T>::Exp.eval(v(x)).0,
            Ins::Tanh { x } => Unary::<T>::Tanh.eval(v(x)).0,
            Ins::Sigmoid { x } => Unary::<T>::Sigmoid.eval(v(x)).0,
            Ins::Unary { op, x, q } => {
                let (value, d) = unaries[op as usize].eval(v(x));
                $program.partials[q as usize] = d;
                value
            }
            Ins::Add { x, y } => Binary::Add.eval(v(x), v(y)).0,
            Ins::Sub { x, y } => Binary::Sub.eval(v(x), v(y)).0,
            Ins::AddAdd { x, y, z, right } => {
                let add = |x, y| Binary::Add.eval(x, y).0;
                if right {
                    add(v(x), add(v(y), v(z)))
                } else {
                    add(add(v(x), v(y)), v(z))
                }
            }
            Ins::Mul { x, y } => Binary::Mul.eval(v(x), v(y)).0,
            Ins::Scaled { x, y, c, op, first } => scaled(v(x), v(y), consts[c as usize], op, first),
            Ins::MulAdd { x, y, z, op, first } => {
                with_operand(op, Binary::Mul.eval(v(y), v(z)).0, v(x), first)
            }
            Ins::Binary { op, x, y, q } => {
                let (value, dx, dy) = op.eval(v(x), v(y));
                $program.partials[q as usize] = dx;
                $program.partials[q as usize + 1] = dy;
                value
            }
            Ins::Sum { at, n } => sum_of(list(at, n), $values),
            Ins::Chain { at, n, pairs } => {
                let add = |x, y| Binary::Add.eval(x, y).0;
                let (&first, terms) = list(at, n).split_first().expect("a chain has a start");
                if pairs {
                    let steps = terms.chunks_exact(2);
                    steps.fold(v(first), |acc, yz| add(acc, add(v(yz[0]), v(yz[1]))))
                } else {
                    terms.iter().fold(v(first), |acc, &t| add(acc, v(t)))
                }
            }
            Ins::Fold { at, n, steps } => $program.running_total(list(at, n), steps, v),
            Ins::Dot { at, n, runs } => $program.dot(at, n, None, runs, $values),
            Ins::DotConst { at, n, c, runs } => $program.dot(at, n, Some(c), runs, $values),
            Ins::Neuron { at, n, m } => {
                let info = $program.neurons[m as usize];
                let sum = $program.dot(at, n, info.weights, info.runs, $values);
                let z = add_bias(sum, v(info.bias), info.bias_first);
                $program.activate((info.act, info.table), z, $program.leaves + k, $values)
            }
            Ins::RunNeuron {
                xs,
                ys,
                bias,
                n,
                shape,
            } => {
                let slot = $program.leaves + k;
                $program.run_neuron(xs, ys, bias, usize::from(n), shape, slot, $values)
            }
            Ins::Custom { at, n, q } => {
                let out = &mut $program.partials[q as usize..(q + n) as usize];
                let operands = &$program.operands[at as usize..(at + n) as usize];
                $program
                    .custom
                    .replay(word($program.leaves + k), operands, v, out)
            }
            Ins::Compare {
                cmp,
                recorded,
                x,
                y,
                g,
            } => {
                check(cmp, v(x), v(y), recorded, $program.guard_nodes[g as usize])?;
                continue;
            }
            Ins::CompareConst {
                cmp,
                recorded,
                x,
                c,
                g,
            } => {
                let rhs = consts[c as usize];
                check(cmp, v(x), rhs, recorded, $program.guard_nodes[g as usize])?;
                continue;
            }
        }
    }};
}

/// The sweep's updates for `$ins`, an instruction of `$program` whose adjoint `$a` is not zero
/// and whose value `$output` gives: each operand's term, in the order the tape's sweep adds them.
/// No partial of an operation of the table is written here: a partial of ±1 comes from the
/// operation's shape by the sweep's own rule ([`unit_of`]), a constant factor's from its
/// entry ([`slope`]), any other from its entry's `eval`, at recording's or this pass's
/// operands. Written once, and expanded, as `value!` is, in the general backward pass
/// ([`Program::backward_range`]) and in the kernel of repeated blocks of any kinds. `$here`
/// gives the instruction's value slot, for the rare instruction that needs it, and `$list` an
/// operand list by `(at, n)`, borrowed once before the caller's loop. `$values` is as long as
/// the adjoints `$adj`, so that one check of an operand's index covers both; `$all`, the values
/// with their twins ([`Program::keys`]), is read for a kept partial. Both closures are called
/// only by the instructions that need them, so no other pays their checks. Where a neuron's
/// activation passes nothing on, the caller's loop goes on to the next instruction.
macro_rules! pass_on {
    ($program:ident, $ins:expr, $a:expr, $here:expr, $output:expr, $adj:ident, $values:ident,
     $all:ident, $list:ident) => {{
        use $crate::ops::{Binary, OpKind, Unary};
        use $crate::replay::program::{
            Act, Ins, add, add_two, bias_terms, scaled_add_terms, scaled_product_terms, slope,
            sum_terms, unit_of,
        };
        let (ins, a, here, output, adj, values) = ($ins, $a, $here, $output, $adj, $values);
        let list = &$list;
        let v = |x: u32| values[x as usize];
        match *ins {
            Ins::AddConst { x, .. } => add(adj, x, unit_of(OpKind::AddConst, a).0),
            Ins::RSubConst { x, .. } => add(adj, x, unit_of(OpKind::RSubConst, a).0),
            Ins::Neg { x } => add(adj, x, unit_of(OpKind::Neg, a).0),
            Ins::MulConst { x, c } => {
                let d = slope(Unary::MulConst($program.consts[c as usize]));
                add(adj, x, d * a)
            }
            Ins::Square { x, sq } => sq.pass(adj, x, sq.term(v(x), a)),
            // Each arm on its own, so that the call's match folds away.
            Ins::AddConstSquared { .. } => $program.fused_square_backward(ins, a, adj, values),
            Ins::RSubConstSquared { .. } => $program.fused_square_backward(ins, a, adj, values),
            Ins::SubSquared { .. } => $program.fused_square_backward(ins, a, adj, values),
            Ins::SubSquareSquared { .. } => $program.fused_square_backward(ins, a, adj, values),
            Ins::Exp { x } => add(adj, x, Act::partial_of(Unary::Exp, output()) * a),
            Ins::Tanh { x } => add(adj, x, Act::Tanh.partial(output()) * a),
            Ins::Sigmoid { x } => add(adj, x, Act::Sigmoid.partial(output()) * a),
            Ins::Unary { x, q, .. } => add(adj, x, $program.partials[q as usize] * a),
            Ins::Add { x, y } => add_two(adj, (x, y), unit_of(OpKind::Add, a)),
            Ins::Sub { x, y } => add_two(adj, (x, y), unit_of(OpKind::Sub, a)),
            // The outer `+` passes its terms to its operands, one of them the inner `+`, whose
            // adjoint it starts; then the inner passes its terms on.
            Ins::AddAdd { x, y, z, right } => {
                let (first, second) = unit_of(OpKind::Add, a);
                if right {
                    add(adj, x, first);
                    add_two(adj, (y, z), unit_of(OpKind::Add, second));
                } else {
                    add(adj, z, second);
                    add_two(adj, (x, y), unit_of(OpKind::Add, first));
                }
            }
            Ins::Mul { x, y } => {
                let (_, dx, dy) = Binary::Mul.eval(v(x), v(y));
                add(adj, x, dx * a);
                add(adj, y, dy * a);
            }
            Ins::Scaled { x, y, c, op, first } => {
                let c = $program.consts[c as usize];
                let terms = if op == Binary::Mul {
                    scaled_product_terms(a, v(x), v(y), c, first)
                } else {
                    scaled_add_terms(a, c, op, first)
                };
                add_two(adj, (x, y), terms);
            }
            // The `+` or `-` passes its terms to its operands in order, the product's starting
            // its adjoint, not zero; then the product passes on its partials times that.
            Ins::MulAdd { x, y, z, op, first } => {
                let (t_product, t_x) = sum_terms(a, op, first);
                add(adj, x, t_x);
                let (_, dy, dz) = Binary::Mul.eval(v(y), v(z));
                add(adj, y, dy * t_product);
                add(adj, z, dz * t_product);
            }
            Ins::Binary { x, y, q, .. } => {
                add(adj, x, $program.partials[q as usize] * a);
                add(adj, y, $program.partials[q as usize + 1] * a);
            }
            Ins::Sum { at, n } | Ins::Chain { at, n, .. } => {
                $program.pass_to_all(here(), at, n, a, adj)
            }
            Ins::Fold { at, n, steps } => $program.fold_backward(list(at, n), steps, a, adj),
            Ins::Dot { at, n, runs } => $program.dot_backward((at, n, None, runs), a, adj, values),
            Ins::DotConst { at, n, c, runs } => {
                $program.dot_backward((at, n, Some(c), runs), a, adj, values)
            }
            Ins::Neuron { at, n, m } => {
                let info = $program.neurons[m as usize];
                let key = if info.act == Act::Table {
                    $all[$program.slots + here()]
                } else {
                    output()
                };
                // The activation passes `partial * a` to the sum-plus-bias, whose adjoint
                // starts at zero: the three nodes pass nothing on when that product is zero.
                let a = info.act.passed(key, a);
                if a == T::zero() {
                    continue;
                }
                // The `+` passes its terms to the dot (whose adjoint it starts) and to the bias.
                let (a, to_bias) = bias_terms(a, info.bias_first);
                add(adj, info.bias, to_bias);
                $program.dot_backward((at, n, info.weights, info.runs), a, adj, values);
            }
            Ins::RunNeuron {
                xs,
                ys,
                bias,
                n,
                shape,
            } => {
                let fields = (xs, ys, bias, usize::from(n), shape);
                if shape.act() == Act::Table {
                    $program.table_neuron_backward(fields, here(), a, adj, $all);
                } else {
                    $program.run_neuron_backward(fields, output(), a, adj, values);
                }
            }
            Ins::Custom { at, n, q } => {
                let ds = &$program.partials[q as usize..(q + n) as usize];
                for (&x, &d) in list(at, n).iter().zip(ds) {
                    add(adj, x, d * a);
                }
            }
            Ins::Compare { .. } | Ins::CompareConst { .. } => {}
        }
    }};
}

mod passes;
mod repeats;

pub(crate) use passes::Passes;

use repeats::{Group, Kernel, Lane, Repeat};

/// One node of the program, or a few fused. Instruction `k` writes value slot `leaves + k`; `x`
/// and `y` are the value slots of the operands, `c` an index into [`Program::consts`], `q` into
/// [`Program::partials`], `at` into [`Program::operands`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Ins {
    /// `x + c`, partial 1.
    AddConst { x: u32, c: u32 },
    /// `c - x`, partial -1.
    RSubConst { x: u32, c: u32 },
    /// `-x`, partial -1.
    Neg { x: u32 },
    /// `x * c`, partial `c`.
    MulConst { x: u32, c: u32 },
    /// `x²`, recorded as `sq` says: `powi(2)` or the product `x * x`.
    Square { x: u32, sq: Sq },
    /// `(x + c)²`: an [`Ins::AddConst`] read only by the [`Ins::Square`] after it, of the form
    /// `sq`; times `consts[s]` unless `s` is [`UNSCALED`] (an [`Ins::MulConst`] read only after
    /// the square).
    AddConstSquared { x: u32, c: u32, s: u32, sq: Sq },
    /// `(c - x)²`: an [`Ins::RSubConst`] read only by the [`Ins::Square`] after it; `s` and `sq`
    /// as for [`Ins::AddConstSquared`].
    RSubConstSquared { x: u32, c: u32, s: u32, sq: Sq },
    /// `(x - y)²`: an [`Ins::Sub`] read only by the [`Ins::Square`] after it; `s` and `sq` as for
    /// [`Ins::AddConstSquared`].
    SubSquared { x: u32, y: u32, s: u32, sq: Sq },
    /// `(x - y²)²`: an [`Ins::Square`] of the form `inner` read only by the [`Ins::SubSquared`]
    /// pattern after it, as its second operand — a residual such as Rosenbrock's `x₁ - x₀²`,
    /// squared; `s` and `sq` as for [`Ins::AddConstSquared`].
    SubSquareSquared {
        x: u32,
        y: u32,
        s: u32,
        sq: Sq,
        inner: Sq,
    },
    /// `eˣ`, partial the value.
    Exp { x: u32 },
    /// `tanh x`, partial `1 - y²` of the value `y`.
    Tanh { x: u32 },
    /// `σ(x)`, partial `y (1 - y)` of the value `y`.
    Sigmoid { x: u32 },
    /// Any other one-input operation, [`Program::unaries`]`[op]`; its partial is stored at `q`.
    Unary { op: u32, x: u32, q: u32 },
    /// `x + y`.
    Add { x: u32, y: u32 },
    /// `x - y`.
    Sub { x: u32, y: u32 },
    /// `x + (y + z)` if `right`, else `(x + y) + z`: an [`Ins::Add`] read only by the
    /// [`Ins::Add`] after it, as in `f += a + b` or `a + b + c`.
    AddAdd { x: u32, y: u32, z: u32, right: bool },
    /// `x * y`: each partial is the other factor.
    Mul { x: u32, y: u32 },
    /// `y c op x` if `first`, else `x op y c`, `op` a `+`, `-` or `*`: an [`Ins::MulConst`]
    /// read only by the [`Ins::Add`], [`Ins::Sub`] or [`Ins::Mul`] after it, as `a + h * f`,
    /// `t - c * u` or `0.5 * m * v` record.
    Scaled {
        x: u32,
        y: u32,
        c: u32,
        op: Binary,
        first: bool,
    },
    /// `y z op x` if `first`, else `x op y z`, `op` a `+` or a `-`: an [`Ins::Mul`], or a
    /// square written as a product (`y` and `z` the same slot), read only by the [`Ins::Add`]
    /// or [`Ins::Sub`] after it, as a residual `t - w * x`, `x₁ - x₀ * x₀` or a step
    /// `s + a * b` records.
    MulAdd {
        x: u32,
        y: u32,
        z: u32,
        op: Binary,
        first: bool,
    },
    /// `/`, `pow`, `max`, `min`: partials stored at `q` and `q + 1`.
    Binary { op: Binary, x: u32, y: u32, q: u32 },
    /// `Σ operands[at..at + n]`.
    Sum { at: u32, n: u32 },
    /// `x₀ + t₁ + t₂ + … + tₘ`, added left to right, with `operands[at..at + n]` = `x₀, t₁, …`:
    /// a chain of [`Ins::Add`]s (or of [`Ins::AddAdd`]s on the left), each read only by the next,
    /// as `f += t` in a loop records. With `pairs`, each step adds a sum of two, `x + (y + z)`
    /// ([`Ins::AddAdd`] on the right, as `f += a + b` records), and the operands are
    /// `x₀, y₁, z₁, y₂, z₂, …`. Every operand is read only here, so the sweep's updates, `a`
    /// to each, may come in any order.
    Chain { at: u32, n: u32, pairs: bool },
    /// A running total whose steps are not all `+`: `x₀`, then each step of
    /// [`Program::folds`]`[steps..]` up to its [`FoldStep::End`] in turn — `+ t`, `- t`,
    /// `+ (y + z)`, `+ c`, `± c y` — reading its slots from `operands[at + 1..at + n]`, `x₀`
    /// being `operands[at]`. Each step's accumulator is read only by the next step, so its
    /// adjoint is the total's, `a`, at every step. Every operand is read only here, or, a term
    /// of a step that does more than add, last here: its update, each from `a`, then comes
    /// before those of its earlier readers wherever the fold makes it, and the updates of
    /// different operands may come in any order ([`Program::chain_sums`]).
    Fold { at: u32, n: u32, steps: u32 },
    /// `Σ xᵢ yᵢ` with `xs = operands[at..at + n]`, `ys` the next `n`; each partial is the partner.
    /// `runs`: each list is a run of consecutive slots, read as a slice.
    Dot { at: u32, n: u32, runs: bool },
    /// `Σ xᵢ cᵢ` with the weights `consts[c..c + n]`; `runs` as for [`Ins::Dot`].
    DotConst { at: u32, n: u32, c: u32, runs: bool },
    /// A custom rule on `operands[at..at + n]`; its partials are stored at `q..q + n`.
    Custom { at: u32, n: u32, q: u32 },
    /// `act(Σ xᵢ wᵢ + b)`, three recorded nodes in one ([`Program::neurons`]`[m]`): the sum is a
    /// [`Ins::Dot`] or an [`Ins::DotConst`] on `operands[at..]`, then a bias `+`, then an
    /// activation.
    Neuron { at: u32, n: u32, m: u32 },
    /// A fused neuron whose lists are runs, all its details in the instruction:
    /// `act(Σ values[xs + i] yᵢ + values[bias])` over `i < n`, with `yᵢ` the values from slot
    /// `ys`, or the constants from `consts[ys]`, as `shape` says.
    RunNeuron {
        xs: u32,
        ys: u32,
        bias: u32,
        n: u16,
        shape: Shape,
    },
    /// A recorded comparison of two values, the `g`-th of the program.
    Compare {
        cmp: Comparison,
        recorded: bool,
        x: u32,
        y: u32,
        g: u32,
    },
    /// A recorded comparison of a value with the constant `consts[c]`.
    CompareConst {
        cmp: Comparison,
        recorded: bool,
        x: u32,
        c: u32,
        g: u32,
    },
}

/// The instructions of a compiled tape and the side arrays they index.
#[derive(Clone)]
pub(super) struct Program<T> {
    ins: Vec<Ins>,
    /// The details of the [`Ins::Neuron`] instructions.
    neurons: Vec<Neuron>,
    /// The constants of the instructions, a dot product's weights among them.
    consts: Vec<T>,
    /// The operand lists of sums, dot products and custom operations.
    operands: Vec<u32>,
    /// The operations of [`Ins::Unary`] instructions.
    unaries: Vec<Unary<T>>,
    /// The functions of the neurons fused with an [`Act::Table`] activation, at most
    /// [`TABLE_ACTS`].
    acts: Vec<Unary<T>>,
    /// How many value slots the program has; with [`Act::Table`] neurons, the values hold as
    /// many again after them, the slot `slots + k` keeping the partial of neuron slot `k`.
    slots: usize,
    /// The partials the forward pass stores for the backward pass.
    partials: Vec<T>,
    /// The rules of the custom nodes, under their value slots.
    custom: Rules<T>,
    /// The recorded index of each comparison, in program order, for error messages.
    guard_nodes: Vec<u32>,
    /// How many leaves open the program: the value slots before the first instruction.
    leaves: usize,
    /// The stretches made of repeated blocks, in order, which the passes run position by
    /// position across the blocks ([`Program::find_repeats`]).
    repeats: Vec<Repeat>,
    /// The groups of positions of the repeats, each repeat's in order.
    groups: Vec<Group>,
    /// The lanes of the positions that have one, in order.
    lanes: Vec<Lane>,
    /// For each position of each repeat, in order, how its instructions step from block to
    /// block, if they do evenly ([`repeats::Stride`]).
    strides: Vec<Option<repeats::Stride>>,
    /// For each position of each repeat, as [`Program::strides`], its forward code where it has
    /// a stride ([`repeats::PositionKernel`]).
    position_kernels: Vec<Option<repeats::PositionKernel<T>>>,
    /// For each position of each repeat, as [`Program::strides`], its backward code where it
    /// has a stride ([`repeats::PositionBackward`]).
    backward_kernels: Vec<Option<repeats::PositionBackward<T>>>,
    /// The kernel of each group.
    kernels: Vec<Kernel<T>>,
    /// The steps of the [`Ins::Fold`]s, each fold's ending with [`FoldStep::End`].
    folds: Vec<FoldStep>,
    /// The fields of the repeats' positions that read through copies, by repeat, each repeat's
    /// in the order of their positions (which the backward pass's flush relies on).
    deferred: Vec<repeats::Deferred>,
    /// The slot each copy copies, copy by copy: the copies take the value slots after the
    /// instructions' ([`repeats::Deferred`]).
    origins: Vec<u32>,
    /// The forward pass as a flat list of steps, in order, when the program has repeats
    /// ([`Program::plan`]); the backward pass over every instruction runs it from the end.
    steps: Vec<Step>,
    /// For each position of each repeat, as [`Program::strides`], the value slot of the sum
    /// whose adjoint every block's instruction there takes from it, [`HANDED_ON`], or
    /// [`NO_SUM`] ([`Program::forward_sums`]).
    sources: Vec<u32>,
    /// The sums some of whose terms take their adjoint from their slot, in order.
    sums: Vec<ForwardedSum>,
}

/// A sum or chain of accumulating sums whose terms at some positions of a repeat take its
/// adjoint from its slot ([`Program::forward_sums`]), and the operand list, `operands[at..at +
/// n]`, that its backward pass still updates: the others, in order.
#[derive(Debug, Clone, Copy)]
struct ForwardedSum {
    slot: u32,
    at: u32,
    n: u32,
}

/// A position of a repeat whose instructions take their adjoints the usual way.
const NO_SUM: u32 = u32::MAX;

/// A position of a repeat whose instructions take their adjoint from a sum and pass it on
/// unchanged to values that take it from the sum too: its backward pass does nothing
/// ([`Program::forward_sums`]).
const HANDED_ON: u32 = u32::MAX - 1;

/// One step of a pass over a program with repeats: a stretch of instructions between
/// repeats, run one by one, or one [`Group`] of a repeat, by its kernel.
/// Flat, a pass holds nothing but its place in the list across the calls: walking the repeats
/// and each one's groups, it kept the repeat, its bounds and the loop's state on the stack
/// across every call (benches/FINDINGS.md: fixed work per call).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    /// The instructions `start..end`.
    Stretch { start: u32, end: u32 },
    /// The group [`Program::groups`]`[g]`.
    Group(u32),
    /// The copies of repeat `r`: filled before its groups run forward, their adjoints passed
    /// on after they run backward ([`repeats::Deferred`]).
    Copies(u32),
}

/// The longest stretch of instructions between repeats whose leading (forward) or trailing
/// (backward) sums and constant factors the passes run on their own, without the set-up of
/// [`Program::forward_range`] ([`Program::forward_stretch`]).
const SHORT_STRETCH: usize = 4;

/// The `s` of a fused square with no constant factor.
pub(super) const UNSCALED: u32 = u32::MAX;

/// The details of a fused neuron, [`Ins::Neuron`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Neuron {
    /// Where the constant weights start in [`Program::consts`], or `None` for a dot product of
    /// two lists of values.
    weights: Option<u32>,
    /// Whether each list of the dot product is a run of consecutive slots. Such neurons become
    /// [`Ins::RunNeuron`]s unless they have more than 2¹⁶ - 1 inputs.
    runs: bool,
    /// The value slot of the bias.
    bias: u32,
    /// Whether the bias is the left operand of the recorded `+` (`b + Σ`, not `Σ + b`).
    bias_first: bool,
    act: Act,
    /// For [`Act::Table`], the index of the function in [`Program::acts`].
    table: u8,
}

/// The activation, the kind of partners and the side of the bias of an [`Ins::RunNeuron`], in
/// one byte so that the instruction keeps to 16.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Shape(u8);

impl Shape {
    /// The low three bits hold the [`Act`]; the top three, for [`Act::Table`], the index of the
    /// function in [`Program::acts`].
    const ACT: u8 = 7;
    const KONST: u8 = 8;
    const BIAS_FIRST: u8 = 16;
    const TABLE: u32 = 5;

    #[inline(always)]
    fn new(act: Act, table: u8, konst: bool, bias_first: bool) -> Self {
        let bit = |on: bool, b: u8| if on { b } else { 0 };
        let table = table << Self::TABLE;
        Shape(act as u8 | bit(konst, Self::KONST) | bit(bias_first, Self::BIAS_FIRST) | table)
    }

    /// This shape with the activation `act` and the kind of partners `konst`, as a kernel fixes
    /// them.
    #[inline(always)]
    fn fixed(self, act: Act, konst: bool) -> Self {
        Shape::new(act, self.table(), konst, self.bias_first())
    }

    #[inline(always)]
    fn act(self) -> Act {
        Act::from_bits(self.0)
    }

    /// For [`Act::Table`], the index of the function in [`Program::acts`].
    #[inline(always)]
    fn table(self) -> u8 {
        self.0 >> Self::TABLE
    }

    /// Whether the partners are constants.
    #[inline(always)]
    fn konst(self) -> bool {
        self.0 & Self::KONST != 0
    }

    /// The partners of the dot product, from the index `ys`.
    #[inline(always)]
    fn partners(self, ys: u32) -> Partners {
        if self.konst() {
            Partners::Consts(ys)
        } else {
            Partners::Values(ys)
        }
    }

    #[inline(always)]
    fn bias_first(self) -> bool {
        self.0 & Self::BIAS_FIRST != 0
    }
}

/// How many functions [`Act::Table`] can name in one program: the indices [`Shape`] has room
/// for. A neuron whose activation would be one more keeps it as an instruction of its own.
const TABLE_ACTS: usize = 1 << (8 - Shape::TABLE);

/// The second list of a dot product read as runs: slots of values, or constant weights, from
/// the index given.
#[derive(Debug, Clone, Copy)]
enum Partners {
    Values(u32),
    Consts(u32),
}

/// The activation of a fused neuron. Tanh, sigmoid and relu form their partial from the value
/// `y`, as the table says they may (`of_output`); any other one-input function of the table is
/// [`Act::Table`], whose partial the forward pass keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Act {
    Identity = 0,
    Tanh = 1,
    Sigmoid = 2,
    Relu = 3,
    /// The function [`Program::acts`]`[shape.table()]`: the forward pass keeps the partial its
    /// rule gives in the value slot's twin ([`Program::keys`]), and the backward pass reads it
    /// there.
    Table = 4,
}

impl Act {
    /// The activation coded in the low three bits of `bits`.
    #[inline(always)]
    const fn from_bits(bits: u8) -> Act {
        match bits & Shape::ACT {
            0 => Act::Identity,
            1 => Act::Tanh,
            2 => Act::Sigmoid,
            3 => Act::Relu,
            _ => Act::Table,
        }
    }

    /// The partial of a function of the table marked `of_output`, from its output `y`.
    #[inline(always)]
    fn partial_of<T: Scalar>(unary: Unary<T>, y: T) -> T {
        // invariant: only called with functions the table marks `of_output` (a unit test checks
        // exp, tanh, sigmoid and relu).
        unary.partial_of_output(y).unwrap()
    }

    /// Whether the activation calls a function: tanh, sigmoid (`exp`) and those of the table,
    /// which may.
    #[inline(always)]
    const fn calls(self) -> bool {
        matches!(self, Act::Tanh | Act::Sigmoid | Act::Table)
    }

    /// The activation of `z` if it [`calls`](Act::calls) no function, else `z` itself, to be
    /// activated by a later loop ([`Program::activate_later`]).
    #[inline(always)]
    fn value_or_later<T: Scalar>(self, z: T) -> T {
        // Of the activations that call no function, the identity leaves `z` as it is.
        if self == Act::Relu {
            Unary::Relu.eval(z).0
        } else {
            z
        }
    }

    /// The adjoint the activation passes to its input, the sum-plus-bias, given its key `y` —
    /// its value, or for [`Act::Table`] the partial kept ([`Program::keys`]) — and its own
    /// adjoint `a`: `a` itself for none, else `partial * a` as the sweep forms it.
    #[inline(always)]
    fn passed<T: Scalar>(self, y: T, a: T) -> T {
        match self {
            Act::Identity => a,
            Act::Table => y * a,
            act => act.partial(y) * a,
        }
    }

    /// The partial the rule records, from the value `y`: the operations' table forms it from the
    /// output for each of these activations (`of_output`), exactly as recording does.
    #[inline(always)]
    fn partial<T: Scalar>(self, y: T) -> T {
        let unary = match self {
            Act::Identity => return T::one(),
            Act::Tanh => Unary::<T>::Tanh,
            Act::Sigmoid => Unary::Sigmoid,
            Act::Relu => Unary::Relu,
            Act::Table => unreachable!("invariant: a kept partial is read, not formed"),
        };
        Act::partial_of(unary, y)
    }
}

/// The value slots an instruction names in its own fields, in recorded order; operand lists and
/// a neuron's bias live apart.
fn inline_slots(ins: &mut Ins) -> [Option<&mut u32>; 3] {
    match ins {
        Ins::AddConst { x, .. }
        | Ins::RSubConst { x, .. }
        | Ins::Neg { x }
        | Ins::MulConst { x, .. }
        | Ins::Square { x, .. }
        | Ins::Exp { x }
        | Ins::Tanh { x }
        | Ins::Sigmoid { x }
        | Ins::Unary { x, .. }
        | Ins::AddConstSquared { x, .. }
        | Ins::RSubConstSquared { x, .. }
        | Ins::CompareConst { x, .. } => [Some(x), None, None],
        Ins::Add { x, y }
        | Ins::Sub { x, y }
        | Ins::SubSquared { x, y, .. }
        | Ins::SubSquareSquared { x, y, .. }
        | Ins::Mul { x, y }
        | Ins::Scaled { x, y, .. }
        | Ins::Binary { x, y, .. }
        | Ins::Compare { x, y, .. } => [Some(x), Some(y), None],
        Ins::AddAdd { x, y, z, .. } | Ins::MulAdd { x, y, z, .. } => [Some(x), Some(y), Some(z)],
        Ins::Sum { .. }
        | Ins::Chain { .. }
        | Ins::Fold { .. }
        | Ins::Dot { .. }
        | Ins::DotConst { .. }
        | Ins::Custom { .. }
        | Ins::Neuron { .. }
        | Ins::RunNeuron { .. } => [None, None, None],
    }
}

/// Whether a fused instruction can hold the node `node`, computed by `u`, and its reader `r` as
/// consecutive nodes: a square's base and the square, a square and the difference it is
/// subtracted in, or a square and its constant factor ([`Program::squared_at`]); a product and
/// the sum or difference it is one operand of ([`Program::mul_add_at`]).
fn absorbs(u: Ins, node: u32, r: Ins) -> bool {
    match (u, r) {
        (
            Ins::Mul { .. }
            | Ins::Square {
                sq: Sq::Product, ..
            },
            Ins::Add { x, y } | Ins::Sub { x, y },
        ) if (x == node) != (y == node) => true,
        (Ins::AddConst { .. } | Ins::RSubConst { .. } | Ins::Sub { .. }, Ins::Square { x, .. }) => {
            x == node
        }
        (Ins::Square { .. }, Ins::Sub { x, y }) => y == node && x != node,
        (Ins::Square { .. }, Ins::MulConst { x, .. }) => x == node,
        _ => false,
    }
}

/// The value slots an instruction names in its own fields ([`inline_slots`]), copied.
fn slots_of(mut ins: Ins) -> [Option<u32>; 3] {
    inline_slots(&mut ins).map(|x| x.map(|x| *x))
}

/// `x + c`, `c - x` and `x - y` by their rules: the bases of the fused squares.
#[inline(always)]
fn add_const<T: Scalar>(x: T, c: T) -> T {
    Unary::AddConst(c).eval(x).0
}

#[inline(always)]
fn mul_const<T: Scalar>(x: T, c: T) -> T {
    Unary::MulConst(c).eval(x).0
}

/// The value of a sum of the slots `xs`, from zero, as the n-ary sum records it.
#[inline(always)]
fn sum_of<T: Scalar>(xs: &[u32], values: &[Cell<T>]) -> T {
    sum(xs.iter().map(|&x| values[x as usize].get()))
}

#[inline(always)]
fn rsub_const<T: Scalar>(x: T, c: T) -> T {
    Unary::RSubConst(c).eval(x).0
}

#[inline(always)]
fn sub<T: Scalar>(x: T, y: T) -> T {
    Binary::Sub.eval(x, y).0
}

/// A neuron's `+` of its bias `b` to the dot product `sum`, in the recorded order of operands.
#[inline(always)]
fn add_bias<T: Scalar>(sum: T, b: T, bias_first: bool) -> T {
    if bias_first {
        Binary::Add.eval(b, sum).0
    } else {
        Binary::Add.eval(sum, b).0
    }
}

/// How a square `u²` was recorded: as `powi(2)`, one edge to `u` whose partial is `u + u`, or
/// as the product `u * u`, two edges to `u` whose partials are `u` each. Both give the same
/// value; the sweep's updates differ in their bits, so a program keeps which it replays.
///
/// The outer square of a fused square may also be [`Sq::ScaledProduct`], `(c u) u`: a constant
/// factor read only by the product after it, which reads `u` too — `c * u * u` read from the
/// left, as `0.5 * r * r` records. Its value and its terms depend on `c`, which the fused
/// square holds in place of a factor after the square, so [`Program::fused_square`] and
/// [`Program::square_passed`] form them, from the rules of [`Ins::Scaled`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Sq {
    Powi,
    Product,
    ScaledProduct,
}

impl Sq {
    /// `u²` by the recorded operation's rule.
    #[inline(always)]
    fn value<T: Scalar>(self, u: T) -> T {
        match self {
            Sq::Powi => Unary::<T>::Powi(2).eval(u).0,
            Sq::Product => Binary::Mul.eval(u, u).0,
            Sq::ScaledProduct => unreachable!("invariant: valued with its factor"),
        }
    }

    /// The term each of the square's edges passes to `u` when its adjoint is `a`: the partial
    /// its rule gives, times `a`.
    #[inline(always)]
    fn term<T: Scalar>(self, u: T, a: T) -> T {
        match self {
            Sq::Powi => Unary::<T>::Powi(2).eval(u).1 * a,
            Sq::Product => Binary::Mul.eval(u, u).2 * a,
            Sq::ScaledProduct => unreachable!("invariant: passed on with its factor"),
        }
    }

    /// The sweep's updates of the square's edges: `adj[x] += t`, twice for a product.
    #[inline(always)]
    fn pass<T: Scalar>(self, adj: &[Cell<T>], x: u32, t: T) {
        add(adj, x, t);
        if self == Sq::Product {
            add(adj, x, t);
        }
    }

    /// The adjoint the square's edges give a base `u` read by it alone, whose adjoint they
    /// start: the term, or for a product the term added to itself. (The sweep adds the first
    /// term to zero, which leaves it as it is but for `-0`, and a zero adjoint passes nothing
    /// on whatever its sign.)
    #[inline(always)]
    fn started<T: Scalar>(self, u: T, a: T) -> T {
        let t = self.term(u, a);
        match self {
            Sq::Powi => t,
            Sq::Product => t + t,
            Sq::ScaledProduct => unreachable!("invariant: passed on with its factor"),
        }
    }
}

/// The `+` or `-` (or `*`, with `times`) at `window[1]` that reads the node at `window[0]`,
/// read only there, as one of its operands: the operation, its other operand, and whether the
/// node is its first.
fn binary_reader<T>(
    window: &[Pending<T>],
    kept: &Kept,
    times: bool,
) -> Option<(Binary, u32, bool)> {
    let node = window[0].node;
    let (op, l, r) = match window.get(1)?.ins {
        Ins::Add { x, y } => (Binary::Add, x, y),
        Ins::Sub { x, y } => (Binary::Sub, x, y),
        Ins::Mul { x, y } if times => (Binary::Mul, x, y),
        _ => return None,
    };
    if !kept.read_once(node) {
        return None;
    }
    match (l == node, r == node) {
        (true, false) => Some((op, r, true)),
        (false, true) => Some((op, l, false)),
        _ => None,
    }
}

/// `adj[x] += d`: the one update of the reverse sweep.
#[inline(always)]
fn add<T: Scalar>(adj: &[Cell<T>], x: u32, d: T) {
    let g = &adj[x as usize];
    g.set(g.get() + d);
}

/// `adj[x] += tx`, then `adj[y] += ty`: a two-operand node's updates, in operand order.
#[inline(always)]
fn add_two<T: Scalar>(adj: &[Cell<T>], (x, y): (u32, u32), (tx, ty): (T, T)) {
    add(adj, x, tx);
    add(adj, y, ty);
}

/// The terms an operation `kind` of the table whose partials are ±1 (`+`, `-`, `x + c`, `c - x`,
/// negation) passes to its operands from its adjoint `a`, in operand order: the sweep's rule for
/// its shape ([`unit_terms`]).
#[inline(always)]
fn unit_of<T: Scalar>(kind: OpKind, a: T) -> (T, T) {
    unit_terms(kind.shape(), a)
}

/// The terms a neuron's `+` of its bias passes from its adjoint `a`: to the dot product, then
/// to the bias, whichever operand the bias is ([`unit_of`]).
#[inline(always)]
pub(super) fn bias_terms<T: Scalar>(a: T, bias_first: bool) -> (T, T) {
    let (first, second) = unit_of(OpKind::Add, a);
    if bias_first {
        (second, first)
    } else {
        (first, second)
    }
}

/// `x op c y`, or `c y op x` if `first` (`op` a `+`, `-` or `*`): an [`Ins::Scaled`]'s value,
/// the product by the constant and the binary operation each by its rule.
#[inline(always)]
fn scaled<T: Scalar>(x: T, y: T, c: T, op: Binary, first: bool) -> T {
    with_operand(op, mul_const(y, c), x, first)
}

/// `p op x` if `first`, else `x op p`: a fused operand `p` and the other operand `x` of the
/// binary operation that reads it, by that operation's rule.
#[inline(always)]
fn with_operand<T: Scalar>(op: Binary, p: T, x: T, first: bool) -> T {
    if first {
        op.eval(p, x).0
    } else {
        op.eval(x, p).0
    }
}

/// The terms a `+` or `-` with the adjoint `a` passes to its operands, as (the fused operand's,
/// the other's), the fused operand being its first if `first`.
#[inline(always)]
fn sum_terms<T: Scalar>(a: T, op: Binary, first: bool) -> (T, T) {
    let (t_first, t_second) = unit_of(op.kind(), a);
    if first {
        (t_first, t_second)
    } else {
        (t_second, t_first)
    }
}

/// The terms an [`Ins::Scaled`] of a `+` or `-` with the adjoint `a` passes to `x` and to `y`:
/// the `+` or `-` passes its terms to its operands in order, the product's starting its
/// adjoint, not zero; then the product passes on `c` times it.
#[inline(always)]
fn scaled_add_terms<T: Scalar>(a: T, c: T, op: Binary, first: bool) -> (T, T) {
    let (t_product, t_x) = sum_terms(a, op, first);
    (t_x, slope(Unary::MulConst(c)) * t_product)
}

/// The terms an [`Ins::Scaled`] of a `*` with the adjoint `a` passes to `x` and to `y`, whose
/// values are `vx` and `vy`: the `*` passes to each operand its partial, the other factor,
/// times `a`, the product's starting its adjoint; then the product passes on `c` times it, or
/// nothing where that adjoint is zero, as a node with a zero adjoint passes nothing on (the
/// term `0` stands for nothing: no adjoint is `-0`, so adding `0` changes none).
#[inline(always)]
fn scaled_product_terms<T: Scalar>(a: T, vx: T, vy: T, c: T, first: bool) -> (T, T) {
    let p = mul_const(vy, c);
    let (t_product, t_x) = if first {
        let (_, dp, dx) = Binary::Mul.eval(p, vx);
        (dp * a, dx * a)
    } else {
        let (_, dx, dp) = Binary::Mul.eval(vx, p);
        (dp * a, dx * a)
    };
    let zero = T::zero();
    let started = zero + t_product;
    let t_y = if started == zero {
        zero
    } else {
        slope(Unary::MulConst(c)) * started
    };
    (t_x, t_y)
}

/// The partial of `op`, a rule of the table linear in its input (`x · c`), whose partial is the
/// same at every input: taken at zero.
#[inline(always)]
fn slope<T: Scalar>(op: Unary<T>) -> T {
    op.eval(T::zero()).1
}

/// A step of a running total, while chains are looked for: its accumulator, its `n` terms (none
/// to two), whether it adds them in pairs, and what it does: a step of a sum ([`FoldStep::Add`],
/// two of them for `(x + y) + z`, or [`FoldStep::Pair`]) or another ([`Ins::Fold`]).
#[derive(Debug, Clone, Copy)]
struct SumStep {
    x: u32,
    terms: [u32; 2],
    n: u8,
    pairs: bool,
    kind: FoldStep,
}

impl SumStep {
    /// Whether it only adds: a step of an [`Ins::Chain`].
    fn adds(self) -> bool {
        matches!(self.kind, FoldStep::Add | FoldStep::Pair)
    }
}

/// The fewest steps of a running total that is not a sum ([`Ins::Fold`]): a loop's, not an
/// expression's such as `a + b - c`, which stays as it is.
const FOLD_MIN: usize = 8;

/// A step of an [`Ins::Fold`]: what it does to the running total, with the next operand (two
/// for [`FoldStep::Pair`], none for [`FoldStep::AddConst`]) and the constants named here, by
/// the rule of the instruction it replaces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum FoldStep {
    /// `acc + t` ([`Ins::Add`]).
    Add,
    /// `t + acc` ([`Ins::Add`] whose second operand is the total).
    AddFirst,
    /// `acc - t` ([`Ins::Sub`]).
    Sub,
    /// `acc + (y + z)` ([`Ins::AddAdd`] on the right).
    Pair,
    /// `acc + consts[c]` ([`Ins::AddConst`]).
    AddConst(u32),
    /// `acc op (y consts[c])`, or `(y consts[c]) op acc` if `first`, `op` a `+` or a `-`
    /// ([`Ins::Scaled`]).
    Scaled { c: u32, op: Binary, first: bool },
    /// The end of a fold's steps.
    End,
}

/// A node decoded into its instruction but not yet placed: the instruction's operands are
/// still recorded node indices until [`Program::place`] numbers them as value slots.
#[derive(Debug, Clone, Copy)]
struct Pending<T> {
    /// The node's recorded index.
    node: u32,
    ins: Ins,
    /// The initial value of the node's slot: its constant, if it keeps one.
    init: T,
}

/// How many decoded nodes [`Program::fuse_at`] may look at: the most a fused instruction
/// spans, a scaled `(x - y²)²`.
const WINDOW: usize = 4;

/// How far back [`Program::pull`] looks for a node to move next to its reader: decoding holds
/// this many nodes besides the reader and the [`WINDOW`] being fused, so that a node is moved
/// or not whatever the nodes before it.
const REACH: usize = 12;

/// A list longer than this makes its node a barrier that [`Program::pull`] moves nothing past,
/// which keeps the check of each move short.
const PULL_LIST: usize = 64;

/// Makes room in `v` for `extra` more items, growing it by an eighth when it must grow rather
/// than doubling it: filled item by item, a long program's buffers then hold at most an eighth
/// more than they need, while the copies made in growing stay linear in its length.
fn room<X>(v: &mut Vec<X>, extra: usize) {
    if v.capacity() - v.len() < extra {
        v.reserve_exact(extra.max(v.len() / 8).max(64));
    }
}

/// Converts an index to the `u32` an instruction holds; a program has fewer than 2³² of each.
fn word(i: usize) -> u32 {
    u32::try_from(i).expect("invariant: a tape holds fewer than 2^32 nodes and operands")
}

impl<T: Scalar> Program<T> {
    /// Encodes the nodes of `s` that `kept` keeps, read once from the recording: the leaves
    /// first, in recorded order, then an instruction for each other node, or for a few fused
    /// into one ([`Program::fuse_at`]), in recorded order. Each node placed gets its value slot
    /// in `index` (one entry per node up to the last output, `u32::MAX` until then); `kinds`
    /// receives the kind of every kept node, leaves first, and `values` the initial value of
    /// every slot. `rules` are the tape's custom rules. [`Program::finish`] completes the
    /// program.
    ///
    /// Decoding runs a few nodes ahead of placing, far enough to see every pattern that fuses
    /// and to move a square's base next to it ([`Program::pull`]), so that no instruction list
    /// beyond the program's own is ever held.
    ///
    /// # Errors
    ///
    /// [`Error::ReplayCustomOp`] for a custom node recorded without a rule.
    fn build(
        s: &Storage<T>,
        kept: &Kept,
        rules: &Rules<T>,
        index: &mut [u32],
        kinds: &mut Vec<OpKind>,
        values: &mut Vec<T>,
    ) -> Result<Self, Error> {
        // Leaves have no operands, so moving them to the front changes no node's operands nor
        // the order in which any adjoint receives its terms; the passes then skip them.
        let end = index.len();
        let is_leaf = |r: &Record| r.kind.shape() == crate::ops::Shape::Leaf;
        for (i, r) in records(s, end).enumerate() {
            if kept.keeps(i) && is_leaf(&r) {
                index[i] = word(values.len());
                kinds.push(r.kind);
                values.push(r.constant(s));
            }
        }
        let mut prog = Program {
            ins: Vec::new(),
            neurons: Vec::new(),
            consts: Vec::new(),
            operands: Vec::new(),
            unaries: Vec::new(),
            acts: Vec::new(),
            slots: 0,
            partials: Vec::new(),
            custom: Rules::default(),
            guard_nodes: Vec::new(),
            leaves: values.len(),
            repeats: Vec::new(),
            groups: Vec::new(),
            lanes: Vec::new(),
            strides: Vec::new(),
            position_kernels: Vec::new(),
            backward_kernels: Vec::new(),
            kernels: Vec::new(),
            folds: Vec::new(),
            deferred: Vec::new(),
            origins: Vec::new(),
            steps: Vec::new(),
            sources: Vec::new(),
            sums: Vec::new(),
        };
        let mut nodes = records(s, end)
            .enumerate()
            .filter(|(i, r)| kept.keeps(*i) && !is_leaf(r));
        let mut window: Vec<Pending<T>> = Vec::with_capacity(WINDOW + REACH);
        loop {
            while window.len() < WINDOW + REACH {
                let Some((i, r)) = nodes.next() else {
                    break;
                };
                kinds.push(r.kind);
                window.push(prog.decode(s, rules, i, r)?);
                let last = window.len() - 1;
                prog.pull(&mut window, last, kept);
            }
            if window.is_empty() {
                return Ok(prog);
            }
            let fused = prog.fuse_at(&window, kept, &s.kinds);
            let (ins, span) = fused.unwrap_or((window[0].ins, 1));
            prog.place(ins, window[span - 1], rules, index, values);
            window.drain(..span);
        }
    }

    /// Completes a program [`Program::build`] encoded: replaces the chains of accumulating sums
    /// ([`Program::chain_sums`]), marks the lists read as runs, finds the repeats and lays out
    /// the passes. `outputs`, the value slots of the outputs, and `values` are renumbered with
    /// the slots.
    fn finish(&mut self, outputs: &mut [u32], values: &mut Vec<T>) {
        // Before the chains' scratch is taken, and again once chains have replaced their steps.
        self.shrink(values);
        self.chain_sums(outputs, values);
        self.shrink(values);
        self.find_runs();
        self.keep_read_lists();
        self.find_repeats(values);
        self.forward_sums(outputs);
        self.plan();
        self.slots = values.len();
        if !self.acts.is_empty() {
            values.resize(2 * self.slots, T::zero());
        }
    }

    /// How many value slots the program has, and adjoints: the values hold as many again when
    /// a neuron keeps its activation's partial ([`Act::Table`]).
    pub(super) fn slots(&self) -> usize {
        self.slots
    }

    /// Gives back what the buffers grown while building hold beyond their lengths.
    fn shrink(&mut self, values: &mut Vec<T>) {
        self.ins.shrink_to_fit();
        self.consts.shrink_to_fit();
        self.operands.shrink_to_fit();
        self.unaries.shrink_to_fit();
        self.partials.shrink_to_fit();
        values.shrink_to_fit();
    }

    /// Decodes node `node`, recorded as `r`, into its instruction, whose operands are still
    /// node indices; its constants, operand list, slots for stored partials and the operation
    /// of an [`Ins::Unary`] go to the side arrays.
    fn decode(
        &mut self,
        s: &Storage<T>,
        rules: &Rules<T>,
        node: usize,
        r: Record,
    ) -> Result<Pending<T>, Error> {
        let kind = r.kind;
        let xs = r.parents(s);
        let n = xs.len();
        let x = xs.first().copied().unwrap_or(0);
        let y = xs.get(1).copied().unwrap_or(0);
        let ins = match kind {
            OpKind::Var | OpKind::Const => unreachable!("the leaves open the program"),
            OpKind::AddConst => Ins::AddConst {
                x,
                c: self.constant(r.constant(s)),
            },
            OpKind::RSubConst => Ins::RSubConst {
                x,
                c: self.constant(r.constant(s)),
            },
            OpKind::Neg => Ins::Neg { x },
            // The factor of `x * c` is the node's recorded partial.
            OpKind::MulConst => Ins::MulConst {
                x,
                c: self.constant(r.partial(s, 0)),
            },
            OpKind::Powi if r.aux == 2 => Ins::Square { x, sq: Sq::Powi },
            // `u * u` reads `u` once ([`Kept`](super::Kept)), as a square does.
            OpKind::Mul if x == y => Ins::Square { x, sq: Sq::Product },
            OpKind::Exp => Ins::Exp { x },
            OpKind::Tanh => Ins::Tanh { x },
            OpKind::Sigmoid => Ins::Sigmoid { x },
            OpKind::Add => Ins::Add { x, y },
            OpKind::Sub => Ins::Sub { x, y },
            OpKind::Mul => Ins::Mul { x, y },
            // Every other operation of two Vars stores its two partials.
            _ if kind.shape() == crate::ops::Shape::Binary => Ins::Binary {
                op: Binary::from_kind(kind),
                x,
                y,
                q: self.partial_slots(2),
            },
            OpKind::Sum => Ins::Sum {
                at: self.operand_list(xs),
                n: word(n),
            },
            OpKind::Dot => Ins::Dot {
                at: self.operand_list(xs),
                n: word(n / 2),
                runs: false,
            },
            OpKind::DotConst => {
                let at = self.operand_list(xs);
                let c = word(self.consts.len());
                self.consts.extend((0..n).map(|k| r.partial(s, k)));
                Ins::DotConst {
                    at,
                    n: word(n),
                    c,
                    runs: false,
                }
            }
            OpKind::Custom => {
                if rules.get(word(node)).is_none() {
                    return Err(Error::ReplayCustomOp {
                        node: NodeId(word(node)),
                    });
                }
                Ins::Custom {
                    at: self.operand_list(xs),
                    n: word(n),
                    q: self.partial_slots(n),
                }
            }
            OpKind::Compare => {
                let (cmp, recorded) = Comparison::decode(r.aux);
                Ins::Compare {
                    cmp,
                    recorded,
                    x,
                    y,
                    g: self.guard(node),
                }
            }
            OpKind::CompareConst => {
                let (cmp, recorded) = Comparison::decode(r.aux);
                Ins::CompareConst {
                    cmp,
                    recorded,
                    x,
                    c: self.constant(r.constant(s)),
                    g: self.guard(node),
                }
            }
            _ => {
                let aux = if kind == OpKind::Powi { r.aux } else { 0 };
                room(&mut self.unaries, 1);
                self.unaries
                    .push(Unary::from_record(kind, r.constant(s), T::zero(), aux));
                Ins::Unary {
                    op: word(self.unaries.len() - 1),
                    x,
                    q: self.partial_slots(1),
                }
            }
        };
        Ok(Pending {
            node: word(node),
            ins,
            init: r.constant(s),
        })
    }

    /// Appends `ins`, decoded with node indices for operands, as the instruction that computes
    /// the value of `last`, the last of the nodes it stands for: its operands, placed before
    /// it, become their value slots, and `last` gets the next slot with its initial value.
    fn place(
        &mut self,
        mut ins: Ins,
        last: Pending<T>,
        rules: &Rules<T>,
        index: &mut [u32],
        values: &mut Vec<T>,
    ) {
        let slot = |x: &mut u32| {
            *x = index[*x as usize];
            debug_assert!(*x != u32::MAX, "invariant: operands are placed first");
        };
        for x in inline_slots(&mut ins).into_iter().flatten() {
            slot(x);
        }
        let list = self.list(&ins);
        self.operands[list].iter_mut().for_each(slot);
        if let Ins::Neuron { m, .. } = ins {
            slot(&mut self.neurons[m as usize].bias);
        }
        let at = word(self.leaves + self.ins.len());
        if let Ins::Custom { n, .. } = ins {
            let (rule, consts) = rules
                .get(last.node)
                .expect("invariant: decode refuses a custom node without a rule");
            self.custom.push(at, rule, consts);
            self.custom.reserve_inputs(n as usize);
        }
        index[last.node as usize] = at;
        room(values, 1);
        values.push(last.init);
        room(&mut self.ins, 1);
        self.ins.push(ins);
    }

    /// Moves the node that `window[at]` reads once and could fuse with ([`absorbs`]) to just
    /// before it, if it is at most [`REACH`] nodes back and the move keeps
    /// every adjoint's terms in the sweep's order; then does the same for the moved node.
    /// Decoding calls it on each node as it comes, so that nodes computed in between — `u = 1 -
    /// x` between `t = y - x * x` and `t * t` — do not keep a square from fusing with its base.
    ///
    /// Moving a node `u` later, past a node `w` that does not read it, moves its updates in the
    /// sweep before `w`'s: the bits stay the same when `u` and `w` update no slot in common.
    /// (`u`'s adjoint is complete by then: only its reader, after both, adds to it.)
    fn pull(&self, window: &mut [Pending<T>], at: usize, kept: &Kept) {
        let reader = window[at];
        let first = (window.len() - 1).saturating_sub(REACH);
        for p in (first..at).rev() {
            let u = window[p];
            if !(kept.read_once(u.node) && absorbs(u.ins, u.node, reader.ins)) {
                continue;
            }
            // A product that fuses with the product by a constant just before it stays there,
            // and the reader's other operand may still come.
            if let (Ins::Mul { x, y }, Some(c)) = (u.ins, p.checked_sub(1).map(|q| window[q])) {
                let factor = matches!(c.ins, Ins::MulConst { .. }) && kept.read_once(c.node);
                if factor && (x == c.node) != (y == c.node) {
                    continue;
                }
            }
            // A node just before its reader is where it should be.
            if p + 1 == at {
                return;
            }
            let updates = slots_of(u.ins);
            let apart = |w: &Pending<T>| {
                let list = &self.operands[self.list(&w.ins)];
                let inline = slots_of(w.ins).into_iter().flatten();
                list.len() <= PULL_LIST
                    && !inline
                        .chain(list.iter().copied())
                        .any(|x| updates.contains(&Some(x)))
            };
            if window[p + 1..at].iter().all(apart) {
                window[p..at].rotate_left(1);
                self.pull(window, at - 1, kept);
            }
            return;
        }
    }

    /// The instruction the nodes from `window[0]` on fuse into, if any, and how many nodes it
    /// spans: a neuron, a squared difference (scaled or not), a sum of three, a sum,
    /// difference or product with a scaled operand, or a sum or difference with a product —
    /// consecutive nodes of the program, each read only by the next. `kinds` are the recorded
    /// nodes' kinds.
    fn fuse_at(
        &mut self,
        window: &[Pending<T>],
        kept: &Kept,
        kinds: &[OpKind],
    ) -> Option<(Ins, usize)> {
        self.neuron_at(window, kept)
            .or_else(|| self.squared_at(window, kept))
            .or_else(|| self.add_add_at(window, kept))
            .or_else(|| self.scaled_at(window, kept, kinds))
            .or_else(|| self.mul_add_at(window, kept, kinds))
    }

    /// Lays out the passes' [`Step`]s: each repeat's groups, in order, and the stretches
    /// before, between and after the repeats that hold instructions. None without repeats.
    fn plan(&mut self) {
        if self.repeats.is_empty() {
            return;
        }
        let mut k = 0;
        for (r, repeat) in self.repeats.iter().enumerate() {
            if k < repeat.start() {
                let (start, end) = (word(k), word(repeat.start()));
                self.steps.push(Step::Stretch { start, end });
            }
            if !self.copies(r).is_empty() {
                self.steps.push(Step::Copies(word(r)));
            }
            self.steps
                .extend(repeat.groups().map(|g| Step::Group(word(g))));
            k = repeat.end();
        }
        if k < self.ins.len() {
            let (start, end) = (word(k), word(self.ins.len()));
            self.steps.push(Step::Stretch { start, end });
        }
    }

    /// Marks the dot products whose operand lists are runs of consecutive value slots — a
    /// neuron's weights, a layer's activations — so that the passes read them as slices, and
    /// turns such neurons into [`Ins::RunNeuron`]s (after renumbering, whose slots they keep).
    fn find_runs(&mut self) {
        let is_run =
            |xs: &[u32]| !xs.is_empty() && xs.windows(2).all(|w| w[0].checked_add(1) == Some(w[1]));
        for k in 0..self.ins.len() {
            let list = |at: u32, n: u32| &self.operands[at as usize..(at + n) as usize];
            let dot_runs = |at: u32, n: u32, weights: Option<u32>| match weights {
                None => is_run(list(at, n)) && is_run(list(at + n, n)),
                Some(_) => is_run(list(at, n)),
            };
            match self.ins[k] {
                Ins::Dot { at, n, .. } => {
                    let runs = dot_runs(at, n, None);
                    self.ins[k] = Ins::Dot { at, n, runs };
                }
                Ins::DotConst { at, n, c, .. } => {
                    let runs = dot_runs(at, n, Some(c));
                    self.ins[k] = Ins::DotConst { at, n, c, runs };
                }
                Ins::Neuron { at, n, m } => {
                    let info = self.neurons[m as usize];
                    let runs = dot_runs(at, n, info.weights);
                    self.neurons[m as usize].runs = runs;
                    let at = at as usize;
                    if let (true, Ok(n)) = (runs, u16::try_from(n)) {
                        let (Partners::Values(ys) | Partners::Consts(ys)) =
                            self.run_partners(at, usize::from(n), info.weights);
                        self.ins[k] = Ins::RunNeuron {
                            xs: self.operands[at],
                            ys,
                            bias: info.bias,
                            n,
                            shape: Shape::new(
                                info.act,
                                info.table,
                                info.weights.is_some(),
                                info.bias_first,
                            ),
                        };
                    }
                }
                _ => {}
            }
        }
    }

    /// How many times each value slot is read, an output's counted twice more so that its value
    /// stays in its slot; once repeats have copies ([`repeats::Deferred`]), a copy's reading of
    /// the slot it copies counts, and the copies' slots are counted too.
    pub(super) fn uses(&self, outputs: &[u32]) -> Vec<u32> {
        let mut uses = vec![0u32; self.leaves + self.ins.len() + self.origins.len()];
        for &ins in &self.ins {
            self.each_operand(ins, |x| uses[x as usize] += 1);
        }
        for &x in &self.origins {
            uses[x as usize] += 1;
        }
        for &o in outputs {
            uses[o as usize] += 2;
        }
        uses
    }

    /// Gives every instruction's slot the number `moved` holds for it, and drops the slots it
    /// maps to `u32::MAX`, which only a fused instruction read and no longer names; the leaves
    /// keep theirs.
    fn renumber(&mut self, moved: &[u32], outputs: &mut [u32], values: &mut Vec<T>) {
        let leaves = self.leaves;
        let new = |x: u32| {
            let Some(k) = (x as usize).checked_sub(leaves) else {
                return x;
            };
            let slot = moved[k];
            debug_assert!(slot != u32::MAX, "invariant: slot {x} was fused away");
            slot
        };
        for ins in &mut self.ins {
            for x in inline_slots(ins).into_iter().flatten() {
                *x = new(*x);
            }
        }
        for x in &mut self.operands {
            *x = new(*x);
        }
        for neuron in &mut self.neurons {
            neuron.bias = new(neuron.bias);
        }
        self.custom.renumber(new);
        for o in outputs {
            *o = new(*o);
        }
        let mut k = 0;
        values.retain(|_| {
            k += 1;
            k <= leaves || moved[k - 1 - leaves] != u32::MAX
        });
    }

    /// Keeps only the operand lists an instruction still reads, in the order of the
    /// instructions: an [`Ins::RunNeuron`] holds its runs itself, so the lists of the neurons
    /// that became one are read no more.
    fn keep_read_lists(&mut self) {
        if !self.ins.iter().any(|i| matches!(i, Ins::RunNeuron { .. })) {
            return;
        }
        let len = self.ins.iter().map(|i| self.list(i).len()).sum();
        let mut operands = Vec::with_capacity(len);
        for k in 0..self.ins.len() {
            let list = self.list(&self.ins[k]);
            let (Ins::Sum { at, .. }
            | Ins::Chain { at, .. }
            | Ins::Fold { at, .. }
            | Ins::Dot { at, .. }
            | Ins::DotConst { at, .. }
            | Ins::Custom { at, .. }
            | Ins::Neuron { at, .. }) = &mut self.ins[k]
            else {
                continue;
            };
            *at = word(operands.len());
            operands.extend_from_slice(&self.operands[list]);
        }
        self.operands = operands;
    }

    /// Replaces each chain of sums that accumulate — `f = f + t`, or `f = f + (a + b)`, each `f`
    /// read only by the next step and each term only by its step — by one [`Ins::Chain`] where
    /// the chain ends: one instruction in place of one per step. A running total of at least
    /// [`FOLD_MIN`] steps that do more than add — `f = f + t - c u + 2` — becomes one
    /// [`Ins::Fold`] there. A chain's start joins it only when the chain is its only reader:
    /// its update then moves from the first step's place in the sweep to the last's, which
    /// leaves its adjoint unchanged only when no other update comes between.
    fn chain_sums(&mut self, outputs: &mut [u32], values: &mut Vec<T>) {
        let uses = self.uses(outputs);
        let leaves = self.leaves;
        // The last instruction that reads each slot.
        let mut last = vec![u32::MAX; uses.len()];
        for (k, &ins) in self.ins.iter().enumerate() {
            self.each_operand(ins, |x| last[x as usize] = word(k));
        }
        // Whether a slot may be a total's accumulator: read once, made by a step's kind.
        let total = |x: u32| {
            let made = (x as usize).checked_sub(leaves).map(|k| self.ins[k]);
            uses[x as usize] == 1
                && matches!(
                    made,
                    Some(
                        Ins::Add { .. }
                            | Ins::AddAdd { .. }
                            | Ins::Sub { .. }
                            | Ins::AddConst { .. }
                            | Ins::Scaled {
                                op: Binary::Add | Binary::Sub,
                                ..
                            }
                    )
                )
        };
        // The step instruction `k` is, if it can be one: an `x + t` (or `t + x`), an
        // `x + (y + z)` or `(x + y) + z`, an `x - t`, an `x + c` or an `x ± c y`, whose
        // accumulator `x` receives the total's adjoint unchanged. A sum's terms must be read
        // only there; the terms of a step that does more, last there, so that their updates,
        // moved to where the total ends, still come before those of their earlier readers.
        // Found again where needed rather than kept, as a long program has many.
        let step = |k: usize| {
            let (x, terms, pairs, kind) = match self.ins[k] {
                Ins::Add { x, y } if !total(x) && total(y) => {
                    (y, ([x, x], 1), false, FoldStep::AddFirst)
                }
                Ins::Add { x, y } => (x, ([y, y], 1), false, FoldStep::Add),
                Ins::AddAdd { x, y, z, right } => {
                    let kind = if right { FoldStep::Pair } else { FoldStep::Add };
                    (x, ([y, z], 2), right, kind)
                }
                Ins::Sub { x, y } => (x, ([y, y], 1), false, FoldStep::Sub),
                Ins::AddConst { x, c } => (x, ([0, 0], 0), false, FoldStep::AddConst(c)),
                Ins::Scaled { x, y, c, op, first }
                    if op == Binary::Add || op == Binary::Sub && !first =>
                {
                    (x, ([y, y], 1), false, FoldStep::Scaled { c, op, first })
                }
                _ => return None,
            };
            let sum = matches!(kind, FoldStep::Add | FoldStep::Pair);
            let once = |t: &u32| uses[*t as usize] == 1 || !sum && last[*t as usize] == word(k);
            terms.0[..terms.1].iter().all(once).then_some(SumStep {
                x,
                terms: terms.0,
                n: terms.1 as u8,
                pairs,
                kind,
            })
        };
        let n = self.ins.len();
        // The step that reads each step's value, as its accumulator, when nothing else does.
        const NONE: u32 = u32::MAX;
        let mut next = vec![NONE; n];
        // Per instruction: whether it is such a next step, and whether a chain replaces it.
        const IS_NEXT: u8 = 1;
        const GONE: u8 = 2;
        let mut flags = vec![0u8; n];
        for (j, flag) in flags.iter_mut().enumerate() {
            let Some(this) = step(j) else {
                continue;
            };
            let Some(k) = (this.x as usize).checked_sub(leaves) else {
                continue;
            };
            if uses[this.x as usize] == 1 && step(k).is_some() {
                next[k] = word(j);
                *flag |= IS_NEXT;
            }
        }
        // The chain ending at each instruction (few), sorted below by that instruction.
        let mut chain_at: Vec<(usize, Ins)> = Vec::new();
        let mut members = Vec::new();
        for head in 0..n {
            if flags[head] & IS_NEXT != 0 || next[head] == NONE {
                continue;
            }
            members.clear();
            members.push(head);
            let mut m = head;
            while next[m] != NONE {
                m = next[m] as usize;
                members.push(m);
            }
            let is_step = "invariant: chain members are steps";
            let adds = |m: usize| step(m).expect(is_step).adds();
            let pairs = |m: usize| step(m).expect(is_step).pairs;
            // A total that only adds, in one form, is a chain — or that only adds once it has
            // started and until it finishes, as `f = n s`, then `f += t` in a loop: its start
            // and finish stay as they are. One that does more is a fold if it is long; else
            // its runs of additions of one form are chains.
            let mut runs: Vec<(usize, usize, bool)> = Vec::new();
            let lead = members.iter().take_while(|&&m| !adds(m)).count();
            let end = members.len() - members.iter().rev().take_while(|&&m| !adds(m)).count();
            let middle = &members[lead..end.max(lead)];
            let all_add = members.iter().all(|&m| adds(m));
            if middle.len() >= 2
                && middle
                    .iter()
                    .all(|&m| adds(m) && pairs(m) == pairs(middle[0]))
            {
                runs.push((lead, end, true));
            } else if !all_add && members.len() >= FOLD_MIN {
                runs.push((0, members.len(), false));
            } else {
                let mut from = 0;
                for to in 1..=members.len() {
                    let ends = to == members.len()
                        || !(adds(members[to - 1]) && adds(members[to]))
                        || pairs(members[to - 1]) != pairs(members[to]);
                    if ends {
                        if adds(members[from]) {
                            runs.push((from, to, true));
                        }
                        from = to;
                    }
                }
            }
            for (from, to, sum) in runs {
                let members = &members[from..to];
                let head = step(members[0]).expect(is_step);
                // A start read elsewhere stays out: the chain starts from the head's value.
                let skip = usize::from(uses[head.x as usize] != 1);
                let members = &members[skip..];
                let [first, .., last] = members[..] else {
                    continue;
                };
                let start = step(first).expect(is_step).x;
                let at = self.operands.len();
                let steps = self.folds.len();
                room(&mut self.operands, 1);
                self.operands.push(start);
                for &m in members {
                    let s = step(m).expect(is_step);
                    room(&mut self.operands, usize::from(s.n));
                    self.operands
                        .extend_from_slice(&s.terms[..usize::from(s.n)]);
                    if !sum {
                        // `(x + y) + z` is two steps, each adding one term.
                        let count = if s.kind == FoldStep::Add { s.n } else { 1 };
                        let count = usize::from(count.max(1));
                        self.folds.extend(std::iter::repeat_n(s.kind, count));
                    }
                    if m != last {
                        flags[m] |= GONE;
                    }
                }
                let (at, n) = (word(at), word(self.operands.len() - at));
                let total = if sum {
                    let pairs = head.pairs;
                    Ins::Chain { at, n, pairs }
                } else {
                    self.folds.push(FoldStep::End);
                    let steps = word(steps);
                    Ins::Fold { at, n, steps }
                };
                chain_at.push((last, total));
            }
        }
        if chain_at.is_empty() {
            return;
        }
        // Found by their heads, placed by their last steps: a running sum across blocks starts
        // before the sums inside a block and ends after them.
        chain_at.sort_unstable_by_key(|&(last, _)| last);
        drop((uses, next, last));
        // In place: each instruction kept moves down over those gone before it.
        let mut moved: Vec<u32> = Vec::with_capacity(n);
        let mut chains = chain_at.into_iter().peekable();
        let mut placed = 0;
        for (k, flag) in flags.into_iter().enumerate() {
            if flag & GONE != 0 {
                moved.push(u32::MAX);
                continue;
            }
            if let Some((_, chain)) = chains.next_if(|&(last, _)| last == k) {
                self.ins[k] = chain;
            }
            self.ins[placed] = self.ins[k];
            moved.push(word(leaves + placed));
            placed += 1;
        }
        self.ins.truncate(placed);
        self.renumber(&moved, outputs, values);
    }

    /// The neuron that starts at `window[0]`, and how many nodes it spans.
    fn neuron_at(&mut self, window: &[Pending<T>], kept: &Kept) -> Option<(Ins, usize)> {
        let (at, n, weights) = match window[0].ins {
            Ins::Dot { at, n, .. } => (at, n, None),
            Ins::DotConst { at, n, c, .. } => (at, n, Some(c)),
            _ => return None,
        };
        let sum = window[0].node;
        if !kept.read_once(sum) {
            return None;
        }
        let (bias, bias_first) = match window.get(1).map(|p| p.ins) {
            Some(Ins::Add { x, y }) if x == sum && y != sum => (y, false),
            Some(Ins::Add { x, y }) if y == sum && x != sum => (x, true),
            _ => return None,
        };
        let z = window[1].node;
        let (act, table) = match window.get(2).map(|p| p.ins) {
            _ if !kept.read_once(z) => (Act::Identity, 0),
            Some(Ins::Tanh { x }) if x == z => (Act::Tanh, 0),
            Some(Ins::Sigmoid { x }) if x == z => (Act::Sigmoid, 0),
            Some(Ins::Exp { x }) if x == z => self.table_act(Unary::Exp),
            Some(Ins::Unary { op, x, .. }) if x == z => match self.unaries[op as usize] {
                Unary::Relu => (Act::Relu, 0),
                unary => self.table_act(unary),
            },
            _ => (Act::Identity, 0),
        };
        self.neurons.push(Neuron {
            weights,
            runs: false,
            bias,
            bias_first,
            act,
            table,
        });
        let m = word(self.neurons.len() - 1);
        let span = if act == Act::Identity { 2 } else { 3 };
        Some((Ins::Neuron { at, n, m }, span))
    }

    /// The activation [`Act::Table`] naming `unary`, added to [`Program::acts`] if it is new;
    /// the identity (the function then stays an instruction of its own) when the list is full.
    fn table_act(&mut self, unary: Unary<T>) -> (Act, u8) {
        let at = match self.acts.iter().position(|&u| u == unary) {
            Some(at) => at,
            None if self.acts.len() < TABLE_ACTS => {
                self.acts.push(unary);
                self.acts.len() - 1
            }
            None => return (Act::Identity, 0),
        };
        let table = u8::try_from(at).expect("invariant: at most TABLE_ACTS functions");
        (Act::Table, table)
    }

    fn constant(&mut self, c: T) -> u32 {
        room(&mut self.consts, 1);
        self.consts.push(c);
        word(self.consts.len() - 1)
    }

    fn partial_slots(&mut self, n: usize) -> u32 {
        room(&mut self.partials, n);
        self.partials.resize(self.partials.len() + n, T::zero());
        word(self.partials.len() - n)
    }

    fn operand_list(&mut self, xs: &[u32]) -> u32 {
        room(&mut self.operands, xs.len());
        self.operands.extend_from_slice(xs);
        word(self.operands.len() - xs.len())
    }

    /// Notes comparison node `node` as the program's next, and returns its number.
    fn guard(&mut self, node: usize) -> u32 {
        self.guard_nodes.push(word(node));
        word(self.guard_nodes.len() - 1)
    }

    /// How many leaves open the program.
    pub(super) fn leaves(&self) -> usize {
        self.leaves
    }

    /// The squared difference that starts at `window[0]`, spanning two nodes, or three with a
    /// constant factor after it; one more when it opens with the square of `(x - y²)²`.
    /// It looks at most four nodes ahead, whatever follows: a run of squares is fused in one
    /// pass over it.
    fn squared_at(&self, window: &[Pending<T>], kept: &Kept) -> Option<(Ins, usize)> {
        let u = window[0].node;
        // A square read only as the second operand of the squared difference after it, whose
        // base cannot itself be a square.
        if let Ins::Square { x: y, sq: inner } = window[0].ins {
            return match self.base_squared_at(&window[1..], kept)? {
                (Ins::SubSquared { x, y: v, s, sq }, span) if v == u && kept.read_once(u) => {
                    let fused = Ins::SubSquareSquared { x, y, s, sq, inner };
                    Some((fused, span + 1))
                }
                _ => None,
            };
        }
        self.base_squared_at(window, kept)
    }

    /// The square of `x + c`, `c - x` or `x - y` that starts at `window[0]`, with its constant
    /// factor if one follows, or written `(c u) u`: [`Program::squared_at`] without a leading
    /// square.
    fn base_squared_at(&self, window: &[Pending<T>], kept: &Kept) -> Option<(Ins, usize)> {
        let base = window.first()?;
        let u = base.node;
        let (s, sq, span) = match window.get(1).map(|p| p.ins) {
            Some(Ins::Square { x, sq }) if x == u && kept.read_once(u) => {
                // A constant factor after the square, `c·u²`, joins it when nothing else reads
                // the square.
                let square = window[1].node;
                match window.get(2).map(|p| p.ins) {
                    Some(Ins::MulConst { x, c }) if x == square && kept.read_once(square) => {
                        (c, sq, 3)
                    }
                    _ => (UNSCALED, sq, 2),
                }
            }
            // `(c u) u`: `c u` read only by the product after it, and `u` only by the two.
            Some(Ins::MulConst { x, c }) if x == u && kept.read_twice(u) => {
                let scaled = window[1].node;
                match window.get(2).map(|p| p.ins) {
                    Some(Ins::Mul { x, y })
                        if kept.read_once(scaled)
                            && ((x, y) == (scaled, u) || (x, y) == (u, scaled)) =>
                    {
                        (c, Sq::ScaledProduct, 3)
                    }
                    _ => return None,
                }
            }
            _ => return None,
        };
        let fused = match base.ins {
            Ins::AddConst { x, c } => Ins::AddConstSquared { x, c, s, sq },
            Ins::RSubConst { x, c } => Ins::RSubConstSquared { x, c, s, sq },
            Ins::Sub { x, y } => Ins::SubSquared { x, y, s, sq },
            _ => return None,
        };
        Some((fused, span))
    }

    /// The sum, difference or product with a scaled operand that starts at `window[0]`,
    /// spanning two nodes: `c y` read only by the `+`, `-` or `*` after it — unless the other
    /// operand is a sum read only there, a running sum `f += c * t`, whose steps make one
    /// [`Ins::Chain`] instead ([`Program::chain_sums`]): each term then receives its adjoint
    /// directly rather than through every later step's.
    fn scaled_at(
        &self,
        window: &[Pending<T>],
        kept: &Kept,
        kinds: &[OpKind],
    ) -> Option<(Ins, usize)> {
        let Ins::MulConst { x: y, c } = window[0].ins else {
            return None;
        };
        let (op, x, first) = binary_reader(window, kept, true)?;
        if op == Binary::Add && kinds[x as usize] == OpKind::Add && kept.read_once(x) {
            return None;
        }
        let fused = Ins::Scaled { x, y, c, op, first };
        Some((fused, 2))
    }

    /// The sum or difference with a product for an operand that starts at `window[0]`,
    /// spanning two nodes: `y z` (or `y y`, a square written as a product) read only by the
    /// `+` or `-` after it — unless the other operand, read only there, is a sum or difference
    /// or a constant added, as a running total's previous step is: its steps then make one
    /// [`Ins::Chain`] or [`Ins::Fold`] ([`Program::chain_sums`]), with the product a term.
    fn mul_add_at(
        &self,
        window: &[Pending<T>],
        kept: &Kept,
        kinds: &[OpKind],
    ) -> Option<(Ins, usize)> {
        let (y, z) = match window[0].ins {
            Ins::Mul { x, y } => (x, y),
            Ins::Square { x, sq: Sq::Product } => (x, x),
            _ => return None,
        };
        let (op, x, first) = binary_reader(window, kept, false)?;
        let step = matches!(
            kinds[x as usize],
            OpKind::Add | OpKind::Sub | OpKind::AddConst
        );
        if step && kept.read_once(x) {
            return None;
        }
        Some((Ins::MulAdd { x, y, z, op, first }, 2))
    }

    /// The sum of three that starts at `window[0]`, spanning two nodes.
    fn add_add_at(&self, window: &[Pending<T>], kept: &Kept) -> Option<(Ins, usize)> {
        let inner = window[0].node;
        let (Ins::Add { x: a, y: b }, Some(Ins::Add { x, y })) =
            (window[0].ins, window.get(1).map(|p| p.ins))
        else {
            return None;
        };
        if !kept.read_once(inner) {
            return None;
        }
        let fused = if y == inner {
            Ins::AddAdd {
                x,
                y: a,
                z: b,
                right: true,
            }
        } else if x == inner {
            Ins::AddAdd {
                x: a,
                y: b,
                z: y,
                right: false,
            }
        } else {
            return None;
        };
        Some((fused, 2))
    }

    /// The operand list `ins` reads, as a range of [`Program::operands`]: empty for an
    /// instruction without one.
    fn list(&self, ins: &Ins) -> Range<usize> {
        let (at, len) = match *ins {
            Ins::Sum { at, n }
            | Ins::Chain { at, n, .. }
            | Ins::Fold { at, n, .. }
            | Ins::DotConst { at, n, .. }
            | Ins::Custom { at, n, .. } => (at, n),
            Ins::Dot { at, n, .. } => (at, 2 * n),
            Ins::Neuron { at, n, m } => match self.neurons[m as usize].weights {
                Some(_) => (at, n),
                None => (at, 2 * n),
            },
            _ => return 0..0,
        };
        at as usize..(at + len) as usize
    }

    /// Calls `f` on each value slot `ins` reads, in recorded order.
    fn each_operand(&self, mut ins: Ins, mut f: impl FnMut(u32)) {
        let list = &self.operands[self.list(&ins)];
        for &mut x in inline_slots(&mut ins).into_iter().flatten() {
            f(x);
        }
        match ins {
            Ins::Neuron { m, .. } => {
                let info = self.neurons[m as usize];
                if info.bias_first {
                    f(info.bias);
                }
                list.iter().copied().for_each(&mut f);
                if !info.bias_first {
                    f(info.bias);
                }
            }
            Ins::RunNeuron {
                xs,
                ys,
                bias,
                n,
                shape,
            } => {
                let run = |x: u32| x..x + u32::from(n);
                if shape.bias_first() {
                    f(bias);
                }
                run(xs).for_each(&mut f);
                if let Partners::Values(ys) = shape.partners(ys) {
                    run(ys).for_each(&mut f);
                }
                if !shape.bias_first() {
                    f(bias);
                }
            }
            _ => list.iter().copied().for_each(f),
        }
    }

    /// The value slots instruction `k` reads, in recorded order.
    #[cfg(test)]
    pub(super) fn operands_of(&self, k: usize) -> Vec<u32> {
        let mut xs = Vec::new();
        self.each_operand(self.ins[k], |x| xs.push(x));
        xs
    }

    /// Whether instruction `k`, a dot product or a neuron, reads its lists as runs (for tests).
    #[cfg(test)]
    pub(super) fn reads_runs(&self, k: usize) -> Option<bool> {
        match self.ins[k] {
            Ins::Dot { runs, .. } | Ins::DotConst { runs, .. } => Some(runs),
            Ins::Neuron { m, .. } => Some(self.neurons[m as usize].runs),
            Ins::RunNeuron { .. } => Some(true),
            _ => None,
        }
    }

    /// The instructions (for tests).
    #[cfg(test)]
    pub(super) fn instructions(&self) -> &[Ins] {
        &self.ins
    }

    /// `Σ xᵢ yᵢ` over `operands[at..at + n]` and the next `n`, or `Σ xᵢ wᵢ` with the constant
    /// weights from `consts[c]`: the value of a dot node. With `runs`, each list is read as a
    /// slice of consecutive slots, the same products summed in the same order.
    #[inline(always)]
    fn dot(&self, at: u32, n: u32, weights: Option<u32>, runs: bool, values: &[Cell<T>]) -> T {
        let (at, n) = (at as usize, n as usize);
        let v = |x: u32| values[x as usize].get();
        if runs {
            let partners = self.run_partners(at, n, weights);
            return self.run_dot(self.operands[at], partners, n, values);
        }
        match weights {
            None => {
                let (xs, ys) = self.operands[at..at + 2 * n].split_at(n);
                weighted_sum(xs.iter().zip(ys).map(|(&x, &y)| (v(x), v(y))))
            }
            Some(c) => {
                let ws = &self.consts[c as usize..c as usize + n];
                let xs = &self.operands[at..at + n];
                weighted_sum(xs.iter().zip(ws).map(|(&x, &w)| (v(x), w)))
            }
        }
    }

    /// The partners of a dot product on `operands[at..]` whose lists are runs: the run of values
    /// that starts after its `n` factors, or its constant weights from `consts[c]`.
    #[inline(always)]
    fn run_partners(&self, at: usize, n: usize, weights: Option<u32>) -> Partners {
        match weights {
            None => Partners::Values(self.operands[at + n]),
            Some(c) => Partners::Consts(c),
        }
    }

    /// `Σ xᵢ yᵢ` over the `n` slots from `xs` and the partners `ys`, each list a run.
    #[inline(always)]
    fn run_dot(&self, xs: u32, ys: Partners, n: usize, values: &[Cell<T>]) -> T {
        let xs = &values[xs as usize..xs as usize + n];
        match ys {
            Partners::Values(ys) => {
                let ys = &values[ys as usize..ys as usize + n];
                weighted_sum(xs.iter().zip(ys).map(|(x, y)| (x.get(), y.get())))
            }
            Partners::Consts(c) => {
                let ws = &self.consts[c as usize..c as usize + n];
                weighted_sum(xs.iter().zip(ws).map(|(x, &w)| (x.get(), w)))
            }
        }
    }

    /// The sweep's updates for a dot node with the (non-zero) adjoint `a`: each factor's partial
    /// is its partner (or its constant weight); all the xs first, then all the ys.
    #[inline(always)]
    fn dot_backward(
        &self,
        dot: (u32, u32, Option<u32>, bool),
        a: T,
        adj: &[Cell<T>],
        values: &[T],
    ) {
        let (at, n, weights, runs) = dot;
        let (at, n) = (at as usize, n as usize);
        let v = |x: u32| values[x as usize];
        if runs {
            let partners = self.run_partners(at, n, weights);
            return self.run_dot_backward(self.operands[at], partners, n, a, adj, values);
        }
        match weights {
            None => {
                let (xs, ys) = self.operands[at..at + 2 * n].split_at(n);
                for (&x, &y) in xs.iter().zip(ys) {
                    add(adj, x, v(y) * a);
                }
                for (&y, &x) in ys.iter().zip(xs) {
                    add(adj, y, v(x) * a);
                }
            }
            Some(c) => {
                let ws = &self.consts[c as usize..c as usize + n];
                for (&x, &w) in self.operands[at..at + n].iter().zip(ws) {
                    add(adj, x, w * a);
                }
            }
        }
    }

    /// [`Program::dot_backward`] for lists read as runs, as [`Program::run_dot`] reads them.
    #[inline(always)]
    fn run_dot_backward(
        &self,
        xs: u32,
        ys: Partners,
        n: usize,
        a: T,
        adj: &[Cell<T>],
        values: &[T],
    ) {
        let xs = xs as usize..xs as usize + n;
        match ys {
            Partners::Values(ys) => {
                let ys = ys as usize..ys as usize + n;
                for (g, &y) in adj[xs.clone()].iter().zip(&values[ys.clone()]) {
                    g.set(g.get() + y * a);
                }
                for (g, &x) in adj[ys].iter().zip(&values[xs]) {
                    g.set(g.get() + x * a);
                }
            }
            Partners::Consts(c) => {
                let ws = &self.consts[c as usize..c as usize + n];
                for (g, &w) in adj[xs].iter().zip(ws) {
                    g.set(g.get() + w * a);
                }
            }
        }
    }

    /// The activation `act` of `z` for the neuron of value slot `slot`, by the rule that records
    /// it; for [`Act::Table`], whose partial does not follow from the value, the partial the
    /// rule gives is kept in the slot's twin ([`Program::keys`]).
    #[inline(always)]
    fn activate(&self, (act, table): (Act, u8), z: T, slot: usize, values: &[Cell<T>]) -> T {
        match act {
            Act::Identity => z,
            Act::Tanh => Unary::Tanh.eval(z).0,
            Act::Sigmoid => Unary::Sigmoid.eval(z).0,
            Act::Relu => Unary::Relu.eval(z).0,
            Act::Table => {
                let (y, d) = self.acts[usize::from(table)].eval(z);
                values[self.slots + slot].set(d);
                y
            }
        }
    }

    /// What the backward pass forms an activation's partial from, slot by slot, as many as
    /// `len`: the values for an activation whose partial follows from its value, the partials
    /// kept for [`Act::Table`] ([`Program::activate`]). Either way `len` long, so that a
    /// kernel's check of an adjoint's index covers it too.
    #[inline(always)]
    fn keys<'v>(&self, act: Act, values: &'v [T], len: usize) -> &'v [T] {
        if act == Act::Table {
            &values[self.slots..self.slots + len]
        } else {
            &values[..len]
        }
    }

    /// [`Program::run_neuron_backward`] for a neuron of value slot `slot` whose activation is
    /// [`Act::Table`]. Out of line: reading the partial kept there, inlined in
    /// [`Program::backward_range`], made that loop slower for every program.
    #[inline(never)]
    fn table_neuron_backward(
        &self,
        fields: (u32, u32, u32, usize, Shape),
        slot: usize,
        a: T,
        adj: &[Cell<T>],
        values: &[T],
    ) {
        let key = values[self.slots + slot];
        self.run_neuron_backward(fields, key, a, adj, values);
    }

    /// The value of an [`Ins::RunNeuron`] with these fields, of value slot `slot`.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    fn run_neuron(
        &self,
        xs: u32,
        ys: u32,
        bias: u32,
        n: usize,
        shape: Shape,
        slot: usize,
        values: &[Cell<T>],
    ) -> T {
        let sum = self.run_dot(xs, shape.partners(ys), n, values);
        let b = values[bias as usize].get();
        let z = add_bias(sum, b, shape.bias_first());
        self.activate((shape.act(), shape.table()), z, slot, values)
    }

    /// The sweep's updates for an [`Ins::RunNeuron`] with the fields `(xs, ys, bias, n, shape)`,
    /// its key `y` ([`Program::keys`]) and its (non-zero) adjoint `a`, as for [`Ins::Neuron`]:
    /// the activation passes `partial * a` to the sum-plus-bias, whose adjoint starts at zero,
    /// so the three nodes pass nothing on when that product is zero; the `+` passes it to the
    /// bias and to the dot product, whose adjoint it starts.
    #[inline(always)]
    fn run_neuron_backward(
        &self,
        (xs, ys, bias, n, shape): (u32, u32, u32, usize, Shape),
        y: T,
        a: T,
        adj: &[Cell<T>],
        values: &[T],
    ) {
        let a = shape.act().passed(y, a);
        if a == T::zero() {
            return;
        }
        let (a, to_bias) = bias_terms(a, shape.bias_first());
        add(adj, bias, to_bias);
        self.run_dot_backward(xs, shape.partners(ys), n, a, adj, values);
    }

    /// The value of an [`Ins::Fold`] whose operands are `operands` and whose steps start at
    /// `steps`: each step by the rule of the instruction it replaces ([`FoldStep`]).
    #[inline(always)]
    fn running_total(&self, operands: &[u32], steps: u32, v: impl Fn(u32) -> T) -> T {
        let (&start, mut rest) = operands.split_first().expect("a fold has a start");
        let mut next = || {
            let (&x, others) = rest.split_first().expect("invariant: a step's operand");
            rest = others;
            v(x)
        };
        let mut acc = v(start);
        for &step in &self.folds[steps as usize..] {
            acc = match step {
                FoldStep::Add => Binary::Add.eval(acc, next()).0,
                FoldStep::AddFirst => Binary::Add.eval(next(), acc).0,
                FoldStep::Sub => Binary::Sub.eval(acc, next()).0,
                FoldStep::Pair => {
                    let (y, z) = (next(), next());
                    Binary::Add.eval(acc, Binary::Add.eval(y, z).0).0
                }
                FoldStep::AddConst(c) => add_const(acc, self.consts[c as usize]),
                FoldStep::Scaled { c, op, first } => {
                    scaled(acc, next(), self.consts[c as usize], op, first)
                }
                FoldStep::End => return acc,
            };
        }
        unreachable!("invariant: a fold's steps end with FoldStep::End")
    }

    /// The sweep's updates for an [`Ins::Fold`] with the (non-zero) adjoint `a`: `a` to its
    /// start, then each step's term to its operands by the rule of the instruction it replaces,
    /// the step's accumulator receiving `a` from it in turn ([`Ins::Fold`]).
    #[inline(always)]
    fn fold_backward(&self, operands: &[u32], steps: u32, a: T, adj: &[Cell<T>]) {
        let (&start, mut rest) = operands.split_first().expect("a fold has a start");
        let mut next = || {
            let (&x, others) = rest.split_first().expect("invariant: a step's operand");
            rest = others;
            x
        };
        add(adj, start, a);
        for &step in &self.folds[steps as usize..] {
            match step {
                FoldStep::Add => add(adj, next(), unit_of(OpKind::Add, a).1),
                FoldStep::AddFirst => add(adj, next(), unit_of(OpKind::Add, a).0),
                FoldStep::Sub => add(adj, next(), unit_of(OpKind::Sub, a).1),
                // The outer `+` passes its second term to the inner, whose adjoint it starts.
                FoldStep::Pair => {
                    let inner = unit_of(OpKind::Add, a).1;
                    add_two(adj, (next(), next()), unit_of(OpKind::Add, inner));
                }
                FoldStep::AddConst(_) => {}
                FoldStep::Scaled { c, op, first } => {
                    let c = self.consts[c as usize];
                    add(adj, next(), scaled_add_terms(a, c, op, first).1);
                }
                FoldStep::End => return,
            }
        }
    }

    /// The value of a fused square, [`Ins::AddConstSquared`], [`Ins::RSubConstSquared`],
    /// [`Ins::SubSquared`] or [`Ins::SubSquareSquared`]: `u²` of its base `u`, times its constant
    /// factor if it has one.
    #[inline(always)]
    fn fused_square(&self, ins: &Ins, values: &[Cell<T>]) -> T {
        let v = |x: u32| values[x as usize].get();
        let (u, s, sq) = match *ins {
            Ins::AddConstSquared { x, c, s, sq } => {
                (add_const(v(x), self.consts[c as usize]), s, sq)
            }
            Ins::RSubConstSquared { x, c, s, sq } => {
                (rsub_const(v(x), self.consts[c as usize]), s, sq)
            }
            Ins::SubSquared { x, y, s, sq } => (sub(v(x), v(y)), s, sq),
            Ins::SubSquareSquared { x, y, s, sq, inner } => (sub(v(x), inner.value(v(y))), s, sq),
            _ => unreachable!("invariant: called on fused squares only"),
        };
        match (s, sq) {
            (s, Sq::ScaledProduct) => scaled(u, u, self.consts[s as usize], Binary::Mul, true),
            (UNSCALED, sq) => sq.value(u),
            (s, sq) => Unary::MulConst(self.consts[s as usize]).eval(sq.value(u)).0,
        }
    }

    /// What a fused square with the adjoint `a` passes to its base `u`, the scale `s` applied:
    /// a constant factor passes `c a` to the square, whose adjoint it starts; the square of the
    /// form `sq` passes its terms to `u`, whose adjoint they start ([`Sq::started`]); `u` passes
    /// that on. Each passes nothing on when its adjoint is zero. `u` is computed again as the
    /// forward pass did. A zero adjoint
    /// makes the square's term zero or NaN, so a term above or below zero says the adjoint was
    /// not zero, in one compare (benches/FINDINGS.md: one compare for the zero-adjoint test).
    ///
    /// A square written `(c u) u` ([`Sq::ScaledProduct`]) passes `u` the terms of
    /// [`Ins::Scaled`]'s product, whose operands are both `u`: the product's own, then the one
    /// through `c u`; the sweep's order is the same whichever side `c u` stood on.
    #[inline(always)]
    fn square_passed(&self, s: u32, sq: Sq, a: T, u: impl FnOnce() -> T) -> Option<T> {
        let zero = T::zero();
        // The square's adjoint (after a factor), and the adjoint it starts for `u`.
        let (a, t) = match (s, sq) {
            (s, Sq::ScaledProduct) => {
                let u = u();
                let (t_product, t_scaled) =
                    scaled_product_terms(a, u, u, self.consts[s as usize], true);
                (a, zero + t_product + t_scaled)
            }
            (UNSCALED, sq) => (a, sq.started(u(), a)),
            (s, sq) => {
                let a = slope(Unary::MulConst(self.consts[s as usize])) * a;
                (a, sq.started(u(), a))
            }
        };
        // As in `repeats::lane_pass`: not `t != zero`, which a NaN meets too.
        #[allow(clippy::double_comparisons)]
        let ordered_nonzero = t < zero || t > zero;
        if !ordered_nonzero && (t == zero || a == zero) {
            return None;
        }
        Some(t)
    }

    /// The sweep's updates for a fused square ([`Ins::AddConstSquared`],
    /// [`Ins::RSubConstSquared`], [`Ins::SubSquared`], [`Ins::SubSquareSquared`]) with the
    /// (non-zero) adjoint `a`, if it passes anything on: its term to its operand `x`, then for
    /// `x - y` and `x - y²` one to `y`, twice if the square `y²` is a product.
    #[inline(always)]
    fn fused_square_backward(&self, ins: &Ins, a: T, adj: &[Cell<T>], values: &[T]) {
        let v = |x: u32| values[x as usize];
        match *ins {
            Ins::AddConstSquared { x, c, s, sq } => {
                let u = || add_const(v(x), self.consts[c as usize]);
                if let Some(t) = self.square_passed(s, sq, a, u) {
                    add(adj, x, unit_of(OpKind::AddConst, t).0);
                }
            }
            Ins::RSubConstSquared { x, c, s, sq } => {
                let u = || rsub_const(v(x), self.consts[c as usize]);
                if let Some(t) = self.square_passed(s, sq, a, u) {
                    add(adj, x, unit_of(OpKind::RSubConst, t).0);
                }
            }
            Ins::SubSquared { x, y, s, sq } => {
                if let Some(t) = self.square_passed(s, sq, a, || sub(v(x), v(y))) {
                    add_two(adj, (x, y), unit_of(OpKind::Sub, t));
                }
            }
            // The `-` passes its second term to the square `y²`, whose adjoint it starts
            // (non-zero), and the square passes that on, by its edges.
            Ins::SubSquareSquared { x, y, s, sq, inner } => {
                let u = || sub(v(x), inner.value(v(y)));
                if let Some(t) = self.square_passed(s, sq, a, u) {
                    let (tx, ty) = unit_of(OpKind::Sub, t);
                    add(adj, x, tx);
                    inner.pass(adj, y, inner.term(v(y), ty));
                }
            }
            _ => unreachable!("invariant: called on fused squares only"),
        }
    }

    /// Recomputes the value of every instruction into `values` (whose leaf slots hold the
    /// inputs) and stores the partials the backward pass reads, checking each comparison.
    #[inline]
    fn forward(&mut self, values: &mut [T]) -> Result<(), Error> {
        let values = Cell::from_mut(values).as_slice_of_cells();
        // A program without repeats, as a small objective's, is one stretch.
        if self.repeats.is_empty() {
            return self.forward_range(0..self.ins.len(), values);
        }
        // By index: a stretch's pass borrows the program mutably, for its partials.
        for k in 0..self.steps.len() {
            match self.steps[k] {
                Step::Stretch { start, end } => {
                    self.forward_stretch(start as usize..end as usize, values)?;
                }
                Step::Group(g) => self.forward_group(g as usize, values)?,
                Step::Copies(r) => self.copy_in(r as usize, values),
            }
        }
        Ok(())
    }

    /// The forward pass over the instructions `range`: [`Program::forward_range`], whose
    /// set-up for every kind of instruction (about 80 instructions) pays only over a longer
    /// stretch, but for a short one the sums and constant factors it starts with — the sum and
    /// the mean after a batch's repeat — here, and the rest, if any, through it. Out of line:
    /// kept inline, its set-up was paid on every run even where the stretch after a repeat is
    /// only the sum and the mean (benches/FINDINGS.md: fixed work per call).
    #[inline(never)]
    fn forward_stretch(&mut self, range: Range<usize>, values: &[Cell<T>]) -> Result<(), Error> {
        if range.len() > SHORT_STRETCH {
            return self.forward_range(range, values);
        }
        for k in range.clone() {
            let value = match self.ins[k] {
                Ins::Sum { at, n } => {
                    sum_of(&self.operands[at as usize..(at + n) as usize], values)
                }
                Ins::MulConst { x, c } => {
                    mul_const(values[x as usize].get(), self.consts[c as usize])
                }
                _ => return self.forward_range(k..range.end, values),
            };
            values[self.leaves + k].set(value);
        }
        Ok(())
    }

    /// The forward pass over the instructions `range`, in order.
    fn forward_range(&mut self, range: Range<usize>, values: &[Cell<T>]) -> Result<(), Error> {
        let consts = &self.consts;
        let operands = &self.operands;
        let unaries = &self.unaries;
        let list = |at: u32, n: u32| &operands[at as usize..(at + n) as usize];
        // As cells, the slots can be read by index while each instruction writes its own slot
        // through the iterator, with no index to check.
        let v = |x: u32| values[x as usize].get();
        let outs = &values[self.leaves + range.start..self.leaves + range.end];
        // Matched through the reference, each arm loads only the fields it reads (a copied
        // instruction is loaded whole before the jump).
        for (k, (ins, out)) in self.ins[range.clone()].iter().zip(outs).enumerate() {
            let k = range.start + k;
            let value = value!(self, ins, k, values, consts, unaries, list, v);
            out.set(value);
        }
        Ok(())
    }

    /// The reverse sweep over the value slots `0..len`, whose adjoints hold the seeds, reading
    /// the values of the last forward pass; `adj` holds every slot's adjoint, the copies'
    /// ([`repeats::Deferred`]) too. The leaves' adjoints are left as received; every other
    /// slot's is set back to zero once passed on, so that the next sweep need only zero the
    /// leaves' — a pass over all the adjoints saved.
    #[inline]
    fn backward(&self, adj: &mut [T], len: usize, values: &[T]) {
        // As cells, as in the forward pass: each instruction takes its own adjoint through the
        // iterator and adds to its operands' by index.
        let adj = Cell::from_mut(adj).as_slice_of_cells();
        self.sweep(adj, len, values);
        // The sums whose terms took their adjoint from their slot kept it there until now.
        for sum in &self.sums {
            adj[sum.slot as usize].set(T::zero());
        }
    }

    /// [`Program::backward`] but for the sums' slots it leaves for the end.
    fn sweep(&self, adj: &[Cell<T>], len: usize, values: &[T]) {
        // The instructions the sweep covers: those before its end, none if it ends in the leaves.
        let Some(swept) = len.checked_sub(self.leaves) else {
            return;
        };
        if self.repeats.is_empty() {
            return self.backward_range(0..swept, adj, values);
        }
        // A sweep over every instruction, as for a single output, runs the steps from the end.
        if swept == self.ins.len() {
            for &step in self.steps.iter().rev() {
                match step {
                    Step::Stretch { start, end } => {
                        self.backward_stretch(start as usize..end as usize, adj, values);
                    }
                    Step::Group(g) => self.backward_group(g as usize, adj, values),
                    Step::Copies(r) => self.flush(r as usize, adj),
                }
            }
            return;
        }
        // A shorter one, as for an output before the last, skips the repeats past its end.
        let mut end = swept;
        for (r, &repeat) in self.repeats.iter().enumerate().rev() {
            if repeat.start() >= end {
                continue;
            }
            if repeat.end() <= end {
                if repeat.end() < end {
                    self.backward_stretch(repeat.end()..end, adj, values);
                }
                self.backward_repeat(repeat, adj, values);
            } else {
                // A repeat the sweep ends inside runs instruction by instruction, as a stretch.
                self.backward_stretch(repeat.start()..end, adj, values);
            }
            self.flush(r, adj);
            end = repeat.start();
        }
        if end > 0 {
            self.backward_stretch(0..end, adj, values);
        }
    }

    /// The update of the sum of value slot `slot`: `a` to each of the operands
    /// `operands[at..at + n]`, in order. A sum some of whose terms take its adjoint from its
    /// slot ([`Program::forward_sums`]) leaves it there and updates the others alone.
    #[inline(always)]
    fn pass_to_all(&self, slot: usize, at: u32, n: u32, a: T, adj: &[Cell<T>]) {
        // In order of their slots, as they were found.
        let (at, n) = match self.sums.binary_search_by_key(&slot, |s| s.slot as usize) {
            Ok(i) => {
                adj[slot].set(a);
                (self.sums[i].at, self.sums[i].n)
            }
            Err(_) => (at, n),
        };
        for &x in &self.operands[at as usize..(at + n) as usize] {
            add(adj, x, a);
        }
    }

    /// The backward pass over the instructions `range`, from the last to the first: as
    /// [`Program::forward_stretch`], for a short stretch the sums and constant factors it ends
    /// with here, and the rest, if any, through [`Program::backward_range`].
    #[inline(never)]
    fn backward_stretch(&self, range: Range<usize>, adj: &[Cell<T>], values: &[T]) {
        if range.len() > SHORT_STRETCH {
            return self.backward_range(range, adj, values);
        }
        let zero = T::zero();
        for k in range.clone().rev() {
            match self.ins[k] {
                Ins::Sum { at, n } => {
                    let a = adj[self.leaves + k].replace(zero);
                    // As the tape's sweep: a node with a zero adjoint passes nothing on.
                    if a != zero {
                        self.pass_to_all(self.leaves + k, at, n, a, adj);
                    }
                }
                Ins::MulConst { x, c } => {
                    let a = adj[self.leaves + k].replace(zero);
                    if a != zero {
                        add(adj, x, slope(Unary::MulConst(self.consts[c as usize])) * a);
                    }
                }
                _ => return self.backward_range(range.start..k + 1, adj, values),
            }
        }
    }

    /// The backward pass over the instructions `range`, from the last to the first.
    fn backward_range(&self, range: Range<usize>, adj: &[Cell<T>], all: &[T]) {
        let zero = T::zero();
        // As long as the adjoints, so that one check of an operand's index covers both.
        let values = &all[..adj.len()];
        let list = |at: u32, n: u32| &self.operands[at as usize..(at + n) as usize];
        let slots = self.leaves + range.start..self.leaves + range.end;
        let own = self.ins[range]
            .iter()
            .zip(&adj[slots.clone()])
            .zip(&values[slots]);
        // Instructions and output values by reference, as in the forward pass.
        for ((ins, slot), output) in own.rev() {
            // The index of `slot`, for the rare instruction that needs it: from its address, so
            // that the loop keeps no count.
            let here = || (slot.as_ptr() as usize - adj.as_ptr() as usize) / size_of::<Cell<T>>();
            let a = slot.replace(zero);
            // As the tape's sweep: a node with a zero adjoint passes nothing on.
            if a == zero {
                continue;
            }
            pass_on!(self, ins, a, here, || *output, adj, values, all, list);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Ins;
    use crate::Tape;

    #[test]
    fn an_instruction_takes_sixteen_bytes() {
        assert_eq!(std::mem::size_of::<Ins>(), 16);
    }

    #[test]
    fn neurons_read_as_runs_keep_no_operand_list() {
        let tape = Tape::new();
        let w = tape.vars(&[0.5, -0.25, 0.1, 0.3, 0.2]);
        let x = [1.0, 2.0];
        let h: Vec<_> = (0..2)
            .map(|j| (tape.dot(&w[2 * j..2 * j + 2], &x) + w[4]).tanh())
            .collect();
        let out = tape.sum(&h);
        let mut f = tape.compile(&w, &[out]).unwrap();
        let p = &f.program;
        assert!(
            matches!(
                p.ins[..],
                [
                    Ins::RunNeuron { .. },
                    Ins::RunNeuron { .. },
                    Ins::Sum { at: 0, n: 2 }
                ]
            ),
            "{:?}",
            p.ins
        );
        // The sum's list alone: the neurons' were dropped once they read runs.
        assert_eq!(p.operands, [5, 6]);
        assert_eq!(
            f.run(&[0.5, -0.25, 0.1, 0.3, 0.2]).unwrap().value(),
            out.value()
        );
    }
}
