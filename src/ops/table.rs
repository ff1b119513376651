//! The tables of operations: every elementary operation declared once, with its name, value,
//! local partials, kinks and domain, and the formulas an explanation prints. Three tables:
//! [`functions!`] (the functions of one input: `exp`, `sin`, `powf(c)`, …), [`binaries!`] (the
//! operations of two Vars: `+ - * /`, `pow`, `max`, `min`, …) and [`fixed_unaries!`] (negation,
//! arithmetic with a plain number, `powi`).
//!
//! Everything that needs to know an operation reads its entry here: recording (the methods on
//! [`Var`](crate::Var) are generated from it, doc comments included), the tape's kind and layout
//! ([`OpKind`](super::OpKind)), the rules that give value and partials
//! ([`Unary::eval`](super::Unary), [`Binary::eval`](super::Binary)), which also serve replay,
//! forward recomputation and dual numbers, the text of [`explain`](crate::explain) and the labels
//! of [`graph`](crate::graph), and the random expressions of [`check`](crate::check), which read
//! the domains, kinks and images to stay where the operations are smooth. The n-ary operations
//! (`sum`, `dot`, custom ones) are declared once each too, by the `Nary` rules of `nary.rs` —
//! name, layout, value and explanation — and comparisons, which pass no gradient, in
//! `compare.rs`.
//!
//! Adding an operation is one entry in a table, one row in `docs/ops.md` and one line in the
//! shared test table of `tests/functions.rs` (`function_case!`, `binary_case!` or `fixed_case!`).
//! The entries of the other tables are described above their macros. An entry of the functions
//! reads:
//!
//! - the doc comment of the method on `Var`, then `Variant method "name"`;
//! - `float: true` when the value is the `f64` method of the same name: [`Scalar`](crate::Scalar)
//!   then gains that method, for `f32` and `f64` by calling theirs and for
//!   [`Dual`](crate::Dual) numbers by the chain rule on this entry;
//! - `param: c in [choices]` for a function with a plain parameter (`powf`'s exponent, the leaky
//!   ReLU's slope): the method takes it as its argument, the tape keeps it as the node's
//!   constant, explanations print it as `{c}`, and random expressions draw it from the choices;
//! - `value: |x| …` and `partial: |x, y| …`, in any [`Scalar`](crate::Scalar) `T`, `y` being the
//!   value; `of_output` when the partial reads `y` alone (a compiled tape's fused neurons form it
//!   from the output);
//! - `explain`: the value's formula and the partial's, `{x}` and `{y}` standing for the input's
//!   and the output's names; `by_sign(below, at, above)` for a partial that depends on which side
//!   of the kink the input is;
//! - `domain`: the open interval where the function is smooth and finite (random expressions keep
//!   their operands inside it, and clear of a `kink`); `image`: how an interval of inputs maps to
//!   outputs; `steepest`: where `|partial|` is largest over an interval.

