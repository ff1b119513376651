//! Arithmetic operators on [`Var`]: `+ - * /` between two Vars and between a Var and a plain
//! number on either side, unary `-`, and `+= -= *= /=`.
//!
//! Local derivatives, with `z` the result:
//!
//! | operation | `∂z/∂x` | `∂z/∂y` | partials stored |
//! |---|---|---|---|
//! | `x + y`, `x + c`, `c + x` | 1 | 1 | none |
//! | `x - y`, `x - c` | 1 | -1 | none |
//! | `c - x`, `-x` | -1 | | none |
//! | `x * y` | `y` | `x` | both |
//! | `x * c`, `c * x` | `c` | | one |
//! | `x / y` | `1/y` | `-x/y²` | both |
//! | `x / c` | `1/c` | | one |
//! | `c / x` | `-c/x²` | | one |
//!
//! Division by zero follows IEEE: the value and partials become infinite or NaN, as they would
//! for `f64`.
//!
//! # Examples
//!
//! ```
//! use tapegrad::Tape;
//!
//! let tape = Tape::new();
//! let x = tape.var(2.0);
//! let y = tape.var(4.0);
//! let mut z = x * y - 1.0 / y;
//! z += 2.0 * x;
//! let g = z.backward();
//! assert_eq!(g[x], 4.0 + 2.0); // y + 2
//! assert_eq!(g[y], 2.0 + 1.0 / 16.0); // x + 1/y²
//! ```

use std::ops::{Add, AddAssign, Div, DivAssign, Mul, MulAssign, Neg, Sub, SubAssign};

use crate::ops::{Binary, Unary};
use crate::{Scalar, Var};

impl<'t, T: Scalar> Add for Var<'t, T> {
    type Output = Var<'t, T>;
    #[inline(always)]
    #[track_caller]
    fn add(self, rhs: Self) -> Self {
        self.binary(rhs, Binary::Add, "+")
    }
}

impl<'t, T: Scalar> Sub for Var<'t, T> {
    type Output = Var<'t, T>;
    #[inline(always)]
    #[track_caller]
    fn sub(self, rhs: Self) -> Self {
        self.binary(rhs, Binary::Sub, "-")
    }
}

impl<'t, T: Scalar> Mul for Var<'t, T> {
    type Output = Var<'t, T>;
    #[inline(always)]
    #[track_caller]
    fn mul(self, rhs: Self) -> Self {
        self.binary(rhs, Binary::Mul, "*")
    }
}

impl<'t, T: Scalar> Div for Var<'t, T> {
    type Output = Var<'t, T>;
    #[inline(always)]
    #[track_caller]
    fn div(self, rhs: Self) -> Self {
        self.binary(rhs, Binary::Div, "/")
    }
}

impl<'t, T: Scalar> Neg for Var<'t, T> {
    type Output = Var<'t, T>;
    #[inline(always)]
    fn neg(self) -> Self {
        self.unary(Unary::Neg)
    }
}

impl<'t, T: Scalar> Add<T> for Var<'t, T> {
    type Output = Var<'t, T>;
    #[inline(always)]
    fn add(self, c: T) -> Self {
        self.unary(Unary::AddConst(c))
    }
}

impl<'t, T: Scalar> Sub<T> for Var<'t, T> {
    type Output = Var<'t, T>;
    /// `x - c` is recorded as `x + (-c)`, which IEEE arithmetic makes bit-identical.
    #[inline(always)]
    fn sub(self, c: T) -> Self {
        self.unary(Unary::AddConst(-c))
    }
}

impl<'t, T: Scalar> Mul<T> for Var<'t, T> {
    type Output = Var<'t, T>;
    #[inline(always)]
    fn mul(self, c: T) -> Self {
        self.unary(Unary::MulConst(c))
    }
}

impl<'t, T: Scalar> Div<T> for Var<'t, T> {
    type Output = Var<'t, T>;
    #[inline(always)]
    fn div(self, c: T) -> Self {
        self.unary(Unary::DivConst(c))
    }
}

impl<'t, T: Scalar> AddAssign for Var<'t, T> {
    #[inline(always)]
    #[track_caller]
    fn add_assign(&mut self, rhs: Self) {
        *self = self.binary(rhs, Binary::Add, "+=");
    }
}

