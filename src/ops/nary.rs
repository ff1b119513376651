//! One-node n-ary operations — [`Tape::sum`] and [`Tape::dot`] — and user-defined operations.
//!
//! A neuron's weighted sum of n inputs is one node with n (or 2n) operands, not a chain of 2n
//! binary nodes: the tape is smaller and both recording and the sweep are faster.

use crate::ops::{OpKind, Shape, paren};
use crate::{Scalar, Tape, Var};

/// The n-ary operations — [`Tape::sum`], [`Tape::dot`] of Vars or of numbers, custom nodes —
/// each declared once, as the operations of one and two inputs are in the tables: its kind, its
/// name, how the tape lays out its operands, its value from its operands, and the formulas an
/// explanation prints. Recording, forward recomputation, replay and explanations read these.
/// Their partials are the tape's to keep: `1` for a sum (none stored), a dot's partners or
/// numbers, a custom node's given ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Nary {
    /// `x₁ + … + xₙ`.
    Sum,
    /// `x₁y₁ + … + xₙyₙ`: operands `x₁…xₙ y₁…yₙ`, each one's partial its partner.
    Dot,
    /// `x₁c₁ + … + xₙcₙ`: each `cᵢ` kept as `xᵢ`'s partial.
    DotConst,
    /// A value and partials its rule or its caller gave, kept on the tape.
    Custom,
}

impl Nary {
    /// The rule of the recorded kind `kind`, if it is n-ary.
    #[inline(always)]
    pub(crate) const fn of(kind: OpKind) -> Option<Nary> {
        match kind {
            OpKind::Sum => Some(Nary::Sum),
            OpKind::Dot => Some(Nary::Dot),
            OpKind::DotConst => Some(Nary::DotConst),
            OpKind::Custom => Some(Nary::Custom),
            _ => None,
        }
    }

    /// The short name of messages and explanations.
    pub(crate) const fn name(self) -> &'static str {
        match self {
            Nary::Sum => "sum",
            Nary::Dot | Nary::DotConst => "dot",
            Nary::Custom => "custom",
        }
    }

    /// How the tape lays out its operands: a sum's partials are all `1` and not stored.
    #[inline(always)]
    pub(crate) const fn shape(self) -> Shape {
        match self {
            Nary::Sum => Shape::UnitNary,
            Nary::Dot | Nary::DotConst | Nary::Custom => Shape::Nary,
        }
    }

    /// The value of a node of `n` operands, from the operands' values `x(k)`, its stored
    /// partials `d(k)` (a [`Nary::DotConst`]'s numbers) and its constant `konst` (a custom
    /// node's value, which its rule or its caller gave when it was recorded).
    #[inline(always)]
    pub(crate) fn value<T: Scalar>(
        self,
        n: usize,
        x: impl Fn(usize) -> T,
        d: impl Fn(usize) -> T,
        konst: T,
    ) -> T {
        match self {
            Nary::Sum => sum((0..n).map(x)),
            Nary::Dot => {
                let h = n / 2;
                weighted_sum((0..h).map(|k| (x(k), x(h + k))))
            }
            Nary::DotConst => weighted_sum((0..n).map(|k| (x(k), d(k)))),
            Nary::Custom => konst,
        }
    }

    /// What an explanation prints for a node whose operands are named `names`: the terms its
    /// value adds (one for a custom node) and each operand's partial, `d(k)` being the stored
    /// partials.
    pub(crate) fn texts<T: Scalar>(
        self,
        names: &[String],
        d: impl Fn(usize) -> T,
    ) -> (Vec<String>, Vec<String>) {
        let n = names.len();
        match self {
            Nary::Sum => (names.to_vec(), vec!["1".to_string(); n]),
            Nary::Dot => {
                let h = n / 2;
                let partner = |k: usize| if k < h { h + k } else { k - h };
                let terms = (0..h).map(|k| format!("{} * {}", names[k], names[h + k]));
                let partials = (0..n).map(|k| names[partner(k)].clone());
                (terms.collect(), partials.collect())
            }
            Nary::DotConst => {
                let terms = (0..n).map(|k| format!("{} * {}", names[k], paren(d(k))));
                (terms.collect(), (0..n).map(|k| d(k).to_string()).collect())
            }
            // The user (or the operation) vouches for the partials.
            Nary::Custom => (
                vec![format!("{}({})", self.name(), names.join(", "))],
                vec!["given".to_string(); n],
            ),
        }
    }
}

