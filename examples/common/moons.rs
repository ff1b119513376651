//! The two-moons example's data, training and command line, shared with `tests/moons.rs`.
//!
//! micrograd's demo: two interleaving half circles with Gaussian noise, a 2-16-16-1 ReLU
//! network with a linear output (a logit), full-batch SGD whose learning rate falls linearly to a
//! tenth of its start, and an L2 penalty on every parameter.
//!
//! The loss is binary cross-entropy on the logit
//! ([`loss::binary_cross_entropy_with_logits_var`]) rather than micrograd's hinge loss, because
//! the per-point loss is compiled once and replayed over every point ([`Batch`]) with the label
//! among the point's data leaves: `loss::hinge` takes its labels as plain numbers, which a
//! compiled tape would keep at the recorded point's label.

use std::fmt;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tapegrad::batch::{self, Batch};
use tapegrad::init::Init;
use tapegrad::nn::{Activation, Input, Mlp};
use tapegrad::optim::{Optimizer, Schedule, Sgd};
use tapegrad::{Tape, Var, loss};

use super::{Diverged, parse_count, parse_file, parse_number, parse_positive, scan_flags};

/// Layer sizes: two inputs, two hidden layers of 16, one logit.
pub const SIZES: [usize; 4] = [2, 16, 16, 1];
/// The standard deviation of the Gaussian noise on each coordinate, as in micrograd's demo.
pub const NOISE: f64 = 0.1;
/// The weight of the L2 penalty `λ Σ p²` on every parameter.
pub const L2: f64 = 1e-4;

/// Everything a run needs.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub points: usize,
    pub epochs: usize,
    /// The first epoch's learning rate; it falls linearly to a tenth of it at the last epoch.
    pub lr: f64,
    /// Seeds the data, then the initial weights.
    pub seed: u64,
    pub threads: usize,
    /// Compile the per-point loss once and replay it over the points ([`Batch`]) instead of
    /// recording every point each epoch ([`batch::gradient_recorded`]).
    pub replay: bool,
    pub plot: Option<String>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            points: 100,
            epochs: 100,
            lr: 2.0,
            seed: 0,
            threads: 1,
            replay: false,
            plot: None,
        }
    }
}

/// `n` points on two interleaving half circles, like scikit-learn's `make_moons`: the upper moon
/// (label 0) is the unit half circle, the lower one (label 1) the same shifted by `(1, -0.5)` and
/// turned over; each coordinate gets Gaussian noise of standard deviation `noise`. The upper moon
/// has `n / 2` points, the lower one the rest, in that order.
pub fn make_moons(n: usize, noise: f64, rng: &mut impl Rng) -> Vec<([f64; 2], f64)> {
    let upper = n / 2;
    let lower = n - upper;
    // `count` angles evenly from 0 to π, both ends included.
    let angle = |i: usize, count: usize| {
        if count > 1 {
            std::f64::consts::PI * i as f64 / (count - 1) as f64
        } else {
            0.0
        }
    };
    let mut points = Vec::with_capacity(n);
    for i in 0..upper {
        let t = angle(i, upper);
        points.push(([t.cos(), t.sin()], 0.0));
    }
    for i in 0..lower {
        let t = angle(i, lower);
        points.push(([1.0 - t.cos(), 0.5 - t.sin()], 1.0));
    }
    for (x, _) in &mut points {
        let (a, b) = standard_normal_pair(rng);
        x[0] += noise * a;
        x[1] += noise * b;
    }
    points
}

