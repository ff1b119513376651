//! Random expressions: DAGs of operations whose sub-expressions are reused, generated inside
//! every operation's domain and away from every kink.

use std::fmt;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::ops::nary::weighted_sum;
use crate::ops::{
    BINARIES, Binary, BinarySpec, FIXED, FUNCTIONS, Image, Interval, OpKind, Steepest, Unary,
};
use crate::{Scalar, Var};

/// Inputs of [`Expr::random`] lie in `[-INPUT_BOUND, INPUT_BOUND]`.
const INPUT_BOUND: f64 = 2.0;
/// No node's value may leave `[-CAP, CAP]` for any input in range.
const CAP: f64 = 100.0;
/// Distance from a kink (relu, abs and leaky ReLU at 0, max and min at a tie) that a node's whole
/// range must keep.
const KINK_MARGIN: f64 = 0.01;
/// Smallest value a guarded positive operand takes (the argument of ln, sqrt, powf and pow, a
/// divisor).
const POSITIVE: f64 = 0.25;
/// No node's value may change faster than this with the inputs: an upper bound on
/// `Σᵢ |∂node/∂xᵢ|` over the input box. Steep nodes oscillate or curve too fast for finite
/// differences, above all in `f32`.
const SLOPE_CAP: f64 = 10.0;
/// Attempts at drawing an operation whose conditions hold before falling back to tanh.
const ATTEMPTS: usize = 30;

/// A closed interval that holds a node's value for every input in range.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Range {
    lo: f64,
    hi: f64,
}

impl Range {
    fn new(a: f64, b: f64) -> Self {
        Range {
            lo: a.min(b),
            hi: a.max(b),
        }
    }

    fn hull(values: &[f64]) -> Self {
        let lo = values.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        Range { lo, hi }
    }

    fn monotone(self, f: impl Fn(f64) -> f64) -> Self {
        Range::new(f(self.lo), f(self.hi))
    }

    fn add(self, o: Range) -> Self {
        Range::new(self.lo + o.lo, self.hi + o.hi)
    }

    fn mul(self, o: Range) -> Self {
        Range::hull(&[
            self.lo * o.lo,
            self.lo * o.hi,
            self.hi * o.lo,
            self.hi * o.hi,
        ])
    }

    fn square(self) -> Self {
        let (a, b) = (self.lo * self.lo, self.hi * self.hi);
        if self.lo <= 0.0 && self.hi >= 0.0 {
            Range::new(0.0, a.max(b))
        } else {
            Range::new(a, b)
        }
    }

    fn scale(self, c: f64) -> Self {
        Range::new(self.lo * c, self.hi * c)
    }

    /// At least `m` away from 0 on one side.
    fn clear_of_zero(self, m: f64) -> bool {
        self.lo >= m || self.hi <= -m
    }

    /// The interval as the operations' table reads it.
    fn interval(self) -> Interval {
        (self.lo, self.hi)
    }

    fn within_cap(self) -> bool {
        self.lo.is_finite() && self.hi.is_finite() && self.lo >= -CAP && self.hi <= CAP
    }
}

/// One operation of an [`Expr`]; operands index the expression's slots (inputs first, then
/// nodes).
#[derive(Debug, Clone, PartialEq)]
enum Node {
    /// An operation of two Vars of the operations' table (`+`, `pow`, `max`, …), by its kind.
    Binary(OpKind, usize, usize),
    /// An operation of one Var of the operations' table — a function (`exp`, `sin`, `relu`, …)
    /// or an operation with a plain number (`-x`, `x + c`, `powi`, …) — by its kind, with its
    /// number (`powf`'s exponent, the leaky ReLU's slope, the `c` of `x + c`, `powi`'s exponent;
    /// 0 for the others).
    Unary(OpKind, usize, f64),
    Sum(Vec<usize>),
    Dot(Vec<usize>, Vec<usize>),
    DotConst(Vec<usize>, Vec<f64>),
    /// `sqrt(a² + b² + 1)` recorded with [`Tape::custom`](crate::Tape::custom).
    Norm(usize, usize),
}

impl Node {
    fn operands(&self) -> Vec<usize> {
        use Node::*;
        match self {
            Binary(_, a, b) | Norm(a, b) => vec![*a, *b],
            Unary(_, a, _) => vec![*a],
            Sum(xs) | DotConst(xs, _) => xs.clone(),
            Dot(xs, ys) => xs.iter().chain(ys).copied().collect(),
        }
    }
}