/// `x₁ + … + xₙ` from zero, in the order given: a sum node's value, for recording, forward
/// recomputation and replay alike.
#[inline(always)]
pub(crate) fn sum<T: Scalar>(xs: impl Iterator<Item = T>) -> T {
    xs.fold(T::zero(), |acc, x| acc + x)
}

/// The rule of a custom operation that can be replayed ([`Tape::custom_rule`]): from the values
/// of its inputs and its constants, it returns the operation's value and writes the partial
/// `∂value/∂inputᵢ` into `partials[i]` (one slot per input, zeroed before the call).
///
/// A plain function, not a closure: the compiled tape keeps it and calls it again on new input
/// values, so everything it depends on besides the inputs must be in `consts`.
pub type CustomRule<T> = fn(inputs: &[T], consts: &[T], partials: &mut [T]) -> T;

/// The rules of custom nodes recorded with [`Tape::custom_rule`], in node order, with their
/// constants in one buffer: a tape's (cleared with it), and a compiled tape's, under the
/// program's node indices.
#[derive(Clone)]
pub(crate) struct Rules<T> {
    /// Node index, rule, and where its constants start and end in `consts`.
    entries: Vec<(u32, CustomRule<T>, usize, usize)>,
    consts: Vec<T>,
    /// The input values and the partials of the node being run, kept so that running a rule
    /// allocates nothing once they have grown.
    inputs: Vec<T>,
    partials: Vec<T>,
    /// The entry after the one [`replay`](Rules::replay) ran last: a pass runs the custom nodes
    /// in recorded order, so the next call usually wants this one.
    next: usize,
}

impl<T> Default for Rules<T> {
    fn default() -> Self {
        Rules {
            entries: Vec::new(),
            consts: Vec::new(),
            inputs: Vec::new(),
            partials: Vec::new(),
            next: 0,
        }
    }
}

impl<T: Scalar> Rules<T> {
    /// Runs `rule` on `inputs` and `consts`, for recording; the partials are left in
    /// `self.partials`.
    fn evaluate(
        &mut self,
        rule: CustomRule<T>,
        inputs: impl ExactSizeIterator<Item = T>,
        consts: &[T],
    ) -> T {
        self.partials.clear();
        self.partials.resize(inputs.len(), T::zero());
        apply(rule, &mut self.inputs, inputs, consts, &mut self.partials)
    }

    /// Runs the rule of custom node `node` on the values of its operands, for replay, writing
    /// its partials into `partials`. Kept out of line, and finding the rule by the node's index,
    /// so that the rare custom node adds nothing to the replay's forward loop.
    ///
    /// The rule is looked for first after the one run last, then by a binary search: custom
    /// nodes run in recorded order cost no search.
    #[inline(never)]
    pub(crate) fn replay(
        &mut self,
        node: u32,
        operands: &[u32],
        value: impl Fn(u32) -> T,
        partials: &mut [T],
    ) -> T {
        let at = match self.entries.get(self.next) {
            Some(e) if e.0 == node => self.next,
            _ => self
                .entries
                .binary_search_by_key(&node, |e| e.0)
                .expect("invariant: compile keeps the rule of every custom node"),
        };
        self.next = at + 1;
        let (_, rule, start, end) = self.entries[at];
        let inputs = operands.iter().map(|&x| value(x));
        apply(
            rule,
            &mut self.inputs,
            inputs,
            &self.consts[start..end],
            partials,
        )
    }