impl<'t, T: Scalar> SubAssign for Var<'t, T> {
    #[inline(always)]
    #[track_caller]
    fn sub_assign(&mut self, rhs: Self) {
        *self = self.binary(rhs, Binary::Sub, "-=");
    }
}

impl<'t, T: Scalar> MulAssign for Var<'t, T> {
    #[inline(always)]
    #[track_caller]
    fn mul_assign(&mut self, rhs: Self) {
        *self = self.binary(rhs, Binary::Mul, "*=");
    }
}

impl<'t, T: Scalar> DivAssign for Var<'t, T> {
    #[inline(always)]
    #[track_caller]
    fn div_assign(&mut self, rhs: Self) {
        *self = self.binary(rhs, Binary::Div, "/=");
    }
}

impl<'t, T: Scalar> AddAssign<T> for Var<'t, T> {
    #[inline(always)]
    fn add_assign(&mut self, c: T) {
        *self = *self + c;
    }
}

impl<'t, T: Scalar> SubAssign<T> for Var<'t, T> {
    #[inline(always)]
    fn sub_assign(&mut self, c: T) {
        *self = *self - c;
    }
}

impl<'t, T: Scalar> MulAssign<T> for Var<'t, T> {
    #[inline(always)]
    fn mul_assign(&mut self, c: T) {
        *self = *self * c;
    }
}

impl<'t, T: Scalar> DivAssign<T> for Var<'t, T> {
    #[inline(always)]
    fn div_assign(&mut self, c: T) {
        *self = *self / c;
    }
}

/// `c + x`, `c - x`, `c * x` and `c / x` for a plain `f64` number `c`.
///
/// Only `f64` has these: with a second set for `f32`, the compiler could no longer tell which one
/// `2.0 * x` means while the tape's scalar is still being inferred from a literal, and
/// `let x = tape.var(2.0); 1.0 / x` would need a type annotation. On an `f32` tape, put the Var
/// first (`x * 2.0`) or call the method (`x.recip() * 2.0`).
macro_rules! scalar_on_the_left {
    ($t:ty) => {
        impl<'t> Add<Var<'t, $t>> for $t {
            type Output = Var<'t, $t>;
            #[inline(always)]
            fn add(self, x: Var<'t, $t>) -> Var<'t, $t> {
                x.unary(Unary::AddConst(self))
            }
        }

        impl<'t> Sub<Var<'t, $t>> for $t {
            type Output = Var<'t, $t>;
            #[inline(always)]
            fn sub(self, x: Var<'t, $t>) -> Var<'t, $t> {
                x.unary(Unary::RSubConst(self))
            }
        }

        impl<'t> Mul<Var<'t, $t>> for $t {
            type Output = Var<'t, $t>;
            #[inline(always)]
            fn mul(self, x: Var<'t, $t>) -> Var<'t, $t> {
                x.unary(Unary::MulConst(self))
            }
        }

        impl<'t> Div<Var<'t, $t>> for $t {
            type Output = Var<'t, $t>;
            #[inline(always)]
            fn div(self, x: Var<'t, $t>) -> Var<'t, $t> {
                x.unary(Unary::RDivConst(self))
            }
        }
    };
}

scalar_on_the_left!(f64);

#[cfg(test)]
mod tests {
    use crate::{OpKind, Tape};

    #[test]
    fn constants_on_either_side_record_one_node() {
        let tape = Tape::new();
        let x = tape.var(2.0);
        let before = tape.len();
        let y = 3.0 - x;
        assert_eq!(tape.len(), before + 1);
        assert_eq!(tape.kind(y), OpKind::RSubConst);
        assert_eq!(tape.kind(x - 3.0), OpKind::AddConst);
        assert_eq!((x - 3.0).value(), -1.0);
    }

    #[test]
    fn compound_assignment_records_like_the_operator() {
        let tape = Tape::new();
        let x = tape.var(2.0);
        let mut y = x;
        y *= x;
        y -= 1.0;
        y /= x;
        assert_eq!(y.value(), 1.5);
        // d/dx (x² - 1)/x = 1 + 1/x²
        assert_eq!(y.backward()[x], 1.25);
    }
}
