//! The chain rule, explained by the tape: one neuron, `sigmoid(w1*x1 + w2*x2 + b)`, with a
//! squared-error loss against a target, on one sample of XOR (`1 xor 0 = 1`).
//!
//! Prints the four steps of the chain rule with the numbers `backward` computes, checks that
//! they are `backward`'s, writes the computation as a Graphviz DOT file and prints the tape's
//! statistics.
//!
//! ```text
//! cargo run --example explain                  # writes neuron.dot
//! cargo run --example explain -- --dot -       # DOT text on stdout instead
//! dot -Tsvg neuron.dot -o neuron.svg           # render it (Graphviz)
//! ```

use std::process::ExitCode;

use tapegrad::Tape;

const USAGE: &str = "\
usage: explain [--dot PATH] [--help]

Explains the gradient of one neuron's squared error, step by step.

flags:
  --dot PATH   where to write the Graphviz DOT file (default: neuron.dot; '-' for stdout)
  --help       print this help";

fn main() -> ExitCode {
    let mut dot_path = String::from("neuron.dot");
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--help" | "-h" => {
                println!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            "--dot" => match args.next() {
                Some(path) => dot_path = path,
                None => {
                    eprintln!("--dot needs a path ('-' for stdout)\n\n{USAGE}");
                    return ExitCode::from(2);
                }
            },
            other => {
                eprintln!("unknown argument '{other}'\n\n{USAGE}");
                return ExitCode::from(2);
            }
        }
    }

    let tape = Tape::new();
    // One XOR sample: inputs (1, 0), target 1.
    let x1 = tape.var_named("x1", 1.0);
    let x2 = tape.var_named("x2", 0.0);
    let w1 = tape.var_named("w1", 0.5);
    let w2 = tape.var_named("w2", -0.25);
    let b = tape.var_named("b", 0.1);
    let target = 1.0;

    let z = (w1 * x1 + w2 * x2 + b).named("z");
    let y = z.sigmoid().named("y");
    let loss = (y - target).powi(2).named("L");

    let explanation = loss.explain();
    let to_stdout = dot_path == "-";
    if !to_stdout {
        print!("{explanation:.4}");
    }

    let g = loss.backward();
    for leaf in [x1, x2, w1, w2, b] {
        assert_eq!(
            explanation.gradient(leaf.id()),
            Some(g[leaf]),
            "the explanation's gradient of {} differs from backward's",
            leaf.name()
        );
    }

    let dot = match tape.to_dot(loss) {
        Ok(dot) => dot,
        Err(err) => {
            eprintln!("{err}");
            return ExitCode::FAILURE;
        }
    };
    if to_stdout {
        print!("{dot}");
        return ExitCode::SUCCESS;
    }
    if let Err(err) = std::fs::write(&dot_path, dot) {
        eprintln!("cannot write {dot_path}: {err}");
        return ExitCode::FAILURE;
    }
    let svg = match dot_path.strip_suffix(".dot") {
        Some(stem) => format!("{stem}.svg"),
        None => format!("{dot_path}.svg"),
    };
    println!("\nwrote {dot_path}; render it with: dot -Tsvg {dot_path} -o {svg}");
    print!("\n{}", tape.stats());
    ExitCode::SUCCESS
}
