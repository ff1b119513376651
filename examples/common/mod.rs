//! Code shared by the XOR examples and `tests/train_xor.rs`: the training loop on
//! [`tapegrad::nn::Mlp`], the choices the command line offers and flag parsing; the two-moons
//! example's training ([`moons`], shared with `tests/moons.rs`) and the pictures of both
//! ([`plot`]).
//!
//! Included with `#[path = "common/mod.rs"] mod common;` (from `tests/`: `"../examples/common/mod.rs"`);
//! not every includer uses every item.
#![allow(dead_code)]

pub mod moons;
pub mod plot;

use std::fmt;

use rand::SeedableRng;
use rand::rngs::StdRng;
use tapegrad::init::Init;
use tapegrad::nn::{Activation, Mlp};
use tapegrad::optim::{Adam, Optimizer, Sgd};
use tapegrad::{Tape, Var, loss};

/// The four XOR points and their labels.
pub const XOR_INPUTS: [[f64; 2]; 4] = [[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]];
/// `x0 XOR x1`.
pub const XOR_TARGETS: [f64; 4] = [0.0, 1.0, 1.0, 0.0];

/// The hidden activations the command line offers (the output neuron is always a sigmoid).
pub const ACTIVATIONS: &str = "tanh, sigmoid, relu, leaky-relu, softplus";

pub fn parse_activation(s: &str) -> Option<Activation> {
    Some(match s {
        "tanh" => Activation::Tanh,
        "sigmoid" => Activation::Sigmoid,
        "relu" => Activation::Relu,
        "leaky-relu" => Activation::LeakyRelu(0.01),
        "softplus" => Activation::Softplus,
        _ => return None,
    })
}

/// How the weights start (biases always start at 0), by the name the command line uses.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum InitChoice {
    /// Every weight 0.
    Zeros,
    /// Every weight 0.5: not zero, but just as symmetric.
    Constant,
    /// Uniform on `[-0.5, 0.5]`.
    Uniform,
    /// Normal with mean 0 and standard deviation 1.
    Normal,
    /// Xavier/Glorot uniform: `[-r, r]` with `r = √(6 / (fan_in + fan_out))`.
    Xavier,
    /// He/Kaiming normal: standard deviation `√(2 / fan_in)`.
    He,
}

impl InitChoice {
    pub const NAMES: &'static str = "zeros, constant, uniform, normal, xavier, he";
    pub const ALL: [InitChoice; 6] = [
        InitChoice::Zeros,
        InitChoice::Constant,
        InitChoice::Uniform,
        InitChoice::Normal,
        InitChoice::Xavier,
        InitChoice::He,
    ];

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.name() == s)
    }

    pub fn name(self) -> &'static str {
        match self {
            InitChoice::Zeros => "zeros",
            InitChoice::Constant => "constant",
            InitChoice::Uniform => "uniform",
            InitChoice::Normal => "normal",
            InitChoice::Xavier => "xavier",
            InitChoice::He => "he",
        }
    }

    /// What the name stands for, for printing.
    pub fn describe(self) -> &'static str {
        match self {
            InitChoice::Zeros => "all 0",
            InitChoice::Constant => "all 0.5",
            InitChoice::Uniform => "U(-0.5, 0.5)",
            InitChoice::Normal => "N(0, 1)",
            InitChoice::Xavier => "U(-r, r), r = sqrt(6 / (fan_in + fan_out))",
            InitChoice::He => "N(0, 2 / fan_in)",
        }
    }

    pub fn init(self) -> Init {
        match self {
            InitChoice::Zeros => Init::zeros(),
            InitChoice::Constant => Init::constant(0.5).expect("invariant: 0.5 is finite"),
            InitChoice::Uniform => Init::uniform(-0.5, 0.5).expect("invariant: -0.5 < 0.5"),
            InitChoice::Normal => Init::normal(0.0, 1.0).expect("invariant: std 1 is valid"),
            InitChoice::Xavier => Init::xavier_uniform(),
            InitChoice::He => Init::he_normal(),
        }
    }
}

