//! Neural networks on the tape: activations, neurons, layers, multi-layer perceptrons, and the
//! parameter store that keeps their weights between training steps.
//!
//! A training step clears one [`Tape`], binds the network to it (one leaf [`Var`] per
//! parameter), runs the forward pass and the loss, sweeps backward once, reads the parameters'
//! gradients into a reused buffer and lets an optimizer update the [`Params`]:
//!
//! ```
//! use rand::{rngs::StdRng, SeedableRng};
//! use tapegrad::init::Init;
//! use tapegrad::nn::{Activation, Mlp};
//! use tapegrad::optim::{Optimizer, Sgd};
//! use tapegrad::Tape;
//!
//! # fn main() -> Result<(), tapegrad::Error> {
//! // XOR.
//! let data = [([0.0, 0.0], 0.0), ([0.0, 1.0], 1.0), ([1.0, 0.0], 1.0), ([1.0, 1.0], 0.0)];
//! let mut rng = StdRng::seed_from_u64(1);
//! let mut mlp = Mlp::new(
//!     &[2, 4, 1],
//!     &[Activation::Tanh, Activation::Sigmoid],
//!     &Init::xavier_uniform(),
//!     &mut rng,
//! )?;
//! let mut opt = Sgd::new(0.5)?.momentum(0.9)?;
//!
//! let mut tape = Tape::new(); // one tape for the whole run, cleared every step
//! let mut grads = Vec::new(); // one gradient buffer, refilled every step
//! let mut loss_value = f64::INFINITY;
//! for _epoch in 0..300 {
//!     tape.clear();
//!     let mut net = mlp.bind(&tape); // a leaf per parameter; its buffers are recycled
//!     let mut loss = tape.constant(0.0);
//!     for (x, y) in &data {
//!         let out = net.forward(x)?[0];
//!         loss += (out - *y).powi(2);
//!     }
//!     loss_value = loss.value();
//!     opt.check_loss(loss_value)?; // stop at a NaN or infinite loss, naming the step
//!     net.gradients_into(&loss.backward(), &mut grads);
//!     opt.step_checked(mlp.parameters_mut(), &grads)?; // ... or gradient, naming the parameter
//! }
//! assert!(loss_value < 0.05, "loss {loss_value}");
//! assert!(mlp.predict(&[1.0, 0.0])?[0] > 0.8);
//! # Ok(()) }
//! ```
//!
//! Nothing in that loop allocates once the first step has sized the buffers: the tape keeps its
//! storage across [`Tape::clear`], a dropped [`BoundMlp`] hands its buffers to the next
//! [`Mlp::bind`] on the same thread, [`BoundMlp::forward`] writes each layer into those buffers,
//! and a neuron records a single [`Tape::dot`] node (plus the bias and the activation).
//!
//! Parameters are named `layer{l}.neuron{j}.w{i}` and `layer{l}.neuron{j}.b`, counted from 0,
//! and stored neuron by neuron: the weights of a neuron, then its bias. [`Mlp::save`] writes them
//! to a text file that [`Mlp::load`] reads back bit for bit.
//!
//! With the `serde` feature, [`Mlp`], [`Params`] and [`Activation`] serialize and deserialize
//! (an `Mlp` as its sizes, its activations by name and its parameters as a map from name to
//! value); reading checks what [`Mlp::from_text`] checks, and refuses a NaN or an infinity
//! naming the parameter. Written with `serde_json`, numbers read back to the bit only with its
//! `float_roundtrip` feature turned on.
//!
//! A batch: [`BoundMlp::forward_batch`] records every point's forward pass on the bound tape,
//! [`Mlp::predict_batch`] predicts without a tape of the caller's, and [`accuracy`] scores a
//! classifier's predictions.
//!
//! Parameters are finite numbers. What enters from outside is checked: [`Params::push`] and
//! [`Params::set`], loading ([`Mlp::from_text`] names the line and the text of a `NaN`, `inf` or
//! `1e400`), [`Mlp::predict`] (its inputs, and an output that overflowed), and the optimizers'
//! [`step_checked`](crate::optim::Optimizer::step_checked). Inside a forward pass on a tape, NaN
//! is a value as in `f64`; [`Var::backward_checked`] finds the first node that produced one.

use std::cell::RefCell;
use std::fmt;
use std::path::Path;
use std::sync::Arc;

use indexmap::IndexSet;
use rand::Rng;

use crate::init::Init;
use crate::{Error, Gradients, Tape, Var};

/// A neuron's non-linearity, applied to its weighted sum.
///
/// # Examples
///
/// ```
/// use tapegrad::{nn::Activation, Tape};
///
/// let tape = Tape::new();
/// let x = tape.var(-2.0);
/// assert_eq!(Activation::Relu.apply(x).value(), 0.0);
/// assert_eq!(Activation::LeakyRelu(0.1).apply(x).value(), -0.2);
/// assert_eq!(Activation::Identity.apply(x).value(), -2.0);
/// assert_eq!(Activation::Tanh.to_string(), "tanh");
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Activation {
    /// `x`: a linear neuron. Records no node.
    Identity,
    /// `1 / (1 + e^(-x))`, see [`Var::sigmoid`].
    Sigmoid,
    /// `tanh(x)`, see [`Var::tanh`].
    Tanh,
    /// `max(x, 0)`, see [`Var::relu`].
    Relu,
    /// `x` for `x > 0`, `slope * x` otherwise, see [`Var::leaky_relu`].
    LeakyRelu(f64),
    /// `ln(1 + e^x)`, see [`Var::softplus`].
    Softplus,
}

impl Activation {
    /// The activation of `x`: one node on `x`'s tape (none for [`Activation::Identity`]).
    ///
    /// # Examples
    ///
    /// ```
    /// use tapegrad::{nn::Activation, Tape};
    ///
    /// let tape = Tape::new();
    /// let x = tape.var(0.0);
    /// let y = Activation::Sigmoid.apply(x);
    /// assert_eq!(y.value(), 0.5);
    /// assert_eq!(y.backward()[x], 0.25);
    /// ```
    #[inline]
    pub fn apply(self, x: Var<'_>) -> Var<'_> {
        match self {
            Activation::Identity => x,
            Activation::Sigmoid => x.sigmoid(),
            Activation::Tanh => x.tanh(),
            Activation::Relu => x.relu(),
            Activation::LeakyRelu(slope) => x.leaky_relu(slope),
            Activation::Softplus => x.softplus(),
        }
    }

    fn check(self) -> Result<Self, Error> {
        match self {
            Activation::LeakyRelu(slope) if !slope.is_finite() => {
                Err(Error::InvalidHyperparameter {
                    name: "leaky relu slope",
                    expected: "a finite number",
                    value: slope,
                })
            }
            _ => Ok(self),
        }
    }
}

impl fmt::Display for Activation {
    /// The name used in parameter files: `identity`, `sigmoid`, `tanh`, `relu`,
    /// `leaky_relu(0.01)`, `softplus`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Activation::Identity => f.write_str("identity"),
            Activation::Sigmoid => f.write_str("sigmoid"),
            Activation::Tanh => f.write_str("tanh"),
            Activation::Relu => f.write_str("relu"),
            // `{:?}` prints the shortest text that reads back as the same f64.
            Activation::LeakyRelu(slope) => write!(f, "leaky_relu({slope:?})"),
            Activation::Softplus => f.write_str("softplus"),
        }
    }
}

impl std::str::FromStr for Activation {
    type Err = Error;

    /// Reads the names `Display` writes: `identity`, `sigmoid`, `tanh`, `relu`,
    /// `leaky_relu(<slope>)` with a finite slope, `softplus`.
    ///
    /// # Examples
    ///
    /// ```
    /// use tapegrad::nn::Activation;
    ///
    /// assert_eq!("leaky_relu(0.2)".parse(), Ok(Activation::LeakyRelu(0.2)));
    /// assert_eq!(
    ///     "leaky_relu(inf)".parse::<Activation>().unwrap_err().to_string(),
    ///     "unknown activation `leaky_relu(inf)`; expected identity, sigmoid, tanh, relu, \
    ///      leaky_relu(<finite slope>) or softplus"
    /// );
    /// ```
    fn from_str(s: &str) -> Result<Self, Error> {
        parse_activation(s).ok_or_else(|| Error::UnknownActivation { text: s.into() })
    }
}

/// Reads the names [`Activation`]'s `Display` writes.
fn parse_activation(s: &str) -> Option<Activation> {
    match s {
        "identity" => Some(Activation::Identity),
        "sigmoid" => Some(Activation::Sigmoid),
        "tanh" => Some(Activation::Tanh),
        "relu" => Some(Activation::Relu),
        "softplus" => Some(Activation::Softplus),
        _ => s
            .strip_prefix("leaky_relu(")
            .and_then(|rest| rest.strip_suffix(')'))
            .and_then(|slope| slope.parse::<f64>().ok())
            .filter(|slope| slope.is_finite())
            .map(Activation::LeakyRelu),
    }
}

/// What a network or layer reads: plain data (`&[f64]`, arrays and `Vec`s of `f64`) or Vars
/// (`&[Var]`, arrays and `Vec`s of Vars).
///
/// On plain data the weighted sum multiplies Var weights by numbers and records one partial per
/// weight; on Vars it also records the partial with respect to each input.
///
/// # Examples
///
/// ```
/// use tapegrad::nn::{Activation, Neuron};
/// use tapegrad::Tape;
///
/// # fn main() -> Result<(), tapegrad::Error> {
/// let tape = Tape::new();
/// let neuron = Neuron::new(2, Activation::Identity);
/// let p = tape.vars(&[3.0, 4.0, 0.0]);
/// let on_data = neuron.forward(&p, &[1.0, 2.0])?; // an array of f64
/// let x = tape.vars(&[1.0, 2.0]);
/// let on_vars = neuron.forward(&p, &x)?; // a Vec of Vars
/// assert_eq!(on_data.value(), on_vars.value());
/// let g = on_vars.backward();
/// assert_eq!(g.wrt_all(&x), vec![3.0, 4.0]);
/// # Ok(()) }
/// ```
pub trait Input<'t> {
    /// The number of inputs.
    fn input_len(&self) -> usize;

    /// `Σ wᵢ xᵢ` as one [`Tape::dot`] node.
    ///
    /// # Panics
    ///
    /// When `weights` and the inputs differ in length.
    fn weighted_sum(&self, tape: &'t Tape, weights: &[Var<'t>]) -> Var<'t>;
}

