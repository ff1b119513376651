//! Programs made of repeated blocks of every kind replay like recording, bit for bit (any NaN
//! equal to any NaN): the blocks' operands are the same block's earlier nodes, parameters all
//! blocks share, inputs each block reads at its own place (in order, in strides, or shifted so
//! that neighbouring blocks read the same input at different positions), and the previous
//! block's nodes, as a running sum reads them; the blocks are summed in one node or in a running
//! sum, and enough of them to span several chunks.
//!
//! `cargo test` runs a modest number of cases; `PROPTEST_CASES` raises it.

mod common;

use common::bits;

use proptest::prelude::*;
use tapegrad::{Tape, Var};

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

#[derive(Debug, Clone, Copy)]
struct Step {
    op: u8,
    a: Source,
    b: Source,
    c: f64,
}

fn source() -> impl Strategy<Value = Source> {
    prop_oneof![
        3 => (0usize..4).prop_map(Source::Inner),
        2 => (0usize..3).prop_map(Source::Param),
        2 => (0usize..3).prop_map(Source::Input),
        1 => (0usize..2).prop_map(Source::Carried),
    ]
}

fn step() -> impl Strategy<Value = Step> {
    let c = prop_oneof![Just(0.0), Just(-1.5), Just(2.0), Just(0.25)];
    (0u8..16, source(), source(), c).prop_map(|(op, a, b, c)| Step { op, a, b, c })
}

/// The blocks of `template`, each reading its inputs `stride` apart, summed in one node or in a
/// running sum.
fn program<'t>(
    tape: &'t Tape,
    xs: &[Var<'t>],
    template: &[Step],
    blocks: usize,
    stride: usize,
    running: bool,
) -> Var<'t> {
    let (params, inputs) = xs.split_at(3);
    let mut last: Vec<Var<'t>> = Vec::new();
    let mut outs = Vec::with_capacity(blocks);
    let mut total = params[0];
    for b in 0..blocks {
        let mut block: Vec<Var<'t>> = Vec::with_capacity(template.len());
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
            let v = match s.op {
                0 => a + o,
                1 => a - o,
                2 => a * o,
                3 => a / o,
                4 => a.sin(),
                5 => a.exp(),
                6 => a.tanh(),
                7 => a.relu(),
                8 => a * s.c,
                9 => a + s.c,
                10 => a.powi(2),
                11 => a.max(o),
                12 => tape.dot(&[a, o], &[params[0], params[1]]),
                13 => tape.sum(&[a, o, a]),
                14 => a.sigmoid(),
                _ => tape.dot(&[a, o], &[s.c, 0.5]),
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
    if running { total } else { tape.sum(&outs) }
}

fn values() -> impl Strategy<Value = f64> {
    prop_oneof![
        8 => -2.0f64..2.0,
        1 => prop_oneof![Just(0.0), Just(-0.0), Just(1.0), Just(1e300), Just(-1e-310)],
    ]
}

proptest! {
    #![proptest_config(common::proptest_config(CASES))]

    #[test]
    fn repeated_blocks_of_every_kind_replay_like_recording(
        template in prop::collection::vec(step(), 3..10),
        blocks in 4usize..700,
        stride in 0usize..4,
        running in any::<bool>(),
        recorded in prop::collection::vec(values(), 64),
        replayed in prop::collection::vec(values(), 64),
    ) {
        let n = 3 + 2 * stride.max(1) + 8;
        let f = |tape: &Tape, at: &[f64]| {
            let xs = tape.vars(at);
            let out = program(tape, &xs, &template, blocks, stride, running);
            (out.value(), out.backward().wrt_all(&xs))
        };
        let tape = Tape::new();
        let xs = tape.vars(&recorded[..n]);
        let out = program(&tape, &xs, &template, blocks, stride, running);
        let mut compiled = tape.compile(&xs, &[out]).expect("no custom nodes, no comparisons");
        for at in [&recorded[..n], &replayed[..n]] {
            let (value, grad) = f(&Tape::new(), at);
            let r = compiled.run(at).expect("no comparisons");
            prop_assert_eq!(bits(&[r.value()]), bits(&[value]), "value at {:?}", at);
            prop_assert_eq!(bits(r.grad()), bits(&grad), "gradient at {:?}", at);
        }
    }
}
