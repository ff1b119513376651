//! Code shared by the XOR examples and `tests/train_xor.rs`: a small fully connected network
//! recorded on a tapegrad tape, its optimizers, command-line parsing and the SVG picture.
//!
//! Included with `#[path = "common/mod.rs"] mod common;` (from `tests/`: `"../examples/common/mod.rs"`);
//! not every includer uses every item.
#![allow(dead_code)]

pub mod svg;

use std::fmt;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tapegrad::{loss, Tape, Var};

/// The four XOR points and their labels.
pub const XOR_INPUTS: [[f64; 2]; 4] = [[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]];
/// `x0 XOR x1`.
pub const XOR_TARGETS: [f64; 4] = [0.0, 1.0, 1.0, 0.0];

/// The activation of the hidden layers (the output neuron is always a sigmoid).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Activation {
    Tanh,
    Sigmoid,
    Relu,
    LeakyRelu,
    Softplus,
}

impl Activation {
    pub const NAMES: &'static str = "tanh, sigmoid, relu, leaky-relu, softplus";

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "tanh" => Activation::Tanh,
            "sigmoid" => Activation::Sigmoid,
            "relu" => Activation::Relu,
            "leaky-relu" => Activation::LeakyRelu,
            "softplus" => Activation::Softplus,
            _ => return None,
        })
    }

    pub fn apply<'t>(self, x: Var<'t>) -> Var<'t> {
        match self {
            Activation::Tanh => x.tanh(),
            Activation::Sigmoid => x.sigmoid(),
            Activation::Relu => x.relu(),
            Activation::LeakyRelu => x.leaky_relu(0.01),
            Activation::Softplus => x.softplus(),
        }
    }
}

impl fmt::Display for Activation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Activation::Tanh => "tanh",
            Activation::Sigmoid => "sigmoid",
            Activation::Relu => "relu",
            Activation::LeakyRelu => "leaky-relu",
            Activation::Softplus => "softplus",
        })
    }
}

/// How the weights start. Biases always start at 0.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Init {
    /// Every weight 0.
    Zeros,
    /// Uniform on `[-a, a]`.
    Uniform(f64),
    /// Normal with mean 0 and this standard deviation.
    Normal(f64),
    /// Xavier/Glorot uniform: `[-a, a]` with `a = √(6 / (fan_in + fan_out))`.
    Xavier,
    /// He/Kaiming normal: standard deviation `√(2 / fan_in)`.
    He,
}

impl Init {
    pub const NAMES: &'static str = "zeros, uniform, normal, xavier, he";

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "zeros" => Init::Zeros,
            "uniform" => Init::Uniform(0.5),
            "normal" => Init::Normal(1.0),
            "xavier" => Init::Xavier,
            "he" => Init::He,
            _ => return None,
        })
    }

    pub fn sample(self, fan_in: usize, fan_out: usize, rng: &mut StdRng) -> f64 {
        match self {
            Init::Zeros => 0.0,
            Init::Uniform(a) => rng.gen_range(-a..=a),
            Init::Normal(std) => std * standard_normal(rng),
            Init::Xavier => {
                let a = (6.0 / (fan_in + fan_out) as f64).sqrt();
                rng.gen_range(-a..=a)
            }
            Init::He => (2.0 / fan_in as f64).sqrt() * standard_normal(rng),
        }
    }
}

impl fmt::Display for Init {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Init::Zeros => f.write_str("zeros"),
            Init::Uniform(a) => write!(f, "uniform(±{a})"),
            Init::Normal(s) => write!(f, "normal(σ={s})"),
            Init::Xavier => f.write_str("xavier"),
            Init::He => f.write_str("he"),
        }
    }
}

/// Box–Muller: one standard normal sample from two uniform ones.
fn standard_normal(rng: &mut StdRng) -> f64 {
    let u1: f64 = 1.0 - rng.gen::<f64>(); // in (0, 1], so ln is finite
    let u2: f64 = rng.gen();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// The optimizer that turns gradients into parameter updates.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Optimizer {
    /// `w -= lr · g`.
    Sgd,
    /// Heavy-ball momentum 0.9: `v = 0.9 v + g; w -= lr · v`.
    Momentum,
    /// Adam with β₁ = 0.9, β₂ = 0.999, ε = 1e-8.
    Adam,
}

