//! Programs made of repeated blocks of every kind replay like recording, bit for bit (any NaN
//! equal to any NaN), in `f64` and in `f32`: the blocks' operands are the same block's earlier
//! nodes, parameters all blocks share, inputs each block reads at its own place (in order, in
//! strides, or shifted so that neighbouring blocks read the same input at different positions,
//! as a chain of terms such as Rosenbrock's does; the inputs either run on past the last block
//! or wrap around, so that far blocks read them too), and the previous block's nodes, as a
//! running sum reads them; the blocks are summed in one node or in a running sum, and enough of
//! them to span several chunks.
//!
//! Other cases record blocks as a network's loss over data points does — neurons whose weights
//! and partners are runs of slots, then squared errors or losses written out of other
//! operations, all summed in one node — which replay runs position by position across the
//! blocks, through kernels of its own, wherever they repeat.
//!
//! Some cases add, inside the blocks, custom operations recorded with their rules, comparisons
//! whose outcomes choose what the block records next (so that blocks stop being exact repeats),
//! and leaves bound as data (`compile_with_data`) that take new values at the replay point. At
//! a point where every comparison comes out as recorded, `run`, `forward` and `vjp` give what
//! recording afresh there gives; where one comes out differently, each returns
//! `Error::BranchChanged` naming the first changed comparison in recorded order, with the values
//! it compared there.
//!
//! `cargo test` runs a modest number of cases; `PROPTEST_CASES` raises it.

mod common;

use common::{bits, bits_of};

use proptest::prelude::*;
use tapegrad::{Comparand, Comparison, Error, Scalar, Tape, Var};

/// Cases per property when `PROPTEST_CASES` is not set.
const CASES: u32 = 64;

/// Where an operand of a step comes from.
#[derive(Debug, Clone, Copy)]
enum Source {
    /// The same block's node this many steps back.
    Inner(usize),
    /// A parameter all blocks share.
    Param(usize),
    /// Block `b`'s input at `stride * b + offset`.
    Input(usize),
    /// The previous block's node this many steps back from this position (a parameter in block
    /// 0).
    Carried(usize),
}

/// Steps `0..16` are built-in operations, `16..18` custom rules of one and two inputs, and
/// `18..21` comparisons of `a` with `b` or with `c`.
#[derive(Debug, Clone, Copy)]
struct Step {
    op: u8,
    a: Source,
    b: Source,
    c: f64,
    comparison: Comparison,
    against_constant: bool,
}

/// The first custom-rule step.
const CUSTOM: u8 = 16;
/// The first comparison step.
const COMPARE: u8 = 18;
/// One past the last step.
const OPS: u8 = 21;

fn source() -> impl Strategy<Value = Source> {
    prop_oneof![
        3 => (0usize..4).prop_map(Source::Inner),
        2 => (0usize..3).prop_map(Source::Param),
        2 => (0usize..3).prop_map(Source::Input),
        1 => (0usize..2).prop_map(Source::Carried),
    ]
}

fn comparison() -> impl Strategy<Value = Comparison> {
    prop_oneof![
        Just(Comparison::Lt),
        Just(Comparison::Le),
        Just(Comparison::Gt),
        Just(Comparison::Ge),
    ]
}

fn step() -> impl Strategy<Value = Step> {
    let c = prop_oneof![Just(0.0), Just(-1.5), Just(2.0), Just(0.25)];
    (0u8..OPS, source(), source(), c, comparison(), any::<bool>()).prop_map(
        |(op, a, b, c, comparison, against_constant)| Step {
            op,
            a,
            b,
            c,
            comparison,
            against_constant,
        },
    )
}

/// `c · ln(1 + x²)`: ∂/∂x = `2cx / (1 + x²)`.
fn log_one_plus_square<T: Scalar>(x: &[T], c: &[T], partials: &mut [T]) -> T {
    let one_plus_square = T::one() + x[0] * x[0];
    partials[0] = c[0] * (x[0] + x[0]) / one_plus_square;
    c[0] * one_plus_square.ln()
}