/// A random expression over `n` inputs: a DAG of tapegrad's operations in which sub-expressions
/// are reused, for property tests of gradients.
///
/// [`Expr::random`] draws one from any [`rand::Rng`]. Generation tracks an interval holding each
/// node's value for every input in `[-bound, bound]` (slightly widened, so that finite-difference
/// steps stay inside), and only records an operation where it is smooth, as the operations'
/// table declares it: `ln`, `sqrt`, `powf`, `pow`, `c / x` and negative `powi` get an operand of
/// at least 0.25 and divisors stay as far from 0 (when an operand is not, it is guarded first as
/// `softplus(u) + 0.25`, `u * u + 1` or `exp(u)`); `tan` gets an operand in `[-1.2, 1.2]` (else
/// `tan(tanh(u))`); `relu`, `abs`, `leaky_relu`, `max` and `min` only where the operand keeps
/// clear of the kink; no value exceeds 100 in size, nor changes faster than 10 times as fast as
/// the inputs (summed over them), which keeps the curvature low enough for finite differences
/// even in `f32`. The output sums the last node and every node nothing else uses, so every node
/// counts. Every operation of the table appears — each operation of one or two Vars, and those
/// with a plain number, its number drawn from those the table lists — and `Tape::sum`, both forms
/// of `Tape::dot` and `Tape::custom`; not `detach`, through which finite differences see a
/// dependence the tape rightly ignores. Operations of one Var are recorded through their rules,
/// which is what the operators and methods record (`c - x` and `c / x` with a plain number on the
/// left included, in `f32` too).
///
/// [`build`](Expr::build) records it on a tape, [`eval`](Expr::eval) computes it on plain numbers
/// with the same formulas, in `f64` or `f32`. `Display` and `Debug` print it one operation per
/// line, so a failing property test shows the expression.
///
/// # Examples
///
/// ```
/// use rand::{rngs::StdRng, SeedableRng};
/// use tapegrad::check::{self, Expr};
/// use tapegrad::Tape;
///
/// let mut rng = StdRng::seed_from_u64(7);
/// let expr = Expr::random(&mut rng, 3, 20);
/// let at = expr.sample_inputs(&mut rng);
///
/// let tape = Tape::new();
/// let xs = tape.vars(&at);
/// let y = expr.build(&xs);
/// assert_eq!(y.value(), expr.eval(&at));
///
/// check::assert_gradient(|x| expr.build(x), &at);
/// ```
#[derive(Clone, PartialEq)]
pub struct Expr {
    inputs: usize,
    bound: f64,
    nodes: Vec<Node>,
}

/// The state of generation: the expression so far and a range for each of its slots.
struct Generator<'r, R: ?Sized> {
    rng: &'r mut R,
    ranges: Vec<Range>,
    /// For each slot, an upper bound on `Σᵢ |∂slot/∂xᵢ|` over the input box.
    slopes: Vec<f64>,
    nodes: Vec<Node>,
    inputs: usize,
}

/// The operations generation draws from, uniformly: the n-ary ones (`sum`, both forms of `dot`)
/// and a custom one, then each operation of two Vars of the operations' table, each operation of
/// one Var and a plain number, and each function.
const NARY_KINDS: usize = 4;
const KINDS: usize = NARY_KINDS + BINARIES.len() + FIXED.len() + FUNCTIONS.len();

/// What generation reads of a one-input operation of the table with the number `n`: where it is
/// smooth, how it maps intervals, where it has a kink and where it is steepest.
struct OneInput {
    domain: Interval,
    image: Image,
    kink: Option<f64>,
    steepest: Steepest,
}

/// The table's entry for `kind`, an operation of one Var, with the number `n`.
fn one_input(kind: OpKind, n: f64) -> OneInput {
    if let Some(f) = kind.function() {
        return OneInput {
            domain: f.domain,
            image: f.image,
            kink: f.kink,
            steepest: f.steepest,
        };
    }
    let f = kind
        .fixed()
        .unwrap_or_else(|| unreachable!("{} is not an operation of one Var", kind.name()));
    OneInput {
        domain: (f.domain)(n),
        image: (f.image)(n),
        kink: None,
        steepest: f.steepest,
    }
}

/// The table's entry for `kind`, an operation of two Vars.
fn binary_spec(kind: OpKind) -> &'static BinarySpec {
    kind.binary()
        .unwrap_or_else(|| unreachable!("{} is not an operation of two Vars", kind.name()))
}

/// The rule of the table's operation of one Var `kind`, with its number if it has one.
fn rule<T: Scalar>(kind: OpKind, n: f64) -> Unary<T> {
    Unary::with_number(kind, n)
}

