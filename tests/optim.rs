//! Optimizers: each update rule against a hand computation, convergence on a quadratic,
//! schedules, and the errors and panics for bad hyper-parameters and gradient buffers.

mod common;

use common::bits;

use tapegrad::Error;
use tapegrad::nn::Params;
use tapegrad::optim::{Adam, Optimizer, Schedule, Sgd};

fn params(values: &[f64]) -> Params {
    let mut p = Params::new();
    for (i, &v) in values.iter().enumerate() {
        p.push(format!("p{i}"), v).unwrap();
    }
    p
}

fn assert_close(actual: &[f64], expected: &[f64]) {
    assert_eq!(actual.len(), expected.len());
    for (a, e) in actual.iter().zip(expected) {
        assert!(
            (a - e).abs() <= 1e-12 * e.abs().max(1.0),
            "{actual:?} != {expected:?}"
        );
    }
}

#[test]
fn sgd_subtracts_learning_rate_times_gradient() {
    let mut p = params(&[1.0, -2.0]);
    let mut sgd = Sgd::new(0.1).unwrap();
    // p = p - 0.1 g
    sgd.step(&mut p, &[1.0, -4.0]);
    assert_close(p.values(), &[0.9, -1.6]);
    sgd.step(&mut p, &[0.5, 2.0]);
    assert_close(p.values(), &[0.85, -1.8]);
    sgd.step(&mut p, &[-1.0, 0.0]);
    assert_close(p.values(), &[0.95, -1.8]);
    assert_eq!(sgd.steps(), 3);
}

#[test]
fn sgd_momentum_accumulates_velocity() {
    let mut p = params(&[1.0]);
    let mut sgd = Sgd::new(0.1).unwrap().momentum(0.9).unwrap();
    // v1 = 1                 p = 1 - 0.1       = 0.9
    // v2 = 0.9 * 1 + 2 = 2.9 p = 0.9 - 0.29    = 0.61
    // v3 = 0.9 * 2.9 - 1 = 1.61  p = 0.61 - 0.161 = 0.449
    sgd.step(&mut p, &[1.0]);
    assert_close(p.values(), &[0.9]);
    sgd.step(&mut p, &[2.0]);
    assert_close(p.values(), &[0.61]);
    sgd.step(&mut p, &[-1.0]);
    assert_close(p.values(), &[0.449]);
}

#[test]
fn sgd_nesterov_looks_ahead_along_the_velocity() {
    let mut p = params(&[1.0]);
    let mut sgd = Sgd::new(0.1).unwrap().nesterov(0.9).unwrap();
    // v1 = 1,    step = g + 0.9 v = 1 + 0.9     = 1.9    p = 1 - 0.19       = 0.81
    // v2 = 2.9,  step = 2 + 0.9 * 2.9 = 4.61           p = 0.81 - 0.461   = 0.349
    // v3 = 1.61, step = -1 + 0.9 * 1.61 = 0.449        p = 0.349 - 0.0449 = 0.3041
    sgd.step(&mut p, &[1.0]);
    assert_close(p.values(), &[0.81]);
    sgd.step(&mut p, &[2.0]);
    assert_close(p.values(), &[0.349]);
    sgd.step(&mut p, &[-1.0]);
    assert_close(p.values(), &[0.3041]);
}

#[test]
fn sgd_weight_decay_adds_lambda_p_to_the_gradient() {
    let mut p = params(&[2.0, -1.0]);
    let mut sgd = Sgd::new(0.5).unwrap().weight_decay(0.1).unwrap();
    // d = g + 0.1 p: (0 + 0.2, 1 - 0.1) = (0.2, 0.9); p = p - 0.5 d = (1.9, -1.45)
    sgd.step(&mut p, &[0.0, 1.0]);
    assert_close(p.values(), &[1.9, -1.45]);
    // d = (0.19, 0.855); p = (1.805, -1.8775)
    sgd.step(&mut p, &[0.0, 1.0]);
    assert_close(p.values(), &[1.805, -1.8775]);
}

