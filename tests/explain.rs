//! The explained backward pass, graph export and tape statistics, through the public API.

use std::collections::{BTreeMap, BTreeSet};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tapegrad::{DotOptions, Error, ExplainOptions, NodeId, OpKind, Tape, Var};

/// Every operation once, on leaves away from kinks and domain edges.
fn every_op<'t>(tape: &'t Tape, xs: &[Var<'t>]) -> Var<'t> {
    let (x, y, z) = (xs[0], xs[1], xs[2]);
    let c = tape.constant(0.75);
    let a = x * y + x / y - z + (-x) + (x + 0.5) + (x - 0.5) + (2.0 - y) + x * 3.0 + x / 4.0;
    let b = 2.0 / y + x.powi(3) + x.powf(1.5) + x.pow(y) + y.exp() + x.ln() + x.sqrt();
    let d = z.sin() + z.cos() + z.tan() + z.tanh() + z.sigmoid() + z.relu() + y.leaky_relu(0.1);
    let e = z.softplus() + z.abs() + y.recip() + x.max(y) + x.min(y) + x * c + x.detach();
    let f = tape.sum(&[a, b, d]) + tape.dot(&[a, e], &[b, d]) + tape.dot(&[x, y], &[0.25, -3.0]);
    f + tape.custom(x.value() * 2.0, &[(x, 2.0)])
}

#[test]
fn explained_gradients_equal_backward_bit_for_bit() {
    let mut rng = StdRng::seed_from_u64(4);
    for _ in 0..20 {
        let tape = Tape::new();
        let xs = tape.vars(&[
            rng.gen_range(0.2..2.0),
            rng.gen_range(0.2..2.0),
            rng.gen_range(-1.0..1.0),
        ]);
        let out = every_op(&tape, &xs);
        let e = tape
            .explain_with(out, ExplainOptions::default().max_nodes(10_000))
            .unwrap();
        let g = out.backward();
        for &x in &xs {
            assert_eq!(e.gradient(x.id()).unwrap().to_bits(), g[x].to_bits());
        }
        // Every leaf of the sub-graph, constants included, matches backward's adjoint.
        assert_eq!(e.omitted_leaves, 0);
        for leaf in &e.gradients {
            assert_eq!(
                leaf.grad.to_bits(),
                g.adjoints()[leaf.leaf.index()].to_bits()
            );
        }
    }
}

#[test]
fn the_sweep_steps_add_up_to_each_adjoint_in_backwards_order() {
    let tape = Tape::new();
    let xs = tape.vars(&[0.7, 1.3, 0.4]);
    let out = every_op(&tape, &xs);
    let e = tape
        .explain_with(out, ExplainOptions::default().max_nodes(10_000))
        .unwrap();
    let g = out.backward();
    let mut running: BTreeMap<NodeId, f64> = BTreeMap::new();
    let mut last_node = usize::MAX;
    for node in &e.sweep {
        // The sweep goes from the output down, one node after another.
        assert!(node.id.index() < last_node);
        last_node = node.id.index();
        assert_eq!(
            node.adjoint.to_bits(),
            g.adjoints()[node.id.index()].to_bits()
        );
        for edge in &node.edges {
            assert_eq!(edge.node, node.id);
            assert_eq!(edge.adjoint, node.adjoint);
            assert_eq!(edge.product, edge.partial * edge.adjoint);
            let before = running.get(&edge.parent).copied().unwrap_or(0.0);
            assert_eq!(edge.before.to_bits(), before.to_bits());
            assert_eq!(edge.after.to_bits(), (before + edge.product).to_bits());
            running.insert(edge.parent, edge.after);
        }
    }
    // Each operation node's final running sum is its adjoint.
    for node in &e.sweep {
        if let Some(&sum) = running.get(&node.id) {
            assert_eq!(sum.to_bits(), node.adjoint.to_bits());
        }
    }
}

#[test]
fn local_partials_are_the_ones_backward_multiplies_by() {
    let tape = Tape::new();
    let x = tape.var_named("x", 2.0);
    let y = tape.var_named("y", 3.0);
    let a = (x * y).named("a");
    let b = a.sin().named("b");
    let z = (a + b).named("z");
    let e = z.explain();
    let by_name: BTreeMap<&str, &tapegrad::explain::ExplainedNode> =
        e.nodes.iter().map(|n| (n.name.as_str(), n)).collect();
    let mul = by_name["a"];
    assert_eq!(mul.op, OpKind::Mul);
    assert_eq!(mul.expr, "x * y");
    assert_eq!(
        mul.partials
            .iter()
            .map(|d| (d.parent_name.as_str(), d.formula.as_str(), d.value))
            .collect::<Vec<_>>(),
        vec![("x", "y", 3.0), ("y", "x", 2.0)]
    );
    let sin = by_name["b"];
    assert_eq!(sin.expr, "sin(a)");
    assert_eq!(sin.partials[0].formula, "cos(a)");
    assert_eq!(sin.partials[0].value, 6f64.cos());
    assert_eq!(by_name["z"].value, z.value());
}

/// `docs/chain-rule.md` quotes this output.
#[test]
fn the_chapter_example_prints_all_four_steps() {
    let tape = Tape::new();
    let x = tape.var_named("x", 2.0);
    let y = tape.var_named("y", 3.0);
    let a = (x * y).named("a");
    let b = a.sin().named("b");
    let z = (a + b).named("z");
    let text = format!("{:.4}", z.explain());
    assert_eq!(
        text,
        "\
chain rule for z = 5.7206 (node #4), which depends on 5 nodes

step 1: intermediate variables, one per operation
  x = 2  (leaf)
  y = 3  (leaf)
  a = x * y = 6
  b = sin(a) = -0.2794
  z = a + b = 5.7206

step 2: local derivatives, recorded with each operation
  a = x * y
    ∂a/∂x = y = 3
    ∂a/∂y = x = 2
  b = sin(a)
    ∂b/∂a = cos(a) = 0.9602
  z = a + b
    ∂z/∂a = 1
    ∂z/∂b = 1

step 3: reverse sweep from z, ā(v) = ∂z/∂v, seeded with ā(z) = 1
  z: ā(z) = 1 is complete
    ā(a) += ∂z/∂a · ā(z) = 1 · 1 = 1
    ā(b) += ∂z/∂b · ā(z) = 1 · 1 = 1
  b: ā(b) = 1 is complete
    ā(a) += ∂b/∂a · ā(b) = 0.9602 · 1 = 0.9602; running sum 1 + 0.9602 = 1.9602
  a: ā(a) = 1.9602 is complete
    ā(x) += ∂a/∂x · ā(a) = 3 · 1.9602 = 5.8805
    ā(y) += ∂a/∂y · ā(a) = 2 · 1.9602 = 3.9203

step 4: gradients of the leaves, summed over paths, values substituted
  ∂z/∂x = ∂a/∂x · ā(a) = 3 · 1.9602 = 5.8805
  ∂z/∂y = ∂a/∂y · ā(a) = 2 · 1.9602 = 3.9203
"
    );
}

#[test]
fn the_chapter_quotes_the_neuron_example_verbatim() {
    // The neuron of examples/explain.rs.
    let tape = Tape::new();
    let x1 = tape.var_named("x1", 1.0);
    let x2 = tape.var_named("x2", 0.0);
    let w1 = tape.var_named("w1", 0.5);
    let w2 = tape.var_named("w2", -0.25);
    let b = tape.var_named("b", 0.1);
    let z = (w1 * x1 + w2 * x2 + b).named("z");
    let y = z.sigmoid().named("y");
    let loss = (y - 1.0).powi(2).named("L");
    let printed = format!("{:.4}", loss.explain());

    let doc = include_str!("../docs/chain-rule.md");
    let quoted = doc
        .split("<!-- output of examples/explain.rs -->\n```text\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("docs/chain-rule.md quotes the example's output after its marker");
    assert!(quoted.starts_with(&printed), "{quoted}\n---\n{printed}");
}

#[test]
fn a_variable_used_twice_gets_a_running_sum() {
    let tape = Tape::new();
    let x = tape.var_named("x", 3.0);
    let y = (x * x.sin()).named("y");
    let e = y.explain();
    let terms = &e.gradients[0].terms;
    assert_eq!(terms.len(), 2);
    assert_eq!(terms[1].count, 2);
    assert_eq!(terms[1].before, terms[0].after);
    let text = e.to_string();
    assert!(text.contains("; running sum "), "{text}");
    assert!(
        text.contains("∂y/∂x = ∂y/∂x · ā(y) + ∂v1/∂x · ā(v1) = "),
        "{text}"
    );
}

#[test]
fn an_operand_used_twice_by_one_node_is_told_apart() {
    let tape = Tape::new();
    let x = tape.var_named("x", 3.0);
    let e = (x * x).explain();
    let names: Vec<&str> = e.nodes[1]
        .partials
        .iter()
        .map(|d| d.parent_name.as_str())
        .collect();
    assert_eq!(names, ["x (1st operand)", "x (2nd operand)"]);
    assert_eq!(e.gradient(x.id()), Some(6.0));
}

#[test]
fn the_explanation_leaves_out_nodes_the_output_does_not_depend_on() {
    let tape = Tape::new();
    let x = tape.var_named("x", 1.0);
    let unrelated = tape.var_named("unrelated", 2.0);
    let _noise = (unrelated * 3.0).exp();
    let y = x.sin().named("y");
    let e = y.explain();
    assert_eq!(e.depends_on, 2);
    let ids: Vec<usize> = e.nodes.iter().map(|n| n.id.index()).collect();
    assert_eq!(ids, [0, 4]);
    assert_eq!(e.gradient(unrelated.id()), None);
    assert!(!e.to_string().contains("unrelated"));
}

#[test]
fn a_long_tape_is_truncated_with_a_marker() {
    let tape = Tape::new();
    let xs = tape.vars(&[0.1; 30]);
    let mut y = xs[0];
    for &x in &xs[1..] {
        y = y * x + 1.0;
    }
    let e = tape
        .explain_with(y, ExplainOptions::default().max_nodes(4))
        .unwrap();
    assert_eq!(e.depends_on, 30 + 2 * 29);
    assert_eq!(e.nodes.len(), 4);
    assert_eq!(e.omitted_nodes, 30 + 2 * 29 - 4);
    assert_eq!(e.nodes.last().unwrap().id, y.id());
    assert_eq!(e.gradients.len(), 4);
    assert_eq!(e.omitted_leaves, 26);
    let g = y.backward();
    for leaf in &e.gradients {
        assert_eq!(Some(g.adjoints()[leaf.leaf.index()]), e.gradient(leaf.leaf));
    }
    let text = e.to_string();
    assert!(text.contains("  … 84 earlier nodes not shown\n"), "{text}");
    assert!(
        text.contains("  … 84 earlier nodes not shown (the sweep goes on through them)\n"),
        "{text}"
    );
    assert!(text.contains("  … 26 more leaves not shown\n"), "{text}");
}

#[test]
fn a_leaf_with_many_uses_lists_at_most_max_nodes_terms() {
    let tape = Tape::new();
    let x = tape.var_named("x", 0.5);
    let uses: Vec<Var> = (1..=10).map(|k| x * k as f64).collect();
    let y = tape.sum(&uses).named("y");
    let e = tape
        .explain_with(y, ExplainOptions::default().max_nodes(3))
        .unwrap();
    let leaf = &e.gradients[0];
    assert_eq!(leaf.terms.len(), 3);
    assert_eq!(leaf.omitted_terms, 7);
    assert_eq!(leaf.grad.to_bits(), y.backward()[x].to_bits());
    let text = e.to_string();
    assert!(text.contains(" + … (7 more terms) = "), "{text}");
    assert!(text.ends_with(" + … (7 more terms) = 55\n"), "{text}");
}

#[test]
fn a_node_with_zero_adjoint_passes_nothing_on() {
    let tape = Tape::new();
    let x = tape.var_named("x", -2.0);
    let h = (x * 3.0).named("h");
    let y = h.relu().named("y");
    let e = y.explain();
    let text = e.to_string();
    assert!(text.contains("∂y/∂h = 0 (as h ≤ 0)"), "{text}");
    assert!(
        text.contains("  h: ā(h) = 0, nothing to pass on\n"),
        "{text}"
    );
    assert!(
        text.contains("∂y/∂x = 0  (no path carries a non-zero adjoint)"),
        "{text}"
    );
    assert_eq!(e.gradient(x.id()), Some(0.0));
}

#[test]
fn a_constant_leaf_ends_with_gradient_zero() {
    let tape = Tape::new();
    let x = tape.var_named("x", 2.0);
    let c = tape.constant(5.0).named("c");
    let y = (x * c).named("y");
    let e = y.explain();
    let leaf = e.gradients.iter().find(|g| g.leaf == c.id()).unwrap();
    assert!(leaf.constant);
    assert_eq!(leaf.grad, 0.0);
    assert_eq!(leaf.terms.len(), 1);
    let text = e.to_string();
    assert!(text.contains("  c = 5  (constant)\n"), "{text}");
    assert!(
        text.contains("∂y/∂c = ∂y/∂c · ā(y) = 2 · 1 = 2, discarded: c is a constant, gradient 0"),
        "{text}"
    );
}

#[test]
fn explaining_a_leaf_gives_gradient_one() {
    let tape = Tape::new();
    let x = tape.var_named("x", 2.0);
    let e = x.explain();
    assert_eq!(e.gradient(x.id()), Some(1.0));
    assert!(e.to_string().ends_with("  ∂x/∂x = 1\n"));
}

#[test]
fn an_f32_tape_explains_with_f32_numbers() {
    let tape = Tape::<f32>::new();
    let x = tape.var_named("x", 0.5);
    let y = (x.tanh() * x).named("y");
    let e = y.explain();
    assert_eq!(
        e.gradient(x.id()).unwrap().to_bits(),
        y.backward()[x].to_bits()
    );
}

#[test]
fn unnamed_nodes_default_to_v_and_their_index() {
    let tape = Tape::new();
    let x = tape.var_named("x", 1.0);
    let _skip = tape.var(0.0);
    let y = x.exp();
    assert_eq!(y.name(), "v2");
    let e = y.explain();
    assert_eq!(e.output_name, "v2");
    assert_eq!(e.nodes[1].expr, "exp(x)");
}

#[test]
fn explaining_an_output_of_another_tape_is_an_error() {
    let tape = Tape::new();
    let other = Tape::new();
    let _ = tape.var(1.0);
    let x = other.var(1.0);
    let y = x * 2.0;
    let err = tape.explain(y).unwrap_err();
    assert_eq!(
        err,
        Error::ForeignVar {
            op: "Tape::explain",
            node: y.id()
        }
    );
    assert_eq!(
        err.to_string(),
        "output #1 passed to 'Tape::explain' was recorded on another tape; \
         call it on the tape that recorded the output"
    );
}

#[test]
fn exporting_an_output_of_another_tape_is_an_error() {
    let tape = Tape::new();
    let other = Tape::new();
    let x = other.var(1.0);
    let y = x.sin();
    assert_eq!(
        tape.to_dot(y).unwrap_err().to_string(),
        "output #1 passed to 'Tape::to_dot' was recorded on another tape; \
         call it on the tape that recorded the output"
    );
    assert!(
        tape.to_dot_with(y, DotOptions::default().gradients(false))
            .is_err()
    );
}

#[test]
fn a_cleared_tape_explains_only_its_new_recording() {
    let mut tape = Tape::new();
    {
        let x = tape.var_named("old", 1.0);
        let _ = x.exp();
    }
    tape.clear();
    let x = tape.var_named("x", 2.0);
    let y = x.powi(2);
    let e = y.explain();
    assert_eq!(e.depends_on, 2);
    assert!(!e.to_string().contains("old"));
    assert_eq!(e.gradient(x.id()), Some(4.0));
}

/// What a DOT text declares: node ids with their attribute text, and edges.
struct Dot {
    nodes: BTreeMap<String, String>,
    edges: Vec<(String, String)>,
}

/// Parses the statement-per-line DOT text `to_dot` writes, checking quotes and braces.
fn parse_dot(dot: &str) -> Dot {
    assert!(dot.starts_with("digraph tapegrad {\n"), "{dot}");
    assert!(dot.ends_with("}\n"), "{dot}");
    let mut nodes = BTreeMap::new();
    let mut edges = Vec::new();
    for line in dot.lines().skip(1) {
        let line = line.trim();
        if line == "}" || line.starts_with("rankdir") || line.starts_with("node [") {
            continue;
        }
        assert!(line.ends_with(';'), "statement without ';': {line}");
        if let Some((from, to)) = line.trim_end_matches(';').split_once(" -> ") {
            edges.push((from.to_string(), to.to_string()));
            continue;
        }
        let (id, attrs) = line.split_once(" [").expect("a node statement");
        assert!(attrs.ends_with("];"), "{line}");
        // Quotes are balanced once escaped ones are skipped, and every label is quoted.
        let mut quotes = 0;
        let mut chars = attrs.chars();
        while let Some(ch) = chars.next() {
            match ch {
                '\\' => {
                    chars.next();
                }
                '"' => quotes += 1,
                _ => {}
            }
        }
        assert_eq!(quotes % 2, 0, "unbalanced quotes: {line}");
        assert!(attrs.contains("label=\""), "{line}");
        nodes.insert(id.to_string(), attrs.to_string());
    }
    // Braces outside quoted strings balance to the one graph body.
    let (mut depth, mut in_quotes, mut escaped) = (0i32, false, false);
    for ch in dot.chars() {
        match (ch, in_quotes, escaped) {
            (_, _, true) => escaped = false,
            ('\\', true, false) => escaped = true,
            ('"', _, false) => in_quotes = !in_quotes,
            ('{', false, false) => depth += 1,
            ('}', false, false) => depth -= 1,
            _ => {}
        }
        assert!(depth >= 0);
    }
    assert_eq!(depth, 0);
    assert!(!in_quotes);
    Dot { nodes, edges }
}

#[test]
fn the_graph_has_every_node_and_edge_of_the_sub_graph() {
    let tape = Tape::new();
    let xs = tape.vars(&[0.7, 1.3, 0.4]);
    let _unrelated = tape.var(9.0).exp();
    let out = every_op(&tape, &xs);
    let dot = tape
        .to_dot_with(out, DotOptions::default().max_nodes(100_000))
        .unwrap();
    let graph = parse_dot(&dot);
    let e = tape
        .explain_with(out, ExplainOptions::default().max_nodes(100_000))
        .unwrap();
    let mut expected_nodes = BTreeSet::new();
    let mut expected_edges = Vec::new();
    for node in &e.nodes {
        let i = node.id.index();
        expected_nodes.insert(format!("n{i}"));
        if node.op != OpKind::Var && node.op != OpKind::Const {
            expected_nodes.insert(format!("n{i}op"));
            expected_edges.push((format!("n{i}op"), format!("n{i}")));
            for d in &node.partials {
                expected_edges.push((format!("n{}", d.parent.index()), format!("n{i}op")));
            }
        }
    }
    assert_eq!(
        graph.nodes.keys().cloned().collect::<BTreeSet<_>>(),
        expected_nodes
    );
    let mut edges = graph.edges.clone();
    edges.sort();
    expected_edges.sort();
    assert_eq!(edges, expected_edges);
    // The unrelated leaf and its exp are not drawn.
    assert!(!graph.nodes.contains_key("n3"));
    assert!(!graph.nodes.contains_key("n4"));
    // Each value node shows the gradient backward computes.
    let g = out.backward();
    let x0 = &graph.nodes["n0"];
    assert!(x0.starts_with("shape=record"), "{x0}");
    assert!(
        x0.contains(&format!("| grad {} }}", round4(g[xs[0]]))),
        "{x0} vs {}",
        g[xs[0]]
    );
}

/// `x` the way the graph prints it with 4 decimals.
fn round4(x: f64) -> String {
    let s = format!("{x:.4}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    s.to_string()
}

#[test]
fn names_with_special_characters_are_escaped() {
    let tape = Tape::new();
    let x = tape.var_named("a \"quoted\" {x|y} <port> back\\slash", 1.0);
    let y = x.exp().named("line\nbreak");
    let dot = tape.to_dot(y).unwrap();
    let graph = parse_dot(&dot);
    assert_eq!(graph.nodes.len(), 3);
    assert!(
        graph.nodes["n0"]
            .contains(r#"label="{ a \"quoted\" \{x\|y\} \<port\> back\\slash | value 1 | grad "#),
        "{dot}"
    );
    assert!(
        graph.nodes["n1"].contains(r#"label="{ line\nbreak | value "#),
        "{dot}"
    );
}

#[test]
fn the_whole_tape_is_drawn_without_gradients() {
    let tape = Tape::new();
    let x = tape.var_named("x", 1.0);
    let a = x.sin();
    let _b = (a + 2.0).named("b");
    let _c = x.cos();
    let graph = parse_dot(&tape.to_dot_all(DotOptions::default()));
    assert_eq!(
        graph.nodes.keys().cloned().collect::<Vec<_>>(),
        ["n0", "n1", "n1op", "n2", "n2op", "n3", "n3op"]
    );
    assert!(graph.nodes.values().all(|attrs| !attrs.contains("grad")));
    assert_eq!(
        graph.nodes["n2op"],
        r#"shape=ellipse, fontsize=10, height=0.3, label="+ 2"];"#
    );
    assert_eq!(graph.edges.len(), 6);
}

#[test]
fn comparisons_appear_in_the_whole_tape_but_not_in_an_explanation() {
    let tape = Tape::new();
    let x = tape.var_named("x", -2.0);
    let k = tape.var_named("k", 1.0);
    let y = if x.lt(0.0) { -x } else { x * 2.0 };
    let _ = x.ge(k);
    let graph = parse_dot(&tape.to_dot_all(DotOptions::default()));
    // x #0, k #1, x < 0 #2, -x #3, x >= k #4
    assert_eq!(
        graph.nodes["n2op"],
        r#"shape=ellipse, fontsize=10, height=0.3, label="< 0"];"#
    );
    assert!(graph.nodes["n2"].contains("value 1 }"), "{:?}", graph.nodes);
    assert_eq!(
        graph.nodes["n4op"],
        r#"shape=ellipse, fontsize=10, height=0.3, label=">="];"#
    );
    let mut edges = graph.edges.clone();
    edges.sort();
    let expected: Vec<(String, String)> = [
        ("n0", "n2op"),
        ("n0", "n3op"),
        ("n0", "n4op"),
        ("n1", "n4op"),
        ("n2op", "n2"),
        ("n3op", "n3"),
        ("n4op", "n4"),
    ]
    .iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    assert_eq!(edges, expected);
    let e = y.explain();
    assert_eq!(e.depends_on, 2);
    assert_eq!(e.gradient(x.id()), Some(-1.0));
}

#[test]
fn stats_count_every_kind_and_every_byte() {
    let tape = Tape::new();
    let xs = tape.vars(&[1.0, 2.0, 3.0]);
    let c = tape.constant(0.5);
    let d = tape.dot(&xs, &[1.0, 2.0, 3.0]);
    let s = tape.sum(&xs);
    let y = (d * s + c).powi(3).named("y");
    let _ = y - 1.0;
    let stats = tape.stats();
    assert_eq!(stats.nodes, tape.len());
    assert_eq!(
        stats.per_kind,
        vec![
            (OpKind::Var, 3),
            (OpKind::Const, 1),
            (OpKind::AddConst, 1),
            (OpKind::Powi, 1),
            (OpKind::Add, 1),
            (OpKind::Mul, 1),
            (OpKind::Sum, 1),
            (OpKind::DotConst, 1),
        ]
    );
    assert_eq!(
        stats.per_kind.iter().map(|k| k.1).sum::<usize>(),
        stats.nodes
    );
    assert_eq!(stats.used.kinds, 10);
    // dot 3+2, sum 3+2, * 2, + 2, powi 1+1, - c 1
    assert_eq!(stats.used.parents, (5 + 5 + 2 + 2 + 2 + 1) * 4);
    // dot 3, * 2, powi 1
    assert_eq!(stats.used.partials, 6 * 8);
    // 3 leaves, the constant, `- 1`
    assert_eq!(stats.used.consts, 5 * 8);
    assert!(stats.reserved.kinds >= stats.used.kinds);
    assert!(stats.reserved.parents >= stats.used.parents);
    assert!(stats.reserved.partials >= stats.used.partials);
    assert!(stats.reserved.consts >= stats.used.consts);
    assert_eq!(stats.named, 1);
    let text = stats.to_string();
    assert!(
        text.starts_with("tape: 10 nodes, 16.6 bytes per node, 1 named\n"),
        "{text}"
    );
    assert!(
        text.contains("  used:     166 B (kinds 10 B, parents 68 B, partials 48 B, consts 40 B)\n"),
        "{text}"
    );
    assert!(
        text.ends_with("  operations: var 3, const 1, + c 1, powi 1, + 1, * 1, sum 1, dot 1\n"),
        "{text}"
    );
}

#[test]
fn stats_of_an_empty_tape_are_zero() {
    let stats = Tape::<f64>::new().stats();
    assert_eq!(stats.nodes, 0);
    assert!(stats.per_kind.is_empty());
    assert_eq!(stats.used.total(), 0);
    assert_eq!(stats.bytes_per_node(), 0.0);
}