impl fmt::Display for InitChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The optimizer, by the name the command line uses.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum OptimizerChoice {
    /// Plain gradient descent: `w -= lr · g`.
    Sgd,
    /// SGD with heavy-ball momentum 0.9.
    Momentum,
    /// SGD with Nesterov momentum 0.9.
    Nesterov,
    /// Adam with β₁ = 0.9, β₂ = 0.999, ε = 1e-8.
    Adam,
}

impl OptimizerChoice {
    pub const NAMES: &'static str = "sgd, momentum, nesterov, adam";

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "sgd" => OptimizerChoice::Sgd,
            "momentum" => OptimizerChoice::Momentum,
            "nesterov" => OptimizerChoice::Nesterov,
            "adam" => OptimizerChoice::Adam,
            _ => return None,
        })
    }

    /// The optimizer at learning rate `lr`, which the caller has checked to be positive.
    pub fn build(self, lr: f64) -> Result<Box<dyn Optimizer>, tapegrad::Error> {
        Ok(match self {
            OptimizerChoice::Sgd => Box::new(Sgd::new(lr)?),
            OptimizerChoice::Momentum => Box::new(Sgd::new(lr)?.momentum(0.9)?),
            OptimizerChoice::Nesterov => Box::new(Sgd::new(lr)?.nesterov(0.9)?),
            OptimizerChoice::Adam => Box::new(Adam::new(lr)?),
        })
    }
}

impl fmt::Display for OptimizerChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            OptimizerChoice::Sgd => "sgd",
            OptimizerChoice::Momentum => "momentum",
            OptimizerChoice::Nesterov => "nesterov",
            OptimizerChoice::Adam => "adam",
        })
    }
}

/// Everything a training run needs.
#[derive(Debug, Clone)]
pub struct Config {
    pub hidden: usize,
    pub layers: usize,
    pub activation: Activation,
    pub init: InitChoice,
    pub lr: f64,
    pub optimizer: OptimizerChoice,
    pub epochs: usize,
    pub target_loss: f64,
    pub seed: u64,
    pub print_every: usize,
    pub plot: Option<String>,
    /// Record the loss once and replay it every epoch (`tapegrad::replay`) instead of recording
    /// each epoch afresh; the results are identical, bit for bit.
    pub replay: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            hidden: 8,
            layers: 1,
            activation: Activation::Tanh,
            init: InitChoice::Xavier,
            lr: 0.05,
            optimizer: OptimizerChoice::Adam,
            epochs: 5000,
            target_loss: 0.001,
            seed: 0,
            print_every: 10,
            plot: None,
            replay: false,
        }
    }
}

impl Config {
    /// Layer sizes: 2 inputs, `layers` hidden layers of `hidden` neurons, 1 output.
    pub fn sizes(&self) -> Vec<usize> {
        let mut sizes = vec![2];
        sizes.extend(vec![self.hidden; self.layers]);
        sizes.push(1);
        sizes
    }

    /// One activation per layer: the hidden one, then a sigmoid output.
    pub fn activations(&self) -> Vec<Activation> {
        let mut acts = vec![self.activation; self.layers];
        acts.push(Activation::Sigmoid);
        acts
    }

