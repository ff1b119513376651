//! Closed-form derivatives of every operation, with the math above each assertion.
//!
//! Where the tape computes exactly the formula written (`cos x` for `sin`), the assertion is
//! exact; where rounding may differ by an ulp, `close` allows a relative 1e-14 (1e-6 in `f32`).

use tapegrad::{Tape, Var};

#[track_caller]
fn close(actual: f64, expected: f64) {
    assert!(
        (actual - expected).abs() <= 1e-14 * expected.abs().max(1.0),
        "got {actual}, expected {expected}"
    );
}

#[track_caller]
fn close32(actual: f32, expected: f32) {
    assert!(
        (actual - expected).abs() <= 1e-6 * expected.abs().max(1.0),
        "got {actual}, expected {expected}"
    );
}

/// The gradient of `f(x, y)` at `(x, y)`, and its value.
fn grad2(x: f64, y: f64, f: impl for<'t> Fn(Var<'t>, Var<'t>) -> Var<'t>) -> (f64, f64, f64) {
    let tape = Tape::new();
    let (vx, vy) = (tape.var(x), tape.var(y));
    let z = f(vx, vy);
    let g = z.backward();
    (z.value(), g[vx], g[vy])
}

/// The derivative of `f(x)` at `x`, and its value.
fn grad1(x: f64, f: impl for<'t> Fn(Var<'t>) -> Var<'t>) -> (f64, f64) {
    let tape = Tape::new();
    let vx = tape.var(x);
    let z = f(vx);
    (z.value(), z.backward()[vx])
}

fn grad1_f32(x: f32, f: impl for<'t> Fn(Var<'t, f32>) -> Var<'t, f32>) -> (f32, f32) {
    let tape = Tape::<f32>::new();
    let vx = tape.var(x);
    let z = f(vx);
    (z.value(), z.backward()[vx])
}

// ---------------------------------------------------------------- operators between two Vars

#[test]
fn add_of_two_vars_has_partials_one_and_one() {
    // z = x + y   dz/dx = 1   dz/dy = 1
    assert_eq!(grad2(2.0, 3.0, |x, y| x + y), (5.0, 1.0, 1.0));
}

#[test]
fn sub_of_two_vars_has_partials_one_and_minus_one() {
    // z = x - y   dz/dx = 1   dz/dy = -1
    assert_eq!(grad2(2.0, 3.0, |x, y| x - y), (-1.0, 1.0, -1.0));
}

#[test]
fn mul_of_two_vars_has_partials_y_and_x() {
    // z = x * y   dz/dx = y   dz/dy = x
    assert_eq!(grad2(2.0, 3.0, |x, y| x * y), (6.0, 3.0, 2.0));
}

#[test]
fn div_of_two_vars_has_partials_one_over_y_and_minus_x_over_y_squared() {
    // z = x / y   dz/dx = 1/y   dz/dy = -x/y²
    let (z, dx, dy) = grad2(3.0, 4.0, |x, y| x / y);
    assert_eq!((z, dx, dy), (0.75, 0.25, -3.0 / 16.0));
}

#[test]
fn neg_has_partial_minus_one() {
    // z = -x   dz/dx = -1
    assert_eq!(grad1(2.5, |x| -x), (-2.5, -1.0));
}

// ------------------------------------------------------- operators with a plain number (right)

#[test]
fn var_plus_constant_has_partial_one() {
    // z = x + c   dz/dx = 1
    assert_eq!(grad1(2.0, |x| x + 5.0), (7.0, 1.0));
}

#[test]
fn var_minus_constant_has_partial_one() {
    // z = x - c   dz/dx = 1
    assert_eq!(grad1(2.0, |x| x - 5.0), (-3.0, 1.0));
}

#[test]
fn var_times_constant_has_partial_c() {
    // z = x * c   dz/dx = c
    assert_eq!(grad1(2.0, |x| x * 5.0), (10.0, 5.0));
}

#[test]
fn var_over_constant_has_partial_one_over_c() {
    // z = x / c   dz/dx = 1/c
    assert_eq!(grad1(2.0, |x| x / 4.0), (0.5, 0.25));
}

// -------------------------------------------------------- operators with a plain number (left)

