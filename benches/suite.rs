//! A gradient benchmark suite that no single shape can game: networks of several widths and
//! depths with every activation and every loss of the library, a logistic regression, classic
//! test functions with different operation mixes, a sum of repeated polynomial blocks, two
//! likelihoods of statistical models and an ODE-like chain (`benches/common/suite*.rs`).
//!
//! Each workload is computed four ways in one process: its plain `f64` value, its gradient
//! written by hand, recording (the function recorded on a cleared tape, then one backward
//! sweep, as a user writes it) and replay (recorded and compiled once, then `run` per call).
//! As in `benches/replay_best.rs`, each round calls the four in turn, `reps` times each, and
//! keeps each one's shortest call, so every ratio compares calls that met the same phases of a
//! noisy machine; the table gives each ratio's median over the rounds. `tests/suite_gradients.rs`
//! checks that the four agree.
//!
//! ```text
//! cargo bench --bench suite                  # 25 rounds, best of 60 calls: about half a minute
//! cargo bench --bench suite -- 5 20          # 5 rounds, best of 20: a few seconds
//! cargo bench --bench suite -- 25 60 mlp     # only the workloads whose name holds "mlp"
//! ```

use std::cell::RefCell;
use std::hint::black_box;
use std::time::Instant;

#[path = "common/suite.rs"]
mod suite;
#[path = "common/timing.rs"]
mod timing;

use suite::{Size, Workload};
use tapegrad::Tape;
use timing::{bests, median};

/// Rounds, calls per round and a filter on workload names from the command line; `cargo bench`
/// adds `--bench`, skipped.
fn arguments() -> (usize, usize, Option<String>) {
    let mut numbers = vec![];
    let mut filter = None;
    for a in std::env::args().skip(1).filter(|a| !a.starts_with("--")) {
        match a.parse::<usize>() {
            Ok(n) if n > 0 => numbers.push(n),
            _ if filter.is_none() && a.parse::<f64>().is_err() => filter = Some(a),
            _ => panic!("suite: expected [ROUNDS [CALLS]] [NAME FILTER], got '{a}'"),
        }
    }
    (
        numbers.first().copied().unwrap_or(25),
        numbers.get(1).copied().unwrap_or(60),
        filter,
    )
}

/// One workload's state: its buffers, its compiled tape and its shortest times, round by round.
struct Row {
    workload: RefCell<Box<dyn Workload>>,
    ops: usize,
    /// Per round: plain, hand-written, recording and replay, in seconds.
    rounds: Vec<[f64; 4]>,
}

impl Row {
    /// The median over the rounds of `numerator ÷ denominator`, indices into a round's times.
    fn ratio(&self, numerator: usize, denominator: usize) -> f64 {
        let mut r: Vec<f64> = self
            .rounds
            .iter()
            .map(|t| t[numerator] / t[denominator])
            .collect();
        median(&mut r)
    }

    /// The smallest and the largest of the rounds' `numerator ÷ denominator`.
    fn range(&self, numerator: usize, denominator: usize) -> (f64, f64) {
        self.rounds
            .iter()
            .map(|t| t[numerator] / t[denominator])
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), r| {
                (lo.min(r), hi.max(r))
            })
    }
}

const PLAIN: usize = 0;
const HAND: usize = 1;
const RECORDING: usize = 2;
const REPLAY: usize = 3;

