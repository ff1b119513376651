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
//! A partial that is a function of values the replay holds anyway — the other factor of a
//! product, the value of `exp`, `tanh` and `sigmoid`, `2x` for `x²`, a constant factor — is not
//! stored: the backward pass computes it again with the expression of the rule, which gives the
//! same bits.

use crate::ops::compare::Comparison;
use crate::ops::nary::{Rules, weighted_sum};
use crate::ops::{Binary, OpKind, Unary};
use crate::tape::Storage;
use crate::{Error, Scalar};

use super::check;

/// One node of the program. Instruction `k` writes value slot `leaves + k`; `x` and `y` are the
/// value slots of the operands, `c` an index into [`Program::consts`], `q` into
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
    /// `x²`, partial `x + x`.
    Square { x: u32 },
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
    /// `x * y`: each partial is the other factor.
    Mul { x: u32, y: u32 },
    /// `/`, `pow`, `max`, `min`: partials stored at `q` and `q + 1`.
    Binary { op: Binary, x: u32, y: u32, q: u32 },
    /// `Σ operands[at..at + n]`.
    Sum { at: u32, n: u32 },
    /// `Σ xᵢ yᵢ` with `xs = operands[at..at + n]`, `ys` the next `n`; each partial is the partner.
    Dot { at: u32, n: u32 },
    /// `Σ xᵢ cᵢ` with the weights `consts[c..c + n]`.
    DotConst { at: u32, n: u32, c: u32 },
    /// A custom rule on `operands[at..at + n]`; its partials are stored at `q..q + n`.
    Custom { at: u32, n: u32, q: u32 },
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
pub(super) struct Program<T> {
    ins: Vec<Ins>,
    /// The constants of the instructions, a dot product's weights among them.
    consts: Vec<T>,
    /// The operand lists of sums, dot products and custom operations.
    operands: Vec<u32>,
    /// The operations of [`Ins::Unary`] instructions.
    unaries: Vec<Unary<T>>,
    /// The partials the forward pass stores for the backward pass.
    partials: Vec<T>,
    /// The rules of the custom nodes, under their value slots.
    custom: Rules<T>,
    /// The recorded index of each comparison, in program order, for error messages.
    guard_nodes: Vec<u32>,
    /// How many leaves open the program: the value slots before the first instruction.
    leaves: usize,
}

/// Converts an index to the `u32` an instruction holds; a program has fewer than 2³² of each.
fn word(i: usize) -> u32 {
    u32::try_from(i).expect("invariant: a tape holds fewer than 2^32 nodes and operands")
}

impl<T: Scalar> Program<T> {
    /// Encodes the nodes of `s` — `leaves` leaves first, then the other nodes, with operands
    /// already numbered as value slots — given the rules of its custom nodes (under the same
    /// numbers) and the recorded index of each comparison.
    pub(super) fn build(s: &Storage<T>, leaves: usize, custom: Rules<T>, guards: Vec<u32>) -> Self {
        let mut prog = Program {
            ins: Vec::with_capacity(s.kinds.len() - leaves),
            consts: Vec::new(),
            operands: Vec::new(),
            unaries: Vec::new(),
            partials: Vec::new(),
            custom,
            guard_nodes: guards,
            leaves,
        };
        // Cursors on the parent, partial and constant stacks; each leaf holds one constant.
        let (mut p, mut q, mut c) = (0usize, 0usize, leaves);
        let mut g = 0;
        for &kind in &s.kinds[leaves..] {
            let x = s.parents.get(p).copied().unwrap_or(0);
            let y = s.parents.get(p + 1).copied().unwrap_or(0);
            let ins = match kind {
                OpKind::Var | OpKind::Const => unreachable!("the leaves open the program"),
                OpKind::AddConst => Ins::AddConst {
                    x,
                    c: prog.constant(s.consts[c]),
                },
                OpKind::RSubConst => Ins::RSubConst {
                    x,
                    c: prog.constant(s.consts[c]),
                },
                OpKind::Neg => Ins::Neg { x },
                // The factor of `x * c` is the node's recorded partial.
                OpKind::MulConst => Ins::MulConst {
                    x,
                    c: prog.constant(s.partials[q]),
                },
                OpKind::Powi if y == 2 => Ins::Square { x },
                OpKind::Exp => Ins::Exp { x },
                OpKind::Tanh => Ins::Tanh { x },
                OpKind::Sigmoid => Ins::Sigmoid { x },
                OpKind::Add => Ins::Add { x, y },
                OpKind::Sub => Ins::Sub { x, y },
                OpKind::Mul => Ins::Mul { x, y },
                OpKind::Div | OpKind::Pow | OpKind::Max | OpKind::Min => Ins::Binary {
                    op: Binary::from_kind(kind),
                    x,
                    y,
                    q: prog.partial_slots(2),
                },
                OpKind::Sum => Ins::Sum {
                    at: prog.operand_list(&s.parents[p + 1..p + 1 + x as usize]),
                    n: x,
                },
                OpKind::Dot => Ins::Dot {
                    at: prog.operand_list(&s.parents[p + 1..p + 1 + x as usize]),
                    n: x / 2,
                },
                OpKind::DotConst => {
                    let n = x as usize;
                    let at = prog.operand_list(&s.parents[p + 1..p + 1 + n]);
                    let c = word(prog.consts.len());
                    prog.consts.extend_from_slice(&s.partials[q..q + n]);
                    Ins::DotConst { at, n: x, c }
                }
                OpKind::Custom => {
                    let n = x as usize;
                    let at = prog.operand_list(&s.parents[p + 1..p + 1 + n]);
                    Ins::Custom {
                        at,
                        n: x,
                        q: prog.partial_slots(n),
                    }
                }
                OpKind::Compare => {
                    let (cmp, recorded) = Comparison::decode(s.parents[p + 2]);
                    g += 1;
                    Ins::Compare {
                        cmp,
                        recorded,
                        x,
                        y,
                        g: word(g - 1),
                    }
                }
                OpKind::CompareConst => {
                    let (cmp, recorded) = Comparison::decode(y);
                    g += 1;
                    Ins::CompareConst {
                        cmp,
                        recorded,
                        x,
                        c: prog.constant(s.consts[c]),
                        g: word(g - 1),
                    }
                }
                _ => {
                    let konst = if kind.consts() == 1 {
                        s.consts[c]
                    } else {
                        T::zero()
                    };
                    let aux = if kind == OpKind::Powi { y } else { 0 };
                    prog.unaries
                        .push(Unary::from_record(kind, konst, T::zero(), aux));
                    Ins::Unary {
                        op: word(prog.unaries.len() - 1),
                        x,
                        q: prog.partial_slots(1),
                    }
                }
            };
            prog.ins.push(ins);
            let (words, npartials) = super::footprint(s, kind, p);
            p += words;
            q += npartials;
            c += kind.consts();
        }
        prog
    }

