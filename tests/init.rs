//! Initializers: the empirical moments of a large layer match each formula, bad arguments are
//! errors with their values, seeds reproduce networks, and random weights break the symmetry
//! that constant weights keep forever.

use rand::{SeedableRng, rngs::StdRng};
use tapegrad::init::Init;
use tapegrad::nn::{Activation, Mlp};
use tapegrad::optim::{Optimizer, Sgd};
use tapegrad::{Error, Tape};

const FAN_IN: usize = 200;
const FAN_OUT: usize = 100;

/// The weights (not the biases) of a `FAN_IN -> FAN_OUT` layer drawn from `init`.
fn layer_weights(init: &Init, seed: u64) -> Vec<f64> {
    let mlp = Mlp::new(
        &[FAN_IN, FAN_OUT],
        &[Activation::Identity],
        init,
        &mut StdRng::seed_from_u64(seed),
    )
    .unwrap();
    mlp.parameters()
        .iter()
        .filter(|(name, _)| !name.ends_with(".b"))
        .map(|(_, v)| v)
        .collect()
}

/// Asserts that the sample mean and variance of `xs` match `mean` and `variance` within five
/// standard errors. `kurtosis` is the distribution's `E[(x-μ)⁴] / σ⁴` (3 for a normal, 9/5 for a
/// uniform), which sets the standard error of the sample variance: `σ² √((κ - 1) / n)`.
fn assert_moments(xs: &[f64], mean: f64, variance: f64, kurtosis: f64) {
    let n = xs.len() as f64;
    let m = xs.iter().sum::<f64>() / n;
    let v = xs.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (n - 1.0);
    let se_mean = (variance / n).sqrt();
    let se_var = variance * ((kurtosis - 1.0) / n).sqrt();
    assert!(
        (m - mean).abs() < 5.0 * se_mean,
        "mean {m}, expected {mean} ± {}",
        5.0 * se_mean
    );
    assert!(
        (v - variance).abs() < 5.0 * se_var,
        "variance {v}, expected {variance} ± {}",
        5.0 * se_var
    );
}

const NORMAL: f64 = 3.0;
const UNIFORM: f64 = 9.0 / 5.0;

#[test]
fn weights_of_a_large_layer_number_fan_in_times_fan_out() {
    assert_eq!(layer_weights(&Init::default(), 0).len(), FAN_IN * FAN_OUT);
}

#[test]
fn default_init_is_uniform_in_minus_to_plus_point_three() {
    let w = layer_weights(&Init::default(), 1);
    assert!(w.iter().all(|x| (-0.3..0.3).contains(x)));
    // U(a, b): variance (b - a)² / 12.
    assert_moments(&w, 0.0, 0.6f64.powi(2) / 12.0, UNIFORM);
}

#[test]
fn uniform_matches_its_mean_and_variance() {
    let w = layer_weights(&Init::uniform(1.0, 4.0).unwrap(), 2);
    assert!(w.iter().all(|x| (1.0..4.0).contains(x)));
    assert_moments(&w, 2.5, 9.0 / 12.0, UNIFORM);
}

#[test]
fn normal_matches_its_mean_and_variance() {
    let w = layer_weights(&Init::normal(2.0, 0.5).unwrap(), 3);
    assert_moments(&w, 2.0, 0.25, NORMAL);
}

#[test]
fn xavier_uniform_has_variance_two_over_fan_in_plus_fan_out() {
    let w = layer_weights(&Init::xavier_uniform(), 4);
    let r = (6.0 / (FAN_IN + FAN_OUT) as f64).sqrt();
    assert!(w.iter().all(|x| x.abs() <= r));
    assert_moments(&w, 0.0, 2.0 / (FAN_IN + FAN_OUT) as f64, UNIFORM);
}

#[test]
fn xavier_normal_has_variance_two_over_fan_in_plus_fan_out() {
    let w = layer_weights(&Init::xavier_normal(), 5);
    assert_moments(&w, 0.0, 2.0 / (FAN_IN + FAN_OUT) as f64, NORMAL);
}

#[test]
fn he_uniform_has_variance_two_over_fan_in() {
    let w = layer_weights(&Init::he_uniform(), 6);
    let r = (6.0 / FAN_IN as f64).sqrt();
    assert!(w.iter().all(|x| x.abs() <= r));
    assert_moments(&w, 0.0, 2.0 / FAN_IN as f64, UNIFORM);
}

#[test]
fn he_normal_has_variance_two_over_fan_in() {
    let w = layer_weights(&Init::he_normal(), 7);
    assert_moments(&w, 0.0, 2.0 / FAN_IN as f64, NORMAL);
}

#[test]
fn the_moment_check_rejects_the_wrong_formula() {
    // Xavier and He differ by a factor 1.5 in variance here; the tolerance must tell them apart,
    // or the tests above could not fail.
    let w = layer_weights(&Init::he_normal(), 8);
    let xavier_variance = 2.0 / (FAN_IN + FAN_OUT) as f64;
    let result = std::panic::catch_unwind(|| assert_moments(&w, 0.0, xavier_variance, NORMAL));
    assert!(result.is_err());
}

#[test]
fn zeros_and_constant_fill_every_weight() {
    assert!(layer_weights(&Init::zeros(), 0).iter().all(|&x| x == 0.0));
    let c = Init::constant(-0.25).unwrap();
    assert!(layer_weights(&c, 0).iter().all(|&x| x == -0.25));
}

