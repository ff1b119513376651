//! Dual numbers: forward-mode derivatives, and second derivatives as a tape scalar.
//!
//! A dual number `a + bε` with `ε² = 0` carries a value `a` and a tangent `b`. Evaluating a
//! function on `x + vε` gives `f(x) + (∇f(x)·v)ε`: the directional derivative rides along with
//! the value (forward mode).
//!
//! Because [`Dual`] implements [`Scalar`], it can also be the number type of a
//! [`Tape`](crate::Tape) (*forward-over-reverse*). Record the inputs as `xᵢ + vᵢε`; every value
//! and every local partial on the tape is then a dual number whose tangent is its derivative in
//! the direction `v`, and one reverse sweep gives adjoints `∂f/∂xᵢ + (H v)ᵢ ε`: the gradient in
//! the real parts and the Hessian-vector product in the tangents, from one recording and one
//! backward sweep.
//!
//! ```
//! use tapegrad::{Dual, Tape};
//!
//! // f(x, y) = x² y   ∇f = (2xy, x²)   H = [[2y, 2x], [2x, 0]]
//! let tape = Tape::<Dual<f64>>::new();
//! let x = tape.var(Dual::new(3.0, 1.0)); // direction v = (1, 0)
//! let y = tape.var(Dual::new(2.0, 0.0));
//! let g = (x * x * y).backward();
//! assert_eq!(g[x], Dual::new(12.0, 4.0)); // ∂f/∂x = 12, (H v)_x = 2y = 4
//! assert_eq!(g[y], Dual::new(9.0, 6.0)); //  ∂f/∂y = 9,  (H v)_y = 2x = 6
//! ```
//!
//! [`crate::functional`] wraps this in [`hvp`](crate::functional::hvp) and
//! [`hessian`](crate::functional::hessian).
//!
//! # Comparisons
//!
//! Branches must pick the same piece of a piecewise function for a dual number as for its real
//! part, so that the real parts of a dual computation reproduce the plain one bit for bit. The
//! order (`<`, `>=`, `partial_cmp`, …) therefore looks at the real parts only. Equality looks at
//! both parts: the reverse sweep skips nodes whose adjoint equals zero, and an adjoint `0 + bε`
//! with `b ≠ 0` still carries second-order information that must flow on. So two numbers with
//! equal real parts and different tangents compare as neither less nor greater, yet are not equal
//! — the one place where `Dual` departs from the usual agreement between `PartialOrd` and
//! `PartialEq`. Do not sort by it expecting ties to mean equality.

use std::cmp::Ordering;
use std::fmt;
use std::ops::{Add, AddAssign, Div, DivAssign, Mul, MulAssign, Neg, Sub, SubAssign};

use crate::ops::{Binary, Unary};
use crate::{Scalar, Var};

/// A dual number `re + eps·ε` with `ε² = 0`: a value and its tangent (a directional derivative).
///
/// Implements [`Scalar`] with the derivative rule of every function (`exp`, `sin`, `powf`, …),
/// so it works both on its own (forward mode) and as the scalar of a
/// [`Tape`](crate::Tape) (forward-over-reverse second derivatives; see the [module
/// docs](crate::dual)). `T` may itself be a `Dual` for higher derivatives.
///
/// Order comparisons use the real part only; `==` compares both parts (see the [module
/// docs](crate::dual#comparisons)). [`Scalar::is_finite`] requires both parts to be finite.
///
/// # Examples
///
/// Forward mode without a tape: `d/dx [x sin x]` at `x = 2`.
///
/// ```
/// use tapegrad::{Dual, Scalar};
///
/// let x = Dual::variable(2.0);
/// let y = x * x.sin();
/// assert_eq!(y.re, 2.0 * 2f64.sin());
/// assert_eq!(y.eps, 2f64.sin() + 2.0 * 2f64.cos());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Dual<T = f64> {
    /// The real part: the value.
    pub re: T,
    /// The tangent: the derivative of the value in the chosen direction.
    pub eps: T,
}

impl<T: Scalar> Dual<T> {
    /// `re + eps·ε`.
    ///
    /// # Examples
    ///
    /// ```
    /// use tapegrad::Dual;
    ///
    /// let d = Dual::new(1.0, -2.0);
    /// assert_eq!((d.re, d.eps), (1.0, -2.0));
    /// assert_eq!(d.to_string(), "1 - 2ε");
    /// ```
    #[inline]
    pub fn new(re: T, eps: T) -> Self {
        Dual { re, eps }
    }

