//! Loading parameters from damaged text: random edits of a valid saved network, random lines and
//! random bytes never panic, and never give a network with a NaN or infinite parameter — every
//! result is a network whose parameters are all finite, or an error.
//!
//! The case count is modest so that CI stays quick; `PROPTEST_CASES=100000 cargo test --release
//! --test fuzz_load` searches harder.

use proptest::prelude::*;
use rand::{SeedableRng, rngs::StdRng};
use tapegrad::init::Init;
use tapegrad::nn::{Activation, Mlp};

/// Cases per property: `PROPTEST_CASES` when set, else a number small enough for CI.
fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(256)
}

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: cases(),
        ..ProptestConfig::default()
    }
}

/// A small saved network with every activation kind the format names and awkward values.
fn saved() -> Mlp {
    let acts = [
        Activation::LeakyRelu(0.01),
        Activation::Softplus,
        Activation::Sigmoid,
    ];
    let mut mlp = Mlp::new(
        &[2, 3, 2, 1],
        &acts,
        &Init::xavier_normal(),
        &mut StdRng::seed_from_u64(7),
    )
    .expect("a valid architecture");
    for (i, v) in [f64::MAX, -5e-324, 0.1 + 0.2, -0.0].into_iter().enumerate() {
        mlp.parameters_mut().values_mut()[i] = v;
    }
    mlp
}

/// Numbers and words that parsers get wrong: non-finite spellings, overflowing literals, the
/// edges of `f64`, other number syntaxes, and sizes that overflow.
const TOKENS: &[&str] = &[
    "NaN",
    "nan",
    "-NaN",
    "inf",
    "-inf",
    "+inf",
    "infinity",
    "-Infinity",
    "INF",
    "1e400",
    "-1e400",
    "1e309",
    "1.7976931348623157e308",
    "1.7976931348623159e308",
    "4.9e-324",
    "1e-400",
    "-0",
    "0x10",
    "1_000",
    "1.0.0",
    "",
    " ",
    "\t",
    "18446744073709551615",
    "18446744073709551616",
    "99999999999",
    "0",
    "-1",
    "1",
    "leaky_relu(NaN)",
    "leaky_relu(inf)",
    "leaky_relu(1e400)",
    "tanh",
    "params",
    "sizes",
    "activations",
    "tapegrad-mlp",
    "layer0.neuron0.w0",
    "é",
    "\u{0}",
];

/// One edit of a text's lines.
#[derive(Debug, Clone)]
enum Edit {
    /// Replace word `word` (wrapping) of line `line` (wrapping) with a token.
    Token {
        line: usize,
        word: usize,
        token: usize,
    },
    /// Replace a line with arbitrary text.
    Line { line: usize, text: String },
    /// Insert arbitrary text as a new line.
    Insert { line: usize, text: String },
    /// Remove a line.
    Remove { line: usize },
    /// Repeat a line.
    Duplicate { line: usize },
    /// Swap two lines.
    Swap { a: usize, b: usize },
    /// Overwrite one byte (the text is then read lossily as UTF-8).
    Byte { at: usize, byte: u8 },
    /// Cut the text short.
    Truncate { at: usize },
}

fn edit() -> impl Strategy<Value = Edit> {
    let n = 64usize;
    prop_oneof![
        4 => (0..n, 0..3usize, 0..TOKENS.len())
            .prop_map(|(line, word, token)| Edit::Token { line, word, token }),
        1 => (0..n, ".{0,40}").prop_map(|(line, text)| Edit::Line { line, text }),
        1 => (0..n, ".{0,40}").prop_map(|(line, text)| Edit::Insert { line, text }),
        1 => (0..n).prop_map(|line| Edit::Remove { line }),
        1 => (0..n).prop_map(|line| Edit::Duplicate { line }),
        1 => (0..n, 0..n).prop_map(|(a, b)| Edit::Swap { a, b }),
        2 => (0..4096usize, any::<u8>()).prop_map(|(at, byte)| Edit::Byte { at, byte }),
        1 => (0..4096usize).prop_map(|at| Edit::Truncate { at }),
    ]
}