#[test]
fn constant_plus_var_has_partial_one() {
    // z = c + x   dz/dx = 1
    assert_eq!(grad1(2.0, |x| 5.0 + x), (7.0, 1.0));
}

#[test]
fn constant_minus_var_has_partial_minus_one() {
    // z = c - x   dz/dx = -1
    assert_eq!(grad1(2.0, |x| 5.0 - x), (3.0, -1.0));
}

#[test]
fn constant_times_var_has_partial_c() {
    // z = c * x   dz/dx = c
    assert_eq!(grad1(2.0, |x| 5.0 * x), (10.0, 5.0));
}

#[test]
fn constant_over_var_has_partial_minus_c_over_x_squared() {
    // z = c / x   dz/dx = -c/x²
    assert_eq!(grad1(2.0, |x| 5.0 / x), (2.5, -1.25));
}

// ------------------------------------------------------------------- compound assignments

#[test]
fn compound_assignment_with_vars_differentiates_like_the_operators() {
    // each compound assignment on Vars, with x = 2, y = 3 (y = 4 for /=):
    // a = x;  a += y  → x + y;       da/dx = 1, da/dy = 1
    let (_, dx, dy) = grad2(2.0, 3.0, |x, y| {
        let mut a = x;
        a += y;
        a
    });
    assert_eq!((dx, dy), (1.0, 1.0));
    // a = x;  a -= y  → x - y;       da/dx = 1, da/dy = -1
    let (_, dx, dy) = grad2(2.0, 3.0, |x, y| {
        let mut a = x;
        a -= y;
        a
    });
    assert_eq!((dx, dy), (1.0, -1.0));
    // a = x;  a *= y  → x y;         da/dx = y = 3, da/dy = x = 2
    let (_, dx, dy) = grad2(2.0, 3.0, |x, y| {
        let mut a = x;
        a *= y;
        a
    });
    assert_eq!((dx, dy), (3.0, 2.0));
    // a = x;  a /= y  → x / y;       da/dx = 1/y = 1/4, da/dy = -x/y² = -2/16
    let (_, dx, dy) = grad2(2.0, 4.0, |x, y| {
        let mut a = x;
        a /= y;
        a
    });
    assert_eq!((dx, dy), (0.25, -0.125));
}

#[test]
fn compound_assignment_with_constants_differentiates_like_the_operators() {
    // a = x;  a += 3; a *= 4; a -= 1; a /= 2  → a = (4(x + 3) - 1) / 2;   da/dx = 4/2 = 2
    let (value, d) = grad1(1.0, |x| {
        let mut a = x;
        a += 3.0;
        a *= 4.0;
        a -= 1.0;
        a /= 2.0;
        a
    });
    assert_eq!((value, d), (7.5, 2.0));
}

#[test]
fn compound_assignment_of_a_var_with_itself_counts_both_uses() {
    // a = x;  a *= a  → x²;   da/dx = 2x = 6
    assert_eq!(
        grad1(3.0, |x| {
            let mut a = x;
            a *= a;
            a
        }),
        (9.0, 6.0)
    );
}

// -------------------------------------------------------------------- elementary functions

#[test]
fn exp_has_derivative_exp() {
    // d/dx e^x = e^x
    assert_eq!(grad1(0.7, |x| x.exp()), (0.7f64.exp(), 0.7f64.exp()));
}

#[test]
fn ln_has_derivative_one_over_x() {
    // d/dx ln x = 1/x
    assert_eq!(grad1(4.0, |x| x.ln()), (4f64.ln(), 0.25));
}

#[test]
fn sqrt_has_derivative_one_over_two_sqrt_x() {
    // d/dx √x = 1/(2√x)
    assert_eq!(grad1(9.0, |x| x.sqrt()), (3.0, 1.0 / 6.0));
}

#[test]
fn powi_has_derivative_n_x_to_the_n_minus_one() {
    // d/dx x³ = 3x² = 12 at x = 2
    assert_eq!(grad1(2.0, |x| x.powi(3)), (8.0, 12.0));
    // d/dx x² = 2x = 4
    assert_eq!(grad1(2.0, |x| x.powi(2)), (4.0, 4.0));
    // d/dx x¹ = 1
    assert_eq!(grad1(2.0, |x| x.powi(1)), (2.0, 1.0));
    // d/dx x⁰ = 0 (the value is 1)
    assert_eq!(grad1(2.0, |x| x.powi(0)), (1.0, 0.0));
    // d/dx x⁻² = -2x⁻³ = -1/4
    assert_eq!(grad1(2.0, |x| x.powi(-2)), (0.25, -0.25));
}

