//! A backward pass that explains itself: the chain rule's four steps, with the tape's own numbers.
//!
//! [`Tape::explain`] (or [`Var::explain`]) traces one output through the four steps of the chain
//! rule, limited to the nodes the output depends on:
//!
//! 1. the intermediate variables, one per recorded operation, as equations with their values
//!    (`v2 = w1 * x1 = 1.5`);
//! 2. each one's local derivatives, as recorded on the tape (`∂v2/∂w1 = x1 = 3`);
//! 3. the reverse sweep: for every edge, the product added to which adjoint, in the order
//!    [`Var::backward`] performs it, with running sums where a variable feeds several others;
//! 4. the gradient of every leaf, as the sum over its paths with the values substituted.
//!
//! The numbers are not recomputed by a second implementation: values are replayed through the
//! rules that recorded them, and step 3 is the very sweep `backward` runs, observed edge by edge.
//! The gradients of step 4 therefore equal `backward`'s bit for bit.
//!
//! `docs/chain-rule.md` walks through the chain rule with this trace.
//!
//! # Examples
//!
//! ```
//! use tapegrad::Tape;
//!
//! let tape = Tape::new();
//! let w = tape.var_named("w", 0.5);
//! let x = tape.var_named("x", 3.0);
//! let y = (w * x).sin().named("y");
//! let explanation = y.explain();
//! assert_eq!(explanation.gradient(w.id()), Some(y.backward()[w]));
//! let text = explanation.to_string();
//! assert!(text.contains("v2 = w * x = 1.5"));
//! assert!(text.contains("∂v2/∂w = x = 3"));
//! ```

use std::fmt;

use crate::gradients::sweep;
use crate::ops::nary::Nary;
pub(crate) use crate::ops::record::{Record, decode};
use crate::ops::{OpKind, Shape, Unary, paren};
use crate::tape::{NodeId, Storage};
use crate::{Error, Scalar, Tape, Var};

/// Marks the nodes `output` depends on (itself included).
pub(crate) fn depends_on<T>(s: &Storage<T>, records: &[Record], output: usize) -> Vec<bool> {
    let mut needed = vec![false; output + 1];
    needed[output] = true;
    for i in (0..=output).rev() {
        if needed[i] {
            for &parent in records[i].parents(s) {
                needed[parent as usize] = true;
            }
        }
    }
    needed
}

/// The name of a node: the one given with [`Var::named`], or `v` and its index.
pub(crate) fn name_of<T: Scalar>(tape: &Tape<T>, id: u32) -> String {
    tape.name_of(NodeId(id)).unwrap_or_else(|| format!("v{id}"))
}

/// The adjoints of the nodes `0..=output` after a sweep seeded at `output`: exactly
/// [`Var::backward`]'s, since it is the same sweep.
pub(crate) fn adjoints_of<T: Scalar>(s: &Storage<T>, output: usize) -> Vec<T> {
    let mut adj = vec![T::zero(); output + 1];
    adj[output] = T::one();
    sweep(s, &mut adj, |_, _, _, _, _| {});
    adj
}

/// The error for an output recorded on another tape.
pub(crate) fn check_owner<T: Scalar>(
    tape: &Tape<T>,
    var: Var<'_, T>,
    op: &'static str,
) -> Result<(), Error> {
    if std::ptr::eq(tape, var.tape()) {
        Ok(())
    } else {
        Err(Error::ForeignVar { op, node: var.id() })
    }
}

/// How much [`Tape::explain_with`] shows.
///
/// # Examples
///
/// ```
/// use tapegrad::{ExplainOptions, Tape};
///
/// let tape = Tape::new();
/// let x = tape.var(1.0);
/// let mut y = x;
/// for _ in 0..100 {
///     y = y.sin();
/// }
/// let explanation = tape.explain_with(y, ExplainOptions::default().max_nodes(5))?;
/// assert_eq!(explanation.nodes.len(), 5);
/// assert_eq!(explanation.omitted_nodes, 96);
/// assert!(explanation.to_string().contains("… 96 earlier nodes not shown"));
/// # Ok::<(), tapegrad::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExplainOptions {
    max_nodes: usize,
}

