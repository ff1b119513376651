//! Batch gradients split across threads: the same bits for any number of threads, the sum of
//! the points' gradients, and errors that name what is wrong.

mod common;

use common::bits;

#[path = "../benches/common/batch_net.rs"]
mod batch_net;

use batch_net::{compiled, param_count, point_loss, problem};
use tapegrad::batch::{Batch, gradient_recorded};
use tapegrad::{Tape, Var};

#[test]
fn a_compiled_batch_gives_the_same_bits_on_any_number_of_threads() {
    // 1,000 points: not a whole number of blocks, nor of blocks per thread.
    let (params, data) = problem(1000);
    let mut one = Batch::new(compiled(), 1).unwrap();
    let (value, grad) = one.gradient(&params, &data).unwrap();
    let (value, grad) = (value, grad.to_vec());
    for threads in [2, 3, 4, 7, 64] {
        let mut batch = Batch::new(compiled(), threads).unwrap();
        let (v, g) = batch.gradient(&params, &data).unwrap();
        assert_eq!(v.to_bits(), value.to_bits(), "{threads} threads");
        assert_eq!(bits(g), bits(&grad), "{threads} threads");
    }
}

#[test]
fn a_compiled_batch_sums_the_points_losses_and_gradients() {
    let (params, data) = problem(100);
    let mut batch = Batch::new(compiled(), 2).unwrap();
    let (value, grad) = batch.gradient(&params, &data).unwrap();
    // The whole batch recorded as one sum on one tape.
    let tape = Tape::new();
    let ps = tape.vars(&params);
    let losses: Vec<Var> = data
        .chunks(3)
        .map(|p| {
            let point = tape.vars(p);
            point_loss(&tape, &ps, &point)
        })
        .collect();
    let total = tape.sum(&losses);
    let g = total.backward();
    let close = |a: f64, b: f64| (a - b).abs() <= 1e-12 * a.abs().max(b.abs()).max(1.0);
    assert!(close(value, total.value()), "{value} {}", total.value());
    for (i, (&a, &p)) in grad.iter().zip(&ps).enumerate() {
        assert!(close(a, g[p]), "parameter {i}: {a} {}", g[p]);
    }
    // A batch is reused: a second call at other parameters gives that point's numbers.
    let moved: Vec<f64> = params.iter().map(|p| p * 0.5).collect();
    let (again, _) = batch.gradient(&moved, &data).unwrap();
    assert_ne!(again, value);
}

#[test]
fn a_recorded_batch_gives_the_same_bits_on_any_number_of_threads() {
    let (params, data) = problem(333);
    let points: Vec<&[f64]> = data.chunks(3).collect();
    let run = |threads| {
        gradient_recorded(&params, &points, threads, |tape, ps, p| {
            let point = tape.vars(p);
            point_loss(tape, ps, &point)
        })
        .unwrap()
    };
    let (value, grad) = run(1);
    for threads in [2, 3, 5] {
        let (v, g) = run(threads);
        assert_eq!(v.to_bits(), value.to_bits(), "{threads} threads");
        assert_eq!(bits(&g), bits(&grad), "{threads} threads");
    }
    // And the compiled batch agrees to rounding.
    let mut batch = Batch::new(compiled(), 2).unwrap();
    let (cv, cg) = batch.gradient(&params, &data).unwrap();
    assert!((cv - value).abs() <= 1e-12 * value.abs().max(1.0));
    for (a, b) in cg.iter().zip(&grad) {
        assert!(
            (a - b).abs() <= 1e-12 * a.abs().max(b.abs()).max(1.0),
            "{a} {b}"
        );
    }
}

#[test]
fn batch_mistakes_are_errors_that_say_what_is_wrong() {
    let err = Batch::new(compiled(), 0).unwrap_err();
    assert_eq!(err.to_string(), "threads must be at least 1, got 0");
    let (params, data) = problem(10);
    let mut batch = Batch::new(compiled(), 2).unwrap();
    assert_eq!(
        batch
            .gradient(&params, &data[..29])
            .unwrap_err()
            .to_string(),
        "batch data holds 29 numbers, not a whole number of points of 3; \
         pass the points one after the other"
    );
    assert_eq!(
        batch.gradient(&params[1..], &data).unwrap_err().to_string(),
        format!(
            "run_with_data: got {} input values for {} compiled inputs; pass one value per \
             input, in the order given to Tape::compile",
            param_count() - 1,
            param_count()
        )
    );
    // Two outputs, or no data leaves: not a per-point loss.
    let tape = Tape::new();
    let x = tape.vars(&[1.0, 2.0]);
    let two = tape.compile(&x, &[x[0] * x[1], x[0].sin()]).unwrap();
    assert_eq!(
        Batch::new(two, 2).unwrap_err().to_string(),
        "a batch replays a per-point loss with one output and data leaves, got a compiled tape \
         with 2 outputs and 0 data leaves; compile the loss of one point with \
         Tape::compile_with_data"
    );
    assert!(gradient_recorded(&[1.0], &[1.0], 0, |_, p, &x: &f64| p[0] * x).is_err());
}

#[test]
#[should_panic(expected = "the term of point 40 is not defined")]
fn a_panic_in_a_recorded_term_reaches_the_caller_with_its_message() {
    let points: Vec<usize> = (0..100).collect();
    let _ = gradient_recorded(&[1.0], &points, 2, |_, p, &i| {
        assert!(i != 40, "the term of point {i} is not defined");
        p[0] * 2.0
    });
}
