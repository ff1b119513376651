//! The two-moons example's data, training and command line (`examples/common/moons.rs`).

#[path = "../examples/common/mod.rs"]
mod common;

use common::moons::{self, Command, Config, make_moons, parse_args, train_moons};
use rand::SeedableRng;
use rand::rngs::StdRng;
use tapegrad::{Tape, loss};

fn bits(xs: &[f64]) -> Vec<u64> {
    xs.iter().map(|x| x.to_bits()).collect()
}

/// The losses of every epoch and the final parameters, as bits.
fn run_bits(config: &Config) -> (Vec<u64>, Vec<u64>) {
    let outcome = train_moons(config, |_| {}).expect("training stays finite");
    (
        bits(&outcome.losses),
        bits(outcome.net.parameters().values()),
    )
}

#[test]
fn noiseless_moons_are_the_two_half_circles_in_order() {
    let mut rng = StdRng::seed_from_u64(0);
    let points = make_moons(7, 0.0, &mut rng);
    let labels: Vec<f64> = points.iter().map(|p| p.1).collect();
    // 7 / 2 = 3 points on the upper moon, 4 on the lower one.
    assert_eq!(labels, [0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0]);
    let close =
        |a: [f64; 2], b: [f64; 2]| (a[0] - b[0]).abs() < 1e-15 && (a[1] - b[1]).abs() < 1e-15;
    // Upper: (cos t, sin t) for t = 0, π/2, π. Lower: (1 - cos t, 0.5 - sin t) for t = 0, π/3,
    // 2π/3, π.
    let expected = [
        [1.0, 0.0],
        [0.0, 1.0],
        [-1.0, 0.0],
        [0.0, 0.5],
        [0.5, 0.5 - 3f64.sqrt() / 2.0],
        [1.5, 0.5 - 3f64.sqrt() / 2.0],
        [2.0, 0.5],
    ];
    for (p, e) in points.iter().zip(expected) {
        assert!(close(p.0, e), "{:?} is not {e:?}", p.0);
    }
}

#[test]
fn moons_noise_has_the_standard_deviation_asked_for() {
    let mut rng = StdRng::seed_from_u64(3);
    let noisy = make_moons(20_000, 0.1, &mut rng);
    let clean = make_moons(20_000, 0.0, &mut rng);
    let offsets: Vec<f64> = noisy
        .iter()
        .zip(&clean)
        .flat_map(|(a, b)| [a.0[0] - b.0[0], a.0[1] - b.0[1]])
        .collect();
    let n = offsets.len() as f64;
    let mean = offsets.iter().sum::<f64>() / n;
    let std = (offsets.iter().map(|d| (d - mean).powi(2)).sum::<f64>() / n).sqrt();
    // 40,000 draws: the standard errors are 0.0005 for the mean and 0.00035 for the deviation.
    assert!(mean.abs() < 0.003, "mean {mean}");
    assert!((std - 0.1).abs() < 0.002, "standard deviation {std}");
}

#[test]
fn sixty_points_are_all_classified_within_100_epochs() {
    let config = Config {
        points: 60,
        ..Config::default()
    };
    let mut accuracies = Vec::new();
    let outcome = train_moons(&config, |e| accuracies.push(e.correct)).expect("finite");
    assert_eq!(outcome.correct, 60, "accuracy per epoch {accuracies:?}");
    assert_eq!(outcome.losses.len(), 101);
    assert_eq!(accuracies.len(), 101);
    assert_eq!(accuracies.last(), Some(&60));
    // Not solved from the start: about half the points are right before training.
    assert!(accuracies[0] < 45, "{accuracies:?}");
    assert!(
        outcome.loss() < outcome.losses[0] / 5.0,
        "{:?}",
        outcome.losses
    );
}

#[test]
fn one_and_two_threads_train_to_the_same_bits_recording_or_replaying() {
    for replay in [false, true] {
        // 80 points are three blocks of the batch: two threads split them.
        let config = Config {
            points: 80,
            epochs: 5,
            replay,
            ..Config::default()
        };
        let one = run_bits(&config);
        let two = run_bits(&Config {
            threads: 2,
            ..config.clone()
        });
        let three = run_bits(&Config {
            threads: 3,
            ..config
        });
        assert_eq!(one, two, "replay {replay}");
        assert_eq!(one, three, "replay {replay}");
    }
}

#[test]
fn replaying_trains_as_recording_does_up_to_rounding() {
    let config = Config {
        points: 40,
        epochs: 10,
        ..Config::default()
    };
    let recorded = train_moons(&config, |_| {}).expect("finite");
    let replayed = train_moons(
        &Config {
            replay: true,
            ..config
        },
        |_| {},
    )
    .expect("finite");
    for (r, p) in recorded.losses.iter().zip(&replayed.losses) {
        assert!(
            (r - p).abs() <= 1e-12 * r.abs(),
            "recorded {r}, replayed {p}"
        );
    }
    assert_eq!(recorded.losses[0], replayed.losses[0]);
}

#[test]
fn the_loss_is_the_mean_cross_entropy_plus_the_l2_penalty() {
    // With 0 epochs the one loss is at the initial network: recompute it by hand.
    let config = Config {
        points: 10,
        epochs: 0,
        ..Config::default()
    };
    let outcome = train_moons(&config, |_| {}).expect("finite");
    let (points, net) = moons::setup(&config);
    assert_eq!(outcome.net, net);
    let mean_bce = points
        .iter()
        .map(|&(x, y)| {
            let z = net.predict(&x).unwrap()[0];
            // -y ln σ(z) - (1 - y) ln(1 - σ(z)) = max(z, 0) - z y + ln(1 + e^(-|z|))
            z.max(0.0) - z * y + (-z.abs()).exp().ln_1p()
        })
        .sum::<f64>()
        / 10.0;
    let l2 = moons::L2 * net.parameters().values().iter().map(|p| p * p).sum::<f64>();
    assert_eq!(outcome.losses.len(), 1);
    assert!(
        (outcome.loss() - (mean_bce + l2)).abs() < 1e-12,
        "{} vs {}",
        outcome.loss(),
        mean_bce + l2
    );
}

