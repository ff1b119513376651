//! Property: a running total that does more than add — `f = f + t - c u + 2`, folded over a
//! loop, as users write likelihoods and test functions — replays like recording afresh, bit for
//! bit, value and gradient, in `f64` and `f32`, at the point it was recorded at and at another.
//!
//! Compiling turns such a total into one instruction (`Ins::Fold`) when it is long enough, and
//! each step of it must give the same bits as the instructions it replaces: the generated
//! totals mix every kind of step, terms read again before their step (which may fold) and
//! after it (which must not), inputs read as terms directly, and values that overflow, vanish
//! or carry a sign of zero. `cargo test` runs a modest number of cases; `PROPTEST_CASES`
//! raises it.

mod common;

use common::bits_of;

use proptest::prelude::*;
use tapegrad::{Scalar, Tape, Var};

/// Cases per property when `PROPTEST_CASES` is not set.
const CASES: u32 = 96;

/// How a step changes the total `f`, with a term `t` (and a second, `u`) and a number `c`.
#[derive(Debug, Clone, Copy)]
enum Kind {
    /// `f + t`
    Add,
    /// `f - t`
    Sub,
    /// `f + c`
    AddConst,
    /// `f - c t`
    SubScaled,
    /// `f + t c`
    AddScaled,
    /// `c t + f`
    ScaledFirst,
    /// `t + f`
    AddFirst,
    /// `f + (t + u)`
    Pair,
    /// `(f + t) + u`
    LeftPair,
}

/// Where a step's term comes from.
#[derive(Debug, Clone, Copy)]
enum Term {
    /// An input, read as it is.
    Input(usize),
    /// `sin` of an input.
    Sin(usize),
    /// An input times the next.
    Product(usize),
    /// The term of the step before, read again (after that step, so that step cannot fold).
    Again,
}

#[derive(Debug, Clone, Copy)]
struct Step {
    kind: Kind,
    term: Term,
    second: Term,
    c: f64,
}

fn kind() -> impl Strategy<Value = Kind> {
    prop_oneof![
        Just(Kind::Add),
        Just(Kind::Sub),
        Just(Kind::AddConst),
        Just(Kind::SubScaled),
        Just(Kind::AddScaled),
        Just(Kind::ScaledFirst),
        Just(Kind::AddFirst),
        Just(Kind::Pair),
        Just(Kind::LeftPair),
    ]
}

fn term(inputs: usize) -> impl Strategy<Value = Term> {
    prop_oneof![
        2 => (0..inputs).prop_map(Term::Input),
        3 => (0..inputs).prop_map(Term::Sin),
        3 => (0..inputs).prop_map(Term::Product),
        1 => Just(Term::Again),
    ]
}

fn step(inputs: usize) -> impl Strategy<Value = Step> {
    let c = prop_oneof![Just(0.0), Just(-1.5), Just(2.0), Just(0.25), Just(1e300)];
    (kind(), term(inputs), term(inputs), c).prop_map(|(kind, term, second, c)| Step {
        kind,
        term,
        second,
        c,
    })
}

fn values() -> impl Strategy<Value = f64> {
    prop_oneof![
        8 => -2.0f64..2.0,
        1 => prop_oneof![
            Just(0.0),
            Just(-0.0),
            Just(1e300),
            Just(3e38),
            Just(-1e-40),
            Just(-1e-310),
        ],
    ]
}

const INPUTS: usize = 6;

#[derive(Debug, Clone)]
struct Case {
    steps: Vec<Step>,
    points: [Vec<f64>; 2],
}

fn case() -> impl Strategy<Value = Case> {
    let steps = prop::collection::vec(step(INPUTS), 1..40);
    let point = || prop::collection::vec(values(), INPUTS);
    (steps, point(), point()).prop_map(|(steps, a, b)| Case {
        steps,
        points: [a, b],
    })
}

/// The running total of `case`'s steps on the inputs `x`.
fn total<'t, T: Scalar>(tape: &'t Tape<T>, x: &[Var<'t, T>], case: &Case) -> Var<'t, T> {
    let mut f = tape.constant(T::from_f64(0.5));
    let mut last = x[0];
    for s in &case.steps {
        let c = T::from_f64(s.c);
        let mut make = |term: Term| {
            let t = match term {
                Term::Input(i) => x[i],
                Term::Sin(i) => x[i].sin(),
                Term::Product(i) => x[i] * x[(i + 1) % x.len()],
                Term::Again => last,
            };
            last = t;
            t
        };
        let t = make(s.term);
        f = match s.kind {
            Kind::Add => f + t,
            Kind::Sub => f - t,
            Kind::AddConst => f + c,
            Kind::SubScaled => f - t * c,
            Kind::AddScaled => f + t * c,
            Kind::ScaledFirst => t * c + f,
            Kind::AddFirst => t + f,
            Kind::Pair => f + (t + make(s.second)),
            Kind::LeftPair => (f + t) + make(s.second),
        };
    }
    f
}

fn replays_like_recording<T: Scalar>(case: &Case) -> Result<(), TestCaseError> {
    let convert = |p: &[f64]| p.iter().map(|&v| T::from_f64(v)).collect::<Vec<T>>();
    let tape = Tape::<T>::new();
    let x = tape.vars(&convert(&case.points[0]));
    let out = total(&tape, &x, case);
    let mut compiled = tape.compile(&x, &[out]).expect("no comparisons");
    for point in &case.points {
        let at = convert(point);
        let fresh = Tape::<T>::new();
        let y = fresh.vars(&at);
        let recorded = total(&fresh, &y, case);
        let grad = recorded.backward().wrt_all(&y);
        let r = compiled.run(&at).expect("no comparisons");
        prop_assert_eq!(bits_of(&[r.value()]), bits_of(&[recorded.value()]));
        prop_assert_eq!(bits_of(r.grad()), bits_of(&grad));
    }
    Ok(())
}

proptest! {
    #![proptest_config(common::proptest_config(CASES))]

    #[test]
    fn running_totals_of_every_kind_of_step_replay_like_recording(case in case()) {
        replays_like_recording::<f64>(&case)?;
    }

    #[test]
    fn running_totals_of_every_kind_of_step_replay_like_recording_in_f32(case in case()) {
        replays_like_recording::<f32>(&case)?;
    }
}