impl<'t> Input<'t> for [f64] {
    #[inline]
    fn input_len(&self) -> usize {
        self.len()
    }
    #[inline]
    fn weighted_sum(&self, tape: &'t Tape, weights: &[Var<'t>]) -> Var<'t> {
        tape.dot(weights, self)
    }
}

impl<'t> Input<'t> for [Var<'t>] {
    #[inline]
    fn input_len(&self) -> usize {
        self.len()
    }
    #[inline]
    fn weighted_sum(&self, tape: &'t Tape, weights: &[Var<'t>]) -> Var<'t> {
        tape.dot(weights, self)
    }
}

impl<'t, const N: usize> Input<'t> for [f64; N] {
    #[inline]
    fn input_len(&self) -> usize {
        N
    }
    #[inline]
    fn weighted_sum(&self, tape: &'t Tape, weights: &[Var<'t>]) -> Var<'t> {
        self.as_slice().weighted_sum(tape, weights)
    }
}

impl<'t, const N: usize> Input<'t> for [Var<'t>; N] {
    #[inline]
    fn input_len(&self) -> usize {
        N
    }
    #[inline]
    fn weighted_sum(&self, tape: &'t Tape, weights: &[Var<'t>]) -> Var<'t> {
        self.as_slice().weighted_sum(tape, weights)
    }
}

impl<'t> Input<'t> for Vec<f64> {
    #[inline]
    fn input_len(&self) -> usize {
        self.len()
    }
    #[inline]
    fn weighted_sum(&self, tape: &'t Tape, weights: &[Var<'t>]) -> Var<'t> {
        self.as_slice().weighted_sum(tape, weights)
    }
}

impl<'t> Input<'t> for Vec<Var<'t>> {
    #[inline]
    fn input_len(&self) -> usize {
        self.len()
    }
    #[inline]
    fn weighted_sum(&self, tape: &'t Tape, weights: &[Var<'t>]) -> Var<'t> {
        self.as_slice().weighted_sum(tape, weights)
    }
}

/// A reference reads what it refers to, so a batch can be a slice of slices (`&[&[f64]]`).
impl<'t, X: Input<'t> + ?Sized> Input<'t> for &X {
    #[inline]
    fn input_len(&self) -> usize {
        (**self).input_len()
    }
    #[inline]
    fn weighted_sum(&self, tape: &'t Tape, weights: &[Var<'t>]) -> Var<'t> {
        (**self).weighted_sum(tape, weights)
    }
}

/// One neuron: `activation(w · x + b)`, its weighted sum recorded as one [`Tape::dot`] node.
///
/// A neuron holds no numbers; its parameters are passed to [`forward`](Neuron::forward) as bound
/// Vars, the weights first and the bias last.
///
/// # Examples
///
/// ```
/// use tapegrad::nn::{Activation, Neuron};
/// use tapegrad::Tape;
///
/// # fn main() -> Result<(), tapegrad::Error> {
/// let tape = Tape::new();
/// let neuron = Neuron::new(2, Activation::Identity);
/// let p = tape.vars(&[0.5, -1.0, 0.25]); // w0, w1, b
/// let y = neuron.forward(&p, &[2.0, 3.0])?;
/// assert_eq!(y.value(), 0.5 * 2.0 - 3.0 + 0.25);
/// assert_eq!(y.backward().wrt_all(&p), vec![2.0, 3.0, 1.0]);
/// assert_eq!(tape.len(), 3 + 2); // the leaves, one dot node, one bias node
///
/// let err = neuron.forward(&p, &[1.0]).unwrap_err();
/// assert_eq!(err.to_string(), "network takes 2 inputs, got 1");
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Neuron {
    inputs: usize,
    activation: Activation,
}

impl Neuron {
    /// A neuron with `inputs` weights and a bias.
    pub fn new(inputs: usize, activation: Activation) -> Self {
        Neuron { inputs, activation }
    }

    /// The number of inputs.
    pub fn inputs(&self) -> usize {
        self.inputs
    }

    /// The activation.
    pub fn activation(&self) -> Activation {
        self.activation
    }

    /// `inputs + 1`: the weights and the bias.
    pub fn parameter_count(&self) -> usize {
        self.inputs + 1
    }

    /// `activation(w · x + b)` where `params` holds `w` then `b`.
    ///
    /// # Errors
    ///
    /// [`Error::InputSize`] when `x` does not hold [`inputs`](Neuron::inputs) values.
    ///
    /// # Panics
    ///
    /// When `params` does not hold `inputs + 1` Vars.
    pub fn forward<'t, X: Input<'t> + ?Sized>(
        &self,
        params: &[Var<'t>],
        x: &X,
    ) -> Result<Var<'t>, Error> {
        assert!(
            params.len() == self.parameter_count(),
            "Neuron::forward: got {} parameters for a neuron with {} inputs; pass its {} weights \
             then its bias",
            params.len(),
            self.inputs,
            self.inputs
        );
        check_inputs(self.inputs, x)?;
        Ok(neuron(params, x, self.activation))
    }
}

fn check_inputs<'t, X: Input<'t> + ?Sized>(expected: usize, x: &X) -> Result<(), Error> {
    let actual = x.input_len();
    if actual == expected {
        Ok(())
    } else {
        Err(Error::InputSize { expected, actual })
    }
}

