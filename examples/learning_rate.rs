//! The same network trained on XOR at learning rates from 0.001 to 100: too small crawls, too
//! large jumps around or saturates, and in between it converges.
//!
//! `cargo run --release --example learning_rate`
//!
//! A 2-4-1 tanh/sigmoid network with Xavier weights, plain SGD (no momentum, so the learning
//! rate alone sets the step), mean squared error, at most 5,000 full-batch epochs, ten seeds per
//! rate.
//!
//! A run whose loss, gradients or update stop being finite ends the program with an error naming
//! the rate, the seed, the step and where the NaN or infinity came from (exit status 1).

#[path = "common/mod.rs"]
mod common;

use std::process::ExitCode;

use common::{Config, OptimizerChoice, train_xor};

const RATES: [f64; 12] = [
    0.001, 0.01, 0.1, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 30.0, 50.0, 100.0,
];
const SEEDS: u64 = 10;
const TARGET: f64 = 0.01;
const EPOCHS: usize = 5000;

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    }
}

fn main() -> ExitCode {
    println!(
        "2-4-1 tanh/sigmoid, xavier, plain SGD, MSE; {SEEDS} seeds per rate, at most {EPOCHS} epochs"
    );
    println!("converged = loss below {TARGET}\n");
    println!("learning rate | converged | median epochs | median final loss | verdict");
    println!("------------- | --------- | ------------- | ----------------- | -------");
    for lr in RATES {
        let mut epochs = Vec::new();
        let mut finals = Vec::new();
        let mut rose = 0;
        let mut drops = Vec::new();
        for seed in 0..SEEDS {
            let config = Config {
                hidden: 4,
                optimizer: OptimizerChoice::Sgd,
                lr,
                epochs: EPOCHS,
                target_loss: TARGET,
                seed,
                ..Config::default()
            };
            let outcome = match train_xor(&config, |_, _| {}) {
                Ok(outcome) => outcome,
                Err(diverged) => {
                    eprintln!("error: learning rate {lr}, seed {seed}: {diverged}");
                    return ExitCode::FAILURE;
                }
            };
            if outcome.converged(TARGET) {
                epochs.push(outcome.epochs as f64);
            }
            if outcome.loss() >= outcome.losses[0] {
                rose += 1;
            }
            finals.push(outcome.loss());
            drops.push(1.0 - outcome.loss() / outcome.losses[0]);
        }
        let converged = epochs.len();
        let median_epochs = if converged * 2 > SEEDS as usize {
            format!("{:.0}", median(&mut epochs))
        } else {
            "-".to_string()
        };
        let final_loss = median(&mut finals);
        let verdict = if rose * 2 > SEEDS as usize {
            "too large: diverged, the loss ends higher than it started"
        } else if converged == SEEDS as usize {
            "converges"
        } else if converged * 2 > SEEDS as usize {
            "converges for most seeds"
        } else if median(&mut drops) < 0.1 {
            "too small: the loss barely moved"
        } else if lr >= 1.0 {
            "too large: stuck on a plateau"
        } else {
            "too small: still falling when time ran out"
        };
        println!(
            "{lr:>13} | {converged:>6}/{SEEDS} | {median_epochs:>13} | {final_loss:>17.5} | {verdict}"
        );
    }
    ExitCode::SUCCESS
}
