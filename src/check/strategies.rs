//! Proptest strategies for random expressions and their inputs (cargo feature `proptest`).
//!
//! An expression is drawn from a seed and an operation count; shrinking lowers the count, which
//! keeps a prefix of the same expression (see [`Expr::random`]), and the seed, so a failing case
//! shrinks towards a short expression.
//!
//! # Examples
//!
//! ```
//! use proptest::prelude::*;
//! use tapegrad::check::{self, strategies};
//!
//! proptest! {
//!     // In a test file this function carries `#[test]`; the example calls it directly.
//!     fn random_expressions_have_exact_gradients((expr, at) in strategies::expr_with_inputs(3, 10)) {
//!         let report = check::gradient(|x| expr.build(x), &at);
//!         prop_assert!(report.passed(), "{report}\n{expr}");
//!     }
//! }
//! # random_expressions_have_exact_gradients();
//! ```

#![cfg_attr(docsrs, doc(cfg(feature = "proptest")))]

use proptest::collection::vec;
use proptest::prelude::*;

use super::Expr;

/// Random expressions over `inputs` inputs with 1 to `max_ops` operations, valid for inputs in
/// `[-2, 2]`.
///
/// # Panics
///
/// When `inputs` or `max_ops` is 0.
///
/// # Examples
///
/// ```
/// use proptest::strategy::{Strategy, ValueTree};
/// use proptest::test_runner::TestRunner;
/// use tapegrad::check::strategies;
///
/// let mut runner = TestRunner::deterministic();
/// let expr = strategies::expr(2, 10).new_tree(&mut runner).unwrap().current();
/// assert_eq!(expr.inputs(), 2);
/// assert!(!expr.is_empty());
/// ```
pub fn expr(inputs: usize, max_ops: usize) -> impl Strategy<Value = Expr> {
    assert!(
        inputs > 0,
        "strategies::expr: got 0 inputs; an expression needs at least one"
    );
    assert!(
        max_ops > 0,
        "strategies::expr: got max_ops = 0; allow at least one operation"
    );
    (1..=max_ops, any::<u64>()).prop_map(move |(ops, seed)| Expr::from_seed(seed, inputs, ops))
}

/// `n` inputs drawn from `[-bound, bound]`.
///
/// # Examples
///
/// ```
/// use proptest::strategy::{Strategy, ValueTree};
/// use proptest::test_runner::TestRunner;
/// use tapegrad::check::strategies;
///
/// let mut runner = TestRunner::deterministic();
/// let at = strategies::inputs(3, 2.0).new_tree(&mut runner).unwrap().current();
/// assert_eq!(at.len(), 3);
/// assert!(at.iter().all(|x| x.abs() <= 2.0));
/// ```
pub fn inputs(n: usize, bound: f64) -> impl Strategy<Value = Vec<f64>> {
    vec(-bound..=bound, n)
}

/// A random expression (as [`expr`]) with inputs inside its valid range.
///
/// # Examples
///
/// ```
/// use proptest::strategy::{Strategy, ValueTree};
/// use proptest::test_runner::TestRunner;
/// use tapegrad::Tape;
/// use tapegrad::check::strategies;
///
/// let mut runner = TestRunner::deterministic();
/// let (expr, at) = strategies::expr_with_inputs(2, 10).new_tree(&mut runner).unwrap().current();
/// let tape = Tape::new();
/// let xs = tape.vars(&at);
/// assert_eq!(expr.build(&xs).value(), expr.eval(&at));
/// ```
pub fn expr_with_inputs(inputs: usize, max_ops: usize) -> impl Strategy<Value = (Expr, Vec<f64>)> {
    expr(inputs, max_ops).prop_flat_map(move |e| {
        let bound = e.bound();
        (Just(e), self::inputs(inputs, bound))
    })
}
