//! Optimizers: each update rule against a hand computation, convergence on a quadratic,
//! schedules, and the errors and panics for bad hyper-parameters and gradient buffers.

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
