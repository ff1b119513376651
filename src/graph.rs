//! Graphviz export: the tape, or the part an output depends on, as DOT text.
//!
//! Each node is drawn like micrograd's pictures: a record `{ name | value … | grad … }` for every
//! value, and a small ellipse for the operation that produced it, with edges from the operands
//! into the operation and from the operation to its result. The gradients shown are the output's,
//! computed by the same reverse sweep as [`Var::backward`], so they equal its numbers.
//!
//! Render the text with Graphviz:
//!
//! ```text
//! dot -Tsvg neuron.dot -o neuron.svg
//! ```
//!
//! # Examples
//!
//! ```
//! use tapegrad::Tape;
//!
//! let tape = Tape::new();
//! let w = tape.var_named("w", 0.5);
//! let x = tape.var_named("x", 3.0);
//! let y = (w * x).tanh().named("y");
//! let dot = tape.to_dot(y)?;
//! assert!(dot.starts_with("digraph tapegrad {"));
//! assert!(dot.contains(r#"n0 [shape=record, label="{ w | value 0.5 | grad "#));
//! assert!(dot.contains("n0 -> n2op;"));
//! assert!(dot.contains("n2op -> n2;"));
//! # Ok::<(), tapegrad::Error>(())
//! ```

use std::fmt::Write;

use crate::Comparison;
use crate::explain::{Num, Record, adjoints_of, check_owner, decode, depends_on, name_of};
use crate::ops::{OpKind, Shape, Unary};
use crate::tape::Storage;
use crate::{Error, Scalar, Tape, Var};

/// What [`Tape::to_dot_with`] draws.
///
/// # Examples
///
/// ```
/// use tapegrad::{DotOptions, Tape};
///
/// let tape = Tape::new();
/// let x = tape.var(1.0);
/// let y = x.exp();
/// let options = DotOptions::default().gradients(false).precision(Some(2));
/// let dot = tape.to_dot_with(y, options)?;
/// assert!(dot.contains(r#"label="{ v1 | value 2.72 }""#));
/// # Ok::<(), tapegrad::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DotOptions {
    gradients: bool,
    max_nodes: usize,
    precision: Option<usize>,
}

impl Default for DotOptions {
    /// Gradients shown, at most 500 value nodes, 4 decimals.
    fn default() -> Self {
        DotOptions {
            gradients: true,
            max_nodes: 500,
            precision: Some(4),
        }
    }
}

impl DotOptions {
    /// Whether value nodes show the output's gradient (with an output; default `true`).
    pub fn gradients(mut self, on: bool) -> Self {
        self.gradients = on;
        self
    }

    /// Draws at most `n` value nodes, the `n` nearest the output; the earlier ones are folded
    /// into one node that says how many were left out.
    pub fn max_nodes(mut self, n: usize) -> Self {
        self.max_nodes = n;
        self
    }

    /// Decimals shown (trailing zeros dropped), or `None` for every digit.
    pub fn precision(mut self, decimals: Option<usize>) -> Self {
        self.precision = decimals;
        self
    }
}

impl<T: Scalar> Tape<T> {
    /// The part of the tape `output` depends on as Graphviz DOT text, with the gradient of
    /// `output` on every node; see [`to_dot_with`](Tape::to_dot_with).
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
    /// let other = Tape::new();
    /// let x = other.var(1.0);
    /// assert_eq!(
    ///     tape.to_dot(x).unwrap_err().to_string(),
    ///     "output #0 passed to 'Tape::to_dot' was recorded on another tape; \
    ///      call it on the tape that recorded the output"
    /// );
    /// ```
    pub fn to_dot(&self, output: Var<'_, T>) -> Result<String, Error> {
        self.to_dot_with(output, DotOptions::default())
    }