#[test]
fn sgd_weight_decay_applies_before_momentum() {
    let mut p = params(&[1.0]);
    let mut sgd = Sgd::new(0.1)
        .unwrap()
        .momentum(0.5)
        .unwrap()
        .weight_decay(1.0)
        .unwrap();
    // d1 = 0 + 1 = 1,       v1 = 1,                p = 0.9
    // d2 = 0 + 0.9 = 0.9,   v2 = 0.5 + 0.9 = 1.4,  p = 0.9 - 0.14 = 0.76
    sgd.step(&mut p, &[0.0]);
    sgd.step(&mut p, &[0.0]);
    assert_close(p.values(), &[0.76]);
}

/// Adam's update for one parameter, written out step by step from the paper.
struct AdamByHand {
    m: f64,
    v: f64,
    t: i32,
}

impl AdamByHand {
    fn step(&mut self, p: f64, g: f64, lr: f64, b1: f64, b2: f64, eps: f64) -> f64 {
        self.t += 1;
        self.m = b1 * self.m + (1.0 - b1) * g;
        self.v = b2 * self.v + (1.0 - b2) * g * g;
        let m_hat = self.m / (1.0 - b1.powi(self.t));
        let v_hat = self.v / (1.0 - b2.powi(self.t));
        p - lr * m_hat / (v_hat.sqrt() + eps)
    }
}

#[test]
fn adam_first_step_moves_by_the_learning_rate() {
    let mut p = params(&[1.0, 1.0]);
    let mut adam = Adam::new(0.01).unwrap().eps(1e-12).unwrap();
    // m̂ = g and v̂ = g² after one step, so the update is lr * g / |g|.
    adam.step(&mut p, &[3.0, -0.5]);
    assert_close(p.values(), &[0.99, 1.01]);
}

#[test]
fn adam_matches_the_hand_computation_for_three_steps() {
    let (lr, b1, b2, eps) = (0.1, 0.8, 0.9, 1e-3);
    let mut p = params(&[0.5, -1.0]);
    let mut adam = Adam::new(lr)
        .unwrap()
        .betas(b1, b2)
        .unwrap()
        .eps(eps)
        .unwrap();
    let mut hand = [
        AdamByHand {
            m: 0.0,
            v: 0.0,
            t: 0,
        },
        AdamByHand {
            m: 0.0,
            v: 0.0,
            t: 0,
        },
    ];
    let mut expected = [0.5, -1.0];
    // Step 1 for p0 written out: m = 0.2 * 2 = 0.4, v = 0.1 * 4 = 0.4, m̂ = 2, v̂ = 4,
    // p0 = 0.5 - 0.1 * 2 / (2 + 0.001).
    for (step, grads) in [[2.0, 1.0], [-1.0, 0.5], [0.25, -3.0]].iter().enumerate() {
        adam.step(&mut p, grads);
        for i in 0..2 {
            expected[i] = hand[i].step(expected[i], grads[i], lr, b1, b2, eps);
        }
        if step == 0 {
            assert_close(&[p.values()[0]], &[0.5 - 0.2 / 2.001]);
        }
        assert_close(p.values(), &expected);
    }
}

#[test]
fn adam_weight_decay_adds_lambda_p_to_the_gradient() {
    let mut with_decay = params(&[2.0]);
    let mut folded = params(&[2.0]);
    let mut a = Adam::new(0.1).unwrap().weight_decay(0.5).unwrap();
    let mut b = Adam::new(0.1).unwrap();
    for g in [1.0, -2.0, 0.5] {
        a.step(&mut with_decay, &[g]);
        let decayed = g + 0.5 * folded.values()[0];
        b.step(&mut folded, &[decayed]);
    }
    assert_eq!(with_decay.values(), folded.values());
}

/// Gradient of `f(p) = Σ aᵢ (pᵢ - cᵢ)²`.
fn quadratic_grad(p: &[f64]) -> Vec<f64> {
    const A: [f64; 3] = [1.0, 4.0, 0.5];
    const C: [f64; 3] = [3.0, -1.0, 2.0];
    p.iter()
        .zip(A.iter().zip(&C))
        .map(|(p, (a, c))| 2.0 * a * (p - c))
        .collect()
}

