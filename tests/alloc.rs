//! Reusing a tape, or creating one after dropping another, allocates nothing once warm.
//!
//! A counting global allocator counts the allocations made by the current thread (the test
//! harness runs tests on several threads at once), so each test sees only its own.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use tapegrad::{Tape, Var};

struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

// SAFETY: every call is forwarded unchanged to the system allocator; counting touches only a
// const-initialised thread-local `Cell`, which itself never allocates.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
        // SAFETY: the caller's guarantees for this call are passed on unchanged.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
        // SAFETY: the caller's guarantees for this call are passed on unchanged.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
        // SAFETY: the caller's guarantees for this call are passed on unchanged.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller's guarantees for this call are passed on unchanged.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Allocations (and reallocations) made by this thread so far.
fn allocations() -> usize {
    ALLOCATIONS.with(Cell::get)
}

/// Allocations made by this thread while running `f`.
fn allocations_in(f: impl FnOnce()) -> usize {
    let before = allocations();
    f();
    allocations() - before
}

/// A small network-like step: a weighted sum, a nonlinearity, a loss (partly a library loss,
/// which keeps its rule beside the tape); records about 20 nodes.
fn record<'t>(tape: &'t Tape, step: usize) -> (Var<'t>, [Var<'t>; 3]) {
    let w = [
        tape.var(0.5),
        tape.var(-0.25 + step as f64 * 1e-3),
        tape.var(1.5),
    ];
    let x = [1.0, 2.0, -1.0];
    let h = (tape.dot(&w, &x) + 0.1).tanh();
    let u = tape.sum(&[h, w[0] * w[1], w[2].sigmoid()]);
    let loss = (u - 1.0).powi(2) + w[0].exp().ln() * 0.5 + w[1].max(w[2]) / 3.0;
    (loss + tapegrad::loss::mse(&[h, u], &[0.5, 1.0]), w)
}

/// One training step on a reused tape: clear, record, backward, read the gradients, drop them.
fn step(tape: &mut Tape, step: usize) -> f64 {
    tape.clear();
    let (loss, w) = record(tape, step);
    let g = loss.backward();
    g[w[0]] + g[w[1]] + g[w[2]]
}

#[test]
fn gradient_through_a_reused_tape_allocates_nothing_after_the_first_step() {
    let mut tape = Tape::new();
    let first = allocations_in(|| {
        step(&mut tape, 0);
    });
    assert!(
        first > 0,
        "the first step should allocate the tape's buffers"
    );
    let mut total = 0.0;
    let later = allocations_in(|| {
        for i in 1..100 {
            total += step(&mut tape, i);
        }
    });
    assert_eq!(
        later, 0,
        "99 steps on a reused tape allocated {later} times"
    );
    assert!(total.is_finite());
}

#[test]
fn a_new_tape_after_a_dropped_one_reuses_its_buffers() {
    {
        let tape = Tape::new();
        let (loss, _) = record(&tape, 0);
        drop(loss.backward());
    }
    let later = allocations_in(|| {
        for i in 1..50 {
            let tape = Tape::new();
            let (loss, w) = record(&tape, i);
            let g = loss.backward();
            assert!(g[w[0]].is_finite());
        }
    });
    assert_eq!(later, 0, "49 fresh tapes allocated {later} times");
}

#[test]
fn an_f32_tape_reuses_its_buffers_too() {
    let run = |tape: &mut Tape<f32>| {
        tape.clear();
        let x = tape.var(0.5);
        let y = tape.var(2.0);
        let z = (x * y).sin() + y.sqrt() * x;
        z.backward()[x]
    };
    let mut tape = Tape::<f32>::new();
    run(&mut tape);
    let later = allocations_in(|| {
        for _ in 0..50 {
            run(&mut tape);
        }
    });
    assert_eq!(later, 0, "50 f32 steps allocated {later} times");
}