impl<R: Rng + ?Sized> Generator<'_, R> {
    /// A slot to use as an operand: half the time one of the three latest, which builds depth,
    /// otherwise any, which builds reuse.
    fn pick(&mut self) -> usize {
        let len = self.ranges.len();
        if self.rng.gen_bool(0.5) {
            len - 1 - self.rng.gen_range(0..len.min(3))
        } else {
            self.rng.gen_range(0..len)
        }
    }

    /// A constant with two decimals, so that the expression prints readably.
    fn constant(&mut self, lo: f64, hi: f64) -> f64 {
        (self.rng.gen_range(lo..hi) * 100.0).round() / 100.0
    }

    fn range(&self, slot: usize) -> Range {
        self.ranges[slot]
    }

    /// Pushes `node` with the range `range` and returns its slot.
    fn push(&mut self, node: Node, range: Range) -> usize {
        let slope = self.slope(&node);
        self.nodes.push(node);
        self.ranges.push(range);
        self.slopes.push(slope);
        self.ranges.len() - 1
    }

    /// An upper bound on `Σᵢ |∂node/∂xᵢ|` over the input box, by the chain rule on the operands'
    /// ranges and bounds; infinite where an operand's range reaches a singularity.
    fn slope(&self, node: &Node) -> f64 {
        use Node::*;
        let r = |i: usize| self.ranges[i];
        let s = |i: usize| self.slopes[i];
        // The largest |x| over a slot's range.
        let big = |i: usize| r(i).lo.abs().max(r(i).hi.abs());
        match *node {
            Binary(kind, a, b) => {
                let [dx, dy] = (binary_spec(kind).steepest)(r(a).interval(), r(b).interval());
                dx * s(a) + dy * s(b)
            }
            Norm(a, b) => s(a) + s(b),
            Unary(kind, a, n) => match one_input(kind, n).steepest {
                Steepest::AtMost(bound) => bound * s(a),
                Steepest::AtEnds => {
                    let steep = |x: f64| rule(kind, n).eval(x).1.abs();
                    steep(r(a).lo).max(steep(r(a).hi)) * s(a)
                }
            },
            Sum(ref xs) => xs.iter().map(|&x| s(x)).sum(),
            Dot(ref xs, ref ys) => xs
                .iter()
                .zip(ys)
                .map(|(&x, &y)| big(x) * s(y) + big(y) * s(x))
                .sum(),
            DotConst(ref xs, ref cs) => xs.iter().zip(cs).map(|(&x, &c)| c.abs() * s(x)).sum(),
        }
    }

    /// Pushes nodes that turn `u` into an operand of at least [`POSITIVE`] and returns the guarded
    /// slot: `u` itself when it needs no guard, `None` when the guard drawn does not suit `u`'s
    /// range.
    fn positive(&mut self, u: usize) -> Option<usize> {
        let r = self.range(u);
        if r.lo >= POSITIVE && r.within_cap() {
            return Some(u);
        }
        match self.rng.gen_range(0..3) {
            0 => {
                let softplus = |x| rule(OpKind::Softplus, 0.0).eval(x).0;
                let s = self.push(Node::Unary(OpKind::Softplus, u, 0.0), r.monotone(softplus));
                Some(self.push(
                    Node::Unary(OpKind::AddConst, s, POSITIVE),
                    self.range(s).add(Range::new(POSITIVE, POSITIVE)),
                ))
            }
            1 if r.square().hi + 1.0 <= CAP => {
                let sq = self.push(Node::Binary(OpKind::Mul, u, u), r.square());
                Some(self.push(
                    Node::Unary(OpKind::AddConst, sq, 1.0),
                    self.range(sq).add(Range::new(1.0, 1.0)),
                ))
            }
            2 if r.lo >= POSITIVE.ln() && r.hi <= 4.0 => {
                Some(self.push(Node::Unary(OpKind::Exp, u, 0.0), r.monotone(f64::exp)))
            }
            _ => None,
        }
    }

    /// Draws one operation of kind `kind`, pushing any guard nodes it needs; `None` when its
    /// conditions do not hold for the operands drawn (the guards pushed are kept: they are valid
    /// nodes too).
    fn try_kind(&mut self, kind: usize) -> Option<(Node, Range)> {
        use Node::*;
        let a = self.pick();
        let one = |node: Node, r: Range| Some((node, r));
        match kind {
            0 => {
                let k = self.rng.gen_range(2..=4);
                let mut xs = vec![a];
                xs.extend((1..k).map(|_| self.pick()));
                let r = xs
                    .iter()
                    .fold(Range::new(0.0, 0.0), |acc, &x| acc.add(self.range(x)));
                one(Sum(xs), r)
            }
            1 => {
                let k = self.rng.gen_range(1..=3);
                let mut xs = vec![a];
                xs.extend((1..k).map(|_| self.pick()));
                let ys: Vec<usize> = (0..k).map(|_| self.pick()).collect();
                let r = xs
                    .iter()
                    .zip(&ys)
                    .fold(Range::new(0.0, 0.0), |acc, (&x, &y)| {
                        let p = if x == y {
                            self.range(x).square()
                        } else {
                            self.range(x).mul(self.range(y))
                        };
                        acc.add(p)
                    });
                one(Dot(xs, ys), r)
            }
            2 => {
                let k = self.rng.gen_range(1..=4);
                let mut xs = vec![a];
                xs.extend((1..k).map(|_| self.pick()));
                let cs: Vec<f64> = (0..k).map(|_| self.constant(-2.0, 2.0)).collect();
                let r = xs
                    .iter()
                    .zip(&cs)
                    .fold(Range::new(0.0, 0.0), |acc, (&x, &c)| {
                        acc.add(self.range(x).scale(c))
                    });
                one(DotConst(xs, cs), r)
            }
            3 => {
                let b = self.pick();
                let r = self
                    .range(a)
                    .square()
                    .add(self.range(b).square())
                    .add(Range::new(1.0, 1.0))
                    .monotone(f64::sqrt);
                one(Norm(a, b), r)
            }
            k if k < NARY_KINDS + BINARIES.len() => self.binary(&BINARIES[k - NARY_KINDS], a),
            k => {
                let k = k - NARY_KINDS - BINARIES.len();
                let (kind, choices) = match FIXED.get(k) {
                    Some(f) => (f.kind, f.choices),
                    None => {
                        let f = &FUNCTIONS[k - FIXED.len()];
                        (f.kind, f.param_choices)
                    }
                };
                self.one_input(kind, choices, a)
            }
        }
    }

    /// The operation `op` of the table on `a` and an operand drawn here, each guarded into its
    /// domain; `None` where the operands come near a tie that is a kink.
    fn binary(&mut self, op: &BinarySpec, a: usize) -> Option<(Node, Range)> {
        let b = self.pick();
        let x = self.guard_into(a, op.domains[0])?;
        let y = self.guard_into(b, op.domains[1])?;
        let (rx, ry) = (self.range(x), self.range(y));
        if op.tie && !(rx.lo >= ry.hi + KINK_MARGIN || ry.lo >= rx.hi + KINK_MARGIN) {
            return None;
        }
        // Monotone in each operand while the other is fixed (the table's promise inside the
        // domains), so the values at the corners bound it over the box.
        let value = |u: f64, v: f64| op.rule.eval(u, v).0;
        let corners = [
            value(rx.lo, ry.lo),
            value(rx.lo, ry.hi),
            value(rx.hi, ry.lo),
            value(rx.hi, ry.hi),
        ];
        Some((Node::Binary(op.kind, x, y), Range::hull(&corners)))
    }

    /// The operation of one Var `kind` of the table on `a`, with a number drawn from `choices`
    /// (none when empty), guarded into its domain; `None` where the operand comes near its kink.
    fn one_input(&mut self, kind: OpKind, choices: &[f64], a: usize) -> Option<(Node, Range)> {
        let n = if choices.is_empty() {
            0.0
        } else {
            choices[self.rng.gen_range(0..choices.len())]
        };
        let f = one_input(kind, n);
        let u = self.guard_into(a, f.domain)?;
        let r = self.range(u);
        if let Some(kink) = f.kink {
            if !r.add(Range::new(-kink, -kink)).clear_of_zero(KINK_MARGIN) {
                return None;
            }
        }
        let value = |x: f64| rule(kind, n).eval(x).0;
        let image = match f.image {
            Image::Monotone => r.monotone(value),
            Image::Within(lo, hi) => Range::new(lo, hi),
            Image::Even => {
                let big = r.lo.abs().max(r.hi.abs());
                let small = if r.lo > 0.0 || r.hi < 0.0 {
                    r.lo.abs().min(r.hi.abs())
                } else {
                    0.0
                };
                Range::new(value(small), value(big))
            }
        };
        Some((Node::Unary(kind, u, n), image))
    }

    /// `a`, or guard nodes that bring it inside the open interval `domain` with a margin: where
    /// the domain is bounded below only (at 0 or below), an operand of at least [`POSITIVE`];
    /// where it is bounded on both sides (symmetric about 0, as `tan`'s), `tanh(a)` scaled to
    /// three quarters of it.
    fn guard_into(&mut self, a: usize, (lo, hi): (f64, f64)) -> Option<usize> {
        let r = self.range(a);
        if lo == f64::NEG_INFINITY && hi == f64::INFINITY {
            return Some(a);
        }
        if hi == f64::INFINITY {
            if r.lo >= lo + POSITIVE && r.within_cap() {
                return Some(a);
            }
            return self.positive(a);
        }
        let inner = 0.76 * hi.min(-lo);
        if r.lo >= -inner && r.hi <= inner {
            return Some(a);
        }
        let t = self.push(Node::Unary(OpKind::Tanh, a, 0.0), r.monotone(f64::tanh));
        if inner >= 1.0 {
            Some(t)
        } else {
            let scaled = self.range(t).scale(inner);
            Some(self.push(Node::Unary(OpKind::MulConst, t, inner), scaled))
        }
    }

    /// Appends one operation (and any guards it needs) whose range stays within [`CAP`].
    fn step(&mut self) {
        for _ in 0..ATTEMPTS {
            let kind = self.rng.gen_range(0..KINDS);
            let mark = self.nodes.len();
            if let Some((node, range)) = self.try_kind(kind) {
                self.push(node, range);
                let fresh = self.inputs + mark..self.ranges.len();
                if fresh
                    .clone()
                    .all(|i| self.ranges[i].within_cap() && self.slopes[i] <= SLOPE_CAP)
                {
                    return;
                }
            }
            // Drop a rejected attempt with its guards, so that they do not pile up unused.
            self.nodes.truncate(mark);
            self.ranges.truncate(self.inputs + mark);
            self.slopes.truncate(self.inputs + mark);
        }
        let a = self.pick();
        let r = self.range(a).monotone(f64::tanh);
        self.push(Node::Unary(OpKind::Tanh, a, 0.0), r);
    }
}

