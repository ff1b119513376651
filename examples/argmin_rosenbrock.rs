//! Minimises the n-dimensional Rosenbrock function with argmin's L-BFGS, its gradient taken by
//! tapegrad through `tapegrad::argmin::Problem`: no glue between the two crates.
//!
//! ```text
//! cargo run --release --features argmin --example argmin_rosenbrock
//! cargo run --release --features argmin --example argmin_rosenbrock -- --dim 50 --memory 10
//! cargo run --release --features argmin --example argmin_rosenbrock -- --help
//! ```
//!
//! It prints one line per iteration and, last, a machine-readable line:
//! `distance 0.00e0 cost 0.00e0 iterations 98`, the largest distance of a coordinate from the
//! minimum at (1, …, 1).

use std::process::ExitCode;

use argmin::core::observers::{Observe, ObserverMode};
use argmin::core::{Error, Executor, KV, State};
use argmin::solver::linesearch::MoreThuenteLineSearch;
use argmin::solver::quasinewton::LBFGS;
use tapegrad::argmin::Problem;
use tapegrad::functional::Function;
use tapegrad::{Scalar, Var};

/// `Σ 100 (xᵢ₊₁ - xᵢ²)² + (1 - xᵢ)²`, with its minimum 0 at (1, …, 1).
struct Rosenbrock;

impl Function for Rosenbrock {
    fn eval<'t, T: Scalar>(&self, x: &[Var<'t, T>]) -> Var<'t, T> {
        let tape = x[0].tape();
        let terms: Vec<_> = x
            .windows(2)
            .map(|w| {
                let a = w[1] - w[0] * w[0];
                let b = -w[0] + T::one();
                a * a * T::from_f64(100.0) + b * b
            })
            .collect();
        tape.sum(&terms)
    }
}

/// Prints the iteration number, the cost and the gradient's norm.
struct Printer;

impl<I: State<Float = f64>> Observe<I> for Printer {
    fn observe_iter(&mut self, state: &I, _kv: &KV) -> Result<(), Error> {
        println!(
            "iteration {:>4}  cost {:.6e}  best {:.6e}",
            state.get_iter(),
            state.get_cost(),
            state.get_best_cost()
        );
        Ok(())
    }
}

const USAGE: &str = "usage: argmin_rosenbrock [--dim N] [--memory M] [--max-iters K]

  --dim N        dimension of the Rosenbrock function, at least 2 (default 10)
  --memory M     L-BFGS history length, at least 1 (default 7)
  --max-iters K  iteration limit, at least 1 (default 500)
  --help         this text";

struct Config {
    dim: usize,
    memory: usize,
    max_iters: u64,
}

fn parse(args: &[String]) -> Result<Option<Config>, String> {
    let mut config = Config {
        dim: 10,
        memory: 7,
        max_iters: 500,
    };
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let mut number = |least: usize| -> Result<usize, String> {
            let text = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
            text.parse::<usize>()
                .ok()
                .filter(|&n| n >= least)
                .ok_or_else(|| {
                    format!("{flag} needs a whole number of at least {least}, got '{text}'")
                })
        };
        match flag.as_str() {
            "--help" | "-h" => return Ok(None),
            "--dim" => config.dim = number(2)?,
            "--memory" => config.memory = number(1)?,
            "--max-iters" => config.max_iters = number(1)? as u64,
            other => return Err(format!("unknown flag '{other}'")),
        }
    }
    Ok(Some(config))
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let config = match parse(&args) {
        Ok(Some(config)) => config,
        Ok(None) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("error: {message}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    // The classic start: -1.2 and 1 alternating.
    let start: Vec<f64> = (0..config.dim)
        .map(|i| if i % 2 == 0 { -1.2 } else { 1.0 })
        .collect();
    println!(
        "L-BFGS (memory {}) on the {}-dimensional Rosenbrock function from (-1.2, 1, -1.2, ...)",
        config.memory, config.dim
    );
    let run = || -> Result<_, Error> {
        let solver = LBFGS::new(MoreThuenteLineSearch::new(), config.memory)
            .with_tolerance_grad(1e-14)?
            .with_tolerance_cost(0.0)?;
        Executor::new(Problem::new(Rosenbrock), solver)
            .configure(|state| state.param(start.clone()).max_iters(config.max_iters))
            .add_observer(Printer, ObserverMode::Always)
            .run()
    };
    let result = match run() {
        Ok(result) => result,
        Err(err) => {
            eprintln!("error: the solver stopped: {err}");
            return ExitCode::FAILURE;
        }
    };
    let state = result.state();
    let best = state
        .get_best_param()
        .expect("invariant: a finished run has a best point");
    let distance = best.iter().map(|x| (x - 1.0).abs()).fold(0.0, f64::max);
    println!("stopped: {}", state.get_termination_status());
    println!(
        "distance {distance:.2e} cost {:.2e} iterations {}",
        state.get_best_cost(),
        state.get_iter()
    );
    if distance <= 1e-10 {
        ExitCode::SUCCESS
    } else {
        eprintln!("error: the minimum was not reached to 1e-10 (distance {distance:.2e})");
        ExitCode::FAILURE
    }
}