/// `x · sin y + c · y²`: ∂/∂x = `sin y`, ∂/∂y = `x · cos y + 2cy`.
fn wave<T: Scalar>(xy: &[T], c: &[T], partials: &mut [T]) -> T {
    let (x, y) = (xy[0], xy[1]);
    let sin = y.sin();
    partials[0] = sin;
    partials[1] = x * y.cos() + c[0] * (y + y);
    x * sin + c[0] * y * y
}

/// Records `x cmp y` and returns its outcome.
fn compare<'t, T: Scalar>(x: Var<'t, T>, cmp: Comparison, y: impl Comparand<'t, T>) -> bool {
    match cmp {
        Comparison::Lt => x.lt(y),
        Comparison::Le => x.le(y),
        Comparison::Gt => x.gt(y),
        Comparison::Ge => x.ge(y),
    }
}

/// Records `x cmp y`, with `y` a Var or a plain number, noting it in `guards`; returns its
/// outcome.
fn guard<'t, T: Scalar>(
    tape: &'t Tape<T>,
    guards: &mut Vec<Guard>,
    x: Var<'t, T>,
    cmp: Comparison,
    y: Result<Var<'t, T>, T>,
) -> bool {
    let node = tape.len();
    let (outcome, rhs) = match y {
        Ok(y) => (compare(x, cmp, y), y.value()),
        Err(c) => (compare(x, cmp, c), c),
    };
    guards.push(Guard {
        node,
        comparison: cmp,
        lhs: x.value().to_f64(),
        rhs: rhs.to_f64(),
        outcome,
    });
    outcome
}

/// A comparison as recorded: its node, operator, compared values (as `f64`, as
/// `Error::BranchChanged` reports them) and outcome.
#[derive(Debug, Clone, Copy)]
struct Guard {
    node: usize,
    comparison: Comparison,
    lhs: f64,
    rhs: f64,
    outcome: bool,
}

/// The blocks of `template`, each reading its inputs `stride` apart, summed in one node or in a
/// running sum; with every comparison recorded on the way, in order.
fn program<'t, T: Scalar>(
    tape: &'t Tape<T>,
    xs: &[Var<'t, T>],
    template: &[Step],
    blocks: usize,
    stride: usize,
    running: bool,
) -> (Var<'t, T>, Vec<Guard>) {
    let (params, inputs) = xs.split_at(3);
    let num = T::from_f64;
    let mut guards = Vec::new();
    let mut last: Vec<Var<'t, T>> = Vec::new();
    let mut outs = Vec::with_capacity(blocks);
    let mut total = params[0];
    for b in 0..blocks {
        let mut block: Vec<Var<'t, T>> = Vec::with_capacity(template.len());
        for (j, s) in template.iter().enumerate() {
            let get = |source: Source| match source {
                Source::Inner(back) if j > 0 => block[j - 1 - back % j],
                Source::Inner(_) => params[1],
                Source::Param(i) => params[i],
                Source::Input(offset) => inputs[(stride * b + offset) % inputs.len()],
                Source::Carried(back) if b > 0 => last[j - back % (j + 1)],
                Source::Carried(_) => params[2],
            };
            let (a, o) = (get(s.a), get(s.b));
            let c = num(s.c);
            let mut test = || {
                let rhs = if s.against_constant { Err(c) } else { Ok(o) };
                guard(tape, &mut guards, a, s.comparison, rhs)
            };
            let v = match s.op {
                0 => a + o,
                1 => a - o,
                2 => a * o,
                3 => a / o,
                4 => a.sin(),
                5 => a.exp(),
                6 => a.tanh(),
                7 => a.relu(),
                8 => a * c,
                9 => a + c,
                // A square, or a power whose exponent the passes compile in.
                10 if s.c > 1.0 => a.powi(3),
                10 if s.c < 0.0 => a.powi(-2),
                10 => a.powi(2),
                11 => a.max(o),
                12 => tape.dot(&[a, o], &[params[0], params[1]]),
                13 => tape.sum(&[a, o, a]),
                14 => a.sigmoid(),
                15 => tape.dot(&[a, o], &[c, num(0.5)]),
                16 => tape.custom_rule(log_one_plus_square::<T>, &[a], &[c]),
                17 => tape.custom_rule(wave::<T>, &[a, o], &[c]),
                // Either way the block records one subtraction: blocks stay repeats.
                18 => {
                    if test() {
                        a - o
                    } else {
                        o - a
                    }
                }
                // The two ways record different operations: blocks differ by their outcomes.
                19 => {
                    if test() {
                        a * c
                    } else {
                        o.sin()
                    }
                }
                // A guard that decides nothing recorded after it.
                _ => {
                    test();
                    a.tanh()
                }
            };
            block.push(v);
        }
        let out = *block.last().expect("a block has a step");
        if running {
            total += out;
        } else {
            outs.push(out);
        }
        last = block;
    }
    let out = if running { total } else { tape.sum(&outs) };
    (out, guards)
}

