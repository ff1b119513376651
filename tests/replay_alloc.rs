//! After its first call, a compiled tape allocates nothing: not for values, partials, adjoints or
//! gradients, not when a branch guard fails.
//!
//! A `#[global_allocator]` applies to the whole test binary, so this file holds one test only.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use tapegrad::{Error, Tape};

/// Counts allocations made by the test's thread while counting is on.
struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    static COUNTING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

fn counting() -> bool {
    COUNTING.try_with(|c| c.get()).unwrap_or(false)
}

// SAFETY: every call is forwarded unchanged to the system allocator; the counter is a side effect.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if counting() {
            ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: forwarded unchanged from the caller, who upholds `GlobalAlloc`'s contract.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if counting() {
            ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: forwarded unchanged from the caller, who upholds `GlobalAlloc`'s contract.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if counting() {
            ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: forwarded unchanged from the caller, who upholds `GlobalAlloc`'s contract.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded unchanged from the caller, who upholds `GlobalAlloc`'s contract.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Allocations made by `f` on this thread.
fn allocations_in(f: impl FnOnce()) -> usize {
    let before = ALLOCATIONS.load(Ordering::Relaxed);
    COUNTING.with(|c| c.set(true));
    f();
    COUNTING.with(|c| c.set(false));
    ALLOCATIONS.load(Ordering::Relaxed) - before
}

#[test]
fn replay_allocates_nothing_after_the_first_call() {
    let tape = Tape::new();
    let x = tape.vars(&[0.5, -1.0, 2.0, 0.25]);
    let data = [1.0, 2.0, 3.0, 4.0];
    let hidden = (tape.dot(&x, &data) + tape.dot(&x[..2], &x[2..])).tanh();
    let guarded = if hidden.gt(-1.0) {
        hidden.sigmoid()
    } else {
        hidden
    };
    let y = tape.sum(&[guarded, x[0].relu(), x[1].max(x[2]), x[3].powi(3)]);
    // A loss (a custom node with a rule) over more predictions than fit on the stack.
    let predictions: Vec<_> = (0..40).map(|i| x[i % 4] * (i as f64)).collect();
    let y = y + tapegrad::loss::softmax_cross_entropy(&predictions, 3);
    let z = y * x[0].exp();
    let mut f = tape.compile(&x, &[y, z]).unwrap();
    let inputs = [0.1, 0.2, 0.3, 0.4];
    let _ = f.run(&inputs).unwrap();
    let mut sum = 0.0;

    let count = allocations_in(|| {
        for i in 0..100 {
            let mut at = inputs;
            at[0] = i as f64 * 0.01;
            let r = f.run(&at).unwrap();
            sum += r.value() + r.grad()[1] + r.grad_of(1)[2];
            let r = f.vjp(&at, &[1.0, 0.5]).unwrap();
            sum += r.grad()[0];
            sum += f.forward(&at).unwrap()[1];
            // The recorded branch (tanh > -1) always holds, so force the guard's failure with a
            // NaN instead: `NaN > -1` is false.
            let err = f.run(&[f64::NAN, 0.0, 0.0, 0.0]).unwrap_err();
            assert!(matches!(err, Error::BranchChanged { .. }));
        }
    });

    assert!(sum.is_finite());
    assert_eq!(count, 0, "replay allocated {count} times in 400 calls");
}
