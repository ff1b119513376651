//! The `serde` feature: a run stops and resumes bit for bit through JSON, and deserializing
//! refuses what the text loader and the setters refuse, naming the culprit.
#![cfg(feature = "serde")]

mod common;

use common::bits;

use rand::{SeedableRng, rngs::StdRng};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_test::{Token, assert_de_tokens_error};
use tapegrad::init::Init;
use tapegrad::nn::{Activation, Mlp, Params};
use tapegrad::optim::{Adam, Optimizer, Schedule, Sgd};
use tapegrad::{Tape, loss};

const XS: [[f64; 2]; 4] = [[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]];
const YS: [f64; 4] = [0.0, 1.0, 1.0, 0.0];

fn xor_mlp() -> Mlp {
    let acts = [Activation::Tanh, Activation::Sigmoid];
    Mlp::new(
        &[2, 4, 1],
        &acts,
        &Init::xavier_uniform(),
        &mut StdRng::seed_from_u64(7),
    )
    .unwrap()
}

/// `steps` full-batch steps on XOR through `Optimizer::step`; the losses' bits, step by step.
fn train_mlp(mlp: &mut Mlp, opt: &mut impl Optimizer, steps: usize) -> Vec<u64> {
    let mut tape = Tape::new();
    let mut grads = Vec::new();
    let mut losses = Vec::new();
    for _ in 0..steps {
        tape.clear();
        let mut net = mlp.bind(&tape);
        let out = net.forward_batch(&XS).unwrap();
        let l = loss::mse(&out, &YS);
        losses.push(l.value().to_bits());
        net.gradients_into(&l.backward(), &mut grads);
        opt.step(mlp.parameters_mut(), &grads);
    }
    losses
}

/// `steps` steps of fitting `y = a + b x + c x²` to four points through
/// `Optimizer::step_slice`: a model whose parameters are a plain slice.
fn train_slice(values: &mut [f64], opt: &mut impl Optimizer, steps: usize) -> Vec<u64> {
    let points = [(-1.0, 2.0), (0.0, 0.5), (0.5, 1.0), (2.0, -1.0)];
    let mut losses = Vec::new();
    for _ in 0..steps {
        let tape = Tape::new();
        let p = tape.vars(values);
        let predictions: Vec<_> = points
            .iter()
            .map(|&(x, _)| p[0] + p[1] * x + p[2] * (x * x))
            .collect();
        let targets: Vec<f64> = points.iter().map(|&(_, y)| y).collect();
        let l = loss::mse(&predictions, &targets);
        losses.push(l.value().to_bits());
        let grads = l.backward().wrt_all(&p);
        opt.step_slice(values, &grads);
    }
    losses
}

/// Trains `k + n` steps in one go, and `k` steps, a JSON round trip of the model and the
/// optimizer, then `n` steps: losses, parameters and optimizer state must agree bit for bit.
fn assert_resumes_bit_for_bit<O>(make: impl Fn() -> O)
where
    O: Optimizer + Serialize + DeserializeOwned + PartialEq + std::fmt::Debug,
{
    let (k, n) = (7, 9);

    let (mut whole, mut whole_opt) = (xor_mlp(), make());
    let whole_losses = train_mlp(&mut whole, &mut whole_opt, k + n);
    let (mut first, mut first_opt) = (xor_mlp(), make());
    let mut losses = train_mlp(&mut first, &mut first_opt, k);
    let json = serde_json::to_string(&(&first, &first_opt)).unwrap();
    drop((first, first_opt));
    let (mut resumed, mut resumed_opt): (Mlp, O) = serde_json::from_str(&json).unwrap();
    assert_eq!(resumed_opt.steps(), k);
    losses.extend(train_mlp(&mut resumed, &mut resumed_opt, n));
    assert_eq!(losses, whole_losses, "losses, Params form");
    assert_eq!(
        bits(resumed.parameters().values()),
        bits(whole.parameters().values())
    );
    assert_eq!(resumed_opt, whole_opt);

    let start = [0.3, -0.2, 0.1];
    let (mut whole, mut whole_opt) = (start, make());
    let whole_losses = train_slice(&mut whole, &mut whole_opt, k + n);
    let (mut first, mut first_opt) = (start, make());
    let mut losses = train_slice(&mut first, &mut first_opt, k);
    let json = serde_json::to_string(&(first, &first_opt)).unwrap();
    let (mut resumed, mut resumed_opt): ([f64; 3], O) = serde_json::from_str(&json).unwrap();
    losses.extend(train_slice(&mut resumed, &mut resumed_opt, n));
    assert_eq!(losses, whole_losses, "losses, slice form");
    assert_eq!(bits(&resumed), bits(&whole));
    assert_eq!(resumed_opt, whole_opt);
}