#[test]
fn vjp_on_a_reused_tape_allocates_nothing_after_the_first_step() {
    let run = |tape: &mut Tape| {
        tape.clear();
        let (loss, w) = record(tape, 0);
        let other = w[0] * w[2];
        let g = tape.vjp(&[loss, other], &[1.0, -0.5]);
        g[w[1]]
    };
    let mut tape = Tape::new();
    run(&mut tape);
    let later = allocations_in(|| {
        for _ in 0..50 {
            run(&mut tape);
        }
    });
    assert_eq!(
        later, 0,
        "50 vector-Jacobian products allocated {later} times"
    );
}

#[test]
fn jacobian_on_a_reused_tape_allocates_only_its_result() {
    let run = |tape: &mut Tape| {
        tape.clear();
        let x = tape.var(0.5);
        let y = tape.var(2.0);
        let j = tape.jacobian(&[x * y, x.sin() + y], &[x, y]);
        j[(0, 0)]
    };
    let mut tape = Tape::new();
    run(&mut tape);
    // After warming up, each call allocates the Jacobian's own storage and nothing else: the
    // adjoint buffer it sweeps with comes from, and goes back to, the thread's pool.
    let later = allocations_in(|| {
        for _ in 0..20 {
            run(&mut tape);
        }
    });
    assert_eq!(later, 20, "20 Jacobians allocated {later} times");
}

#[test]
fn a_jacobian_hands_the_pooled_adjoint_buffer_back() {
    let mut tape = Tape::new();
    step(&mut tape, 0);
    {
        let x = tape.var(1.0);
        let _ = tape.jacobian(&[x.exp()], &[x]);
    }
    // The Jacobian swept with the buffer the first step's gradients gave back; had it not
    // returned it, the next backward would allocate a new one.
    let later = allocations_in(|| {
        for i in 1..20 {
            step(&mut tape, i);
        }
    });
    assert_eq!(later, 0, "steps after a Jacobian allocated {later} times");
}

/// A step far larger than the tape grows by at a time: a chain of `nodes / 3` steps of
/// `x = tanh(x * w + c)` with one weight, with a dot and a sum every 50 steps.
fn long_step(tape: &mut Tape, nodes: usize) -> f64 {
    tape.clear();
    let w = tape.var(0.9);
    let mut x = tape.var(0.1);
    let mut kept = Vec::new();
    for i in 0..nodes / 3 {
        x = (x * w + 0.01).tanh();
        if i % 50 == 0 {
            kept.clear();
            kept.extend([x, w, x]);
            x = tape.sum(&kept) * 0.3 + tape.dot(&kept, &[0.1, 0.2, 0.3]);
        }
    }
    x.backward()[w]
}

#[test]
fn a_long_recording_repeated_on_a_cleared_tape_allocates_nothing() {
    let mut tape = Tape::new();
    // Warm-up: the first step grows every buffer, and leaves `kept`-sized Vecs behind that the
    // allocator counts too, so measure only from the second step on.
    long_step(&mut tape, 30_000);
    let later = allocations_in(|| {
        for _ in 0..5 {
            long_step(&mut tape, 30_000);
        }
    });
    // Each step allocates only the `kept` Vec (its first extend); the tape itself nothing.
    assert_eq!(
        later, 5,
        "5 repeats of a 30,000-node recording allocated {later} times"
    );
}

#[test]
fn a_loss_over_a_large_batch_on_a_reused_tape_allocates_nothing_after_the_first_step() {
    let targets: [f64; 256] = std::array::from_fn(|j| (j % 2) as f64);
    let step = |tape: &mut Tape, i: usize| {
        tape.clear();
        let w = tape.var(0.5 + i as f64 * 1e-3);
        let predictions: [Var; 256] = std::array::from_fn(|j| (w * (targets[j] + 1.0)).sigmoid());
        let l = tapegrad::loss::mse(&predictions, &targets)
            + tapegrad::loss::binary_cross_entropy(&predictions, &targets);
        l.backward()[w]
    };
    let mut tape = Tape::new();
    assert!(step(&mut tape, 0).is_finite());
    let later = allocations_in(|| {
        for i in 1..20 {
            assert!(step(&mut tape, i).is_finite());
        }
    });
    assert_eq!(
        later, 0,
        "19 steps with a 256-element loss allocated {later} times"
    );
}
