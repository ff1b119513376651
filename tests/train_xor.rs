//! The XOR example's training, its command line, and the hand-written backpropagation that
//! `benches/nn.rs` compares tapegrad against.
//!
//! The full 100-seed sweep of the example's defaults is `#[ignore]`d here because it is slow in
//! debug mode; run it in release with
//! `cargo test --release --test train_xor -- --ignored`, or run the example binary itself over
//! the seeds with `scripts/xor_seeds.sh`.

#[path = "../examples/common/mod.rs"]
mod common;
#[path = "../examples/common/handwritten.rs"]
mod handwritten;

use common::{Command, Config, InitChoice, OptimizerChoice, parse_args, train_xor};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tapegrad::nn::Activation;
use tapegrad::{Tape, Var, loss};

/// Trains with the defaults for each seed and returns the seeds that did not reach 4/4.
fn unsolved_seeds(seeds: std::ops::Range<u64>) -> Vec<(u64, String)> {
    seeds
        .filter_map(|seed| {
            let config = Config {
                seed,
                ..Config::default()
            };
            let outcome = train_xor(&config, |_, _| {}).expect("training stays finite");
            (outcome.correct() != 4).then(|| {
                (
                    seed,
                    format!(
                        "accuracy {}/4 loss {} epochs {}",
                        outcome.correct(),
                        outcome.loss(),
                        outcome.epochs
                    ),
                )
            })
        })
        .collect()
}

#[test]
fn defaults_solve_xor_for_the_first_ten_seeds() {
    assert_eq!(unsolved_seeds(0..10), vec![]);
}

#[test]
#[ignore = "100 training runs; run in release: cargo test --release --test train_xor -- --ignored"]
fn defaults_solve_xor_for_at_least_99_of_100_seeds() {
    let unsolved = unsolved_seeds(0..100);
    assert!(unsolved.len() <= 1, "unsolved: {unsolved:?}");
}

#[test]
fn defaults_reach_the_target_loss_well_within_the_epoch_budget() {
    let config = Config::default();
    let outcome = train_xor(&config, |_, _| {}).expect("training stays finite");
    assert!(
        outcome.loss() < config.target_loss,
        "loss {}",
        outcome.loss()
    );
    assert!(outcome.epochs < 500, "took {} epochs", outcome.epochs);
    assert_eq!(outcome.losses.len(), outcome.epochs + 1);
    // Below the target, every squared error is below 4 · 0.001, so each output is within 0.07
    // of its label.
    for (p, y) in outcome.predictions.iter().zip(common::XOR_TARGETS) {
        assert!((p - y).abs() < 0.07, "output {p} for label {y}");
    }
}

#[test]
fn plain_sgd_on_a_2_4_1_network_falls_below_the_threshold_in_4000_epochs() {
    let config = Config {
        hidden: 4,
        optimizer: OptimizerChoice::Sgd,
        lr: 0.5,
        epochs: 4000,
        target_loss: 0.01,
        seed: 1,
        ..Config::default()
    };
    let outcome = train_xor(&config, |_, _| {}).expect("training stays finite");
    assert!(outcome.loss() < 0.01, "loss {}", outcome.loss());
    assert_eq!(outcome.correct(), 4);
}

#[test]
fn zero_initialization_cannot_solve_xor() {
    // With every weight 0 the tanh hidden layer outputs 0 and gets no gradient: the network can
    // only learn the output bias, which predicts 0.5 everywhere.
    let config = Config {
        init: InitChoice::Zeros,
        epochs: 300,
        ..Config::default()
    };
    let outcome = train_xor(&config, |_, _| {}).expect("training stays finite");
    assert!(
        (outcome.loss() - 0.25).abs() < 1e-6,
        "loss {}",
        outcome.loss()
    );
    for p in outcome.predictions {
        assert!((p - 0.5).abs() < 1e-3, "output {p}");
    }
}

