//! Batch gradients on several threads against one: the gradient of a 2-16-16-1 tanh network's
//! squared error summed over 1,024 points, replayed (`Batch`) and recorded
//! (`gradient_recorded`), timed best of N with the thread counts called in turn.
//!
//! ```text
//! cargo bench --bench batch               # 9 rounds, best of 30 calls
//! cargo bench --bench batch -- 20 50      # 20 rounds, best of 50
//! ```
//!
//! Prints each round's times and the speed-up of 2 threads over 1, then their medians.

use std::hint::black_box;

#[path = "common/batch_net.rs"]
mod batch_net;
#[path = "common/timing.rs"]
mod timing;

use batch_net::{compiled, point_loss, problem};
use tapegrad::batch::{Batch, gradient_recorded};
use timing::{bests, median};

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let rounds = args.first().copied().unwrap_or(9);
    let reps = args.get(1).copied().unwrap_or(30);
    let (params, data) = problem(1024);
    let points: Vec<&[f64]> = data.chunks(3).collect();
    let mut one = Batch::new(compiled(), 1).expect("compiles");
    let mut two = Batch::new(compiled(), 2).expect("compiles");
    let record = |threads| {
        gradient_recorded(&params, &points, threads, |tape, ps, p| {
            let point = tape.vars(p);
            point_loss(tape, ps, &point)
        })
        .expect("records")
    };
    let (mut replay_ratios, mut record_ratios) = (Vec::new(), Vec::new());
    println!(
        "round  replay 1 thread  2 threads  speed-up | recorded 1 thread  2 threads  speed-up"
    );
    for round in 0..rounds {
        let [r1, r2, c1, c2] = bests(
            reps,
            [
                &mut || {
                    black_box(one.gradient(black_box(&params), &data).expect("runs"));
                },
                &mut || {
                    black_box(two.gradient(black_box(&params), &data).expect("runs"));
                },
                &mut || {
                    black_box(record(1));
                },
                &mut || {
                    black_box(record(2));
                },
            ],
        );
        replay_ratios.push(r1 / r2);
        record_ratios.push(c1 / c2);
        println!(
            "{round:>5}  {:>12.1} µs  {:>6.1} µs  {:>7.2}× | {:>14.1} µs  {:>6.1} µs  {:>7.2}×",
            r1 * 1e6,
            r2 * 1e6,
            r1 / r2,
            c1 * 1e6,
            c2 * 1e6,
            c1 / c2
        );
    }
    println!(
        "median speed-up of 2 threads over 1: replay {:.2}×, recorded {:.2}×",
        median(&mut replay_ratios),
        median(&mut record_ratios)
    );
}