impl Default for ExplainOptions {
    /// At most 64 nodes.
    fn default() -> Self {
        ExplainOptions { max_nodes: 64 }
    }
}

impl ExplainOptions {
    /// Shows at most `n` nodes in steps 1–3 (the `n` nearest the output, where the sweep starts),
    /// at most `n` leaves in step 4 and at most `n` terms per leaf; what is left out is counted
    /// and marked.
    pub fn max_nodes(mut self, n: usize) -> Self {
        self.max_nodes = n;
        self
    }
}

/// One node of the explained sub-graph, with its equation (step 1) and local derivatives (step 2).
#[derive(Debug, Clone, PartialEq)]
pub struct ExplainedNode<T = f64> {
    /// The node.
    pub id: NodeId,
    /// Its name ([`Var::name`]).
    pub name: String,
    /// Its operation.
    pub op: OpKind,
    /// The right-hand side of its equation, in terms of its parents' names (`w1 * x1`); empty for
    /// leaves.
    pub expr: String,
    /// Its value, bit for bit the one recorded.
    pub value: T,
    /// Its local derivatives, one per operand, in operand order.
    pub partials: Vec<LocalPartial<T>>,
}

/// A local derivative `∂node/∂parent`, as recorded on the tape.
#[derive(Debug, Clone, PartialEq)]
pub struct LocalPartial<T = f64> {
    /// The operand.
    pub parent: NodeId,
    /// The operand's name.
    pub parent_name: String,
    /// The derivative as a formula in names (`x1`, `1 - y²`).
    pub formula: String,
    /// The recorded value the sweep multiplies by.
    pub value: T,
}

/// One edge of the reverse sweep: `ā(parent) += partial · ā(node)`.
#[derive(Debug, Clone, PartialEq)]
pub struct SweepEdge<T = f64> {
    /// The node whose adjoint flows back.
    pub node: NodeId,
    /// Its name.
    pub node_name: String,
    /// The operand receiving the contribution.
    pub parent: NodeId,
    /// Its name.
    pub parent_name: String,
    /// The local partial `∂node/∂parent`.
    pub partial: T,
    /// The node's adjoint `ā(node)`, complete when the sweep reaches it.
    pub adjoint: T,
    /// `partial · adjoint`, the amount added.
    pub product: T,
    /// The parent's adjoint before the addition.
    pub before: T,
    /// The parent's adjoint after it: the running sum.
    pub after: T,
    /// How many contributions the parent has received, this one included.
    pub count: usize,
}

/// A node as the reverse sweep reaches it: its complete adjoint and the edges it passes it along.
#[derive(Debug, Clone, PartialEq)]
pub struct SweepNode<T = f64> {
    /// The node.
    pub id: NodeId,
    /// Its name.
    pub name: String,
    /// Its adjoint `∂output/∂node`, complete at this point.
    pub adjoint: T,
    /// The edges, in the order the sweep performs them; empty when the adjoint is 0 (the sweep
    /// skips such nodes).
    pub edges: Vec<SweepEdge<T>>,
}

/// The gradient of the output with respect to one leaf: the sum over its paths.
#[derive(Debug, Clone, PartialEq)]
pub struct LeafGradient<T = f64> {
    /// The leaf.
    pub leaf: NodeId,
    /// Its name.
    pub name: String,
    /// `true` for a constant ([`Tape::constant`], [`Var::detach`]): its gradient is 0 whatever
    /// reached it.
    pub constant: bool,
    /// The contributions, one per edge out of the leaf, in the sweep's order.
    pub terms: Vec<SweepEdge<T>>,
    /// Contributions not listed (beyond [`ExplainOptions::max_nodes`]).
    pub omitted_terms: usize,
    /// The gradient, bit for bit what [`Gradients::wrt`](crate::Gradients::wrt) returns.
    pub grad: T,
}

