//! The replay benchmarks timed best of N, the two sides of each ratio interleaved, for a machine
//! whose speed changes from second to second.
//!
//! `benches/replay.rs` (criterion) times each function in its own stretch of seconds, so on a
//! shared machine a ratio there can compare a fast stretch with a slow one. This harness takes
//! the best of `reps` calls of each function, round after round, each round timing every
//! function once in turn, and prints each round's best times and ratios: the rounds where the
//! machine stayed in one phase are the comparable ones. The workloads and their functions are
//! those of `benches/replay.rs`.
//!
//! ```text
//! cargo bench --bench replay_best               # 5 rounds, best of 30 calls
//! cargo bench --bench replay_best -- 10 40      # 10 rounds, best of 40
//! ```

use std::hint::black_box;
use std::time::Instant;

#[path = "common/networks.rs"]
mod networks;
#[path = "common/rosenbrock.rs"]
mod rosenbrock;

use networks::{XOR, compile_network, dataset, hand_step, initial, param_count, replay_step};

/// The shortest of `reps` calls of `f`, in seconds.
fn best<R>(reps: usize, mut f: impl FnMut() -> R) -> f64 {
    (0..reps)
        .map(|_| {
            let start = Instant::now();
            black_box(f());
            start.elapsed().as_secs_f64()
        })
        .fold(f64::INFINITY, f64::min)
}

/// Rounds and calls per round from the command line; `cargo bench` adds `--bench`, skipped.
fn counts() -> (usize, usize) {
    let numbers: Vec<usize> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .map(|a| {
            a.parse()
                .unwrap_or_else(|_| panic!("replay_best: expected [ROUNDS [CALLS]], got '{a}'"))
        })
        .collect();
    (
        numbers.first().copied().unwrap_or(5),
        numbers.get(1).copied().unwrap_or(30),
    )
}

fn main() {
    let (rounds, reps) = counts();
    println!("best of {reps} calls, {rounds} rounds");

    // W1: Rosenbrock, n = 10^5.
    let n = 100_000;
    let x = rosenbrock::inputs(n);
    let mut grad = vec![0.0; n];
    let mut compiled = rosenbrock::compiled(&x);
    // W3: one SGD step of 2-16-16-1 over 256 points.
    let sizes3 = [2, 16, 16, 1];
    let data3 = dataset(256);
    let count3 = param_count(&sizes3);
    let (mut hand3, mut grad3) = (initial(count3), vec![0.0; count3]);
    let mut replay3 = initial(count3);
    let mut compiled3 = compile_network(&replay3, &sizes3, &data3);
    // W4: XOR 2-4-1, 2,000 epochs, recording and compiling included as in the criterion bench.
    let sizes4 = [2, 4, 1];
    let count4 = param_count(&sizes4);
    let w4_hand = || {
        let (mut params, mut grad) = (initial(count4), vec![0.0; count4]);
        (0..2_000).fold(0.0, |_, _| {
            hand_step::<4, false>(&mut params, &mut grad, black_box(&XOR), 0.5)
        })
    };
    let w4_replay = || {
        let mut params = initial(count4);
        let mut compiled = compile_network(&params, &sizes4, &XOR);
        (0..2_000).fold(0.0, |_, _| {
            replay_step(&mut compiled, black_box(&mut params), 0.5)
        })
    };

    let per_term = |t: f64| t / n as f64 * 1e9;
    for round in 1..=rounds {
        let plain = best(reps, || rosenbrock::plain(black_box(&x)));
        let hand = best(reps, || rosenbrock::hand(black_box(&x), &mut grad));
        let replay = best(reps, || {
            let r = compiled.run(black_box(&x)).expect("no comparisons");
            r.value() + r.grad()[n / 2]
        });
        let h3 = best(reps, || {
            hand_step::<16, true>(&mut hand3, &mut grad3, black_box(&data3), 0.1)
        });
        let r3 = best(reps, || {
            replay_step(&mut compiled3, black_box(&mut replay3), 0.1)
        });
        let h4 = best(reps, w4_hand);
        let r4 = best(reps, w4_replay);
        println!(
            "round {round}: W1 plain {:.2} ns/term, hand {:.2}, replay {:.2} => {:.1}x plain | \
             W3 hand {:.0} us, replay {:.0} => {:.2}x | W4 hand {:.3} ms, replay {:.3} => {:.2}x",
            per_term(plain),
            per_term(hand),
            per_term(replay),
            replay / plain,
            h3 * 1e6,
            r3 * 1e6,
            r3 / h3,
            h4 * 1e3,
            r4 * 1e3,
            r4 / h4,
        );
    }
}
