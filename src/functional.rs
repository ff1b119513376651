//! Derivatives of functions written once, generically: gradients, Hessian-vector products,
//! Hessians, Jacobians and forward-mode directional derivatives — and custom operations.
//!
//! A closure cannot be generic over the scalar type, so a function that should run on `f64`,
//! `f32` and [`Dual`] alike is a type implementing [`Function`] (one output) or
//! [`VectorFunction`] (several). Every [`Function`] is also a [`VectorFunction`] with one output.
//!
//! | function | computes | how |
//! |---|---|---|
//! | [`grad`], [`value_and_grad`] | `∇f(x)` | one recording, one reverse sweep |
//! | [`hvp`] | `H(x) v` | one recording on a [`Dual`] tape, one reverse sweep (forward-over-reverse) |
//! | [`hessian`] | `H(x)` | `n` HVPs with the unit vectors, on one reused tape |
//! | [`jacobian`] | `J(x)` | one recording, one sweep per output |
//! | [`jvp`] | `f(x)`, `J(x) v` | one recording on a [`Dual`] tape, no sweep (forward mode) |
//!
//! [`grad_fn`] and [`jacobian_fn`] take plain closures for first derivatives at one scalar type.
//!
//! ```
//! use tapegrad::functional::{grad, hessian, hvp, Function};
//! use tapegrad::{Scalar, Var};
//!
//! /// Rosenbrock's function, `(1 - x)² + 100 (y - x²)²`.
//! struct Rosenbrock;
//!
//! impl Function for Rosenbrock {
//!     fn eval<'t, T: Scalar>(&self, x: &[Var<'t, T>]) -> Var<'t, T> {
//!         (x[0] - T::one()).powi(2) + (x[1] - x[0].powi(2)).powi(2) * T::from_f64(100.0)
//!     }
//! }
//!
//! assert_eq!(grad(&Rosenbrock, &[1.0, 1.0]), vec![0.0, 0.0]);
//! // H = [[1200x² - 400y + 2, -400x], [-400x, 200]]
//! let h = hessian(&Rosenbrock, &[1.0, 1.0]);
//! assert_eq!(h.as_slice(), &[802.0, -400.0, -400.0, 200.0]);
//! assert_eq!(hvp(&Rosenbrock, &[1.0, 1.0], &[1.0, 0.0]), vec![802.0, -400.0]);
//! // The same function in f32:
//! assert_eq!(grad(&Rosenbrock, &[0.0f32, 0.0]), vec![-2.0f32, 0.0]);
//! ```

use std::ops::Index;

use crate::{Dual, Jacobian, Scalar, Tape, Var};

/// A real-valued function of several variables, written once for every scalar type.
///
/// Implement [`eval`](Function::eval) with the operators and methods of [`Var`]; plain constants
/// enter as `T::from_f64(c)`, on the right of an operator (`x * T::from_f64(2.0)`). The same code
/// then gives values in `f64` and `f32`, and second derivatives on a [`Dual`] tape.
///
/// # Examples
///
/// A function with data: the squared distance to a fixed point.
///
/// ```
/// use tapegrad::functional::{grad, hessian, Function};
/// use tapegrad::{Scalar, Var};
///
/// struct DistanceTo(Vec<f64>);
///
/// impl Function for DistanceTo {
///     fn eval<'t, T: Scalar>(&self, x: &[Var<'t, T>]) -> Var<'t, T> {
///         let tape = x[0].tape();
///         let diffs: Vec<_> = x
///             .iter()
///             .zip(&self.0)
///             .map(|(&xi, &p)| xi - T::from_f64(p))
///             .collect();
///         tape.dot(&diffs, &diffs)
///     }
/// }
///
/// let f = DistanceTo(vec![1.0, 2.0]);
/// assert_eq!(grad(&f, &[0.0, 0.0]), vec![-2.0, -4.0]);
/// assert_eq!(hessian(&f, &[0.0, 0.0]).as_slice(), &[2.0, 0.0, 0.0, 2.0]);
/// ```
pub trait Function {
    /// `f(x)`, recorded on the tape of the Vars in `x`.
    fn eval<'t, T: Scalar>(&self, x: &[Var<'t, T>]) -> Var<'t, T>;
}