/// `activation(w · x + b)` with `params = [w.., b]`; lengths already checked.
#[inline(always)]
fn neuron<'t, X: Input<'t> + ?Sized>(params: &[Var<'t>], x: &X, activation: Activation) -> Var<'t> {
    let (bias, weights) = params
        .split_last()
        .expect("invariant: a neuron has at least its bias");
    activation.apply(x.weighted_sum(bias.tape(), weights) + *bias)
}

/// A layer of neurons over the same inputs, all with the same activation.
///
/// Its parameters are those of its neurons in order: neuron 0's weights and bias, then neuron
/// 1's, and so on.
///
/// # Examples
///
/// ```
/// use tapegrad::nn::{Activation, Layer};
/// use tapegrad::Tape;
///
/// # fn main() -> Result<(), tapegrad::Error> {
/// let tape = Tape::new();
/// let layer = Layer::new(2, 3, Activation::Relu)?;
/// assert_eq!(layer.parameter_count(), 9);
/// let p = tape.vars(&[1.0, 0.0, 0.0, 0.0, 1.0, 0.0, -1.0, -1.0, 0.0]);
/// let y = layer.forward(&p, &[2.0, 3.0])?;
/// let values: Vec<f64> = y.iter().map(|v| v.value()).collect();
/// assert_eq!(values, vec![2.0, 3.0, 0.0]);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Layer {
    inputs: usize,
    neurons: usize,
    activation: Activation,
}

impl Layer {
    /// `neurons` neurons, each over `inputs` inputs.
    ///
    /// # Errors
    ///
    /// [`Error::BadArchitecture`] when `neurons` or `inputs` is 0;
    /// [`Error::InvalidHyperparameter`] for a leaky ReLU whose slope is not finite.
    ///
    /// # Examples
    ///
    /// ```
    /// use tapegrad::nn::{Activation, Layer};
    ///
    /// assert_eq!(
    ///     Layer::new(3, 0, Activation::Tanh).unwrap_err().to_string(),
    ///     "bad architecture: every layer needs at least one neuron and at least one input, \
    ///      got sizes [3, 0] and 1 activations"
    /// );
    /// ```
    pub fn new(inputs: usize, neurons: usize, activation: Activation) -> Result<Self, Error> {
        if inputs == 0 || neurons == 0 {
            return Err(Error::BadArchitecture {
                sizes: vec![inputs, neurons],
                activations: 1,
                reason: EMPTY_LAYER,
            });
        }
        Ok(Layer {
            inputs,
            neurons,
            activation: activation.check()?,
        })
    }

    /// The number of inputs of each neuron.
    pub fn inputs(&self) -> usize {
        self.inputs
    }

    /// The number of neurons, which is the number of outputs.
    pub fn neurons(&self) -> usize {
        self.neurons
    }

    /// The activation of every neuron.
    pub fn activation(&self) -> Activation {
        self.activation
    }

    /// `neurons * (inputs + 1)`.
    pub fn parameter_count(&self) -> usize {
        self.neurons * (self.inputs + 1)
    }

    /// The layer's outputs, one per neuron.
    ///
    /// # Errors
    ///
    /// [`Error::InputSize`] when `x` does not hold [`inputs`](Layer::inputs) values.
    ///
    /// # Panics
    ///
    /// When `params` does not hold [`parameter_count`](Layer::parameter_count) Vars.
    pub fn forward<'t, X: Input<'t> + ?Sized>(
        &self,
        params: &[Var<'t>],
        x: &X,
    ) -> Result<Vec<Var<'t>>, Error> {
        let mut out = Vec::with_capacity(self.neurons);
        self.forward_into(params, x, &mut out)?;
        Ok(out)
    }

    /// Like [`forward`](Layer::forward), appending the outputs to `out` instead of allocating.
    ///
    /// # Errors
    ///
    /// [`Error::InputSize`] when `x` does not hold [`inputs`](Layer::inputs) values; `out` is
    /// then unchanged.
    ///
    /// # Panics
    ///
    /// When `params` does not hold [`parameter_count`](Layer::parameter_count) Vars.
    pub fn forward_into<'t, X: Input<'t> + ?Sized>(
        &self,
        params: &[Var<'t>],
        x: &X,
        out: &mut Vec<Var<'t>>,
    ) -> Result<(), Error> {
        assert!(
            params.len() == self.parameter_count(),
            "Layer::forward: got {} parameters for a layer of {} neurons with {} inputs; pass \
             {} (each neuron's weights then its bias)",
            params.len(),
            self.neurons,
            self.inputs,
            self.parameter_count()
        );
        check_inputs(self.inputs, x)?;
        self.push_outputs(params, x, out);
        Ok(())
    }

    /// Appends the outputs; lengths already checked.
    #[inline]
    fn push_outputs<'t, X: Input<'t> + ?Sized>(
        &self,
        params: &[Var<'t>],
        x: &X,
        out: &mut Vec<Var<'t>>,
    ) {
        out.reserve(self.neurons);
        for p in params.chunks_exact(self.inputs + 1) {
            out.push(neuron(p, x, self.activation));
        }
    }
}

const EMPTY_LAYER: &str = "every layer needs at least one neuron and at least one input";

/// An ordered store of named parameters, kept outside any tape so it survives from one training
/// step to the next.
///
/// The order is the order of insertion and never changes; optimizers and
/// [`BoundMlp::gradients_into`] rely on it. [`bind`](Params::bind) records one leaf per
/// parameter, in that order.
///
/// # Examples
///
/// ```
/// use tapegrad::{nn::Params, Tape};
///
/// # fn main() -> Result<(), tapegrad::Error> {
/// let mut params = Params::new();
/// params.push("slope", 2.0)?;
/// params.push("offset", -1.0)?;
/// params.set("offset", 0.5)?;
/// assert_eq!(params.get("offset"), Some(0.5));
/// assert_eq!(params.values(), &[2.0, 0.5]);
///
/// let tape = Tape::new();
/// let p = params.bind(&tape);
/// let y = p[0] * 3.0 + p[1];
/// assert_eq!(y.backward().wrt_all(&p), vec![3.0, 1.0]);
/// assert_eq!(
///     params.set("bias", 1.0).unwrap_err().to_string(),
///     "no parameter is named \"bias\""
/// );
/// assert_eq!(
///     params.set("slope", f64::NAN).unwrap_err().to_string(),
///     "parameter \"slope\" must be a finite number, got NaN"
/// );
/// assert_eq!(params.get("slope"), Some(2.0));
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Default)]
pub struct Params {
    names: IndexSet<String>,
    values: Vec<f64>,
}

impl PartialEq for Params {
    /// Same names and values in the same order.
    fn eq(&self, other: &Self) -> bool {
        self.values == other.values && self.names.iter().eq(other.names.iter())
    }
}

impl Params {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends a parameter and returns its index.
    ///
    /// # Errors
    ///
    /// [`Error::NonFiniteParameter`] when `value` is NaN or infinite; the store is then
    /// unchanged.
    ///
    /// # Panics
    ///
    /// When a parameter already has this name.
    ///
    /// # Examples
    ///
    /// ```
    /// use tapegrad::nn::Params;
    ///
    /// # fn main() -> Result<(), tapegrad::Error> {
    /// let mut params = Params::new();
    /// assert_eq!(params.push("a", 1.0)?, 0);
    /// assert_eq!(
    ///     params.push("b", f64::INFINITY).unwrap_err().to_string(),
    ///     "parameter \"b\" must be a finite number, got inf"
    /// );
    /// assert_eq!(params.len(), 1);
    /// # Ok(()) }
    /// ```
    pub fn push(&mut self, name: impl Into<String>, value: f64) -> Result<usize, Error> {
        let name = name.into();
        if !value.is_finite() {
            return Err(Error::NonFiniteParameter { name, value });
        }
        let (index, fresh) = self.names.insert_full(name);
        assert!(
            fresh,
            "Params::push: a parameter is already named {:?}; give each parameter its own name",
            self.names[index]
        );
        self.values.push(value);
        Ok(index)
    }

    /// The number of parameters.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// `true` when the store holds no parameter.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// The value of the parameter called `name`.
    pub fn get(&self, name: &str) -> Option<f64> {
        self.index_of(name).map(|i| self.values[i])
    }

    /// Sets the parameter called `name`.
    ///
    /// # Errors
    ///
    /// [`Error::UnknownParameter`] when no parameter has this name;
    /// [`Error::NonFiniteParameter`] when `value` is NaN or infinite. The store is then
    /// unchanged.
    pub fn set(&mut self, name: &str, value: f64) -> Result<(), Error> {
        let i = self
            .index_of(name)
            .ok_or_else(|| Error::UnknownParameter { name: name.into() })?;
        if !value.is_finite() {
            return Err(Error::NonFiniteParameter {
                name: name.into(),
                value,
            });
        }
        self.values[i] = value;
        Ok(())
    }

    /// Checks that every value is finite, as [`push`](Params::push) and [`set`](Params::set)
    /// guarantee unless [`values_mut`](Params::values_mut) wrote something else.
    ///
    /// # Errors
    ///
    /// [`Error::NonFiniteParameter`] naming the first parameter, in order, that is NaN or
    /// infinite.
    ///
    /// # Examples
    ///
    /// ```
    /// use tapegrad::nn::Params;
    ///
    /// # fn main() -> Result<(), tapegrad::Error> {
    /// let mut params = Params::new();
    /// params.push("a", 1.0)?;
    /// params.push("b", 2.0)?;
    /// params.check_finite()?;
    /// params.values_mut()[1] = f64::NEG_INFINITY; // raw access: unchecked
    /// assert_eq!(
    ///     params.check_finite().unwrap_err().to_string(),
    ///     "parameter \"b\" must be a finite number, got -inf"
    /// );
    /// # Ok(()) }
    /// ```
    pub fn check_finite(&self) -> Result<(), Error> {
        match self.values.iter().position(|v| !v.is_finite()) {
            None => Ok(()),
            Some(i) => Err(Error::NonFiniteParameter {
                name: self.names[i].clone(),
                value: self.values[i],
            }),
        }
    }

    /// The position of the parameter called `name`.
    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.names.get_index_of(name)
    }

    /// The name of the parameter at `index`.
    pub fn name(&self, index: usize) -> Option<&str> {
        self.names.get_index(index).map(String::as_str)
    }

    /// The names, in order.
    pub fn names(&self) -> impl ExactSizeIterator<Item = &str> + '_ {
        self.names.iter().map(String::as_str)
    }

    /// `(name, value)` pairs, in order.
    ///
    /// # Examples
    ///
    /// ```
    /// use tapegrad::nn::Params;
    ///
    /// let mut params = Params::new();
    /// params.push("a", 1.0).unwrap();
    /// params.push("b", 2.0).unwrap();
    /// let pairs: Vec<(&str, f64)> = params.iter().collect();
    /// assert_eq!(pairs, vec![("a", 1.0), ("b", 2.0)]);
    /// ```
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&str, f64)> + '_ {
        self.names().zip(self.values.iter().copied())
    }

    /// The values, in order.
    pub fn values(&self) -> &[f64] {
        &self.values
    }

    /// The values, in order, for an optimizer to update.
    ///
    /// Raw access: what is written here is not checked. [`check_finite`](Params::check_finite)
    /// finds a NaN or infinity written this way, and [`Mlp::predict`], [`Mlp::save`] and the
    /// optimizers' [`step_checked`](crate::optim::Optimizer::step_checked) refuse one.
    pub fn values_mut(&mut self) -> &mut [f64] {
        &mut self.values
    }

    /// Records one leaf per parameter on `tape`, in order.
    pub fn bind<'t>(&self, tape: &'t Tape) -> Vec<Var<'t>> {
        let mut vars = Vec::with_capacity(self.len());
        self.bind_into(tape, &mut vars);
        vars
    }

    /// Like [`bind`](Params::bind), into `vars` (cleared first) instead of a new vector.
    ///
    /// # Examples
    ///
    /// A model of your own, `y = a·x + b`, on the store:
    ///
    /// ```
    /// use tapegrad::{nn::Params, Tape};
    ///
    /// let mut params = Params::new();
    /// params.push("a", 2.0).unwrap();
    /// params.push("b", 1.0).unwrap();
    /// let tape = Tape::new();
    /// let mut p = Vec::new();
    /// params.bind_into(&tape, &mut p);
    /// let loss = (p[0] * 3.0 + p[1] - 10.0).powi(2);
    /// let g = loss.backward();
    /// // d/da = 2(3a + b - 10)·3 = -18, d/db = 2(3a + b - 10) = -6
    /// assert_eq!(g.wrt_all(&p), vec![-18.0, -6.0]);
    /// ```
    pub fn bind_into<'t>(&self, tape: &'t Tape, vars: &mut Vec<Var<'t>>) {
        vars.clear();
        vars.extend(self.values.iter().map(|&v| tape.var(v)));
    }
}

/// Spare buffers of dropped [`BoundMlp`]s, for the next [`Mlp::bind`] on this thread.
mod spare {
    use super::*;

    /// The buffers of one bound network: its leaves and two layers of outputs.
    pub(super) type Buffers<'t> = [Vec<Var<'t>>; 3];

    /// At most this many sets of buffers are kept per thread.
    const MAX_KEPT: usize = 4;

    thread_local! {
        static KEPT: RefCell<Vec<Buffers<'static>>> = const { RefCell::new(Vec::new()) };
    }

    /// Empty buffers, with the capacity of ones given back earlier if possible.
    pub(super) fn take<'t>() -> Buffers<'t> {
        KEPT.try_with(|kept| kept.try_borrow_mut().ok()?.pop())
            .ok()
            .flatten()
            .unwrap_or_default()
    }

    /// Keeps the buffers' allocations for a later [`take`].
    pub(super) fn give(buffers: Buffers<'_>) {
        if buffers.iter().all(|b| b.capacity() == 0) {
            return;
        }
        let buffers = buffers.map(forget_lifetime);
        let _ = KEPT.try_with(|kept| {
            if let Ok(mut kept) = kept.try_borrow_mut() {
                if kept.len() < MAX_KEPT {
                    kept.push(buffers);
                }
            }
        });
    }

    /// The same allocation, emptied, no longer tied to the tape its Vars borrowed.
    ///
    /// Collecting a `vec::IntoIter` through `map` into a vector of a type with the same layout
    /// reuses the allocation (std's in-place collection); the vector is empty, so the closure
    /// never runs. Should std ever stop doing this, the result is a fresh empty vector: slower,
    /// never wrong.
    pub(super) fn forget_lifetime(mut buffer: Vec<Var<'_>>) -> Vec<Var<'static>> {
        buffer.clear();
        buffer
            .into_iter()
            .map(|_| unreachable!("the buffer was cleared"))
            .collect()
    }
}

