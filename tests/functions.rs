//! The shared test table of the elementary functions: one line per function of the operations'
//! table (`src/ops/table.rs`), each checked every way — the tape's derivative against central
//! finite differences and against the closed form, a replay against recording bit for bit, and
//! the second derivative through `Dual` numbers against its closed form.
//!
//! A line reads `function_case!(method, derivative, second derivative, points)` (with the
//! parameter after the method where it has one, `powf(1.3)`), the derivatives
//! written out by hand in `f64`, the points inside the function's domain and clear of its kinks.
//! A unit test in `src/ops/table.rs` fails when a function of the table has no line here.

use tapegrad::functional::{self, Function};
use tapegrad::{Scalar, Tape, Var, check};

/// `|a - b|` within `tol` relative to the larger of them and 1.
#[track_caller]
fn assert_close(what: &str, actual: f64, expected: f64, tol: f64) {
    assert!(
        (actual - expected).abs() <= tol * actual.abs().max(expected.abs()).max(1.0),
        "{what}: got {actual}, expected {expected}"
    );
}

/// Checks one function every way at each of `points`.
fn check_function<F: Function>(
    name: &str,
    f: &F,
    derivative: impl Fn(f64) -> f64,
    second: impl Fn(f64) -> f64,
    points: &[f64],
) {
    for &x in points {
        let at = format!("{name} at {x}");
        // Finite differences, in f64 and f32.
        let report = check::gradient(|v: &[Var<'_>]| f.eval(v), &[x]);
        assert!(report.passed(), "{at}: {report}");
        let report32 = check::gradient(|v: &[Var<'_, f32>]| f.eval(v), &[x as f32]);
        assert!(report32.passed(), "{at} in f32: {report32}");

        // The closed form.
        let g = functional::grad(f, &[x]);
        assert_close(&format!("{at}: derivative"), g[0], derivative(x), 1e-13);

        // Replay equals recording bit for bit, at the recorded point and at others.
        let tape = Tape::new();
        let xs = tape.vars(&[x]);
        // Composed with arithmetic, so that the function's adjoint is not simply 1.
        let y = f.eval(&xs) * xs[0] + 0.5;
        let mut compiled = tape.compile(&xs, &[y]).expect("compiles");
        for shift in [0.0, 1e-3, -2e-3] {
            let z = x + shift * x.abs().max(1.0);
            let replay = compiled.run(&[z]).expect("runs");
            let fresh = Tape::new();
            let zs = fresh.vars(&[z]);
            let recorded = f.eval(&zs) * zs[0] + 0.5;
            let grad = recorded.backward()[zs[0]];
            assert_eq!(
                (replay.value().to_bits(), replay.grad()[0].to_bits()),
                (recorded.value().to_bits(), grad.to_bits()),
                "{at}: replay at {z} differs from recording"
            );
        }

        // The second derivative by forward-over-reverse.
        let h = functional::hessian(f, &[x]);
        assert_close(
            &format!("{at}: second derivative"),
            h[(0, 0)],
            second(x),
            1e-12,
        );
    }
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