    /// Makes room for the inputs of a node with `n` operands, so that [`replay`](Rules::replay)
    /// need not grow the buffer.
    pub(crate) fn reserve_inputs(&mut self, n: usize) {
        self.inputs.reserve(n);
    }
}

/// Gathers `inputs` into `scratch`, zeroes `partials` and runs `rule`: the one way a rule is
/// called, by recording and by replay alike.
fn apply<T: Scalar>(
    rule: CustomRule<T>,
    scratch: &mut Vec<T>,
    inputs: impl Iterator<Item = T>,
    consts: &[T],
    partials: &mut [T],
) -> T {
    scratch.clear();
    scratch.extend(inputs);
    partials.fill(T::zero());
    rule(scratch, consts, partials)
}

impl<T: Copy> Rules<T> {
    pub(crate) fn push(&mut self, node: u32, rule: CustomRule<T>, consts: &[T]) {
        let start = self.consts.len();
        self.consts.extend_from_slice(consts);
        self.entries.push((node, rule, start, self.consts.len()));
    }

    /// The rule and constants of custom node `node`, if it was recorded with a rule.
    pub(crate) fn get(&self, node: u32) -> Option<(CustomRule<T>, &[T])> {
        // Nodes are recorded in increasing order, so the entries are sorted by node.
        let at = self.entries.binary_search_by_key(&node, |e| e.0).ok()?;
        let (_, rule, start, end) = self.entries[at];
        Some((rule, &self.consts[start..end]))
    }

    /// Renames the node of every rule with `new`, which must keep their order.
    pub(crate) fn renumber(&mut self, new: impl Fn(u32) -> u32) {
        for entry in &mut self.entries {
            entry.0 = new(entry.0);
        }
        debug_assert!(self.entries.is_sorted_by_key(|e| e.0));
    }

    pub(crate) fn clear(&mut self) {
        self.entries.clear();
        self.consts.clear();
    }

    /// The bytes the buffers hold, for the thread's pool of buffers.
    pub(crate) fn capacity_bytes(&self) -> usize {
        self.entries.capacity() * std::mem::size_of::<(u32, CustomRule<T>, usize, usize)>()
            + (self.consts.capacity() + self.inputs.capacity() + self.partials.capacity())
                * std::mem::size_of::<T>()
    }
}

/// The second argument of [`Tape::dot`]: a slice of Vars, or a slice of plain numbers.
///
/// Implemented for `&[Var]`, `&[T]` and the `Vec` and array forms of both, so that
/// `tape.dot(&weights, &inputs)` compiles whether the inputs are Vars or data.
pub trait DotOperand<'t, T: Scalar>: sealed::Sealed {
    /// Records `xs · self` on `tape` as one node.
    #[doc(hidden)]
    fn dot_with(self, tape: &'t Tape<T>, xs: &[Var<'t, T>]) -> Var<'t, T>;
}

mod sealed {
    pub trait Sealed {}
    impl<'t, T: crate::Scalar> Sealed for &[crate::Var<'t, T>] {}
    impl<'t, T: crate::Scalar> Sealed for &Vec<crate::Var<'t, T>> {}
    impl<'t, T: crate::Scalar, const N: usize> Sealed for &[crate::Var<'t, T>; N] {}
    impl<T: crate::Scalar> Sealed for &[T] {}
    impl<T: crate::Scalar> Sealed for &Vec<T> {}
    impl<T: crate::Scalar, const N: usize> Sealed for &[T; N] {}
}

#[cold]
#[inline(never)]
#[track_caller]
fn length_mismatch(xs: usize, ys: usize, what: &str) -> ! {
    panic!("dot: got {xs} inputs and {ys} {what}; pass slices of equal length")
}

/// `Σ xᵢcᵢ` in the order given, `x₀c₀ + x₁c₁ + …` as written out by hand (0 when empty): the
/// one definition used by recording and replay alike. Starting from the first product rather
/// than from `0 + x₀c₀` keeps a sum of negative zeros negative, as the written-out sum is, and
/// saves an addition per dot product.
#[inline(always)]
pub(crate) fn weighted_sum<T: Scalar>(mut pairs: impl Iterator<Item = (T, T)>) -> T {
    match pairs.next() {
        Some((x, c)) => pairs.fold(x * c, |acc, (x, c)| acc + x * c),
        None => T::zero(),
    }
}