/// A multi-layer perceptron: a stack of [`Layer`]s, each with its own activation, and the
/// [`Params`] that hold its weights and biases.
///
/// Build it from the layer sizes, inputs first: `&[2, 4, 1]` is two inputs, a hidden layer of 4
/// neurons and one output neuron, with one activation per layer. Train it by binding it to a
/// tape each step ([`bind`](Mlp::bind)); see the [module docs](self) for the loop.
///
/// # Examples
///
/// ```
/// use rand::{rngs::StdRng, SeedableRng};
/// use tapegrad::init::Init;
/// use tapegrad::nn::{Activation, Mlp};
///
/// # fn main() -> Result<(), tapegrad::Error> {
/// let mut rng = StdRng::seed_from_u64(0);
/// let acts = [Activation::Relu, Activation::Identity];
/// let mlp = Mlp::new(&[3, 5, 2], &acts, &Init::he_normal(), &mut rng)?;
/// assert_eq!(mlp.parameters().len(), 5 * 4 + 2 * 6);
/// assert_eq!(mlp.parameters().name(4), Some("layer0.neuron1.w0"));
/// assert_eq!(mlp.parameters().get("layer1.neuron1.b"), Some(0.0));
/// assert_eq!(mlp.architecture(), "3-5-2 (relu, identity)");
/// assert_eq!(mlp.predict(&[1.0, 2.0, 3.0])?.len(), 2);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Mlp {
    layers: Arc<[Layer]>,
    params: Params,
}

const FORMAT_HEADER: &str = "tapegrad-mlp 1";

impl Mlp {
    /// A network with layer sizes `sizes` (inputs first), one activation per layer, weights drawn
    /// from `weights` and biases 0.
    ///
    /// Values are drawn from `rng` in parameter order, so a seeded generator gives the same
    /// network every run.
    ///
    /// # Errors
    ///
    /// [`Error::BadArchitecture`] when `sizes` has fewer than two entries, holds a 0, or the
    /// number of activations is not `sizes.len() - 1`; [`Error::InvalidHyperparameter`] for a
    /// leaky ReLU whose slope is not finite; [`Error::NonFiniteParameter`] when an initializer
    /// draws a NaN or an infinity (a normal initializer with a standard deviation near
    /// `f64::MAX` can).
    ///
    /// # Examples
    ///
    /// ```
    /// use rand::{rngs::StdRng, SeedableRng};
    /// use tapegrad::init::Init;
    /// use tapegrad::nn::{Activation, Mlp};
    ///
    /// let mut rng = StdRng::seed_from_u64(0);
    /// let err = Mlp::new(&[2, 4, 1], &[Activation::Tanh], &Init::default(), &mut rng);
    /// assert_eq!(
    ///     err.unwrap_err().to_string(),
    ///     "bad architecture: there must be one activation per layer (each size after the \
    ///      first), got sizes [2, 4, 1] and 1 activations"
    /// );
    /// ```
    pub fn new<R: Rng + ?Sized>(
        sizes: &[usize],
        activations: &[Activation],
        weights: &Init,
        rng: &mut R,
    ) -> Result<Self, Error> {
        Self::with_biases(sizes, activations, weights, &Init::zeros(), rng)
    }

    /// Like [`new`](Mlp::new), with biases drawn from `biases`.
    ///
    /// # Errors
    ///
    /// As [`new`](Mlp::new).
    ///
    /// # Examples
    ///
    /// ```
    /// use rand::{rngs::StdRng, SeedableRng};
    /// use tapegrad::init::Init;
    /// use tapegrad::nn::{Activation, Mlp};
    ///
    /// # fn main() -> Result<(), tapegrad::Error> {
    /// let mut rng = StdRng::seed_from_u64(0);
    /// let acts = [Activation::Sigmoid];
    /// let mlp = Mlp::with_biases(&[2, 1], &acts, &Init::zeros(), &Init::constant(0.1)?, &mut rng)?;
    /// assert_eq!(mlp.parameters().values(), &[0.0, 0.0, 0.1]);
    /// # Ok(()) }
    /// ```
    pub fn with_biases<R: Rng + ?Sized>(
        sizes: &[usize],
        activations: &[Activation],
        weights: &Init,
        biases: &Init,
        rng: &mut R,
    ) -> Result<Self, Error> {
        let layers = layers_of(sizes, activations)?;
        let mut params = Params::new();
        for (l, layer) in layers.iter().enumerate() {
            for j in 0..layer.neurons {
                for i in 0..layer.inputs {
                    let w = weights.sample(layer.inputs, layer.neurons, rng);
                    params.push(weight_name(l, j, i), w)?;
                }
                let b = biases.sample(layer.inputs, layer.neurons, rng);
                params.push(bias_name(l, j), b)?;
            }
        }
        Ok(Mlp {
            layers: layers.into(),
            params,
        })
    }

    /// The layers, input side first.
    pub fn layers(&self) -> &[Layer] {
        &self.layers
    }

    /// The layer sizes, inputs first: the `sizes` given to [`new`](Mlp::new).
    pub fn sizes(&self) -> Vec<usize> {
        std::iter::once(self.inputs())
            .chain(self.layers.iter().map(|l| l.neurons))
            .collect()
    }

    /// The number of inputs.
    pub fn inputs(&self) -> usize {
        self.layers[0].inputs
    }

    /// The number of outputs.
    pub fn outputs(&self) -> usize {
        self.layers[self.layers.len() - 1].neurons
    }

    /// The architecture in one line, e.g. `2-4-1 (tanh, sigmoid)`.
    pub fn architecture(&self) -> String {
        let sizes: Vec<String> = self.sizes().iter().map(usize::to_string).collect();
        let acts: Vec<String> = self
            .layers
            .iter()
            .map(|l| l.activation.to_string())
            .collect();
        format!("{} ({})", sizes.join("-"), acts.join(", "))
    }

    /// The weights and biases.
    pub fn parameters(&self) -> &Params {
        &self.params
    }

    /// The weights and biases, for an optimizer or for setting values by name.
    pub fn parameters_mut(&mut self) -> &mut Params {
        &mut self.params
    }