#[test]
fn sgd_with_momentum_resumes_bit_for_bit() {
    assert_resumes_bit_for_bit(|| {
        let schedule = Schedule::step_decay(0.5, 0.7, 4).unwrap();
        Sgd::with_schedule(schedule).momentum(0.9).unwrap()
    });
}

#[test]
fn sgd_with_nesterov_weight_decay_and_warm_up_resumes_bit_for_bit() {
    assert_resumes_bit_for_bit(|| {
        let schedule = Schedule::warmup(3, Schedule::cosine(0.4, 0.01, 10).unwrap()).unwrap();
        Sgd::with_schedule(schedule)
            .nesterov(0.8)
            .unwrap()
            .weight_decay(1e-3)
            .unwrap()
    });
}

#[test]
fn adam_resumes_bit_for_bit() {
    assert_resumes_bit_for_bit(|| Adam::new(0.05).unwrap());
}

#[test]
fn adam_with_every_hyper_parameter_and_a_schedule_resumes_bit_for_bit() {
    assert_resumes_bit_for_bit(|| {
        let schedule = Schedule::warmup(2, Schedule::linear(0.1, 0.02, 12).unwrap()).unwrap();
        Adam::with_schedule(schedule)
            .betas(0.8, 0.99)
            .unwrap()
            .eps(1e-6)
            .unwrap()
            .weight_decay(0.01)
            .unwrap()
    });
}

#[test]
fn every_schedule_round_trips() {
    let schedules = [
        Schedule::constant(0.1).unwrap(),
        Schedule::step_decay(0.1, 0.5, 3).unwrap(),
        Schedule::exponential(0.3, 0.99).unwrap(),
        Schedule::linear(0.2, 0.0, 7).unwrap(),
        Schedule::cosine(0.2, 0.05, 9).unwrap(),
        Schedule::warmup(5, Schedule::exponential(0.3, 0.9).unwrap()).unwrap(),
    ];
    for s in schedules {
        let json = serde_json::to_string(&s).unwrap();
        let back: Schedule = serde_json::from_str(&json).unwrap();
        assert_eq!(back, s, "{json}");
    }
}

#[test]
fn an_mlp_and_an_optimizer_read_as_plain_json() {
    let mlp = Mlp::new(
        &[1, 1],
        &[Activation::LeakyRelu(0.01)],
        &Init::constant(0.1).unwrap(),
        &mut StdRng::seed_from_u64(0),
    )
    .unwrap();
    assert_eq!(
        serde_json::to_string(&mlp).unwrap(),
        r#"{"sizes":[1,1],"activations":["leaky_relu(0.01)"],"params":{"layer0.neuron0.w0":0.1,"layer0.neuron0.b":0.0}}"#
    );
    let sgd = Sgd::new(0.1).unwrap().momentum(0.9).unwrap();
    assert_eq!(
        serde_json::to_string(&sgd).unwrap(),
        r#"{"schedule":{"warmup":0,"decay":{"constant":0.1}},"momentum":0.9,"nesterov":false,"weight_decay":0.0,"velocity":[],"steps":0}"#
    );
    let adam =
        Adam::with_schedule(Schedule::warmup(2, Schedule::linear(0.1, 0.0, 5).unwrap()).unwrap());
    assert_eq!(
        serde_json::to_string(&adam).unwrap(),
        r#"{"schedule":{"warmup":2,"decay":{"linear":{"lr":0.1,"last":0.0,"steps":5}}},"beta1":0.9,"beta2":0.999,"eps":1e-8,"weight_decay":0.0,"m":[],"v":[],"steps":0}"#
    );
}

