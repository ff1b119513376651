//! The proptest strategies of `tapegrad::check::strategies`, used as a user's test would.
//!
//! Runs only with the cargo feature `proptest`: `cargo test --all-features`.
#![cfg(feature = "proptest")]

use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::TestRunner;
use tapegrad::Tape;
use tapegrad::check::{self, Expr, strategies};

mod common;
use common::proptest_config;

proptest! {
    #![proptest_config(proptest_config(32))]

    #[test]
    fn strategy_expressions_have_exact_gradients(
        (expr, at) in strategies::expr_with_inputs(3, 30),
    ) {
        let report = check::gradient(|x| expr.build(x), &at);
        prop_assert!(report.passed(), "{}\n{}", report, expr);
    }

    #[test]
    fn strategy_inputs_lie_within_the_expressions_bound(
        (expr, at) in strategies::expr_with_inputs(2, 10),
    ) {
        prop_assert_eq!(at.len(), expr.inputs());
        prop_assert!(at.iter().all(|x| x.abs() <= expr.bound()));
    }

    #[test]
    fn strategy_expressions_respect_the_op_limit(expr in strategies::expr(1, 5)) {
        // up to 5 operations, plus a few guards and the closing sum
        prop_assert!(!expr.is_empty());
        prop_assert!(expr.len() <= 5 * 3 + 1, "{}", expr);
    }

    #[test]
    fn strategy_inputs_have_the_length_and_range_asked(at in strategies::inputs(4, 0.5)) {
        prop_assert_eq!(at.len(), 4);
        prop_assert!(at.iter().all(|x| x.abs() <= 0.5));
    }
}

#[test]
fn shrinking_a_failing_expression_makes_it_shorter() {
    // A property that fails for every expression of 20 nodes or more shrinks, the way proptest's
    // runner drives it, to a failing case just past that limit.
    let fails = |e: &Expr| e.len() >= 20;
    let mut runner = TestRunner::deterministic();
    let strategy = strategies::expr(2, 60);
    let mut tree = loop {
        let tree = strategy.new_tree(&mut runner).expect("a value tree");
        if tree.current().len() >= 40 {
            break tree;
        }
    };
    let first = tree.current().len();
    let mut smallest = tree.current();
    loop {
        let more = if fails(&tree.current()) {
            smallest = tree.current();
            tree.simplify()
        } else {
            tree.complicate()
        };
        if !more {
            break;
        }
    }
    assert!(fails(&smallest));
    assert!(
        smallest.len() <= 26,
        "shrank from {first} to {} nodes:\n{smallest}",
        smallest.len()
    );
    let tape = Tape::<f64>::new();
    let xs = tape.vars(&[0.5, -0.5]);
    assert!(smallest.build(&xs).value().is_finite());
}
