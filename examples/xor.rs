//! Trains a small network on XOR: the four points (0,0)→0, (0,1)→1, (1,0)→1, (1,1)→0, which no
//! single neuron can separate.
//!
//! ```text
//! cargo run --release --example xor
//! cargo run --release --example xor -- --hidden 4 --optimizer sgd --lr 0.5 --plot xor.svg
//! cargo run --release --example xor -- --help
//! ```
//!
//! The last line is machine-readable: `accuracy 4/4 loss 0.00099 epochs 135`.
//!
//! Training stops with an error, and exit status 1, at the first loss, gradient or parameter
//! update that is NaN or infinite, naming the step, the parameter and the node of the tape it
//! came from.

#[path = "common/mod.rs"]
mod common;

use std::process::ExitCode;

use common::{Command, XOR_INPUTS, XOR_TARGETS, parse_args, train_xor, usage};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let config = match parse_args(&args) {
        Ok(Command::Help) => {
            println!("{}", usage("xor"));
            return ExitCode::SUCCESS;
        }
        Ok(Command::Train(config)) => config,
        Err(message) => {
            eprintln!("error: {message}\n\n{}", usage("xor"));
            return ExitCode::from(2);
        }
    };
    println!(
        "network 2-{}-1 ({} hidden, sigmoid output), init {}, {} at learning rate {:?}, seed {}",
        vec![config.hidden.to_string(); config.layers].join("-"),
        config.activation,
        config.init,
        config.optimizer,
        config.lr,
        config.seed
    );
    let every = config.print_every;
    let outcome = train_xor(&config, |epoch, loss| {
        if every > 0 && epoch % every == 0 {
            println!("epoch {epoch:>5}  loss {loss:.6}");
        }
    });
    let outcome = match outcome {
        Ok(outcome) => outcome,
        Err(diverged) => {
            eprintln!("error: {diverged}\n  try a smaller --lr");
            return ExitCode::FAILURE;
        }
    };
    println!();
    println!(" x0  x1 | target | output  | predicted");
    for ((x, y), p) in XOR_INPUTS.iter().zip(XOR_TARGETS).zip(outcome.predictions) {
        let class = u8::from(p > 0.5);
        let mark = if f64::from(class) == y { "" } else { "  wrong" };
        println!(
            " {:>2}  {:>2} | {:>6} | {p:.5} | {class}{mark}",
            x[0], x[1], y
        );
    }
    if let Some(path) = &config.plot {
        let net = &outcome.net;
        let points: Vec<_> = XOR_INPUTS.iter().copied().zip(XOR_TARGETS).collect();
        let title = format!(
            "XOR, 2-{}-1 {}: loss {:.5} after {} epochs",
            config.hidden,
            config.activation,
            outcome.loss(),
            outcome.epochs
        );
        let boundary = common::plot::Boundary {
            probability: |u, v| common::output(net, &[u, v]),
            points: &points,
            corners: ([-0.25, -0.25], [1.25, 1.25]),
            resolution: 50,
            radius: 7,
        };
        if let Err(e) = common::plot::write(path, &title, &outcome.losses, &boundary) {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
        println!("wrote {path}");
    }
    println!(
        "accuracy {}/4 loss {:.5} epochs {}",
        outcome.correct(),
        outcome.loss(),
        outcome.epochs
    );
    ExitCode::SUCCESS
}