#[test]
fn extreme_finite_values_round_trip_to_the_bit() {
    let mut params = Params::new();
    let values = [
        -0.0,
        5e-324,
        1e-310,
        f64::MAX,
        f64::MIN,
        0.1 + 0.2,
        1.0 / 3.0,
    ];
    for (i, &v) in values.iter().enumerate() {
        params.push(format!("p{i}"), v).unwrap();
    }
    let back: Params = serde_json::from_str(&serde_json::to_string(&params).unwrap()).unwrap();
    assert_eq!(bits(back.values()), bits(&values));
    assert!(back.names().eq(params.names()));
}

/// The message of a JSON deserialization error, without serde_json's position.
fn json_error<T: DeserializeOwned + std::fmt::Debug>(json: &str) -> String {
    let err = serde_json::from_str::<T>(json).unwrap_err().to_string();
    match err.rfind(" at line ") {
        Some(at) => err[..at].to_string(),
        None => err,
    }
}

const MLP_1_1: &str = r#"{"sizes":[1,1],"activations":["tanh"],"params":{"layer0.neuron0.w0":0.5,"layer0.neuron0.b":-0.25}}"#;

#[test]
fn a_json_mlp_loads_and_predicts() {
    let mlp: Mlp = serde_json::from_str(MLP_1_1).unwrap();
    assert_eq!(mlp.architecture(), "1-1 (tanh)");
    assert_eq!(
        mlp.predict(&[2.0]).unwrap(),
        vec![(0.5f64 * 2.0 - 0.25).tanh()]
    );
}

