//! The suite's networks: fully connected networks of several widths and depths, each activation
//! of [`Activation`] and each loss of [`tapegrad::loss`] somewhere among them, trained full batch
//! over a fixed data set. Recorded with the library's [`Layer`]s and losses; the hand-written
//! gradient is backpropagation written out for any sizes, activations and loss.
//!
//! Parameters are laid out as [`Layer`] reads them: layer after layer, each neuron's weights then
//! its bias.

use tapegrad::nn::{Activation, Layer};
use tapegrad::{Tape, Var, loss};

use super::{Kind, Size, Workload, rng, sigmoid, softplus, uniform};

/// The loss of a network over its whole data set, each one of [`tapegrad::loss`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Loss {
    /// [`loss::mse`] over every output of every point.
    Mse,
    /// [`loss::mae`] over every output of every point.
    Mae,
    /// [`loss::binary_cross_entropy`] on sigmoid outputs, labels 0 or 1.
    BinaryCrossEntropy,
    /// [`loss::binary_cross_entropy_with_logits`] on identity outputs, labels 0 or 1.
    BinaryCrossEntropyWithLogits,
    /// [`loss::hinge`] on identity outputs, labels -1 or 1.
    Hinge,
    /// [`loss::softmax_cross_entropy`] of each point's outputs, averaged over the points.
    SoftmaxCrossEntropy,
}

impl Loss {
    fn name(self) -> &'static str {
        match self {
            Loss::Mse => "mse",
            Loss::Mae => "mae",
            Loss::BinaryCrossEntropy => "bce",
            Loss::BinaryCrossEntropyWithLogits => "bce with logits",
            Loss::Hinge => "hinge",
            Loss::SoftmaxCrossEntropy => "softmax cross-entropy",
        }
    }
}

/// A network, its data and its loss, with the hand-written gradient's buffers.
pub struct Network {
    label: String,
    sizes: Vec<usize>,
    activations: Vec<Activation>,
    layers: Vec<Layer>,
    /// Where each layer's parameters start, and the total at the end.
    offsets: Vec<usize>,
    loss: Loss,
    /// `λ` of an added [`loss::l2_penalty`] on every parameter.
    l2: Option<f64>,
    points: usize,
    /// `points × sizes[0]` input values.
    inputs: Vec<f64>,
    /// `points × outputs` targets or labels; for softmax cross-entropy one class per point.
    targets: Vec<f64>,
    /// The parameters the benchmark takes the gradient at.
    start: Vec<f64>,
    /// Activations of the current point, `a[0]` its inputs and `a[l + 1]` layer `l`'s outputs.
    a: Vec<Vec<f64>>,
    /// Weighted sums of the current point, `z[l]` layer `l`'s.
    z: Vec<Vec<f64>>,
    /// Adjoints of the weighted sums, `d[l]` layer `l`'s.
    d: Vec<Vec<f64>>,
    /// The partials of the loss with respect to the current point's outputs.
    d_out: Vec<f64>,
}

impl Network {
    /// A network with layer sizes `sizes` (inputs first), one activation per layer, `loss` over
    /// `points` deterministic points, and an L2 penalty `λ` on every parameter if given.
    pub fn new(
        sizes: &[usize],
        activations: &[Activation],
        loss: Loss,
        l2: Option<f64>,
        points: usize,
        seed: u64,
    ) -> Self {
        assert!(
            sizes.len() == activations.len() + 1,
            "network: {} sizes need {} activations, got {}",
            sizes.len(),
            sizes.len() - 1,
            activations.len()
        );
        assert!(sizes[0] >= 2, "network: the data need at least 2 inputs");
        let layers: Vec<Layer> = sizes
            .windows(2)
            .zip(activations)
            .map(|(w, &act)| Layer::new(w[0], w[1], act).expect("valid layer sizes"))
            .collect();
        let mut offsets = vec![0];
        for w in sizes.windows(2) {
            offsets.push(offsets.last().unwrap() + (w[0] + 1) * w[1]);
        }
        let mut rng = rng(seed);
        let (n_in, n_out) = (sizes[0], *sizes.last().unwrap());
        let inputs = uniform(&mut rng, points * n_in, -1.0, 1.0);
        let targets = inputs
            .chunks(n_in)
            .flat_map(|x| target(loss, x, n_out))
            .collect();
        let mut start = Vec::with_capacity(*offsets.last().unwrap());
        for w in sizes.windows(2) {
            let scale = 1.5 / (w[0] as f64).sqrt();
            for _ in 0..w[1] {
                start.extend(uniform(&mut rng, w[0], -scale, scale));
                start.extend(uniform(&mut rng, 1, -0.1, 0.1));
            }
        }
        let sizes_text: Vec<String> = sizes.iter().map(usize::to_string).collect();
        let acts: Vec<String> = activations.iter().map(|a| a.to_string()).collect();
        let mut label = format!(
            "mlp {} ({}) + {}",
            sizes_text.join("-"),
            acts.join(", "),
            loss.name()
        );
        if l2.is_some() {
            label += " + l2";
        }
        label += &format!(", {points} points");
        Network {
            label,
            sizes: sizes.to_vec(),
            activations: activations.to_vec(),
            layers,
            offsets,
            loss,
            l2,
            points,
            inputs,
            targets,
            start,
            a: sizes.iter().map(|&n| vec![0.0; n]).collect(),
            z: sizes[1..].iter().map(|&n| vec![0.0; n]).collect(),
            d: sizes[1..].iter().map(|&n| vec![0.0; n]).collect(),
            d_out: vec![0.0; n_out],
        }
    }

