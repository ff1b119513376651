//! The one decoder of the tape's record layout: where each node's operands, partials and
//! constant sit on the tape's stacks ([`Storage`]). Everything that walks a recording forwards
//! (forward recomputation, explanations, graph export, compiling for replay) reads its nodes
//! through [`Layout::forward`] or [`decode`]; the reverse sweep steps back over them with
//! [`Layout::backward`], its mirror, and a unit test keeps the two in agreement.

use crate::Scalar;
use crate::ops::{OpKind, Shape, Sign};
use crate::tape::Storage;

/// One node's footprint on the parent and partial stacks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Layout {
    /// Position of the first parent index on `parents` (after an n-ary count).
    pub(crate) first: usize,
    /// Number of parents.
    pub(crate) arity: usize,
    /// Number of partials stored on `partials`.
    pub(crate) stored: usize,
    /// The auxiliary word (the exponent of `powi`, a comparison with its outcome), or 0.
    pub(crate) aux: u32,
    /// Number of words the node takes on `parents`, counts and auxiliary words included.
    pub(crate) words: usize,
}

impl Layout {
    /// The layout of a node of `kind` whose words start at `p` on the parent stack.
    #[inline]
    pub(crate) fn forward<T>(s: &Storage<T>, kind: OpKind, p: usize) -> Layout {
        let (first, arity, stored, aux, words) = match kind.shape() {
            // The operand and `powi`'s exponent after it.
            Shape::UnaryAux => {
                let (words, stored) = Layout::fixed(Shape::UnaryAux);
                (p, 1, stored, s.parents[p + 1], words)
            }
            // The count frames the parents on both sides, so that the sweep can step back.
            Shape::UnitNary => {
                let n = s.parents[p] as usize;
                (p + 1, n, 0, 0, n + 2)
            }
            Shape::Nary => {
                let n = s.parents[p] as usize;
                (p + 1, n, n, 0, n + 2)
            }
            // The compared operands, then the word holding the comparison and its outcome.
            Shape::Guard(words) => {
                let words = words as usize;
                (p, words - 1, 0, s.parents[p + words - 1], words)
            }
            // Every word an operand.
            fixed => {
                let (words, stored) = Layout::fixed(fixed);
                (p, words, stored, 0, words)
            }
        };
        Layout {
            first,
            arity,
            stored,
            aux,
            words,
        }
    }

    /// The words and partials taken by a node of `shape` whose words end just before `p_end`:
    /// `(words, stored)`, read from its end as the reverse sweep meets it.
    #[inline(always)]
    pub(crate) fn backward<T>(s: &Storage<T>, shape: Shape, p_end: usize) -> (usize, usize) {
        match shape {
            Shape::UnitNary => (s.parents[p_end - 1] as usize + 2, 0),
            Shape::Nary => {
                let n = s.parents[p_end - 1] as usize;
                (n + 2, n)
            }
            Shape::Guard(words) => (words as usize, 0),
            fixed => Layout::fixed(fixed),
        }
    }

    /// The words and partials of a node of a shape with no count, which recording writes: the
    /// operands, then the auxiliary word if any; a partial for each operand unless they are ±1.
    /// `(0, 0)` for the shapes framed by a count or ended by a code ([`Layout::backward`] reads
    /// those from the tape).
    #[inline(always)]
    pub(crate) const fn fixed(shape: Shape) -> (usize, usize) {
        match shape {
            Shape::Leaf => (0, 0),
            Shape::UnitUnary(_) => (1, 0),
            Shape::Unary => (1, 1),
            Shape::UnaryAux => (2, 1),
            Shape::UnitBinary(_) => (2, 0),
            Shape::Binary => (2, 2),
            // Framed by a count or ended by a code.
            Shape::UnitNary | Shape::Nary | Shape::Guard(_) => (0, 0),
        }
    }

    /// The positions on `parents` of the words that are node indices (not counts, exponents
    /// or comparison codes).
    pub(crate) fn operand_words(&self) -> std::ops::Range<usize> {
        self.first..self.first + self.arity
    }
}

/// Where one node's operands sit on the tape's stacks, with its kind and the positions of its
/// partials and constant: a [`Layout`] placed.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Record {
    pub(crate) kind: OpKind,
    /// First parent index on `parents` (after an n-ary count).
    first: usize,
    /// Number of parents.
    pub(crate) arity: usize,
    /// First stored partial on `partials`, if the node stores any.
    partials: Option<usize>,
    /// Index of the node's constant on `consts`, if it keeps one.
    konst: Option<usize>,
    /// The auxiliary word (the exponent of `powi`, a comparison with its outcome).
    pub(crate) aux: u32,
}

impl Record {
    /// The node's parents, in operand order.
    pub(crate) fn parents<'s, T>(&self, s: &'s Storage<T>) -> &'s [u32] {
        &s.parents[self.first..self.first + self.arity]
    }

    /// The local partial on operand `k`, as the reverse sweep uses it.
    pub(crate) fn partial<T: Scalar>(&self, s: &Storage<T>, k: usize) -> T {
        if let Some(q) = self.partials {
            return s.partials[q + k];
        }
        let minus = match self.kind.shape() {
            Shape::UnitUnary(sign) => sign == Sign::Minus,
            Shape::UnitBinary(sign) => k == 1 && sign == Sign::Minus,
            _ => false,
        };
        if minus { -T::one() } else { T::one() }
    }

    /// The constant the node keeps (a leaf's value, `c` in `x + c`), or zero.
    pub(crate) fn constant<T: Scalar>(&self, s: &Storage<T>) -> T {
        self.konst.map_or_else(T::zero, |c| s.consts[c])
    }
}

/// The records of the nodes `0..end`, read forwards.
pub(crate) fn records<T>(s: &Storage<T>, end: usize) -> impl Iterator<Item = Record> + '_ {
    let (mut p, mut q, mut c) = (0usize, 0usize, 0usize);
    s.kinds[..end].iter().map(move |&kind| {
        let konst = (kind.consts() == 1).then(|| {
            c += 1;
            c - 1
        });
        let layout = Layout::forward(s, kind, p);
        let record = Record {
            kind,
            first: layout.first,
            arity: layout.arity,
            partials: (layout.stored > 0).then_some(q),
            konst,
            aux: layout.aux,
        };
        p += layout.words;
        q += layout.stored;
        record
    })
}

/// The records of the nodes `0..end`, collected.
pub(crate) fn decode<T>(s: &Storage<T>, end: usize) -> Vec<Record> {
    records(s, end).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Tape;
    use crate::ops::record_every_operation;

    #[test]
    fn the_sweep_steps_back_over_exactly_what_was_read_forwards() {
        let tape = Tape::new();
        record_every_operation(&tape);
        tape.with_storage(|s| {
            let mut p = 0;
            let mut forward = Vec::new();
            for &kind in &s.kinds {
                let layout = Layout::forward(s, kind, p);
                p += layout.words;
                forward.push((layout.words, layout.stored));
            }
            assert_eq!(p, s.parents.len());
            let mut end = s.parents.len();
            for (i, &kind) in s.kinds.iter().enumerate().rev() {
                let (words, stored) = Layout::backward(s, kind.shape(), end);
                assert_eq!((words, stored), forward[i], "node {i}, {}", kind.name());
                end -= words;
            }
            assert_eq!(end, 0);
            let stored: usize = forward.iter().map(|&(_, q)| q).sum();
            assert_eq!(stored, s.partials.len());
        });
    }
}