    /// The part of the tape `output` depends on as Graphviz DOT text, drawn as `options` say.
    ///
    /// The gradients are those of `output`, computed by the reverse sweep [`Var::backward`]
    /// runs; a graph therefore never shows gradients of another output or another recording.
    ///
    /// # Errors
    ///
    /// [`Error::ForeignVar`] when `output` was recorded on another tape.
    ///
    /// # Examples
    ///
    /// ```
    /// use tapegrad::{DotOptions, Tape};
    ///
    /// let tape = Tape::new();
    /// let x = tape.var_named("x", 2.0);
    /// let y = (x * x).named("y");
    /// let dot = tape.to_dot_with(y, DotOptions::default())?;
    /// // x feeds the product twice: two edges into the operation.
    /// assert_eq!(dot.matches("n0 -> n1op;").count(), 2);
    /// assert!(dot.contains(r#"n0 [shape=record, label="{ x | value 2 | grad 4 }"];"#));
    /// # Ok::<(), tapegrad::Error>(())
    /// ```
    pub fn to_dot_with(&self, output: Var<'_, T>, options: DotOptions) -> Result<String, Error> {
        check_owner(self, output, "Tape::to_dot")?;
        let out = output.id().index();
        Ok(self.with_storage(|s| {
            let records = decode(s, out + 1);
            let needed = depends_on(s, &records, out);
            let grads = options.gradients.then(|| adjoints_of(s, out));
            render(
                self,
                s,
                &records,
                &needed,
                Some(out),
                grads.as_deref(),
                options,
            )
        }))
    }

    /// The whole tape as Graphviz DOT text, without gradients (there is no output to take them
    /// of).
    ///
    /// # Examples
    ///
    /// ```
    /// use tapegrad::{DotOptions, Tape};
    ///
    /// let tape = Tape::new();
    /// let x = tape.var(1.0);
    /// let _a = x.sin();
    /// let _b = x.cos();
    /// let dot = tape.to_dot_all(DotOptions::default());
    /// assert!(dot.contains("n0 -> n1op;") && dot.contains("n0 -> n2op;"));
    /// ```
    pub fn to_dot_all(&self, options: DotOptions) -> String {
        let len = self.len();
        self.with_storage(|s| {
            let records = decode(s, len);
            render(self, s, &records, &vec![true; len], None, None, options)
        })
    }
}

/// Escapes text for a double-quoted DOT string.
fn escape_plain(text: &str, out: &mut String) {
    for ch in text.chars() {
        match ch {
            '"' | '\\' => {
                out.push('\\');
                out.push(ch);
            }
            '\n' => out.push_str("\\n"),
            '\r' => {}
            _ => out.push(ch),
        }
    }
}

/// Escapes text for one field of a record label, where `{ } | < >` have meaning too.
fn escape_field(text: &str, out: &mut String) {
    for ch in text.chars() {
        match ch {
            '{' | '}' | '|' | '<' | '>' => {
                out.push('\\');
                out.push(ch);
            }
            _ => escape_plain(ch.encode_utf8(&mut [0; 4]), out),
        }
    }
}

/// The label of an operation node: its name, with its constant when it has one.
fn op_label<T: Scalar>(r: &Record, s: &Storage<T>, precision: Option<usize>) -> String {
    let c = Num(r.constant(s), precision);
    if r.kind.is_fixed_unary() {
        let rule = Unary::from_record(r.kind, r.constant(s), r.partial(s, 0), r.aux);
        let num = |v: T| Num(v, precision).to_string();
        // invariant: a fixed unary's rule has a label.
        return rule.fixed_label(num).unwrap();
    }
    // A function of the table with a parameter shows it after its name.
    if r.kind
        .function()
        .is_some_and(|f| !f.param_choices.is_empty())
    {
        return format!("{} {c}", r.kind.name());
    }
    match r.kind {
        OpKind::Compare => Comparison::decode(r.aux).0.symbol().to_string(),
        OpKind::CompareConst => format!("{} {c}", Comparison::decode(r.aux).0.symbol()),
        kind => kind.name().to_string(),
    }
}