    fn constant(&mut self, c: T) -> u32 {
        self.consts.push(c);
        word(self.consts.len() - 1)
    }

    fn partial_slots(&mut self, n: usize) -> u32 {
        self.partials.resize(self.partials.len() + n, T::zero());
        word(self.partials.len() - n)
    }

    fn operand_list(&mut self, xs: &[u32]) -> u32 {
        self.operands.extend_from_slice(xs);
        word(self.operands.len() - xs.len())
    }

    /// How many leaves open the program.
    #[cfg(test)]
    pub(super) fn leaves(&self) -> usize {
        self.leaves
    }

    /// The value slots an instruction reads, in recorded order (for tests and inspection).
    #[cfg(test)]
    pub(super) fn operands_of(&self, k: usize) -> Vec<u32> {
        let list = |at: u32, n: u32| self.operands[at as usize..(at + n) as usize].to_vec();
        match self.ins[k] {
            Ins::AddConst { x, .. }
            | Ins::RSubConst { x, .. }
            | Ins::Neg { x }
            | Ins::MulConst { x, .. }
            | Ins::Square { x }
            | Ins::Exp { x }
            | Ins::Tanh { x }
            | Ins::Sigmoid { x }
            | Ins::Unary { x, .. }
            | Ins::CompareConst { x, .. } => vec![x],
            Ins::Add { x, y }
            | Ins::Sub { x, y }
            | Ins::Mul { x, y }
            | Ins::Binary { x, y, .. }
            | Ins::Compare { x, y, .. } => vec![x, y],
            Ins::Sum { at, n } | Ins::DotConst { at, n, .. } | Ins::Custom { at, n, .. } => {
                list(at, n)
            }
            Ins::Dot { at, n } => list(at, 2 * n),
        }
    }

