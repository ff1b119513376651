//! Neural-network workloads, each timed against plain hand-written backpropagation of the same
//! network in the same run (`examples/common/handwritten.rs`; `tests/train_xor.rs` checks that
//! it gives tapegrad's gradient to 1e-12).
//!
//! - W3: one training step — MSE over 256 points and the gradient of all 337 parameters — of a
//!   2-16-16-1 tanh/tanh/sigmoid network.
//! - W4: 2,000 full-batch epochs of XOR on a 2-4-1 tanh/sigmoid network, SGD at learning rate 0.5.
//!
//! `cargo bench --bench nn`. Inputs are deterministic (seeded); nothing is asserted here.

#[path = "../examples/common/handwritten.rs"]
mod handwritten;

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tapegrad::init::Init;
use tapegrad::nn::{Activation, Mlp};
use tapegrad::optim::{Optimizer, Sgd};
use tapegrad::{Tape, Var, loss};

const XOR_INPUTS: [[f64; 2]; 4] = [[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]];
const XOR_TARGETS: [f64; 4] = [0.0, 1.0, 1.0, 0.0];

fn network(sizes: &[usize], seed: u64) -> Mlp {
    let mut acts = vec![Activation::Tanh; sizes.len() - 2];
    acts.push(Activation::Sigmoid);
    let mut rng = StdRng::seed_from_u64(seed);
    Mlp::new(sizes, &acts, &Init::xavier_uniform(), &mut rng).expect("a valid architecture")
}

/// 256 points in [-1, 1]², labelled 1 in the first and third quadrants.
fn w3_data() -> (Vec<[f64; 2]>, Vec<f64>) {
    let mut rng = StdRng::seed_from_u64(3);
    let xs: Vec<[f64; 2]> = (0..256)
        .map(|_| [rng.gen_range(-1.0..1.0), rng.gen_range(-1.0..1.0)])
        .collect();
    let ys = xs.iter().map(|x| f64::from(x[0] * x[1] > 0.0)).collect();
    (xs, ys)
}

fn w3_training_step(c: &mut Criterion) {
    let (xs, ys) = w3_data();
    let mlp = network(&[2, 16, 16, 1], 3);
    let mut group = c.benchmark_group("W3 step 2-16-16-1 x256");

    let mut tape = Tape::new();
    let mut grads = Vec::with_capacity(mlp.parameters().len());
    group.bench_function("tapegrad", |b| {
        b.iter(|| {
            tape.clear();
            let mut net = mlp.bind(&tape);
            let out: Vec<Var> = xs
                .iter()
                .map(|x| net.forward(x).expect("2 inputs")[0])
                .collect();
            let l = loss::mse(&out, &ys);
            net.gradients_into(&l.backward(), &mut grads);
            black_box((l.value(), &grads));
        })
    });

    let mut hand = handwritten::Net::new(&[2, 16, 16, 1], mlp.parameters().values());
    let mut hand_grads = vec![0.0; mlp.parameters().len()];
    group.bench_function("hand-written", |b| {
        b.iter(|| {
            let l = hand.mse_gradient(black_box(&xs), &ys, &mut hand_grads);
            black_box((l, &hand_grads));
        })
    });
    group.finish();
}

fn w4_xor_training(c: &mut Criterion) {
    let mlp = network(&[2, 4, 1], 4);
    let mut group = c.benchmark_group("W4 XOR 2-4-1 2000 epochs");
    group.sample_size(30);

    let mut tape = Tape::new();
    let mut grads = Vec::with_capacity(mlp.parameters().len());
    group.bench_function("tapegrad", |b| {
        b.iter(|| {
            let mut trained = mlp.clone();
            let mut sgd = Sgd::new(0.5).expect("a positive learning rate");
            for _ in 0..2000 {
                tape.clear();
                let mut net = trained.bind(&tape);
                let out = XOR_INPUTS.map(|x| net.forward(&x).expect("2 inputs")[0]);
                let l = loss::mse(&out, &XOR_TARGETS);
                net.gradients_into(&l.backward(), &mut grads);
                sgd.step(trained.parameters_mut(), &grads);
            }
            black_box(trained)
        })
    });

    let xs = XOR_INPUTS.to_vec();
    let mut hand_grads = vec![0.0; mlp.parameters().len()];
    group.bench_function("hand-written", |b| {
        b.iter(|| {
            let mut hand = handwritten::Net::new(&[2, 4, 1], mlp.parameters().values());
            for _ in 0..2000 {
                hand.mse_gradient(&xs, &XOR_TARGETS, &mut hand_grads);
                for (p, g) in hand.params.iter_mut().zip(&hand_grads) {
                    *p -= 0.5 * g;
                }
            }
            black_box(hand.params)
        })
    });
    group.finish();
}

criterion_group!(benches, w3_training_step, w4_xor_training);
criterion_main!(benches);
