//! Comparisons that record their outcome.
//!
//! An `if` on a value in user code decides what gets recorded, and a tape replayed on new inputs
//! cannot see that decision. Comparing through these methods records the comparison and its
//! outcome as a node (no value, no gradient), so that a replay can tell when the same comparison
//! would now come out differently and the tape must be recorded again.

use crate::ops::OpKind;
use crate::{Scalar, Var};

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Comparison {
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
}

impl Comparison {
    /// Applies the comparison to two plain values.
    pub fn holds<T: Scalar>(self, x: T, y: T) -> bool {
        match self {
            Comparison::Lt => x < y,
            Comparison::Le => x <= y,
            Comparison::Gt => x > y,
            Comparison::Ge => x >= y,
        }
    }

    /// The operator as written in Rust: `"<"`, `"<="`, `">"`, `">="`.
    pub fn symbol(self) -> &'static str {
        match self {
            Comparison::Lt => "<",
            Comparison::Le => "<=",
            Comparison::Gt => ">",
            Comparison::Ge => ">=",
        }
    }

    /// Packs the comparison and its outcome into the word recorded on the tape.
    pub(crate) fn encode(self, outcome: bool) -> u32 {
        (self as u32) << 1 | outcome as u32
    }

    /// Unpacks a recorded word into the comparison and its outcome.
    pub(crate) fn decode(word: u32) -> (Self, bool) {
        let cmp = match word >> 1 {
            0 => Comparison::Lt,
            1 => Comparison::Le,
            2 => Comparison::Gt,
            _ => Comparison::Ge,
        };
        (cmp, word & 1 == 1)
    }
}

/// The right-hand side of a recorded comparison: a Var of the same tape, or a plain number.
pub trait Comparand<'t, T: Scalar>: sealed::Sealed {
    /// Records `x cmp self` and returns its outcome.
    #[doc(hidden)]
    fn compare_with(self, x: Var<'t, T>, cmp: Comparison) -> bool;
}

mod sealed {
    pub trait Sealed {}
    impl<'t, T: crate::Scalar> Sealed for crate::Var<'t, T> {}
    impl<T: crate::Scalar> Sealed for T {}
}

impl<'t, T: Scalar> Comparand<'t, T> for Var<'t, T> {
    #[inline]
    fn compare_with(self, x: Var<'t, T>, cmp: Comparison) -> bool {
        x.tape().assert_owns(self, cmp.symbol());
        let outcome = cmp.holds(x.value(), self.value());
        x.tape().push(
            OpKind::Compare,
            &[x.id().0, self.id().0, cmp.encode(outcome)],
            &[],
            &[],
        );
        outcome
    }
}

impl<'t, T: Scalar> Comparand<'t, T> for T {
    #[inline]
    fn compare_with(self, x: Var<'t, T>, cmp: Comparison) -> bool {
        let outcome = cmp.holds(x.value(), self);
        x.tape().push(
            OpKind::CompareConst,
            &[x.id().0, cmp.encode(outcome)],
            &[],
            &[self],
        );
        outcome
    }
}

impl<'t, T: Scalar> Var<'t, T> {
    /// `x < y` for a Var or a plain number `y`, recorded on the tape with its outcome so that a
    /// replay can detect when the branch it decided would go the other way.
    ///
    /// # Panics
    ///
    /// When `y` is a Var of another tape.
    ///
    /// # Examples
    ///
    /// ```
    /// use tapegrad::Tape;
    ///
    /// let tape = Tape::new();
    /// let x = tape.var(-2.0);
    /// let y = if x.lt(0.0) { -x } else { x * 2.0 };
    /// assert_eq!(y.value(), 2.0);
    /// assert_eq!(tape.len(), 3); // x, the comparison, -x
    /// ```
    #[inline]
    pub fn lt(self, y: impl Comparand<'t, T>) -> bool {
        y.compare_with(self, Comparison::Lt)
    }

    /// `x <= y`, recorded like [`lt`](Var::lt).
    #[inline]
    pub fn le(self, y: impl Comparand<'t, T>) -> bool {
        y.compare_with(self, Comparison::Le)
    }

    /// `x > y`, recorded like [`lt`](Var::lt).
    ///
    /// # Examples
    ///
    /// ```
    /// use tapegrad::Tape;
    ///
    /// let tape = Tape::new();
    /// let x = tape.var(3.0);
    /// let y = tape.var(1.0);
    /// assert!(x.gt(y));
    /// ```
    #[inline]
    pub fn gt(self, y: impl Comparand<'t, T>) -> bool {
        y.compare_with(self, Comparison::Gt)
    }

    /// `x >= y`, recorded like [`lt`](Var::lt).
    #[inline]
    pub fn ge(self, y: impl Comparand<'t, T>) -> bool {
        y.compare_with(self, Comparison::Ge)
    }
}

#[cfg(test)]
mod tests {
    use super::Comparison;
    use crate::{OpKind, Tape};

    #[test]
    fn a_comparison_records_its_operands_and_outcome() {
        let tape = Tape::new();
        let x = tape.var(1.0);
        let y = tape.var(2.0);
        assert!(x.le(y));
        assert!(!x.gt(5.0));
        tape.with_storage(|s| {
            assert_eq!(s.kinds[2..], [OpKind::Compare, OpKind::CompareConst]);
            assert_eq!(
                s.parents,
                vec![
                    0,
                    1,
                    Comparison::Le.encode(true),
                    0,
                    Comparison::Gt.encode(false)
                ]
            );
            assert_eq!(s.consts, vec![1.0, 2.0, 5.0]);
        });
    }

    #[test]
    fn comparisons_carry_no_gradient_and_do_not_disturb_the_sweep() {
        let tape = Tape::new();
        let x = tape.var(3.0);
        let y = x * x;
        let _ = y.gt(x);
        let z = y + x;
        let _ = z.lt(100.0);
        let w = z * 2.0;
        assert_eq!(w.backward()[x], 2.0 * (2.0 * 3.0 + 1.0));
    }

    #[test]
    fn encoding_round_trips() {
        for cmp in [
            Comparison::Lt,
            Comparison::Le,
            Comparison::Gt,
            Comparison::Ge,
        ] {
            for outcome in [false, true] {
                assert_eq!(Comparison::decode(cmp.encode(outcome)), (cmp, outcome));
            }
        }
    }
}