/// The chain rule's four steps for one output, with the numbers the tape computed.
///
/// Built by [`Tape::explain`] or [`Var::explain`]; `Display` prints the trace. The formatter's
/// precision, if given (`{:.4}`), rounds every number printed (trailing zeros dropped); without
/// one, numbers print in full, so that they can be compared with `backward`'s.
///
/// # Examples
///
/// ```
/// use tapegrad::Tape;
///
/// let tape = Tape::new();
/// let x = tape.var_named("x", 2.0);
/// let y = tape.var_named("y", 3.0);
/// let a = (x * y).named("a");
/// let z = (a + a.sin()).named("z");
/// let e = z.explain();
/// let g = z.backward();
/// assert_eq!(e.gradient(x.id()), Some(g[x]));
/// assert_eq!(e.gradient(y.id()), Some(g[y]));
/// print!("{e:.4}");
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Explanation<T = f64> {
    /// The output.
    pub output: NodeId,
    /// Its name.
    pub output_name: String,
    /// Its value.
    pub value: T,
    /// The number of nodes the output depends on, itself included.
    pub depends_on: usize,
    /// Steps 1 and 2: the shown nodes of the sub-graph, in tape order.
    pub nodes: Vec<ExplainedNode<T>>,
    /// Nodes of the sub-graph left out of steps 1–3 (the earliest ones).
    pub omitted_nodes: usize,
    /// Step 3: the shown operation nodes in the order the sweep reaches them.
    pub sweep: Vec<SweepNode<T>>,
    /// Step 4: the gradient of every shown leaf, in tape order.
    pub gradients: Vec<LeafGradient<T>>,
    /// Leaves of the sub-graph left out of step 4.
    pub omitted_leaves: usize,
}

impl<T: Scalar> Explanation<T> {
    /// The gradient of the output with respect to a leaf listed in step 4.
    ///
    /// `None` when `leaf` is not a listed leaf (not a leaf, outside the sub-graph, or left out).
    pub fn gradient(&self, leaf: NodeId) -> Option<T> {
        self.gradients
            .iter()
            .find(|g| g.leaf == leaf)
            .map(|g| g.grad)
    }
}

impl<T: Scalar> Tape<T> {
    /// Records a leaf with a name, for explanations and graph export: `tape.var(value).named(name)`.
    ///
    /// # Examples
    ///
    /// ```
    /// use tapegrad::Tape;
    ///
    /// let tape = Tape::new();
    /// let w = tape.var_named("w1", 0.5);
    /// assert_eq!(w.name(), "w1");
    /// assert_eq!(w.value(), 0.5);
    /// ```
    pub fn var_named(&self, name: impl Into<String>, value: T) -> Var<'_, T> {
        self.var(value).named(name)
    }

    /// The chain rule's four steps for `output`, showing at most 64 nodes; see
    /// [`explain_with`](Tape::explain_with).
    ///
    /// # Errors
    ///
    /// [`Error::ForeignVar`] when `output` was recorded on another tape.
    ///
    /// # Examples
    ///
    /// ```
    /// use tapegrad::Tape;
    ///
    /// let tape = Tape::new();
    /// let x = tape.var_named("x", 3.0);
    /// let y = x.powi(2).named("y");
    /// let e = tape.explain(y)?;
    /// assert_eq!(e.gradient(x.id()), Some(6.0));
    /// # Ok::<(), tapegrad::Error>(())
    /// ```
    ///
    /// A Var cannot outlive [`Tape::clear`], so there is nothing stale to explain:
    ///
    /// ```compile_fail
    /// use tapegrad::Tape;
    ///
    /// let mut tape = Tape::new();
    /// let x = tape.var(1.0);
    /// tape.clear();
    /// let _ = tape.explain(x);
    /// ```
    pub fn explain(&self, output: Var<'_, T>) -> Result<Explanation<T>, Error> {
        self.explain_with(output, ExplainOptions::default())
    }

    /// The chain rule's four steps for `output`, limited to the nodes it depends on and to what
    /// `options` allow.
    ///
    /// Costs a replay of the values and one reverse sweep up to `output`, plus the text of what
    /// is shown.
    ///
    /// # Errors
    ///
    /// [`Error::ForeignVar`] when `output` was recorded on another tape.
    ///
    /// # Examples
    ///
    /// ```
    /// use tapegrad::{Error, ExplainOptions, Tape};
    ///
    /// let tape = Tape::new();
    /// let other = Tape::new();
    /// let x = other.var(1.0);
    /// let err = tape.explain_with(x.exp(), ExplainOptions::default()).unwrap_err();
    /// assert_eq!(
    ///     err.to_string(),
    ///     "output #1 passed to 'Tape::explain' was recorded on another tape; \
    ///      call it on the tape that recorded the output"
    /// );
    /// ```
    pub fn explain_with(
        &self,
        output: Var<'_, T>,
        options: ExplainOptions,
    ) -> Result<Explanation<T>, Error> {
        check_owner(self, output, "Tape::explain")?;
        let out = output.id().index();
        Ok(self.with_storage(|s| build(self, s, out, options.max_nodes)))
    }
}