fn minimize(opt: &mut impl Optimizer, steps: usize) -> Vec<f64> {
    let mut p = params(&[0.0, 0.0, 0.0]);
    for _ in 0..steps {
        let g = quadratic_grad(p.values());
        opt.step(&mut p, &g);
    }
    p.values().to_vec()
}

fn assert_at_minimum(p: &[f64], tol: f64) {
    for (p, c) in p.iter().zip([3.0, -1.0, 2.0]) {
        assert!((p - c).abs() < tol, "{p} is not within {tol} of {c}");
    }
}

#[test]
fn sgd_converges_on_a_quadratic() {
    assert_at_minimum(&minimize(&mut Sgd::new(0.1).unwrap(), 200), 1e-6);
}

#[test]
fn sgd_with_momentum_and_nesterov_converge_on_a_quadratic() {
    let mut momentum = Sgd::new(0.05).unwrap().momentum(0.5).unwrap();
    assert_at_minimum(&minimize(&mut momentum, 300), 1e-6);
    let mut nesterov = Sgd::new(0.05).unwrap().nesterov(0.5).unwrap();
    assert_at_minimum(&minimize(&mut nesterov, 300), 1e-6);
}

#[test]
fn adam_converges_on_a_quadratic() {
    let mut adam = Adam::with_schedule(Schedule::exponential(0.1, 0.995).unwrap());
    assert_at_minimum(&minimize(&mut adam, 2000), 1e-3);
}

#[test]
fn step_decay_multiplies_the_rate_every_interval() {
    let s = Schedule::step_decay(0.8, 0.5, 2).unwrap();
    let rates: Vec<f64> = (0..6).map(|t| s.learning_rate(t)).collect();
    assert_eq!(rates, vec![0.8, 0.8, 0.4, 0.4, 0.2, 0.2]);
}

#[test]
fn exponential_decay_multiplies_the_rate_every_step() {
    let s = Schedule::exponential(1.0, 0.5).unwrap();
    let rates: Vec<f64> = (0..4).map(|t| s.learning_rate(t)).collect();
    assert_eq!(rates, vec![1.0, 0.5, 0.25, 0.125]);
}

#[test]
fn sgd_follows_its_schedule_step_by_step() {
    let mut p = params(&[0.0]);
    let mut sgd = Sgd::with_schedule(Schedule::step_decay(1.0, 0.5, 2).unwrap());
    // With gradient 1 each step moves p by -lr(t): -1, -1, -0.5, -0.5, -0.25.
    let mut seen = Vec::new();
    for _ in 0..5 {
        seen.push(sgd.learning_rate());
        sgd.step(&mut p, &[1.0]);
    }
    assert_eq!(seen, vec![1.0, 1.0, 0.5, 0.5, 0.25]);
    assert_eq!(p.values(), &[-3.25]);
}

#[test]
fn adam_follows_its_schedule() {
    let mut adam = Adam::with_schedule(Schedule::exponential(0.1, 0.5).unwrap());
    let mut p = params(&[0.0]);
    adam.step(&mut p, &[1.0]);
    assert_eq!(adam.learning_rate(), 0.05);
    // The second step's size, with a constant gradient, is the rate itself (up to eps).
    let before = p.values()[0];
    adam.step(&mut p, &[1.0]);
    assert!((before - p.values()[0] - 0.05).abs() < 1e-8);
}

#[test]
fn reset_starts_over() {
    let mut sgd = Sgd::new(0.1).unwrap().momentum(0.9).unwrap();
    let mut a = params(&[1.0]);
    sgd.step(&mut a, &[1.0]);
    sgd.reset();
    let mut b = params(&[1.0]);
    sgd.step(&mut b, &[1.0]);
    assert_eq!(a.values(), b.values());
    assert_eq!(sgd.steps(), 1);
}