/// The start of a sum of products accumulated term by term as [`weighted_sum`] sums them:
/// `-0`, which each first term replaces exactly (`-0 + t = t` for every `t`), or `0` for an
/// empty sum.
#[inline(always)]
fn sum_start<T: Scalar>(n: usize) -> T {
    if n == 0 { T::zero() } else { -T::zero() }
}

impl<'t, T: Scalar> DotOperand<'t, T> for &[Var<'t, T>] {
    #[inline]
    #[track_caller]
    fn dot_with(self, tape: &'t Tape<T>, xs: &[Var<'t, T>]) -> Var<'t, T> {
        let ys = self;
        let n = xs.len();
        if ys.len() != n {
            length_mismatch(n, ys.len(), "weights");
        }
        let mut value = sum_start(n);
        // Parents x₁…xₙ y₁…yₙ with partials ∂/∂xᵢ = yᵢ and ∂/∂yᵢ = xᵢ, written in one pass that
        // also checks the tapes and sums the products (in order, as `weighted_sum` does for
        // `Nary::Dot`'s value).
        let id = tape.push_nary_with(OpKind::Dot, 2 * n, 2 * n, &[], |parents, partials| {
            let (px, py) = parents.split_at_mut(n);
            let (dx, dy) = partials.split_at_mut(n);
            let slots = px.iter_mut().zip(py).zip(dx.iter_mut().zip(dy));
            let mut own = true;
            for (((px, py), (dx, dy)), (x, y)) in slots.zip(xs.iter().zip(ys)) {
                own &= std::ptr::eq(x.tape(), tape) & std::ptr::eq(y.tape(), tape);
                value += x.value() * y.value();
                (*px, *py) = (x.id().0, y.id().0);
                (*dx, *dy) = (y.value(), x.value());
            }
            own
        });
        let Some(id) = id else {
            crate::var::mixed_tapes("dot")
        };
        Var::from_parts(tape, id, value)
    }
}

impl<'t, T: Scalar> DotOperand<'t, T> for &[T] {
    #[inline]
    #[track_caller]
    fn dot_with(self, tape: &'t Tape<T>, xs: &[Var<'t, T>]) -> Var<'t, T> {
        let n = xs.len();
        if self.len() != n {
            length_mismatch(n, self.len(), "numbers");
        }
        let mut value = sum_start(n);
        let id = tape.push_nary_with(OpKind::DotConst, n, n, &[], |parents, partials| {
            let slots = parents.iter_mut().zip(partials.iter_mut());
            let mut own = true;
            for ((p, d), (x, &c)) in slots.zip(xs.iter().zip(self)) {
                own &= std::ptr::eq(x.tape(), tape);
                value += x.value() * c;
                (*p, *d) = (x.id().0, c);
            }
            own
        });
        let Some(id) = id else {
            crate::var::mixed_tapes("dot")
        };
        Var::from_parts(tape, id, value)
    }
}

impl<'t, T: Scalar> DotOperand<'t, T> for &Vec<Var<'t, T>> {
    #[inline]
    #[track_caller]
    fn dot_with(self, tape: &'t Tape<T>, xs: &[Var<'t, T>]) -> Var<'t, T> {
        self.as_slice().dot_with(tape, xs)
    }
}

impl<'t, T: Scalar, const N: usize> DotOperand<'t, T> for &[Var<'t, T>; N] {
    #[inline]
    #[track_caller]
    fn dot_with(self, tape: &'t Tape<T>, xs: &[Var<'t, T>]) -> Var<'t, T> {
        self.as_slice().dot_with(tape, xs)
    }
}

impl<'t, T: Scalar> DotOperand<'t, T> for &Vec<T> {
    #[inline]
    #[track_caller]
    fn dot_with(self, tape: &'t Tape<T>, xs: &[Var<'t, T>]) -> Var<'t, T> {
        self.as_slice().dot_with(tape, xs)
    }
}