/// Where a unit's weighted sum finds the partners of its weights.
#[derive(Debug, Clone, Copy)]
enum Partners {
    /// The block's inputs, a run of them from `stride * b + offset`.
    Inputs(usize),
    /// The units just before it in its block, as a layer reads the layer before (the inputs in
    /// the block's first units).
    Layer,
    /// Plain numbers, the same in every block.
    Constants,
}

/// A unit of a network-like block: `act(Σ wᵢ xᵢ + bias)`, its weights a run of the shared
/// weights, as a neuron records it.
#[derive(Debug, Clone, Copy)]
struct Unit {
    width: usize,
    weight: usize,
    partners: Partners,
    bias: usize,
    bias_first: bool,
    act: u8,
}

/// A squared error at the end of a network-like block, of the unit this many back from the
/// last, optionally times a constant.
#[derive(Debug, Clone, Copy)]
enum Loss {
    /// `(y - t)²`, with `t` the block's input at this offset (`0..3`) or a parameter
    /// (`3..6`), which every block reads at the same position.
    Target(usize, usize),
    /// `(y + c)²`.
    Shift(usize, f64),
    /// `(t - y²)²`, with `t` as for [`Loss::Target`].
    SquareTarget(usize, usize),
    /// `ln(1 + eʸ) - t y`, a loss written out of other operations, as a logistic regression's
    /// is; `t` as for [`Loss::Target`].
    Logistic(usize, usize),
    /// `|y - t| / (y² + 1)`, `t` as for [`Loss::Target`].
    Ratio(usize, usize),
}

/// Blocks of units and losses: what a network's loss over data points records, which replay
/// runs position by position across the blocks where they repeat.
#[derive(Debug, Clone)]
struct Network {
    units: Vec<Unit>,
    losses: Vec<Loss>,
    scale: Option<f64>,
    /// Whether the losses' squares are written as products `u * u` rather than `powi(2)`, the
    /// square's base computed before the other losses' nodes.
    products: bool,
    /// A comparison of a block's last unit with a constant after every `.2`-th block, which
    /// ends a stretch of repeats there.
    guard: Option<(Comparison, f64, usize)>,
}

/// How many shared weights a network-like case adds to the leaves.
const WEIGHTS: usize = 12;

fn unit() -> impl Strategy<Value = Unit> {
    let partners = prop_oneof![
        2 => (0usize..3).prop_map(Partners::Inputs),
        2 => Just(Partners::Layer),
        1 => Just(Partners::Constants),
    ];
    // Widths past 8 too, whose kernels keep their lanes in longer arrays.
    let width = prop_oneof![3 => 1usize..6, 1 => 6usize..11];
    (
        width,
        0usize..WEIGHTS,
        partners,
        0usize..3,
        any::<bool>(),
        0u8..8,
    )
        .prop_map(|(width, weight, partners, bias, bias_first, act)| Unit {
            width,
            weight,
            partners,
            bias,
            bias_first,
            act,
        })
}