    /// A fresh network with this configuration's sizes, activations, initializer and seed.
    pub fn network(&self) -> Mlp {
        let mut rng = StdRng::seed_from_u64(self.seed);
        Mlp::new(
            &self.sizes(),
            &self.activations(),
            &self.init.init(),
            &mut rng,
        )
        .expect("invariant: the flags guarantee at least one hidden neuron and layer")
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

/// The network's single output for one input.
pub fn output(net: &Mlp, x: &[f64]) -> f64 {
    net.predict(x).expect(
        "invariant: the network takes the 2 finite inputs given, and training stops at a loss \
         that is not finite",
    )[0]
}

/// The weights (then the bias) of each neuron of layer `layer`, counted from 0 at the first
/// hidden layer, in the parameter store's neuron-by-neuron order.
pub fn neuron_params(net: &Mlp, layer: usize) -> Vec<&[f64]> {
    let sizes = net.sizes();
    let offset: usize = sizes
        .windows(2)
        .take(layer)
        .map(|p| p[1] * (p[0] + 1))
        .sum();
    let width = sizes[layer] + 1;
    let values = &net.parameters().values()[offset..];
    (0..sizes[layer + 1])
        .map(|j| &values[j * width..(j + 1) * width])
        .collect()
}

/// A training run that stopped at a NaN or an infinity.
#[derive(Debug, Clone, PartialEq)]
pub struct Diverged {
    /// What the optimizer refused, naming the step: a loss, a gradient or an update that is not
    /// finite.
    pub error: tapegrad::Error,
    /// Where on that step's tape the first NaN or infinity appeared, when one did
    /// (`Var::backward_checked`); an update that overflows from finite gradients has none.
    pub origin: Option<Box<tapegrad::Error>>,
}

impl fmt::Display for Diverged {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "training diverged at {}", self.error)?;
        if let Some(origin) = &self.origin {
            write!(f, "\n  on the tape of the loss: {origin}")?;
        }
        Ok(())
    }
}

/// The mean squared error of `net` on the XOR points, recorded on `tape`.
fn xor_loss<'t>(tape: &'t Tape, net: &Mlp) -> Var<'t> {
    let mut bound = net.bind(tape);
    let outputs: [Var; 4] = XOR_INPUTS.map(|x| bound.forward(&x).expect("invariant: 2 inputs")[0]);
    loss::mse(&outputs, &XOR_TARGETS)
}

/// Stops a run at `error`, tracing the NaN or infinity on the tape of the loss at the current
/// parameters, which the refused step left as they were.
fn diverged(net: &Mlp, error: tapegrad::Error) -> Diverged {
    let tape = Tape::new();
    let origin = xor_loss(&tape, net).backward_checked().err().map(Box::new);
    Diverged { error, origin }
}