/// A vector-valued function of several variables, written once for every scalar type.
///
/// Every [`Function`] is a `VectorFunction` with one output.
///
/// # Examples
///
/// Polar to Cartesian coordinates:
///
/// ```
/// use tapegrad::functional::{jacobian, VectorFunction};
/// use tapegrad::{Scalar, Var};
///
/// struct Polar;
///
/// impl VectorFunction for Polar {
///     fn eval<'t, T: Scalar>(&self, x: &[Var<'t, T>]) -> Vec<Var<'t, T>> {
///         let (r, t) = (x[0], x[1]);
///         vec![r * t.cos(), r * t.sin()]
///     }
/// }
///
/// let j = jacobian(&Polar, &[2.0, 0.0]);
/// assert_eq!(j.as_slice(), &[1.0, 0.0, 0.0, 2.0]);
/// ```
pub trait VectorFunction {
    /// `f(x)`, recorded on the tape of the Vars in `x`.
    fn eval<'t, T: Scalar>(&self, x: &[Var<'t, T>]) -> Vec<Var<'t, T>>;
}

impl<F: Function + ?Sized> VectorFunction for F {
    #[inline]
    fn eval<'t, T: Scalar>(&self, x: &[Var<'t, T>]) -> Vec<Var<'t, T>> {
        vec![Function::eval(self, x)]
    }
}

#[cold]
#[inline(never)]
#[track_caller]
fn direction_mismatch(what: &str, inputs: usize, directions: usize) -> ! {
    panic!("{what}: got {inputs} inputs and {directions} directions; pass slices of equal length")
}

/// The gradient `∇f(x)`: one recording and one reverse sweep.
///
/// Works for any scalar type: `f32`, `f64`, or [`Dual`] (whose tangents then carry `H v`, as in
/// [`hvp`]).
///
/// # Examples
///
/// ```
/// use tapegrad::functional::{grad, Function};
/// use tapegrad::{Scalar, Var};
///
/// /// `x₀ x₁ + sin x₀`.
/// struct F;
/// impl Function for F {
///     fn eval<'t, T: Scalar>(&self, x: &[Var<'t, T>]) -> Var<'t, T> {
///         x[0] * x[1] + x[0].sin()
///     }
/// }
///
/// assert_eq!(grad(&F, &[0.0, 2.0]), vec![3.0, 0.0]);
/// assert_eq!(grad(&F, &[0.0f32, 2.0]), vec![3.0f32, 0.0]);
/// ```
pub fn grad<T: Scalar, F: Function + ?Sized>(f: &F, x: &[T]) -> Vec<T> {
    value_and_grad(f, x).1
}

/// `f(x)` and `∇f(x)` from one recording and one reverse sweep.
///
/// # Examples
///
/// ```
/// use tapegrad::functional::{value_and_grad, Function};
/// use tapegrad::{Scalar, Var};
///
/// /// `‖x‖²`.
/// struct SquaredNorm;
/// impl Function for SquaredNorm {
///     fn eval<'t, T: Scalar>(&self, x: &[Var<'t, T>]) -> Var<'t, T> {
///         x[0].tape().dot(x, x)
///     }
/// }
///
/// let (value, g) = value_and_grad(&SquaredNorm, &[3.0, 4.0]);
/// assert_eq!(value, 25.0);
/// assert_eq!(g, vec![6.0, 8.0]);
/// ```
pub fn value_and_grad<T: Scalar, F: Function + ?Sized>(f: &F, x: &[T]) -> (T, Vec<T>) {
    let tape = Tape::<T>::with_capacity(x.len());
    let xs = tape.vars(x);
    let y = f.eval(&xs);
    (y.value(), y.backward().wrt_all(&xs))
}