impl Optimizer {
    pub const NAMES: &'static str = "sgd, momentum, adam";

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "sgd" => Optimizer::Sgd,
            "momentum" => Optimizer::Momentum,
            "adam" => Optimizer::Adam,
            _ => return None,
        })
    }
}

impl fmt::Display for Optimizer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Optimizer::Sgd => "sgd",
            Optimizer::Momentum => "momentum",
            Optimizer::Adam => "adam",
        })
    }
}

/// A fully connected network: `sizes[0]` inputs, hidden layers, one sigmoid output.
///
/// The parameters live in one flat vector, layer by layer and neuron by neuron: a neuron's
/// weights, then its bias. Each step records them on a tape as leaves.
#[derive(Debug, Clone)]
pub struct Mlp {
    pub sizes: Vec<usize>,
    pub hidden: Activation,
    pub params: Vec<f64>,
}

impl Mlp {
    pub fn new(sizes: &[usize], hidden: Activation, init: Init, rng: &mut StdRng) -> Self {
        let mut params = Vec::new();
        for pair in sizes.windows(2) {
            let (fan_in, fan_out) = (pair[0], pair[1]);
            for _ in 0..fan_out {
                params.extend((0..fan_in).map(|_| init.sample(fan_in, fan_out, rng)));
                params.push(0.0);
            }
        }
        Mlp {
            sizes: sizes.to_vec(),
            hidden,
            params,
        }
    }

    /// The network's output for one input, recorded on the tape of `params`, which are this
    /// network's parameters as Vars.
    pub fn forward<'t>(&self, params: &[Var<'t>], x: &[f64]) -> Var<'t> {
        let tape = params[0].tape();
        let layers = self.sizes.len() - 1;
        let mut offset = 0;
        let mut h: Vec<Var<'t>> = Vec::new();
        for (l, pair) in self.sizes.windows(2).enumerate() {
            let (fan_in, fan_out) = (pair[0], pair[1]);
            let mut next = Vec::with_capacity(fan_out);
            for _ in 0..fan_out {
                let w = &params[offset..offset + fan_in];
                let b = params[offset + fan_in];
                offset += fan_in + 1;
                let z = if l == 0 {
                    tape.dot(w, x) + b
                } else {
                    tape.dot(w, &h) + b
                };
                next.push(if l + 1 == layers {
                    z.sigmoid()
                } else {
                    self.hidden.apply(z)
                });
            }
            h = next;
        }
        h[0]
    }

    /// The output as a plain number (records on a scratch tape).
    pub fn predict(&self, x: &[f64]) -> f64 {
        let tape = Tape::new();
        let params = tape.vars(&self.params);
        self.forward(&params, x).value()
    }

    /// The weights of each neuron of hidden layer `layer` (from 0), bias last.
    pub fn neurons(&self, layer: usize) -> Vec<&[f64]> {
        let mut offset = 0;
        for pair in self.sizes.windows(2).take(layer) {
            offset += pair[1] * (pair[0] + 1);
        }
        let (fan_in, fan_out) = (self.sizes[layer], self.sizes[layer + 1]);
        (0..fan_out)
            .map(|j| &self.params[offset + j * (fan_in + 1)..offset + (j + 1) * (fan_in + 1)])
            .collect()
    }
}

/// Optimizer state for a flat parameter vector.
#[derive(Debug, Clone)]
pub struct Stepper {
    kind: Optimizer,
    lr: f64,
    m: Vec<f64>,
    v: Vec<f64>,
    t: i32,
}

impl Stepper {
    pub fn new(kind: Optimizer, lr: f64, n: usize) -> Self {
        Stepper {
            kind,
            lr,
            m: vec![0.0; n],
            v: vec![0.0; n],
            t: 0,
        }
    }

    pub fn step(&mut self, params: &mut [f64], grads: &[f64]) {
        self.t += 1;
        match self.kind {
            Optimizer::Sgd => {
                for (w, g) in params.iter_mut().zip(grads) {
                    *w -= self.lr * g;
                }
            }
            Optimizer::Momentum => {
                for ((w, g), m) in params.iter_mut().zip(grads).zip(&mut self.m) {
                    *m = 0.9 * *m + g;
                    *w -= self.lr * *m;
                }
            }
            Optimizer::Adam => {
                let (b1, b2) = (0.9f64, 0.999f64);
                let c1 = 1.0 - b1.powi(self.t);
                let c2 = 1.0 - b2.powi(self.t);
                for (((w, g), m), v) in params
                    .iter_mut()
                    .zip(grads)
                    .zip(&mut self.m)
                    .zip(&mut self.v)
                {
                    *m = b1 * *m + (1.0 - b1) * g;
                    *v = b2 * *v + (1.0 - b2) * g * g;
                    *w -= self.lr * (*m / c1) / ((*v / c2).sqrt() + 1e-8);
                }
            }
        }
    }
}

