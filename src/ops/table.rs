//! The table of elementary functions of one input: each declared once, with its name, value,
//! local partial, kinks and domain, and the formulas an explanation prints.
//!
//! Everything that needs to know a function reads its entry here: recording (the methods on
//! [`Var`](crate::Var) are generated from it, doc comments included), the tape's kind
//! ([`OpKind`](super::OpKind)), the rule that gives value and partial ([`Unary::eval`](super::Unary)),
//! which also serves replay, forward recomputation and dual numbers, the text of
//! [`explain`](crate::explain), and the random expressions of [`check`](crate::check), which read
//! the domain, kinks and image to stay where the function is smooth.
//!
//! Adding a function is one entry below, one row in `docs/ops.md` and one line in the shared
//! test table of `tests/functions.rs`. An entry reads:
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

/// Calls `$then!` with every elementary function's entry.
macro_rules! functions {
    ($then:ident) => {
        $then! {
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

pub(crate) use functions;

#[cfg(test)]
mod tests {
    use crate::ops::FUNCTIONS;

    #[test]
    fn every_function_has_a_line_in_the_shared_test_table() {
        let table: String = include_str!("../../tests/functions.rs")
            .split_whitespace()
            .collect();
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
    fn the_functions_replay_fuses_take_their_partials_from_the_output() {
        use crate::ops::Unary;
        for unary in [Unary::Exp, Unary::Tanh, Unary::Sigmoid, Unary::Relu] {
            let (y, d) = unary.eval(0.3f64);
            assert_eq!(unary.partial_of_output(y), Some(d), "{:?}", unary);
        }
        assert_eq!(Unary::Sin.partial_of_output(0.3f64), None);
    }

    #[test]
    fn domains_suit_the_random_expressions() {
        // `check`'s generator guards an operand into a domain bounded below at 0 or less, or
        // into one symmetric about 0.
        for f in FUNCTIONS {
            let (lo, hi) = f.domain;
            assert!(lo < hi, "{}", f.method);
            assert!(
                (hi == f64::INFINITY && lo <= 0.0) || lo == -hi,
                "{}: domain ({lo}, {hi})",
                f.method
            );
        }
    }
}
