//! The two baselines every W1 benchmark group measures beside tapegrad: the plain `f64` value and
//! the hand-written gradient. Shared by `benches/tape.rs` and `benches/replay.rs`.

use std::hint::black_box;

use criterion::BenchmarkGroup;
use criterion::measurement::WallTime;

use super::rosenbrock;

/// Adds "plain f64 value" and "hand-written gradient" at `x` to `group`.
pub fn bench(group: &mut BenchmarkGroup<'_, WallTime>, x: &[f64]) {
    group.bench_function("plain f64 value", |b| {
        b.iter(|| rosenbrock::plain(black_box(x)))
    });
    let mut grad = vec![0.0; x.len()];
    group.bench_function("hand-written gradient", |b| {
        b.iter(|| rosenbrock::hand(black_box(x), &mut grad))
    });
}