/// Everything a training run needs.
#[derive(Debug, Clone)]
pub struct Config {
    pub hidden: usize,
    pub layers: usize,
    pub activation: Activation,
    pub init: Init,
    pub lr: f64,
    pub optimizer: Optimizer,
    pub epochs: usize,
    pub target_loss: f64,
    pub seed: u64,
    pub print_every: usize,
    pub plot: Option<String>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            hidden: 8,
            layers: 1,
            activation: Activation::Tanh,
            init: Init::Xavier,
            lr: 0.05,
            optimizer: Optimizer::Adam,
            epochs: 5000,
            target_loss: 0.001,
            seed: 0,
            print_every: 100,
            plot: None,
        }
    }
}

impl Config {
    /// Layer sizes: 2 inputs, `layers` hidden layers of `hidden` neurons, 1 output.
    pub fn sizes(&self) -> Vec<usize> {
        let mut sizes = vec![2];
        sizes.extend(std::iter::repeat(self.hidden).take(self.layers));
        sizes.push(1);
        sizes
    }
}

/// What a training run ended with.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub net: Mlp,
    /// The loss before each epoch's update, then the final loss: `epochs + 1` entries.
    pub losses: Vec<f64>,
    /// Epochs run (fewer than the maximum when the target loss was reached).
    pub epochs: usize,
    pub predictions: [f64; 4],
}

impl Outcome {
    pub fn loss(&self) -> f64 {
        *self.losses.last().expect("at least the initial loss")
    }

    /// How many of the four points the network classifies right (output above 0.5 means 1).
    pub fn correct(&self) -> usize {
        self.predictions
            .iter()
            .zip(XOR_TARGETS)
            .filter(|(p, y)| (**p > 0.5) == (*y > 0.5))
            .count()
    }

    pub fn converged(&self, target_loss: f64) -> bool {
        self.loss() < target_loss
    }
}

/// Full-batch training on the four XOR points with mean squared error, stopping as soon as the
/// loss falls below `config.target_loss`. `on_epoch(epoch, loss)` sees the loss before each update.
pub fn train_xor(config: &Config, mut on_epoch: impl FnMut(usize, f64)) -> Outcome {
    let mut rng = StdRng::seed_from_u64(config.seed);
    let mut net = Mlp::new(&config.sizes(), config.activation, config.init, &mut rng);
    let mut stepper = Stepper::new(config.optimizer, config.lr, net.params.len());
    let mut tape = Tape::with_capacity(512);
    let mut losses = Vec::new();
    let mut grads = vec![0.0; net.params.len()];
    let mut epochs = 0;
    loop {
        tape.clear();
        let params = tape.vars(&net.params);
        let outputs: Vec<Var> = XOR_INPUTS.iter().map(|x| net.forward(&params, x)).collect();
        let l = loss::mse(&outputs, &XOR_TARGETS);
        let value = l.value();
        losses.push(value);
        if value < config.target_loss || epochs == config.epochs || !value.is_finite() {
            break;
        }
        on_epoch(epochs, value);
        let g = l.backward();
        for (slot, p) in grads.iter_mut().zip(&params) {
            *slot = g[*p];
        }
        stepper.step(&mut net.params, &grads);
        epochs += 1;
    }
    let predictions = XOR_INPUTS.map(|x| net.predict(&x));
    Outcome {
        net,
        losses,
        epochs,
        predictions,
    }
}

/// What the command line asked for.
#[derive(Debug, Clone)]
pub enum Command {
    Help,
    Train(Config),
}