#[test]
fn the_loss_seen_each_epoch_is_the_recorded_curve() {
    let config = Config {
        epochs: 20,
        target_loss: 1e-12,
        ..Config::default()
    };
    let mut seen = Vec::new();
    let outcome =
        train_xor(&config, |epoch, loss| seen.push((epoch, loss))).expect("training stays finite");
    assert_eq!(outcome.epochs, 20);
    assert_eq!(seen.len(), 20);
    for (i, (epoch, loss)) in seen.iter().enumerate() {
        assert_eq!(*epoch, i);
        assert_eq!(*loss, outcome.losses[i]);
    }
}

fn train_config(args: &[&str]) -> Config {
    match parse_args(args) {
        Ok(Command::Train(config)) => config,
        other => panic!("expected a training configuration, got {other:?}"),
    }
}

fn parse_error(args: &[&str]) -> String {
    match parse_args(args) {
        Err(message) => message,
        other => panic!("expected an error, got {other:?}"),
    }
}

#[test]
fn flags_set_the_configuration_in_both_spellings() {
    let config = train_config(&[
        "--hidden",
        "4",
        "--activation=relu",
        "--init",
        "he",
        "--lr",
        "0.5",
        "--optimizer=sgd",
        "--epochs",
        "2000",
        "--seed",
        "7",
        "--plot",
        "out.svg",
        "--layers",
        "2",
    ]);
    assert_eq!(config.hidden, 4);
    assert_eq!(config.layers, 2);
    assert_eq!(config.activation, Activation::Relu);
    assert_eq!(config.init, InitChoice::He);
    assert_eq!(config.lr, 0.5);
    assert_eq!(config.optimizer, OptimizerChoice::Sgd);
    assert_eq!(config.epochs, 2000);
    assert_eq!(config.seed, 7);
    assert_eq!(config.plot.as_deref(), Some("out.svg"));
    assert_eq!(config.sizes(), vec![2, 4, 4, 1]);
}

#[test]
fn help_wins_over_other_flags() {
    assert!(matches!(
        parse_args(&["--seed", "3", "--help"]),
        Ok(Command::Help)
    ));
    let usage = common::usage("xor");
    for flag in [
        "--hidden",
        "--activation",
        "--init",
        "--lr",
        "--optimizer",
        "--epochs",
        "--seed",
        "--plot",
    ] {
        assert!(usage.contains(flag), "usage lacks {flag}");
    }
    assert!(usage.contains("--lr X              learning rate, > 0 [0.05]"));
}

#[test]
fn bad_flags_and_values_name_the_culprit() {
    assert_eq!(parse_error(&["--bogus"]), "unknown flag '--bogus'");
    assert_eq!(
        parse_error(&["--lr", "-1"]),
        "--lr needs a positive number, got '-1'"
    );
    assert_eq!(
        parse_error(&["--lr", "fast"]),
        "--lr needs a positive number, got 'fast'"
    );
    assert_eq!(
        parse_error(&["--hidden", "0"]),
        "--hidden needs a whole number of at least 1, got '0'"
    );
    assert_eq!(
        parse_error(&["--activation", "gelu"]),
        "--activation needs one of tanh, sigmoid, relu, leaky-relu, softplus, got 'gelu'"
    );
    assert_eq!(
        parse_error(&["--optimizer=rmsprop"]),
        "--optimizer needs one of sgd, momentum, nesterov, adam, got 'rmsprop'"
    );
    assert_eq!(parse_error(&["--seed"]), "--seed needs a value");
    assert_eq!(
        parse_error(&["seed"]),
        "unexpected argument 'seed'; flags start with --"
    );
}

/// The gradient of the MSE of `net` over `xs` by tapegrad, in the parameter store's order.
fn tapegrad_gradient(net: &tapegrad::nn::Mlp, xs: &[[f64; 2]], ys: &[f64]) -> (f64, Vec<f64>) {
    let tape = Tape::new();
    let mut bound = net.bind(&tape);
    let outputs: Vec<Var> = xs.iter().map(|x| bound.forward(x).unwrap()[0]).collect();
    let l = loss::mse(&outputs, ys);
    (l.value(), bound.gradients(&l.backward()))
}

