//! The per-point loss of the batch benchmark and tests: the squared error of a 2-16-16-1 tanh
//! network at a point `(x₀, x₁, y)`, and a seeded problem of `n` points.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tapegrad::{CompiledTape, Tape, Var};

pub const SIZES: [usize; 4] = [2, 16, 16, 1];

pub fn param_count() -> usize {
    SIZES.windows(2).map(|w| (w[0] + 1) * w[1]).sum()
}

/// The squared error of a 2-16-16-1 tanh network at one point `(x₀, x₁, y)`.
pub fn point_loss<'t>(tape: &'t Tape, params: &[Var<'t>], point: &[Var<'t>]) -> Var<'t> {
    let mut acts: Vec<Var<'t>> = point[..2].to_vec();
    let mut at = 0;
    for (l, w) in SIZES.windows(2).enumerate() {
        let (inputs, outputs) = (w[0], w[1]);
        let last = l == SIZES.len() - 2;
        acts = (0..outputs)
            .map(|_| {
                let z = tape.dot(&params[at..at + inputs], &acts) + params[at + inputs];
                at += inputs + 1;
                if last { z } else { z.tanh() }
            })
            .collect();
    }
    let e = acts[0] - point[2];
    e * e
}

pub fn compiled() -> CompiledTape {
    let tape = Tape::new();
    let params = tape.vars(&vec![0.1; param_count()]);
    let point = tape.vars(&[0.0, 0.0, 0.0]);
    let loss = point_loss(&tape, &params, &point);
    tape.compile_with_data(&params, &point, &[loss]).unwrap()
}

pub fn problem(points: usize) -> (Vec<f64>, Vec<f64>) {
    let mut rng = StdRng::seed_from_u64(5);
    let params = (0..param_count())
        .map(|_| rng.gen_range(-0.5..0.5))
        .collect();
    let data = (0..points)
        .flat_map(|_| {
            let (a, b) = (rng.gen_range(-1.0..1.0), rng.gen_range(-1.0..1.0));
            [a, b, f64::from(u8::from(a * b > 0.0))]
        })
        .collect();
    (params, data)
}