fn loss() -> impl Strategy<Value = Loss> {
    let c = prop_oneof![Just(0.0), Just(-1.5), Just(2.0), Just(0.25)];
    prop_oneof![
        (0usize..2, 0usize..6).prop_map(|(back, t)| Loss::Target(back, t)),
        (0usize..2, c).prop_map(|(back, c)| Loss::Shift(back, c)),
        (0usize..2, 0usize..6).prop_map(|(back, t)| Loss::SquareTarget(back, t)),
        (0usize..2, 0usize..6).prop_map(|(back, t)| Loss::Logistic(back, t)),
        (0usize..2, 0usize..6).prop_map(|(back, t)| Loss::Ratio(back, t)),
    ]
}

fn network() -> impl Strategy<Value = Network> {
    (
        prop::collection::vec(unit(), 1..5),
        prop::collection::vec(loss(), 1..3),
        prop::option::of(prop_oneof![Just(0.5), Just(-2.0)]),
        any::<bool>(),
        prop::option::of((
            comparison(),
            prop_oneof![Just(0.0), Just(0.25)],
            prop_oneof![Just(1usize), Just(7), Just(50)],
        )),
    )
        .prop_map(|(units, losses, scale, products, guard)| Network {
            units,
            losses,
            scale,
            products,
            guard,
        })
}

/// The blocks of `net`, block `b` reading its inputs from `stride * b`, all their squared
/// errors summed in one node (times the scale, if any); with every comparison recorded on the
/// way, in order.
fn network_program<'t, T: Scalar>(
    tape: &'t Tape<T>,
    xs: &[Var<'t, T>],
    net: &Network,
    blocks: usize,
    stride: usize,
) -> (Var<'t, T>, Vec<Guard>) {
    let (params, rest) = xs.split_at(3);
    let (inputs, weights) = rest.split_at(rest.len() - WEIGHTS);
    let constants: Vec<T> = [0.5, -1.5, 2.0, 0.25, 1.0, -0.75, 3.0, 0.125, -2.5, 1.5]
        .iter()
        .map(|&c| T::from_f64(c))
        .collect();
    let mut outs = Vec::new();
    let mut guards = Vec::new();
    for b in 0..blocks {
        let run = |offset: usize, width: usize| {
            let start = (stride * b + offset) % (inputs.len() - width + 1);
            &inputs[start..start + width]
        };
        let mut block: Vec<Var<'t, T>> = Vec::with_capacity(net.units.len());
        for (j, u) in net.units.iter().enumerate() {
            let w = u.weight % (WEIGHTS - u.width + 1);
            let ws = &weights[w..w + u.width];
            let sum = match u.partners {
                Partners::Constants => tape.dot(ws, &constants[..u.width]),
                Partners::Layer if j >= u.width => tape.dot(ws, &block[j - u.width..j]),
                Partners::Layer => tape.dot(ws, run(0, u.width)),
                Partners::Inputs(offset) => tape.dot(ws, run(offset, u.width)),
            };
            let bias = params[u.bias];
            let z = if u.bias_first { bias + sum } else { sum + bias };
            block.push(match u.act {
                0 => z,
                1 => z.tanh(),
                2 => z.sigmoid(),
                3 => z.relu(),
                // Functions whose partial does not follow from the value, kept by replay.
                4 => z.softplus(),
                5 => z.leaky_relu(T::from_f64(-0.5)),
                6 => z.sin(),
                _ => z.abs(),
            });
        }
        let unit = |back: usize| block[block.len() - 1 - back % block.len()];
        let target = |t: usize| if t < 3 { run(t, 1)[0] } else { params[t - 3] };
        // Written as products, every square's base comes first: the squares meet their bases
        // only after the nodes of the other losses.
        let bases: Vec<Option<Var<'t, T>>> = net
            .losses
            .iter()
            .map(|loss| match *loss {
                _ if !net.products => None,
                Loss::Target(back, t) => Some(unit(back) - target(t)),
                Loss::Shift(back, c) => Some(unit(back) + T::from_f64(c)),
                Loss::SquareTarget(back, t) => {
                    let y = unit(back);
                    Some(target(t) - y * y)
                }
                _ => None,
            })
            .collect();
        for (loss, base) in net.losses.iter().zip(bases) {
            let square = match (*loss, base) {
                (_, Some(u)) => u * u,
                (Loss::Target(back, t), _) => (unit(back) - target(t)).powi(2),
                (Loss::Shift(back, c), _) => (unit(back) + T::from_f64(c)).powi(2),
                (Loss::SquareTarget(back, t), _) => (target(t) - unit(back).powi(2)).powi(2),
                (Loss::Logistic(back, t), _) => {
                    let y = unit(back);
                    (y.exp() + T::one()).ln() - target(t) * y
                }
                (Loss::Ratio(back, t), _) => {
                    let y = unit(back);
                    (y - target(t)).abs() / (y * y + T::one())
                }
            };
            outs.push(match net.scale {
                Some(c) => square * T::from_f64(c),
                None => square,
            });
        }
        // Between blocks: it ends a stretch of repeats, and is still checked in recorded order.
        if let Some((cmp, c, every)) = net.guard {
            if b % every == every - 1 {
                let y = *block.last().expect("a block has a unit");
                guard(tape, &mut guards, y, cmp, Err(T::from_f64(c)));
            }
        }
    }
    (tape.sum(&outs), guards)
}