    /// A constant: tangent 0.
    ///
    /// # Examples
    ///
    /// ```
    /// use tapegrad::Dual;
    ///
    /// assert_eq!(Dual::constant(3.0), Dual::new(3.0, 0.0));
    /// ```
    #[inline]
    pub fn constant(re: T) -> Self {
        Dual { re, eps: T::zero() }
    }

    /// The variable of differentiation: tangent 1, so that `f(x).eps` is `f'(x)`.
    ///
    /// # Examples
    ///
    /// ```
    /// use tapegrad::{Dual, Scalar};
    ///
    /// let x = Dual::variable(3.0);
    /// assert_eq!(x.powi(2).eps, 6.0);
    /// ```
    #[inline]
    pub fn variable(re: T) -> Self {
        Dual { re, eps: T::one() }
    }

    /// `f(self)` as a dual number, from `value = f(re)` and `derivative = f'(re)`: the chain rule
    /// `f(a + bε) = f(a) + f'(a) b ε`.
    ///
    /// This is how to give a function that [`Scalar`] does not know — a special function, a
    /// lookup table, a call into another library — a correct tangent, and how to make the partials
    /// of a custom operation dual-aware (see [`Var::custom_unary`]).
    ///
    /// # Examples
    ///
    /// `cbrt`, whose derivative is `1 / (3 cbrt(x)²)`:
    ///
    /// ```
    /// use tapegrad::Dual;
    ///
    /// let x = Dual::new(8.0, 0.5);
    /// let c = 8f64.cbrt();
    /// let y = x.chain(c, 1.0 / (3.0 * c * c));
    /// assert_eq!(y, Dual::new(2.0, 0.5 / 12.0));
    /// ```
    ///
    /// A zero tangent stays exactly zero whatever the derivative, infinite or NaN included, as
    /// a zero adjoint passes nothing on in the reverse sweep: a constant stays a constant.
    #[inline]
    pub fn chain(self, value: T, derivative: T) -> Self {
        Dual {
            re: value,
            eps: times_tangent(derivative, self.eps),
        }
    }

    /// `op(self)` by the operation's own rule: its value and derivative at the real part.
    #[inline]
    fn through(self, op: Unary<T>) -> Self {
        let (value, derivative) = op.eval(self.re);
        self.chain(value, derivative)
    }

    /// `op(self, other)` by the operation's own rule: its value and partials at the real parts,
    /// `d op = ∂x dx + ∂y dy`.
    ///
    /// A term whose tangent is 0 is left out, as the reverse sweep skips a zero adjoint.
    #[inline]
    fn through2(self, op: Binary, other: Self) -> Self {
        let (value, dx, dy) = op.eval(self.re, other.re);
        Dual::new(
            value,
            times_tangent(dx, self.eps) + times_tangent(dy, other.eps),
        )
    }
}

/// `derivative · tangent`, exactly zero for a zero tangent.
#[inline(always)]
fn times_tangent<T: Scalar>(derivative: T, tangent: T) -> T {
    if tangent == T::zero() {
        T::zero()
    } else {
        derivative * tangent
    }
}

impl<T: Scalar> fmt::Display for Dual<T> {
    /// `re + epsε`, or `re - |eps|ε` for a negative tangent.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.eps < T::zero() {
            write!(f, "{} - {}ε", self.re, -self.eps)
        } else {
            write!(f, "{} + {}ε", self.re, self.eps)
        }
    }
}

impl<T: Scalar> PartialOrd for Dual<T> {
    /// Orders by the real part only; see the [module docs](crate::dual#comparisons).
    #[inline]
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        self.re.partial_cmp(&other.re)
    }
}

impl<T: Scalar> Add for Dual<T> {
    type Output = Self;
    #[inline]
    fn add(self, rhs: Self) -> Self {
        Dual::new(self.re + rhs.re, self.eps + rhs.eps)
    }
}

impl<T: Scalar> Sub for Dual<T> {
    type Output = Self;
    #[inline]
    fn sub(self, rhs: Self) -> Self {
        Dual::new(self.re - rhs.re, self.eps - rhs.eps)
    }
}

