//! Helpers shared by the integration tests (each test file includes this with `mod common;`).

use std::panic::{AssertUnwindSafe, catch_unwind};

use proptest::test_runner::Config;

/// Proptest settings: `cases` cases by default, since the suite runs in debug mode;
/// `PROPTEST_CASES` raises them for deep runs.
#[allow(dead_code)] // not every test file that includes this module runs property tests
pub fn proptest_config(cases: u32) -> Config {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(cases);
    Config::with_cases(cases)
}

/// The message `f` panics with.
#[track_caller]
#[allow(dead_code)] // not every test file that includes this module asserts a panic
pub fn panic_message(f: impl FnOnce()) -> String {
    let payload = catch_unwind(AssertUnwindSafe(f)).expect_err("expected a panic");
    if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else {
        panic!("panic payload is neither String nor &str")
    }
}

/// The bits of each number, with every NaN made the same: Rust leaves the sign and payload of a
/// NaN result unspecified (the compiler may swap the operands of `a + b`, and `NaN + -NaN` keeps
/// the first), so two evaluations of one formula agree on "NaN" but not always on which NaN.
#[allow(dead_code)] // not every test file that includes this module compares bits
pub fn bits(xs: &[f64]) -> Vec<u64> {
    xs.iter()
        .map(|&x| if x.is_nan() { f64::NAN } else { x }.to_bits())
        .collect()
}

/// [`bits`] of numbers of any scalar type, each widened to `f64` (exactly, for an `f32`).
#[allow(dead_code)] // not every test file that includes this module compares bits
pub fn bits_of<T: tapegrad::Scalar>(xs: &[T]) -> Vec<u64> {
    bits(&xs.iter().map(|x| x.to_f64()).collect::<Vec<_>>())
}