fn values() -> impl Strategy<Value = f64> {
    prop_oneof![
        8 => -2.0f64..2.0,
        // Zeros of both signs, overflow in f32 (1e300), the largest f32 range (3e38), and
        // subnormals of f32 (1e-40) and of f64 (1e-310, zero in f32).
        1 => prop_oneof![
            Just(0.0),
            Just(-0.0),
            Just(1.0),
            Just(1e300),
            Just(3e38),
            Just(-1e-40),
            Just(-1e-310),
        ],
    ]
}

/// One generated program and the two points it is recorded and replayed at.
#[derive(Debug, Clone)]
struct Case {
    template: Vec<Step>,
    blocks: usize,
    stride: usize,
    running: bool,
    /// Whether the template's inputs run on past the last block rather than wrap around: then
    /// only neighbouring blocks read the same input.
    window: bool,
    /// Blocks of units and losses instead of the template's steps, where present
    /// (then `running`, `custom` and `comparisons` play no part).
    network: Option<Network>,
    /// Whether steps may be custom rules.
    custom: bool,
    /// Whether steps may be comparisons.
    comparisons: bool,
    /// Which leaves are bound as data rather than as inputs, where any are: leaf `i` is when
    /// `data.1[i]`, and every input (what a block reads at its own place, as a data point) is
    /// when `data.0`.
    data: Option<(bool, Vec<bool>)>,
    recorded: Vec<f64>,
    /// The replay point: `replayed` itself, or `recorded` moved by `replayed` times this.
    nearby: Option<f64>,
    replayed: Vec<f64>,
}

fn case() -> impl Strategy<Value = Case> {
    let shape = (
        prop::collection::vec(step(), 3..10),
        4usize..700,
        0usize..4,
        any::<bool>(),
        any::<bool>(),
    );
    let kinds = (
        prop::option::weighted(0.3, network()),
        any::<bool>(),
        any::<bool>(),
        prop::option::of((
            any::<bool>(),
            prop::collection::vec(prop::bool::weighted(0.3), 64),
        )),
    );
    let points = (
        prop::collection::vec(values(), 64),
        prop_oneof![2 => Just(None), 1 => Just(Some(1e-2)), 1 => Just(Some(1e-6))],
        prop::collection::vec(values(), 64),
    );
    (shape, kinds, points).prop_map(
        |(
            (template, blocks, stride, running, window),
            (network, custom, comparisons, data),
            (recorded, nearby, replayed),
        )| Case {
            template,
            blocks,
            stride,
            running,
            window,
            network,
            custom,
            comparisons,
            data,
            recorded,
            nearby,
            replayed,
        },
    )
}

impl Case {
    /// The number of leaves: three parameters, the inputs, and the weights of a network.
    fn leaves(&self) -> usize {
        let weights = if self.network.is_some() { WEIGHTS } else { 0 };
        3 + self.inputs() + weights
    }

    /// The number of inputs, which the blocks read at their own places.
    fn inputs(&self) -> usize {
        if self.window && self.network.is_none() {
            self.stride * self.blocks + 4
        } else {
            2 * self.stride.max(1) + 8
        }
    }