/// [`grad`] of a closure at one scalar type, for when only first derivatives are needed.
///
/// # Examples
///
/// ```
/// use tapegrad::functional::grad_fn;
///
/// let g = grad_fn(|x| (x[0] * x[1]).exp(), &[0.0, 2.0]);
/// assert_eq!(g, vec![2.0, 0.0]);
/// ```
pub fn grad_fn<T, F>(f: F, x: &[T]) -> Vec<T>
where
    T: Scalar,
    F: for<'t> Fn(&[Var<'t, T>]) -> Var<'t, T>,
{
    let tape = Tape::<T>::with_capacity(x.len());
    let xs = tape.vars(x);
    let y = f(&xs);
    y.backward().wrt_all(&xs)
}

/// The Hessian-vector product `H(x) v = ∇(∇f(x)·v)`, forward-over-reverse: one recording on a
/// [`Dual`] tape with inputs `xᵢ + vᵢε`, one reverse sweep; the tangents of the adjoints are
/// `(H v)ᵢ`. Costs a small constant times one gradient, whatever `n`.
///
/// # Panics
///
/// When `x` and `v` differ in length.
///
/// # Examples
///
/// ```
/// use tapegrad::functional::{hvp, Function};
/// use tapegrad::{Scalar, Var};
///
/// /// `x₀² x₁`: `H = [[2x₁, 2x₀], [2x₀, 0]]`.
/// struct F;
/// impl Function for F {
///     fn eval<'t, T: Scalar>(&self, x: &[Var<'t, T>]) -> Var<'t, T> {
///         x[0] * x[0] * x[1]
///     }
/// }
///
/// assert_eq!(hvp(&F, &[3.0, 2.0], &[1.0, 1.0]), vec![4.0 + 6.0, 6.0]);
/// ```
pub fn hvp<T: Scalar, F: Function + ?Sized>(f: &F, x: &[T], v: &[T]) -> Vec<T> {
    grad_and_hvp(f, x, v).1
}

/// Records one leaf per input on a dual tape, `xᵢ + tangent(i) ε`: the seed of every
/// forward-mode direction.
fn dual_inputs<'t, T: Scalar>(
    tape: &'t Tape<Dual<T>>,
    x: &[T],
    tangent: impl Fn(usize) -> T,
) -> Vec<Var<'t, Dual<T>>> {
    x.iter()
        .enumerate()
        .map(|(i, &xi)| tape.var(Dual::new(xi, tangent(i))))
        .collect()
}

/// `∇f(x)` and `H(x) v` together, from the same single recording and sweep as [`hvp`] (the
/// gradient is in the real parts of the adjoints).
///
/// # Panics
///
/// When `x` and `v` differ in length.
///
/// # Examples
///
/// ```
/// use tapegrad::functional::{grad_and_hvp, Function};
/// use tapegrad::{Scalar, Var};
///
/// /// `eˣ⁰ + x₀ x₁`.
/// struct F;
/// impl Function for F {
///     fn eval<'t, T: Scalar>(&self, x: &[Var<'t, T>]) -> Var<'t, T> {
///         x[0].exp() + x[0] * x[1]
///     }
/// }
///
/// let (g, hv) = grad_and_hvp(&F, &[0.0, 5.0], &[0.0, 1.0]);
/// assert_eq!(g, vec![6.0, 0.0]);
/// assert_eq!(hv, vec![1.0, 0.0]);
/// ```
pub fn grad_and_hvp<T: Scalar, F: Function + ?Sized>(f: &F, x: &[T], v: &[T]) -> (Vec<T>, Vec<T>) {
    if x.len() != v.len() {
        direction_mismatch("hvp", x.len(), v.len());
    }
    let tape = Tape::<Dual<T>>::with_capacity(x.len());
    let xs = dual_inputs(&tape, x, |i| v[i]);
    let y = f.eval(&xs);
    let g = y.backward();
    xs.iter().map(|&xi| (g[xi].re, g[xi].eps)).unzip()
}