impl<'t, T: Scalar> Var<'t, T> {
    /// The chain rule's four steps for this Var, showing at most 64 nodes: [`Tape::explain`] on its
    /// own tape, which cannot fail here.
    ///
    /// # Examples
    ///
    /// ```
    /// use tapegrad::Tape;
    ///
    /// let tape = Tape::new();
    /// let x = tape.var_named("x", 0.0);
    /// let y = x.sigmoid().named("y");
    /// let e = y.explain();
    /// assert_eq!(e.gradient(x.id()), Some(0.25));
    /// assert!(e.to_string().contains("∂y/∂x = y · (1 - y) = 0.25"));
    /// ```
    pub fn explain(self) -> Explanation<T> {
        let tape = self.tape();
        let out = self.id().index();
        tape.with_storage(|s| build(tape, s, out, ExplainOptions::default().max_nodes))
    }
}

fn build<T: Scalar>(tape: &Tape<T>, s: &Storage<T>, out: usize, max: usize) -> Explanation<T> {
    let end = out + 1;
    let records = decode(s, end);
    let values = crate::ops::forward::values(s, end);
    let needed = depends_on(s, &records, out);
    let sub: Vec<usize> = (0..end).filter(|&i| needed[i]).collect();
    let shown_from = sub.len().saturating_sub(max);
    let mut shown = vec![false; end];
    for &i in &sub[shown_from..] {
        shown[i] = true;
    }
    let leaves: Vec<usize> = sub
        .iter()
        .copied()
        .filter(|&i| records[i].kind.shape() == Shape::Leaf)
        .collect();
    let shown_leaves = &leaves[..leaves.len().min(max)];
    // Slot of each listed leaf in `gradients`.
    let mut leaf_slot = vec![usize::MAX; end];
    for (k, &i) in shown_leaves.iter().enumerate() {
        leaf_slot[i] = k;
    }

    let nodes = sub[shown_from..]
        .iter()
        .map(|&i| explain_node(tape, s, &records, &values, i))
        .collect();

    let mut gradients: Vec<LeafGradient<T>> = shown_leaves
        .iter()
        .map(|&i| LeafGradient {
            leaf: NodeId(i as u32),
            name: name_of(tape, i as u32),
            constant: records[i].kind == OpKind::Const,
            terms: Vec::new(),
            omitted_terms: 0,
            grad: T::zero(),
        })
        .collect();

    // Step 3 is backward's own sweep, watched edge by edge.
    let mut adj = vec![T::zero(); end];
    adj[out] = T::one();
    let mut running = vec![T::zero(); end];
    let mut counts = vec![0usize; end];
    let mut edges: Vec<SweepEdge<T>> = Vec::new();
    sweep(s, &mut adj, |node, parent, partial, a, after| {
        let (n, p) = (node as usize, parent as usize);
        let before = running[p];
        running[p] = after;
        counts[p] += 1;
        let listed_leaf = leaf_slot[p] != usize::MAX;
        // A term past a listed leaf's first `max` is only counted: a leaf read by every node of
        // a long tape costs no names for the terms not shown.
        let term_shown = listed_leaf && gradients[leaf_slot[p]].terms.len() < max;
        if listed_leaf && !term_shown {
            gradients[leaf_slot[p]].omitted_terms += 1;
        }
        if !shown[n] && !term_shown {
            return;
        }
        let edge = SweepEdge {
            node: NodeId(node),
            node_name: name_of(tape, node),
            parent: NodeId(parent),
            parent_name: name_of(tape, parent),
            partial,
            adjoint: a,
            product: partial * a,
            before,
            after,
            count: counts[p],
        };
        if term_shown {
            gradients[leaf_slot[p]].terms.push(edge.clone());
        }
        if shown[n] {
            edges.push(edge);
        }
    });
    for g in &mut gradients {
        g.grad = adj[g.leaf.index()];
    }

    // Group the edges by node, in the order the sweep reached the nodes (reverse tape order).
    let mut sweep_nodes = Vec::new();
    let mut edges = edges.into_iter().peekable();
    for &i in sub[shown_from..].iter().rev() {
        if records[i].kind.shape() == Shape::Leaf {
            continue;
        }
        let mut node_edges = Vec::new();
        while let Some(e) = edges.next_if(|e| e.node.index() == i) {
            node_edges.push(e);
        }
        sweep_nodes.push(SweepNode {
            id: NodeId(i as u32),
            name: name_of(tape, i as u32),
            adjoint: adj[i],
            edges: node_edges,
        });
    }

    Explanation {
        output: NodeId(out as u32),
        output_name: name_of(tape, out as u32),
        value: values[out],
        depends_on: sub.len(),
        nodes,
        omitted_nodes: shown_from,
        sweep: sweep_nodes,
        gradients,
        omitted_leaves: leaves.len() - shown_leaves.len(),
    }
}