impl Expr {
    /// A random expression over `inputs` inputs with about `ops` operations (guards and the final
    /// sum add a few), valid for inputs in `[-2, 2]`.
    ///
    /// The same RNG state gives the same expression, and with `ops` smaller, a prefix of it (so a
    /// proptest strategy that shrinks `ops` shrinks the expression).
    ///
    /// # Panics
    ///
    /// When `inputs` is 0.
    ///
    /// # Examples
    ///
    /// ```
    /// use rand::{rngs::StdRng, SeedableRng};
    /// use tapegrad::check::Expr;
    ///
    /// let expr = Expr::random(&mut StdRng::seed_from_u64(1), 2, 10);
    /// assert_eq!(expr.inputs(), 2);
    /// assert!(expr.len() >= 10);
    /// assert_eq!(expr.bound(), 2.0);
    /// ```
    pub fn random<R: Rng + ?Sized>(rng: &mut R, inputs: usize, ops: usize) -> Expr {
        Expr::random_within(rng, inputs, ops, INPUT_BOUND)
    }

    /// [`Expr::random`] with a [`StdRng`] seeded from `seed`: the same seed
    /// gives the same expression (for a given version of `rand`), so a failing case can be
    /// reproduced from the seed alone.
    ///
    /// # Panics
    ///
    /// When `inputs` is 0.
    ///
    /// # Examples
    ///
    /// ```
    /// use tapegrad::check::Expr;
    ///
    /// let a = Expr::from_seed(42, 2, 15);
    /// assert_eq!(a, Expr::from_seed(42, 2, 15));
    /// assert_ne!(a, Expr::from_seed(43, 2, 15));
    /// ```
    pub fn from_seed(seed: u64, inputs: usize, ops: usize) -> Expr {
        Expr::random(&mut StdRng::seed_from_u64(seed), inputs, ops)
    }