#[test]
fn biases_are_zero_unless_initialized_separately() {
    let mut rng = StdRng::seed_from_u64(9);
    let acts = [Activation::Tanh, Activation::Sigmoid];
    let mlp = Mlp::new(&[3, 4, 2], &acts, &Init::default(), &mut rng).unwrap();
    let biases: Vec<f64> = mlp
        .parameters()
        .iter()
        .filter(|(name, _)| name.ends_with(".b"))
        .map(|(_, v)| v)
        .collect();
    assert_eq!(biases, vec![0.0; 6]);

    let bias_init = Init::constant(0.5).unwrap();
    let mlp = Mlp::with_biases(&[3, 4, 2], &acts, &Init::zeros(), &bias_init, &mut rng).unwrap();
    for (name, value) in mlp.parameters().iter() {
        let expected = if name.ends_with(".b") { 0.5 } else { 0.0 };
        assert_eq!(value, expected, "{name}");
    }
}

#[test]
fn the_same_seed_gives_the_same_network_and_another_seed_another() {
    let acts = [Activation::Relu, Activation::Identity];
    let make = |seed| {
        let mut rng = StdRng::seed_from_u64(seed);
        Mlp::new(&[4, 8, 3], &acts, &Init::he_normal(), &mut rng).unwrap()
    };
    assert_eq!(make(11), make(11));
    assert_ne!(make(11), make(12));
}

#[test]
fn an_empty_uniform_range_is_an_error_with_both_bounds() {
    let err = Init::uniform(1.0, -1.0).unwrap_err();
    assert_eq!(
        err,
        Error::EmptyRange {
            low: 1.0,
            high: -1.0
        }
    );
    assert_eq!(
        err.to_string(),
        "uniform init needs low < high, got low = 1, high = -1"
    );
    assert_eq!(
        Init::uniform(0.5, 0.5).unwrap_err().to_string(),
        "uniform init needs low < high, got low = 0.5, high = 0.5"
    );
    assert_eq!(
        Init::uniform(f64::NAN, 1.0).unwrap_err().to_string(),
        "uniform init needs low < high, got low = NaN, high = 1"
    );
}

#[test]
fn an_infinite_uniform_bound_is_an_error() {
    assert_eq!(
        Init::uniform(f64::NEG_INFINITY, 0.0)
            .unwrap_err()
            .to_string(),
        "uniform init low must be a finite number, got -inf"
    );
    assert_eq!(
        Init::uniform(0.0, f64::INFINITY).unwrap_err().to_string(),
        "uniform init high must be a finite number, got inf"
    );
}

#[test]
fn a_negative_or_non_finite_std_is_an_error_with_its_value() {
    assert_eq!(
        Init::normal(0.0, -0.5).unwrap_err(),
        Error::InvalidHyperparameter {
            name: "normal init std",
            expected: "a finite number >= 0",
            value: -0.5
        }
    );
    assert_eq!(
        Init::normal(0.0, f64::NAN).unwrap_err().to_string(),
        "normal init std must be a finite number >= 0, got NaN"
    );
    assert_eq!(
        Init::normal(f64::INFINITY, 1.0).unwrap_err().to_string(),
        "normal init mean must be a finite number, got inf"
    );
    assert!(Init::normal(1.0, 0.0).is_ok());
}

/// Trains a 2-3-1 network on XOR for `steps` full-batch steps and returns it.
fn train(mut mlp: Mlp, steps: usize) -> Mlp {
    let data = [
        ([0.0, 0.0], 0.0),
        ([0.0, 1.0], 1.0),
        ([1.0, 0.0], 1.0),
        ([1.0, 1.0], 0.0),
    ];
    let mut opt = Sgd::new(0.5).unwrap();
    let mut tape = Tape::new();
    let mut grads = Vec::new();
    for _ in 0..steps {
        tape.clear();
        let mut net = mlp.bind(&tape);
        let mut loss = tape.constant(0.0);
        for (x, y) in &data {
            let out = net.forward(x).unwrap()[0];
            loss += (out - *y).powi(2);
        }
        net.gradients_into(&loss.backward(), &mut grads);
        opt.step(mlp.parameters_mut(), &grads);
    }
    mlp
}

/// The parameters of hidden neuron `j`: its two weights and its bias.
fn hidden_neuron(mlp: &Mlp, j: usize) -> Vec<f64> {
    ["w0", "w1", "b"]
        .iter()
        .map(|p| {
            mlp.parameters()
                .get(&format!("layer0.neuron{j}.{p}"))
                .unwrap()
        })
        .collect()
}

fn xor_net(weights: &Init, biases: &Init) -> Mlp {
    let acts = [Activation::Tanh, Activation::Sigmoid];
    let mut rng = StdRng::seed_from_u64(21);
    Mlp::with_biases(&[2, 3, 1], &acts, weights, biases, &mut rng).unwrap()
}

#[test]
fn constant_weights_keep_every_hidden_neuron_identical_through_training() {
    for (weights, biases) in [
        (Init::zeros(), Init::zeros()),
        (Init::constant(0.3).unwrap(), Init::constant(0.1).unwrap()),
    ] {
        let trained = train(xor_net(&weights, &biases), 50);
        let first = hidden_neuron(&trained, 0);
        for j in 1..3 {
            assert_eq!(hidden_neuron(&trained, j), first, "neuron {j}");
        }
    }
}

#[test]
fn constant_nonzero_weights_do_move_the_hidden_neurons() {
    // Not a vacuous symmetry: the identical neurons did learn something.
    let weights = Init::constant(0.3).unwrap();
    let start = xor_net(&weights, &Init::zeros());
    let trained = train(start.clone(), 50);
    assert_ne!(hidden_neuron(&trained, 0), hidden_neuron(&start, 0));
}

#[test]
fn random_weights_break_the_symmetry() {
    let trained = train(xor_net(&Init::xavier_uniform(), &Init::zeros()), 50);
    let first = hidden_neuron(&trained, 0);
    for j in 1..3 {
        assert_ne!(hidden_neuron(&trained, j), first, "neuron {j}");
    }
}