/// Calls `$then!` with every elementary function's entry (after the tokens in parentheses, if
/// given).
macro_rules! functions {
    ($then:ident $(($($before:tt)*))?) => {
        $then! {
            $($($before)*)?
            /// `e^x`.
            ///
            /// Local derivative: `e^x`, the output itself.
            ///
            /// # Examples
            ///
            /// ```
            /// use tapegrad::Tape;
            ///
            /// let tape = Tape::new();
            /// let x = tape.var(1.0);
            /// assert_eq!(x.exp().backward()[x], 1f64.exp());
            /// ```
            Exp exp "exp" {
                float: true,
                value: |x| x.exp(),
                partial: |_x, y| y,
                of_output: true,
                explain: "exp({x})", same("exp({x}) = {y}"),
                domain: (f64::NEG_INFINITY, f64::INFINITY),
                image: Image::Monotone,
                kink: None,
                steepest: Steepest::AtEnds,
            },
            /// Natural logarithm.
            ///
            /// Local derivative: `1 / x`.
            /// Domain: `x > 0`; at `±0` the value is `-inf` and the partial `+inf`; below 0 both are NaN.
            ///
            /// # Examples
            ///
            /// ```
            /// use tapegrad::Tape;
            ///
            /// let tape = Tape::new();
            /// let x = tape.var(4.0);
            /// assert_eq!(x.ln().backward()[x], 0.25);
            /// ```
            Ln ln "ln" {
                float: true,
                value: |x| x.ln(),
                // Below the domain the partial is NaN like the value; at -0.0 it is +inf as at +0.0
                // (adding +0 turns -0 into +0 and leaves every other number alone).
                partial: |x, y| if x < T::zero() { y } else { (x + T::zero()).recip() },
                of_output: false,
                explain: "ln({x})", same("1 / {x}"),
                domain: (0.0, f64::INFINITY),
                image: Image::Monotone,
                kink: None,
                steepest: Steepest::AtEnds,
            },
            /// Square root.
            ///
            /// Local derivative: `1 / (2√x)`, from the output.
            /// Domain: `x ≥ 0`; at `±0` the partial is `+inf`; below 0 the value and the partial are NaN.
            ///
            /// # Examples
            ///
            /// ```
            /// use tapegrad::Tape;
            ///
            /// let tape = Tape::new();
            /// let x = tape.var(9.0);
            /// assert_eq!(x.sqrt().backward()[x], 1.0 / 6.0);
            /// ```
            Sqrt sqrt "sqrt" {
                float: true,
                value: |x| x.sqrt(),
                // `y + y + 0` is `+0` for `y = -0.0`, whose partial is then `+inf` as at `+0.0`.
                partial: |_x, y| (y + y + T::zero()).recip(),
                of_output: true,
                explain: "sqrt({x})", same("1 / (2 · {y})"),
                domain: (0.0, f64::INFINITY),
                image: Image::Monotone,
                kink: None,
                steepest: Steepest::AtEnds,
            },
            /// Sine.
            ///
            /// Local derivative: `cos x`.
            ///
            /// # Examples
            ///
            /// ```
            /// use tapegrad::Tape;
            ///
            /// let tape = Tape::new();
            /// let x = tape.var(0.0);
            /// assert_eq!(x.sin().backward()[x], 1.0);
            /// ```
            Sin sin "sin" {
                float: true,
                value: |x| x.sin(),
                partial: |x, _y| x.cos(),
                of_output: false,
                explain: "sin({x})", same("cos({x})"),
                domain: (f64::NEG_INFINITY, f64::INFINITY),
                image: Image::Within(-1.0, 1.0),
                kink: None,
                steepest: Steepest::AtMost(1.0),
            },
            /// Cosine.
            ///
            /// Local derivative: `-sin x`.
            ///
            /// # Examples
            ///
            /// ```
            /// use tapegrad::Tape;
            ///
            /// let tape = Tape::new();
            /// let x = tape.var(0.5);
            /// assert_eq!(x.cos().backward()[x], -(0.5f64.sin()));
            /// ```
            Cos cos "cos" {
                float: true,
                value: |x| x.cos(),
                partial: |x, _y| -x.sin(),
                of_output: false,
                explain: "cos({x})", same("-sin({x})"),
                domain: (f64::NEG_INFINITY, f64::INFINITY),
                image: Image::Within(-1.0, 1.0),
                kink: None,
                steepest: Steepest::AtMost(1.0),
            },
            /// Tangent.
            ///
            /// Local derivative: `1 + tan² x`, from the output.
            /// Domain: `x ≠ π/2 + kπ`, where the value is huge rather than infinite in floating point.
            ///
            /// # Examples
            ///
            /// ```
            /// use tapegrad::Tape;
            ///
            /// let tape = Tape::new();
            /// let x = tape.var(0.0);
            /// assert_eq!(x.tan().backward()[x], 1.0);
            /// ```
            Tan tan "tan" {
                float: true,
                value: |x| x.tan(),
                partial: |_x, y| T::one() + y * y,
                of_output: true,
                explain: "tan({x})", same("1 + {y}²"),
                domain: (-std::f64::consts::FRAC_PI_2, std::f64::consts::FRAC_PI_2),
                image: Image::Monotone,
                kink: None,
                steepest: Steepest::AtEnds,
            },
            /// Hyperbolic tangent.
            ///
            /// Local derivative: `1 - t²` where `t` is the output.
            ///
            /// # Examples
            ///
            /// ```
            /// use tapegrad::Tape;
            ///
            /// let tape = Tape::new();
            /// let x = tape.var(0.0);
            /// assert_eq!(x.tanh().backward()[x], 1.0);
            /// ```
            Tanh tanh "tanh" {
                float: true,
                value: |x| x.tanh(),
                // From the output: it loses relative precision in the tails (docs/ops.md says how much).
                partial: |_x, y| T::one() - y * y,
                of_output: true,
                explain: "tanh({x})", same("1 - {y}²"),
                domain: (f64::NEG_INFINITY, f64::INFINITY),
                image: Image::Monotone,
                kink: None,
                steepest: Steepest::AtMost(1.0),
            },
            /// Logistic sigmoid, `1 / (1 + e^(-x))`, evaluated without overflow for large `|x|`.
            ///
            /// Local derivative: `s * (1 - s)` where `s` is the output, so the partial is computed from
            /// the value already in hand.
            ///
            /// # Examples
            ///
            /// ```
            /// use tapegrad::Tape;
            ///
            /// let tape = Tape::new();
            /// let x = tape.var(0.0);
            /// let g = x.sigmoid().backward();
            /// assert_eq!(g.wrt(x), 0.25);
            /// ```
            Sigmoid sigmoid "sigmoid" {
                float: false,
                value: |x| sigmoid(x),
                // From the output, like tanh's.
                partial: |_x, y| y * (T::one() - y),
                of_output: true,
                explain: "sigmoid({x})", same("{y} · (1 - {y})"),
                domain: (f64::NEG_INFINITY, f64::INFINITY),
                image: Image::Monotone,
                kink: None,
                steepest: Steepest::AtMost(0.25),
            },
            /// Rectified linear unit, `max(x, 0)`.
            ///
            /// Local derivative: 1 for `x > 0`, 0 otherwise; at the kink `x = 0` the partial is 0.
            /// NaN gives NaN, value and partial.
            ///
            /// # Examples
            ///
            /// ```
            /// use tapegrad::Tape;
            ///
            /// let tape = Tape::new();
            /// let x = tape.var(0.0);
            /// assert_eq!(x.relu().backward()[x], 0.0);
            /// ```
            Relu relu "relu" {
                float: false,
                // NaN fails both comparisons and comes out as NaN, value and partial.
                value: |x| if x > T::zero() {
                    x
                } else if x <= T::zero() {
                    T::zero()
                } else {
                    x
                },
                // The partial at the output has the input's sign class (positive, zero or NaN), so it
                // is the same partial: replay forms it from the output.
                partial: |x, _y| if x > T::zero() {
                    T::one()
                } else if x <= T::zero() {
                    T::zero()
                } else {
                    x
                },
                of_output: true,
                explain: "relu({x})", by_sign("0 (as {x} ≤ 0)", "0 (as {x} ≤ 0)", "1 (as {x} > 0)"),
                domain: (f64::NEG_INFINITY, f64::INFINITY),
                image: Image::Monotone,
                kink: Some(0.0),
                steepest: Steepest::AtMost(1.0),
            },
            /// Softplus, `ln(1 + e^x)`, a smooth ReLU; finite for any finite `x`.
            ///
            /// Local derivative: `sigmoid(x)`.
            ///
            /// # Examples
            ///
            /// ```
            /// use tapegrad::Tape;
            ///
            /// let tape = Tape::new();
            /// let x = tape.var(0.0);
            /// let y = x.softplus();
            /// assert_eq!(y.value(), 2f64.ln());
            /// assert_eq!(y.backward()[x], 0.5);
            /// assert_eq!(tape.var(1000.0).softplus().value(), 1000.0);
            /// ```
            Softplus softplus "softplus" {
                float: false,
                // ln(1 + e^x) = max(x, 0) + ln(1 + e^-|x|): finite for any x.
                value: |x| {
                    let relu = if x > T::zero() { x } else { T::zero() };
                    relu + (-x.abs()).exp().ln_1p()
                },
                partial: |x, _y| sigmoid(x),
                of_output: false,
                explain: "softplus({x})", same("sigmoid({x})"),
                domain: (f64::NEG_INFINITY, f64::INFINITY),
                image: Image::Monotone,
                kink: None,
                steepest: Steepest::AtMost(1.0),
            },
            /// Absolute value.
            ///
            /// Local derivative: the sign of `x`; at the kink `x = 0` the partial is 0.
            ///
            /// # Examples
            ///
            /// ```
            /// use tapegrad::Tape;
            ///
            /// let tape = Tape::new();
            /// let x = tape.var(-3.0);
            /// assert_eq!(x.abs().backward()[x], -1.0);
            /// let zero = tape.var(0.0);
            /// assert_eq!(zero.abs().backward()[zero], 0.0);
            /// ```
            Abs abs "abs" {
                float: false,
                // Written out rather than `x.abs()`: a dual number's `abs` keeps the tangent of the left
                // piece at 0, where this operation's partial is 0; NaN comes out as NaN.
                value: |x| if x > T::zero() {
                    x
                } else if x < T::zero() {
                    -x
                } else if x == T::zero() {
                    x.abs()
                } else {
                    x
                },
                partial: |x, _y| if x > T::zero() {
                    T::one()
                } else if x < T::zero() {
                    -T::one()
                } else if x == T::zero() {
                    T::zero()
                } else {
                    x
                },
                of_output: false,
                explain: "|{x}|", by_sign("-1 (as {x} < 0)", "0 (as {x} = 0)", "1 (as {x} > 0)"),
                domain: (f64::NEG_INFINITY, f64::INFINITY),
                image: Image::Even,
                kink: Some(0.0),
                steepest: Steepest::AtMost(1.0),
            },
            /// `1 / x`.
            ///
            /// Local derivative: `-1 / x²`, from the output.
            /// Domain: `x ≠ 0`; at 0 the value and partial are infinite.
            ///
            /// # Examples
            ///
            /// ```
            /// use tapegrad::Tape;
            ///
            /// let tape = Tape::new();
            /// let x = tape.var(2.0);
            /// assert_eq!(x.recip().backward()[x], -0.25);
            /// ```
            Recip recip "recip" {
                float: true,
                value: |x| x.recip(),
                partial: |_x, y| -(y * y),
                of_output: true,
                explain: "1 / {x}", same("-{y}²"),
                // Either side of 0; random expressions keep to the positive one.
                domain: (0.0, f64::INFINITY),
                image: Image::Monotone,
                kink: None,
                steepest: Steepest::AtEnds,
            },
            /// `x^c` for a plain real exponent `c`.
            ///
            /// Local derivative: `c x^(c-1)`; exactly 0 for `c = 0`, at `x = 0` too.
            /// Domain: `x > 0` for non-integer `c`; below it the value and the partial are NaN.
            ///
            /// # Examples
            ///
            /// ```
            /// use tapegrad::Tape;
            ///
            /// let tape = Tape::new();
            /// let x = tape.var(4.0);
            /// assert_eq!(x.powf(1.5).backward()[x], 3.0);
            /// ```
            Powf powf "powf" {
                float: false,
                param: c in [-1.5, -0.5, 0.5, 1.3, 2.5],
                value: |x| x.powf(c),
                // At c = 0 the partial is 0 everywhere, 0⁰ included, where `c · x^(c-1)` is
                // 0 · inf.
                partial: |x, _y| if c == T::zero() { T::zero() } else { c * x.powf(c - T::one()) },
                of_output: false,
                explain: "{x}^{c}", same("{c} · {x}^({c} - 1)"),
                domain: (0.0, f64::INFINITY),
                image: Image::Monotone,
                kink: None,
                steepest: Steepest::AtEnds,
            },
            /// Leaky ReLU: `x` for `x > 0`, `slope * x` otherwise.
            ///
            /// Local derivative: 1 for `x > 0`, `slope` otherwise; at the kink `x = 0` the partial
            /// is `slope`. NaN gives NaN, value and partial.
            ///
            /// # Examples
            ///
            /// ```
            /// use tapegrad::Tape;
            ///
            /// let tape = Tape::new();
            /// let x = tape.var(-2.0);
            /// let y = x.leaky_relu(0.01);
            /// assert_eq!(y.value(), -0.02);
            /// assert_eq!(y.backward()[x], 0.01);
            /// ```
            LeakyRelu leaky_relu "leaky_relu" {
                float: false,
                param: slope in [0.01, 0.1, 0.3],
                // NaN fails both comparisons and comes out as NaN, value and partial.
                value: |x| if x > T::zero() {
                    x
                } else if x <= T::zero() {
                    slope * x
                } else {
                    x
                },
                partial: |x, _y| if x > T::zero() {
                    T::one()
                } else if x <= T::zero() {
                    slope
                } else {
                    x
                },
                of_output: false,
                explain: "leaky_relu({x}, {c})",
                    by_sign("{c} (as {x} ≤ 0)", "{c} (as {x} ≤ 0)", "1 (as {x} > 0)"),
                domain: (f64::NEG_INFINITY, f64::INFINITY),
                image: Image::Monotone,
                kink: Some(0.0),
                steepest: Steepest::AtMost(1.0),
            },
            /// `ln(1 + x)`, accurate when `x` is near zero (where `(1.0 + x).ln()` loses the digits of
            /// `x`).
            ///
            /// Local derivative: `1 / (1 + x)`.
            /// Domain: `x > -1`; at `-1` the value is `-inf` and the partial `+inf`; below it both are
            /// NaN.
            ///
            /// # Examples
            ///
            /// ```
            /// use tapegrad::Tape;
            ///
            /// let tape = Tape::new();
            /// let x = tape.var(1e-10);
            /// let y = x.ln_1p();
            /// assert_eq!(y.value(), 1e-10f64.ln_1p());
            /// assert_eq!(y.backward()[x], 1.0 / (1.0 + 1e-10));
            /// ```
            Ln1p ln_1p "ln_1p" {
                float: true,
                value: |x| x.ln_1p(),
                partial: |x, y| if x < -T::one() { y } else { (T::one() + x).recip() },
                of_output: false,
                explain: "ln_1p({x})", same("1 / (1 + {x})"),
                domain: (-1.0, f64::INFINITY),
                image: Image::Monotone,
                kink: None,
                steepest: Steepest::AtEnds,
            },
        }
    };
}