impl<T: Scalar> Mul for Dual<T> {
    type Output = Self;
    /// `(a + bε)(c + dε) = ac + (ad + bc)ε`.
    #[inline]
    fn mul(self, rhs: Self) -> Self {
        Dual::new(self.re * rhs.re, self.re * rhs.eps + self.eps * rhs.re)
    }
}

impl<T: Scalar> Div for Dual<T> {
    type Output = Self;
    /// `(a + bε)/(c + dε) = a/c + (b - (a/c) d)/c ε`.
    #[inline]
    fn div(self, rhs: Self) -> Self {
        let q = self.re / rhs.re;
        Dual::new(q, (self.eps - q * rhs.eps) / rhs.re)
    }
}

impl<T: Scalar> Neg for Dual<T> {
    type Output = Self;
    #[inline]
    fn neg(self) -> Self {
        Dual::new(-self.re, -self.eps)
    }
}

impl<T: Scalar> AddAssign for Dual<T> {
    #[inline]
    fn add_assign(&mut self, rhs: Self) {
        *self = *self + rhs;
    }
}

impl<T: Scalar> SubAssign for Dual<T> {
    #[inline]
    fn sub_assign(&mut self, rhs: Self) {
        *self = *self - rhs;
    }
}

impl<T: Scalar> MulAssign for Dual<T> {
    #[inline]
    fn mul_assign(&mut self, rhs: Self) {
        *self = *self * rhs;
    }
}

impl<T: Scalar> DivAssign for Dual<T> {
    #[inline]
    fn div_assign(&mut self, rhs: Self) {
        *self = *self / rhs;
    }
}