    /// Records one leaf per parameter on `tape` and returns the network reading them.
    ///
    /// The bound network owns three buffers (the leaves and two layers of activations); when it
    /// is dropped they go back to a per-thread pool that the next `bind` draws from, so binding
    /// once per training step allocates only in the first step.
    ///
    /// # Panics
    ///
    /// When parameters were pushed onto (or are missing from) the store, so that it no longer
    /// holds exactly the layers' parameters.
    ///
    /// # Examples
    ///
    /// ```
    /// use rand::{rngs::StdRng, SeedableRng};
    /// use tapegrad::init::Init;
    /// use tapegrad::nn::{Activation, Mlp};
    /// use tapegrad::Tape;
    ///
    /// # fn main() -> Result<(), tapegrad::Error> {
    /// let mlp = Mlp::new(&[2, 1], &[Activation::Identity], &Init::constant(1.0)?, &mut StdRng::seed_from_u64(0))?;
    /// let tape = Tape::new();
    /// let mut net = mlp.bind(&tape);
    /// assert_eq!(tape.len(), 3);
    /// let y = net.forward(&[2.0, 5.0])?[0];
    /// assert_eq!(y.value(), 7.0);
    /// assert_eq!(net.gradients(&y.backward()), vec![2.0, 5.0, 1.0]);
    /// # Ok(()) }
    /// ```
    pub fn bind<'t>(&self, tape: &'t Tape) -> BoundMlp<'t> {
        let needed: usize = self.layers.iter().map(Layer::parameter_count).sum();
        assert!(
            self.params.len() == needed,
            "Mlp::bind: the store holds {} parameters but the layers {} need {needed}; add \
             parameters to a Params of your own, not to an Mlp's",
            self.params.len(),
            self.architecture()
        );
        let [mut params, current, next] = spare::take();
        self.params.bind_into(tape, &mut params);
        BoundMlp {
            layers: Arc::clone(&self.layers),
            params,
            current,
            next,
        }
    }

    /// Like [`bind`](Mlp::bind), and names every leaf after its parameter
    /// (`layer0.neuron1.w0`), so that explanations and graph exports of the tape read in the
    /// network's terms. Naming allocates a string per parameter: use it to look at a step, and
    /// plain `bind` in a training loop.
    ///
    /// # Panics
    ///
    /// As [`bind`](Mlp::bind).
    ///
    /// # Examples
    ///
    /// ```
    /// use rand::{rngs::StdRng, SeedableRng};
    /// use tapegrad::init::Init;
    /// use tapegrad::nn::{Activation, Mlp};
    /// use tapegrad::Tape;
    ///
    /// # fn main() -> Result<(), tapegrad::Error> {
    /// let mut rng = StdRng::seed_from_u64(0);
    /// let mlp = Mlp::new(&[2, 1], &[Activation::Sigmoid], &Init::default(), &mut rng)?;
    /// let tape = Tape::new();
    /// let mut net = mlp.bind_named(&tape);
    /// assert_eq!(net.parameters()[2].name(), "layer0.neuron0.b");
    /// let y = net.forward(&[1.0, 0.5])?[0];
    /// let text = y.explain().to_string();
    /// assert!(text.contains("layer0.neuron0.w1"), "{text}");
    /// # Ok(()) }
    /// ```
    pub fn bind_named<'t>(&self, tape: &'t Tape) -> BoundMlp<'t> {
        let bound = self.bind(tape);
        for (&var, name) in bound.params.iter().zip(self.params.names()) {
            var.named(name);
        }
        bound
    }

    /// The outputs for plain input values, computed on a private tape.
    ///
    /// Every output is finite: a NaN or an infinity in, or on the way, is an error instead.
    ///
    /// # Errors
    ///
    /// [`Error::InputSize`] when `x` does not hold [`inputs`](Mlp::inputs) values;
    /// [`Error::NonFiniteInput`] naming the first input that is NaN or infinite;
    /// [`Error::NonFiniteParameter`] naming the first parameter that is (written through
    /// [`Params::values_mut`]); [`Error::NonFiniteOutput`] naming the first output that
    /// overflowed from finite inputs and parameters, and the first node of the forward pass
    /// whose value is not finite (found by [`Var::backward_checked`]).
    ///
    /// # Examples
    ///
    /// ```
    /// use rand::{rngs::StdRng, SeedableRng};
    /// use tapegrad::init::Init;
    /// use tapegrad::nn::{Activation, Mlp};
    ///
    /// # fn main() -> Result<(), tapegrad::Error> {
    /// let mut rng = StdRng::seed_from_u64(0);
    /// let mlp = Mlp::new(&[2, 1], &[Activation::Identity], &Init::constant(1e300)?, &mut rng)?;
    /// assert_eq!(
    ///     mlp.predict(&[1.0, f64::NAN]).unwrap_err().to_string(),
    ///     "input 1 must be a finite number, got NaN"
    /// );
    /// // 1e300 · 1e10 overflows in the weighted sum.
    /// assert_eq!(
    ///     mlp.predict(&[1e10, 1.0]).unwrap_err().to_string(),
    ///     "output 0 is inf although the inputs and parameters are finite; the first \
    ///      non-finite value is node #3 (dot)"
    /// );
    /// assert_eq!(mlp.predict(&[1.0, -1.0])?, vec![0.0]);
    /// # Ok(()) }
    /// ```
    pub fn predict(&self, x: &[f64]) -> Result<Vec<f64>, Error> {
        check_inputs(self.inputs(), x)?;
        if let Some(index) = x.iter().position(|v| !v.is_finite()) {
            return Err(Error::NonFiniteInput {
                index,
                value: x[index],
            });
        }
        self.params.check_finite()?;
        let tape = Tape::new();
        let mut net = self.bind(&tape);
        let outputs = net.forward(x)?;
        if let Some(index) = outputs.iter().position(|v| !v.value().is_finite()) {
            let out = outputs[index];
            return Err(match out.backward_checked() {
                Err(Error::NonFiniteValue { node, op, .. }) => Error::NonFiniteOutput {
                    index,
                    value: out.value(),
                    node,
                    op,
                },
                other => unreachable!(
                    "a checked sweep from the non-finite value {} must report a value, got {other:?}",
                    out.value()
                ),
            });
        }
        Ok(outputs.iter().map(|v| v.value()).collect())
    }

    /// The checks of [`predict`](Mlp::predict) on every point of a batch, before any is
    /// computed.
    fn check_batch<X: AsRef<[f64]>>(&self, xs: &[X]) -> Result<(), Error> {
        let inputs = self.inputs();
        for (index, x) in xs.iter().enumerate() {
            let x = x.as_ref();
            let error = if x.len() != inputs {
                Error::InputSize {
                    expected: inputs,
                    actual: x.len(),
                }
            } else if let Some(i) = x.iter().position(|v| !v.is_finite()) {
                Error::NonFiniteInput {
                    index: i,
                    value: x[i],
                }
            } else {
                continue;
            };
            return Err(Error::BatchPoint {
                index,
                error: Box::new(error),
            });
        }
        self.params.check_finite()
    }

    /// The error of a point whose outputs are not all finite, as [`predict`](Mlp::predict)
    /// reports it on a tape of its own: its node numbers count from that point's first node.
    fn batch_output_error(&self, index: usize, x: &[f64]) -> Error {
        match self.predict(x) {
            Err(error) => Error::BatchPoint {
                index,
                error: Box::new(error),
            },
            Ok(outputs) => unreachable!(
                "point {index} computed outputs {outputs:?} alone but a non-finite one in a batch"
            ),
        }
    }

    /// The outputs for every point of `xs`, computed on a private tape: [`predict`](Mlp::predict)
    /// for a batch, with the same checks, and the same numbers bit for bit.
    ///
    /// A batch of [`REPLAY_FROM`](Mlp::REPLAY_FROM) points or more records the forward pass
    /// once, [compiles](Tape::compile) it with the point's inputs as the compiled inputs, and
    /// replays it for every point; a smaller batch records every point on one reused tape.
    /// Timed on a 2-16-16-1 network (and on an 8-64-64-4 one), replaying 1,024 points was
    /// several times faster than recording them, and recording them on one tape a little faster
    /// than calling [`predict`](Mlp::predict) per point; compiling costs about as much as
    /// recording some twenty to thirty points, hence the threshold.
    ///
    /// # Errors
    ///
    /// [`Error::BatchPoint`] naming the first point that does not hold [`inputs`](Mlp::inputs)
    /// values ([`Error::InputSize`]) or holds a NaN or an infinity
    /// ([`Error::NonFiniteInput`]) — checked before anything is computed — or whose output
    /// overflowed ([`Error::NonFiniteOutput`], with the node numbered as
    /// [`predict`](Mlp::predict) numbers it on that point alone);
    /// [`Error::NonFiniteParameter`] naming the first parameter that is NaN or infinite.
    ///
    /// # Examples
    ///
    /// ```
    /// use rand::{rngs::StdRng, SeedableRng};
    /// use tapegrad::init::Init;
    /// use tapegrad::nn::{Activation, Mlp};
    ///
    /// # fn main() -> Result<(), tapegrad::Error> {
    /// let mut rng = StdRng::seed_from_u64(0);
    /// let acts = [Activation::Tanh, Activation::Sigmoid];
    /// let mlp = Mlp::new(&[2, 4, 1], &acts, &Init::xavier_uniform(), &mut rng)?;
    /// let xs = [[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]];
    /// let ys = mlp.predict_batch(&xs)?;
    /// assert_eq!(ys.len(), 4);
    /// assert_eq!(ys[2], mlp.predict(&xs[2])?);
    ///
    /// let bad = [[0.0, 0.0], [f64::NAN, 1.0]];
    /// assert_eq!(
    ///     mlp.predict_batch(&bad).unwrap_err().to_string(),
    ///     "batch point 1: input 0 must be a finite number, got NaN"
    /// );
    /// # Ok(()) }
    /// ```
    pub fn predict_batch<X: AsRef<[f64]>>(&self, xs: &[X]) -> Result<Vec<Vec<f64>>, Error> {
        self.check_batch(xs)?;
        if xs.len() >= Self::REPLAY_FROM {
            self.predict_replaying(xs)
        } else {
            self.predict_recording(xs)
        }
    }

    /// The size from which [`predict_batch`](Mlp::predict_batch) compiles the forward pass and
    /// replays it, rather than recording every point.
    pub const REPLAY_FROM: usize = 32;

    /// [`predict_batch`](Mlp::predict_batch) by recording every point on one tape; checked.
    fn predict_recording<X: AsRef<[f64]>>(&self, xs: &[X]) -> Result<Vec<Vec<f64>>, Error> {
        let tape = Tape::new();
        let mut net = self.bind(&tape);
        let mut all = Vec::with_capacity(xs.len());
        for (index, x) in xs.iter().enumerate() {
            let outputs = net.forward(x.as_ref())?;
            if outputs.iter().any(|v| !v.value().is_finite()) {
                return Err(self.batch_output_error(index, x.as_ref()));
            }
            all.push(outputs.iter().map(|v| v.value()).collect());
        }
        Ok(all)
    }

    /// [`predict_batch`](Mlp::predict_batch) by replaying one compiled forward pass; checked.
    fn predict_replaying<X: AsRef<[f64]>>(&self, xs: &[X]) -> Result<Vec<Vec<f64>>, Error> {
        let Some(first) = xs.first() else {
            return Ok(Vec::new());
        };
        let tape = Tape::new();
        let mut net = self.bind(&tape);
        let x: Vec<Var<'_>> = first.as_ref().iter().map(|&v| tape.constant(v)).collect();
        let outputs = net.forward(&x)?.to_vec();
        let mut compiled = tape.compile(&x, &outputs)?;
        let mut all = Vec::with_capacity(xs.len());
        for (index, x) in xs.iter().enumerate() {
            let outputs = compiled.forward(x.as_ref())?;
            if outputs.iter().any(|v| !v.is_finite()) {
                return Err(self.batch_output_error(index, x.as_ref()));
            }
            all.push(outputs.to_vec());
        }
        Ok(all)
    }

    /// The network as text: a header with the format version and the architecture, then one
    /// `name value` line per parameter. Values are printed so that they read back bit for bit.
    /// A NaN or an infinity (written through [`Params::values_mut`]) is printed as `NaN` or
    /// `inf`, which [`from_text`](Mlp::from_text) refuses.
    ///
    /// # Examples
    ///
    /// ```
    /// use rand::{rngs::StdRng, SeedableRng};
    /// use tapegrad::init::Init;
    /// use tapegrad::nn::{Activation, Mlp};
    ///
    /// # fn main() -> Result<(), tapegrad::Error> {
    /// let mlp = Mlp::new(&[1, 1], &[Activation::LeakyRelu(0.01)], &Init::constant(0.1)?, &mut StdRng::seed_from_u64(0))?;
    /// assert_eq!(
    ///     mlp.to_text(),
    ///     "tapegrad-mlp 1\nsizes 1 1\nactivations leaky_relu(0.01)\nparams 2\n\
    ///      layer0.neuron0.w0 0.1\nlayer0.neuron0.b 0.0\n"
    /// );
    /// assert_eq!(Mlp::from_text(&mlp.to_text())?, mlp);
    /// # Ok(()) }
    /// ```
    pub fn to_text(&self) -> String {
        use std::fmt::Write;
        let mut text = String::new();
        let sizes: Vec<String> = self.sizes().iter().map(usize::to_string).collect();
        let acts: Vec<String> = self
            .layers
            .iter()
            .map(|l| l.activation.to_string())
            .collect();
        // invariant: writing to a String cannot fail.
        writeln!(text, "{FORMAT_HEADER}").unwrap();
        writeln!(text, "sizes {}", sizes.join(" ")).unwrap();
        writeln!(text, "activations {}", acts.join(" ")).unwrap();
        writeln!(text, "params {}", self.params.len()).unwrap();
        for (name, value) in self.params.iter() {
            writeln!(text, "{name} {value:?}").unwrap();
        }
        text
    }

    /// Reads a network written by [`to_text`](Mlp::to_text).
    ///
    /// # Errors
    ///
    /// [`Error::ParamFile`] naming the first line that differs from what the format expects: a
    /// wrong header or version, a parameter count that does not match the architecture, a
    /// parameter name out of place, a number that does not parse, a missing line (`end of
    /// file`) or a line too many; [`Error::NonFiniteInFile`] naming the line, the parameter and
    /// the text of a number that is NaN or infinite (`NaN`, `inf`, `infinity`, or a literal too
    /// large for an `f64` such as `1e400`); [`Error::BadArchitecture`] for an unusable
    /// architecture.
    ///
    /// # Examples
    ///
    /// ```
    /// use tapegrad::nn::Mlp;
    ///
    /// let text = "tapegrad-mlp 1\nsizes 1 1\nactivations tanh\nparams 2\nlayer0.neuron0.w0 0.5\n";
    /// assert_eq!(
    ///     Mlp::from_text(text).unwrap_err().to_string(),
    ///     "parameter file line 6: expected `layer0.neuron0.b <number>`, got end of file"
    /// );
    /// let overflow = format!("{text}layer0.neuron0.b 1e400\n");
    /// assert_eq!(
    ///     Mlp::from_text(&overflow).unwrap_err().to_string(),
    ///     "parameter file line 6: layer0.neuron0.b must be a finite number, got `1e400` \
    ///      (reads as inf)"
    /// );
    /// ```
    pub fn from_text(text: &str) -> Result<Self, Error> {
        let mut lines = text.lines().enumerate().map(|(i, line)| (i + 1, line));
        let mut next = |expected: &dyn Fn() -> String| -> Result<(usize, &str), Error> {
            match lines.next() {
                Some((n, line)) => Ok((n, line)),
                None => Err(Error::ParamFile {
                    line: text.lines().count() + 1,
                    expected: expected(),
                    actual: "end of file".into(),
                }),
            }
        };
        let mismatch = |line: usize, expected: String, actual: &str| Error::ParamFile {
            line,
            expected,
            actual: format!("`{actual}`"),
        };

        let header = || format!("`{FORMAT_HEADER}`");
        let (n, line) = next(&header)?;
        if line.trim_end() != FORMAT_HEADER {
            return Err(mismatch(n, header(), line));
        }

        let sizes_expected = || "`sizes` and the layer sizes, inputs first".to_string();
        let (n, line) = next(&sizes_expected)?;
        let sizes: Option<Vec<usize>> = line
            .strip_prefix("sizes ")
            .map(|rest| rest.split_whitespace().map(|s| s.parse().ok()).collect())
            .and_then(|sizes: Option<Vec<usize>>| sizes);
        let sizes = sizes.ok_or_else(|| mismatch(n, sizes_expected(), line))?;

        let acts_expected = || "`activations` and one activation per layer".to_string();
        let (n, line) = next(&acts_expected)?;
        let words = line
            .strip_prefix("activations ")
            .ok_or_else(|| mismatch(n, acts_expected(), line))?;
        let activations = words
            .split_whitespace()
            .map(|w| {
                parse_activation(w).ok_or_else(|| {
                    mismatch(
                        n,
                        "activations among identity, sigmoid, tanh, relu, leaky_relu(<slope>), \
                         softplus"
                            .into(),
                        line,
                    )
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let layers = layers_of(&sizes, &activations)?;
        let count: usize = layers.iter().map(Layer::parameter_count).sum();

        let count_expected = || format!("`params {count}`, the count for this architecture");
        let (n, line) = next(&count_expected)?;
        if line.trim_end() != format!("params {count}") {
            return Err(mismatch(n, count_expected(), line));
        }

        let mut params = Params::new();
        for (l, layer) in layers.iter().enumerate() {
            for j in 0..layer.neurons {
                for i in 0..=layer.inputs {
                    let name = if i < layer.inputs {
                        weight_name(l, j, i)
                    } else {
                        bias_name(l, j)
                    };
                    let expected = || format!("`{name} <number>`");
                    let (n, line) = next(&expected)?;
                    let mut words = line.split_whitespace();
                    if words.next() != Some(name.as_str()) {
                        return Err(mismatch(n, expected(), line));
                    }
                    let (text, value) = match (words.next(), words.next()) {
                        (Some(text), None) => match text.parse::<f64>() {
                            Ok(value) => (text, value),
                            Err(_) => return Err(mismatch(n, expected(), line)),
                        },
                        _ => return Err(mismatch(n, expected(), line)),
                    };
                    // `parse` accepts `NaN`, `inf` and `infinity`, and reads a literal too large
                    // for an f64 (`1e400`) as an infinity: none of them is a usable parameter.
                    if !value.is_finite() {
                        return Err(Error::NonFiniteInFile {
                            line: n,
                            name,
                            text: text.into(),
                            value,
                        });
                    }
                    params
                        .push(name, value)
                        .expect("invariant: the value is finite and the names are distinct");
                }
            }
        }
        for (n, line) in lines {
            if !line.trim().is_empty() {
                return Err(mismatch(n, "end of file".into(), line));
            }
        }
        Ok(Mlp {
            layers: layers.into(),
            params,
        })
    }

    /// Writes [`to_text`](Mlp::to_text) to the file at `path`.
    ///
    /// # Errors
    ///
    /// [`Error::NonFiniteParameter`] when a parameter is NaN or infinite, which
    /// [`load`](Mlp::load) would refuse (nothing is written then); [`Error::Io`] when the file
    /// cannot be written.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<(), Error> {
        self.params.check_finite()?;
        let path = path.as_ref();
        std::fs::write(path, self.to_text()).map_err(|e| io_error(path, e))
    }

    /// Reads a network saved by [`save`](Mlp::save).
    ///
    /// # Errors
    ///
    /// [`Error::Io`] when the file cannot be read; otherwise as [`from_text`](Mlp::from_text).
    ///
    /// # Examples
    ///
    /// ```
    /// use rand::{rngs::StdRng, SeedableRng};
    /// use tapegrad::init::Init;
    /// use tapegrad::nn::{Activation, Mlp};
    ///
    /// # fn main() -> Result<(), tapegrad::Error> {
    /// let mut rng = StdRng::seed_from_u64(0);
    /// let acts = [Activation::Tanh, Activation::Sigmoid];
    /// let mlp = Mlp::new(&[2, 3, 1], &acts, &Init::xavier_normal(), &mut rng)?;
    /// let path = std::env::temp_dir().join(format!("tapegrad-doc-{}.txt", std::process::id()));
    /// mlp.save(&path)?;
    /// let back = Mlp::load(&path)?;
    /// std::fs::remove_file(&path).ok();
    /// assert_eq!(back, mlp);
    /// # Ok(()) }
    /// ```
    pub fn load(path: impl AsRef<Path>) -> Result<Self, Error> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| io_error(path, e))?;
        Self::from_text(&text)
    }

    /// Replaces this network's parameters with those saved in the file at `path`, which must
    /// describe the same architecture. On error the network is unchanged.
    ///
    /// # Errors
    ///
    /// [`Error::ArchitectureMismatch`] when the file describes another architecture; otherwise
    /// as [`load`](Mlp::load).
    pub fn load_parameters(&mut self, path: impl AsRef<Path>) -> Result<(), Error> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| io_error(path, e))?;
        self.load_parameters_text(&text)
    }

    /// Like [`load_parameters`](Mlp::load_parameters), from text written by [`to_text`](Mlp::to_text).
    ///
    /// # Errors
    ///
    /// As [`load_parameters`](Mlp::load_parameters), without the I/O.
    ///
    /// # Examples
    ///
    /// ```
    /// use rand::{rngs::StdRng, SeedableRng};
    /// use tapegrad::init::Init;
    /// use tapegrad::nn::{Activation, Mlp};
    ///
    /// # fn main() -> Result<(), tapegrad::Error> {
    /// let mut rng = StdRng::seed_from_u64(0);
    /// let acts = [Activation::Tanh, Activation::Sigmoid];
    /// let small = Mlp::new(&[2, 3, 1], &acts, &Init::default(), &mut rng)?;
    /// let mut big = Mlp::new(&[2, 4, 1], &acts, &Init::default(), &mut rng)?;
    /// assert_eq!(
    ///     big.load_parameters_text(&small.to_text()).unwrap_err().to_string(),
    ///     "parameter file is for the architecture 2-3-1 (tanh, sigmoid), \
    ///      the network is 2-4-1 (tanh, sigmoid)"
    /// );
    /// # Ok(()) }
    /// ```
    pub fn load_parameters_text(&mut self, text: &str) -> Result<(), Error> {
        let loaded = Self::from_text(text)?;
        if loaded.layers != self.layers {
            return Err(Error::ArchitectureMismatch {
                expected: self.architecture(),
                actual: loaded.architecture(),
            });
        }
        self.params = loaded.params;
        Ok(())
    }
}