    /// The template with the kinds of step this case leaves out replaced by built-in ones.
    fn template(&self) -> Vec<Step> {
        let mut template = self.template.clone();
        for s in &mut template {
            if !self.custom && (CUSTOM..COMPARE).contains(&s.op) {
                s.op -= CUSTOM;
            }
            if !self.comparisons && (COMPARE..OPS).contains(&s.op) {
                s.op -= COMPARE - 4;
            }
        }
        template
    }

    fn is_data(&self, leaf: usize) -> bool {
        let input = (3..3 + self.inputs()).contains(&leaf);
        self.data
            .as_ref()
            .is_some_and(|(points, mask)| mask[leaf % mask.len()] || *points && input)
    }

    /// The leaves' values at the recording point and at the replay point; more leaves than
    /// values drawn take the values again from the first.
    fn points(&self) -> [Vec<f64>; 2] {
        let n = self.leaves();
        let recorded: Vec<f64> = self.recorded.iter().cycle().take(n).copied().collect();
        let drawn = self.replayed.iter().cycle().take(n);
        let replayed = match self.nearby {
            None => drawn.copied().collect(),
            Some(scale) => recorded
                .iter()
                .zip(drawn)
                .map(|(x, d)| x + d * scale)
                .collect(),
        };
        [recorded, replayed]
    }

    /// The values of the inputs and of the data leaves at `at`.
    fn split<T: Scalar>(&self, at: &[f64]) -> (Vec<T>, Vec<T>) {
        let (mut inputs, mut data) = (Vec::new(), Vec::new());
        for (i, &x) in at.iter().enumerate() {
            let list = if self.is_data(i) {
                &mut data
            } else {
                &mut inputs
            };
            list.push(T::from_f64(x));
        }
        (inputs, data)
    }
}

/// A recording of a case's program.
struct Recording<'t, T: Scalar> {
    inputs: Vec<Var<'t, T>>,
    data: Vec<Var<'t, T>>,
    out: Var<'t, T>,
    guards: Vec<Guard>,
}

/// Records `case`'s program at `at`: data leaves as constants, the others as Vars, in the
/// leaves' order (so that data interleaves with the inputs on the tape).
fn record<'t, T: Scalar>(
    tape: &'t Tape<T>,
    case: &Case,
    template: &[Step],
    at: &[f64],
) -> Recording<'t, T> {
    let (mut inputs, mut data) = (Vec::new(), Vec::new());
    let leaves: Vec<Var<'t, T>> = at
        .iter()
        .enumerate()
        .map(|(i, &x)| {
            let x = T::from_f64(x);
            if case.is_data(i) {
                let leaf = tape.constant(x);
                data.push(leaf);
                leaf
            } else {
                let leaf = tape.var(x);
                inputs.push(leaf);
                leaf
            }
        })
        .collect();
    let (out, guards) = match &case.network {
        Some(net) => network_program(tape, &leaves, net, case.blocks, case.stride),
        None => program(
            tape,
            &leaves,
            template,
            case.blocks,
            case.stride,
            case.running,
        ),
    };
    Recording {
        inputs,
        data,
        out,
        guards,
    }
}

/// What `Error::BranchChanged` reports, with its values as bits; `None` for any other error.
fn branch_changed(e: &Error) -> Option<(usize, Comparison, Vec<u64>, bool)> {
    match *e {
        Error::BranchChanged {
            node,
            comparison,
            lhs,
            rhs,
            recorded,
        } => Some((node.index(), comparison, bits(&[lhs, rhs]), recorded)),
        _ => None,
    }
}