/// Terms of an n-ary sum shown before eliding the rest.
const MAX_TERMS: usize = 6;

fn explain_node<T: Scalar>(
    tape: &Tape<T>,
    s: &Storage<T>,
    records: &[Record],
    values: &[T],
    i: usize,
) -> ExplainedNode<T> {
    let r = records[i];
    let parents = r.parents(s);
    let names: Vec<String> = parents.iter().map(|&p| name_of(tape, p)).collect();
    let me = name_of(tape, i as u32);
    let (expr, formulas) = formulas(&r, s, values, parents, &names, &me);
    let same = parents.len() == 2 && parents[0] == parents[1];
    let partials = parents
        .iter()
        .enumerate()
        .map(|(k, &p)| LocalPartial {
            parent: NodeId(p),
            parent_name: if same {
                format!("{} ({} operand)", names[k], ["1st", "2nd"][k])
            } else {
                names[k].clone()
            },
            formula: formulas[k].clone(),
            value: r.partial(s, k),
        })
        .collect();
    ExplainedNode {
        id: NodeId(i as u32),
        name: me,
        op: r.kind,
        expr,
        value: values[i],
        partials,
    }
}

/// `a · b` terms of an n-ary node, eliding the middle of long ones.
fn join_terms(terms: impl ExactSizeIterator<Item = String>) -> String {
    let n = terms.len();
    if n == 0 {
        return "0".to_string();
    }
    let mut out: Vec<String> = Vec::with_capacity(MAX_TERMS + 1);
    for (k, t) in terms.enumerate() {
        if n <= MAX_TERMS || k < MAX_TERMS - 1 || k == n - 1 {
            out.push(t);
        } else if k == MAX_TERMS - 1 {
            out.push(format!("… ({} more terms)", n - MAX_TERMS));
        }
    }
    out.join(" + ")
}

