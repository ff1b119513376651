//! Methods on [`Var`] named as on `f64` that take an integer: `powi`. The elementary functions
//! of one input (`exp`, `sin`, `tanh`, …) and the operations of two Vars that are methods (`pow`,
//! `max`, `min`, …) are declared in the tables of `src/ops/table.rs`, which generate their
//! methods; `powi`'s rule is an entry there too.
//!
//! Each method records one node holding the local partial derivative computed from values already
//! in hand. NaN is a value, not an error: outside an operation's domain the value and the partial
//! are NaN or infinite, as for `f64`.

use crate::ops::Unary;
use crate::{Scalar, Var};

impl<'t, T: Scalar> Var<'t, T> {
    /// `x^n` for an integer `n`.
    ///
    /// Local derivative: `n x^(n-1)`. `powi(2)` is computed as `x * x` with partial `2x`.
    ///
    /// # Examples
    ///
    /// ```
    /// use tapegrad::Tape;
    ///
    /// let tape = Tape::new();
    /// let x = tape.var(2.0);
    /// assert_eq!(x.powi(3).backward()[x], 12.0);
    /// ```
    #[inline]
    pub fn powi(self, n: i32) -> Self {
        self.unary(Unary::Powi(n))
    }
}

#[cfg(test)]
mod tests {
    use crate::Tape;

    #[test]
    fn powi_stores_its_exponent_beside_the_parent() {
        let tape = Tape::new();
        let x = tape.var(2.0);
        let _ = x.powi(-3);
        tape.with_storage(|s| {
            assert_eq!(s.parents, vec![0, (-3i32) as u32]);
            assert_eq!(s.partials, vec![-3.0 * 2f64.powi(-4)]);
        });
    }

    #[test]
    fn tanh_partial_comes_from_its_output() {
        let tape = Tape::new();
        let x = tape.var(0.7);
        let y = x.tanh();
        tape.with_storage(|s| assert_eq!(s.partials, vec![1.0 - y.value() * y.value()]));
    }
}