#[test]
fn powf_has_derivative_c_x_to_the_c_minus_one() {
    // d/dx x^1.5 = 1.5 x^0.5 = 3 at x = 4
    assert_eq!(grad1(4.0, |x| x.powf(1.5)), (8.0, 3.0));
    // d/dx x^-0.5 = -0.5 x^-1.5 = -1/16 at x = 4
    assert_eq!(grad1(4.0, |x| x.powf(-0.5)), (0.5, -0.0625));
}

#[test]
fn pow_has_partials_y_x_to_the_y_minus_one_and_x_to_the_y_ln_x() {
    // z = x^y   dz/dx = y x^(y-1) = 3·4 = 12   dz/dy = x^y ln x = 8 ln 2
    let (z, dx, dy) = grad2(2.0, 3.0, |x, y| x.pow(y));
    assert_eq!((z, dx), (8.0, 12.0));
    close(dy, 8.0 * 2f64.ln());
}

#[test]
fn pow_at_zero_base_takes_the_limit_zero_for_the_exponent() {
    // z = 0^y for y = 2: dz/dy = 0^y ln 0 → 0 (limit), dz/dx = y 0^(y-1) = 0
    assert_eq!(grad2(0.0, 2.0, |x, y| x.pow(y)), (0.0, 0.0, 0.0));
}

#[test]
fn sin_has_derivative_cos() {
    // d/dx sin x = cos x
    assert_eq!(grad1(0.7, |x| x.sin()), (0.7f64.sin(), 0.7f64.cos()));
}

#[test]
fn cos_has_derivative_minus_sin() {
    // d/dx cos x = -sin x
    assert_eq!(grad1(0.7, |x| x.cos()), (0.7f64.cos(), -(0.7f64.sin())));
}

#[test]
fn tan_has_derivative_one_plus_tan_squared() {
    // d/dx tan x = 1 + tan² x = 1/cos² x
    let (value, d) = grad1(0.7, |x| x.tan());
    assert_eq!(value, 0.7f64.tan());
    close(d, 1.0 / 0.7f64.cos().powi(2));
}

#[test]
fn tanh_has_derivative_one_minus_tanh_squared() {
    // d/dx tanh x = 1 - tanh² x = 1/cosh² x
    let (value, d) = grad1(0.7, |x| x.tanh());
    assert_eq!(value, 0.7f64.tanh());
    close(d, 1.0 / 0.7f64.cosh().powi(2));
}

#[test]
fn sigmoid_has_derivative_s_times_one_minus_s() {
    // s = 1/(1 + e^-x)   ds/dx = e^-x / (1 + e^-x)² = s(1 - s)
    let (s, d) = grad1(0.7, |x| x.sigmoid());
    close(s, 1.0 / (1.0 + (-0.7f64).exp()));
    close(d, (-0.7f64).exp() / (1.0 + (-0.7f64).exp()).powi(2));
    // at 0: s = 1/2, ds/dx = 1/4
    assert_eq!(grad1(0.0, |x| x.sigmoid()), (0.5, 0.25));
}

#[test]
fn sigmoid_saturates_without_nan_for_large_inputs() {
    // s(±800) = 1 or 0 exactly, ds/dx = 0 (e^800 would overflow a naive formula)
    assert_eq!(grad1(800.0, |x| x.sigmoid()), (1.0, 0.0));
    assert_eq!(grad1(-800.0, |x| x.sigmoid()), (0.0, 0.0));
}

#[test]
fn softplus_has_derivative_sigmoid() {
    // softplus x = ln(1 + e^x)   d/dx = e^x / (1 + e^x) = sigmoid x
    let (value, d) = grad1(0.7, |x| x.softplus());
    close(value, (1.0 + 0.7f64.exp()).ln());
    close(d, 0.7f64.exp() / (1.0 + 0.7f64.exp()));
    // far out: softplus(-800) = 0 with derivative 0; softplus(800) = 800 with derivative 1
    assert_eq!(grad1(-800.0, |x| x.softplus()), (0.0, 0.0));
    assert_eq!(grad1(800.0, |x| x.softplus()), (800.0, 1.0));
}