/// The equation's right-hand side and one derivative formula per operand.
fn formulas<T: Scalar>(
    r: &Record,
    s: &Storage<T>,
    values: &[T],
    parents: &[u32],
    names: &[String],
    me: &str,
) -> (String, Vec<String>) {
    let zero = T::zero();
    let c = r.constant(s);
    let a = names.first().map_or("", String::as_str);
    let b = names.get(1).map_or("", String::as_str);
    let x = parents.first().map_or(zero, |&p| values[p as usize]);
    let d = |e: String, f: String| (e, vec![f]);
    // A function of the operations' table prints the formulas of its entry; a kinked one the
    // partial of the side its input is on (a NaN input reads as at the kink).
    if let Some(f) = r.kind.function() {
        let kink = T::from_f64(f.kink.unwrap_or(0.0));
        let side = if x > kink {
            std::cmp::Ordering::Greater
        } else if x < kink {
            std::cmp::Ordering::Less
        } else {
            std::cmp::Ordering::Equal
        };
        let c = paren(c);
        let fill = |text: &str| text.replace("{x}", a).replace("{y}", me).replace("{c}", &c);
        return d(fill(f.value_text), fill(f.partial_text(side)));
    }
    // An operation of two Vars prints the formulas of its entry, a piecewise one those of the
    // piece taken.
    if let Some(op) = r.kind.binary() {
        let fill = |text: &str| text.replace("{x}", a).replace("{y}", b).replace("{z}", me);
        let partials = op.partial_text(r.partial(s, 0)).map(fill);
        return (fill(op.value_text), partials.to_vec());
    }
    // So does every other operation of one input, from its rule rebuilt from the record.
    if r.kind.is_fixed_unary() {
        let rule = Unary::from_record(r.kind, c, r.partial(s, 0), r.aux);
        // invariant: a fixed unary's rule has texts.
        let (value, partial) = rule.fixed_texts(a).unwrap();
        return d(value, partial);
    }
    match Nary::of(r.kind) {
        Some(op) => {
            let (terms, partials) = op.texts(names, |k| r.partial(s, k));
            (join_terms(terms.into_iter()), partials)
        }
        // A leaf has no formulas; a comparison, on which no value depends, is never explained.
        None => (String::new(), Vec::new()),
    }
}

/// A number printed with the formatter's precision, if any, without trailing zeros.
pub(crate) struct Num<T>(pub(crate) T, pub(crate) Option<usize>);

impl<T: Scalar> fmt::Display for Num<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.1 {
            None => write!(f, "{}", self.0),
            Some(p) => {
                let text = format!("{:.*}", p, self.0);
                let text = if text.contains('.') && !text.contains(['e', 'E', 'i', 'N']) {
                    text.trim_end_matches('0').trim_end_matches('.')
                } else {
                    &text
                };
                // Rounding can leave "-0", which reads as a sign error.
                f.write_str(if text == "-0" { "0" } else { text })
            }
        }
    }
}

/// A number in parentheses when it prints with a leading minus, for the right of `·` and `+`.
struct Paren<D>(D);

impl<D: fmt::Display> fmt::Display for Paren<D> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = self.0.to_string();
        if text.starts_with('-') {
            write!(f, "({text})")
        } else {
            f.write_str(&text)
        }
    }
}

