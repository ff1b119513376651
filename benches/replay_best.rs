//! The replay benchmarks timed best of N, the two sides of each ratio interleaved call by call,
//! for a machine whose speed changes from second to second.
//!
//! `benches/replay.rs` (criterion) times each function in its own stretch of seconds, so on a
//! shared machine a ratio there can compare a stretch spent mostly in the machine's fast phase
//! with one spent mostly in its slow phase. Here each round calls the functions of a ratio in
//! turn, `reps` times each — plain, hand-written, replay, plain, … — and keeps each one's
//! shortest call: both sides meet the same phases, so each round's ratio compares like with
//! like. The last lines give, for each ratio, the median and the largest of the rounds', and
//! the median apart in the rounds where the baseline ran at the machine's best speed and in
//! the others (its fast and slow phases). The workloads and their functions are those of
//! `benches/replay.rs`.
//!
//! ```text
//! cargo bench --bench replay_best               # 5 rounds, best of 30 calls
//! cargo bench --bench replay_best -- 10 40      # 10 rounds, best of 40
//! cargo bench --bench replay_best -- 1500 10    # a minute of short rounds: both phases
//! ```

use std::hint::black_box;

#[path = "common/networks.rs"]
mod networks;
#[path = "common/rosenbrock.rs"]
mod rosenbrock;
#[path = "common/timing.rs"]
mod timing;

use networks::{XOR, compile_network, dataset, hand_step, initial, param_count, replay_step};
use timing::{bests, median};

/// The summary of one ratio over the rounds, each round's `(baseline, ratio)`: the median and
/// the largest ratio, then the median ratio in the rounds whose baseline ran at the machine's
/// best speed (within 15% of its fastest round) and in the others, when there are any — on
/// this machine, its fast phase and its slow one.
fn summary(rounds: &[(f64, f64)]) -> String {
    let mut all: Vec<f64> = rounds.iter().map(|&(_, r)| r).collect();
    let largest = all.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let mut line = format!("median {:.2}x, largest {largest:.2}x", median(&mut all));
    let fastest = rounds.iter().map(|&(b, _)| b).fold(f64::INFINITY, f64::min);
    let (mut fast, mut slow): (Vec<f64>, Vec<f64>) = (vec![], vec![]);
    for &(baseline, ratio) in rounds {
        if baseline <= 1.15 * fastest {
            fast.push(ratio);
        } else {
            slow.push(ratio);
        }
    }
    for (phase, ratios) in [("fast", &mut fast), ("slow", &mut slow)] {
        if !ratios.is_empty() {
            let n = ratios.len();
            line += &format!(
                "; {phase} rounds {:.2}x at the median ({n})",
                median(ratios)
            );
        }
    }
    line
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
    let (mut w1, mut w3, mut w4) = (vec![], vec![], vec![]);
    for round in 1..=rounds {
        let [plain, hand, replay] = bests(
            reps,
            [
                &mut || {
                    black_box(rosenbrock::plain(black_box(&x)));
                },
                &mut || {
                    black_box(rosenbrock::hand(black_box(&x), &mut grad));
                },
                &mut || {
                    let r = compiled.run(black_box(&x)).expect("no comparisons");
                    black_box(r.value() + r.grad()[n / 2]);
                },
            ],
        );
        let [h3, r3] = bests(
            reps,
            [
                &mut || {
                    black_box(hand_step::<16, true>(
                        &mut hand3,
                        &mut grad3,
                        black_box(&data3),
                        0.1,
                    ));
                },
                &mut || {
                    black_box(replay_step(&mut compiled3, black_box(&mut replay3), 0.1));
                },
            ],
        );
        let [h4, r4] = bests(
            reps,
            [
                &mut || {
                    black_box(w4_hand());
                },
                &mut || {
                    black_box(w4_replay());
                },
            ],
        );
        w1.push((plain, replay / plain));
        w3.push((h3, r3 / h3));
        w4.push((h4, r4 / h4));
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
    for (name, rounds, target) in [
        ("W1 replay / plain f64", &w1, "20"),
        ("W3 replay / hand-written", &w3, "2"),
        ("W4 replay / hand-written", &w4, "1.3"),
    ] {
        println!("{name} (target: at most {target}x): {}", summary(rounds));
    }
}