#[test]
fn a_bad_learning_rate_is_an_error_with_its_value() {
    for (lr, text) in [
        (0.0, "0"),
        (-0.1, "-0.1"),
        (f64::NAN, "NaN"),
        (f64::INFINITY, "inf"),
    ] {
        let message = format!("learning rate must be a positive finite number, got {text}");
        assert_eq!(Sgd::new(lr).unwrap_err().to_string(), message);
        assert_eq!(Adam::new(lr).unwrap_err().to_string(), message);
    }
    assert_eq!(
        Sgd::new(-1.0).unwrap_err(),
        Error::InvalidHyperparameter {
            name: "learning rate",
            expected: "a positive finite number",
            value: -1.0
        }
    );
}

#[test]
fn bad_momentum_and_weight_decay_are_errors_with_their_values() {
    let sgd = || Sgd::new(0.1).unwrap();
    assert_eq!(
        sgd().momentum(1.0).unwrap_err().to_string(),
        "momentum must be in [0, 1), got 1"
    );
    assert_eq!(
        sgd().momentum(-0.5).unwrap_err().to_string(),
        "momentum must be in [0, 1), got -0.5"
    );
    assert_eq!(
        sgd().nesterov(0.0).unwrap_err().to_string(),
        "nesterov momentum must be in (0, 1), got 0"
    );
    assert_eq!(
        sgd().weight_decay(-1e-4).unwrap_err().to_string(),
        "weight decay must be a finite number >= 0, got -0.0001"
    );
    assert_eq!(
        Adam::new(0.1)
            .unwrap()
            .weight_decay(f64::NAN)
            .unwrap_err()
            .to_string(),
        "weight decay must be a finite number >= 0, got NaN"
    );
}

#[test]
fn bad_betas_and_eps_are_errors_with_their_values() {
    let adam = || Adam::new(0.1).unwrap();
    assert_eq!(
        adam().betas(1.0, 0.999).unwrap_err().to_string(),
        "beta1 must be in [0, 1), got 1"
    );
    assert_eq!(
        adam().betas(0.9, -0.1).unwrap_err().to_string(),
        "beta2 must be in [0, 1), got -0.1"
    );
    assert_eq!(
        adam().eps(0.0).unwrap_err().to_string(),
        "eps must be a positive finite number, got 0"
    );
}

#[test]
fn bad_schedules_are_errors_with_their_values() {
    assert_eq!(
        Schedule::step_decay(0.1, 1.5, 10).unwrap_err().to_string(),
        "step decay factor must be in (0, 1], got 1.5"
    );
    assert_eq!(
        Schedule::step_decay(0.1, 0.5, 0).unwrap_err().to_string(),
        "step decay interval must be at least 1 step, got 0"
    );
    assert_eq!(
        Schedule::exponential(0.1, 0.0).unwrap_err().to_string(),
        "exponential decay gamma must be in (0, 1], got 0"
    );
    assert_eq!(
        Schedule::exponential(-0.1, 0.9).unwrap_err().to_string(),
        "learning rate must be a positive finite number, got -0.1"
    );
}

#[test]
#[should_panic(
    expected = "Sgd::step: got 1 gradients for 2 parameters; pass one gradient per parameter, in the store's order"
)]
fn sgd_with_too_few_gradients_panics_with_both_lengths() {
    Sgd::new(0.1)
        .unwrap()
        .step(&mut params(&[1.0, 2.0]), &[1.0]);
}

#[test]
#[should_panic(
    expected = "Adam::step: got 3 gradients for 2 parameters; pass one gradient per parameter, in the store's order"
)]
fn adam_with_too_many_gradients_panics_with_both_lengths() {
    Adam::new(0.1)
        .unwrap()
        .step(&mut params(&[1.0, 2.0]), &[1.0, 2.0, 3.0]);
}

#[test]
#[should_panic(
    expected = "Adam::step: this optimizer holds state for 1 parameters, got a store of 2; use one optimizer per parameter store, or reset it"
)]
fn an_optimizer_moved_to_another_store_panics() {
    let mut adam = Adam::new(0.1).unwrap();
    adam.step(&mut params(&[1.0]), &[1.0]);
    adam.step(&mut params(&[1.0, 2.0]), &[1.0, 2.0]);
}