    /// The outputs of the network at point `i` into `self.a`, the weighted sums into `self.z`.
    fn forward(&mut self, p: &[f64], i: usize) {
        let n_in = self.sizes[0];
        self.a[0].copy_from_slice(&self.inputs[i * n_in..(i + 1) * n_in]);
        for (l, &act) in self.activations.iter().enumerate() {
            let fan_in = self.sizes[l];
            let w = &p[self.offsets[l]..self.offsets[l + 1]];
            let (before, after) = self.a.split_at_mut(l + 1);
            let (input, output) = (&before[l], &mut after[0]);
            let z = &mut self.z[l];
            for (zj, neuron) in z.iter_mut().zip(w.chunks_exact(fan_in + 1)) {
                *zj = dot(&neuron[..fan_in], input) + neuron[fan_in];
            }
            activate(act, z, output);
        }
    }

    /// Number of elements the mean losses average over.
    fn elements(&self) -> usize {
        self.points * self.sizes.last().unwrap()
    }
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// The target of a point for `loss`: smooth values for regression, a label for classification.
fn target(loss: Loss, x: &[f64], outputs: usize) -> Vec<f64> {
    let side = (3.0 * x[0]).sin() + x[1] * x[x.len() - 1] > 0.0;
    match loss {
        Loss::Mse | Loss::Mae => (0..outputs)
            .map(|o| {
                let s: f64 = x
                    .iter()
                    .enumerate()
                    .map(|(k, v)| 0.5 * (k + o + 1) as f64 * v)
                    .sum();
                0.8 * s.sin()
            })
            .collect(),
        Loss::BinaryCrossEntropy | Loss::BinaryCrossEntropyWithLogits => {
            vec![if side { 1.0 } else { 0.0 }; outputs]
        }
        Loss::Hinge => vec![if side { 1.0 } else { -1.0 }; outputs],
        Loss::SoftmaxCrossEntropy => {
            let t = (x[0] + 0.5 * x[1] + 1.5) / 3.0;
            vec![((t * outputs as f64) as usize).min(outputs - 1) as f64]
        }
    }
}

/// `out[j] = act(z[j])`, the activation chosen once per layer rather than once per neuron.
fn activate(act: Activation, z: &[f64], out: &mut [f64]) {
    let pairs = z.iter().zip(out.iter_mut());
    match act {
        Activation::Identity => out.copy_from_slice(z),
        Activation::Sigmoid => pairs.for_each(|(&s, o)| *o = sigmoid(s)),
        Activation::Tanh => pairs.for_each(|(&s, o)| *o = s.tanh()),
        Activation::Relu => pairs.for_each(|(&s, o)| *o = if s > 0.0 { s } else { 0.0 }),
        Activation::LeakyRelu(slope) => {
            pairs.for_each(|(&s, o)| *o = if s > 0.0 { s } else { slope * s })
        }
        Activation::Softplus => pairs.for_each(|(&s, o)| *o = softplus(s)),
    }
}

/// `d[j] *= act'(z[j])`, where `a[j] = act(z[j])`: the chain rule through a layer's activation.
fn times_activation_partial(act: Activation, z: &[f64], a: &[f64], d: &mut [f64]) {
    let triples = z.iter().zip(a).zip(d.iter_mut());
    match act {
        Activation::Identity => {}
        Activation::Sigmoid => triples.for_each(|((_, &a), d)| *d *= a * (1.0 - a)),
        Activation::Tanh => triples.for_each(|((_, &a), d)| *d *= 1.0 - a * a),
        Activation::Relu => triples.for_each(|((&s, _), d)| *d = if s > 0.0 { *d } else { 0.0 }),
        Activation::LeakyRelu(slope) => {
            triples.for_each(|((&s, _), d)| *d = if s > 0.0 { *d } else { slope * *d })
        }
        Activation::Softplus => triples.for_each(|((&s, _), d)| *d *= sigmoid(s)),
    }
}

/// The loss of one element `p` against `y`, and its partial, before the mean.
fn element(loss: Loss, p: f64, y: f64) -> (f64, f64) {
    match loss {
        Loss::Mse => {
            let d = p - y;
            (d * d, 2.0 * d)
        }
        Loss::Mae => {
            let d = p - y;
            let sign = if d > 0.0 {
                1.0
            } else if d < 0.0 {
                -1.0
            } else {
                0.0
            };
            (d.abs(), sign)
        }
        Loss::BinaryCrossEntropy => {
            // Labels are exactly 0 or 1: one of the two logarithms has weight 0.
            if y == 1.0 {
                (-p.ln(), -1.0 / p)
            } else {
                (-(1.0 - p).ln(), 1.0 / (1.0 - p))
            }
        }
        Loss::BinaryCrossEntropyWithLogits => (softplus(p) - p * y, sigmoid(p) - y),
        Loss::Hinge => {
            let margin = 1.0 - y * p;
            if margin > 0.0 {
                (margin, -y)
            } else {
                (0.0, 0.0)
            }
        }
        Loss::SoftmaxCrossEntropy => unreachable!("softmax cross-entropy is not elementwise"),
    }
}

/// `ln Σ e^v` shifted by the largest `v`, and the softmax into `out`.
fn log_sum_exp(v: &[f64], out: &mut [f64]) -> f64 {
    let m = v.iter().copied().fold(v[0], f64::max);
    let mut total = 0.0;
    for (o, &x) in out.iter_mut().zip(v) {
        *o = (x - m).exp();
        total += *o;
    }
    for o in out.iter_mut() {
        *o /= total;
    }
    m + total.ln()
}

impl Workload for Network {
    fn name(&self) -> String {
        self.label.clone()
    }