/// Each function with its derivative rule `f(a + bε) = f(a) + f'(a) b ε`.
/// The table's functions marked `float`, for dual numbers: the chain rule on the entry's own
/// value and partial.
macro_rules! scalar_dual_methods {
    ($(
        $(#[$attr:meta])*
        $variant:ident $method:ident $name:literal { float: $float:ident, $($rest:tt)* }
    ),* $(,)?) => {
        $(scalar_dual_method!($float $method $variant);)*
    };
}

/// The table's operations of two Vars marked `float`, for dual numbers: the chain rule on the
/// entry's own value and partials.
macro_rules! scalar_dual_binary_methods {
    ($(
        $(#[$attr:meta])*
        $variant:ident $name:literal $kind:ident $method:ident { float: $float:ident, $($rest:tt)* }
    ),* $(,)?) => {
        $(scalar_dual_binary_method!($float $variant $method);)*
    };
}

macro_rules! scalar_dual_binary_method {
    (true $variant:ident $method:ident) => {
        #[inline]
        fn $method(self, other: Self) -> Self {
            self.through2(Binary::$variant, other)
        }
    };
    (false $variant:ident $method:ident) => {};
}

macro_rules! scalar_dual_method {
    (true $method:ident $variant:ident) => {
        #[inline]
        fn $method(self) -> Self {
            self.through(Unary::$variant)
        }
    };
    (false $method:ident $variant:ident) => {};
}

impl<T: Scalar> Scalar for Dual<T> {
    #[inline]
    fn zero() -> Self {
        Dual::constant(T::zero())
    }

    #[inline]
    fn one() -> Self {
        Dual::constant(T::one())
    }

    /// A constant: tangent 0.
    #[inline]
    fn from_f64(x: f64) -> Self {
        Dual::constant(T::from_f64(x))
    }

    /// The real part, as `f64`; the tangent is dropped.
    #[inline]
    fn to_f64(self) -> f64 {
        self.re.to_f64()
    }

    /// Both parts finite.
    #[inline]
    fn is_finite(self) -> bool {
        self.re.is_finite() && self.eps.is_finite()
    }

    // The elementary functions read their values and derivatives from the operations' tables
    // (`src/ops/table.rs`), the one place each derivative is written; a dual number only applies
    // the chain rule to them: the tables' `float` operations below, `powi` and `powf` here.

    /// `(xⁿ)' = n xⁿ⁻¹`; `x⁰` is the constant 1.
    #[inline]
    fn powi(self, n: i32) -> Self {
        self.through(Unary::Powi(n))
    }

    /// `d(x^y) = y x^(y-1) dx + x^y ln x dy`.
    ///
    /// A term whose tangent is 0 is left out, as the reverse sweep skips a zero adjoint: a plain
    /// exponent (tangent 0) keeps a negative base with an integer exponent finite, where
    /// `ln x` is NaN.
    #[inline]
    fn powf(self, e: Self) -> Self {
        self.through2(Binary::Pow, e)
    }

    /// `|x|' = sign(x)`. At `x = 0` the tangent is that of the left piece `-x`: the piece `relu`
    /// and `leaky_relu` also take at 0, so that smooth functions assembled from kinked ones —
    /// `softplus(x) = relu(x) + ln(1 + e^(-|x|))` — keep the right tangent there.
    #[inline]
    fn abs(self) -> Self {
        if self.re > T::zero() {
            self
        } else {
            Dual::new(self.re.abs(), -self.eps)
        }
    }

    crate::ops::table::functions!(scalar_dual_methods);
    crate::ops::table::binaries!(scalar_dual_binary_methods);
}

/// `c + x`, `c - x`, `c * x` and `c / x` for a plain dual number `c` and a Var on a dual tape,
/// each recorded as one node like `x + c`.
macro_rules! dual_on_the_left {
    ($tr:ident, $method:ident, $op:expr) => {
        impl<'t, T: Scalar> $tr<Var<'t, Dual<T>>> for Dual<T> {
            type Output = Var<'t, Dual<T>>;
            #[inline]
            fn $method(self, x: Var<'t, Dual<T>>) -> Var<'t, Dual<T>> {
                #[allow(clippy::redundant_closure_call)]
                x.unary($op(self))
            }
        }
    };
}

dual_on_the_left!(Add, add, Unary::AddConst);
dual_on_the_left!(Sub, sub, Unary::RSubConst);
dual_on_the_left!(Mul, mul, Unary::MulConst);
dual_on_the_left!(Div, div, Unary::RDivConst);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Tape;

    /// Compares `f` on a dual against a central difference of `f` on `f64`.
    fn assert_tangent_matches_difference(f: impl Fn(Dual<f64>) -> Dual<f64>, x: f64) {
        let h = 1e-6;
        let y = f(Dual::new(x, 1.0));
        let fd = (f(Dual::constant(x + h)).re - f(Dual::constant(x - h)).re) / (2.0 * h);
        assert!(
            (y.eps - fd).abs() <= 1e-6 * (1.0 + fd.abs()),
            "at x = {x}: tangent {} but difference {fd}",
            y.eps
        );
    }

    #[test]
    fn a_constant_stays_a_constant_where_the_derivative_is_infinite() {
        // √x at 0 has the derivative +inf; a constant's tangent 0 must not become inf · 0 = NaN.
        assert_eq!(Dual::constant(0.0).sqrt(), Dual::new(0.0, 0.0));
        assert_eq!(Dual::constant(0.0).ln().eps, 0.0);
        assert_eq!(Dual::constant(-1.0).ln().eps, 0.0);
    }

    #[test]
    fn tangents_follow_the_operations_edge_conventions() {
        // The same rules as the tape's partials (docs/ops.md): √ at -0.0 has +inf, ln below 0
        // has NaN, x^0 has 0 at 0.
        assert_eq!(Dual::variable(-0.0).sqrt().eps, f64::INFINITY);
        assert!(Dual::variable(-1.0f64).ln().eps.is_nan());
        assert_eq!(
            Dual::variable(0.0).powf(Dual::constant(0.0)),
            Dual::new(1.0, 0.0)
        );
        assert_eq!(Dual::variable(0.0).powi(0), Dual::new(1.0, 0.0));
    }

    #[test]
    fn every_function_tangent_matches_finite_difference() {
        let d = |x: f64| Dual::constant(x);
        for x in [0.3, 1.7, 2.5] {
            assert_tangent_matches_difference(|x| x.exp(), x);
            assert_tangent_matches_difference(|x| x.ln(), x);
            assert_tangent_matches_difference(|x| x.sqrt(), x);
            assert_tangent_matches_difference(|x| x.sin(), x);
            assert_tangent_matches_difference(|x| x.cos(), x);
            assert_tangent_matches_difference(|x| x.tan(), x);
            assert_tangent_matches_difference(|x| x.tanh(), x);
            assert_tangent_matches_difference(|x| x.powi(3), x);
            assert_tangent_matches_difference(|x| x.powi(-2), x);
            assert_tangent_matches_difference(|x| x.powf(d(1.5)), x);
            assert_tangent_matches_difference(|x| d(1.5).powf(x), x);
            assert_tangent_matches_difference(|x| x.powf(x), x);
            assert_tangent_matches_difference(|x| (-x).abs(), x);
            assert_tangent_matches_difference(|x| x.recip(), x);
            assert_tangent_matches_difference(|x| x.ln_1p(), x);
            assert_tangent_matches_difference(|x| x * x / (x + d(1.0)) - x, x);
        }
    }

    #[test]
    fn powf_of_a_negative_base_with_plain_exponent_stays_finite() {
        let y = Dual::new(-2.0, 1.0).powf(Dual::constant(3.0));
        assert_eq!(y, Dual::new(-8.0, 12.0));
    }

    #[test]
    fn abs_at_zero_takes_the_left_piece() {
        assert_eq!(Dual::new(0.0, 5.0).abs(), Dual::new(0.0, -5.0));
        assert_eq!(Dual::new(-1.0, 5.0).abs(), Dual::new(1.0, -5.0));
        assert_eq!(Dual::new(2.0, 5.0).abs(), Dual::new(2.0, 5.0));
        assert!(Dual::new(-0.0f64, 1.0).abs().re.is_sign_positive());
    }

    #[test]
    fn order_uses_the_real_part_and_equality_both_parts() {
        let a = Dual::new(1.0, 5.0);
        let b = Dual::new(1.0, -5.0);
        assert_eq!(a.partial_cmp(&b), Some(Ordering::Equal));
        assert!(a <= b);
        assert_ne!(a, b);
        assert!(Dual::new(0.5, 9.0) < Dual::new(1.0, 0.0));
        assert_ne!(Dual::new(0.0, 1.0), Dual::<f64>::zero());
    }

    #[test]
    fn is_finite_checks_both_parts() {
        assert!(Dual::new(1.0, 2.0).is_finite());
        assert!(!Dual::new(1.0, f64::NAN).is_finite());
        assert!(!Dual::new(f64::INFINITY, 0.0).is_finite());
    }

    #[test]
    fn display_writes_the_sign_of_the_tangent() {
        assert_eq!(Dual::new(1.5, 2.0).to_string(), "1.5 + 2ε");
        assert_eq!(Dual::new(1.5, -2.0).to_string(), "1.5 - 2ε");
    }

    #[test]
    fn an_adjoint_with_zero_real_part_still_carries_its_tangent() {
        // f(x) = sin(x)²: at x = 0 the adjoint of sin(x) is 2 sin(0) = 0, but its tangent is
        // 2 cos(0) v, so f''(0) = 2 cos²(0) = 2 must survive the sweep.
        let tape = Tape::new();
        let x = tape.var(Dual::new(0.0, 1.0));
        let g = x.sin().powi(2).backward();
        assert_eq!(g[x], Dual::new(0.0, 2.0));
    }

    #[test]
    fn dual_on_the_left_records_one_node() {
        let tape = Tape::new();
        let x = tape.var(Dual::new(2.0, 1.0));
        let c = Dual::constant(3.0);
        let before = tape.len();
        let y = c - x;
        assert_eq!(tape.len(), before + 1);
        assert_eq!(y.value(), Dual::new(1.0, -1.0));
        assert_eq!((c / x).value(), Dual::new(1.5, -0.75));
        assert_eq!((c * x).value(), Dual::new(6.0, 3.0));
        assert_eq!((c + x).value(), Dual::new(5.0, 1.0));
    }

    #[test]
    fn real_parts_reproduce_the_plain_computation_bit_for_bit() {
        let f = |x: f64| (x.sin() * x.exp() / (x + 1.0)).tanh().powf(1.3);
        let g = |x: Dual<f64>| {
            (x.sin() * x.exp() / (x + Dual::one()))
                .tanh()
                .powf(Dual::constant(1.3))
        };
        for x in [0.1, 0.7, 3.0] {
            assert_eq!(g(Dual::new(x, 0.25)).re.to_bits(), f(x).to_bits());
        }
    }
}