    /// [`Expr::random`] for inputs in `[-bound, bound]`.
    ///
    /// # Panics
    ///
    /// When `inputs` is 0 or `bound` is not a finite number above 0.
    ///
    /// # Examples
    ///
    /// ```
    /// use rand::{rngs::StdRng, SeedableRng};
    /// use tapegrad::check::Expr;
    ///
    /// let expr = Expr::random_within(&mut StdRng::seed_from_u64(1), 1, 5, 0.5);
    /// assert_eq!(expr.bound(), 0.5);
    /// assert!(expr.eval(&[0.5f64]).is_finite());
    /// ```
    pub fn random_within<R: Rng + ?Sized>(
        rng: &mut R,
        inputs: usize,
        ops: usize,
        bound: f64,
    ) -> Expr {
        generate(rng, inputs, ops, bound).0
    }

    /// The number of inputs.
    ///
    /// # Examples
    ///
    /// ```
    /// use rand::{rngs::StdRng, SeedableRng};
    /// use tapegrad::check::Expr;
    ///
    /// assert_eq!(Expr::random(&mut StdRng::seed_from_u64(0), 4, 3).inputs(), 4);
    /// ```
    pub fn inputs(&self) -> usize {
        self.inputs
    }

    /// The number of operations (nodes other than the inputs); the last is the output.
    ///
    /// # Examples
    ///
    /// ```
    /// use rand::{rngs::StdRng, SeedableRng};
    /// use tapegrad::check::Expr;
    /// use tapegrad::Tape;
    ///
    /// let expr = Expr::random(&mut StdRng::seed_from_u64(0), 2, 8);
    /// let tape = Tape::new();
    /// let xs = tape.vars(&[0.5, 1.0]);
    /// let _ = expr.build(&xs);
    /// assert_eq!(tape.len(), 2 + expr.len());
    /// ```
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// `true` when the expression has no operation: its output is its last input. Never the
    /// case for an expression from [`Expr::random`] with `ops > 0`.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// The expression is valid — smooth, in every operation's domain — for inputs in
    /// `[-bound, bound]`.
    pub fn bound(&self) -> f64 {
        self.bound
    }