    fn kind(&self) -> Kind {
        Kind::Network
    }

    fn point(&self) -> &[f64] {
        &self.start
    }

    fn plain(&mut self, p: &[f64]) -> f64 {
        self.loss_and_gradient(p, None)
    }

    fn hand(&mut self, p: &[f64], grad: &mut [f64]) -> f64 {
        self.loss_and_gradient(p, Some(grad))
    }

    fn record<'t>(&self, tape: &'t Tape, p: &[Var<'t>]) -> Var<'t> {
        let n_in = self.sizes[0];
        let mut outputs = Vec::with_capacity(self.elements());
        let mut terms = Vec::new();
        let (mut current, mut next) = (Vec::new(), Vec::new());
        for (i, x) in self.inputs.chunks_exact(n_in).enumerate() {
            current.clear();
            self.layers[0]
                .forward_into(&p[..self.offsets[1]], x, &mut current)
                .expect("the points have as many values as the network has inputs");
            for (l, layer) in self.layers.iter().enumerate().skip(1) {
                next.clear();
                layer
                    .forward_into(
                        &p[self.offsets[l]..self.offsets[l + 1]],
                        current.as_slice(),
                        &mut next,
                    )
                    .expect("each layer takes the last one's outputs");
                std::mem::swap(&mut current, &mut next);
            }
            if self.loss == Loss::SoftmaxCrossEntropy {
                terms.push(loss::softmax_cross_entropy(
                    &current,
                    self.targets[i] as usize,
                ));
            } else {
                outputs.extend_from_slice(&current);
            }
        }
        let t = &self.targets;
        let data_loss = match self.loss {
            Loss::Mse => loss::mse(&outputs, t),
            Loss::Mae => loss::mae(&outputs, t),
            Loss::BinaryCrossEntropy => loss::binary_cross_entropy(&outputs, t),
            Loss::BinaryCrossEntropyWithLogits => {
                loss::binary_cross_entropy_with_logits(&outputs, t)
            }
            Loss::Hinge => loss::hinge(&outputs, t),
            Loss::SoftmaxCrossEntropy => tape.sum(&terms) * (1.0 / self.points as f64),
        };
        match self.l2 {
            Some(lambda) => data_loss + loss::l2_penalty(p, lambda),
            None => data_loss,
        }
    }
}

impl Network {
    /// The loss, and with `grad` its gradient by backpropagation, point by point.
    fn loss_and_gradient(&mut self, p: &[f64], mut grad: Option<&mut [f64]>) -> f64 {
        if let Some(g) = grad.as_deref_mut() {
            g.fill(0.0);
        }
        let last = self.activations.len() - 1;
        let n_out = self.sizes[last + 1];
        // Every loss is a mean: over the points for softmax cross-entropy, else over elements.
        let scale = if self.loss == Loss::SoftmaxCrossEntropy {
            1.0 / self.points as f64
        } else {
            1.0 / self.elements() as f64
        };
        let mut d_out = std::mem::take(&mut self.d_out);
        let mut total = 0.0;
        for i in 0..self.points {
            self.forward(p, i);
            let out = &self.a[last + 1];
            if self.loss == Loss::SoftmaxCrossEntropy {
                let class = self.targets[i] as usize;
                total += log_sum_exp(out, &mut d_out) - out[class];
                d_out[class] -= 1.0;
            } else {
                let y = &self.targets[i * n_out..(i + 1) * n_out];
                for ((&o, &y), d) in out.iter().zip(y).zip(d_out.iter_mut()) {
                    let (value, partial) = element(self.loss, o, y);
                    total += value;
                    *d = partial;
                }
            }
            let Some(g) = grad.as_deref_mut() else {
                continue;
            };
            // d_out holds d(loss)/d(output) before the mean's scale.
            for (dj, &d) in self.d[last].iter_mut().zip(&d_out) {
                *dj = d * scale;
            }
            let act = self.activations[last];
            times_activation_partial(act, &self.z[last], &self.a[last + 1], &mut self.d[last]);
            self.backward(p, g);
        }
        self.d_out = d_out;
        let mut value = total * scale;
        if let Some(lambda) = self.l2 {
            value += lambda * p.iter().map(|v| v * v).sum::<f64>();
            if let Some(g) = grad {
                for (g, v) in g.iter_mut().zip(p) {
                    *g += 2.0 * lambda * v;
                }
            }
        }
        value
    }

