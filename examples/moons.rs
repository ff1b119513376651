//! micrograd's demo: a 2-16-16-1 network learns to separate two interleaving half circles
//! ("moons") of 100 noisy points, generated here as scikit-learn's `make_moons` makes them.
//!
//! ```text
//! cargo run --release --example moons
//! cargo run --release --example moons -- --points 1000 --threads 2 --replay --plot moons.svg
//! cargo run --release --example moons -- --help
//! ```
//!
//! Each epoch prints the loss and the accuracy before its update. The last line is
//! machine-readable, as in the XOR example; the default run ends with
//! `accuracy 100/100 loss 0.03080 epochs 100`.
//!
//! The loss is the mean binary cross-entropy of the network's output logit
//! ([`tapegrad::loss::binary_cross_entropy_with_logits_var`]) plus `1e-4 · Σ p²` over every
//! parameter, minimized by SGD whose learning rate falls linearly from `--lr` to a tenth of it.
//! micrograd uses a hinge (max-margin) loss; cross-entropy is used here because it takes its
//! labels as tape variables: the per-point loss is compiled once with the point's `(x0, x1,
//! label)` as data leaves and replayed over every point (`--replay`, [`tapegrad::batch::Batch`]),
//! and `loss::hinge`, whose labels are plain numbers, would keep the recorded point's label.
//! The penalty is added outside the batch sum, its gradient `2 · 1e-4 · p` by hand.
//!
//! `--threads N` spreads the batch gradient over N threads; the results are the same, bit for
//! bit, on any number of threads. Training stops with an error, and exit status 1, at the first
//! loss, gradient or update that is NaN or infinite.
//!
//! `--plot FILE.svg` draws the loss curve and the decision boundary with `plotters`
//! (`examples/common/plot.rs`), the same calls a program of your own can make.

#[path = "common/mod.rs"]
mod common;

use std::process::ExitCode;

use common::moons::{self, Command};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let config = match moons::parse_args(&args) {
        Ok(Command::Help) => {
            println!("{}", moons::usage("moons"));
            return ExitCode::SUCCESS;
        }
        Ok(Command::Train(config)) => config,
        Err(message) => {
            eprintln!("error: {message}\n\n{}", moons::usage("moons"));
            return ExitCode::from(2);
        }
    };
    println!("{config}");
    let n = config.points;
    let outcome = moons::train_moons(&config, |e| {
        println!(
            "epoch {:>4}  loss {:.6}  accuracy {}/{n}",
            e.epoch, e.loss, e.correct
        );
    });
    let outcome = match outcome {
        Ok(outcome) => outcome,
        Err(diverged) => {
            eprintln!("error: {diverged}\n  try a smaller --lr");
            return ExitCode::FAILURE;
        }
    };
    if let Some(path) = &config.plot {
        let net = &outcome.net;
        let title = format!(
            "two moons, 2-16-16-1 relu: accuracy {}/{n}, loss {:.5} after {} epochs",
            outcome.correct,
            outcome.loss(),
            outcome.epochs
        );
        let boundary = common::plot::Boundary {
            probability: |u, v| moons::probability(net, [u, v]),
            points: &outcome.points,
            corners: common::plot::corners_around(&outcome.points, 0.5),
            resolution: 50,
            radius: if n <= 200 { 4 } else { 2 },
        };
        if let Err(e) = common::plot::write(path, &title, &outcome.losses, &boundary) {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
        println!("wrote {path}");
    }
    println!(
        "accuracy {}/{n} loss {:.5} epochs {}",
        outcome.correct,
        outcome.loss(),
        outcome.epochs
    );
    ExitCode::SUCCESS
}