#[test]
fn recip_has_derivative_minus_one_over_x_squared() {
    // d/dx 1/x = -1/x²
    assert_eq!(grad1(4.0, |x| x.recip()), (0.25, -0.0625));
}

#[test]
fn relu_has_derivative_one_above_zero_and_zero_below() {
    // relu x = max(x, 0)   d/dx = 1 for x > 0, 0 for x < 0
    assert_eq!(grad1(1.5, |x| x.relu()), (1.5, 1.0));
    assert_eq!(grad1(-1.5, |x| x.relu()), (0.0, 0.0));
}

#[test]
fn relu_at_its_kink_has_derivative_zero() {
    // at x = 0 the convention is the left piece: d/dx = 0
    assert_eq!(grad1(0.0, |x| x.relu()), (0.0, 0.0));
}

#[test]
fn leaky_relu_has_derivative_one_above_zero_and_slope_below() {
    // leaky x = x for x > 0, 0.1 x otherwise   d/dx = 1 or 0.1
    assert_eq!(grad1(2.0, |x| x.leaky_relu(0.1)), (2.0, 1.0));
    assert_eq!(grad1(-2.0, |x| x.leaky_relu(0.1)), (-0.2, 0.1));
}

#[test]
fn leaky_relu_at_its_kink_has_derivative_slope() {
    // at x = 0 the convention is the left piece: d/dx = slope
    assert_eq!(grad1(0.0, |x| x.leaky_relu(0.1)), (0.0, 0.1));
}

#[test]
fn abs_has_derivative_the_sign_of_x() {
    // d/dx |x| = sign x
    assert_eq!(grad1(2.0, |x| x.abs()), (2.0, 1.0));
    assert_eq!(grad1(-2.0, |x| x.abs()), (2.0, -1.0));
}

#[test]
fn abs_at_its_kink_has_derivative_zero() {
    // at x = 0 the subgradient 0 is chosen
    assert_eq!(grad1(0.0, |x| x.abs()), (0.0, 0.0));
}

#[test]
fn max_sends_the_gradient_to_the_larger_input() {
    // max(x, y)   d/dx = 1, d/dy = 0 when x > y; the reverse when y > x
    assert_eq!(grad2(3.0, 2.0, |x, y| x.max(y)), (3.0, 1.0, 0.0));
    assert_eq!(grad2(2.0, 3.0, |x, y| x.max(y)), (3.0, 0.0, 1.0));
}

#[test]
fn min_sends_the_gradient_to_the_smaller_input() {
    // min(x, y)   d/dx = 1, d/dy = 0 when x < y; the reverse when y < x
    assert_eq!(grad2(2.0, 3.0, |x, y| x.min(y)), (2.0, 1.0, 0.0));
    assert_eq!(grad2(3.0, 2.0, |x, y| x.min(y)), (2.0, 0.0, 1.0));
}

#[test]
fn max_and_min_at_a_tie_send_the_whole_gradient_to_the_receiver() {
    // x == y: the convention is (1, 0) for both
    assert_eq!(grad2(2.0, 2.0, |x, y| x.max(y)), (2.0, 1.0, 0.0));
    assert_eq!(grad2(2.0, 2.0, |x, y| x.min(y)), (2.0, 1.0, 0.0));
    assert_eq!(grad2(2.0, 2.0, |x, y| y.max(x)), (2.0, 0.0, 1.0));
}

// ---------------------------------------------------------------- n-ary and special nodes

#[test]
fn sum_has_partial_one_for_every_input_and_counts_repeats() {
    // s = a + b + a + c   ds/da = 2, ds/db = 1, ds/dc = 1
    let tape = Tape::new();
    let xs = tape.vars(&[1.0, 2.0, 3.0]);
    let s = tape.sum(&[xs[0], xs[1], xs[0], xs[2]]);
    assert_eq!(s.value(), 7.0);
    assert_eq!(s.backward().wrt_all(&xs), vec![2.0, 1.0, 1.0]);
}