/// The Hessian `∂²f/∂xᵢ∂xⱼ`: `n` Hessian-vector products with the unit vectors, recorded one
/// after the other on one reused [`Dual`] tape.
///
/// Column `j` is `H eⱼ`. No symmetrisation is applied: the entries are the products as computed,
/// symmetric up to rounding.
///
/// # Examples
///
/// ```
/// use tapegrad::functional::{hessian, Function};
/// use tapegrad::{Scalar, Var};
///
/// /// `x₀ sin x₁`: `H = [[0, cos x₁], [cos x₁, -x₀ sin x₁]]`.
/// struct F;
/// impl Function for F {
///     fn eval<'t, T: Scalar>(&self, x: &[Var<'t, T>]) -> Var<'t, T> {
///         x[0] * x[1].sin()
///     }
/// }
///
/// let h = hessian(&F, &[2.0, 0.0]);
/// assert_eq!(h[(0, 1)], 1.0);
/// assert_eq!(h.row(1), &[1.0, 0.0]);
/// ```
pub fn hessian<T: Scalar, F: Function + ?Sized>(f: &F, x: &[T]) -> Hessian<T> {
    let n = x.len();
    let mut data = vec![T::zero(); n * n];
    let mut tape = Tape::<Dual<T>>::with_capacity(n);
    for j in 0..n {
        tape.clear();
        let xs = dual_inputs(&tape, x, |i| if i == j { T::one() } else { T::zero() });
        let y = f.eval(&xs);
        let g = y.backward();
        for (i, &xi) in xs.iter().enumerate() {
            data[i * n + j] = g[xi].eps;
        }
    }
    Hessian { n, data }
}

/// The Jacobian `∂fᵢ/∂xⱼ` of a vector-valued function: one recording, one reverse sweep per
/// output (see [`Tape::jacobian`]).
///
/// # Examples
///
/// ```
/// use tapegrad::functional::{jacobian, VectorFunction};
/// use tapegrad::{Scalar, Var};
///
/// /// `(x₀ x₁, x₀ + x₁²)`.
/// struct F;
/// impl VectorFunction for F {
///     fn eval<'t, T: Scalar>(&self, x: &[Var<'t, T>]) -> Vec<Var<'t, T>> {
///         vec![x[0] * x[1], x[0] + x[1].powi(2)]
///     }
/// }
///
/// let j = jacobian(&F, &[2.0, 3.0]);
/// assert_eq!(j.row(0), &[3.0, 2.0]);
/// assert_eq!(j.row(1), &[1.0, 6.0]);
/// ```
pub fn jacobian<T: Scalar, F: VectorFunction + ?Sized>(f: &F, x: &[T]) -> Jacobian<T> {
    let tape = Tape::<T>::with_capacity(x.len());
    let xs = tape.vars(x);
    let ys = f.eval(&xs);
    tape.jacobian(&ys, &xs)
}

/// [`jacobian`] of a closure at one scalar type.
///
/// # Examples
///
/// ```
/// use tapegrad::functional::jacobian_fn;
///
/// let j = jacobian_fn(|x| vec![x[0] * x[1], x[1].exp()], &[2.0, 0.0]);
/// assert_eq!(j.as_slice(), &[0.0, 2.0, 0.0, 1.0]);
/// ```
pub fn jacobian_fn<T, F>(f: F, x: &[T]) -> Jacobian<T>
where
    T: Scalar,
    F: for<'t> Fn(&[Var<'t, T>]) -> Vec<Var<'t, T>>,
{
    let tape = Tape::<T>::with_capacity(x.len());
    let xs = tape.vars(x);
    let ys = f(&xs);
    tape.jacobian(&ys, &xs)
}

