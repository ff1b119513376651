//! Weight initialization on a deeper network: all zeros vs a constant vs small uniform vs normal
//! vs Xavier vs He. Equal weights make every hidden neuron of a layer compute the same thing and
//! receive the same gradient, so the neurons stay identical forever — with zeros and tanh they do
//! not even move. The random initializers break that symmetry and learn.
//!
//! `cargo run --release --example init`
//!
//! A 2-8-8-8-1 network (three tanh hidden layers, sigmoid output) on XOR, mean squared error,
//! SGD with momentum 0.9, ten seeds per initializer.
//!
//! A run whose loss, gradients or update stop being finite ends the program with an error naming
//! the initializer, the seed, the step and where the NaN or infinity came from (exit status 1).

#[path = "common/mod.rs"]
mod common;

use std::process::ExitCode;

use common::{Config, InitChoice, OptimizerChoice, neuron_params, train_xor};
use tapegrad::nn::Mlp;

const SEEDS: u64 = 10;
const TARGET: f64 = 0.01;
const EPOCHS: usize = 3000;
const LAYERS: usize = 3;
const HIDDEN: usize = 8;

/// How many different neurons a hidden layer has: neurons whose weights and bias agree to 1e-12
/// count once.
fn distinct_neurons(net: &Mlp, layer: usize) -> usize {
    let neurons = neuron_params(net, layer);
    let mut distinct: Vec<&[f64]> = Vec::new();
    for n in neurons {
        let same = |d: &&[f64]| d.iter().zip(n).all(|(a, b)| (a - b).abs() <= 1e-12);
        if !distinct.iter().any(same) {
            distinct.push(n);
        }
    }
    distinct.len()
}

fn main() -> ExitCode {
    println!(
        "2-{h}-{h}-{h}-1 tanh/sigmoid on XOR, SGD with momentum 0.9 at learning rate 0.1, MSE;",
        h = HIDDEN
    );
    println!(
        "{SEEDS} seeds per initializer, at most {EPOCHS} epochs, solved = loss below {TARGET}\n"
    );
    println!(
        "init     | weights drawn from                         | solved | median epochs | median loss | distinct neurons per hidden layer (seed 0)"
    );
    println!(
        "-------- | ------------------------------------------ | ------ | ------------- | ----------- | ------------------------------------------"
    );
    for init in InitChoice::ALL {
        let mut epochs = Vec::new();
        let mut losses = Vec::new();
        let mut distinct = String::new();
        for seed in 0..SEEDS {
            let config = Config {
                hidden: HIDDEN,
                layers: LAYERS,
                init,
                optimizer: OptimizerChoice::Momentum,
                lr: 0.1,
                epochs: EPOCHS,
                target_loss: TARGET,
                seed,
                ..Config::default()
            };
            let outcome = match train_xor(&config, |_, _| {}) {
                Ok(outcome) => outcome,
                Err(diverged) => {
                    eprintln!("error: init {init}, seed {seed}: {diverged}");
                    return ExitCode::FAILURE;
                }
            };
            if outcome.converged(TARGET) {
                epochs.push(outcome.epochs);
            }
            losses.push(outcome.loss());
            if seed == 0 {
                let counts: Vec<String> = (0..LAYERS)
                    .map(|l| format!("{} of {HIDDEN}", distinct_neurons(&outcome.net, l)))
                    .collect();
                distinct = counts.join(", ");
            }
        }
        epochs.sort_unstable();
        let median = if epochs.len() * 2 > SEEDS as usize {
            epochs[epochs.len() / 2].to_string()
        } else {
            "-".to_string()
        };
        losses.sort_by(f64::total_cmp);
        println!(
            "{:<8} | {:<42} | {:>3}/{SEEDS} | {median:>13} | {:>11.5} | {distinct}",
            init.name(),
            init.describe(),
            epochs.len(),
            losses[losses.len() / 2]
        );
    }
    ExitCode::SUCCESS
}