impl<T: Scalar> fmt::Display for Explanation<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let p = f.precision();
        let n = |x: T| Num(x, p);
        let out = &self.output_name;
        writeln!(
            f,
            "chain rule for {out} = {} (node {}), which depends on {} node{}",
            n(self.value),
            self.output,
            self.depends_on,
            if self.depends_on == 1 { "" } else { "s" }
        )?;
        let omitted = |f: &mut fmt::Formatter<'_>| -> fmt::Result {
            if self.omitted_nodes > 0 {
                writeln!(f, "  … {} earlier nodes not shown", self.omitted_nodes)?;
            }
            Ok(())
        };

        writeln!(f, "\nstep 1: intermediate variables, one per operation")?;
        omitted(f)?;
        for node in &self.nodes {
            match node.op {
                OpKind::Var => writeln!(f, "  {} = {}  (leaf)", node.name, n(node.value))?,
                OpKind::Const => writeln!(f, "  {} = {}  (constant)", node.name, n(node.value))?,
                _ => writeln!(f, "  {} = {} = {}", node.name, node.expr, n(node.value))?,
            }
        }

        writeln!(
            f,
            "\nstep 2: local derivatives, recorded with each operation"
        )?;
        omitted(f)?;
        for node in self.nodes.iter().filter(|node| !node.partials.is_empty()) {
            writeln!(f, "  {} = {}", node.name, node.expr)?;
            for d in &node.partials {
                write!(f, "    ∂{}/∂{} = {}", node.name, d.parent_name, d.formula)?;
                let value = n(d.value).to_string();
                // `1 (as x > 0)` already says its value.
                let says_value = d.formula == value
                    || d.formula == d.value.to_string()
                    || d.formula.starts_with(&format!("{value} ("));
                if !says_value {
                    write!(f, " = {value}")?;
                }
                writeln!(f)?;
            }
        }

        writeln!(
            f,
            "\nstep 3: reverse sweep from {out}, ā(v) = ∂{out}/∂v, seeded with ā({out}) = 1"
        )?;
        for node in &self.sweep {
            if node.edges.is_empty() {
                writeln!(
                    f,
                    "  {}: ā({}) = {}, nothing to pass on",
                    node.name,
                    node.name,
                    n(node.adjoint)
                )?;
                continue;
            }
            writeln!(
                f,
                "  {}: ā({}) = {} is complete",
                node.name,
                node.name,
                n(node.adjoint)
            )?;
            for e in &node.edges {
                write!(
                    f,
                    "    ā({}) += ∂{}/∂{} · ā({}) = {} · {} = {}",
                    e.parent_name,
                    e.node_name,
                    e.parent_name,
                    e.node_name,
                    n(e.partial),
                    Paren(n(e.adjoint)),
                    n(e.product)
                )?;
                if e.count > 1 {
                    write!(
                        f,
                        "; running sum {} + {} = {}",
                        n(e.before),
                        Paren(n(e.product)),
                        n(e.after)
                    )?;
                }
                writeln!(f)?;
            }
        }
        if self.omitted_nodes > 0 {
            writeln!(
                f,
                "  … {} earlier nodes not shown (the sweep goes on through them)",
                self.omitted_nodes
            )?;
        }

        writeln!(
            f,
            "\nstep 4: gradients of the leaves, summed over paths, values substituted"
        )?;
        for g in &self.gradients {
            write!(f, "  ∂{out}/∂{} = ", g.name)?;
            if g.leaf == self.output {
                writeln!(f, "{}", n(g.grad))?;
                continue;
            }
            if g.terms.is_empty() {
                writeln!(f, "0  (no path carries a non-zero adjoint)")?;
                continue;
            }
            let symbolic: Vec<String> = g
                .terms
                .iter()
                .map(|e| format!("∂{}/∂{} · ā({})", e.node_name, e.parent_name, e.node_name))
                .collect();
            let numeric: Vec<String> = g
                .terms
                .iter()
                .map(|e| format!("{} · {}", n(e.partial), Paren(n(e.adjoint))))
                .collect();
            let more = if g.omitted_terms > 0 {
                format!(" + … ({} more terms)", g.omitted_terms)
            } else {
                String::new()
            };
            write!(
                f,
                "{}{more} = {}{more}",
                symbolic.join(" + "),
                numeric.join(" + ")
            )?;
            if g.constant {
                if g.omitted_terms == 0 {
                    // invariant: `terms` is not empty (checked above)
                    write!(f, " = {}", n(g.terms.last().unwrap().after))?;
                }
                writeln!(
                    f,
                    ", discarded: {} is a constant, gradient {}",
                    g.name,
                    n(g.grad)
                )?;
            } else {
                writeln!(f, " = {}", n(g.grad))?;
            }
        }
        if self.omitted_leaves > 0 {
            writeln!(f, "  … {} more leaves not shown", self.omitted_leaves)?;
        }
        Ok(())
    }
}