fn apply(text: &str, edit: &Edit) -> String {
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    let len = lines.len().max(1);
    match edit {
        Edit::Token { line, word, token } => {
            if let Some(l) = lines.get_mut(line % len) {
                let mut words: Vec<&str> = l.split(' ').collect();
                let w = word % words.len();
                words[w] = TOKENS[*token];
                *l = words.join(" ");
            }
        }
        Edit::Line { line, text } => {
            if let Some(l) = lines.get_mut(line % len) {
                l.clone_from(text);
            }
        }
        Edit::Insert { line, text } => lines.insert(line % (lines.len() + 1), text.clone()),
        Edit::Remove { line } => {
            if !lines.is_empty() {
                lines.remove(line % len);
            }
        }
        Edit::Duplicate { line } => {
            if let Some(l) = lines.get(line % len).cloned() {
                lines.insert(line % len, l);
            }
        }
        Edit::Swap { a, b } => {
            if !lines.is_empty() {
                lines.swap(a % len, b % len);
            }
        }
        Edit::Byte { at, byte } => {
            let mut bytes = (lines.join("\n") + "\n").into_bytes();
            let i = at % bytes.len();
            bytes[i] = *byte;
            return String::from_utf8_lossy(&bytes).into_owned();
        }
        Edit::Truncate { at } => {
            let joined = lines.join("\n") + "\n";
            let mut cut = at % (joined.len() + 1);
            while !joined.is_char_boundary(cut) {
                cut -= 1;
            }
            return joined[..cut].to_string();
        }
    }
    lines.join("\n") + "\n"
}

/// Every way of loading `text` either fails or gives all-finite parameters; a failed
/// `load_parameters_text` leaves the network as it was, and a loaded network predicts or
/// reports an error without panicking.
fn check(text: &str) -> Result<(), TestCaseError> {
    match Mlp::from_text(text) {
        Ok(mlp) => {
            let values = mlp.parameters().values();
            prop_assert!(
                values.iter().all(|v| v.is_finite()),
                "loaded non-finite parameters {values:?} from\n{text}"
            );
            let _ = mlp.predict(&vec![0.5; mlp.inputs()]);
        }
        Err(e) => {
            // Messages are lowercase sentences without a final period.
            let message = e.to_string();
            prop_assert!(!message.ends_with('.'), "{message}");
        }
    }
    let mut target = saved();
    let before = target.clone();
    match target.load_parameters_text(text) {
        Ok(()) => prop_assert!(target.parameters().values().iter().all(|v| v.is_finite())),
        Err(_) => prop_assert_eq!(target, before),
    }
    Ok(())
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn edited_saved_networks_load_as_finite_networks_or_errors(
        edits in proptest::collection::vec(edit(), 1..6)
    ) {
        let mut text = saved().to_text();
        for e in &edits {
            text = apply(&text, e);
        }
        check(&text)?;
    }

    #[test]
    fn random_lines_after_a_valid_header_load_as_finite_networks_or_errors(
        body in proptest::collection::vec(
            prop_oneof![
                ".{0,30}",
                (0..TOKENS.len()).prop_map(|t| format!("layer0.neuron0.w0 {}", TOKENS[t])),
                (0..TOKENS.len()).prop_map(|t| format!("layer0.neuron0.b {}", TOKENS[t])),
            ],
            0..12,
        )
    ) {
        let text = format!(
            "tapegrad-mlp 1\nsizes 1 1\nactivations tanh\nparams 2\n{}\n",
            body.join("\n")
        );
        check(&text)?;
    }

    #[test]
    fn random_bytes_load_as_finite_networks_or_errors(
        bytes in proptest::collection::vec(any::<u8>(), 0..512)
    ) {
        check(&String::from_utf8_lossy(&bytes))?;
    }
}

#[test]
fn every_token_in_place_of_every_number_loads_as_a_finite_network_or_an_error() {
    let text = saved().to_text();
    let lines: Vec<&str> = text.lines().collect();
    // The parameter lines follow the four header lines.
    for i in 4..lines.len() {
        let name = lines[i]
            .split(' ')
            .next()
            .expect("a name on every parameter line");
        for token in TOKENS {
            let mut edited = lines.clone();
            let line = format!("{name} {token}");
            edited[i] = &line;
            check(&(edited.join("\n") + "\n"))
                .unwrap_or_else(|e| panic!("line {}, `{token}`: {e}", i + 1));
        }
    }
}

#[test]
fn a_file_of_random_bytes_is_an_error_not_a_panic() {
    // Invalid UTF-8 cannot be read as text at all: an I/O error naming the path.
    let path = std::env::temp_dir().join(format!("tapegrad-fuzz-{}.txt", std::process::id()));
    std::fs::write(&path, [0x74, 0x61, 0xff, 0xfe, 0x0a, 0x80]).unwrap();
    let loaded = Mlp::load(&path);
    std::fs::remove_file(&path).unwrap();
    let message = loaded.unwrap_err().to_string();
    assert!(
        message.starts_with(&format!("cannot access {}: ", path.display())),
        "{message}"
    );
}

#[test]
fn the_unedited_text_loads_back_to_the_same_network() {
    // The base of every mutation above is itself valid, so the edits are what the errors are
    // about.
    assert_eq!(Mlp::from_text(&saved().to_text()).unwrap(), saved());
}