fn assert_same_gradient(sizes: &[usize], points: usize, seed: u64) {
    let mut rng = StdRng::seed_from_u64(seed);
    let xs: Vec<[f64; 2]> = (0..points)
        .map(|_| [rng.gen_range(-1.0..1.0), rng.gen_range(-1.0..1.0)])
        .collect();
    let ys: Vec<f64> = xs.iter().map(|x| f64::from(x[0] * x[1] > 0.0)).collect();
    let config = Config {
        hidden: sizes[1],
        layers: sizes.len() - 2,
        seed,
        ..Config::default()
    };
    let net = config.network();
    assert_eq!(net.sizes(), sizes);
    let (tape_loss, tape_grad) = tapegrad_gradient(&net, &xs, &ys);

    let mut hand = handwritten::Net::new(sizes, net.parameters().values());
    let mut hand_grad = vec![0.0; tape_grad.len()];
    let hand_loss = hand.mse_gradient(&xs, &ys, &mut hand_grad);

    assert!(
        (tape_loss - hand_loss).abs() <= 1e-12,
        "{tape_loss} vs {hand_loss}"
    );
    for (i, (t, h)) in tape_grad.iter().zip(&hand_grad).enumerate() {
        assert!(
            (t - h).abs() <= 1e-12 * (1.0 + t.abs()),
            "parameter {i} ({}): tapegrad {t}, hand-written {h}",
            net.parameters().name(i).unwrap()
        );
    }
}

#[test]
fn handwritten_backprop_of_the_w3_network_matches_tapegrad() {
    assert_same_gradient(&[2, 16, 16, 1], 256, 3);
}

#[test]
fn handwritten_backprop_of_the_w4_network_matches_tapegrad() {
    assert_same_gradient(&[2, 4, 1], 4, 4);
}

#[test]
fn replay_trains_bit_for_bit_like_recording() {
    for args in [
        &["--seed", "3"][..],
        &[
            "--optimizer",
            "sgd",
            "--lr",
            "0.5",
            "--hidden",
            "4",
            "--epochs",
            "300",
        ][..],
        &[
            "--optimizer",
            "nesterov",
            "--lr",
            "0.1",
            "--layers",
            "2",
            "--epochs",
            "200",
        ][..],
    ] {
        let recorded = train_xor(&train_config(args), |_, _| {}).expect("training stays finite");
        let mut replayed_config = train_config(args);
        replayed_config.replay = true;
        let replayed = train_xor(&replayed_config, |_, _| {}).expect("training stays finite");
        let bits = |xs: &[f64]| xs.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&recorded.losses), bits(&replayed.losses), "{args:?}");
        assert_eq!(
            bits(recorded.net.parameters().values()),
            bits(replayed.net.parameters().values()),
            "{args:?}"
        );
    }
}

#[test]
fn the_replay_flag_takes_no_value() {
    assert!(train_config(&["--replay"]).replay);
    assert!(!train_config(&[]).replay);
    assert_eq!(
        parse_error(&["--replay=yes"]),
        "--replay takes no value, got '--replay=yes'"
    );
}

#[test]
fn a_run_that_diverges_stops_naming_the_step_and_the_node_in_both_modes() {
    // At learning rate 1e300 the first step throws the weights to about ±1e300; the leaky ReLU
    // lets the hidden values through, and the output neuron's weighted sum is inf - inf.
    let args = [
        "--activation",
        "leaky-relu",
        "--lr",
        "1e300",
        "--optimizer",
        "sgd",
    ];
    for replay in [false, true] {
        let mut config = train_config(&args);
        config.replay = replay;
        let mut seen = Vec::new();
        let diverged = train_xor(&config, |epoch, loss| seen.push((epoch, loss))).unwrap_err();
        assert_eq!(
            seen.len(),
            1,
            "one finite epoch, then the NaN (replay {replay})"
        );
        assert!(
            matches!(diverged.error, tapegrad::Error::NonFiniteLoss { step: 1, value } if value.is_nan()),
            "{diverged:?}"
        );
        assert_eq!(
            diverged.to_string(),
            "training diverged at step 1: the loss is NaN\n  on the tape of the loss: value of \
             node #57 (dot) is NaN; it is the first non-finite value the output depends on",
            "replay {replay}"
        );
    }
}