fn io_error(path: &Path, e: std::io::Error) -> Error {
    Error::Io {
        path: path.display().to_string(),
        message: e.to_string(),
    }
}

fn weight_name(layer: usize, neuron: usize, input: usize) -> String {
    format!("layer{layer}.neuron{neuron}.w{input}")
}

fn bias_name(layer: usize, neuron: usize) -> String {
    format!("layer{layer}.neuron{neuron}.b")
}

/// The layers described by `sizes` (inputs first) and `activations`, checked.
fn layers_of(sizes: &[usize], activations: &[Activation]) -> Result<Vec<Layer>, Error> {
    let bad = |reason| Error::BadArchitecture {
        sizes: sizes.to_vec(),
        activations: activations.len(),
        reason,
    };
    if sizes.len() < 2 {
        return Err(bad(
            "an mlp needs the input size and at least one layer size",
        ));
    }
    if activations.len() != sizes.len() - 1 {
        return Err(bad(
            "there must be one activation per layer (each size after the first)",
        ));
    }
    if sizes.contains(&0) {
        return Err(bad(EMPTY_LAYER));
    }
    // A size read from a file can be anything; the count must not overflow.
    let count = sizes.windows(2).try_fold(0usize, |total, pair| {
        pair[0]
            .checked_add(1)
            .and_then(|n| n.checked_mul(pair[1]))
            .and_then(|n| n.checked_add(total))
    });
    if count.is_none() {
        return Err(bad("the number of parameters overflows usize"));
    }
    sizes
        .windows(2)
        .zip(activations)
        .map(|(pair, &act)| Layer::new(pair[0], pair[1], act))
        .collect()
}