/// Forward mode: the values `f(x)` and the Jacobian-vector product `J(x) v`, from one recording
/// on a [`Dual`] tape with inputs `xᵢ + vᵢε` and no reverse sweep (the tangents of the outputs
/// are `J v`).
///
/// For a [`Function`] the result has one entry: `f(x)` and the directional derivative `∇f·v`.
///
/// # Panics
///
/// When `x` and `v` differ in length.
///
/// # Examples
///
/// ```
/// use tapegrad::functional::{jvp, Function};
/// use tapegrad::{Scalar, Var};
///
/// /// `x₀ eˣ¹`.
/// struct F;
/// impl Function for F {
///     fn eval<'t, T: Scalar>(&self, x: &[Var<'t, T>]) -> Var<'t, T> {
///         x[0] * x[1].exp()
///     }
/// }
///
/// let (values, jv) = jvp(&F, &[3.0, 0.0], &[1.0, 2.0]);
/// assert_eq!(values, vec![3.0]);
/// assert_eq!(jv, vec![1.0 + 3.0 * 2.0]);
/// ```
pub fn jvp<T: Scalar, F: VectorFunction + ?Sized>(f: &F, x: &[T], v: &[T]) -> (Vec<T>, Vec<T>) {
    if x.len() != v.len() {
        direction_mismatch("jvp", x.len(), v.len());
    }
    let tape = Tape::<Dual<T>>::with_capacity(x.len());
    let xs = dual_inputs(&tape, x, |i| v[i]);
    f.eval(&xs)
        .iter()
        .map(|y| (y.value().re, y.value().eps))
        .unzip()
}

/// A square matrix of second derivatives, `H[(i, j)] = ∂²f/∂xᵢ∂xⱼ`, stored row after row.
///
/// # Examples
///
/// ```
/// use tapegrad::functional::{hessian, Function};
/// use tapegrad::{Scalar, Var};
///
/// struct Cube;
/// impl Function for Cube {
///     fn eval<'t, T: Scalar>(&self, x: &[Var<'t, T>]) -> Var<'t, T> {
///         x[0].powi(3)
///     }
/// }
///
/// let h = hessian(&Cube, &[2.0]);
/// assert_eq!(h.dim(), 1);
/// assert_eq!(h[(0, 0)], 12.0);
/// assert_eq!(h.mul_vec(&[0.5]), vec![6.0]);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Hessian<T = f64> {
    n: usize,
    data: Vec<T>,
}

impl<T: Scalar> Hessian<T> {
    /// The number of variables `n` (the matrix is `n × n`).
    pub fn dim(&self) -> usize {
        self.n
    }

    /// Row `i`: `∂²f/∂xᵢ∂xⱼ` for every `j`.
    ///
    /// # Panics
    ///
    /// When `i >= n`.
    pub fn row(&self, i: usize) -> &[T] {
        assert!(
            i < self.n,
            "hessian row {i} out of range for {} variables",
            self.n
        );
        &self.data[i * self.n..(i + 1) * self.n]
    }

    /// All entries, row after row.
    pub fn as_slice(&self) -> &[T] {
        &self.data
    }

    /// The product `H v`.
    ///
    /// # Panics
    ///
    /// When `v` does not have `n` entries.
    pub fn mul_vec(&self, v: &[T]) -> Vec<T> {
        assert!(
            v.len() == self.n,
            "Hessian::mul_vec: got a vector of {} entries for {} variables; pass one entry per variable",
            v.len(),
            self.n
        );
        (0..self.n)
            .map(|i| {
                self.row(i)
                    .iter()
                    .zip(v)
                    .fold(T::zero(), |acc, (&h, &vj)| acc + h * vj)
            })
            .collect()
    }
}

impl<T: Scalar> Index<(usize, usize)> for Hessian<T> {
    type Output = T;

    fn index(&self, (i, j): (usize, usize)) -> &T {
        assert!(
            i < self.n && j < self.n,
            "hessian index ({i}, {j}) out of range for {} variables",
            self.n
        );
        &self.data[i * self.n + j]
    }
}

