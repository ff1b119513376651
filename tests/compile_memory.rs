//! Compiling a long tape holds little besides the recording and the program: the program is
//! encoded straight from the recording, with a few bytes of scratch per recorded node.
//!
//! A `#[global_allocator]` applies to the whole test binary, so this file holds one test only.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use tapegrad::Tape;

#[path = "../benches/common/rosenbrock.rs"]
mod rosenbrock;

/// The system allocator, counting the bytes allocated and not yet freed, and their peak.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

fn grew(bytes: usize) {
    let now = LIVE.fetch_add(bytes, Ordering::Relaxed) + bytes;
    PEAK.fetch_max(now, Ordering::Relaxed);
}

fn shrank(bytes: usize) {
    LIVE.fetch_sub(bytes, Ordering::Relaxed);
}

// SAFETY: every call is forwarded unchanged to the system allocator; the counters only observe
// the sizes of the blocks it hands out and takes back.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded unchanged from the caller, who upholds `GlobalAlloc`'s contract.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded unchanged from the caller, who upholds `GlobalAlloc`'s contract.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded unchanged from the caller; on failure the block is kept.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            if new_size >= layout.size() {
                grew(new_size - layout.size());
            } else {
                shrank(layout.size() - new_size);
            }
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded unchanged from the caller, who upholds `GlobalAlloc`'s contract.
        unsafe { System.dealloc(ptr, layout) };
        shrank(layout.size());
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

#[test]
fn compiling_rosenbrock_takes_at_most_24_bytes_per_operation_beyond_the_recording() {
    let x = rosenbrock::inputs(50_000);
    let tape = Tape::new();
    let vars = tape.vars(&x);
    let f = rosenbrock::on_tape(&vars);
    let ops = tape.len() as f64;

    let before = LIVE.load(Ordering::Relaxed);
    PEAK.store(before, Ordering::Relaxed);
    let mut compiled = tape.compile(&vars, &[f]).expect("no custom operations");
    let peak = (PEAK.load(Ordering::Relaxed) - before) as f64 / ops;
    let kept = (LIVE.load(Ordering::Relaxed) - before) as f64 / ops;
    // The compiled tape: about 14 bytes per recorded operation (instructions, values,
    // adjoints, kinds, constants, operand lists); the rest of the peak is scratch.
    assert!(
        peak <= 24.0,
        "compiling took {peak:.1} bytes per recorded operation at its peak, more than 24"
    );
    assert!(
        kept <= 16.0,
        "the compiled tape keeps {kept:.1} bytes per recorded operation, more than 16"
    );
    assert_eq!(compiled.run(&x).expect("no comparisons").value(), f.value());
}