fn render<T: Scalar>(
    tape: &Tape<T>,
    s: &Storage<T>,
    records: &[Record],
    needed: &[bool],
    output: Option<usize>,
    grads: Option<&[T]>,
    options: DotOptions,
) -> String {
    let p = options.precision;
    let values = crate::ops::forward::values(s, needed.len());
    let sub: Vec<usize> = (0..needed.len()).filter(|&i| needed[i]).collect();
    let from = sub.len().saturating_sub(options.max_nodes);
    let mut shown = vec![false; needed.len()];
    for &i in &sub[from..] {
        shown[i] = true;
    }
    let mut dot =
        String::from("digraph tapegrad {\n  rankdir=LR;\n  node [fontname=\"Helvetica\"];\n");
    if from > 0 {
        let _ = writeln!(
            dot,
            "  more [shape=note, label=\"… {from} earlier nodes not shown\"];"
        );
    }
    for &i in &sub[from..] {
        let r = &records[i];
        let mut label = String::from("{ ");
        escape_field(&name_of(tape, i as u32), &mut label);
        let _ = write!(label, " | value {}", Num(values[i], p));
        if let Some(g) = grads {
            let _ = write!(label, " | grad {}", Num(g[i], p));
        }
        label.push_str(" }");
        let bold = if Some(i) == output {
            ", style=bold"
        } else {
            ""
        };
        let _ = writeln!(dot, "  n{i} [shape=record, label=\"{label}\"{bold}];");
        if r.kind.shape() == Shape::Leaf {
            continue;
        }
        let mut op = String::new();
        escape_plain(&op_label(r, s, p), &mut op);
        let _ = writeln!(
            dot,
            "  n{i}op [shape=ellipse, fontsize=10, height=0.3, label=\"{op}\"];"
        );
        let _ = writeln!(dot, "  n{i}op -> n{i};");
        let mut from_more = false;
        for &parent in r.parents(s) {
            if shown[parent as usize] {
                let _ = writeln!(dot, "  n{parent} -> n{i}op;");
            } else if !from_more {
                from_more = true;
                let _ = writeln!(dot, "  more -> n{i}op;");
            }
        }
    }
    dot.push_str("}\n");
    dot
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    /// Ids of every node drawn, for tests.
    fn drawn(dot: &str) -> BTreeSet<String> {
        dot.lines()
            .filter_map(|l| l.trim().split_once(" ["))
            .map(|(id, _)| id.to_string())
            .filter(|id| id != "node")
            .collect()
    }

    #[test]
    fn operation_labels_show_their_numbers() {
        let tape = Tape::new();
        let x = tape.var(0.5);
        let _ = [
            x + 2.0,
            x - 2.0,
            3.0 - x,
            x * 2.5,
            x / 4.0,
            2.0 / x,
            x.powi(3),
            -x,
            x.powf(1.5),
            x.leaky_relu(0.1),
            x.pow(x),
        ];
        let dot = tape.to_dot_all(DotOptions::default());
        for label in [
            "+ 2",
            "- 2",
            "3 -",
            "* 2.5",
            "/ 4",
            "2 /",
            "^3",
            "neg",
            "powf 1.5",
            "leaky_relu 0.1",
            "pow",
        ] {
            assert!(
                dot.contains(&format!("label=\"{label}\"")),
                "{label} in {dot}"
            );
        }
    }

    #[test]
    fn field_escaping_protects_record_syntax() {
        let mut out = String::new();
        escape_field("a{b}|c<d>\"e\\f\ng", &mut out);
        assert_eq!(out, r#"a\{b\}\|c\<d\>\"e\\f\ng"#);
    }

    #[test]
    fn a_truncated_graph_folds_earlier_nodes_into_one() {
        let tape = Tape::new();
        let x = tape.var(0.5);
        let mut y = x;
        for _ in 0..10 {
            y = y.sin();
        }
        let dot = tape
            .to_dot_with(y, DotOptions::default().max_nodes(3))
            .unwrap();
        let ids: Vec<String> = drawn(&dot).into_iter().collect();
        assert_eq!(ids, ["more", "n10", "n10op", "n8", "n8op", "n9", "n9op"]);
        assert!(dot.contains("more -> n8op;"));
        assert!(dot.contains("… 8 earlier nodes not shown"));
    }
}
