//! One Hessian-vector product against one gradient of the same function, in the same run.
//!
//! `hvp` records the function once on a `Tape<Dual<f64>>` and sweeps once (forward-over-reverse);
//! `grad` records it on a `Tape<f64>` and sweeps once. The ratio of the two is the cost of second
//! order information; the target is at most 4x.
//!
//! ```text
//! cargo bench --bench hvp
//! ```

use criterion::{BenchmarkId, Criterion, black_box, criterion_group, criterion_main};
use tapegrad::functional::{grad, hvp};

#[path = "common/functions.rs"]
mod functions;
use functions::{Rosenbrock, TanhNetLoss};

/// Deterministic values in `[-scale, scale]`.
fn wave(n: usize, phase: f64, scale: f64) -> Vec<f64> {
    (0..n)
        .map(|i| scale * (0.7 * i as f64 + phase).sin())
        .collect()
}

fn bench_hvp(c: &mut Criterion) {
    let mut group = c.benchmark_group("hvp_vs_grad");

    let n = 10_000;
    let x = wave(n, 0.1, 1.2);
    let v = wave(n, 1.3, 1.0);
    group.bench_with_input(
        BenchmarkId::new("grad", "rosenbrock_1e4"),
        &x,
        |bench, x| bench.iter(|| grad(&Rosenbrock, black_box(x))),
    );
    group.bench_with_input(BenchmarkId::new("hvp", "rosenbrock_1e4"), &x, |bench, x| {
        bench.iter(|| hvp(&Rosenbrock, black_box(x), black_box(&v)))
    });

    let (inputs, hidden, samples) = (8, 32, 16);
    let net = TanhNetLoss {
        inputs,
        hidden,
        data: (0..samples)
            .map(|s| (wave(inputs, s as f64, 1.0), (0.3 * s as f64).cos()))
            .collect(),
    };
    let p = wave(hidden * (inputs + 2), 0.5, 0.5);
    let v = wave(p.len(), 2.1, 1.0);
    group.bench_with_input(
        BenchmarkId::new("grad", "tanh_net_8x32_16"),
        &p,
        |bench, p| bench.iter(|| grad(&net, black_box(p))),
    );
    group.bench_with_input(
        BenchmarkId::new("hvp", "tanh_net_8x32_16"),
        &p,
        |bench, p| bench.iter(|| hvp(&net, black_box(p), black_box(&v))),
    );

    group.finish();
}

criterion_group!(benches, bench_hvp);
criterion_main!(benches);
