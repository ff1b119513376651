//! Methods on [`Var`] named as on `f64`: powers, the leaky ReLU, `max` and `min`. The elementary
//! functions of one input (`exp`, `sin`, `tanh`, …) are declared in the table of `src/ops/table.rs`,
//! which generates their methods.
//!
//! Each method records one node holding the local partial derivative computed from values already
//! in hand. NaN is a value, not an error: outside an operation's domain the value and the partial
//! are NaN or infinite, as for `f64`.

use crate::ops::{Binary, Unary};
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

    /// `x^y` for two Vars.
    ///
    /// Local derivatives: `∂/∂x = y x^(y-1)`, `∂/∂y = x^y ln x`.
    /// Domain: `x > 0`. Where `x^y` is 0 (`x = 0`, `y > 0`) the partial with respect to `y` is
    /// taken as its limit 0 rather than NaN.
    ///
    /// # Panics
    ///
    /// When `x` and `y` belong to different tapes.
    ///
    /// # Examples
    ///
    /// ```
    /// use tapegrad::Tape;
    ///
    /// let tape = Tape::new();
    /// let x = tape.var(2.0);
    /// let y = tape.var(3.0);
    /// let g = x.pow(y).backward();
    /// assert_eq!(g[x], 12.0);
    /// assert_eq!(g[y], 8.0 * 2f64.ln());
    /// ```
    #[inline]
    #[track_caller]
    pub fn pow(self, y: Self) -> Self {
        self.binary(y, Binary::Pow, "pow")
    }

    /// The larger of `x` and `y`.
    ///
    /// Local derivatives: 1 for the larger input, 0 for the other; at a tie `x == y` the whole
    /// partial goes to `x` (the receiver): `(1, 0)`. Like `f64`'s, a NaN operand is ignored: the
    /// other one is the result and receives the partial.
    ///
    /// # Panics
    ///
    /// When `x` and `y` belong to different tapes.
    ///
    /// # Examples
    ///
    /// ```
    /// use tapegrad::Tape;
    ///
    /// let tape = Tape::new();
    /// let x = tape.var(1.0);
    /// let y = tape.var(1.0);
    /// let g = x.max(y).backward();
    /// assert_eq!((g[x], g[y]), (1.0, 0.0));
    /// ```
    #[inline]
    #[track_caller]
    pub fn max(self, y: Self) -> Self {
        self.binary(y, Binary::Max, "max")
    }

    /// The smaller of `x` and `y`.
    ///
    /// Local derivatives: 1 for the smaller input, 0 for the other; at a tie `x == y` the whole
    /// partial goes to `x` (the receiver): `(1, 0)`. Like `f64`'s, a NaN operand is ignored: the
    /// other one is the result and receives the partial.
    ///
    /// # Panics
    ///
    /// When `x` and `y` belong to different tapes.
    ///
    /// # Examples
    ///
    /// ```
    /// use tapegrad::Tape;
    ///
    /// let tape = Tape::new();
    /// let x = tape.var(2.0);
    /// let y = tape.var(-1.0);
    /// let g = x.min(y).backward();
    /// assert_eq!((g[x], g[y]), (0.0, 1.0));
    /// ```
    #[inline]
    #[track_caller]
    pub fn min(self, y: Self) -> Self {
        self.binary(y, Binary::Min, "min")
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