#[test]
fn sum_of_nothing_is_zero() {
    // Σ over no terms = 0; nothing to differentiate
    let tape = Tape::<f64>::new();
    let s = tape.sum(&[]);
    assert_eq!(s.value(), 0.0);
    assert_eq!(s.backward().adjoints(), &[1.0]);
}

#[test]
fn dot_of_vars_has_partials_the_other_side() {
    // d = Σ xᵢ yᵢ   dd/dxᵢ = yᵢ   dd/dyᵢ = xᵢ
    let tape = Tape::new();
    let x = tape.vars(&[1.0, 2.0]);
    let y = tape.vars(&[3.0, -4.0]);
    let d = tape.dot(&x, &y);
    assert_eq!(d.value(), -5.0);
    let g = d.backward();
    assert_eq!(g.wrt_all(&x), vec![3.0, -4.0]);
    assert_eq!(g.wrt_all(&y), vec![1.0, 2.0]);
}

#[test]
fn dot_of_a_var_with_itself_gives_twice_the_var() {
    // d = x·x = Σ xᵢ²   dd/dxᵢ = 2xᵢ
    let tape = Tape::new();
    let x = tape.vars(&[1.5, -2.0]);
    let d = tape.dot(&x, &x);
    assert_eq!(d.value(), 6.25);
    assert_eq!(d.backward().wrt_all(&x), vec![3.0, -4.0]);
}

#[test]
fn dot_with_plain_numbers_has_partials_the_numbers() {
    // d = Σ wᵢ cᵢ   dd/dwᵢ = cᵢ
    let tape = Tape::new();
    let w = tape.vars(&[0.5, -1.0, 2.0]);
    let d = tape.dot(&w, &[2.0, 3.0, 0.25]);
    assert_eq!(d.value(), -1.5);
    assert_eq!(d.backward().wrt_all(&w), vec![2.0, 3.0, 0.25]);
    // the Vec form records the same node
    let v = vec![2.0, 3.0, 0.25];
    assert_eq!(
        tape.dot(&w, &v).backward().wrt_all(&w),
        vec![2.0, 3.0, 0.25]
    );
}

#[test]
fn custom_takes_part_in_backward_with_the_given_partials() {
    // c = custom(x y, ∂/∂x = y, ∂/∂y = x);  z = c sin x
    // dz/dx = y sin x + x y cos x,  dz/dy = x sin x
    let (x0, y0) = (0.8, 1.5);
    let tape = Tape::new();
    let (x, y) = (tape.var(x0), tape.var(y0));
    let c = tape.custom(x0 * y0, &[(x, y0), (y, x0)]);
    let g = (c * x.sin()).backward();
    close(g[x], y0 * x0.sin() + x0 * y0 * x0.cos());
    close(g[y], x0 * x0.sin());
}

#[test]
fn detach_stops_the_gradient() {
    // z = x · stop(x)   dz/dx = stop(x) = 3, not 2x
    let (z, d) = grad1(3.0, |x| x * x.detach());
    assert_eq!((z, d), (9.0, 3.0));
}

#[test]
fn constant_takes_part_but_gets_no_gradient() {
    // z = c x + c   dz/dx = c   dz/dc reads 0 (a constant is not differentiated)
    let tape = Tape::new();
    let x = tape.var(2.0);
    let c = tape.constant(5.0);
    let z = c * x + c;
    let g = z.backward();
    assert_eq!((z.value(), g[x], g[c]), (15.0, 5.0, 0.0));
}

// ------------------------------------------------------------------------------ compositions

#[test]
fn chain_rule_through_a_shared_subexpression() {
    // f(x, y) = x*y + sin(x)   df/dx = y + cos(x)   df/dy = x
    let (_, dx, dy) = grad2(2.0, 3.0, |x, y| x * y + x.sin());
    assert_eq!((dx, dy), (3.0 + 2f64.cos(), 2.0));
    // g(x) = u² + u with u = x³: dg/dx = (2u + 1) 3x² = (2·8 + 1)·12 = 204 at x = 2
    assert_eq!(
        grad1(2.0, |x| {
            let u = x.powi(3);
            u * u + u
        }),
        (72.0, 204.0)
    );
}

// ---------------------------------------------------------------------------------------- f32