/// The `--help` text, with the defaults.
pub fn usage(program: &str) -> String {
    let d = Config::default();
    format!(
        "usage: {program} [FLAGS]

Trains a small network on the four XOR points and prints the truth table.
The last line is machine-readable: accuracy C/4 loss L epochs E

flags (default in brackets):
  --hidden N          neurons per hidden layer [{hidden}]
  --layers N          hidden layers [{layers}]
  --activation NAME   hidden activation: {acts} [{act}]
  --init NAME         weight initializer: {inits} [{init}]
  --lr X              learning rate, > 0 [{lr}]
  --optimizer NAME    {opts} [{opt}]
  --epochs N          most epochs to train [{epochs}]
  --target-loss X     stop once the mean squared error is below X [{target}]
  --seed N            random seed of the initial weights [{seed}]
  --print-every N     print the loss every N epochs, 0 for never [{every}]
  --plot FILE.svg     write the loss curve and the decision boundary as SVG
  --help              print this and exit",
        hidden = d.hidden,
        layers = d.layers,
        acts = Activation::NAMES,
        act = d.activation,
        inits = Init::NAMES,
        init = "xavier",
        lr = d.lr,
        opts = Optimizer::NAMES,
        opt = d.optimizer,
        epochs = d.epochs,
        target = d.target_loss,
        seed = d.seed,
        every = d.print_every,
    )
}

fn parse_number<N: std::str::FromStr>(flag: &str, value: &str, what: &str) -> Result<N, String> {
    value
        .parse()
        .map_err(|_| format!("{flag} needs {what}, got '{value}'"))
}

fn parse_positive(flag: &str, value: &str) -> Result<f64, String> {
    let x: f64 = parse_number(flag, value, "a positive number")?;
    if x > 0.0 && x.is_finite() {
        Ok(x)
    } else {
        Err(format!("{flag} needs a positive number, got '{value}'"))
    }
}

fn parse_count(flag: &str, value: &str, min: usize) -> Result<usize, String> {
    let n: usize = parse_number(flag, value, "a whole number")?;
    if n >= min {
        Ok(n)
    } else {
        Err(format!(
            "{flag} needs a whole number of at least {min}, got '{value}'"
        ))
    }
}

/// Parses the flags after the program name. `Err` holds a one-line message naming the culprit.
pub fn parse_args<S: AsRef<str>>(args: &[S]) -> Result<Command, String> {
    let mut config = Config::default();
    let mut i = 0;
    while i < args.len() {
        let arg = args[i].as_ref();
        i += 1;
        if arg == "--help" || arg == "-h" {
            return Ok(Command::Help);
        }
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f, Some(v.to_string())),
            _ => (arg, None),
        };
        if !flag.starts_with("--") {
            return Err(format!("unexpected argument '{arg}'; flags start with --"));
        }
        const FLAGS: [&str; 11] = [
            "--hidden",
            "--layers",
            "--activation",
            "--init",
            "--lr",
            "--optimizer",
            "--epochs",
            "--target-loss",
            "--seed",
            "--print-every",
            "--plot",
        ];
        if !FLAGS.contains(&flag) {
            return Err(format!("unknown flag '{flag}'"));
        }
        let value = match inline {
            Some(v) => v,
            None if i < args.len() => {
                i += 1;
                args[i - 1].as_ref().to_string()
            }
            None => return Err(format!("{flag} needs a value")),
        };
        let v = value.as_str();
        match flag {
            "--hidden" => config.hidden = parse_count(flag, v, 1)?,
            "--layers" => config.layers = parse_count(flag, v, 1)?,
            "--activation" => {
                config.activation = Activation::parse(v).ok_or_else(|| {
                    format!("--activation needs one of {}, got '{v}'", Activation::NAMES)
                })?
            }
            "--init" => {
                config.init = Init::parse(v)
                    .ok_or_else(|| format!("--init needs one of {}, got '{v}'", Init::NAMES))?
            }
            "--lr" => config.lr = parse_positive(flag, v)?,
            "--optimizer" => {
                config.optimizer = Optimizer::parse(v).ok_or_else(|| {
                    format!("--optimizer needs one of {}, got '{v}'", Optimizer::NAMES)
                })?
            }
            "--epochs" => config.epochs = parse_count(flag, v, 0)?,
            "--target-loss" => config.target_loss = parse_positive(flag, v)?,
            "--seed" => config.seed = parse_number(flag, v, "a whole number")?,
            "--print-every" => config.print_every = parse_count(flag, v, 0)?,
            "--plot" => {
                if v.is_empty() {
                    return Err("--plot needs a file name".to_string());
                }
                config.plot = Some(value.clone())
            }
            _ => unreachable!("every flag in FLAGS has an arm"),
        }
    }
    Ok(Command::Train(config))
}