    /// How many times each slot (the inputs, then the operations) is an operand of a later
    /// operation. Most random expressions use some slot several times.
    ///
    /// # Examples
    ///
    /// ```
    /// use rand::{rngs::StdRng, SeedableRng};
    /// use tapegrad::check::Expr;
    ///
    /// let expr = Expr::random(&mut StdRng::seed_from_u64(3), 2, 30);
    /// let uses = expr.uses();
    /// assert_eq!(uses.len(), 2 + expr.len());
    /// assert!(uses.iter().any(|&n| n >= 2));
    /// ```
    pub fn uses(&self) -> Vec<usize> {
        let mut uses = vec![0; self.inputs + self.nodes.len()];
        for node in &self.nodes {
            for x in node.operands() {
                uses[x] += 1;
            }
        }
        uses
    }

    /// Inputs drawn uniformly from `[-bound, bound]`.
    ///
    /// # Examples
    ///
    /// ```
    /// use rand::{rngs::StdRng, SeedableRng};
    /// use tapegrad::check::Expr;
    ///
    /// let mut rng = StdRng::seed_from_u64(5);
    /// let expr = Expr::random(&mut rng, 3, 10);
    /// let at = expr.sample_inputs(&mut rng);
    /// assert_eq!(at.len(), 3);
    /// assert!(at.iter().all(|x| x.abs() <= 2.0));
    /// ```
    pub fn sample_inputs<R: Rng + ?Sized>(&self, rng: &mut R) -> Vec<f64> {
        (0..self.inputs)
            .map(|_| rng.gen_range(-self.bound..=self.bound))
            .collect()
    }