/// Two independent standard normal numbers (Box–Muller).
fn standard_normal_pair(rng: &mut impl Rng) -> (f64, f64) {
    // `1 - u` for `u` in [0, 1) lies in (0, 1]: its logarithm is finite.
    let r = (-2.0 * (1.0 - rng.r#gen::<f64>()).ln()).sqrt();
    let theta = 2.0 * std::f64::consts::PI * rng.r#gen::<f64>();
    (r * theta.cos(), r * theta.sin())
}

/// The data set and the untrained network of `config`'s seed.
pub fn setup(config: &Config) -> (Vec<([f64; 2], f64)>, Mlp) {
    let mut rng = StdRng::seed_from_u64(config.seed);
    let points = make_moons(config.points, NOISE, &mut rng);
    let activations = [Activation::Relu, Activation::Relu, Activation::Identity];
    let net = Mlp::new(&SIZES, &activations, &Init::he_normal(), &mut rng)
        .expect("invariant: the sizes and activations above fit together");
    (points, net)
}

/// The network's logit at `x`, computed layer by layer from the parameter leaves `params` (in
/// the store's order) so that any tape's leaves can stand for the parameters.
fn logit<'t, X: Input<'t> + ?Sized>(net: &Mlp, params: &[Var<'t>], x: &X) -> Var<'t> {
    let layers = net.layers();
    let (first, rest) = layers.split_first().expect("invariant: an Mlp has a layer");
    let mut at = first.parameter_count();
    let mut acts = first
        .forward(&params[..at], x)
        .expect("invariant: a point has the network's 2 inputs");
    for layer in rest {
        let count = layer.parameter_count();
        acts = layer
            .forward(&params[at..at + count], &acts[..])
            .expect("invariant: each layer takes the previous layer's outputs");
        at += count;
    }
    acts[0]
}

/// One point's term of the data loss: binary cross-entropy of the logit at `x` against `label`
/// (0 or 1). The batch's data loss is the mean of these terms.
fn point_loss<'t, X: Input<'t> + ?Sized>(
    net: &Mlp,
    params: &[Var<'t>],
    x: &X,
    label: Var<'t>,
) -> Var<'t> {
    loss::binary_cross_entropy_with_logits_var(&[logit(net, params, x)], &[label])
}

/// The gradient of the summed data loss over a batch of points, on one or more threads: the
/// same bits whatever the number of threads.
enum Engine {
    /// The per-point loss compiled once, `(x0, x1, label)` as its data leaves, replayed.
    Replay { batch: Batch, data: Vec<f64> },
    /// Every point recorded afresh each epoch.
    Record { threads: usize },
}

impl Engine {
    fn new(config: &Config, net: &Mlp, points: &[([f64; 2], f64)]) -> Self {
        if !config.replay {
            return Engine::Record {
                threads: config.threads,
            };
        }
        let tape = Tape::new();
        let params = tape.vars(net.parameters().values());
        let point = tape.vars(&[0.0, 0.0, 0.0]);
        let term = point_loss(net, &params, &point[..2], point[2]);
        let compiled = tape
            .compile_with_data(&params, &point, &[term])
            .expect("invariant: the leaves are given once each and the loss replays");
        let batch = Batch::new(compiled, config.threads)
            .expect("invariant: the flags guarantee at least one thread");
        let data = points.iter().flat_map(|&([a, b], y)| [a, b, y]).collect();
        Engine::Replay { batch, data }
    }

    /// The summed data loss at `net`'s parameters and its gradient, into `grads`.
    fn gradient(&mut self, net: &Mlp, points: &[([f64; 2], f64)], grads: &mut Vec<f64>) -> f64 {
        let values = net.parameters().values();
        match self {
            Engine::Replay { batch, data } => {
                let (sum, g) = batch
                    .gradient(values, data)
                    .expect("invariant: whole points and every parameter are passed");
                grads.clear();
                grads.extend_from_slice(g);
                sum
            }
            Engine::Record { threads } => {
                let (sum, g) =
                    batch::gradient_recorded(values, points, *threads, |tape, params, p| {
                        point_loss(net, params, &p.0, tape.constant(p.1))
                    })
                    .expect("invariant: the flags guarantee at least one thread");
                *grads = g;
                sum
            }
        }
    }
}

/// One epoch as it is reported: the loss and accuracy before its update.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Epoch {
    pub epoch: usize,
    /// The mean cross-entropy plus the L2 penalty.
    pub loss: f64,
    /// Points on the right side of the decision boundary (logit above 0 means label 1).
    pub correct: usize,
}

/// What a run ended with.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub net: Mlp,
    pub points: Vec<([f64; 2], f64)>,
    /// The loss before each epoch's update, then the final loss: `epochs + 1` entries.
    pub losses: Vec<f64>,
    pub epochs: usize,
    /// Points classified right at the end.
    pub correct: usize,
}

impl Outcome {
    pub fn loss(&self) -> f64 {
        *self
            .losses
            .last()
            .expect("invariant: at least the initial loss")
    }
}

/// How many of `points` `net` classifies right (logit above 0 means label 1).
pub fn correct(net: &Mlp, points: &[([f64; 2], f64)]) -> usize {
    let xs: Vec<[f64; 2]> = points.iter().map(|p| p.0).collect();
    net.predict_batch(&xs)
        .expect("invariant: the points have the network's 2 inputs and are finite")
        .iter()
        .zip(points)
        .filter(|(out, p)| (out[0] > 0.0) == (p.1 > 0.5))
        .count()
}

/// The probability of label 1 that `net` gives at `x`, for pictures.
pub fn probability(net: &Mlp, x: [f64; 2]) -> f64 {
    let z = net
        .predict(&x)
        .expect("invariant: 2 finite inputs, and training stops at a loss that is not finite")[0];
    1.0 / (1.0 + (-z).exp())
}

/// `λ Σ p²` over the parameters `values`, and its gradient `2 λ p` added to `grads`.
fn add_l2(values: &[f64], grads: &mut [f64]) -> f64 {
    let mut penalty = 0.0;
    for (g, &p) in grads.iter_mut().zip(values) {
        penalty += p * p;
        *g += 2.0 * L2 * p;
    }
    L2 * penalty
}

/// The whole loss recorded on `tape`, to find where a NaN or an infinity came from.
fn recorded_loss<'t>(tape: &'t Tape, net: &Mlp, points: &[([f64; 2], f64)]) -> Var<'t> {
    let params = tape.vars(net.parameters().values());
    let terms: Vec<Var> = points
        .iter()
        .map(|p| point_loss(net, &params, &p.0, tape.constant(p.1)))
        .collect();
    tape.sum(&terms) / points.len() as f64 + loss::l2_penalty(&params, L2)
}

