//! Timing on a machine whose speed changes from second to second: the sides of a ratio called in
//! turn, call by call, each keeping its shortest call (see `benches/FINDINGS.md`).

use std::time::Instant;

/// The shortest of `reps` calls of each of `fs`, in seconds, the calls taken in turn: `fs[0]`,
/// `fs[1]`, …, `fs[0]`, … so that every function meets the same phases of the machine.
pub fn bests<const K: usize>(reps: usize, mut fs: [&mut dyn FnMut(); K]) -> [f64; K] {
    let mut best = [f64::INFINITY; K];
    for _ in 0..reps {
        for (f, best) in fs.iter_mut().zip(&mut best) {
            let start = Instant::now();
            f();
            *best = best.min(start.elapsed().as_secs_f64());
        }
    }
    best
}

/// The median of `xs` (not empty), which it sorts.
pub fn median(xs: &mut [f64]) -> f64 {
    xs.sort_by(f64::total_cmp);
    let n = xs.len();
    if n % 2 == 1 {
        xs[n / 2]
    } else {
        (xs[n / 2 - 1] + xs[n / 2]) / 2.0
    }
}
