//! The number type a tape computes in.
//!
//! A [`Tape`](crate::Tape) is generic over its scalar: `f64` by default, `f32` with the same code.
//! Every value, local partial and adjoint on the tape has this type: `f64`, `f32`, or a
//! [`Dual`](crate::Dual) number over either for forward-over-reverse second derivatives.

use std::fmt::{Debug, Display};
use std::ops::{Add, AddAssign, Div, DivAssign, Mul, MulAssign, Neg, Sub, SubAssign};

/// The declarations in [`Scalar`] of the table's functions marked `float`.
macro_rules! scalar_declarations {
    ($(
        $(#[$attr:meta])*
        $variant:ident $method:ident $name:literal { float: $float:ident, $($rest:tt)* }
    ),* $(,)?) => {
        $(scalar_declaration!($float $method $name);)*
    };
}

macro_rules! scalar_declaration {
    (true $method:ident $name:literal) => {
        #[doc = concat!("`", $name, "` of `self`, meaning what `f64::", $name, "` means.")]
        fn $method(self) -> Self;
    };
    (false $method:ident $name:literal) => {};
}

/// The declarations in [`Scalar`] of the table's operations of two Vars marked `float`.
macro_rules! scalar_binary_declarations {
    ($(
        $(#[$attr:meta])*
        $variant:ident $name:literal $kind:ident $method:ident { float: $float:ident, $($rest:tt)* }
    ),* $(,)?) => {
        $(scalar_binary_declaration!($float $name $method);)*
    };
}

macro_rules! scalar_binary_declaration {
    (true $name:literal $method:ident) => {
        #[doc = concat!("`", $name, "` of `self` and `other`, as `f64::", $name, "`.")]
        fn $method(self, other: Self) -> Self;
    };
    (false $name:literal $method:ident) => {};
}

/// The same methods for `f32` and `f64`: their own.
macro_rules! scalar_float_methods {
    ($(
        $(#[$attr:meta])*
        $variant:ident $method:ident $name:literal { float: $float:ident, $($rest:tt)* }
    ),* $(,)?) => {
        $(scalar_float_method!($float $method);)*
    };
}

macro_rules! scalar_float_method {
    (true $method:ident) => {
        #[inline]
        fn $method(self) -> Self {
            <Self>::$method(self)
        }
    };
    (false $method:ident) => {};
}

/// The same methods of two numbers for `f32` and `f64`: their own.
macro_rules! scalar_float_binary_methods {
    ($(
        $(#[$attr:meta])*
        $variant:ident $name:literal $kind:ident $method:ident { float: $float:ident, $($rest:tt)* }
    ),* $(,)?) => {
        $(scalar_float_binary_method!($float $method);)*
    };
}

macro_rules! scalar_float_binary_method {
    (true $method:ident) => {
        #[inline]
        fn $method(self, other: Self) -> Self {
            <Self>::$method(self, other)
        }
    };
    (false $method:ident) => {};
}

/// The arithmetic and elementary functions a tape needs from its number type.
///
/// Implemented for `f64`, `f32` and [`Dual`](crate::Dual) numbers over either. The methods carry
/// the `f64` names, and mean what they mean for `f64`, including IEEE behaviour outside a
/// function's domain (`ln(-1)` is NaN).
///
/// The trait is sealed: it cannot be implemented outside this crate. Its arithmetic runs inside
/// the tape's recording and reverse sweep while they hold the tape's buffers, where code that
/// recorded on the same tape (or panicked halfway through a node) could corrupt them; sealing it
/// keeps every line that runs there the crate's own, so that no safe code can break the tape.
/// The crate's bounds on it (`T: Scalar`) are for writing code generic over the scalar types
/// above.
///
/// ```compile_fail
/// // A number type of the user's own cannot join: `Sealed` is private.
/// #[derive(Clone, Copy, Debug, Default, PartialEq, PartialOrd)]
/// struct Mine(f64);
/// impl tapegrad::scalar::sealed::Sealed for Mine {}
/// ```
///
/// # Examples
///
/// ```
/// use tapegrad::Scalar;
///
/// fn softplus<T: Scalar>(x: T) -> T {
///     (T::one() + x.exp()).ln()
/// }
/// assert!((softplus(0.0f64) - 2f64.ln()).abs() < 1e-15);
/// assert!((softplus(0.0f32) - 2f32.ln()).abs() < 1e-6);
/// ```
pub trait Scalar:
    sealed::Sealed
    + Copy
    + Debug
    + Display
    + PartialEq
    + PartialOrd
    + Default
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Div<Output = Self>
    + Neg<Output = Self>
    + AddAssign
    + SubAssign
    + MulAssign
    + DivAssign
    + 'static
{
    /// The additive identity.
    fn zero() -> Self;
    /// The multiplicative identity.
    fn one() -> Self;
    /// Converts from `f64`, rounding to the nearest representable value.
    fn from_f64(x: f64) -> Self;
    /// Converts to `f64` (for dual numbers: the real part).
    fn to_f64(self) -> f64;
    /// `true` when neither NaN nor infinite (for dual numbers: every component).
    fn is_finite(self) -> bool;
    /// Integer power.
    fn powi(self, n: i32) -> Self;
    /// Real power with a real exponent.
    fn powf(self, e: Self) -> Self;
    /// Absolute value.
    fn abs(self) -> Self;

    // One method per function of the operations' table whose value is the `f64` method of the
    // same name (`exp`, `ln`, `sin`, …).
    crate::ops::table::functions!(scalar_declarations);
    // And one per operation of two Vars whose value is the `f64` method of the same name.
    crate::ops::table::binaries!(scalar_binary_declarations);
}

/// The seal: only the crate's own types implement [`Scalar`].
pub(crate) mod sealed {
    use crate::replay::Passes;

    /// Implemented by exactly the crate's scalar types. Each names where its replay code
    /// ([`Passes`]) is compiled.
    pub trait Sealed: Passes {}

    impl Sealed for f64 {}
    impl Sealed for f32 {}
    impl<T: super::Scalar> Sealed for crate::Dual<T> {}
}

macro_rules! impl_scalar_float {
    ($t:ty) => {
        impl Scalar for $t {
            #[inline]
            fn zero() -> Self {
                0.0
            }
            #[inline]
            fn one() -> Self {
                1.0
            }
            #[inline]
            fn from_f64(x: f64) -> Self {
                x as $t
            }
            #[inline]
            fn to_f64(self) -> f64 {
                self as f64
            }
            #[inline]
            fn is_finite(self) -> bool {
                <$t>::is_finite(self)
            }
            #[inline]
            fn powi(self, n: i32) -> Self {
                <$t>::powi(self, n)
            }
            #[inline]
            fn powf(self, e: Self) -> Self {
                <$t>::powf(self, e)
            }
            #[inline]
            fn abs(self) -> Self {
                <$t>::abs(self)
            }

            crate::ops::table::functions!(scalar_float_methods);
            crate::ops::table::binaries!(scalar_float_binary_methods);
        }
    };
}

impl_scalar_float!(f64);
impl_scalar_float!(f32);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn f32_and_f64_share_the_f64_meaning() {
        assert_eq!(<f64 as Scalar>::from_f64(0.5), 0.5);
        assert_eq!(<f32 as Scalar>::from_f64(0.5), 0.5f32);
        assert!(!Scalar::is_finite(f64::NAN));
        assert!(Scalar::ln(-1.0f64).is_nan());
    }
}
