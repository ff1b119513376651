//! The shared test table of the elementary operations: one line per function of one input, per
//! operation of two Vars and per operation of one Var and a plain number of the operations'
//! tables (`src/ops/table.rs`), each checked every way — the tape's derivatives against central
//! finite differences in `f64` and `f32` and against the closed form, a replay against recording
//! bit for bit, and the second derivatives through `Dual` numbers against their closed form.
//!
//! A line reads `function_case!(method, derivative, second derivative, points)` (with the
//! parameter after the method where it has one, `powf(1.3)`), or for an operation of two Vars
//! `binary_case!(method, gradient, Hessian, points)` (the operator's trait method for an operator,
//! `add` for `+`), or for an operation of one Var and a plain number
//! `fixed_case!(Kind, name, |x, c| expression, derivative, second derivative, points)` (the
//! number written `c(…)`; `left_case!` for `c - x` and `c / x`, which only `f64` and `Dual`
//! tapes have), the derivatives written out by hand in `f64`, the points inside the operation's
//! domain and clear of its kinks. A unit test in `src/ops/table.rs` fails when an operation of
//! the tables has no line here.

use std::ops::{Add, Div, Mul, Sub};

use tapegrad::functional::{self, Function};
use tapegrad::{Dual, OpKind, Scalar, Tape, Var, check};

/// `|a - b|` within `tol` relative to the larger of them and 1.
#[track_caller]
fn assert_close(what: &str, actual: f64, expected: f64, tol: f64) {
    assert!(
        (actual - expected).abs() <= tol * actual.abs().max(expected.abs()).max(1.0),
        "{what}: got {actual}, expected {expected}"
    );
}

/// Checks an operation of `n` inputs every way at each of `points`, against its closed-form
/// gradient and Hessian.
fn check_operation<F: Function, const N: usize>(
    name: &str,
    f: &F,
    gradient: impl Fn([f64; N]) -> [f64; N],
    hessian: impl Fn([f64; N]) -> [[f64; N]; N],
    points: &[[f64; N]],
) {
    for &x in points {
        let at = format!("{name} at {x:?}");
        // Finite differences, in f64 and f32.
        let report = check::gradient(|v: &[Var<'_>]| f.eval(v), &x);
        assert!(report.passed(), "{at}: {report}");
        let report32 = check::gradient(|v: &[Var<'_, f32>]| f.eval(v), &x.map(|x| x as f32));
        assert!(report32.passed(), "{at} in f32: {report32}");

        // The closed form.
        let g = functional::grad(f, &x);
        for (i, want) in gradient(x).into_iter().enumerate() {
            assert_close(&format!("{at}: ∂/∂x{i}"), g[i], want, 1e-13);
        }

        // Replay equals recording bit for bit, at the recorded point and at others.
        // Composed with arithmetic, so that the operation's adjoint is not simply 1.
        fn record<'t, F: Function>(f: &F, tape: &'t Tape, at: &[f64]) -> (Vec<Var<'t>>, Var<'t>) {
            let xs = tape.vars(at);
            let y = f.eval(&xs) * xs[0] + 0.5;
            (xs, y)
        }
        let tape = Tape::new();
        let (xs, y) = record(f, &tape, &x);
        let mut compiled = tape.compile(&xs, &[y]).expect("compiles");
        for shift in [0.0, 1e-3, -2e-3] {
            let z = x.map(|x| x + shift * x.abs().max(1.0));
            let replay = compiled.run(&z).expect("runs");
            let fresh = Tape::new();
            let (zs, recorded) = record(f, &fresh, &z);
            let grads = recorded.backward();
            let bits = |v: f64| v.to_bits();
            assert_eq!(
                (
                    bits(replay.value()),
                    replay.grad().iter().copied().map(bits).collect::<Vec<_>>()
                ),
                (
                    bits(recorded.value()),
                    zs.iter().map(|&z| bits(grads[z])).collect()
                ),
                "{at}: replay at {z:?} differs from recording"
            );
        }

        // The second derivatives by forward-over-reverse.
        let h = functional::hessian(f, &x);
        for (i, row) in hessian(x).into_iter().enumerate() {
            for (j, want) in row.into_iter().enumerate() {
                assert_close(&format!("{at}: ∂²/∂x{i}∂x{j}"), h[(i, j)], want, 1e-12);
            }
        }
    }
}

/// Checks one function of one input every way at each of `points`.
fn check_function<F: Function>(
    name: &str,
    f: &F,
    derivative: impl Fn(f64) -> f64,
    second: impl Fn(f64) -> f64,
    points: &[f64],
) {
    let points: Vec<[f64; 1]> = points.iter().map(|&x| [x]).collect();
    check_operation(name, f, |[x]| [derivative(x)], |[x]| [[second(x)]], &points);
}

/// One line of the table: a test named after the method that checks it every way. A function
/// with a parameter gives it after the name: `function_case!(powf(1.3), …)`.
macro_rules! function_case {
    ($method:ident $(($($param:expr),*))?, $derivative:expr, $second:expr, $points:expr) => {
        #[test]
        fn $method() {
            struct F;
            impl Function for F {
                fn eval<'t, T: Scalar>(&self, x: &[Var<'t, T>]) -> Var<'t, T> {
                    x[0].$method($($(T::from_f64($param)),*)?)
                }
            }
            check_function(stringify!($method), &F, $derivative, $second, &$points);
        }
    };
}