/// Full-batch training on the four XOR points with mean squared error, stopping as soon as the
/// loss falls below `config.target_loss`. `on_epoch(epoch, loss)` sees the loss before each
/// update.
///
/// Every step is checked: a loss, a gradient or an update that is NaN or infinite stops the
/// run with a [`Diverged`] naming the step, the parameter and the node of the tape it came
/// from.
pub fn train_xor(
    config: &Config,
    mut on_epoch: impl FnMut(usize, f64),
) -> Result<Outcome, Diverged> {
    let mut net = config.network();
    let mut optimizer = config
        .optimizer
        .build(config.lr)
        .expect("invariant: the flags guarantee a positive learning rate");
    let finished = |epochs: usize, loss: f64| loss < config.target_loss || epochs == config.epochs;
    let mut losses = Vec::new();
    let mut epochs = 0;
    if config.replay {
        // The same loss as the recording path below: `loss::mse` keeps its rule on the tape, so
        // the compiled tape runs it again, and both paths train bit for bit alike.
        let mut step = net
            .compile_loss(&[], |_, bound, _| {
                let outputs = XOR_INPUTS
                    .iter()
                    .map(|x| Ok(bound.forward(x)?[0]))
                    .collect::<Result<Vec<Var>, tapegrad::Error>>()?;
                Ok(loss::mse(&outputs, &XOR_TARGETS))
            })
            .expect("invariant: the XOR loss uses only operations that replay");
        loop {
            let r = step
                .run(net.parameters().values())
                .expect("invariant: the loss records no comparison, so every replay is valid");
            let value = r.value();
            losses.push(value);
            if let Err(e) = optimizer.check_loss(value) {
                return Err(diverged(&net, e));
            }
            if finished(epochs, value) {
                break;
            }
            on_epoch(epochs, value);
            if let Err(e) = optimizer.step_checked(net.parameters_mut(), r.grad()) {
                return Err(diverged(&net, e));
            }
            epochs += 1;
        }
    } else {
        let mut tape = Tape::new();
        let mut grads = Vec::new();
        loop {
            tape.clear();
            let mut bound = net.bind(&tape);
            let outputs: [Var; 4] =
                XOR_INPUTS.map(|x| bound.forward(&x).expect("invariant: 2 inputs")[0]);
            let l = loss::mse(&outputs, &XOR_TARGETS);
            let value = l.value();
            losses.push(value);
            if let Err(e) = optimizer.check_loss(value) {
                return Err(diverged(&net, e));
            }
            if finished(epochs, value) {
                break;
            }
            on_epoch(epochs, value);
            bound.gradients_into(&l.backward(), &mut grads);
            if let Err(e) = optimizer.step_checked(net.parameters_mut(), &grads) {
                return Err(diverged(&net, e));
            }
            epochs += 1;
        }
    }
    let predictions = XOR_INPUTS.map(|x| output(&net, &x));
    Ok(Outcome {
        net,
        losses,
        epochs,
        predictions,
    })
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
  --replay            record the loss once and replay it each epoch (same results)
  --help              print this and exit",
        hidden = d.hidden,
        layers = d.layers,
        acts = ACTIVATIONS,
        act = d.activation,
        inits = InitChoice::NAMES,
        init = d.init,
        lr = d.lr,
        opts = OptimizerChoice::NAMES,
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

/// Walks the flags after a program's name, handing each to `set`: a switch of `switches` with
/// no value, a flag of `valued` with its value (`--flag v` or `--flag=v`). `Ok(true)` when
/// `--help` came first; `Err` holds a one-line message naming the culprit, `set`'s included.
pub fn scan_flags<S: AsRef<str>>(
    args: &[S],
    switches: &[&str],
    valued: &[&str],
    mut set: impl FnMut(&str, &str) -> Result<(), String>,
) -> Result<bool, String> {
    let mut i = 0;
    while i < args.len() {
        let arg = args[i].as_ref();
        i += 1;
        if arg == "--help" || arg == "-h" {
            return Ok(true);
        }
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f, Some(v.to_string())),
            _ => (arg, None),
        };
        if !flag.starts_with("--") {
            return Err(format!("unexpected argument '{arg}'; flags start with --"));
        }
        if switches.contains(&flag) {
            if inline.is_some() {
                return Err(format!("{flag} takes no value, got '{arg}'"));
            }
            set(flag, "")?;
            continue;
        }
        if !valued.contains(&flag) {
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
        set(flag, &value)?;
    }
    Ok(false)
}

/// The file name given to `--plot`, not empty.
pub fn parse_file(flag: &str, value: &str) -> Result<String, String> {
    if value.is_empty() {
        return Err(format!("{flag} needs a file name"));
    }
    Ok(value.to_string())
}

/// Parses the flags after the program name. `Err` holds a one-line message naming the culprit.
pub fn parse_args<S: AsRef<str>>(args: &[S]) -> Result<Command, String> {
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
    let mut config = Config::default();
    let help = scan_flags(args, &["--replay"], &FLAGS, |flag, v| {
        match flag {
            "--replay" => config.replay = true,
            "--hidden" => config.hidden = parse_count(flag, v, 1)?,
            "--layers" => config.layers = parse_count(flag, v, 1)?,
            "--activation" => {
                config.activation = parse_activation(v).ok_or_else(|| {
                    format!("--activation needs one of {}, got '{v}'", ACTIVATIONS)
                })?
            }
            "--init" => {
                config.init = InitChoice::parse(v).ok_or_else(|| {
                    format!("--init needs one of {}, got '{v}'", InitChoice::NAMES)
                })?
            }
            "--lr" => config.lr = parse_positive(flag, v)?,
            "--optimizer" => {
                config.optimizer = OptimizerChoice::parse(v).ok_or_else(|| {
                    format!(
                        "--optimizer needs one of {}, got '{v}'",
                        OptimizerChoice::NAMES
                    )
                })?
            }
            "--epochs" => config.epochs = parse_count(flag, v, 0)?,
            "--target-loss" => config.target_loss = parse_positive(flag, v)?,
            "--seed" => config.seed = parse_number(flag, v, "a whole number")?,
            "--print-every" => config.print_every = parse_count(flag, v, 0)?,
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