/// Compiles `case` recorded at its first point, then replays it at both: each call gives what
/// recording afresh there gives, or the first comparison whose outcome changed.
fn replays_like_recording<T: Scalar>(case: &Case) -> Result<(), TestCaseError> {
    let template = case.template();
    let points = case.points();
    let tape = Tape::<T>::new();
    let recording = record(&tape, case, &template, &points[0]);
    let outs = [recording.out];
    let mut compiled = if case.data.is_some() {
        tape.compile_with_data(&recording.inputs, &recording.data, &outs)
    } else {
        tape.compile(&recording.inputs, &outs)
    }
    .expect("custom operations carry their rules");
    for at in &points {
        let fresh_tape = Tape::<T>::new();
        let fresh = record(&fresh_tape, case, &template, at);
        let (inputs, data) = case.split::<T>(at);
        let run = if case.data.is_some() {
            compiled.run_with_data(&inputs, &data)
        } else {
            compiled.run(&inputs)
        }
        .map(|r| (r.value(), r.grad().to_vec()));
        // Both read the data `run_with_data` bound last: this point's.
        let forward = compiled.forward(&inputs).map(|v| v[0]);
        let vjp = compiled
            .vjp(&inputs, &[T::one()])
            .map(|r| r.grad().to_vec());

        // The two recordings are the same operations up to the first comparison whose outcome
        // differs, so the guards before it pair up.
        let changed = recording
            .guards
            .iter()
            .zip(&fresh.guards)
            .position(|(r, f)| r.outcome != f.outcome);
        match changed {
            None => {
                prop_assert_eq!(recording.guards.len(), fresh.guards.len());
                let value = bits_of(&[fresh.out.value()]);
                let grad = bits_of(&fresh.out.backward().wrt_all(&fresh.inputs));
                let (v, g) = run.map_err(|e| TestCaseError::fail(format!("run at {at:?}: {e}")))?;
                prop_assert_eq!(bits_of(&[v]), value.clone(), "run's value at {:?}", at);
                prop_assert_eq!(bits_of(&g), grad.clone(), "run's gradient at {:?}", at);
                let v = forward.map_err(|e| TestCaseError::fail(format!("forward: {e}")))?;
                prop_assert_eq!(bits_of(&[v]), value, "forward's value at {:?}", at);
                let g = vjp.map_err(|e| TestCaseError::fail(format!("vjp: {e}")))?;
                prop_assert_eq!(bits_of(&g), grad, "vjp's gradient at {:?}", at);
            }
            Some(k) => {
                let (r, f) = (recording.guards[k], fresh.guards[k]);
                let expected = Some((r.node, r.comparison, bits(&[f.lhs, f.rhs]), r.outcome));
                let errors = [
                    ("run", run.err()),
                    ("forward", forward.err()),
                    ("vjp", vjp.err()),
                ];
                for (call, e) in errors {
                    let e = e.ok_or_else(|| {
                        TestCaseError::fail(format!(
                            "{call} at {at:?} succeeded though comparison #{} changed",
                            r.node
                        ))
                    })?;
                    prop_assert_eq!(branch_changed(&e), expected.clone(), "{} gave {}", call, e);
                }
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(common::proptest_config(CASES))]

    #[test]
    fn repeated_blocks_of_every_kind_replay_like_recording(case in case()) {
        replays_like_recording::<f64>(&case)?;
    }

    #[test]
    fn repeated_blocks_of_every_kind_replay_like_recording_in_f32(case in case()) {
        replays_like_recording::<f32>(&case)?;
    }
}

/// The smallest program the property found failing once: a running sum over three blocks,
/// each block with a sum of its own, `(cos p₀ + sin p₁) + s`, whose last term `s` the block
/// before recorded. Replay merges each run of accumulating sums into one instruction, placed
/// where the run ends; here the running sum's run starts before the second block's and ends
/// after it.
#[test]
fn a_running_sum_around_the_blocks_own_sums_replays_like_recording() {
    let at = [0.5, 0.25, 2.0];
    let tape = Tape::new();
    let p = tape.vars(&at);
    let mut carried = p[2];
    let mut total = p[0];
    for _ in 0..3 {
        let sum = p[0].cos() + p[1].sin();
        let s = p[0] + p[0];
        let v = sum + carried;
        total += v - v;
        carried = s;
    }
    let mut compiled = tape
        .compile(&p, &[total])
        .expect("built-in operations only");
    let r = compiled.run(&at).expect("no comparisons");
    let grad = total.backward().wrt_all(&p);
    assert_eq!(bits(&[r.value()]), bits(&[total.value()]));
    assert_eq!(bits(r.grad()), bits(&grad));
}