/// One line of the table for an operation of two Vars: a test named after the method (the
/// trait's method for an operator) that checks it every way, with the gradient and the Hessian
/// as closures of the point `[x, y]`.
macro_rules! binary_case {
    ($method:ident, $gradient:expr, $hessian:expr, $points:expr) => {
        #[test]
        fn $method() {
            struct F;
            impl Function for F {
                fn eval<'t, T: Scalar>(&self, x: &[Var<'t, T>]) -> Var<'t, T> {
                    x[0].$method(x[1])
                }
            }
            check_operation(stringify!($method), &F, $gradient, $hessian, &$points);
        }
    };
}

/// Asserts that `f` records one node of the kind `kind` on its input.
#[track_caller]
fn assert_records(kind: OpKind, f: impl for<'t> Fn(Var<'t>) -> Var<'t>) {
    let tape = Tape::new();
    let x = tape.var(0.75);
    let before = tape.len();
    let y = f(x);
    assert_eq!(
        (tape.len() - before, tape.kind(y)),
        (1, kind),
        "the line's expression records one {kind:?} node"
    );
}

/// One line of the table for an operation of one Var and a plain number: a test named `name`
/// that checks `|x, c| expression` (the number written `c(…)`, in the tape's scalar) every way,
/// and that the expression records one node of the kind `Kind`.
macro_rules! fixed_case {
    (
        $kind:ident,
        $name:ident,
        |$x:ident, $c:ident| $expr:expr,
        $derivative:expr,
        $second:expr,
        $points:expr
    ) => {
        #[test]
        fn $name() {
            struct F;
            impl Function for F {
                #[allow(unused_variables)]
                fn eval<'t, T: Scalar>(&self, x: &[Var<'t, T>]) -> Var<'t, T> {
                    let ($x, $c) = (x[0], T::from_f64);
                    $expr
                }
            }
            assert_records(OpKind::$kind, |x| F.eval(&[x]));
            check_function(stringify!($name), &F, $derivative, $second, &$points);
        }
    };
}