impl<'t, T: Scalar> Var<'t, T> {
    /// A user-defined one-input operation `f(self)`: records `value = f(x)` with the local
    /// partial `partial = f'(x)`, as one node (see [`Tape::custom`]).
    ///
    /// The caller vouches for the partial; check it against finite differences.
    ///
    /// Second derivatives: on a [`Dual`] tape, `value` and `partial` must be dual numbers whose
    /// tangents are `f'(x) ẋ` and `f''(x) ẋ` — [`Dual::chain`] builds them from `f`, `f'` and
    /// `f''`. Partials computed from the real part alone (through `to_f64`, a lookup table, …)
    /// have tangent 0: the first derivative stays right, but the curvature of `f` itself is
    /// silently lost from every Hessian through this node.
    ///
    /// # Panics
    ///
    /// Never for a Var of one tape (it records on the Var's own tape).
    ///
    /// # Examples
    ///
    /// Linear interpolation in a lookup table, whose partial is the slope of the segment:
    ///
    /// ```
    /// use tapegrad::{Tape, Var};
    ///
    /// /// Table of `(xᵢ, yᵢ)` with increasing `xᵢ`; clamps outside it.
    /// fn interpolate<'t>(table: &[(f64, f64)], x: Var<'t>) -> Var<'t> {
    ///     let v = x.value();
    ///     let k = table.partition_point(|&(xi, _)| xi <= v).clamp(1, table.len() - 1);
    ///     let ((x0, y0), (x1, y1)) = (table[k - 1], table[k]);
    ///     let slope = (y1 - y0) / (x1 - x0);
    ///     if v < x0 || v > x1 {
    ///         let y = if v < x0 { y0 } else { y1 };
    ///         return x.custom_unary(y, 0.0);
    ///     }
    ///     x.custom_unary(y0 + slope * (v - x0), slope)
    /// }
    ///
    /// let table = [(0.0, 0.0), (1.0, 2.0), (3.0, 3.0)];
    /// let tape = Tape::new();
    /// let x = tape.var(2.0);
    /// let y = interpolate(&table, x);
    /// assert_eq!(y.value(), 2.5);
    /// assert_eq!(y.backward()[x], 0.5);
    /// ```
    ///
    /// The error function with dual-aware partials, `erf' = 2/√π e^(-x²)`,
    /// `erf'' = -2x erf'`, so that its Hessians are right:
    ///
    /// ```
    /// use tapegrad::functional::{hessian, Function};
    /// use tapegrad::{Dual, Tape, Var};
    ///
    /// fn erf(x: f64) -> f64 {
    ///     // Abramowitz–Stegun 7.1.26, accurate to 1.5e-7.
    ///     let t = 1.0 / (1.0 + 0.3275911 * x.abs());
    ///     let poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741
    ///         + t * (-1.453152027 + t * 1.061405429))));
    ///     (1.0 - poly * (-x * x).exp()).copysign(x)
    /// }
    ///
    /// fn erf_var<'t>(x: Var<'t, Dual>) -> Var<'t, Dual> {
    ///     let d = x.value();
    ///     let d1 = 2.0 / std::f64::consts::PI.sqrt() * (-d.re * d.re).exp();
    ///     let d2 = -2.0 * d.re * d1;
    ///     x.custom_unary(d.chain(erf(d.re), d1), d.chain(d1, d2))
    /// }
    ///
    /// let tape = Tape::new();
    /// let x = tape.var(Dual::new(0.5, 1.0));
    /// let g = erf_var(x).backward();
    /// let d1 = 2.0 / std::f64::consts::PI.sqrt() * (-0.25f64).exp();
    /// assert_eq!(g[x], Dual::new(d1, -d1)); // erf''(0.5) = -2 · 0.5 · erf'(0.5)
    /// ```
    #[inline]
    pub fn custom_unary(self, value: T, partial: T) -> Self {
        self.tape().custom(value, &[(self, partial)])
    }