fn main() {
    let (rounds, reps, filter) = arguments();
    let mut rows: Vec<Row> = suite::all(Size::Bench)
        .into_iter()
        .filter(|w| {
            filter
                .as_ref()
                .is_none_or(|f| w.name().contains(f.as_str()))
        })
        .map(|w| Row {
            ops: suite::recorded_len(w.as_ref(), w.point()),
            workload: RefCell::new(w),
            rounds: vec![],
        })
        .collect();
    println!(
        "best of {reps} calls, {rounds} rounds, {} workloads",
        rows.len()
    );
    let mut tape = Tape::new();
    let mut compiled: Vec<_> = rows
        .iter()
        .map(|row| {
            let w = row.workload.borrow();
            suite::compile(w.as_ref(), w.point())
        })
        .collect();
    let points: Vec<Vec<f64>> = rows
        .iter()
        .map(|row| row.workload.borrow().point().to_vec())
        .collect();
    for round in 1..=rounds {
        let start = Instant::now();
        for ((row, compiled), x) in rows.iter_mut().zip(&mut compiled).zip(&points) {
            let w = &row.workload;
            let (mut hand_grad, mut tape_grad) = (vec![0.0; x.len()], vec![0.0; x.len()]);
            let times = bests(
                reps,
                [
                    &mut || {
                        black_box(w.borrow_mut().plain(black_box(x)));
                    },
                    &mut || {
                        black_box(w.borrow_mut().hand(black_box(x), &mut hand_grad));
                    },
                    &mut || {
                        let w = w.borrow();
                        black_box(suite::recording(
                            &mut tape,
                            w.as_ref(),
                            black_box(x),
                            &mut tape_grad,
                        ));
                    },
                    &mut || {
                        let r = compiled.run(black_box(x)).expect("no comparisons");
                        black_box(r.value());
                        black_box(r.grad());
                    },
                ],
            );
            row.rounds.push(times);
        }
        println!(
            "round {round} done in {:.1} s",
            start.elapsed().as_secs_f64()
        );
    }
    print_table(&rows);
}

fn print_table(rows: &[Row]) {
    println!();
    println!(
        "| workload | ops per call | hand-written | replay ÷ hand | recording ÷ hand | \
         replay ÷ plain | hand ÷ plain | target |"
    );
    println!("|---|--:|--:|--:|--:|--:|--:|---|");
    let mut misses = vec![];
    for row in rows {
        let w = row.workload.borrow();
        let hand = row
            .rounds
            .iter()
            .map(|t| t[HAND])
            .fold(f64::INFINITY, f64::min);
        let replay_hand = row.ratio(REPLAY, HAND);
        let replay_plain = row.ratio(REPLAY, PLAIN);
        let (lo, hi) = row.range(REPLAY, HAND);
        let mut target = vec![];
        if let Some(t) = w.kind().replay_over_hand_target() {
            let verdict = if replay_hand <= t {
                "met"
            } else {
                "**missed**"
            };
            target.push(format!("replay ÷ hand ≤ {t}×: {verdict}"));
            if replay_hand > t {
                misses.push(w.name());
            }
        }
        if let Some(t) = w.kind().replay_over_plain_target() {
            let verdict = if replay_plain <= t {
                "met"
            } else {
                "**missed**"
            };
            target.push(format!("replay ÷ plain ≤ {t}×: {verdict}"));
            if replay_plain > t {
                misses.push(format!("{} (÷ plain)", w.name()));
            }
        }
        if target.is_empty() {
            target.push("none".into());
        }
        println!(
            "| {} | {} | {} | {replay_hand:.2}× ({lo:.2}–{hi:.2}) | {:.2}× | {replay_plain:.1}× | \
             {:.1}× | {} |",
            w.name(),
            row.ops,
            duration(hand),
            row.ratio(RECORDING, HAND),
            row.ratio(HAND, PLAIN),
            target.join("; ")
        );
    }
    println!();
    println!(
        "ratios: the median over the rounds of each round's shortest calls (replay ÷ hand: \
         smallest–largest round in brackets); hand-written: its shortest call"
    );
    if misses.is_empty() {
        println!("every target met");
    } else {
        println!("targets missed: {}", misses.join(", "));
    }
}

/// `seconds` in µs or ms, three significant figures.
fn duration(seconds: f64) -> String {
    if seconds >= 1e-3 {
        format!("{:.3} ms", seconds * 1e3)
    } else {
        format!("{:.1} µs", seconds * 1e6)
    }
}
