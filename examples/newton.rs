//! Minimizing Rosenbrock's function with Newton's method (exact Hessians from a `Dual` tape) and,
//! from the same start, with gradient descent.
//!
//! ```text
//! cargo run --release --example newton
//! cargo run --release --example newton -- --help
//! ```

use std::process::ExitCode;

use tapegrad::functional::{Function, hessian, value_and_grad};
use tapegrad::{Scalar, Tape, Var};

/// Rosenbrock's function, `(1 - x)² + 100 (y - x²)²`, minimal at `(1, 1)`.
struct Rosenbrock;

impl Function for Rosenbrock {
    fn eval<'t, T: Scalar>(&self, x: &[Var<'t, T>]) -> Var<'t, T> {
        (x[0] - T::one()).powi(2) + (x[1] - x[0].powi(2)).powi(2) * T::from_f64(100.0)
    }
}

const HELP: &str = "\
Minimize Rosenbrock's function (1 - x)^2 + 100 (y - x^2)^2 with Newton's method and with
gradient descent, both with a backtracking (Armijo) line search, from the same start.

Usage: newton [OPTIONS]

Options:
  --start X,Y        starting point [default: -1.2,1]
  --tol T            stop when the gradient norm is at most T [default: 1e-10]
  --max-iter N       iteration cap for each method [default: 100000]
  --print-every N    print every N-th gradient-descent iteration [default: 5000]
  -h, --help         print this help";

struct Options {
    start: [f64; 2],
    tol: f64,
    max_iter: usize,
    print_every: usize,
}

fn parse_args() -> Result<Option<Options>, String> {
    let mut options = Options {
        start: [-1.2, 1.0],
        tol: 1e-10,
        max_iter: 100_000,
        print_every: 5000,
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        if flag == "-h" || flag == "--help" {
            return Ok(None);
        }
        let value = args
            .next()
            .ok_or_else(|| format!("{flag} needs a value; see --help"))?;
        let bad = |what: &str| format!("{flag} expects {what}, got '{value}'");
        match flag.as_str() {
            "--start" => {
                let parts: Vec<f64> = value
                    .split(',')
                    .map(|p| p.trim().parse::<f64>())
                    .collect::<Result<_, _>>()
                    .map_err(|_| bad("two numbers X,Y"))?;
                let [x, y] = parts[..] else {
                    return Err(bad("two numbers X,Y"));
                };
                options.start = [x, y];
            }
            "--tol" => {
                options.tol = value
                    .parse()
                    .ok()
                    .filter(|t: &f64| *t > 0.0)
                    .ok_or_else(|| bad("a positive number"))?;
            }
            "--max-iter" => {
                options.max_iter = value.parse().map_err(|_| bad("a whole number"))?;
            }
            "--print-every" => {
                options.print_every = value
                    .parse()
                    .ok()
                    .filter(|n: &usize| *n > 0)
                    .ok_or_else(|| bad("a positive whole number"))?;
            }
            _ => return Err(format!("unknown option '{flag}'; see --help")),
        }
    }
    Ok(Some(options))
}

/// `f(x)` alone, for the line search.
fn value(x: &[f64]) -> f64 {
    let tape = Tape::new();
    Rosenbrock.eval(&tape.vars(x)).value()
}

fn norm(v: &[f64]) -> f64 {
    v.iter().map(|a| a * a).sum::<f64>().sqrt()
}

/// Solves `H d = -g` by Cholesky, or `None` when `H` is not positive definite.
fn newton_direction(h: &[f64], g: &[f64]) -> Option<Vec<f64>> {
    let n = g.len();
    let mut l = vec![0.0; n * n];
    for i in 0..n {
        for j in 0..=i {
            let s: f64 = h[i * n + j] - (0..j).map(|k| l[i * n + k] * l[j * n + k]).sum::<f64>();
            if i == j {
                if s <= 0.0 {
                    return None;
                }
                l[i * n + i] = s.sqrt();
            } else {
                l[i * n + j] = s / l[j * n + j];
            }
        }
    }
    let mut y = vec![0.0; n];
    for i in 0..n {
        y[i] = (-g[i] - (0..i).map(|k| l[i * n + k] * y[k]).sum::<f64>()) / l[i * n + i];
    }
    let mut d = vec![0.0; n];
    for i in (0..n).rev() {
        d[i] = (y[i] - (i + 1..n).map(|k| l[k * n + i] * d[k]).sum::<f64>()) / l[i * n + i];
    }
    Some(d)
}