#[test]
fn f32_operators_have_the_same_derivatives() {
    // z = (x + y)(x - y) / y = (x² - y²)/y   dz/dx = 2x/y = 4/3   dz/dy = -x²/y² - 1 = -13/9
    let tape = Tape::<f32>::new();
    let (x, y) = (tape.var(2.0), tape.var(3.0));
    let z = (x + y) * (x - y) / y;
    let g = z.backward();
    close32(g[x], 4.0 / 3.0);
    close32(g[y], -13.0 / 9.0);
    // z = 3x - 1 + x/2 (the f32 constant forms: Var first)   dz/dx = 3.5
    assert_eq!(grad1_f32(2.0, |x| x * 3.0 - 1.0 + x / 2.0), (6.0, 3.5));
    // z = -x   dz/dx = -1
    assert_eq!(grad1_f32(2.0, |x| -x), (-2.0, -1.0));
}

#[test]
fn f32_elementary_functions_have_the_same_derivatives() {
    let x0 = 0.7f32;
    // d/dx e^x = e^x
    assert_eq!(grad1_f32(x0, |x| x.exp()).1, x0.exp());
    // d/dx ln x = 1/x
    assert_eq!(grad1_f32(4.0, |x| x.ln()).1, 0.25);
    // d/dx √x = 1/(2√x)
    assert_eq!(grad1_f32(9.0, |x| x.sqrt()).1, 1.0 / 6.0);
    // d/dx sin x = cos x; d/dx cos x = -sin x
    assert_eq!(grad1_f32(x0, |x| x.sin()).1, x0.cos());
    assert_eq!(grad1_f32(x0, |x| x.cos()).1, -x0.sin());
    // d/dx tanh x = 1/cosh² x
    close32(grad1_f32(x0, |x| x.tanh()).1, 1.0 / x0.cosh().powi(2));
    // d/dx sigmoid x at 0 = 1/4
    assert_eq!(grad1_f32(0.0, |x| x.sigmoid()).1, 0.25);
    // d/dx x³ = 3x² = 12 at 2; d/dx x^1.5 = 1.5 √x = 3 at 4
    assert_eq!(grad1_f32(2.0, |x| x.powi(3)).1, 12.0);
    assert_eq!(grad1_f32(4.0, |x| x.powf(1.5)).1, 3.0);
    // d/dx 1/x = -1/x²
    assert_eq!(grad1_f32(4.0, |x| x.recip()).1, -0.0625);
}

#[test]
fn f32_kinks_follow_the_same_conventions() {
    // relu and abs at 0 → 0; leaky_relu at 0 → slope
    assert_eq!(grad1_f32(0.0, |x| x.relu()).1, 0.0);
    assert_eq!(grad1_f32(0.0, |x| x.abs()).1, 0.0);
    assert_eq!(grad1_f32(0.0, |x| x.leaky_relu(0.25)).1, 0.25);
    // max/min at a tie → (1, 0)
    let tape = Tape::<f32>::new();
    let (x, y) = (tape.var(1.0), tape.var(1.0));
    let g = x.max(y).backward();
    assert_eq!((g[x], g[y]), (1.0, 0.0));
    let g = x.min(y).backward();
    assert_eq!((g[x], g[y]), (1.0, 0.0));
}

#[test]
fn f32_sum_dot_and_custom_have_the_same_derivatives() {
    // s = Σ xᵢ + x·w + custom(x₀², 2x₀)   ds/dx₀ = 1 + w₀ + 2x₀ = 1 + 0.5 + 2 = 3.5
    let tape = Tape::<f32>::new();
    let x = tape.vars(&[1.0, 2.0]);
    let w = tape.vars(&[0.5, -1.0]);
    let c = tape.custom(1.0, &[(x[0], 2.0)]);
    let s = tape.sum(&x) + tape.dot(&x, &w) + c + tape.dot(&x, &[3.0f32, 4.0]);
    let g = s.backward();
    // ds/dx₀ = 1 + 0.5 + 2 + 3 = 6.5; ds/dx₁ = 1 - 1 + 4 = 4; ds/dw = x
    assert_eq!(g.wrt_all(&x), vec![6.5, 4.0]);
    assert_eq!(g.wrt_all(&w), vec![1.0, 2.0]);
}