/// Calls `$then!` with the entry of every operation of two Vars (after the tokens in
/// parentheses, if given).
///
/// An entry reads:
///
/// - the doc comment of the method on `Var`, then `Variant "name"`, then `method m` for a method
///   on `Var` (`x.pow(y)`), which the entry generates, or `operator m` for an operator and the
///   method of its trait (`x + y`, `add`), whose impl in `arith.rs` names the variant; `name` is
///   the kind's short name and the operator shown when the two Vars come from different tapes;
/// - `float: true` when the value is the `f64` method of the same name: [`Scalar`](crate::Scalar)
///   then gains that method, for `f32` and `f64` by calling theirs and for
///   [`Dual`](crate::Dual) numbers by the chain rule on this entry;
/// - `shape`: `Shape::UnitBinary(sign)` when the partials are `1` and `±1` (nothing stored),
///   `Shape::Binary` when both are stored;
/// - `eval: |x, y| …`, in any [`Scalar`](crate::Scalar) `T`: the value and the partials
///   `(value, ∂/∂x, ∂/∂y)`, `x` being the receiver;
/// - `explain`: the value's formula and the partials' (`{x}`, `{y}` for the operands' names,
///   `{z}` for the output's), `same2([∂x, ∂y])` for a smooth operation,
///   `by_branch([∂x, ∂y] when x is taken, [∂x, ∂y] when y is taken)` for a piecewise one whose
///   piece the recorded partial to `x` tells (nonzero: `x` was taken);
/// - for random expressions: `domains`, the open interval each operand is kept inside (as a
///   function's `domain`); `tie: true` when the operation has a kink where `x == y`, which
///   operands then keep clear of; `steepest: |x, y| …`, bounds on `|∂/∂x|` and `|∂/∂y|` over
///   operands in the intervals `x = (lo, hi)` and `y = (lo, hi)`. Inside its domains every
///   operation is monotone in each operand while the other is fixed, so the value over a box of
///   operands lies between its values at the corners.
macro_rules! binaries {
    ($then:ident $(($($before:tt)*))?) => {
        $then! {
            $($($before)*)?
            Add "+" operator add {
                float: false,
                shape: Shape::UnitBinary(Sign::Plus),
                eval: |x, y| (x + y, T::one(), T::one()),
                explain: "{x} + {y}", same2(["1", "1"]),
                domains: [ANYWHERE, ANYWHERE],
                tie: false,
                steepest: |_x, _y| [1.0, 1.0],
            },
            Sub "-" operator sub {
                float: false,
                shape: Shape::UnitBinary(Sign::Minus),
                eval: |x, y| (x - y, T::one(), -T::one()),
                explain: "{x} - {y}", same2(["1", "-1"]),
                domains: [ANYWHERE, ANYWHERE],
                tie: false,
                steepest: |_x, _y| [1.0, 1.0],
            },
            Mul "*" operator mul {
                float: false,
                shape: Shape::Binary,
                eval: |x, y| (x * y, y, x),
                explain: "{x} * {y}", same2(["{y}", "{x}"]),
                domains: [ANYWHERE, ANYWHERE],
                tie: false,
                steepest: |x, y| [largest(y), largest(x)],
            },
            Div "/" operator div {
                float: false,
                shape: Shape::Binary,
                // Both partials from `1/y` and the value: `-x/y²` is `-(x/y)·(1/y)`.
                eval: |x, y| {
                    let r = y.recip();
                    let v = x / y;
                    (v, r, -(v * r))
                },
                explain: "{x} / {y}", same2(["1 / {y}", "-{x} / {y}²"]),
                // Either side of 0; random expressions keep the divisor positive.
                domains: [ANYWHERE, (0.0, f64::INFINITY)],
                tie: false,
                steepest: |x, y| [1.0 / smallest(y), largest(x) / (smallest(y) * smallest(y))],
            },
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
            Pow "pow" method pow {
                float: false,
                shape: Shape::Binary,
                eval: |x, y| {
                    let v = x.powf(y);
                    // d/dx x^y = y x^(y-1) is 0 everywhere at y = 0, 0⁰ included (where the
                    // formula reads 0 · inf).
                    let dx = if y == T::zero() { T::zero() } else { y * x.powf(y - T::one()) };
                    // d/dy x^y = x^y ln x; where x^y is 0 (x = 0, y > 0) the limit is 0, not NaN.
                    let dy = if v == T::zero() { T::zero() } else { v * x.ln() };
                    (v, dx, dy)
                },
                explain: "{x}^{y}", same2(["{y} · {x}^({y} - 1)", "{z} · ln({x})"]),
                domains: [(0.0, f64::INFINITY), (-3.0, 3.0)],
                tie: false,
                // The largest `x^(y - d)` over the corners bounds it over the box (monotone in each).
                steepest: |x, y| {
                    let corners = |d: f64| {
                        [x.0, x.1]
                            .iter()
                            .flat_map(|&b| [y.0, y.1].map(|e| b.powf(e - d)))
                            .fold(0.0, f64::max)
                    };
                    let ln = x.0.ln().abs().max(x.1.ln().abs());
                    [largest(y) * corners(1.0), corners(0.0) * ln]
                },
            },
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
            Max "max" method max {
                float: false,
                shape: Shape::Binary,
                // Like `f64::max`, a NaN on either side is ignored: the other operand is the
                // result and receives the partial.
                eval: |x, y| if x >= y || is_nan(y) {
                    (x, T::one(), T::zero())
                } else {
                    (y, T::zero(), T::one())
                },
                explain: "max({x}, {y})",
                    by_branch(["1 (as {x} ≥ {y})", "0 (as {x} ≥ {y})"],
                        ["0 (as {x} < {y})", "1 (as {x} < {y})"]),
                domains: [ANYWHERE, ANYWHERE],
                tie: true,
                // Clear of the tie, one operand is the larger over the whole box.
                steepest: |x, y| if x.0 >= y.1 { [1.0, 0.0] } else { [0.0, 1.0] },
            },
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
            Min "min" method min {
                float: false,
                shape: Shape::Binary,
                eval: |x, y| if x <= y || is_nan(y) {
                    (x, T::one(), T::zero())
                } else {
                    (y, T::zero(), T::one())
                },
                explain: "min({x}, {y})",
                    by_branch(["1 (as {x} ≤ {y})", "0 (as {x} ≤ {y})"],
                        ["0 (as {x} > {y})", "1 (as {x} > {y})"]),
                domains: [ANYWHERE, ANYWHERE],
                tie: true,
                steepest: |x, y| if x.1 <= y.0 { [1.0, 0.0] } else { [0.0, 1.0] },
            },
            /// The four-quadrant arctangent of `self / other`, as `f64::atan2`: the angle of the
            /// point `(other, self)`, in `[-π, π]`.
            ///
            /// Local derivatives: `∂/∂self = other / (self² + other²)`,
            /// `∂/∂other = -self / (self² + other²)`.
            /// Domain: every point but the origin, where both partials are NaN; the value jumps by
            /// `2π` across `self = 0` for `other < 0`.
            ///
            /// # Panics
            ///
            /// When `self` and `other` belong to different tapes.
            ///
            /// # Examples
            ///
            /// ```
            /// use tapegrad::Tape;
            ///
            /// let tape = Tape::new();
            /// let y = tape.var(1.0);
            /// let x = tape.var(1.0);
            /// let angle = y.atan2(x);
            /// assert_eq!(angle.value(), std::f64::consts::FRAC_PI_4);
            /// let g = angle.backward();
            /// assert_eq!((g[y], g[x]), (0.5, -0.5));
            /// ```
            Atan2 "atan2" method atan2 {
                float: true,
                shape: Shape::Binary,
                eval: |x, y| {
                    let r = (x * x + y * y).recip();
                    (x.atan2(y), y * r, -(x * r))
                },
                explain: "atan2({x}, {y})", same2(["{y} / ({x}² + {y}²)", "-{x} / ({x}² + {y}²)"]),
                domains: [ANYWHERE, (0.0, f64::INFINITY)],
                tie: false,
                // |x| / (x² + y²) is at most 1 / (2|y|), and |y| / (x² + y²) at most 1 / |y|.
                steepest: |_x, y| [1.0 / smallest(y), 0.5 / smallest(y)],
            },
        }
    };
}