/// Backtracking from step `t`: halves it until `f(x + t d) ≤ f(x) + 1e-4 t ∇f·d` (Armijo).
/// Returns the accepted step and the number of evaluations of `f` it took.
fn backtrack(x: &[f64], f: f64, g: &[f64], d: &[f64], mut t: f64) -> (f64, usize) {
    let slope: f64 = g.iter().zip(d).map(|(g, d)| g * d).sum();
    let mut evals = 0;
    loop {
        let trial: Vec<f64> = x.iter().zip(d).map(|(x, d)| x + t * d).collect();
        evals += 1;
        if value(&trial) <= f + 1e-4 * t * slope || t < 1e-20 {
            return (t, evals);
        }
        t *= 0.5;
    }
}

struct Outcome {
    x: Vec<f64>,
    iterations: usize,
    evaluations: usize,
    converged: bool,
}

fn newton(options: &Options) -> Outcome {
    println!("Newton's method (Hessian from hessian(), Cholesky solve, backtracking)");
    println!(
        "{:>5}  {:>22}  {:>22}  {:>10}  {:>10}  {:>6}",
        "iter", "x", "y", "f", "|grad|", "step"
    );
    let mut x = options.start.to_vec();
    let mut evaluations = 0;
    for k in 0..=options.max_iter {
        let (f, g) = value_and_grad(&Rosenbrock, &x);
        if norm(&g) <= options.tol || k == options.max_iter {
            println!(
                "{k:>5}  {:>22.16}  {:>22.16}  {f:>10.3e}  {:>10.3e}",
                x[0],
                x[1],
                norm(&g)
            );
            return Outcome {
                converged: norm(&g) <= options.tol,
                x,
                iterations: k,
                evaluations,
            };
        }
        let h = hessian(&Rosenbrock, &x);
        let (d, kind) = match newton_direction(h.as_slice(), &g) {
            Some(d) => (d, ""),
            None => (
                g.iter().map(|g| -g).collect(),
                " (H not positive definite: -grad)",
            ),
        };
        let (t, evals) = backtrack(&x, f, &g, &d, 1.0);
        evaluations += evals;
        println!(
            "{k:>5}  {:>22.16}  {:>22.16}  {f:>10.3e}  {:>10.3e}  {t:>6.4}{kind}",
            x[0],
            x[1],
            norm(&g)
        );
        for (x, d) in x.iter_mut().zip(&d) {
            *x += t * d;
        }
    }
    unreachable!("the loop returns at k == max_iter")
}

fn gradient_descent(options: &Options) -> Outcome {
    println!("Gradient descent (backtracking from twice the last accepted step)");
    println!(
        "{:>6}  {:>22}  {:>22}  {:>10}  {:>10}  {:>9}",
        "iter", "x", "y", "f", "|grad|", "step"
    );
    let mut x = options.start.to_vec();
    let mut evaluations = 0;
    let mut t = 1.0;
    for k in 0..=options.max_iter {
        let (f, g) = value_and_grad(&Rosenbrock, &x);
        let done = norm(&g) <= options.tol || k == options.max_iter;
        if done || k % options.print_every == 0 {
            println!(
                "{k:>6}  {:>22.16}  {:>22.16}  {f:>10.3e}  {:>10.3e}  {t:>9.3e}",
                x[0],
                x[1],
                norm(&g)
            );
        }
        if done {
            return Outcome {
                converged: norm(&g) <= options.tol,
                x,
                iterations: k,
                evaluations,
            };
        }
        let d: Vec<f64> = g.iter().map(|g| -g).collect();
        let (accepted, evals) = backtrack(&x, f, &g, &d, 2.0 * t);
        evaluations += evals;
        t = accepted;
        for (x, d) in x.iter_mut().zip(&d) {
            *x += t * d;
        }
    }
    unreachable!("the loop returns at k == max_iter")
}

fn report(name: &str, outcome: &Outcome, options: &Options) {
    let error = norm(&[outcome.x[0] - 1.0, outcome.x[1] - 1.0]);
    if outcome.converged {
        println!(
            "{name}: converged in {} iterations ({} evaluations of f in the line search); distance to (1, 1) = {error:.3e}",
            outcome.iterations, outcome.evaluations
        );
    } else {
        println!(
            "{name}: hit the cap of {} iterations without |grad| <= {:e} ({} evaluations of f in the line search); distance to (1, 1) = {error:.3e}",
            options.max_iter, options.tol, outcome.evaluations
        );
    }
}

fn main() -> ExitCode {
    let options = match parse_args() {
        Ok(Some(options)) => options,
        Ok(None) => {
            println!("{HELP}");
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("error: {message}");
            return ExitCode::FAILURE;
        }
    };
    println!(
        "start ({}, {}), tolerance |grad| <= {:e}, at most {} iterations each\n",
        options.start[0], options.start[1], options.tol, options.max_iter
    );
    let n = newton(&options);
    println!();
    let gd = gradient_descent(&options);
    println!();
    report("Newton", &n, &options);
    report("gradient descent", &gd, &options);
    ExitCode::SUCCESS
}