    /// Adds the current point's terms to `grad`, from the adjoints of the last layer's weighted
    /// sums in `self.d`.
    fn backward(&mut self, p: &[f64], grad: &mut [f64]) {
        for l in (0..self.activations.len()).rev() {
            let fan_in = self.sizes[l];
            let w = &p[self.offsets[l]..self.offsets[l + 1]];
            let g = &mut grad[self.offsets[l]..self.offsets[l + 1]];
            let input = &self.a[l];
            let (below, here) = self.d.split_at_mut(l);
            let delta = &here[0];
            if let Some(d_in) = below.last_mut() {
                d_in.fill(0.0);
                for ((wj, gj), &dj) in w
                    .chunks_exact(fan_in + 1)
                    .zip(g.chunks_exact_mut(fan_in + 1))
                    .zip(delta.iter())
                {
                    let weights = gj[..fan_in].iter_mut().zip(input);
                    let inputs = d_in.iter_mut().zip(&wj[..fan_in]);
                    for ((gk, &ik), (dk, &wk)) in weights.zip(inputs) {
                        *gk += dj * ik;
                        *dk += dj * wk;
                    }
                    gj[fan_in] += dj;
                }
                let act = self.activations[l - 1];
                times_activation_partial(act, &self.z[l - 1], input, d_in);
            } else {
                for (gj, &dj) in g.chunks_exact_mut(fan_in + 1).zip(delta.iter()) {
                    for (gk, &ik) in gj[..fan_in].iter_mut().zip(input) {
                        *gk += dj * ik;
                    }
                    gj[fan_in] += dj;
                }
            }
        }
    }
}

/// The suite's networks: each activation and each loss at least once.
pub fn all(size: Size) -> Vec<Box<dyn super::Workload>> {
    use Activation::*;
    let points = |bench| size.pick(bench, 12);
    vec![
        Box::new(Network::new(
            &[2, 16, 16, 1],
            &[Tanh, Tanh, Identity],
            Loss::Mse,
            None,
            points(256),
            1,
        )),
        Box::new(Network::new(
            &[8, 32, 32, 4],
            &[Relu, Relu, Identity],
            Loss::SoftmaxCrossEntropy,
            None,
            points(128),
            2,
        )),
        Box::new(Network::new(
            &[4, 16, 1],
            &[Sigmoid, Identity],
            Loss::BinaryCrossEntropyWithLogits,
            None,
            points(256),
            3,
        )),
        Box::new(Network::new(
            &[3, 12, 12, 1],
            &[Softplus, Softplus, Sigmoid],
            Loss::BinaryCrossEntropy,
            None,
            points(256),
            4,
        )),
        Box::new(Network::new(
            &[6, 24, 1],
            &[LeakyRelu(0.01), Identity],
            Loss::Hinge,
            Some(1e-3),
            points(256),
            5,
        )),
        Box::new(Network::new(
            &[5, 8, 8, 8, 2],
            &[Tanh, Softplus, Sigmoid, Identity],
            Loss::Mae,
            None,
            points(256),
            6,
        )),
    ]
}