/// How [`accuracy`] turns a prediction's outputs into a class.
///
/// # Examples
///
/// ```
/// use tapegrad::nn::Decision;
///
/// assert_eq!(Decision::Threshold(0.5).class(&[0.7]), Some(1));
/// assert_eq!(Decision::Threshold(0.5).class(&[0.5]), Some(0)); // not above the threshold
/// assert_eq!(Decision::Threshold(0.0).class(&[-3.0]), Some(0));
/// assert_eq!(Decision::Argmax.class(&[0.1, 2.0, 2.0, -1.0]), Some(1)); // the first largest
/// assert_eq!(Decision::Threshold(0.5).class(&[0.7, 0.1]), None);
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Decision {
    /// Binary classification from one output: class 1 when the output is above the threshold,
    /// class 0 otherwise (an output equal to it, or NaN, is class 0). Use `0.5` on a
    /// probability (a sigmoid output) and `0.0` on a logit; both draw the same line, since
    /// `sigmoid(0) = 0.5`.
    Threshold(f64),
    /// Classification among as many classes as outputs: the class is the position of the
    /// largest output, the first one on a tie. NaN is never the largest.
    Argmax,
}

impl Decision {
    /// The class `outputs` stand for, or `None` when they are not what this decision reads:
    /// [`Threshold`](Decision::Threshold) reads exactly one output, [`Argmax`](Decision::Argmax)
    /// at least one.
    pub fn class(self, outputs: &[f64]) -> Option<usize> {
        match self {
            Decision::Threshold(threshold) => match outputs {
                [y] => Some(usize::from(*y > threshold)),
                _ => None,
            },
            Decision::Argmax => {
                let (&first, rest) = outputs.split_first()?;
                let mut best = (0, first);
                for (i, &y) in rest.iter().enumerate() {
                    // `!(best >= y)` would let a NaN win; a NaN best is replaced by any number.
                    if y > best.1 || (best.1.is_nan() && !y.is_nan()) {
                        best = (i + 1, y);
                    }
                }
                Some(best.0)
            }
        }
    }

    /// The number of classes a decision on `outputs` outputs chooses among.
    fn classes(self, outputs: usize) -> usize {
        match self {
            Decision::Threshold(_) => 2,
            Decision::Argmax => outputs,
        }
    }
}

/// The fraction of predictions whose class, by `decision`, is their label: a number from 0 to 1.
///
/// `predictions` holds each point's outputs ([`Mlp::predict_batch`] returns them so); `labels`
/// holds each point's class as a number — `0.0` or `1.0` for [`Decision::Threshold`], `0.0`,
/// `1.0`, … below the number of outputs for [`Decision::Argmax`] — as the targets of
/// [`loss::binary_cross_entropy_with_logits`](crate::loss::binary_cross_entropy_with_logits)
/// and the class of [`loss::softmax_cross_entropy_var`](crate::loss::softmax_cross_entropy_var)
/// are written.
///
/// # Errors
///
/// [`Error::NoPredictions`] for an empty batch; [`Error::LabelCount`] when there are not as many
/// labels as predictions; [`Error::OutputCount`] naming the first prediction that does not hold
/// one output ([`Decision::Threshold`]) or as many outputs as the first prediction
/// ([`Decision::Argmax`], which needs at least one); [`Error::BadLabel`] naming the first label
/// that is not a class.
///
/// # Examples
///
/// ```
/// use tapegrad::nn::{accuracy, Decision};
///
/// # fn main() -> Result<(), tapegrad::Error> {
/// let probabilities = [[0.9], [0.2], [0.6], [0.4]];
/// assert_eq!(accuracy(&probabilities, &[1.0, 0.0, 0.0, 0.0], Decision::Threshold(0.5))?, 0.75);
///
/// let logits = [vec![2.0, 0.5, -1.0], vec![0.0, 0.1, 3.0]];
/// assert_eq!(accuracy(&logits, &[0.0, 1.0], Decision::Argmax)?, 0.5);
/// assert_eq!(
///     accuracy(&logits, &[0.0, 3.0], Decision::Argmax).unwrap_err().to_string(),
///     "label 1 must be a class index, an integer from 0 below 3, got 3"
/// );
/// # Ok(()) }
/// ```
pub fn accuracy<O: AsRef<[f64]>>(
    predictions: &[O],
    labels: &[f64],
    decision: Decision,
) -> Result<f64, Error> {
    if predictions.len() != labels.len() {
        return Err(Error::LabelCount {
            predictions: predictions.len(),
            labels: labels.len(),
        });
    }
    let Some(first) = predictions.first() else {
        return Err(Error::NoPredictions);
    };
    let outputs = match decision {
        Decision::Threshold(_) => 1,
        Decision::Argmax => first.as_ref().len().max(1),
    };
    let classes = decision.classes(outputs);
    let mut right = 0usize;
    for (index, (prediction, &label)) in predictions.iter().zip(labels).enumerate() {
        let prediction = prediction.as_ref();
        if prediction.len() != outputs {
            return Err(Error::OutputCount {
                index,
                expected: outputs,
                actual: prediction.len(),
            });
        }
        if !(label >= 0.0 && label < classes as f64 && label.fract() == 0.0) {
            return Err(Error::BadLabel {
                index,
                label,
                classes,
            });
        }
        let class = decision
            .class(prediction)
            .expect("invariant: the number of outputs was checked");
        right += usize::from(class as f64 == label);
    }
    Ok(right as f64 / predictions.len() as f64)
}

/// An [`Mlp`] bound to a tape: its parameters recorded as leaves, ready for forward passes.
///
/// Made by [`Mlp::bind`]. It does not borrow the `Mlp`, so the optimizer can update the
/// parameters while it is alive; those updates show in the next binding.
#[derive(Debug)]
pub struct BoundMlp<'t> {
    layers: Arc<[Layer]>,
    params: Vec<Var<'t>>,
    /// The outputs of the last layer computed.
    current: Vec<Var<'t>>,
    /// Scratch for the layer being computed.
    next: Vec<Var<'t>>,
}

impl Drop for BoundMlp<'_> {
    fn drop(&mut self) {
        spare::give([
            std::mem::take(&mut self.params),
            std::mem::take(&mut self.current),
            std::mem::take(&mut self.next),
        ]);
    }
}

impl<'t> BoundMlp<'t> {
    /// The leaves, one per parameter, in the store's order.
    pub fn parameters(&self) -> &[Var<'t>] {
        &self.params
    }

    /// The network's outputs for `x` (plain numbers or Vars).
    ///
    /// The returned slice lives in the bound network's buffer and is overwritten by the next
    /// call; Vars are `Copy`, so take what you need (`net.forward(&x)?[0]`).
    ///
    /// # Errors
    ///
    /// [`Error::InputSize`] when `x` does not hold [`Mlp::inputs`] values.
    ///
    /// # Examples
    ///
    /// ```
    /// use rand::{rngs::StdRng, SeedableRng};
    /// use tapegrad::init::Init;
    /// use tapegrad::nn::{Activation, Mlp};
    /// use tapegrad::Tape;
    ///
    /// # fn main() -> Result<(), tapegrad::Error> {
    /// let mut rng = StdRng::seed_from_u64(0);
    /// let acts = [Activation::Tanh, Activation::Identity];
    /// let mlp = Mlp::new(&[2, 3, 1], &acts, &Init::default(), &mut rng)?;
    /// let tape = Tape::new();
    /// let mut net = mlp.bind(&tape);
    ///
    /// let x = tape.vars(&[0.5, -0.5]);
    /// let y = net.forward(&x)?[0];
    /// let g = y.backward();
    /// assert!(g[x[0]] != 0.0); // inputs that are Vars get gradients too
    ///
    /// let err = net.forward(&[1.0, 2.0, 3.0]).unwrap_err();
    /// assert_eq!(err.to_string(), "network takes 2 inputs, got 3");
    /// # Ok(()) }
    /// ```
    pub fn forward<X: Input<'t> + ?Sized>(&mut self, x: &X) -> Result<&[Var<'t>], Error> {
        check_inputs(self.layers[0].inputs, x)?;
        let mut params = self.params.as_slice();
        self.current.clear();
        let (first, rest) = self
            .layers
            .split_first()
            .expect("invariant: an mlp has at least one layer");
        let (p, tail) = params.split_at(first.parameter_count());
        first.push_outputs(p, x, &mut self.current);
        params = tail;
        for layer in rest {
            let (p, tail) = params.split_at(layer.parameter_count());
            self.next.clear();
            layer.push_outputs(p, self.current.as_slice(), &mut self.next);
            std::mem::swap(&mut self.current, &mut self.next);
            params = tail;
        }
        Ok(&self.current)
    }

    /// The network's outputs for every point of `xs`, one after the other: with `k` =
    /// [`Mlp::outputs`], point `i`'s outputs are `out[i * k..(i + 1) * k]`
    /// (`out.chunks_exact(k)` walks the points). With one output, the result holds one
    /// prediction per point, ready for a loss (`loss::mse(&out, &targets)`).
    ///
    /// Every point is recorded on the bound network's tape, as [`forward`](BoundMlp::forward)
    /// on each in turn would; the gradient of a loss over the whole batch then takes one
    /// [`backward`](Var::backward).
    ///
    /// # Errors
    ///
    /// [`Error::BatchPoint`] naming the first point that does not hold [`Mlp::inputs`] values,
    /// with the [`Error::InputSize`]; nothing is recorded then.
    ///
    /// # Examples
    ///
    /// ```
    /// use rand::{rngs::StdRng, SeedableRng};
    /// use tapegrad::init::Init;
    /// use tapegrad::nn::{Activation, Mlp};
    /// use tapegrad::{loss, Tape};
    ///
    /// # fn main() -> Result<(), tapegrad::Error> {
    /// let mut rng = StdRng::seed_from_u64(0);
    /// let acts = [Activation::Tanh, Activation::Sigmoid];
    /// let mlp = Mlp::new(&[2, 4, 1], &acts, &Init::xavier_uniform(), &mut rng)?;
    /// let xs = [[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]];
    /// let tape = Tape::new();
    /// let mut net = mlp.bind(&tape);
    /// let out = net.forward_batch(&xs)?; // one output per point
    /// let l = loss::mse(&out, &[0.0, 1.0, 1.0, 0.0]);
    /// let grads = net.gradients(&l.backward());
    /// assert_eq!(grads.len(), mlp.parameters().len());
    ///
    /// let ragged: [&[f64]; 2] = [&[1.0, 2.0], &[3.0]];
    /// assert_eq!(
    ///     net.forward_batch(&ragged).unwrap_err().to_string(),
    ///     "batch point 1: network takes 2 inputs, got 1"
    /// );
    /// # Ok(()) }
    /// ```
    pub fn forward_batch<X: Input<'t>>(&mut self, xs: &[X]) -> Result<Vec<Var<'t>>, Error> {
        let mut out = Vec::new();
        self.forward_batch_into(xs, &mut out)?;
        Ok(out)
    }

    /// Like [`forward_batch`](BoundMlp::forward_batch), into `out` (cleared first) instead of
    /// a new vector, so that a training loop can keep one buffer.
    ///
    /// # Errors
    ///
    /// As [`forward_batch`](BoundMlp::forward_batch); `out` is then unchanged.
    pub fn forward_batch_into<X: Input<'t>>(
        &mut self,
        xs: &[X],
        out: &mut Vec<Var<'t>>,
    ) -> Result<(), Error> {
        let inputs = self.layers[0].inputs;
        for (index, x) in xs.iter().enumerate() {
            check_inputs(inputs, x).map_err(|e| Error::BatchPoint {
                index,
                error: Box::new(e),
            })?;
        }
        let outputs = self.layers[self.layers.len() - 1].neurons;
        out.clear();
        out.reserve(xs.len() * outputs);
        for x in xs {
            let y = self
                .forward(x)
                .expect("invariant: every point's size was checked");
            out.extend_from_slice(y);
        }
        Ok(())
    }

    /// Appends `∂output/∂p` for every parameter `p`, in the store's order, to `out` after
    /// clearing it: the buffer an optimizer's `step` reads.
    ///
    /// # Panics
    ///
    /// When `g` was computed on another tape, or before the tape was cleared.
    pub fn gradients_into(&self, g: &Gradients, out: &mut Vec<f64>) {
        out.clear();
        out.extend(self.params.iter().map(|&p| g.wrt(p)));
    }

    /// The gradient of every parameter, in the store's order, as a new vector.
    ///
    /// # Panics
    ///
    /// As [`gradients_into`](BoundMlp::gradients_into).
    pub fn gradients(&self, g: &Gradients) -> Vec<f64> {
        let mut out = Vec::with_capacity(self.params.len());
        self.gradients_into(g, &mut out);
        out
    }
}

