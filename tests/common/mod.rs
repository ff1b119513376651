//! Helpers shared by the integration tests (each test file includes this with `mod common;`).

use proptest::test_runner::Config;

/// Proptest settings: `cases` cases by default, since the suite runs in debug mode;
/// `PROPTEST_CASES` raises them for deep runs.
pub fn proptest_config(cases: u32) -> Config {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(cases);
    Config::with_cases(cases)
}