impl<'t, T: Scalar, const N: usize> DotOperand<'t, T> for &[T; N] {
    #[inline]
    #[track_caller]
    fn dot_with(self, tape: &'t Tape<T>, xs: &[Var<'t, T>]) -> Var<'t, T> {
        self.as_slice().dot_with(tape, xs)
    }
}

impl<T: Scalar> Tape<T> {
    /// `x₁ + … + xₙ`, recorded as one node. The sum of no Vars is 0.
    ///
    /// Local derivatives: 1 for every input (none stored).
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
    /// let xs = tape.vars(&[1.0, 2.0, 3.0]);
    /// let s = tape.sum(&xs);
    /// assert_eq!(s.value(), 6.0);
    /// assert_eq!(tape.len(), 4);
    /// assert_eq!(s.backward()[xs[1]], 1.0);
    /// ```
    #[inline]
    #[track_caller]
    pub fn sum<'t>(&'t self, xs: &[Var<'t, T>]) -> Var<'t, T> {
        for v in xs {
            self.assert_owns(*v, "sum");
        }
        let value = sum(xs.iter().map(|x| x.value()));
        let parents = xs.iter().map(|x| x.id().0);
        let id = self.push_nary(OpKind::Sum, xs.len(), parents, std::iter::empty(), &[]);
        Var::from_parts(self, id, value)
    }

    /// The dot product `x₁y₁ + … + xₙyₙ`, recorded as one node. `ys` is a slice of Vars or of
    /// plain numbers (`&[Var]`, `&[f64]`, or their `Vec` and array forms). The products are
    /// added left to right as written, so the value has the bits of the same sum written out
    /// with `+`; an empty dot product is 0.
    ///
    /// Local derivatives: `∂/∂xᵢ = yᵢ`, and `∂/∂yᵢ = xᵢ` when `ys` are Vars.
    ///
    /// # Panics
    ///
    /// When the slices differ in length, or a Var belongs to another tape.
    ///
    /// # Examples
    ///
    /// ```
    /// use tapegrad::Tape;
    ///
    /// let tape = Tape::new();
    /// let w = tape.vars(&[0.5, -1.0]);
    /// let data = [2.0, 3.0];
    /// let neuron = tape.dot(&w, &data) + 1.0;
    /// assert_eq!(neuron.value(), -1.0);
    /// let g = neuron.backward();
    /// assert_eq!(g.wrt_all(&w), vec![2.0, 3.0]);
    ///
    /// let x = tape.vars(&[1.0, 2.0]);
    /// let d = tape.dot(&w, &x);
    /// assert_eq!(d.backward()[x[1]], -1.0);
    /// ```
    #[inline]
    #[track_caller]
    pub fn dot<'t>(&'t self, xs: &[Var<'t, T>], ys: impl DotOperand<'t, T>) -> Var<'t, T> {
        ys.dot_with(self, xs)
    }