#[test]
fn a_parameter_count_that_does_not_fit_the_layers_is_refused_with_both_counts() {
    let json = MLP_1_1.replace(r#","layer0.neuron0.b":-0.25"#, "");
    assert_eq!(
        json_error::<Mlp>(&json),
        "the architecture 1-1 (tanh) has 2 parameters, got 1"
    );
}

#[test]
fn a_parameter_out_of_place_is_refused_naming_the_expected_name() {
    let json = MLP_1_1.replace("layer0.neuron0.b", "layer0.neuron0.w1");
    assert_eq!(
        json_error::<Mlp>(&json),
        "parameter 1 must be named \"layer0.neuron0.b\", got \"layer0.neuron0.w1\""
    );
    let json = MLP_1_1.replace("layer0.neuron0.b", "layer0.neuron0.w0");
    assert_eq!(
        json_error::<Mlp>(&json),
        "two parameters are named \"layer0.neuron0.w0\"; each parameter needs its own name"
    );
}

#[test]
fn a_bad_architecture_or_activation_is_refused() {
    let json = MLP_1_1.replace(r#""sizes":[1,1]"#, r#""sizes":[1,0]"#);
    assert_eq!(
        json_error::<Mlp>(&json),
        "bad architecture: every layer needs at least one neuron and at least one input, got \
         sizes [1, 0] and 1 activations"
    );
    let json = MLP_1_1.replace("tanh", "leaky_relu(NaN)");
    assert_eq!(
        json_error::<Mlp>(&json),
        "unknown activation `leaky_relu(NaN)`; expected identity, sigmoid, tanh, relu, \
         leaky_relu(<finite slope>) or softplus"
    );
    let json = MLP_1_1.replace(r#""sizes""#, r#""extra":1,"sizes""#);
    assert!(
        json_error::<Mlp>(&json).starts_with("unknown field `extra`"),
        "{}",
        json_error::<Mlp>(&json)
    );
}

#[test]
fn json_cannot_carry_an_infinite_or_nan_parameter() {
    // A literal too large for an f64 is an error in serde_json, not an infinity.
    let json = MLP_1_1.replace("-0.25", "1e400");
    assert_eq!(json_error::<Mlp>(&json), "number out of range");
    // serde_json writes NaN and infinity as null, which does not read back as a number.
    let mut mlp: Mlp = serde_json::from_str(MLP_1_1).unwrap();
    mlp.parameters_mut().values_mut()[1] = f64::NAN;
    let json = serde_json::to_string(&mlp).unwrap();
    assert!(json.contains(r#""layer0.neuron0.b":null"#), "{json}");
    assert_eq!(json_error::<Mlp>(&json), "invalid type: null, expected f64");
}

/// The tokens of a 1-1 tanh network whose bias is `bias`.
fn mlp_tokens(bias: f64) -> Vec<Token> {
    vec![
        Token::Struct {
            name: "Mlp",
            len: 3,
        },
        Token::Str("sizes"),
        Token::Seq { len: Some(2) },
        Token::U64(1),
        Token::U64(1),
        Token::SeqEnd,
        Token::Str("activations"),
        Token::Seq { len: Some(1) },
        Token::Str("tanh"),
        Token::SeqEnd,
        Token::Str("params"),
        Token::Map { len: Some(2) },
        Token::Str("layer0.neuron0.w0"),
        Token::F64(0.5),
        Token::Str("layer0.neuron0.b"),
        Token::F64(bias),
        Token::MapEnd,
        Token::StructEnd,
    ]
}

#[test]
fn a_nan_or_infinite_parameter_is_refused_naming_it() {
    // A format that can hold NaN and infinity, as serde_test's tokens can.
    for (bias, shown) in [
        (f64::NAN, "NaN"),
        (f64::INFINITY, "inf"),
        (f64::NEG_INFINITY, "-inf"),
    ] {
        let mut tokens = mlp_tokens(bias);
        // Reading stops at the refused number.
        tokens.truncate(tokens.len() - 2);
        assert_de_tokens_error::<Mlp>(
            &tokens,
            &format!("parameter \"layer0.neuron0.b\" must be a finite number, got {shown}"),
        );
    }
    assert_de_tokens_error::<Params>(
        &[
            Token::Map { len: Some(2) },
            Token::Str("slope"),
            Token::F64(f64::NAN),
        ],
        "parameter \"slope\" must be a finite number, got NaN",
    );
}

/// The tokens of the field `schedule` holding a constant learning rate `lr`.
fn constant_schedule_tokens(lr: f64) -> [Token; 8] {
    [
        Token::Str("schedule"),
        Token::Struct {
            name: "Schedule",
            len: 2,
        },
        Token::Str("warmup"),
        Token::U64(0),
        Token::Str("decay"),
        Token::NewtypeVariant {
            name: "Decay",
            variant: "constant",
        },
        Token::F64(lr),
        Token::StructEnd,
    ]
}

/// The tokens of an Adam state with moments `m` and `v`.
fn adam_tokens(m: &[f64], v: &[f64]) -> Vec<Token> {
    let mut tokens = vec![Token::Struct {
        name: "Adam",
        len: 8,
    }];
    tokens.extend(constant_schedule_tokens(0.1));
    tokens.extend([
        Token::Str("beta1"),
        Token::F64(0.9),
        Token::Str("beta2"),
        Token::F64(0.999),
        Token::Str("eps"),
        Token::F64(1e-8),
        Token::Str("weight_decay"),
        Token::F64(0.0),
        Token::Str("m"),
        Token::Seq { len: Some(m.len()) },
    ]);
    tokens.extend(m.iter().map(|&x| Token::F64(x)));
    tokens.extend([
        Token::SeqEnd,
        Token::Str("v"),
        Token::Seq { len: Some(v.len()) },
    ]);
    tokens.extend(v.iter().map(|&x| Token::F64(x)));
    tokens.extend([
        Token::SeqEnd,
        Token::Str("steps"),
        Token::U64(3),
        Token::StructEnd,
    ]);
    tokens
}

#[test]
fn adam_moments_that_are_not_finite_are_refused_naming_the_parameter() {
    let mut adam = Adam::new(0.1).unwrap();
    for _ in 0..3 {
        adam.step_slice(&mut [0.0, 0.0], &[1.0, 2.0]);
    }
    let json = serde_json::to_value(&adam).unwrap();
    let moments = |key: &str| -> Vec<f64> { serde_json::from_value(json[key].clone()).unwrap() };
    serde_test::assert_tokens(&adam, &adam_tokens(&moments("m"), &moments("v")));
    assert_de_tokens_error::<Adam>(
        &adam_tokens(&[1.0, f64::NAN], &[1.0, 1.0]),
        "the first moment of parameter 1 must be a finite number, got NaN",
    );
    assert_de_tokens_error::<Adam>(
        &adam_tokens(&[1.0, 1.0], &[f64::INFINITY, 1.0]),
        "the second moment of parameter 0 must be a finite number >= 0, got inf",
    );
    assert_de_tokens_error::<Adam>(
        &adam_tokens(&[1.0, 1.0], &[1.0, -0.5]),
        "the second moment of parameter 1 must be a finite number >= 0, got -0.5",
    );
    assert_de_tokens_error::<Adam>(
        &adam_tokens(&[1.0, 1.0], &[1.0]),
        "adam state holds 2 first moments and 1 second moments; it needs one of each per \
         parameter",
    );
}

#[test]
fn an_sgd_velocity_that_is_not_finite_is_refused_naming_the_parameter() {
    let json = r#"{"schedule":{"warmup":0,"decay":{"constant":0.1}},"momentum":0.9,"nesterov":false,"weight_decay":0.0,"velocity":[0.5,VALUE],"steps":2}"#;
    let sgd: Sgd = serde_json::from_str(&json.replace("VALUE", "-0.5")).unwrap();
    assert_eq!(sgd.steps(), 2);
    assert_eq!(
        json_error::<Sgd>(&json.replace("VALUE", "1e999")),
        "number out of range"
    );
    let mut tokens = vec![Token::Struct {
        name: "Sgd",
        len: 6,
    }];
    tokens.extend(constant_schedule_tokens(0.1));
    tokens.extend([
        Token::Str("momentum"),
        Token::F64(0.9),
        Token::Str("nesterov"),
        Token::Bool(false),
        Token::Str("weight_decay"),
        Token::F64(0.0),
        Token::Str("velocity"),
        Token::Seq { len: Some(2) },
        Token::F64(0.5),
        Token::F64(f64::NEG_INFINITY),
        Token::SeqEnd,
        Token::Str("steps"),
        Token::U64(2),
        Token::StructEnd,
    ]);
    assert_de_tokens_error::<Sgd>(
        &tokens,
        "the velocity of parameter 1 must be a finite number, got -inf",
    );
}

#[test]
fn hyper_parameters_out_of_range_are_refused_as_their_setters_refuse_them() {
    let sgd = r#"{"schedule":{"warmup":0,"decay":{"constant":0.1}},"momentum":0.9,"nesterov":false,"weight_decay":0.0,"velocity":[],"steps":0}"#;
    assert_eq!(
        json_error::<Sgd>(&sgd.replace(r#"{"constant":0.1}"#, r#"{"constant":-0.1}"#)),
        "learning rate must be a positive finite number, got -0.1"
    );
    assert_eq!(
        json_error::<Sgd>(&sgd.replace(r#""momentum":0.9"#, r#""momentum":1.0"#)),
        "momentum must be in [0, 1), got 1"
    );
    assert_eq!(
        json_error::<Sgd>(&sgd.replace(
            r#""momentum":0.9,"nesterov":false"#,
            r#""momentum":0.0,"nesterov":true"#
        )),
        "nesterov momentum must be in (0, 1), got 0"
    );
    assert_eq!(
        json_error::<Sgd>(&sgd.replace(r#""weight_decay":0.0"#, r#""weight_decay":-1.0"#)),
        "weight decay must be a finite number >= 0, got -1"
    );
    assert_eq!(
        json_error::<Sgd>(&sgd.replace(
            r#"{"constant":0.1}"#,
            r#"{"step":{"lr":0.1,"factor":0.5,"every":0}}"#
        )),
        "step decay interval must be at least 1 step, got 0"
    );
    assert_eq!(
        json_error::<Schedule>(
            r#"{"warmup":0,"decay":{"cosine":{"lr":0.1,"last":0.2,"steps":3}}}"#
        ),
        "final learning rate must be in [0, lr], from 0 to the initial learning rate, got 0.2"
    );
    let adam = serde_json::to_string(&Adam::new(0.1).unwrap()).unwrap();
    assert_eq!(
        json_error::<Adam>(&adam.replace(r#""beta2":0.999"#, r#""beta2":1.0"#)),
        "beta2 must be in [0, 1), got 1"
    );
    assert_eq!(
        json_error::<Adam>(&adam.replace(r#""eps":1e-8"#, r#""eps":0.0"#)),
        "eps must be a positive finite number, got 0"
    );
}
