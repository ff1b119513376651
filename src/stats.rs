//! Tape statistics: how many nodes of which operation, and how many bytes they take.
//!
//! For profiling your own code: [`Tape::stats`] after recording one step shows which operations
//! dominate and what the tape costs per node.

use std::fmt;

use crate::ops::OpKind;
use crate::{Scalar, Tape};

/// Bytes taken by each of a tape's four buffers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Bytes {
    /// One [`OpKind`] byte per node.
    pub kinds: usize,
    /// One `u32` per operand, plus n-ary counts and `powi` exponents.
    pub parents: usize,
    /// One scalar per stored partial (partials that are ±1 are not stored).
    pub partials: usize,
    /// One scalar per constant kept for replay and explanation.
    pub consts: usize,
}

impl Bytes {
    /// The sum of the four buffers.
    pub fn total(&self) -> usize {
        self.kinds + self.parents + self.partials + self.consts
    }
}

/// Node counts and memory of one tape, as [`Tape::stats`] reports them.
///
/// `Display` prints a short summary.
///
/// # Examples
///
/// ```
/// use tapegrad::{OpKind, Tape};
///
/// let tape = Tape::new();
/// let x = tape.var(2.0);
/// let y = tape.var(3.0);
/// let _ = x * y + 1.0;
/// let stats = tape.stats();
/// assert_eq!(stats.nodes, 4);
/// assert_eq!(stats.count(OpKind::Var), 2);
/// assert_eq!(stats.count(OpKind::Mul), 1);
/// // parents: 2 for `*`, 1 for `+ c`; partials: 2 for `*`; consts: 2 leaves and `c`.
/// assert_eq!(stats.used.kinds, 4);
/// assert_eq!(stats.used.parents, 3 * 4);
/// assert_eq!(stats.used.partials, 2 * 8);
/// assert_eq!(stats.used.consts, 3 * 8);
/// assert!(stats.reserved.total() >= stats.used.total());
/// println!("{stats}");
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct TapeStats {
    /// Nodes recorded, leaves included.
    pub nodes: usize,
    /// Nodes per operation, in [`OpKind::ALL`] order, kinds that do not occur left out.
    pub per_kind: Vec<(OpKind, usize)>,
    /// Bytes in use.
    pub used: Bytes,
    /// Bytes allocated (capacity), which [`Tape::clear`] keeps for the next recording.
    pub reserved: Bytes,
    /// Nodes that carry a name ([`Var::named`](crate::Var::named)).
    pub named: usize,
}

impl TapeStats {
    /// The number of nodes of one operation.
    pub fn count(&self, kind: OpKind) -> usize {
        self.per_kind
            .iter()
            .find(|(k, _)| *k == kind)
            .map_or(0, |&(_, n)| n)
    }

    /// Bytes in use per node; 0 for an empty tape.
    pub fn bytes_per_node(&self) -> f64 {
        if self.nodes == 0 {
            0.0
        } else {
            self.used.total() as f64 / self.nodes as f64
        }
    }
}

impl<T: Scalar> Tape<T> {
    /// Node counts per operation and the bytes the tape's buffers use and reserve.
    ///
    /// Values are not stored on the tape (each [`Var`](crate::Var) carries its own), so they do
    /// not appear here; names are kept apart and only counted.
    ///
    /// # Examples
    ///
    /// ```
    /// use tapegrad::{OpKind, Tape};
    ///
    /// let tape = Tape::new();
    /// let xs = tape.vars(&[1.0, 2.0, 3.0]);
    /// let _ = tape.sum(&xs).sin();
    /// let stats = tape.stats();
    /// assert_eq!(stats.per_kind, vec![(OpKind::Var, 3), (OpKind::Sin, 1), (OpKind::Sum, 1)]);
    /// ```
    pub fn stats(&self) -> TapeStats {
        let size = std::mem::size_of::<T>();
        let (nodes, counts, used, reserved) = self.with_storage(|s| {
            let mut counts = [0usize; OpKind::ALL.len()];
            for &kind in &s.kinds {
                counts[kind as usize] += 1;
            }
            let used = Bytes {
                kinds: s.kinds.len(),
                parents: s.parents.len() * 4,
                partials: s.partials.len() * size,
                consts: s.consts.len() * size,
            };
            let reserved = Bytes {
                kinds: s.kinds.capacity(),
                parents: s.parents.capacity() * 4,
                partials: s.partials.capacity() * size,
                consts: s.consts.capacity() * size,
            };
            (s.kinds.len(), counts, used, reserved)
        });
        let per_kind = OpKind::ALL
            .iter()
            .map(|&k| (k, counts[k as usize]))
            .filter(|&(_, n)| n > 0)
            .collect();
        let named = (0..nodes)
            .filter(|&i| self.name_of(crate::NodeId(i as u32)).is_some())
            .count();
        TapeStats {
            nodes,
            per_kind,
            used,
            reserved,
            named,
        }
    }
}

/// `1234567` as `1.2 MiB`.
fn human(bytes: usize) -> String {
    const UNITS: [&str; 4] = ["B", "KiB", "MiB", "GiB"];
    let mut x = bytes as f64;
    let mut unit = 0;
    while x >= 1024.0 && unit < UNITS.len() - 1 {
        x /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{x:.1} {}", UNITS[unit])
    }
}

impl fmt::Display for Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} (kinds {}, parents {}, partials {}, consts {})",
            human(self.total()),
            human(self.kinds),
            human(self.parents),
            human(self.partials),
            human(self.consts)
        )
    }
}

impl fmt::Display for TapeStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "tape: {} nodes, {:.1} bytes per node, {} named",
            self.nodes,
            self.bytes_per_node(),
            self.named
        )?;
        writeln!(f, "  used:     {}", self.used)?;
        writeln!(f, "  reserved: {}", self.reserved)?;
        let mut by_count = self.per_kind.clone();
        by_count.sort_by_key(|&(_, n)| std::cmp::Reverse(n));
        let ops: Vec<String> = by_count
            .iter()
            .map(|(k, n)| format!("{} {n}", k.name()))
            .collect();
        writeln!(f, "  operations: {}", ops.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_sizes_switch_units_at_1024() {
        assert_eq!(human(1023), "1023 B");
        assert_eq!(human(1024), "1.0 KiB");
        assert_eq!(human(3 << 20), "3.0 MiB");
    }

    #[test]
    fn sum_of_n_costs_n_plus_two_parent_words_and_no_partials() {
        let tape = Tape::new();
        let xs = tape.vars(&[1.0, 2.0, 3.0, 4.0]);
        let before = tape.stats().used;
        let _ = tape.sum(&xs);
        let after = tape.stats().used;
        assert_eq!(after.parents - before.parents, (4 + 2) * 4);
        assert_eq!(after.partials, before.partials);
        assert_eq!(after.kinds - before.kinds, 1);
    }

    #[test]
    fn f32_tapes_count_four_byte_scalars() {
        let tape = Tape::<f32>::new();
        let x = tape.var(2.0);
        let _ = x * x;
        let used = tape.stats().used;
        assert_eq!(used.partials, 2 * 4);
        assert_eq!(used.consts, 4);
    }
}