/// The chain-rule chapter, compiled so that every snippet in it runs.
#[cfg(doctest)]
#[doc = include_str!("../docs/chain-rule.md")]
pub struct ChainRuleChapter;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decode_finds_every_parent_and_partial() {
        let tape = Tape::new();
        let x = tape.var(2.0);
        let y = tape.var(3.0);
        let a = x * y;
        let b = a.powi(3);
        let c = tape.dot(&[x, y], &[0.5, -1.0]);
        let d = tape.sum(&[a, b, c]) - x;
        tape.with_storage(|s| {
            let r = decode(s, tape.len());
            assert_eq!(r[a.id().index()].parents(s), &[0, 1]);
            assert_eq!(r[a.id().index()].partial(s, 0), 3.0);
            assert_eq!(r[b.id().index()].parents(s), &[2]);
            assert_eq!(r[b.id().index()].aux, 3);
            assert_eq!(r[b.id().index()].partial(s, 0), 3.0 * 36.0);
            assert_eq!(r[c.id().index()].parents(s), &[0, 1]);
            assert_eq!(r[c.id().index()].partial(s, 1), -1.0);
            assert_eq!(r[d.id().index() - 1].parents(s), &[2, 3, 4]);
            assert_eq!(r[d.id().index()].parents(s), &[5, 0]);
            assert_eq!(r[d.id().index()].partial(s, 1), -1.0);
        });
    }

    #[test]
    fn depends_on_leaves_out_unrelated_nodes() {
        let tape = Tape::new();
        let x = tape.var(2.0);
        let unrelated = tape.var(5.0);
        let _side = unrelated.exp();
        let y = x.sin();
        tape.with_storage(|s| {
            let r = decode(s, tape.len());
            assert_eq!(
                depends_on(s, &r, y.id().index()),
                vec![true, false, false, true]
            );
        });
    }

    /// The layout `docs/chain-rule.md` draws for `z = x*y + sin(x*y)` at x = 2, y = 3.
    #[test]
    fn chapter_layout_matches_the_tape() {
        let tape = Tape::new();
        let x = tape.var(2.0);
        let y = tape.var(3.0);
        let a = x * y;
        let b = a.sin();
        let _z = a + b;
        tape.with_storage(|s| {
            assert_eq!(
                s.kinds,
                vec![
                    OpKind::Var,
                    OpKind::Var,
                    OpKind::Mul,
                    OpKind::Sin,
                    OpKind::Add
                ]
            );
            assert_eq!(s.parents, vec![0, 1, 2, 2, 3]);
            assert_eq!(s.partials, vec![3.0, 2.0, 6f64.cos()]);
            assert_eq!(s.consts, vec![2.0, 3.0]);
        });
    }

    #[test]
    fn num_trims_trailing_zeros_and_negative_zero() {
        assert_eq!(Num(0.25f64, Some(4)).to_string(), "0.25");
        assert_eq!(Num(3.0f64, Some(4)).to_string(), "3");
        assert_eq!(Num(-0.00001f64, Some(4)).to_string(), "0");
        assert_eq!(Num(f64::INFINITY, Some(4)).to_string(), "inf");
        assert_eq!(Num(0.1f64 + 0.2, None).to_string(), "0.30000000000000004");
    }
}