    /// A user-defined two-input operation `f(self, other)`: records `value` with the local
    /// partials `d_self = ∂f/∂self` and `d_other = ∂f/∂other`, as one node (see
    /// [`Tape::custom`]).
    ///
    /// The caller vouches for the partials. The note on second derivatives of
    /// [`custom_unary`](Var::custom_unary) applies: on a [`Dual`] tape the partials' tangents
    /// must be the derivatives of the partials in the direction of the inputs' tangents.
    ///
    /// # Panics
    ///
    /// When `self` and `other` belong to different tapes.
    ///
    /// # Examples
    ///
    /// `hypot(x, y) = √(x² + y²)`, with partials `x/h` and `y/h`:
    ///
    /// ```
    /// use tapegrad::Tape;
    ///
    /// let tape = Tape::new();
    /// let x = tape.var(3.0f64);
    /// let y = tape.var(4.0);
    /// let h = x.value().hypot(y.value());
    /// let z = x.custom_binary(y, h, x.value() / h, y.value() / h);
    /// let g = z.backward();
    /// assert_eq!(z.value(), 5.0);
    /// assert_eq!((g[x], g[y]), (0.6, 0.8));
    /// ```
    #[inline]
    pub fn custom_binary(self, other: Self, value: T, d_self: T, d_other: T) -> Self {
        self.tape()
            .custom(value, &[(self, d_self), (other, d_other)])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::OpKind;

    struct Product;
    impl Function for Product {
        fn eval<'t, T: Scalar>(&self, x: &[Var<'t, T>]) -> Var<'t, T> {
            x[0] * x[1] * x[2]
        }
    }

    #[test]
    fn hessian_of_a_product_has_the_other_variable_off_diagonal() {
        // f = xyz   H = [[0, z, y], [z, 0, x], [y, x, 0]]
        let h = hessian(&Product, &[2.0, 3.0, 5.0]);
        assert_eq!(h.as_slice(), &[0.0, 5.0, 3.0, 5.0, 0.0, 2.0, 3.0, 2.0, 0.0]);
    }

    #[test]
    fn custom_unary_records_one_custom_node() {
        let tape = Tape::new();
        let x = tape.var(2.0);
        let y = x.custom_unary(4.0, 4.0);
        assert_eq!(tape.kind(y), OpKind::Custom);
        assert_eq!(tape.len(), 2);
        let z = x.custom_binary(y, 8.0, 4.0, 2.0);
        assert_eq!(z.backward()[x], 4.0 + 2.0 * 4.0);
    }

    #[test]
    #[should_panic(expected = "hvp: got 2 inputs and 1 directions; pass slices of equal length")]
    fn hvp_with_a_short_direction_panics_with_both_lengths() {
        let _ = hvp(&Product, &[1.0, 2.0], &[1.0]);
    }

    #[test]
    #[should_panic(expected = "jvp: got 3 inputs and 4 directions; pass slices of equal length")]
    fn jvp_with_a_long_direction_panics_with_both_lengths() {
        let _ = jvp(&Product, &[1.0, 2.0, 3.0], &[1.0; 4]);
    }

    #[test]
    #[should_panic(
        expected = "Hessian::mul_vec: got a vector of 2 entries for 3 variables; pass one entry per variable"
    )]
    fn hessian_times_a_short_vector_panics_with_both_lengths() {
        let _ = hessian(&Product, &[1.0, 2.0, 3.0]).mul_vec(&[1.0, 1.0]);
    }

    #[test]
    #[should_panic(expected = "hessian index (0, 2) out of range for 2 variables")]
    fn hessian_index_out_of_range_panics_with_the_index() {
        struct Sum2;
        impl Function for Sum2 {
            fn eval<'t, T: Scalar>(&self, x: &[Var<'t, T>]) -> Var<'t, T> {
                x[0] + x[1]
            }
        }
        let h = hessian(&Sum2, &[1.0, 2.0]);
        let _ = h[(0, 2)];
    }
}