/// Calls `$then!` with the entry of every one-input operation outside the table of functions:
/// negation, arithmetic with a plain number and integer powers (after the tokens in
/// parentheses, if given).
///
/// An entry reads:
///
/// - the doc comment of its [`OpKind`](super::OpKind) variant, then `Variant "name"`, then the
///   type of the number the rule carries in parentheses, if any (`(T)` for the constant of
///   `x + c`, `(i32)` for `powi`'s exponent);
/// - `shape`: how the node is laid out (`Shape::UnitUnary(sign)` for a partial of ±1, which is
///   not stored);
/// - `keeps: |n| n` when the tape keeps the number as the node's constant, and `rebuild: |c, p,
///   aux| …`, the number read back from the node's constant `c`, stored partial `p` and
///   auxiliary word `aux`;
/// - `eval: |x, n| …`: the value and the partial `d value / d x` at `x`, in any
///   [`Scalar`](crate::Scalar) `T`;
/// - `explain: |x, n| …`: the value's formula and the partial's, `x` being the operand's name;
///   `label: |num, n| …`, the node's label in a graph, `num` formatting a number;
/// - for random expressions: `draw`, the numbers they draw for it (none for an operation without
///   one); `domain: |n| …`, the open interval where it is smooth and finite for the number `n`
///   (as an `f64`); `image: |n| …`, how an interval of inputs maps to outputs; `steepest`, where
///   `|partial|` is largest over an interval.
macro_rules! fixed_unaries {
    ($then:ident $(($($before:tt)*))?) => {
        $then! {
            $($($before)*)?
            /// `-x`.
            Neg "neg" {
                shape: Shape::UnitUnary(Sign::Minus),
                eval: |x| (-x, -T::one()),
                explain: |x| (format!("-{x}"), "-1".to_string()),
                label: |_num| "neg".to_string(),
                draw: [],
                domain: |_n| (f64::NEG_INFINITY, f64::INFINITY),
                image: |_n| Image::Monotone,
                steepest: Steepest::AtMost(1.0),
            },
            /// `x + c` (and `x - c`, recorded as `x + (-c)`, which IEEE makes identical).
            AddConst "+ c" (T) {
                shape: Shape::UnitUnary(Sign::Plus),
                keeps: |c| c,
                rebuild: |c, _p, _aux| c,
                eval: |x, c| (x + c, T::one()),
                explain: |x, c| if c < T::zero() {
                    (format!("{x} - {}", -c), "1".to_string())
                } else {
                    (format!("{x} + {c}"), "1".to_string())
                },
                label: |num, c| if c < T::zero() {
                    format!("- {}", num(-c))
                } else {
                    format!("+ {}", num(c))
                },
                draw: [-2.75, -1.5, -0.25, 0.5, 1.25, 3.0],
                domain: |_c| (f64::NEG_INFINITY, f64::INFINITY),
                image: |_c| Image::Monotone,
                steepest: Steepest::AtMost(1.0),
            },
            /// `c - x`.
            RSubConst "c -" (T) {
                shape: Shape::UnitUnary(Sign::Minus),
                keeps: |c| c,
                rebuild: |c, _p, _aux| c,
                eval: |x, c| (c - x, -T::one()),
                explain: |x, c| (format!("{c} - {x}"), "-1".to_string()),
                label: |num, c| format!("{} -", num(c)),
                draw: [-2.0, 0.5, 2.25],
                domain: |_c| (f64::NEG_INFINITY, f64::INFINITY),
                image: |_c| Image::Monotone,
                steepest: Steepest::AtMost(1.0),
            },
            /// `c * x`.
            MulConst "* c" (T) {
                shape: Shape::Unary,
                // The partial is `c` itself, so the node needs no constant besides it.
                rebuild: |_c, p, _aux| p,
                eval: |x, c| (x * c, c),
                explain: |x, c| (format!("{x} * {}", paren(c)), c.to_string()),
                label: |num, c| format!("* {}", num(c)),
                draw: [-2.5, -1.25, -0.5, 0.75, 1.5, 3.0],
                domain: |_c| (f64::NEG_INFINITY, f64::INFINITY),
                image: |_c| Image::Monotone,
                // The partial is the constant: the same at both ends.
                steepest: Steepest::AtEnds,
            },
            /// `x / c`.
            DivConst "/ c" (T) {
                shape: Shape::Unary,
                keeps: |c| c,
                rebuild: |c, _p, _aux| c,
                eval: |x, c| (x / c, c.recip()),
                explain: |x, c| (format!("{x} / {}", paren(c)), format!("1 / {}", paren(c))),
                label: |num, c| format!("/ {}", num(c)),
                draw: [-4.0, -1.5, -0.5, 0.5, 2.0, 3.25],
                domain: |_c| (f64::NEG_INFINITY, f64::INFINITY),
                image: |_c| Image::Monotone,
                steepest: Steepest::AtEnds,
            },
            /// `c / x`.
            RDivConst "c /" (T) {
                shape: Shape::Unary,
                keeps: |c| c,
                rebuild: |c, _p, _aux| c,
                eval: |x, c| {
                    let r = x.recip();
                    (c / x, -(c * r * r))
                },
                explain: |x, c| (format!("{c} / {x}"), format!("-{} / {x}²", paren(c))),
                label: |num, c| format!("{} /", num(c)),
                draw: [-2.0, 0.75, 3.0],
                // Singular at 0; kept to the positive side.
                domain: |_c| (0.0, f64::INFINITY),
                image: |_c| Image::Monotone,
                steepest: Steepest::AtEnds,
            },
            /// `x^n` for an integer `n`.
            Powi "powi" (i32) {
                shape: Shape::UnaryAux,
                aux: |n| n as u32,
                rebuild: |_c, _p, aux| aux as i32,
                eval: |x, n| match n {
                    0 => (T::one(), T::zero()),
                    1 => (x, T::one()),
                    2 => (x * x, x + x),
                    // `n - 1` would overflow for i32::MIN; there x^(n-1) is x^n / x.
                    i32::MIN => {
                        let y = powi(x, n);
                        (y, T::from_f64(n as f64) * y / x)
                    }
                    _ => (powi(x, n), T::from_f64(n as f64) * powi(x, n - 1)),
                },
                explain: |x, n| {
                    let partial = match n {
                        0 => "0".to_string(),
                        1 => "1".to_string(),
                        2 => format!("2 · {x}"),
                        _ => format!("{n} · {x}^{}", n - 1),
                    };
                    (format!("{x}^{n}"), partial)
                },
                label: |_num, n| format!("^{n}"),
                draw: [-3.0, -2.0, -1.0, 0.0, 1.0, 2.0, 3.0, 4.0],
                // A negative power is singular at 0; kept to the positive side.
                domain: |n| if n < 0.0 {
                    (0.0, f64::INFINITY)
                } else {
                    (f64::NEG_INFINITY, f64::INFINITY)
                },
                image: |n| if n > 0.0 && n % 2.0 == 0.0 { Image::Even } else { Image::Monotone },
                // `|n · x^(n-1)|` grows with `|x|` for `n ≥ 1`, and shrinks on the positive side
                // (where negative powers are kept) for `n < 0`: largest at an end of an interval.
                steepest: Steepest::AtEnds,
            },
        }
    };
}