#[test]
fn one_epoch_steps_down_the_gradient_of_the_mean_loss_plus_the_penalty() {
    // The whole loss recorded on one tape, differentiated at the initial network: one epoch of
    // SGD at rate lr must move every parameter by -lr times its gradient, on every path.
    let config = Config {
        points: 50,
        epochs: 1,
        ..Config::default()
    };
    let (points, net) = moons::setup(&config);
    let tape = Tape::new();
    let mut bound = net.bind(&tape);
    let xs: Vec<[f64; 2]> = points.iter().map(|p| p.0).collect();
    let labels: Vec<f64> = points.iter().map(|p| p.1).collect();
    let logits = bound.forward_batch(&xs).unwrap();
    let l = loss::binary_cross_entropy_with_logits(&logits, &labels)
        + loss::l2_penalty(bound.parameters(), moons::L2);
    let grads = bound.gradients(&l.backward());
    for (replay, threads) in [(false, 1), (true, 1), (true, 2)] {
        let outcome = train_moons(
            &Config {
                replay,
                threads,
                ..config.clone()
            },
            |_| {},
        )
        .expect("finite");
        assert!((outcome.losses[0] - l.value()).abs() < 1e-12);
        let before = net.parameters().values();
        let after = outcome.net.parameters().values();
        for (i, ((b, a), g)) in before.iter().zip(after).zip(&grads).enumerate() {
            let expected = b - config.lr * g;
            assert!(
                (a - expected).abs() < 1e-12,
                "parameter {i}: {a} after the step, expected {expected} (replay {replay}, threads {threads})"
            );
        }
    }
}

#[test]
fn a_learning_rate_far_too_large_stops_at_the_first_non_finite_step() {
    let config = Config {
        points: 10,
        epochs: 50,
        lr: 1e300,
        ..Config::default()
    };
    let mut seen = 0;
    let diverged = train_moons(&config, |_| seen += 1).unwrap_err();
    // The first step overflows the weights; the loss after it is NaN, and the run stops there.
    assert_eq!(
        diverged.error.to_string(),
        "step 1: the loss is NaN",
        "{diverged}"
    );
    assert_eq!(seen, 1);
    let origin = diverged
        .origin
        .expect("the tape of the loss shows where the NaN came from");
    assert!(origin.to_string().contains("is NaN"), "{origin}");
}

#[test]
fn flags_set_the_config_and_bad_values_name_the_flag() {
    assert_eq!(
        parse_args::<&str>(&[]),
        Ok(Command::Train(Config::default()))
    );
    let Ok(Command::Train(c)) = parse_args(&[
        "--points",
        "300",
        "--epochs=7",
        "--lr",
        "0.5",
        "--seed",
        "9",
        "--threads",
        "4",
        "--replay",
        "--plot",
        "m.svg",
    ]) else {
        panic!("flags refused");
    };
    assert_eq!(
        c,
        Config {
            points: 300,
            epochs: 7,
            lr: 0.5,
            seed: 9,
            threads: 4,
            replay: true,
            plot: Some("m.svg".to_string()),
        }
    );
    assert_eq!(parse_args(&["--help"]), Ok(Command::Help));
    let err = |args: &[&str]| parse_args(args).unwrap_err();
    assert_eq!(
        err(&["--threads", "0"]),
        "--threads needs a whole number of at least 1, got '0'"
    );
    assert_eq!(
        err(&["--points", "1"]),
        "--points needs a whole number of at least 2, got '1'"
    );
    assert_eq!(
        err(&["--lr", "-1"]),
        "--lr needs a positive number, got '-1'"
    );
    assert_eq!(
        err(&["--seed", "x"]),
        "--seed needs a whole number, got 'x'"
    );
    assert_eq!(err(&["--hidden", "4"]), "unknown flag '--hidden'");
    assert_eq!(err(&["--epochs"]), "--epochs needs a value");
    assert_eq!(
        err(&["--replay=yes"]),
        "--replay takes no value, got '--replay=yes'"
    );
}

#[test]
fn the_picture_draws_every_point_and_every_grid_cell() {
    let points = [([0.0, 0.0], 0.0), ([1.0, 0.5], 1.0), ([2.0, -0.5], 1.0)];
    let boundary = common::plot::Boundary {
        probability: |u: f64, _: f64| u / 2.0,
        points: &points,
        corners: common::plot::corners_around(&points, 0.5),
        resolution: 10,
        radius: 4,
    };
    let svg = common::plot::render("t", &[0.7, 0.3, 0.1], &boundary).expect("draws");
    assert!(svg.starts_with("<svg"), "{}", &svg[..svg.len().min(200)]);
    // Each point is a filled circle and an outline.
    assert_eq!(svg.matches("<circle").count(), 2 * points.len());
    // The cells, plus the background and the frames plotters draws.
    assert!(svg.matches("<rect").count() >= 100);
    // The cells' colors run from the pale blue of 0 to the pale red of 1.
    assert!(
        svg.contains("#96AAEB") || svg.contains("#96aaeb"),
        "no cell of probability 0"
    );
}