    /// A user-defined operation: records `value` with the given local partials
    /// `∂value/∂input` for each input, as one node that takes part in backward like a built-in
    /// operation.
    ///
    /// The caller vouches for the partials; check them with [`crate::check`]. The node holds
    /// only numbers, so a [compiled tape](crate::CompiledTape) cannot replay it: record an
    /// operation that must replay with [`custom_rule`](Tape::custom_rule).
    ///
    /// # Panics
    ///
    /// When an input belongs to another tape.
    ///
    /// # Examples
    ///
    /// The error function, whose derivative is `2/√π e^(-x²)`:
    ///
    /// ```
    /// use tapegrad::{Tape, Var};
    ///
    /// fn erf(x: Var<'_>) -> Var<'_> {
    ///     let v = x.value();
    ///     // Abramowitz–Stegun 7.1.26, accurate to 1.5e-7.
    ///     let t = 1.0 / (1.0 + 0.3275911 * v.abs());
    ///     let poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741
    ///         + t * (-1.453152027 + t * 1.061405429))));
    ///     let value = (1.0 - poly * (-v * v).exp()).copysign(v);
    ///     let partial = 2.0 / std::f64::consts::PI.sqrt() * (-v * v).exp();
    ///     x.tape().custom(value, &[(x, partial)])
    /// }
    ///
    /// let tape = Tape::new();
    /// let x = tape.var(0.0);
    /// let g = (erf(x) * 3.0).backward();
    /// assert!((g[x] - 6.0 / std::f64::consts::PI.sqrt()).abs() < 1e-12);
    /// ```
    pub fn custom<'t>(&'t self, value: T, inputs: &[(Var<'t, T>, T)]) -> Var<'t, T> {
        for (v, _) in inputs {
            self.assert_owns(*v, "custom");
        }
        let parents = inputs.iter().map(|(x, _)| x.id().0);
        let partials = inputs.iter().map(|&(_, d)| d);
        let id = self.push_nary(OpKind::Custom, inputs.len(), parents, partials, &[value]);
        Var::from_parts(self, id, value)
    }

    /// A user-defined operation given by its rule: records `rule(values of inputs, consts)` as
    /// one node, like [`custom`](Tape::custom), and keeps the rule so that a
    /// [compiled tape](crate::CompiledTape) can run it again on new inputs — an operation
    /// recorded with [`custom`](Tape::custom) holds only numbers and cannot be replayed.
    ///
    /// The losses of [`crate::loss`] are recorded this way. The caller vouches for the partials;
    /// check them with [`crate::check`].
    ///
    /// # Panics
    ///
    /// When an input belongs to another tape.
    ///
    /// # Examples
    ///
    /// `c · ln(1 + x²)`, with `c` a constant, recorded once and replayed at a new `x`:
    ///
    /// ```
    /// use tapegrad::Tape;
    ///
    /// fn rule(x: &[f64], c: &[f64], partials: &mut [f64]) -> f64 {
    ///     partials[0] = c[0] * 2.0 * x[0] / (1.0 + x[0] * x[0]);
    ///     c[0] * x[0].mul_add(x[0], 1.0).ln()
    /// }
    ///
    /// let tape = Tape::new();
    /// let x = tape.var(1.0);
    /// let y = tape.custom_rule(rule, &[x], &[3.0]);
    /// assert_eq!(y.backward()[x], 3.0);
    ///
    /// let mut f = tape.compile(&[x], &[y]).unwrap();
    /// assert_eq!(f.run(&[0.0]).unwrap().grad(), &[0.0]);
    /// ```
    #[track_caller]
    pub fn custom_rule<'t>(
        &'t self,
        rule: CustomRule<T>,
        inputs: &[Var<'t, T>],
        consts: &[T],
    ) -> Var<'t, T> {
        for v in inputs {
            self.assert_owns(*v, "custom_rule");
        }
        // The rule sees plain slices and cannot record, so the table stays borrowed throughout.
        let mut rules = self.rules_mut();
        let value = rules.evaluate(rule, inputs.iter().map(|x| x.value()), consts);
        let parents = inputs.iter().map(|x| x.id().0);
        let partials = rules.partials.iter().copied();
        let id = self.push_nary(OpKind::Custom, inputs.len(), parents, partials, &[value]);
        rules.push(id.0, rule, consts);
        Var::from_parts(self, id, value)
    }
}

#[cfg(test)]
mod tests {
    use super::Nary;
    use crate::{OpKind, Tape};

    #[test]
    fn each_n_ary_kind_reads_its_rule() {
        let rules = [
            (OpKind::Sum, Nary::Sum),
            (OpKind::Dot, Nary::Dot),
            (OpKind::DotConst, Nary::DotConst),
            (OpKind::Custom, Nary::Custom),
        ];
        for (kind, rule) in rules {
            assert_eq!(Nary::of(kind), Some(rule));
            assert_eq!(kind.name(), rule.name());
            assert_eq!(kind.shape(), rule.shape());
        }
        let n_ary = OpKind::ALL.iter().filter(|&&k| Nary::of(k).is_some());
        assert_eq!(n_ary.count(), rules.len());
    }