pub(crate) use binaries;
pub(crate) use fixed_unaries;
pub(crate) use functions;

#[cfg(test)]
mod tests {
    use crate::ops::FUNCTIONS;

    /// `tests/functions.rs` with its whitespace taken out, so that a line matches however it
    /// is wrapped.
    fn shared_test_table() -> String {
        include_str!("../../tests/functions.rs")
            .split_whitespace()
            .collect()
    }

    #[test]
    fn every_function_has_a_line_in_the_shared_test_table() {
        let table = shared_test_table();
        for f in FUNCTIONS {
            let line = format!("function_case!({}", f.method);
            let found = table.contains(&format!("{line},")) || table.contains(&format!("{line}("));
            assert!(
                found,
                "{} has no line in tests/functions.rs; add `function_case!({}, …)`",
                f.method, f.method
            );
        }
    }

    #[test]
    fn every_operation_of_two_vars_has_a_line_in_the_shared_test_table() {
        let table = shared_test_table();
        for b in crate::ops::BINARIES {
            assert!(
                table.contains(&format!("binary_case!({},", b.method)),
                "{} has no line in tests/functions.rs; add `binary_case!({}, …)`",
                b.method,
                b.method
            );
        }
    }

    #[test]
    fn the_functions_replay_fuses_take_their_partials_from_the_output() {
        use crate::ops::Unary;
        for unary in [Unary::Exp, Unary::Tanh, Unary::Sigmoid, Unary::Relu] {
            let (y, d) = unary.eval(0.3f64);
            assert_eq!(unary.partial_of_output(y), Some(d), "{:?}", unary);
        }
        assert_eq!(Unary::Sin.partial_of_output(0.3f64), None);
    }

    #[test]
    fn every_operation_with_a_plain_number_has_a_line_in_the_shared_test_table() {
        let table = shared_test_table();
        for f in crate::ops::FIXED {
            let kind = format!("{:?}", f.kind);
            assert!(
                table.contains(&format!("fixed_case!({kind},"))
                    || table.contains(&format!("left_case!({kind},")),
                "{kind} has no line in tests/functions.rs; add `fixed_case!({kind}, …)`"
            );
        }
    }

    #[test]
    fn domains_suit_the_random_expressions() {
        // `check`'s generator guards an operand into a domain bounded below at 0 or less, or
        // into one symmetric about 0.
        let suits =
            |(lo, hi): (f64, f64)| lo < hi && ((hi == f64::INFINITY && lo <= 0.0) || lo == -hi);
        for f in FUNCTIONS {
            assert!(suits(f.domain), "{}: domain {:?}", f.method, f.domain);
        }
        for f in crate::ops::FIXED {
            for &n in f.choices.iter().chain([&0.0]) {
                let domain = (f.domain)(n);
                assert!(suits(domain), "{:?} with {n}: domain {domain:?}", f.kind);
            }
        }
    }
}