    /// Records the expression on the tape of `xs`, one Var per input, and returns the output.
    ///
    /// # Panics
    ///
    /// When `xs` does not hold one Var per input, or its Vars belong to different tapes.
    ///
    /// # Examples
    ///
    /// ```
    /// use rand::{rngs::StdRng, SeedableRng};
    /// use tapegrad::check::Expr;
    /// use tapegrad::Tape;
    ///
    /// let expr = Expr::random(&mut StdRng::seed_from_u64(9), 2, 12);
    /// let tape = Tape::<f32>::new();
    /// let xs = tape.vars(&[0.25, -1.0]);
    /// let g = expr.build(&xs).backward();
    /// assert!(g.wrt_all(&xs).iter().all(|d| d.is_finite()));
    /// ```
    pub fn build<'t, T: Scalar>(&self, xs: &[Var<'t, T>]) -> Var<'t, T> {
        assert!(
            xs.len() == self.inputs,
            "Expr::build: got {} Vars for an expression over {} inputs; pass one Var per input",
            xs.len(),
            self.inputs
        );
        let tape = xs[0].tape();
        let c = T::from_f64;
        let mut v: Vec<Var<'t, T>> = Vec::with_capacity(self.inputs + self.nodes.len());
        v.extend_from_slice(xs);
        for node in &self.nodes {
            use Node::*;
            let value = match *node {
                Binary(kind, a, b) => v[a].binary(v[b], binary_spec(kind).rule, kind.name()),
                Unary(kind, a, n) => v[a].unary(rule(kind, n)),
                Sum(ref xs) => {
                    let operands: Vec<Var<'t, T>> = xs.iter().map(|&x| v[x]).collect();
                    tape.sum(&operands)
                }
                Dot(ref xs, ref ys) => {
                    let left: Vec<Var<'t, T>> = xs.iter().map(|&x| v[x]).collect();
                    let right: Vec<Var<'t, T>> = ys.iter().map(|&y| v[y]).collect();
                    tape.dot(&left, &right)
                }
                DotConst(ref xs, ref cs) => {
                    let left: Vec<Var<'t, T>> = xs.iter().map(|&x| v[x]).collect();
                    let right: Vec<T> = cs.iter().map(|&k| c(k)).collect();
                    tape.dot(&left, &right)
                }
                Norm(a, b) => {
                    let (x, y) = (v[a], v[b]);
                    let n = norm(x.value(), y.value());
                    tape.custom(n, &[(x, x.value() / n), (y, y.value() / n)])
                }
            };
            v.push(value);
        }
        // invariant: `v` holds the inputs, and `xs` is not empty (checked above).
        *v.last().unwrap()
    }

    /// Computes the expression on plain numbers, with the formulas the tape's operations use,
    /// so that the result equals [`build`](Expr::build)'s output value bit for bit.
    ///
    /// # Panics
    ///
    /// When `at` does not hold one number per input.
    ///
    /// # Examples
    ///
    /// ```
    /// use rand::{rngs::StdRng, SeedableRng};
    /// use tapegrad::check::Expr;
    /// use tapegrad::Tape;
    ///
    /// let expr = Expr::random(&mut StdRng::seed_from_u64(11), 2, 15);
    /// let tape = Tape::<f32>::new();
    /// let xs = tape.vars(&[1.5, -0.5]);
    /// assert_eq!(expr.eval(&[1.5f32, -0.5]), expr.build(&xs).value());
    /// ```
    pub fn eval<T: Scalar>(&self, at: &[T]) -> T {
        // invariant: `values` holds the inputs, and there is at least one (checked by `random`).
        *self.values(at).last().unwrap()
    }

    /// The values of every slot (inputs, then operations) at `at`.
    fn values<T: Scalar>(&self, at: &[T]) -> Vec<T> {
        assert!(
            at.len() == self.inputs,
            "Expr::eval: got {} numbers for an expression over {} inputs; pass one number per input",
            at.len(),
            self.inputs
        );
        let c = T::from_f64;
        let mut v: Vec<T> = Vec::with_capacity(self.inputs + self.nodes.len());
        v.extend_from_slice(at);
        // Values go through the same rules as recording (`crate::ops`), so that they agree with
        // the tape bit for bit and cannot drift from it.
        let un = |op: Unary<T>, x: T| op.eval(x).0;
        let bin = |op: Binary, x: T, y: T| op.eval(x, y).0;
        for node in &self.nodes {
            use Node::*;
            let value = match *node {
                Binary(kind, a, b) => bin(binary_spec(kind).rule, v[a], v[b]),
                Unary(kind, a, n) => un(rule(kind, n), v[a]),
                Sum(ref xs) => xs.iter().fold(T::zero(), |acc, &x| acc + v[x]),
                Dot(ref xs, ref ys) => weighted_sum(xs.iter().zip(ys).map(|(&x, &y)| (v[x], v[y]))),
                DotConst(ref xs, ref cs) => {
                    weighted_sum(xs.iter().zip(cs).map(|(&x, &k)| (v[x], c(k))))
                }
                Norm(a, b) => norm(v[a], v[b]),
            };
            v.push(value);
        }
        v
    }

    /// The name of slot `i` in the printed form: `x0, x1, …` for the inputs, `v0, v1, …` for the
    /// operations.
    fn slot(&self, i: usize) -> String {
        if i < self.inputs {
            format!("x{i}")
        } else {
            format!("v{}", i - self.inputs)
        }
    }

    fn list(&self, xs: &[usize]) -> String {
        xs.iter()
            .map(|&x| self.slot(x))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// [`Expr::random_within`], also returning the range of every slot.
fn generate<R: Rng + ?Sized>(
    rng: &mut R,
    inputs: usize,
    ops: usize,
    bound: f64,
) -> (Expr, Vec<Range>) {
    assert!(
        inputs > 0,
        "Expr::random: got 0 inputs; an expression needs at least one"
    );
    assert!(
        bound.is_finite() && bound > 0.0,
        "Expr::random_within: got bound {bound}; pass a finite number above 0"
    );
    // Widen the inputs' range by more than any finite-difference step (`f32`'s default is
    // 0.005 * max(1, |x|)), so that `x ± h` stays where the guards hold.
    let widened = bound + 0.05 * bound.max(1.0);
    let mut generator = Generator {
        rng,
        ranges: vec![Range::new(-widened, widened); inputs],
        slopes: vec![1.0; inputs],
        nodes: Vec::with_capacity(ops + 4),
        inputs,
    };
    for _ in 0..ops {
        generator.step();
    }
    let mut used = vec![false; generator.ranges.len()];
    for node in &generator.nodes {
        for x in node.operands() {
            used[x] = true;
        }
    }
    let last = generator.ranges.len() - 1;
    let mut tails: Vec<usize> = (inputs..last).filter(|&i| !used[i]).collect();
    if !tails.is_empty() {
        tails.push(last);
        let r = tails
            .iter()
            .fold(Range::new(0.0, 0.0), |acc, &x| acc.add(generator.range(x)));
        generator.push(Node::Sum(tails), r);
    }
    let expr = Expr {
        inputs,
        bound,
        nodes: generator.nodes,
    };
    (expr, generator.ranges)
}

/// `sqrt(a² + b² + 1)`, the value of the custom operation in random expressions.
fn norm<T: Scalar>(a: T, b: T) -> T {
    (a * a + b * b + T::one()).sqrt()
}

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inputs: Vec<usize> = (0..self.inputs).collect();
        write!(
            f,
            "expression over {} for inputs in [-{b}, {b}]:",
            self.list(&inputs),
            b = self.bound
        )?;
        for (i, node) in self.nodes.iter().enumerate() {
            use Node::*;
            let s = |x: usize| self.slot(x);
            let rhs = match node {
                Binary(kind, a, b) => {
                    let op = binary_spec(*kind);
                    if op.operator {
                        op.value_text.replace("{x}", &s(*a)).replace("{y}", &s(*b))
                    } else {
                        format!("{}.{}({})", s(*a), op.method, s(*b))
                    }
                }
                Unary(kind, a, n) => match kind.function() {
                    Some(f) if f.param_choices.is_empty() => format!("{}.{}()", s(*a), f.method),
                    Some(f) => format!("{}.{}({n})", s(*a), f.method),
                    // An operation with a plain number, as explanations write it.
                    None => match rule::<f64>(*kind, *n).fixed_texts(&s(*a)) {
                        Some((value, _)) => value,
                        None => unreachable!("{} is an operation of one Var", kind.name()),
                    },
                },
                Sum(xs) => format!("sum[{}]", self.list(xs)),
                Dot(xs, ys) => format!("dot[{}] · [{}]", self.list(xs), self.list(ys)),
                DotConst(xs, cs) => format!(
                    "dot[{}] · [{}]",
                    self.list(xs),
                    cs.iter().map(f64::to_string).collect::<Vec<_>>().join(", ")
                ),
                Norm(a, b) => format!("custom sqrt({a}² + {b}² + 1)", a = s(*a), b = s(*b)),
            };
            write!(f, "\n  v{i} = {rhs}")?;
        }
        let output = self.inputs + self.nodes.len() - 1;
        write!(f, "\n  output {}", self.slot(output))
    }
}

