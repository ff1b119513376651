//! Safe code cannot break a tape: a panic caught halfway through recording leaves the tape as it
//! was, and the memory limits of the tape fail with messages rather than aborts. Each test states
//! the invariant of an `unsafe` block in `src/tape.rs`; `scripts/valgrind.sh` runs this file under
//! valgrind, where a broken invariant shows as an invalid read or write even if the assertions
//! here happen to pass.

use tapegrad::{Tape, Var};

mod common;
use common::panic_message;

/// `a^(k+1)` recorded as `k` products, far past any spare capacity the tape had: every one of
/// these appends is unchecked while the tape's `room` lasts, so a `room` that overstates the
/// spare capacity writes past the buffers.
fn long_product<'t>(a: Var<'t>, k: usize) -> Var<'t> {
    let mut y = a;
    for _ in 0..k {
        y *= a;
    }
    y
}

// Invariant of `Tape::push`'s unchecked appends: `room` never exceeds the spare capacity of any
// buffer, even after an n-ary push that panicked halfway through writing its operands.
#[test]
fn a_panic_inside_dot_leaves_the_tape_as_it_was() {
    let (tape, other) = (Tape::new(), Tape::new());
    let a = tape.var(1.0001);
    let xs = vec![a; 120];
    let mut ys = xs.clone();
    ys[119] = other.var(1.0);
    let before = tape.len();
    let message = panic_message(|| {
        tape.dot(&xs, &ys);
    });
    assert_eq!(
        message,
        "Var from another Tape passed to 'dot'; build all inputs on one tape"
    );
    // Recording goes on past the spare capacity before anything is asserted, so that valgrind
    // sees the appends even when an assertion below would fail.
    let y = long_product(a, 1000);
    assert_eq!(
        tape.len(),
        before + 1000,
        "the half-written dot node must come off"
    );
    let g = y.backward();
    // d/da a^1001 = 1001 a^1000
    let expected = 1001.0 * 1.0001f64.powi(1000);
    assert!(
        (g[a] - expected).abs() <= 1e-9 * expected,
        "{} {expected}",
        g[a]
    );
}

#[test]
fn a_panic_inside_a_dot_with_numbers_leaves_the_tape_as_it_was() {
    let (tape, other) = (Tape::new(), Tape::new());
    let a = tape.var(2.0);
    let mut xs = vec![a; 300];
    xs[299] = other.var(1.0);
    let weights = vec![0.5; 300];
    let before = tape.len();
    panic_message(|| {
        tape.dot(&xs, &weights);
    });
    assert_eq!(tape.len(), before);
    // The tape records and sweeps normally afterwards, n-ary nodes included.
    let s = tape.dot(&[a, a], &[3.0, 4.0]);
    let y = long_product(s, 600);
    assert_eq!(y.backward()[a], 601.0 * 14.0f64.powi(600) * 7.0);
}

#[test]
fn repeated_caught_panics_never_grow_the_tape() {
    let (tape, other) = (Tape::new(), Tape::new());
    let a = tape.var(1.0);
    let stranger = other.var(1.0);
    for (round, n) in [1usize, 7, 64, 255, 256, 1000].into_iter().enumerate() {
        let mut xs = vec![a; n];
        xs[n - 1] = stranger;
        let ys = vec![a; n];
        panic_message(|| {
            tape.dot(&ys, &xs);
        });
        panic_message(|| {
            tape.sum(&xs);
        });
        panic_message(|| {
            tape.custom(1.0, &[(a, 1.0), (stranger, 1.0)]);
        });
        assert_eq!(tape.len(), 1 + round * 300, "after operands of length {n}");
        let _ = long_product(a, 300);
    }
    assert_eq!(tape.len(), 1 + 6 * 300);
}

#[test]
fn with_capacity_past_the_address_space_panics_with_a_message() {
    let message = panic_message(|| {
        Tape::<f64>::with_capacity(usize::MAX);
    });
    assert!(
        message.starts_with(
            "Tape::with_capacity: cannot reserve room for 18446744073709551615 nodes ("
        ),
        "{message}"
    );
    assert!(
        message.ends_with("); ask for fewer, or let the tape grow as it records"),
        "{message}"
    );
}

#[test]
fn with_capacity_the_allocator_refuses_panics_with_a_message() {
    // 2^50 nodes is a petabyte: the allocator refuses it rather than the arithmetic overflowing.
    let message = panic_message(|| {
        Tape::<f64>::with_capacity(1 << 50);
    });
    assert!(
        message
            .starts_with("Tape::with_capacity: cannot reserve room for 1125899906842624 nodes ("),
        "{message}"
    );
    // The tape that failed handed nothing broken to the next one.
    let tape = Tape::new();
    let x = tape.var(3.0);
    assert_eq!(long_product(x, 2).backward()[x], 27.0);
}

#[test]
fn release_buffers_frees_what_dropped_tapes_kept() {
    {
        let tape = Tape::<f64>::with_capacity(100_000);
        let x = tape.var(1.0);
        let _ = long_product(x, 10).backward();
    }
    assert!(
        Tape::<f64>::new().capacity_bytes() >= 100_000,
        "a new tape reuses the dropped one's buffers"
    );
    tapegrad::release_buffers();
    assert_eq!(Tape::<f64>::new().capacity_bytes(), 0);
}

#[test]
fn a_jacobian_row_out_of_range_panics_with_the_row_count() {
    let tape = Tape::new();
    let x = tape.var(1.0);
    let j = tape.jacobian(&[x.sin(), x.cos()], &[x]);
    assert_eq!(
        panic_message(|| {
            j.row(2);
        }),
        "jacobian row 2 out of range for 2 outputs; rows are numbered from 0"
    );
}

#[test]
fn backward_checked_ignores_non_finite_nodes_off_the_outputs_path() {
    let tape = Tape::new();
    let x = tape.var(-1.0);
    let _unrelated = x.ln();
    let y = x * 3.0;
    let g = y.backward_checked().expect("ln(-1) is not on y's path");
    assert_eq!(g[x], 3.0);
    // On the path, the same NaN is reported.
    let z = y + x.ln();
    let err = z.backward_checked().unwrap_err();
    assert_eq!(
        err.to_string(),
        "value of node #3 (ln) is NaN; it is the first non-finite value the output depends on"
    );
}