/// Each kind of optimizer, with state (momentum, moments) wherever it has any.
fn every_optimizer() -> Vec<(&'static str, Box<dyn Optimizer>)> {
    vec![
        ("sgd", Box::new(Sgd::new(0.1).unwrap())),
        (
            "momentum",
            Box::new(Sgd::new(0.1).unwrap().momentum(0.9).unwrap()),
        ),
        (
            "nesterov + weight decay",
            Box::new(
                Sgd::new(0.1)
                    .unwrap()
                    .nesterov(0.5)
                    .unwrap()
                    .weight_decay(0.01)
                    .unwrap(),
            ),
        ),
        (
            "adam + weight decay",
            Box::new(Adam::new(0.05).unwrap().weight_decay(0.01).unwrap()),
        ),
    ]
}

#[test]
fn step_checked_gives_bit_for_bit_the_trajectory_of_step() {
    for ((name, mut plain), (_, mut checked)) in
        every_optimizer().into_iter().zip(every_optimizer())
    {
        let mut p = params(&[0.0, 0.5, -0.5]);
        let mut q = p.clone();
        for _ in 0..50 {
            let g = quadratic_grad(p.values());
            plain.step(&mut p, &g);
            let g = quadratic_grad(q.values());
            checked.step_checked(&mut q, &g).unwrap();
            let bits = |p: &Params| p.values().iter().map(|v| v.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&p), bits(&q), "{name}");
        }
        assert_eq!(plain.steps(), checked.steps(), "{name}");
    }
}

#[test]
fn step_checked_refuses_a_non_finite_gradient_naming_the_step_and_the_parameter() {
    for (name, mut opt) in every_optimizer() {
        let mut p = params(&[1.0, 2.0, 3.0]);
        for _ in 0..3 {
            opt.step_checked(&mut p, &[0.1, 0.2, 0.3]).unwrap();
        }
        let before = p.clone();
        let err = opt
            .step_checked(&mut p, &[0.1, f64::NEG_INFINITY, f64::NAN])
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "step 3: the gradient of parameter 1 (p1) is -inf; no parameter was updated",
            "{name}"
        );
        assert_eq!(p, before, "{name}");
        assert_eq!(opt.steps(), 3, "{name}");
    }
}

#[test]
fn a_refused_step_leaves_the_optimizer_state_as_it_was() {
    // The next accepted step must continue the trajectory as if the refused one never happened.
    for ((name, mut refused), (_, mut clean)) in
        every_optimizer().into_iter().zip(every_optimizer())
    {
        let mut p = params(&[1.0, -1.0]);
        let mut q = p.clone();
        refused.step_checked(&mut p, &[0.5, 0.25]).unwrap();
        clean.step_checked(&mut q, &[0.5, 0.25]).unwrap();
        assert!(refused.step_checked(&mut p, &[f64::NAN, 1.0]).is_err());
        refused.step_checked(&mut p, &[-0.5, 2.0]).unwrap();
        clean.step_checked(&mut q, &[-0.5, 2.0]).unwrap();
        assert_eq!(p, q, "{name}");
        assert_eq!(refused.learning_rate(), clean.learning_rate(), "{name}");
    }
}

#[test]
fn step_checked_refuses_an_update_that_overflows_the_parameter() {
    let mut p = params(&[1.0, -1e308]);
    let mut sgd = Sgd::new(10.0).unwrap();
    // -1e308 - 10 · 1e308 is beyond f64::MAX.
    let err = sgd.step_checked(&mut p, &[0.0, 1e308]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "step 0: the value of parameter 1 (p1) would become -inf; no parameter was updated"
    );
    assert_eq!(p.values(), &[1.0, -1e308]);
    assert_eq!(sgd.steps(), 0);
    // The unchecked step does the same arithmetic, and makes the infinity.
    sgd.step(&mut p, &[0.0, 1e308]);
    assert_eq!(p.values(), &[1.0, f64::NEG_INFINITY]);
}

