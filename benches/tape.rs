//! Core benchmarks: recording plus backward against plain `f64` evaluation and hand-written
//! gradients, measured side by side in one run so that the ratios survive a noisy machine.
//!
//! - W1: Rosenbrock, n = 10^5 and 10^6: plain value, hand-written value + gradient, tapegrad
//!   value + gradient.
//! - W2: a chain of 10^6 steps of `x = x + h*(sin(x)*x + 0.5*exp(-x*x) - tanh(x))`: plain value,
//!   tapegrad gradient of the end with respect to the start.
//! - Per-node cost of a long chain at 10^5, 10^6 and 10^7 nodes (linear scaling).
//!
//! Run: `cargo bench --bench tape`. The ratios against hand-written gradients that
//! `docs/performance.md` quotes come from `benches/suite.rs`.

use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use tapegrad::Tape;

#[path = "common/rosenbrock.rs"]
mod rosenbrock;
#[path = "common/w1_baselines.rs"]
mod w1_baselines;

const H: f64 = 1e-3;

fn chain_plain(x0: f64, steps: usize) -> f64 {
    let mut x = x0;
    for _ in 0..steps {
        x = x + H * (x.sin() * x + 0.5 * (-x * x).exp() - x.tanh());
    }
    x
}

fn chain_tape(x0: f64, steps: usize) -> (f64, f64) {
    let tape = Tape::new();
    let start = tape.var(x0);
    let mut x = start;
    for _ in 0..steps {
        x = x + (x.sin() * x + 0.5 * (-x * x).exp() - x.tanh()) * H;
    }
    (x.value(), x.backward()[start])
}

fn w1_rosenbrock(c: &mut Criterion) {
    for n in [100_000usize, 1_000_000] {
        let x = rosenbrock::inputs(n);
        let mut group = c.benchmark_group(format!("W1 rosenbrock n={n}"));
        group.throughput(Throughput::Elements(n as u64));
        if n >= 1_000_000 {
            group
                .sample_size(20)
                .measurement_time(Duration::from_secs(10));
        }
        w1_baselines::bench(&mut group, &x);
        let mut grad = Vec::with_capacity(n);
        group.bench_function("tapegrad gradient", |b| {
            b.iter(|| rosenbrock::tape_gradient(black_box(&x), &mut grad))
        });
        group.finish();
    }
}

fn w2_chain(c: &mut Criterion) {
    let steps = 1_000_000;
    let mut group = c.benchmark_group("W2 chain 1e6 steps");
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(10));
    group.bench_function("plain f64 value", |b| {
        b.iter(|| chain_plain(black_box(0.3), steps))
    });
    group.bench_function("tapegrad gradient", |b| {
        b.iter(|| chain_tape(black_box(0.3), steps))
    });
    group.finish();
}

/// Per-node cost of recording plus backward on `x = sin(x) * 0.9 + 0.1` chains of growing length.
fn scaling(c: &mut Criterion) {
    let mut group = c.benchmark_group("chain per node");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(8));
    for nodes in [100_000usize, 1_000_000, 10_000_000] {
        group.throughput(Throughput::Elements(nodes as u64));
        group.bench_with_input(BenchmarkId::from_parameter(nodes), &nodes, |b, &nodes| {
            b.iter(|| {
                let tape = Tape::new();
                let x0 = tape.var(0.5);
                let mut x = x0;
                for _ in 0..nodes / 3 {
                    x = x.sin() * 0.9 + 0.1;
                }
                x.backward()[x0]
            })
        });
    }
    group.finish();
}

criterion_group!(benches, w1_rosenbrock, w2_chain, scaling);
criterion_main!(benches);