/// Checks `c - x` or `c / x`, which only `f64` and `Dual` tapes have, every way but in `f32`:
/// `f` and `dual` are the same expression on the two tapes.
fn check_left(
    name: &str,
    kind: OpKind,
    f: for<'t> fn(Var<'t, f64>) -> Var<'t, f64>,
    dual: for<'t> fn(Var<'t, Dual>) -> Var<'t, Dual>,
    derivative: impl Fn(f64) -> f64,
    second: impl Fn(f64) -> f64,
    points: &[f64],
) {
    assert_records(kind, f);
    for &at in points {
        let report = check::gradient(|v: &[Var<'_>]| f(v[0]), &[at]);
        assert!(report.passed(), "{name} at {at}: {report}");
        let tape = Tape::new();
        let x = tape.var(at);
        let y = f(x) * x + 0.5;
        let d = y.backward()[x];
        assert_close(
            &format!("{name} at {at}"),
            d,
            f(x).value() + derivative(at) * at,
            1e-13,
        );
        // Replay equals recording bit for bit.
        let mut compiled = tape.compile(&[x], &[y]).expect("compiles");
        for z in [at, at + 1e-3 * at.abs().max(1.0)] {
            let replay = compiled.run(&[z]).expect("runs");
            let fresh = Tape::new();
            let xz = fresh.var(z);
            let recorded = f(xz) * xz + 0.5;
            let bits = |v: f64| v.to_bits();
            assert_eq!(
                (bits(replay.value()), bits(replay.grad()[0])),
                (bits(recorded.value()), bits(recorded.backward()[xz])),
                "{name}: replay at {z} differs from recording"
            );
        }
        // The second derivative by forward-over-reverse.
        let tape = Tape::<Dual>::new();
        let x = tape.var(Dual::variable(at));
        let g = dual(x).backward()[x];
        assert_close(&format!("{name} at {at}: d²/dx²"), g.eps, second(at), 1e-12);
    }
}

/// One line of the table for `c - x` or `c / x`: as [`fixed_case!`], the expression written once
/// for an `f64` tape and once for a `Dual` one.
macro_rules! left_case {
    (
        $kind:ident,
        $name:ident,
        |$x:ident, $c:ident| $expr:expr,
        $derivative:expr,
        $second:expr,
        $points:expr
    ) => {
        #[test]
        fn $name() {
            fn f($x: Var<'_, f64>) -> Var<'_, f64> {
                let $c = |v: f64| v;
                $expr
            }
            fn dual($x: Var<'_, Dual>) -> Var<'_, Dual> {
                let $c = Dual::constant;
                $expr
            }
            check_left(
                stringify!($name),
                OpKind::$kind,
                f,
                dual,
                $derivative,
                $second,
                &$points,
            );
        }
    };
}

fn logistic(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

function_case!(exp, |x| x.exp(), |x| x.exp(), [-2.0, 0.0, 0.7, 3.0]);
function_case!(ln, |x| 1.0 / x, |x| -1.0 / (x * x), [0.3, 1.0, 4.5]);
function_case!(
    sqrt,
    |x| 0.5 / x.sqrt(),
    |x| -0.25 / (x * x.sqrt()),
    [0.3, 1.0, 9.0]
);
function_case!(sin, |x| x.cos(), |x| -x.sin(), [-2.0, 0.0, 1.1]);
function_case!(cos, |x| -x.sin(), |x| -x.cos(), [-2.0, 0.0, 1.1]);
function_case!(
    tan,
    |x| 1.0 / x.cos().powi(2),
    |x| 2.0 * x.tan() / x.cos().powi(2),
    [-1.0, 0.0, 0.6]
);
function_case!(
    tanh,
    |x| 1.0 - x.tanh().powi(2),
    |x| -2.0 * x.tanh() * (1.0 - x.tanh().powi(2)),
    [-2.0, 0.0, 0.5]
);
function_case!(
    sigmoid,
    |x| logistic(x) * (1.0 - logistic(x)),
    |x| logistic(x) * (1.0 - logistic(x)) * (1.0 - 2.0 * logistic(x)),
    [-3.0, 0.0, 2.0]
);
function_case!(
    relu,
    |x| if x > 0.0 { 1.0 } else { 0.0 },
    |_| 0.0,
    [-1.5, 0.25, 2.0]
);
function_case!(
    softplus,
    logistic,
    |x| logistic(x) * (1.0 - logistic(x)),
    [-3.0, 0.0, 2.5]
);
function_case!(abs, |x: f64| x.signum(), |_| 0.0, [-2.0, 0.5, 3.0]);
function_case!(
    recip,
    |x| -1.0 / (x * x),
    |x| 2.0 / (x * x * x),
    [-2.0, 0.4, 3.0]
);
function_case!(
    ln_1p,
    |x| 1.0 / (1.0 + x),
    |x| -1.0 / (1.0 + x).powi(2),
    [-0.5, 0.0, 1e-9, 3.0]
);
function_case!(
    powf(1.3),
    |x: f64| 1.3 * x.powf(0.3),
    |x: f64| 1.3 * 0.3 * x.powf(-0.7),
    [0.2, 1.0, 3.5]
);
function_case!(
    leaky_relu(0.1),
    |x| if x > 0.0 { 1.0 } else { 0.1 },
    |_| 0.0,
    [-2.0, -0.3, 0.5, 4.0]
);

binary_case!(
    add,
    |_| [1.0, 1.0],
    |_| [[0.0; 2]; 2],
    [[0.5, -1.5], [0.0, 2.0]]
);
binary_case!(
    sub,
    |_| [1.0, -1.0],
    |_| [[0.0; 2]; 2],
    [[0.5, -1.5], [0.0, 2.0]]
);
binary_case!(
    mul,
    |[x, y]| [y, x],
    |_| [[0.0, 1.0], [1.0, 0.0]],
    [[0.5, -1.5], [0.0, 2.0], [3.0, 0.25]]
);
binary_case!(
    div,
    |[x, y]| [1.0 / y, -x / (y * y)],
    |[x, y]| [
        [0.0, -1.0 / (y * y)],
        [-1.0 / (y * y), 2.0 * x / (y * y * y)]
    ],
    [[0.5, -1.5], [0.0, 2.0], [-3.0, 0.75]]
);
binary_case!(
    pow,
    |[x, y]: [f64; 2]| [y * x.powf(y - 1.0), x.powf(y) * x.ln()],
    |[x, y]: [f64; 2]| {
        let xy = x.powf(y - 1.0) * (1.0 + y * x.ln());
        [
            [y * (y - 1.0) * x.powf(y - 2.0), xy],
            [xy, x.powf(y) * x.ln().powi(2)],
        ]
    },
    [[0.5, 1.5], [2.0, -0.7], [1.3, 2.0]]
);
binary_case!(
    max,
    |[x, y]| if x >= y { [1.0, 0.0] } else { [0.0, 1.0] },
    |_| [[0.0; 2]; 2],
    [[0.5, -1.5], [-1.0, 2.0]]
);
binary_case!(
    min,
    |[x, y]| if x <= y { [1.0, 0.0] } else { [0.0, 1.0] },
    |_| [[0.0; 2]; 2],
    [[0.5, -1.5], [-1.0, 2.0]]
);
binary_case!(
    atan2,
    |[y, x]| [x / (x * x + y * y), -y / (x * x + y * y)],
    |[y, x]| {
        let r2 = (x * x + y * y).powi(2);
        let cross = (y * y - x * x) / r2;
        [[-2.0 * x * y / r2, cross], [cross, 2.0 * x * y / r2]]
    },
    [[1.0, 2.0], [-0.5, 0.7], [0.3, -1.5], [-2.0, -0.4]]
);

fixed_case!(Neg, neg, |x, c| -x, |_| -1.0, |_| 0.0, [-2.0, 0.0, 1.5]);
fixed_case!(
    AddConst,
    add_const,
    |x, c| x + c(1.25),
    |_| 1.0,
    |_| 0.0,
    [-2.0, 0.0, 1.5]
);
fixed_case!(
    AddConst,
    sub_const,
    |x, c| x - c(0.75),
    |_| 1.0,
    |_| 0.0,
    [-2.0, 0.0, 1.5]
);
fixed_case!(
    MulConst,
    mul_const,
    |x, c| x * c(-2.5),
    |_| -2.5,
    |_| 0.0,
    [-2.0, 0.0, 1.5]
);
fixed_case!(
    DivConst,
    div_const,
    |x, c| x / c(4.0),
    |_| 0.25,
    |_| 0.0,
    [-2.0, 0.0, 1.5]
);
fixed_case!(
    Powi,
    powi,
    |x, c| x.powi(3),
    |x| 3.0 * x * x,
    |x| 6.0 * x,
    [-2.0, 0.0, 0.7, 1.5]
);
fixed_case!(
    Powi,
    powi_negative,
    |x, c| x.powi(-2),
    |x: f64| -2.0 / x.powi(3),
    |x: f64| 6.0 / x.powi(4),
    [-2.0, 0.5, 1.5]
);
left_case!(
    RSubConst,
    rsub_const,
    |x, c| c(2.5) - x,
    |_| -1.0,
    |_| 0.0,
    [-2.0, 0.0, 1.5]
);
left_case!(
    RDivConst,
    rdiv_const,
    |x, c| c(3.0) / x,
    |x| -3.0 / (x * x),
    |x| 6.0 / (x * x * x),
    [-2.0, 0.5, 1.5]
);