#[test]
fn step_checked_refuses_an_adam_step_whose_second_moment_overflows() {
    // g² = 1e400 overflows, so v = inf: the step itself would be 0 (m / √inf) and the parameter
    // would silently stop moving for good.
    let mut p = params(&[0.5, 1.0]);
    let mut adam = Adam::new(0.1).unwrap();
    let err = adam.step_checked(&mut p, &[1.0, 1e200]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "step 0: the second moment of parameter 1 (p1) would become inf; no parameter was \
         updated"
    );
    match err {
        Error::NonFiniteUpdate {
            step,
            index,
            name,
            quantity,
            value,
        } => {
            assert_eq!((step, index, quantity), (0, 1, "second moment"));
            assert_eq!(name.as_deref(), Some("p1"));
            assert_eq!(value, f64::INFINITY);
        }
        other => panic!("expected NonFiniteUpdate, got {other:?}"),
    }
    assert_eq!(p.values(), &[0.5, 1.0]);
    assert_eq!(adam.steps(), 0);
}

#[test]
fn check_loss_names_the_step_of_a_non_finite_loss() {
    let mut p = params(&[1.0]);
    let mut adam = Adam::new(0.1).unwrap();
    adam.check_loss(1.0).unwrap();
    adam.step(&mut p, &[1.0]);
    adam.step(&mut p, &[1.0]);
    assert_eq!(
        adam.check_loss(f64::INFINITY).unwrap_err().to_string(),
        "step 2: the loss is inf"
    );
    assert!(matches!(
        adam.check_loss(f64::NAN),
        Err(Error::NonFiniteLoss { step: 2, value }) if value.is_nan()
    ));
}

#[test]
fn slice_and_params_forms_give_bit_identical_trajectories() {
    // Three copies of each optimizer: stepped through a Params store, through a plain slice,
    // and alternating between the two forms (checked and unchecked).
    let runs = every_optimizer()
        .into_iter()
        .zip(every_optimizer())
        .zip(every_optimizer());
    for (((name, mut by_params), (_, mut by_slice)), (_, mut mixed)) in runs {
        let start = [0.0, 0.5, -0.5];
        let mut p = params(&start);
        let mut xs = start;
        let mut m = params(&start);
        for t in 0..40 {
            let g = quadratic_grad(p.values());
            by_params.step(&mut p, &g);
            let g = quadratic_grad(&xs);
            by_slice.step_slice(&mut xs, &g);
            let g = quadratic_grad(m.values());
            match t % 4 {
                0 => mixed.step(&mut m, &g),
                1 => mixed.step_slice(m.values_mut(), &g),
                2 => mixed.step_checked(&mut m, &g).unwrap(),
                _ => mixed.step_slice_checked(m.values_mut(), &g).unwrap(),
            }
            assert_eq!(bits(p.values()), bits(&xs), "{name}, step {t}");
            assert_eq!(bits(p.values()), bits(m.values()), "{name}, step {t}");
        }
        assert_eq!(by_params.steps(), 40, "{name}");
        assert_eq!(by_slice.steps(), 40, "{name}");
    }
}

#[test]
fn the_checked_slice_form_refuses_non_finite_numbers_by_position() {
    for (name, mut opt) in every_optimizer() {
        let mut xs = [1.0, 2.0];
        opt.step_slice_checked(&mut xs, &[0.5, 0.5]).unwrap();
        let before = xs;
        let err = opt.step_slice_checked(&mut xs, &[f64::INFINITY, 0.0]);
        assert_eq!(
            err.unwrap_err().to_string(),
            "step 1: the gradient of parameter 0 is inf; no parameter was updated",
            "{name}"
        );
        assert_eq!(xs, before, "{name}");
        assert_eq!(opt.steps(), 1, "{name}");
    }
    let mut adam = Adam::new(0.1).unwrap();
    let mut xs = [0.0, 0.0];
    match adam
        .step_slice_checked(&mut xs, &[1.0, -1e160])
        .unwrap_err()
    {
        Error::NonFiniteUpdate {
            step: 0,
            index: 1,
            name: None,
            quantity: "second moment",
            value,
        } => assert_eq!(value, f64::INFINITY),
        other => panic!("expected the second moment of position 1, got {other:?}"),
    }
}

