//! Replay benchmarks: a compiled tape against plain `f64`, hand-written gradients and recording
//! afresh, side by side in one run so that the ratios survive a noisy machine.
//!
//! - W1: Rosenbrock, n = 10^5: plain value, hand-written gradient, recording gradient, replay
//!   gradient.
//! - W3-like: one SGD step of a 2-16-16-1 tanh/tanh/sigmoid network, mean squared error over 256
//!   points: hand-written backprop, recording, replay.
//! - W4-like: XOR with a 2-4-1 network, 2,000 full-batch SGD epochs at learning rate 0.5:
//!   hand-written backprop, recording every epoch, recording once and replaying.
//!
//! Run: `cargo bench --bench replay`; the figures are summed up in `docs/replay.md` (Speed), and
//! what was learned making replay fast is in `benches/FINDINGS.md`.
//! `cargo bench --bench replay_best` times the same functions best of N, interleaved.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};

#[path = "common/networks.rs"]
mod networks;
#[path = "common/rosenbrock.rs"]
mod rosenbrock;
#[path = "common/w1_baselines.rs"]
mod w1_baselines;

use networks::{
    XOR, compile_network, dataset, hand_step, initial, param_count, recording_step, replay_step,
};

// ---------------------------------------------------------------------------------------------
// W1: Rosenbrock.

fn w1_rosenbrock(c: &mut Criterion) {
    let n = 100_000;
    let x = rosenbrock::inputs(n);
    let mut group = c.benchmark_group(format!("W1 rosenbrock n={n}"));
    group.throughput(Throughput::Elements(n as u64));
    w1_baselines::bench(&mut group, &x);
    let mut grad = Vec::with_capacity(n);
    group.bench_function("recording gradient", |b| {
        b.iter(|| rosenbrock::tape_gradient(black_box(&x), &mut grad))
    });
    let mut compiled = rosenbrock::compiled(&x);
    group.bench_function("replay gradient", |b| {
        b.iter(|| {
            let r = compiled.run(black_box(&x)).expect("no guards");
            r.value() + r.grad()[n / 2]
        })
    });
    group.finish();
}

fn w3_network(c: &mut Criterion) {
    let sizes = [2, 16, 16, 1];
    let data = dataset(256);
    let lr = 0.1;
    let count = param_count(&sizes);
    let mut group = c.benchmark_group("W3 2-16-16-1 step, 256 points");

    let mut params = initial(count);
    let mut grad = vec![0.0; count];
    group.bench_function("hand-written backprop", |b| {
        b.iter(|| hand_step::<16, true>(&mut params, &mut grad, black_box(&data), lr))
    });
    let mut params = initial(count);
    group.bench_function("recording", |b| {
        b.iter(|| recording_step(&mut params, &sizes, black_box(&data), lr))
    });
    let mut params = initial(count);
    let mut compiled = compile_network(&params, &sizes, &data);
    group.bench_function("replay", |b| {
        b.iter(|| replay_step(&mut compiled, black_box(&mut params), lr))
    });
    group.finish();
}

fn w4_xor(c: &mut Criterion) {
    let sizes = [2, 4, 1];
    let count = param_count(&sizes);
    let (epochs, lr) = (2_000, 0.5);
    let mut group = c.benchmark_group("W4 xor 2-4-1, 2000 epochs");
    group.sample_size(20);

    group.bench_function("hand-written backprop", |b| {
        b.iter(|| {
            let mut params = initial(count);
            let mut grad = vec![0.0; count];
            let mut loss = 0.0;
            for _ in 0..epochs {
                loss = hand_step::<4, false>(&mut params, &mut grad, black_box(&XOR), lr);
            }
            loss
        })
    });
    group.bench_function("recording", |b| {
        b.iter(|| {
            let mut params = initial(count);
            let mut loss = 0.0;
            for _ in 0..epochs {
                loss = recording_step(&mut params, &sizes, black_box(&XOR), lr);
            }
            loss
        })
    });
    group.bench_function("replay (record and compile included)", |b| {
        b.iter(|| {
            let mut params = initial(count);
            let mut compiled = compile_network(&params, &sizes, &XOR);
            let mut loss = 0.0;
            for _ in 0..epochs {
                loss = replay_step(&mut compiled, black_box(&mut params), lr);
            }
            loss
        })
    });
    group.finish();
}

criterion_group!(benches, w1_rosenbrock, w3_network, w4_xor);
criterion_main!(benches);
