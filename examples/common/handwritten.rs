//! Backpropagation written by hand, in plain `f64`, for the networks of `benches/nn.rs`: tanh
//! hidden layers, one sigmoid output, mean squared error. It is the yardstick tapegrad is timed
//! against; `tests/train_xor.rs` checks that it gives tapegrad's gradient to 1e-12.
//!
//! Parameters are laid out as in `tapegrad::nn::Mlp`: layer by layer, neuron by neuron, a
//! neuron's weights then its bias.
#![allow(dead_code)]

/// A tanh/…/tanh/sigmoid network with the buffers one gradient computation needs.
#[derive(Debug, Clone)]
pub struct Net {
    sizes: Vec<usize>,
    pub params: Vec<f64>,
    /// Activations of every layer for the current point, inputs first.
    acts: Vec<Vec<f64>>,
    /// ∂loss/∂(weighted sum) of every non-input layer for the current point.
    deltas: Vec<Vec<f64>>,
}

impl Net {
    pub fn new(sizes: &[usize], params: &[f64]) -> Self {
        let expected: usize = sizes.windows(2).map(|p| p[1] * (p[0] + 1)).sum();
        assert_eq!(
            params.len(),
            expected,
            "Net::new: sizes {sizes:?} take {expected} parameters, got {}",
            params.len()
        );
        Net {
            sizes: sizes.to_vec(),
            params: params.to_vec(),
            acts: sizes.iter().map(|&n| vec![0.0; n]).collect(),
            deltas: sizes[1..].iter().map(|&n| vec![0.0; n]).collect(),
        }
    }

    /// The output for `x`; leaves every layer's activations in `self.acts`.
    pub fn forward(&mut self, x: &[f64]) -> f64 {
        let layers = self.sizes.len() - 1;
        self.acts[0].copy_from_slice(x);
        let mut offset = 0;
        for l in 0..layers {
            let (fan_in, fan_out) = (self.sizes[l], self.sizes[l + 1]);
            let (before, after) = self.acts.split_at_mut(l + 1);
            let input = &before[l];
            let output = &mut after[0];
            for (j, out) in output.iter_mut().enumerate().take(fan_out) {
                let w = &self.params[offset + j * (fan_in + 1)..offset + (j + 1) * (fan_in + 1)];
                let mut z = 0.0;
                for (wi, ai) in w[..fan_in].iter().zip(input) {
                    z += wi * ai;
                }
                z += w[fan_in];
                *out = if l + 1 == layers {
                    1.0 / (1.0 + (-z).exp())
                } else {
                    z.tanh()
                };
            }
            offset += fan_out * (fan_in + 1);
        }
        self.acts[layers][0]
    }

    /// The mean squared error over the points and its gradient, written into `grad`.
    pub fn mse_gradient(&mut self, xs: &[[f64; 2]], ys: &[f64], grad: &mut [f64]) -> f64 {
        grad.iter_mut().for_each(|g| *g = 0.0);
        let layers = self.sizes.len() - 1;
        let inv_n = 1.0 / xs.len() as f64;
        let mut total = 0.0;
        for (x, &y) in xs.iter().zip(ys) {
            let out = self.forward(x);
            let d = out - y;
            total += d * d;
            // Output neuron: ∂loss/∂out = 2 d / n, sigmoid' = out (1 - out).
            self.deltas[layers - 1][0] = 2.0 * d * inv_n * out * (1.0 - out);
            let mut offset = grad.len();
            for l in (0..layers).rev() {
                let (fan_in, fan_out) = (self.sizes[l], self.sizes[l + 1]);
                offset -= fan_out * (fan_in + 1);
                let (lower, upper) = self.deltas.split_at_mut(l);
                let delta = &upper[0];
                let input = &self.acts[l];
                for (j, &dj) in delta.iter().enumerate() {
                    let base = offset + j * (fan_in + 1);
                    let g = &mut grad[base..base + fan_in + 1];
                    for (gi, ai) in g[..fan_in].iter_mut().zip(input) {
                        *gi += dj * ai;
                    }
                    g[fan_in] += dj;
                }
                if l > 0 {
                    // Back into hidden layer l (tanh): δᵢ = (Σⱼ wⱼᵢ δⱼ) (1 - aᵢ²).
                    let below = &mut lower[l - 1];
                    for (i, b) in below.iter_mut().enumerate() {
                        let mut s = 0.0;
                        for (j, &dj) in delta.iter().enumerate() {
                            s += self.params[offset + j * (fan_in + 1) + i] * dj;
                        }
                        let a = input[i];
                        *b = s * (1.0 - a * a);
                    }
                }
            }
        }
        total * inv_n
    }
}