// NaN is a value: relu, leaky relu and abs pass it on; max and min ignore it like f64's.
#[test]
fn nan_propagates_through_kinked_ops_and_max_min_ignore_it_like_f64() {
    let tape = Tape::new();
    let nan = tape.var(f64::NAN);
    let one = tape.var(1.0);
    for y in [nan.relu(), nan.leaky_relu(0.1), nan.abs()] {
        assert!(y.value().is_nan());
        assert!(y.backward()[nan].is_nan());
    }
    for (y, expected) in [
        (nan.max(one), 1.0f64.max(f64::NAN)),
        (one.max(nan), f64::NAN.max(1.0)),
        (nan.min(one), 1.0f64.min(f64::NAN)),
        (one.min(nan), f64::NAN.min(1.0)),
    ] {
        assert_eq!(y.value(), expected);
        let g = y.backward();
        assert_eq!((g[one], g[nan]), (1.0, 0.0));
    }
}

// d/dx x^n = n x^(n-1), also for the exponent whose n - 1 does not fit in an i32.
#[test]
fn powi_of_the_smallest_exponent_does_not_overflow() {
    let tape = Tape::new();
    let x = tape.var(1.0);
    let y = x.powi(i32::MIN);
    assert_eq!(y.value(), 1.0);
    assert_eq!(y.backward()[x], i32::MIN as f64);
}

// The conventions at the edges of the domains (docs/ops.md, "Conventions at the edges").

#[test]
fn powf_with_exponent_zero_has_partial_zero_at_zero() {
    // f(x) = x^0 = 1 for every x, 0 included   df/dx = 0
    let (v, d) = grad1(0.0, |x| x.powf(0.0));
    assert_eq!((v, d), (1.0, 0.0));
    let (_, d) = grad1(-0.0, |x| x.powf(0.0));
    assert_eq!(d, 0.0);
}

#[test]
fn pow_at_zero_to_the_zero_has_partials_zero_and_minus_infinity() {
    // f(x, y) = x^y at (0, 0): x^0 = 1 for every x, so df/dx = 0; df/dy = x^y ln x = ln 0 = -inf
    let (v, dx, dy) = grad2(0.0, 0.0, |x, y| x.pow(y));
    assert_eq!((v, dx, dy), (1.0, 0.0, f64::NEG_INFINITY));
}

#[test]
fn sqrt_of_negative_zero_has_partial_plus_infinity() {
    // f(x) = √x   df/dx = 1/(2√x) → +inf from inside the domain, at -0.0 as at +0.0
    let (v, d) = grad1(-0.0, |x| x.sqrt());
    assert!(
        v == 0.0 && v.is_sign_negative(),
        "the value keeps IEEE's sign: {v}"
    );
    assert_eq!(d, f64::INFINITY);
    assert_eq!(grad1(0.0, |x| x.sqrt()).1, f64::INFINITY);
}

#[test]
fn ln_outside_its_domain_has_a_nan_partial_like_its_value() {
    // f(x) = ln x   df/dx = 1/x, for x > 0 only
    let (v, d) = grad1(-1.0, |x| x.ln());
    assert!(v.is_nan() && d.is_nan(), "ln(-1) = {v}, partial {d}");
    // At ±0 the value is -inf and the partial +inf, the limit from inside the domain.
    assert_eq!(grad1(-0.0, |x| x.ln()), (f64::NEG_INFINITY, f64::INFINITY));
    assert_eq!(grad1(0.0, |x| x.ln()), (f64::NEG_INFINITY, f64::INFINITY));
}

#[test]
fn sqrt_and_powf_outside_their_domain_have_nan_partials() {
    let (v, d) = grad1(-1.0, |x| x.sqrt());
    assert!(v.is_nan() && d.is_nan());
    let (v, d) = grad1(-2.0, |x| x.powf(0.5));
    assert!(v.is_nan() && d.is_nan());
    // pow(-2, y): no real derivative in y
    let (_, _, dy) = grad2(-2.0, 3.0, |x, y| x.pow(y));
    assert!(dy.is_nan());
}

#[test]
fn f32_follows_the_same_edge_conventions() {
    assert_eq!(grad1_f32(-0.0, |x| x.sqrt()).1, f32::INFINITY);
    assert_eq!(grad1_f32(0.0, |x| x.powf(0.0)).1, 0.0);
    assert!(grad1_f32(-1.0, |x| x.ln()).1.is_nan());
}