    #[test]
    fn each_n_ary_rule_explains_its_terms_and_partials() {
        let names: Vec<String> = ["a", "b", "c", "d"].map(String::from).to_vec();
        let (terms, partials) = Nary::Dot.texts(&names, |_| 0.0);
        assert_eq!(terms, ["a * c", "b * d"]);
        assert_eq!(partials, ["c", "d", "a", "b"]);
        let ws = [2.0, -1.5];
        let (terms, partials) = Nary::DotConst.texts(&names[..2], |k| ws[k]);
        assert_eq!(terms, ["a * 2", "b * (-1.5)"]);
        assert_eq!(partials, ["2", "-1.5"]);
        let (terms, partials) = Nary::Sum.texts(&names[..3], |_| 0.0);
        assert_eq!(terms, ["a", "b", "c"]);
        assert_eq!(partials, ["1"; 3]);
        let (terms, partials) = Nary::Custom.texts(&names[..2], |_| 0.0);
        assert_eq!(terms, ["custom(a, b)"]);
        assert_eq!(partials, ["given"; 2]);
    }

    #[test]
    fn dot_of_vars_records_both_sides_partials() {
        let tape = Tape::new();
        let x = tape.vars(&[1.0, 2.0]);
        let y = tape.vars(&[3.0, 4.0]);
        let d = tape.dot(&x, &y);
        assert_eq!(tape.kind(d), OpKind::Dot);
        tape.with_storage(|s| {
            assert_eq!(s.parents, vec![4, 0, 1, 2, 3, 4]);
            assert_eq!(s.partials, vec![3.0, 4.0, 1.0, 2.0]);
        });
    }

    #[test]
    fn dot_adds_its_products_as_written_out_keeping_negative_zero() {
        let tape: Tape<f64> = Tape::new();
        let (xs, ys) = ([-0.0f64, 0.0], [1.0f64, -1.0]);
        let x = tape.vars(&xs);
        let y = tape.vars(&ys);
        // -0·1 + 0·(-1) = -0 + -0 = -0, as the sum written out gives; `0 + …` would give +0.
        let written = xs[0] * ys[0] + xs[1] * ys[1];
        assert_eq!(written.to_bits(), (-0.0f64).to_bits());
        let d = tape.dot(&x, &y);
        assert_eq!(d.value().to_bits(), written.to_bits());
        let c = tape.dot(&x, &ys);
        assert_eq!(c.value().to_bits(), written.to_bits());
        // With a positive product the sign of zero no longer matters.
        let mixed = tape.dot(&x, &[1.0, 1.0]);
        assert_eq!(mixed.value().to_bits(), 0.0f64.to_bits());
        let empty: [f64; 0] = [];
        assert_eq!(
            tape.dot(&x[..0], &empty).value().to_bits(),
            0.0f64.to_bits()
        );
        assert_eq!(
            tape.dot(&x[..0], &y[..0]).value().to_bits(),
            0.0f64.to_bits()
        );
        // Replay recomputes each with the same bits.
        let all = [x[0], x[1], y[0], y[1]];
        let mut f = tape.compile(&all, &[d, c, mixed]).unwrap();
        let r = f.run(&[-0.0, 0.0, 1.0, -1.0]).unwrap();
        let bits: Vec<u64> = r.values().iter().map(|v| v.to_bits()).collect();
        assert_eq!(
            bits,
            [written.to_bits(), written.to_bits(), 0.0f64.to_bits()]
        );
    }

    #[test]
    #[should_panic(expected = "dot: got 3 inputs and 2 numbers; pass slices of equal length")]
    fn dot_of_unequal_lengths_panics_with_both_lengths() {
        let tape = Tape::new();
        let x = tape.vars(&[1.0, 2.0, 3.0]);
        let _ = tape.dot(&x, &[1.0, 2.0]);
    }
}
