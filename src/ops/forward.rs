//! Recomputing the values of recorded nodes from the leaves and constants on the tape.
//!
//! Values are not stored on the tape (a [`Var`](crate::Var) carries its own); when they are
//! needed after the fact — to check for non-finite values, to explain a sweep — they are replayed
//! through the same rules that recorded them, so they come out bit for bit the same.

use crate::Scalar;
use crate::ops::compare::Comparison;
use crate::ops::nary::Nary;
use crate::ops::record::records;
use crate::ops::{Binary, Shape, Unary};
use crate::tape::Storage;

/// The values of the nodes `0..end`.
pub(crate) fn values<T: Scalar>(s: &Storage<T>, end: usize) -> Vec<T> {
    let mut values: Vec<T> = Vec::with_capacity(end);
    for r in records(s, end) {
        let kind = r.kind;
        let konst = r.constant(s);
        let parents = r.parents(s);
        let value = match kind.shape() {
            Shape::Leaf => konst,
            // Partials ±1 are not stored; `MulConst`'s factor is its stored partial.
            Shape::UnitUnary(_) => {
                Unary::from_record(kind, konst, T::zero(), 0)
                    .eval(values[parents[0] as usize])
                    .0
            }
            Shape::Unary | Shape::UnaryAux => {
                Unary::from_record(kind, konst, r.partial(s, 0), r.aux)
                    .eval(values[parents[0] as usize])
                    .0
            }
            Shape::UnitBinary(_) | Shape::Binary => {
                let (x, y) = (values[parents[0] as usize], values[parents[1] as usize]);
                Binary::from_kind(kind).eval(x, y).0
            }
            Shape::UnitNary | Shape::Nary => {
                // invariant: the n-ary shapes are those of the n-ary rules.
                let op = Nary::of(kind).unwrap();
                let x = |k: usize| values[parents[k] as usize];
                op.value(parents.len(), x, |k| r.partial(s, k), konst)
            }
            // A comparison has no value; its slot holds the recorded outcome as 0 or 1.
            Shape::Guard(_) => {
                let (_, outcome) = Comparison::decode(r.aux);
                if outcome { T::one() } else { T::zero() }
            }
        };
        values.push(value);
    }
    values
}

#[cfg(test)]
mod tests {
    use super::values;
    use crate::Tape;
    use crate::ops::record_every_operation;

    #[test]
    fn replayed_values_equal_recorded_ones_bit_for_bit() {
        let tape = Tape::new();
        let vars = record_every_operation(&tape);
        let replayed = tape.with_storage(|s| values(s, tape.len()));
        for v in vars {
            assert_eq!(
                replayed[v.id().index()].to_bits(),
                v.value().to_bits(),
                "{v:?}"
            );
        }
    }
}