impl fmt::Debug for Expr {
    /// The same as `Display`: one operation per line, so a failing test prints a readable case.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    use super::*;

    #[test]
    fn prints_one_operation_per_line() {
        let expr = Expr {
            inputs: 2,
            bound: 2.0,
            nodes: vec![
                Node::Binary(OpKind::Mul, 0, 1),
                Node::Unary(OpKind::Sin, 2, 0.0),
                Node::Unary(OpKind::Powi, 3, 3.0),
                Node::Unary(OpKind::AddConst, 4, -0.5),
                Node::DotConst(vec![2, 5], vec![0.5, -1.25]),
                Node::Norm(0, 6),
            ],
        };
        assert_eq!(
            expr.to_string(),
            "expression over x0, x1 for inputs in [-2, 2]:\n  \
             v0 = x0 * x1\n  \
             v1 = v0.sin()\n  \
             v2 = v1^3\n  \
             v3 = v2 - 0.5\n  \
             v4 = dot[v0, v3] · [0.5, -1.25]\n  \
             v5 = custom sqrt(x0² + v4² + 1)\n  \
             output v5"
        );
        assert_eq!(format!("{expr:?}"), expr.to_string());
    }

    #[test]
    fn a_smaller_op_count_gives_a_prefix_of_the_expression() {
        let long = Expr::random(&mut StdRng::seed_from_u64(4), 3, 40);
        let short = Expr::random(&mut StdRng::seed_from_u64(4), 3, 10);
        let body =
            short.nodes.len() - usize::from(matches!(short.nodes.last(), Some(Node::Sum(_))));
        assert!(body >= 10);
        assert_eq!(short.nodes[..body], long.nodes[..body]);
    }

    #[test]
    fn every_kind_of_operation_is_generated() {
        let mut seen = std::collections::HashSet::new();
        let mut rng = StdRng::seed_from_u64(0);
        for _ in 0..50 {
            for node in Expr::random(&mut rng, 3, 40).nodes {
                let kind = match node {
                    Node::Unary(kind, _, _) | Node::Binary(kind, _, _) => Some(kind),
                    _ => None,
                };
                seen.insert((std::mem::discriminant(&node), kind));
            }
        }
        // Every n-ary kind and the custom `Norm`, every operation of two Vars and every
        // operation of one Var.
        let all = NARY_KINDS + BINARIES.len() + FIXED.len() + FUNCTIONS.len();
        assert_eq!(seen.len(), all);
    }

    #[test]
    fn every_value_stays_in_its_range_across_the_widened_input_box() {
        let mut rng = StdRng::seed_from_u64(8);
        for _ in 0..100 {
            let (expr, ranges) = generate(&mut rng, 2, 30, 2.0);
            let edge = 2.1;
            for _ in 0..20 {
                let at = [rng.gen_range(-edge..=edge), rng.gen_range(-edge..=edge)];
                for (slot, (value, range)) in expr.values(&at).iter().zip(&ranges).enumerate() {
                    assert!(
                        range.lo - 1e-9 <= *value && *value <= range.hi + 1e-9,
                        "{} = {value} outside [{}, {}] at {at:?} in {expr}",
                        expr.slot(slot),
                        range.lo,
                        range.hi
                    );
                }
            }
        }
    }
}