    /// Recomputes the value of every instruction into `values` (whose leaf slots hold the
    /// inputs) and stores the partials the backward pass reads, checking each comparison.
    pub(super) fn forward(&mut self, values: &mut [T]) -> Result<(), Error> {
        let consts = &self.consts;
        let operands = &self.operands;
        let unaries = &self.unaries;
        let partials = &mut self.partials;
        let custom = &mut self.custom;
        let list = |at: u32, n: u32| &operands[at as usize..(at + n) as usize];
        for (k, &ins) in self.ins.iter().enumerate() {
            let i = self.leaves + k;
            let v = |x: u32| values[x as usize];
            let value = match ins {
                Ins::AddConst { x, c } => Unary::AddConst(consts[c as usize]).eval(v(x)).0,
                Ins::RSubConst { x, c } => Unary::RSubConst(consts[c as usize]).eval(v(x)).0,
                Ins::Neg { x } => Unary::<T>::Neg.eval(v(x)).0,
                Ins::MulConst { x, c } => Unary::MulConst(consts[c as usize]).eval(v(x)).0,
                Ins::Square { x } => Unary::<T>::Powi(2).eval(v(x)).0,
                Ins::Exp { x } => Unary::<T>::Exp.eval(v(x)).0,
                Ins::Tanh { x } => Unary::<T>::Tanh.eval(v(x)).0,
                Ins::Sigmoid { x } => Unary::<T>::Sigmoid.eval(v(x)).0,
                Ins::Unary { op, x, q } => {
                    let (value, d) = unaries[op as usize].eval(v(x));
                    partials[q as usize] = d;
                    value
                }
                Ins::Add { x, y } => Binary::Add.eval(v(x), v(y)).0,
                Ins::Sub { x, y } => Binary::Sub.eval(v(x), v(y)).0,
                Ins::Mul { x, y } => Binary::Mul.eval(v(x), v(y)).0,
                Ins::Binary { op, x, y, q } => {
                    let (value, dx, dy) = op.eval(v(x), v(y));
                    partials[q as usize] = dx;
                    partials[q as usize + 1] = dy;
                    value
                }
                Ins::Sum { at, n } => list(at, n).iter().fold(T::zero(), |acc, &x| acc + v(x)),
                Ins::Dot { at, n } => {
                    let (xs, ys) = list(at, 2 * n).split_at(n as usize);
                    weighted_sum(xs.iter().zip(ys).map(|(&x, &y)| (v(x), v(y))))
                }
                Ins::DotConst { at, n, c } => {
                    let ws = &consts[c as usize..(c + n) as usize];
                    weighted_sum(list(at, n).iter().zip(ws).map(|(&x, &w)| (v(x), w)))
                }
                Ins::Custom { at, n, q } => {
                    let out = &mut partials[q as usize..(q + n) as usize];
                    custom.replay(word(i), list(at, n), values, out)
                }
                Ins::Compare {
                    cmp,
                    recorded,
                    x,
                    y,
                    g,
                } => {
                    check(cmp, v(x), v(y), recorded, self.guard_nodes[g as usize])?;
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
                    check(cmp, v(x), rhs, recorded, self.guard_nodes[g as usize])?;
                    continue;
                }
            };
            values[i] = value;
        }
        Ok(())
    }

    /// The reverse sweep over the value slots `0..adj.len()`, whose adjoints hold the seeds,
    /// reading the values of the last forward pass. The leaves' adjoints are left as received.
    pub(super) fn backward(&self, adj: &mut [T], values: &[T]) {
        let zero = T::zero();
        let one = T::one();
        let end = adj.len().saturating_sub(self.leaves);
        let list = |at: u32, n: u32| &self.operands[at as usize..(at + n) as usize];
        for (k, &ins) in self.ins[..end].iter().enumerate().rev() {
            let i = self.leaves + k;
            let a = adj[i];
            // As the tape's sweep: a node with a zero adjoint passes nothing on.
            if a == zero {
                continue;
            }
            let v = |x: u32| values[x as usize];
            let mut add = |x: u32, d: T| adj[x as usize] += d;
            match ins {
                Ins::AddConst { x, .. } => add(x, a),
                Ins::RSubConst { x, .. } | Ins::Neg { x } => add(x, -a),
                Ins::MulConst { x, c } => add(x, self.consts[c as usize] * a),
                Ins::Square { x } => add(x, (v(x) + v(x)) * a),
                Ins::Exp { x } => add(x, values[i] * a),
                Ins::Tanh { x } => {
                    let y = values[i];
                    add(x, (one - y * y) * a)
                }
                Ins::Sigmoid { x } => {
                    let y = values[i];
                    add(x, y * (one - y) * a)
                }
                Ins::Unary { x, q, .. } => add(x, self.partials[q as usize] * a),
                Ins::Add { x, y } => {
                    add(x, a);
                    add(y, a);
                }
                Ins::Sub { x, y } => {
                    add(x, a);
                    add(y, -a);
                }
                Ins::Mul { x, y } => {
                    let (dx, dy) = (v(y), v(x));
                    add(x, dx * a);
                    add(y, dy * a);
                }
                Ins::Binary { x, y, q, .. } => {
                    add(x, self.partials[q as usize] * a);
                    add(y, self.partials[q as usize + 1] * a);
                }
                Ins::Sum { at, n } => {
                    for &x in list(at, n) {
                        add(x, a);
                    }
                }
                Ins::Dot { at, n } => {
                    let (xs, ys) = list(at, 2 * n).split_at(n as usize);
                    for (&x, &y) in xs.iter().zip(ys) {
                        add(x, v(y) * a);
                    }
                    for (&y, &x) in ys.iter().zip(xs) {
                        add(y, v(x) * a);
                    }
                }
                Ins::DotConst { at, n, c } => {
                    let ws = &self.consts[c as usize..(c + n) as usize];
                    for (&x, &w) in list(at, n).iter().zip(ws) {
                        add(x, w * a);
                    }
                }
                Ins::Custom { at, n, q } => {
                    let ds = &self.partials[q as usize..(q + n) as usize];
                    for (&x, &d) in list(at, n).iter().zip(ds) {
                        add(x, d * a);
                    }
                }
                Ins::Compare { .. } | Ins::CompareConst { .. } => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Ins;

    #[test]
    fn an_instruction_takes_sixteen_bytes() {
        assert_eq!(std::mem::size_of::<Ins>(), 16);
    }
}
