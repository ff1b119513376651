//! The networks of W3 and W4 — a tanh network with a sigmoid output, its mean squared error
//! recorded with core operations, one SGD step by recording, by replay and by hand-written
//! backprop — shared by `benches/replay.rs` and `benches/replay_best.rs`. Parameters live in one
//! flat vector, layer after layer, each neuron's weights then its bias.
#![allow(dead_code)]

use tapegrad::{CompiledTape, Tape, Var};

/// Deterministic data: `n` points in [-1, 1]² with a smooth target in (0, 1).
pub fn dataset(n: usize) -> Vec<([f64; 2], f64)> {
    (0..n)
        .map(|i| {
            let a = ((i as f64) * 0.618_033_988_75).fract() * 2.0 - 1.0;
            let b = ((i as f64) * 0.414_213_562_37).fract() * 2.0 - 1.0;
            ([a, b], 0.5 + 0.4 * (3.0 * a).sin() * b)
        })
        .collect()
}

/// Deterministic initial parameters in [-0.5, 0.5].
pub fn initial(count: usize) -> Vec<f64> {
    (0..count)
        .map(|i| ((i as f64) * 0.754_877_666_2).fract() - 0.5)
        .collect()
}

/// The layer sizes of a fully connected network, inputs first.
pub fn param_count(sizes: &[usize]) -> usize {
    sizes.windows(2).map(|w| (w[0] + 1) * w[1]).sum()
}

/// Mean squared error of a tanh network with a sigmoid output, recorded with core operations.
pub fn network_loss<'t>(
    tape: &'t Tape,
    p: &[Var<'t>],
    sizes: &[usize],
    data: &[([f64; 2], f64)],
) -> Var<'t> {
    let last = sizes.len() - 2;
    let terms: Vec<Var<'t>> = data
        .iter()
        .map(|(x, y)| {
            let mut at = 0;
            // The first layer multiplies Var weights by plain data.
            let mut acts: Vec<Var<'t>> = (0..sizes[1])
                .map(|_| {
                    let z = tape.dot(&p[at..at + 2], x) + p[at + 2];
                    at += 3;
                    if last == 0 { z.sigmoid() } else { z.tanh() }
                })
                .collect();
            for (l, w) in sizes.windows(2).enumerate().skip(1) {
                let (fan_in, fan_out) = (w[0], w[1]);
                acts = (0..fan_out)
                    .map(|_| {
                        let z = tape.dot(&p[at..at + fan_in], &acts) + p[at + fan_in];
                        at += fan_in + 1;
                        if l == last { z.sigmoid() } else { z.tanh() }
                    })
                    .collect();
            }
            (acts[0] - *y).powi(2)
        })
        .collect();
    tape.sum(&terms) * (1.0 / data.len() as f64)
}

/// One SGD step by recording afresh.
pub fn recording_step(
    params: &mut [f64],
    sizes: &[usize],
    data: &[([f64; 2], f64)],
    lr: f64,
) -> f64 {
    let tape = Tape::new();
    let p = tape.vars(params);
    let loss = network_loss(&tape, &p, sizes, data);
    let g = loss.backward();
    for (w, v) in params.iter_mut().zip(&p) {
        *w -= lr * g[*v];
    }
    loss.value()
}

/// Records the loss once, with the parameters as inputs and the data as constants.
pub fn compile_network(params: &[f64], sizes: &[usize], data: &[([f64; 2], f64)]) -> CompiledTape {
    let tape = Tape::new();
    let p = tape.vars(params);
    let loss = network_loss(&tape, &p, sizes, data);
    tape.compile(&p, &[loss]).expect("no custom ops")
}

/// One SGD step by replay.
pub fn replay_step(compiled: &mut CompiledTape, params: &mut [f64], lr: f64) -> f64 {
    let r = compiled.run(params).expect("no guards");
    let loss = r.value();
    for (w, g) in params.iter_mut().zip(r.grad()) {
        *w -= lr * g;
    }
    loss
}

pub fn sigmoid(x: f64) -> f64 {
    // As the library computes it: `e^(-|x|)` either way and the numerator chosen by value, so
    // that neither side pays a mispredicted jump on the sign.
    let e = (-x.abs()).exp();
    (if x >= 0.0 { 1.0 } else { e }) / (1.0 + e)
}

/// Hand-written backprop for a 2-H-H-1 (two hidden layers, `DEPTH2`) or 2-H-1 network, with
/// fixed-size buffers; returns the loss and applies one SGD step.
pub fn hand_step<const H: usize, const DEPTH2: bool>(
    params: &mut [f64],
    grad: &mut [f64],
    data: &[([f64; 2], f64)],
    lr: f64,
) -> f64 {
    let n1 = 3 * H; // first layer
    let n2 = if DEPTH2 { (H + 1) * H } else { 0 };
    let (o1, o2, o3) = (0, n1, n1 + n2);
    grad.iter_mut().for_each(|g| *g = 0.0);
    let scale = 1.0 / data.len() as f64;
    let mut loss = 0.0;
    let mut h1 = [0.0; H];
    let mut h2 = [0.0; H];
    for (x, y) in data {
        for j in 0..H {
            let w = &params[o1 + 3 * j..o1 + 3 * j + 3];
            h1[j] = (w[0] * x[0] + w[1] * x[1] + w[2]).tanh();
        }
        let top: &[f64; H] = if DEPTH2 {
            for k in 0..H {
                let w = &params[o2 + (H + 1) * k..o2 + (H + 1) * (k + 1)];
                let z: f64 = w[..H].iter().zip(&h1).map(|(a, b)| a * b).sum::<f64>() + w[H];
                h2[k] = z.tanh();
            }
            &h2
        } else {
            &h1
        };
        let w = &params[o3..o3 + H + 1];
        let z: f64 = w[..H].iter().zip(top).map(|(a, b)| a * b).sum::<f64>() + w[H];
        let o = sigmoid(z);
        let e = o - y;
        loss += e * e * scale;
        let dz = 2.0 * e * scale * o * (1.0 - o);
        for k in 0..H {
            grad[o3 + k] += dz * top[k];
        }
        grad[o3 + H] += dz;
        // Back through the hidden layers.
        let dtop: [f64; H] = std::array::from_fn(|k| dz * w[k] * (1.0 - top[k] * top[k]));
        let d1: [f64; H] = if DEPTH2 {
            let mut d1 = [0.0; H];
            for (k, &dk) in dtop.iter().enumerate() {
                let base = o2 + (H + 1) * k;
                for j in 0..H {
                    grad[base + j] += dk * h1[j];
                    d1[j] += dk * params[base + j];
                }
                grad[base + H] += dk;
            }
            for (d, h) in d1.iter_mut().zip(&h1) {
                *d *= 1.0 - h * h;
            }
            d1
        } else {
            dtop
        };
        for (j, &dj) in d1.iter().enumerate() {
            let base = o1 + 3 * j;
            grad[base] += dj * x[0];
            grad[base + 1] += dj * x[1];
            grad[base + 2] += dj;
        }
    }
    for (w, g) in params.iter_mut().zip(grad.iter()) {
        *w -= lr * g;
    }
    loss
}

/// The four XOR points and their targets.
pub const XOR: [([f64; 2], f64); 4] = [
    ([0.0, 0.0], 0.0),
    ([0.0, 1.0], 1.0),
    ([1.0, 0.0], 1.0),
    ([1.0, 1.0], 0.0),
];