#[test]
#[should_panic(
    expected = "Adam::step: got 3 gradients for 2 parameters; pass one gradient per parameter"
)]
fn the_slice_form_with_the_wrong_number_of_gradients_panics_with_both_lengths() {
    Adam::new(0.1)
        .unwrap()
        .step_slice(&mut [1.0, 2.0], &[1.0, 2.0, 3.0]);
}

fn rates(s: &Schedule, steps: usize) -> Vec<f64> {
    (0..steps).map(|t| s.learning_rate(t)).collect()
}

#[test]
fn linear_decay_follows_its_line_and_then_stays() {
    // lr(t) = 0.3 (1 - t/6) + 0.06 t/6 for t <= 6, then 0.06.
    let s = Schedule::linear(0.3, 0.06, 6).unwrap();
    for (t, rate) in rates(&s, 10).into_iter().enumerate() {
        let f = t.min(6) as f64 / 6.0;
        let expected = 0.3 - 0.24 * f;
        assert!(
            (rate - expected).abs() < 1e-16,
            "step {t}: {rate} vs {expected}"
        );
    }
    assert_eq!(s.learning_rate(0), 0.3);
    assert_eq!(s.learning_rate(6), 0.06);
    assert_eq!(s.learning_rate(usize::MAX), 0.06);
    assert_eq!(
        rates(&Schedule::linear(1.0, 0.0, 4).unwrap(), 6),
        [1.0, 0.75, 0.5, 0.25, 0.0, 0.0]
    );
}

#[test]
fn cosine_decay_follows_half_a_cosine_and_then_stays() {
    // lr(t) = 0.01 + 0.09 (1 + cos(πt/8)) / 2 for t <= 8, then 0.01.
    let s = Schedule::cosine(0.1, 0.01, 8).unwrap();
    let half_root2 = std::f64::consts::FRAC_1_SQRT_2;
    let closed = [
        (0, 0.1),
        (2, 0.01 + 0.045 * (1.0 + half_root2)),
        (4, 0.055),
        (6, 0.01 + 0.045 * (1.0 - half_root2)),
        (8, 0.01),
        (9, 0.01),
        (1000, 0.01),
    ];
    for (t, expected) in closed {
        let rate = s.learning_rate(t);
        assert!(
            (rate - expected).abs() < 1e-16,
            "step {t}: {rate} vs {expected}"
        );
    }
    // Symmetric about the middle: lr(t) + lr(8 - t) = lr + min_lr.
    for t in 0..=8 {
        let sum = s.learning_rate(t) + s.learning_rate(8 - t);
        assert!((sum - 0.11).abs() < 1e-16, "step {t}: {sum}");
    }
    let rates = rates(&s, 9);
    assert!(rates.windows(2).all(|w| w[1] < w[0]), "{rates:?}");
}

#[test]
fn warmup_rises_linearly_then_starts_the_wrapped_schedule_from_its_first_step() {
    // Warm-up over 3 steps towards 0.8: 0.8 (k + 1) / 4; then step decay from its own step 0.
    let s = Schedule::warmup(3, Schedule::step_decay(0.8, 0.5, 2).unwrap()).unwrap();
    assert_eq!(
        rates(&s, 9),
        [0.2, 0.4, 0.6000000000000001, 0.8, 0.8, 0.4, 0.4, 0.2, 0.2]
    );
    // Around a cosine: the cosine's step t is the schedule's step 5 + t.
    let cosine = Schedule::cosine(1.0, 0.0, 10).unwrap();
    let warm = Schedule::warmup(5, cosine).unwrap();
    for t in 0..5 {
        assert_eq!(warm.learning_rate(t), (t + 1) as f64 / 6.0);
    }
    for t in 0..20 {
        assert_eq!(warm.learning_rate(5 + t), cosine.learning_rate(t));
    }
}

