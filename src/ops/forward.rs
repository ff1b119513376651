//! Recomputing the values of recorded nodes from the leaves and constants on the tape.
//!
//! Values are not stored on the tape (a [`Var`](crate::Var) carries its own); when they are
//! needed after the fact — to check for non-finite values, to explain a sweep — they are replayed
//! through the same rules that recorded them, so they come out bit for bit the same.

use crate::Scalar;
use crate::ops::compare::Comparison;
use crate::ops::nary::weighted_sum;
use crate::ops::{Binary, OpKind, Shape, Unary};
use crate::tape::Storage;

/// The values of the nodes `0..end`.
pub(crate) fn values<T: Scalar>(s: &Storage<T>, end: usize) -> Vec<T> {
    let mut values: Vec<T> = Vec::with_capacity(end);
    let (mut p, mut q, mut c) = (0usize, 0usize, 0usize);
    for &kind in &s.kinds[..end] {
        let konst = if kind.consts() == 1 {
            c += 1;
            s.consts[c - 1]
        } else {
            T::zero()
        };
        let value = match kind.shape() {
            Shape::Leaf => konst,
            Shape::UnitUnary(_) => {
                p += 1;
                let x = values[s.parents[p - 1] as usize];
                Unary::from_record(kind, konst, T::zero(), 0).eval(x).0
            }
            Shape::Unary | Shape::UnaryAux => {
                let x = values[s.parents[p] as usize];
                let aux = if kind.shape() == Shape::UnaryAux {
                    p += 1;
                    s.parents[p]
                } else {
                    0
                };
                p += 1;
                q += 1;
                Unary::from_record(kind, konst, s.partials[q - 1], aux)
                    .eval(x)
                    .0
            }
            Shape::UnitBinary(_) | Shape::Binary => {
                let (x, y) = (
                    values[s.parents[p] as usize],
                    values[s.parents[p + 1] as usize],
                );
                p += 2;
                if kind.shape() == Shape::Binary {
                    q += 2;
                }
                Binary::from_kind(kind).eval(x, y).0
            }
            Shape::UnitNary | Shape::Nary => {
                let n = s.parents[p] as usize;
                let xs = &s.parents[p + 1..p + 1 + n];
                p += n + 2;
                let value = match kind {
                    OpKind::Sum => xs
                        .iter()
                        .fold(T::zero(), |acc, &x| acc + values[x as usize]),
                    OpKind::Dot => {
                        let (left, right) = xs.split_at(n / 2);
                        weighted_sum(
                            left.iter()
                                .zip(right)
                                .map(|(&x, &y)| (values[x as usize], values[y as usize])),
                        )
                    }
                    OpKind::DotConst => weighted_sum(
                        xs.iter()
                            .zip(&s.partials[q..q + n])
                            .map(|(&x, &w)| (values[x as usize], w)),
                    ),
                    _ => konst,
                };
                if kind.shape() == Shape::Nary {
                    q += n;
                }
                value
            }
            Shape::Guard(words) => {
                // A comparison has no value; its slot holds the recorded outcome as 0 or 1.
                p += words as usize;
                let (_, outcome) = Comparison::decode(s.parents[p - 1]);
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

    #[test]
    fn replayed_values_equal_recorded_ones_bit_for_bit() {
        let tape = Tape::new();
        let x = tape.var(0.3f64);
        let y = tape.var(-1.7);
        let w = tape.vars(&[0.5, 2.0]);
        let vars = [
            x,
            y,
            x + y,
            x - 2.0,
            3.0 - y,
            -x,
            x * y,
            x / y,
            2.0 / y,
            y / 4.0,
            x.powi(3),
            x.powf(1.3),
            x.pow(y),
            y.exp(),
            x.ln(),
            x.sqrt(),
            y.sin(),
            y.cos(),
            y.tan(),
            y.tanh(),
            y.sigmoid(),
            y.relu(),
            y.leaky_relu(0.1),
            y.softplus(),
            y.abs(),
            y.recip(),
            x.max(y),
            x.min(y),
            tape.sum(&[x, y, x]),
            tape.dot(&w, &[x, y]),
            tape.dot(&[x, y], &[0.25, -3.0]),
            tape.custom(7.0, &[(x, 1.0)]),
            x.detach(),
        ];
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