/// Serialization behind the `serde` feature: what is read is checked as [`Mlp::from_text`]
/// checks a parameter file, so that no invalid store or network can be built this way.
#[cfg(feature = "serde")]
mod serde_impls {
    use super::*;
    use serde::de::{self, MapAccess, Visitor};
    use serde::ser::SerializeMap;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    /// By its name, as parameter files write it: `"tanh"`, `"leaky_relu(0.01)"`.
    #[cfg_attr(docsrs, doc(cfg(feature = "serde")))]
    impl Serialize for Activation {
        fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            serializer.collect_str(self)
        }
    }

    /// From its name; a leaky ReLU's slope must be finite.
    #[cfg_attr(docsrs, doc(cfg(feature = "serde")))]
    impl<'de> Deserialize<'de> for Activation {
        fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            let name = std::borrow::Cow::<'de, str>::deserialize(deserializer)?;
            name.parse().map_err(de::Error::custom)
        }
    }

    /// As a map from name to value, in the store's order: `{"slope": 2.0, "offset": -1.0}`.
    #[cfg_attr(docsrs, doc(cfg(feature = "serde")))]
    impl Serialize for Params {
        fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            let mut map = serializer.serialize_map(Some(self.len()))?;
            for (name, value) in self.iter() {
                map.serialize_entry(name, &value)?;
            }
            map.end()
        }
    }

    /// From a map from name to value, in the map's order. A NaN or infinite value is refused
    /// with [`Error::NonFiniteParameter`] naming the parameter, a name given twice with
    /// [`Error::DuplicateParameter`].
    #[cfg_attr(docsrs, doc(cfg(feature = "serde")))]
    impl<'de> Deserialize<'de> for Params {
        fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            deserializer.deserialize_map(ParamsVisitor)
        }
    }

    struct ParamsVisitor;

    impl<'de> Visitor<'de> for ParamsVisitor {
        type Value = Params;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a map from parameter names to finite numbers")
        }

        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Params, A::Error> {
            let mut params = Params::new();
            while let Some((name, value)) = map.next_entry::<String, f64>()? {
                if params.index_of(&name).is_some() {
                    return Err(de::Error::custom(Error::DuplicateParameter { name }));
                }
                params.push(name, value).map_err(de::Error::custom)?;
            }
            Ok(params)
        }
    }

    /// What an [`Mlp`] is written as: its architecture and its parameters.
    #[derive(Serialize)]
    #[serde(rename = "Mlp")]
    struct MlpRef<'a> {
        sizes: Vec<usize>,
        activations: Vec<Activation>,
        params: &'a Params,
    }

    /// What an [`Mlp`] is read from, before it is checked.
    #[derive(Deserialize)]
    #[serde(rename = "Mlp", deny_unknown_fields)]
    struct MlpData {
        sizes: Vec<usize>,
        activations: Vec<Activation>,
        params: Params,
    }

    impl TryFrom<MlpData> for Mlp {
        type Error = Error;

        fn try_from(data: MlpData) -> Result<Self, Error> {
            let mlp = Mlp {
                layers: layers_of(&data.sizes, &data.activations)?.into(),
                params: data.params,
            };
            let expected: usize = mlp.layers.iter().map(Layer::parameter_count).sum();
            if mlp.params.len() != expected {
                return Err(Error::ParameterCount {
                    architecture: mlp.architecture(),
                    expected,
                    actual: mlp.params.len(),
                });
            }
            let mut names = mlp.params.names.iter().enumerate();
            for (l, layer) in mlp.layers.iter().enumerate() {
                for j in 0..layer.neurons {
                    for i in 0..=layer.inputs {
                        let expected = if i < layer.inputs {
                            weight_name(l, j, i)
                        } else {
                            bias_name(l, j)
                        };
                        let (index, actual) = names
                            .next()
                            .expect("invariant: the parameter count was checked");
                        if *actual != expected {
                            return Err(Error::ParameterName {
                                index,
                                expected,
                                actual: actual.clone(),
                            });
                        }
                    }
                }
            }
            Ok(mlp)
        }
    }

    /// As its layer sizes (inputs first), its activations by name and its parameters by name:
    /// `{"sizes": [2, 4, 1], "activations": ["tanh", "sigmoid"], "params": {"layer0.neuron0.w0":
    /// 0.5, …}}`.
    #[cfg_attr(docsrs, doc(cfg(feature = "serde")))]
    impl Serialize for Mlp {
        fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            MlpRef {
                sizes: self.sizes(),
                activations: self.layers.iter().map(|l| l.activation).collect(),
                params: &self.params,
            }
            .serialize(serializer)
        }
    }

    /// Checked as [`Mlp::from_text`] checks a file: an unusable architecture is an
    /// [`Error::BadArchitecture`], a parameter count that does not fit the layers an
    /// [`Error::ParameterCount`] (expected and actual), a parameter out of place an
    /// [`Error::ParameterName`], and a NaN or infinite parameter an
    /// [`Error::NonFiniteParameter`] naming it.
    #[cfg_attr(docsrs, doc(cfg(feature = "serde")))]
    impl<'de> Deserialize<'de> for Mlp {
        fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            Mlp::try_from(MlpData::deserialize(deserializer)?).map_err(de::Error::custom)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::OpKind;
    use rand::{SeedableRng, rngs::StdRng};

    fn xor_net() -> Mlp {
        let acts = [Activation::Tanh, Activation::Sigmoid];
        Mlp::new(
            &[2, 4, 1],
            &acts,
            &Init::default(),
            &mut StdRng::seed_from_u64(3),
        )
        .expect("valid architecture")
    }

    #[test]
    fn a_neuron_records_one_dot_one_bias_add_and_its_activation() {
        let mlp = Mlp::new(
            &[3, 1],
            &[Activation::Tanh],
            &Init::default(),
            &mut StdRng::seed_from_u64(0),
        )
        .unwrap();
        let tape = Tape::new();
        let mut net = mlp.bind(&tape);
        let leaves = tape.len();
        let y = net.forward(&[1.0, 2.0, 3.0]).unwrap()[0];
        assert_eq!(tape.len(), leaves + 3);
        assert_eq!(tape.kind(y), OpKind::Tanh);
    }

    #[test]
    fn a_hidden_layer_reads_vars_and_records_a_dot_of_vars() {
        let tape = Tape::new();
        let mut net = xor_net().bind(&tape);
        let leaves = tape.len();
        let _ = net.forward(&[1.0, 0.0]).unwrap();
        // 4 hidden neurons and 1 output neuron, three nodes each.
        assert_eq!(tape.len(), leaves + 5 * 3);
    }

    #[test]
    fn rebinding_reuses_the_buffers_of_the_dropped_binding() {
        let mlp = xor_net();
        let mut tape = Tape::new();
        let pointers = |net: &BoundMlp| {
            [
                net.params.as_ptr() as usize,
                net.current.as_ptr() as usize,
                net.next.as_ptr() as usize,
            ]
        };
        let first = {
            let mut net = mlp.bind(&tape);
            net.forward(&[1.0, 0.0]).unwrap();
            pointers(&net)
        };
        tape.clear();
        let net = mlp.bind(&tape);
        assert_eq!(pointers(&net), first);
    }

    #[test]
    fn forgetting_the_lifetime_keeps_the_allocation() {
        let tape = Tape::new();
        let mut v = Vec::with_capacity(64);
        v.push(tape.var(1.0));
        let ptr = v.as_ptr() as usize;
        let kept = spare::forget_lifetime(v);
        assert!(kept.is_empty());
        assert_eq!(kept.capacity(), 64);
        assert_eq!(kept.as_ptr() as usize, ptr);
    }
}