/// Full-batch training on the moons of `config`. `on_epoch` sees each epoch's loss and accuracy
/// before its update, and once more after the last update.
///
/// Every step is checked: a loss, a gradient or an update that is NaN or infinite stops the run
/// with a [`Diverged`] naming the step and, when the tape shows one, the node it came from.
pub fn train_moons(config: &Config, mut on_epoch: impl FnMut(Epoch)) -> Result<Outcome, Diverged> {
    let (points, mut net) = setup(config);
    let n = points.len() as f64;
    let schedule = Schedule::linear(config.lr, config.lr / 10.0, config.epochs.max(1))
        .expect("invariant: the flags guarantee a positive learning rate");
    let mut optimizer = Sgd::with_schedule(schedule);
    let mut engine = Engine::new(config, &net, &points);
    let mut grads = Vec::new();
    let mut losses = Vec::with_capacity(config.epochs + 1);
    let stop = |net: &Mlp, error| {
        let tape = Tape::new();
        let origin = recorded_loss(&tape, net, &points)
            .backward_checked()
            .err()
            .map(Box::new);
        Diverged { error, origin }
    };
    for epoch in 0..=config.epochs {
        let sum = engine.gradient(&net, &points, &mut grads);
        for g in &mut grads {
            *g /= n;
        }
        let value = sum / n + add_l2(net.parameters().values(), &mut grads);
        losses.push(value);
        if let Err(e) = optimizer.check_loss(value) {
            return Err(stop(&net, e));
        }
        on_epoch(Epoch {
            epoch,
            loss: value,
            correct: correct(&net, &points),
        });
        if epoch == config.epochs {
            break;
        }
        if let Err(e) = optimizer.step_checked(net.parameters_mut(), &grads) {
            return Err(stop(&net, e));
        }
    }
    let correct = correct(&net, &points);
    Ok(Outcome {
        net,
        points,
        losses,
        epochs: config.epochs,
        correct,
    })
}

/// What the command line asked for.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    Help,
    Train(Config),
}

impl fmt::Display for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} moons points (noise {NOISE}), network {} (relu, linear output), cross-entropy \
             + {L2:e}·Σp², sgd at learning rate {:?} falling to {:?}, {} epochs, seed {}, {} \
             thread{}, {}",
            self.points,
            SIZES.map(|s| s.to_string()).join("-"),
            self.lr,
            self.lr / 10.0,
            self.epochs,
            self.seed,
            self.threads,
            if self.threads == 1 { "" } else { "s" },
            if self.replay { "replayed" } else { "recorded" },
        )
    }
}

/// The `--help` text, with the defaults.
pub fn usage(program: &str) -> String {
    let d = Config::default();
    format!(
        "usage: {program} [FLAGS]

Trains a 2-16-16-1 network on two interleaving half circles (micrograd's demo) and prints
the loss and the accuracy every epoch.
The last line is machine-readable: accuracy C/N loss L epochs E

flags (default in brackets):
  --points N          data points, at least 2 [{points}]
  --epochs N          epochs of full-batch training [{epochs}]
  --lr X              first learning rate, > 0; it falls linearly to X/10 [{lr}]
  --seed N            random seed of the data and the initial weights [{seed}]
  --threads N         threads computing the batch gradient, at least 1 [{threads}]
  --replay            compile the per-point loss once and replay it (same results on any
                      number of threads) instead of recording every point each epoch
  --plot FILE.svg     write the loss curve and the decision boundary as SVG
  --help              print this and exit",
        points = d.points,
        epochs = d.epochs,
        lr = d.lr,
        seed = d.seed,
        threads = d.threads,
    )
}

/// Parses the flags after the program name. `Err` holds a one-line message naming the culprit.
pub fn parse_args<S: AsRef<str>>(args: &[S]) -> Result<Command, String> {
    const FLAGS: [&str; 6] = [
        "--points",
        "--epochs",
        "--lr",
        "--seed",
        "--threads",
        "--plot",
    ];
    let mut config = Config::default();
    let help = scan_flags(args, &["--replay"], &FLAGS, |flag, v| {
        match flag {
            "--replay" => config.replay = true,
            "--points" => config.points = parse_count(flag, v, 2)?,
            "--epochs" => config.epochs = parse_count(flag, v, 0)?,
            "--lr" => config.lr = parse_positive(flag, v)?,
            "--seed" => config.seed = parse_number(flag, v, "a whole number")?,
            "--threads" => config.threads = parse_count(flag, v, 1)?,
            "--plot" => config.plot = Some(parse_file(flag, v)?),
            _ => unreachable!("every flag scan_flags accepts has an arm"),
        }
        Ok(())
    })?;
    Ok(if help {
        Command::Help
    } else {
        Command::Train(config)
    })
}
