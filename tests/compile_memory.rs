//! Compiling a long tape holds little besides the recording and the program: the program is
//! encoded straight from the recording, with a few bytes of scratch per recorded node, and
//! keeps no more than its passes read.
//!
//! A `#[global_allocator]` applies to the whole test binary, so this file holds one test only.

use tapegrad::{CompiledTape, Tape, Var};

#[path = "../benches/common/rosenbrock.rs"]
mod rosenbrock;

#[path = "../benches/common/counting.rs"]
mod counting;

use counting::{live, peak, reset_peak};

/// Compiles `outputs` of `tape` for `inputs`, and returns the compiled tape with the bytes per
/// recorded operation that compiling held at its peak and that the compiled tape keeps, beyond
/// what was allocated before.
fn compiled_bytes<'t>(
    tape: &'t Tape,
    inputs: &[Var<'t>],
    outputs: &[Var<'t>],
) -> (CompiledTape, f64, f64) {
    let ops = tape.len() as f64;
    let before = reset_peak();
    let compiled = tape.compile(inputs, outputs).expect("no custom operations");
    let held = (peak() - before) as f64 / ops;
    let kept = (live() - before) as f64 / ops;
    (compiled, held, kept)
}

#[test]
fn compiling_takes_a_few_bytes_per_operation_beyond_the_recording_and_the_program() {
    let x = rosenbrock::inputs(50_000);
    let tape = Tape::new();
    let vars = tape.vars(&x);
    let f = rosenbrock::on_tape(&vars);
    let (mut compiled, peak, kept) = compiled_bytes(&tape, &vars, &[f]);
    // The compiled tape holds instructions, values, adjoints, kinds, constants and operand
    // lists; the rest of the peak is scratch.
    assert!(
        peak <= 24.0,
        "compiling W1 took {peak:.1} bytes per recorded operation at its peak, more than 24"
    );
    assert!(
        kept <= 16.0,
        "compiled, W1 keeps {kept:.1} bytes per recorded operation, more than 16"
    );
    assert_eq!(compiled.run(&x).expect("no comparisons").value(), f.value());

    // A network's loss over many points: a neuron is one operation with two operands per
    // input, so each operation holds more. Its layers become repeats, whose search notes
    // each shared weight's reads once per change, not once per point.
    let tape = Tape::new();
    let (params, loss) = network_loss(&tape, 500);
    let (mut compiled, peak, kept) = compiled_bytes(&tape, &params, &[loss]);
    assert!(
        peak <= 80.0,
        "compiling a network's loss took {peak:.1} bytes per recorded operation at its peak, \
         more than 80"
    );
    assert!(
        kept <= 30.0,
        "compiled, a network's loss keeps {kept:.1} bytes per recorded operation, more than 30"
    );
    let at: Vec<f64> = params.iter().map(|p| p.value()).collect();
    assert_eq!(
        compiled.run(&at).expect("no comparisons").value(),
        loss.value()
    );
}

/// The mean squared error of a 2-16-16-1 tanh network over `points` points, and its
/// parameters.
fn network_loss(tape: &Tape, points: usize) -> (Vec<Var<'_>>, Var<'_>) {
    let mut params = Vec::new();
    let mut layers = Vec::new();
    for (n_in, n_out) in [(2, 16), (16, 16), (16, 1)] {
        let at = params.len();
        let count = n_in * n_out + n_out;
        params.extend((0..count).map(|k| tape.var(((k as f64) * 0.37).sin() * 0.5)));
        layers.push((at, n_in, n_out));
    }
    let terms: Vec<Var> = (0..points)
        .map(|p| {
            let x = [((p as f64) * 0.618).fract(), ((p as f64) * 0.414).fract()];
            let mut h: Vec<Var> = Vec::new();
            for (l, &(at, n_in, n_out)) in layers.iter().enumerate() {
                let weights = &params[at..at + n_in * n_out];
                let biases = &params[at + n_in * n_out..at + n_in * n_out + n_out];
                h = (0..n_out)
                    .map(|j| {
                        let row = &weights[j * n_in..(j + 1) * n_in];
                        let sum = if l == 0 {
                            tape.dot(row, &x)
                        } else {
                            tape.dot(row, &h)
                        };
                        let z = sum + biases[j];
                        if l + 1 < layers.len() { z.tanh() } else { z }
                    })
                    .collect();
            }
            (h[0] - x[0] * x[1]).powi(2)
        })
        .collect();
    let loss = tape.sum(&terms) * (1.0 / points as f64);
    (params, loss)
}