#[test]
fn bad_new_schedules_are_errors_with_their_values() {
    let cases = [
        (
            Schedule::linear(0.0, 0.0, 10),
            "learning rate must be a positive finite number, got 0",
        ),
        (
            Schedule::linear(0.1, 0.2, 10),
            "final learning rate must be in [0, lr], from 0 to the initial learning rate, got 0.2",
        ),
        (
            Schedule::linear(0.1, -0.01, 10),
            "final learning rate must be in [0, lr], from 0 to the initial learning rate, got -0.01",
        ),
        (
            Schedule::linear(0.1, 0.0, 0),
            "linear decay steps must be at least 1 step, got 0",
        ),
        (
            Schedule::cosine(f64::INFINITY, 0.0, 10),
            "learning rate must be a positive finite number, got inf",
        ),
        (
            Schedule::cosine(0.1, f64::NAN, 10),
            "final learning rate must be in [0, lr], from 0 to the initial learning rate, got NaN",
        ),
        (
            Schedule::cosine(0.1, 0.0, 0),
            "cosine decay steps must be at least 1 step, got 0",
        ),
        (
            Schedule::warmup(0, Schedule::constant(0.1).unwrap()),
            "warm-up steps must be at least 1 step, got 0",
        ),
        (
            Schedule::warmup(
                2,
                Schedule::warmup(7, Schedule::constant(0.1).unwrap()).unwrap(),
            ),
            "warm-up steps of the schedule it wraps must be 0 (wrap a schedule without \
             warm-up), got 7",
        ),
    ];
    for (result, message) in cases {
        assert_eq!(result.unwrap_err().to_string(), message);
    }
}

#[test]
fn sgd_follows_a_warmed_up_cosine_step_by_step() {
    // With gradient 1 each step moves x by -lr(t).
    let schedule = Schedule::warmup(2, Schedule::cosine(0.4, 0.0, 4).unwrap()).unwrap();
    let mut sgd = Sgd::with_schedule(schedule);
    let mut x = [0.0];
    let mut expected = 0.0;
    for t in 0..8 {
        assert_eq!(sgd.learning_rate(), schedule.learning_rate(t));
        expected -= schedule.learning_rate(t);
        sgd.step_slice(&mut x, &[1.0]);
        assert_eq!(x[0], expected, "step {t}");
    }
}

#[test]
fn setting_the_learning_rate_between_steps_keeps_the_state() {
    // Adam at 0.1, switched to 0.05 after two steps and to 0.025 after four, is bit for bit
    // Adam on a step decay that halves the rate every two steps: the moments and the step
    // count carry on.
    let mut switched = Adam::new(0.1).unwrap();
    let mut scheduled = Adam::with_schedule(Schedule::step_decay(0.1, 0.5, 2).unwrap());
    let (mut a, mut b) = ([1.0, -2.0], [1.0, -2.0]);
    for t in 0..6 {
        match t {
            2 => switched.set_learning_rate(0.05).unwrap(),
            4 => switched.set_learning_rate(0.025).unwrap(),
            _ => {}
        }
        assert_eq!(
            switched.learning_rate(),
            scheduled.learning_rate(),
            "step {t}"
        );
        let g = [a[0] * 0.5 + 0.1, a[1] - 0.3];
        switched.step_slice(&mut a, &g);
        scheduled.step_slice(&mut b, &g);
        assert_eq!(bits(&a), bits(&b), "step {t}");
    }
    assert_eq!(
        switched.set_learning_rate(-1.0).unwrap_err().to_string(),
        "learning rate must be a positive finite number, got -1"
    );
    assert_eq!(switched.learning_rate(), 0.025);
}

#[test]
fn a_new_schedule_is_read_at_the_current_step_count() {
    let mut sgd = Sgd::new(0.1).unwrap().momentum(0.5).unwrap();
    let mut x = [0.0];
    for _ in 0..3 {
        sgd.step_slice(&mut x, &[1.0]);
    }
    let linear = Schedule::linear(1.0, 0.0, 4).unwrap();
    sgd.set_schedule(linear);
    assert_eq!(sgd.steps(), 3);
    assert_eq!(sgd.learning_rate(), 0.25);
    sgd.reset();
    assert_eq!(sgd.learning_rate(), 1.0);
}
