//! Networks: forward values and gradients against hand computations and finite differences,
//! the parameter store, input and architecture errors, saving and loading, and training.

use proptest::prelude::*;
use rand::{Rng, SeedableRng, rngs::StdRng};
use tapegrad::init::Init;
use tapegrad::nn::{Activation, Decision, Layer, Mlp, Neuron, Params, accuracy};
use tapegrad::optim::{Adam, Optimizer, Sgd};
use tapegrad::{Error, OpKind, Tape, Var, loss};

/// Counts the allocations made by the current thread, so a test can assert that a loop makes
/// none (tests run on parallel threads; each counts its own).
struct CountingAllocator;

thread_local! {
    static ALLOCATIONS: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

// SAFETY: forwards every call to the system allocator unchanged; the counter is a const-initialized
// thread-local `Cell<usize>`, which neither allocates nor needs a destructor.
unsafe impl std::alloc::GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: std::alloc::Layout) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
        // SAFETY: the caller's contract for `layout` is passed on unchanged.
        unsafe { std::alloc::System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: std::alloc::Layout) {
        // SAFETY: `ptr` came from `System` through this allocator, with this layout.
        unsafe { std::alloc::System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: std::alloc::Layout, size: usize) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
        // SAFETY: as for `dealloc`, and the caller vouches for `size`.
        unsafe { std::alloc::System.realloc(ptr, layout, size) }
    }
}

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

fn allocations() -> usize {
    ALLOCATIONS.with(|n| n.get())
}

fn net(sizes: &[usize], acts: &[Activation], seed: u64) -> Mlp {
    Mlp::new(
        sizes,
        acts,
        &Init::xavier_uniform(),
        &mut StdRng::seed_from_u64(seed),
    )
    .unwrap()
}

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

#[test]
fn forward_matches_a_hand_computation() {
    let mut mlp = net(&[2, 2, 1], &[Activation::Tanh, Activation::Sigmoid], 0);
    let set = [
        ("layer0.neuron0.w0", 0.5),
        ("layer0.neuron0.w1", -1.0),
        ("layer0.neuron0.b", 0.25),
        ("layer0.neuron1.w0", 2.0),
        ("layer0.neuron1.w1", 0.0),
        ("layer0.neuron1.b", -0.5),
        ("layer1.neuron0.w0", 1.5),
        ("layer1.neuron0.w1", -2.0),
        ("layer1.neuron0.b", 0.1),
    ];
    for (name, value) in set {
        mlp.parameters_mut().set(name, value).unwrap();
    }
    let x = [0.3, 0.7];
    // h0 = tanh(0.5·0.3 - 1·0.7 + 0.25), h1 = tanh(2·0.3 + 0·0.7 - 0.5)
    // y = sigmoid(1.5·h0 - 2·h1 + 0.1)
    let h0 = (0.5f64 * 0.3 - 0.7 + 0.25).tanh();
    let h1 = (2.0f64 * 0.3 + 0.0 * 0.7 - 0.5).tanh();
    let y = sigmoid(1.5 * h0 - 2.0 * h1 + 0.1);
    let got = mlp.predict(&x).unwrap()[0];
    assert!((got - y).abs() < 1e-15, "{got} != {y}");
}

#[test]
fn every_activation_applies_its_var_method() {
    let tape = Tape::new();
    let x = tape.var(-0.7);
    assert_eq!(Activation::Sigmoid.apply(x).value(), x.sigmoid().value());
    assert_eq!(Activation::Tanh.apply(x).value(), x.tanh().value());
    assert_eq!(Activation::Relu.apply(x).value(), 0.0);
    assert_eq!(
        Activation::LeakyRelu(0.1).apply(x).value(),
        x.leaky_relu(0.1).value()
    );
    assert_eq!(Activation::Softplus.apply(x).value(), x.softplus().value());
    let before = tape.len();
    assert_eq!(Activation::Identity.apply(x).id(), x.id());
    assert_eq!(tape.len(), before);
}

#[test]
fn a_four_input_neuron_records_three_nodes() {
    let mlp = net(&[4, 1], &[Activation::Softplus], 1);
    let tape = Tape::new();
    let mut bound = mlp.bind(&tape);
    assert_eq!(tape.len(), 5);
    let y = bound.forward(&[1.0, 2.0, 3.0, 4.0]).unwrap()[0];
    assert_eq!(tape.len(), 8);
    assert_eq!(tape.kind(y), OpKind::Softplus);
}

/// Mean squared error of `mlp` over `data`, computed in plain f64 from `predict`.
fn loss_of(mlp: &Mlp, data: &[(Vec<f64>, f64)]) -> f64 {
    data.iter()
        .map(|(x, y)| (mlp.predict(x).unwrap()[0] - y).powi(2))
        .sum::<f64>()
        / data.len() as f64
}

fn random_data(rng: &mut StdRng, inputs: usize, n: usize) -> Vec<(Vec<f64>, f64)> {
    (0..n)
        .map(|_| {
            let x: Vec<f64> = (0..inputs).map(|_| rng.gen_range(-1.0..1.0)).collect();
            (x, rng.gen_range(-1.0..1.0))
        })
        .collect()
}

#[test]
fn parameter_gradients_match_finite_differences() {
    let acts = [Activation::Tanh, Activation::Softplus, Activation::Identity];
    let mut mlp = net(&[3, 4, 3, 1], &acts, 2);
    let data = random_data(&mut StdRng::seed_from_u64(3), 3, 5);

    let tape = Tape::new();
    let mut bound = mlp.bind(&tape);
    let mut loss = tape.constant(0.0);
    for (x, y) in &data {
        loss += (bound.forward(x).unwrap()[0] - *y).powi(2);
    }
    let loss = loss / data.len() as f64;
    assert!((loss.value() - loss_of(&mlp, &data)).abs() < 1e-14);
    let grads = bound.gradients(&loss.backward());
    drop(bound);
    assert_eq!(grads.len(), mlp.parameters().len());

    let h = 1e-6;
    for (i, grad) in grads.iter().enumerate() {
        let p = mlp.parameters().values()[i];
        mlp.parameters_mut().values_mut()[i] = p + h;
        let up = loss_of(&mlp, &data);
        mlp.parameters_mut().values_mut()[i] = p - h;
        let down = loss_of(&mlp, &data);
        mlp.parameters_mut().values_mut()[i] = p;
        let numeric = (up - down) / (2.0 * h);
        let name = mlp.parameters().name(i).unwrap();
        assert!(
            (grad - numeric).abs() < 1e-7,
            "{name}: tape {grad} vs finite difference {numeric}"
        );
    }
}

#[test]
fn forward_on_vars_gives_input_gradients() {
    let acts = [Activation::Sigmoid, Activation::Identity];
    let mlp = net(&[2, 3, 1], &acts, 4);
    let point = [0.4, -0.3];
    let tape = Tape::new();
    let mut bound = mlp.bind(&tape);
    let x = tape.vars(&point);
    let y = bound.forward(&x).unwrap()[0];
    assert_eq!(y.value(), mlp.predict(&point).unwrap()[0]);
    let g = y.backward();

    let h = 1e-6;
    for i in 0..2 {
        let mut up = point;
        up[i] += h;
        let mut down = point;
        down[i] -= h;
        let numeric = (mlp.predict(&up).unwrap()[0] - mlp.predict(&down).unwrap()[0]) / (2.0 * h);
        assert!((g[x[i]] - numeric).abs() < 1e-8, "x{i}");
    }
}

#[test]
fn a_batch_loss_has_the_sum_of_the_per_sample_gradients() {
    let acts = [Activation::LeakyRelu(0.01), Activation::Identity];
    let mlp = net(&[2, 5, 1], &acts, 5);
    let data = random_data(&mut StdRng::seed_from_u64(6), 2, 3);
    let mut tape = Tape::new();
    let mut sum = vec![0.0; mlp.parameters().len()];
    let mut g = Vec::new();
    for (x, y) in &data {
        tape.clear();
        let mut bound = mlp.bind(&tape);
        let l = (bound.forward(x).unwrap()[0] - *y).powi(2);
        bound.gradients_into(&l.backward(), &mut g);
        for (s, gi) in sum.iter_mut().zip(&g) {
            *s += gi;
        }
    }
    tape.clear();
    let mut bound = mlp.bind(&tape);
    let mut loss = tape.constant(0.0);
    for (x, y) in &data {
        loss += (bound.forward(x).unwrap()[0] - *y).powi(2);
    }
    bound.gradients_into(&loss.backward(), &mut g);
    for (a, b) in g.iter().zip(&sum) {
        assert!((a - b).abs() < 1e-12, "{a} vs {b}");
    }
}

#[test]
fn binding_records_one_leaf_per_parameter_in_store_order() {
    let mlp = net(&[2, 3, 2], &[Activation::Relu, Activation::Identity], 7);
    let tape = Tape::new();
    let bound = mlp.bind(&tape);
    assert_eq!(tape.len(), mlp.parameters().len());
    for (i, (v, p)) in bound
        .parameters()
        .iter()
        .zip(mlp.parameters().values())
        .enumerate()
    {
        assert_eq!(v.id().index(), i);
        assert_eq!(v.value(), *p);
        assert_eq!(tape.kind(*v), OpKind::Var);
    }
}

#[test]
fn parameters_are_named_by_layer_neuron_and_input_in_order() {
    let mlp = net(&[2, 2, 1], &[Activation::Tanh, Activation::Sigmoid], 8);
    let names: Vec<&str> = mlp.parameters().names().collect();
    assert_eq!(
        names,
        vec![
            "layer0.neuron0.w0",
            "layer0.neuron0.w1",
            "layer0.neuron0.b",
            "layer0.neuron1.w0",
            "layer0.neuron1.w1",
            "layer0.neuron1.b",
            "layer1.neuron0.w0",
            "layer1.neuron0.w1",
            "layer1.neuron0.b",
        ]
    );
    assert_eq!(mlp.parameters().index_of("layer1.neuron0.w1"), Some(7));
    assert_eq!(mlp.parameters().get("layer9.neuron0.b"), None);
}

#[test]
fn set_changes_one_parameter_and_unknown_names_are_errors() {
    let mut mlp = net(&[2, 1], &[Activation::Identity], 9);
    let before = mlp.parameters().clone();
    mlp.parameters_mut().set("layer0.neuron0.b", 4.0).unwrap();
    assert_eq!(mlp.parameters().get("layer0.neuron0.b"), Some(4.0));
    assert_eq!(mlp.parameters().values()[..2], before.values()[..2]);
    let err = mlp
        .parameters_mut()
        .set("layer0.neuron0.w2", 1.0)
        .unwrap_err();
    assert_eq!(
        err,
        Error::UnknownParameter {
            name: "layer0.neuron0.w2".into()
        }
    );
    assert_eq!(
        err.to_string(),
        "no parameter is named \"layer0.neuron0.w2\""
    );
}

#[test]
#[should_panic(
    expected = "Params::push: a parameter is already named \"w\"; give each parameter its own name"
)]
fn pushing_a_duplicate_name_panics() {
    let mut p = Params::new();
    p.push("w", 1.0).unwrap();
    let _ = p.push("w", 2.0);
}

#[test]
fn the_wrong_number_of_inputs_is_an_error_naming_both_counts() {
    let mlp = net(&[3, 2, 1], &[Activation::Tanh, Activation::Identity], 10);
    let expected = Error::InputSize {
        expected: 3,
        actual: 2,
    };
    assert_eq!(mlp.predict(&[1.0, 2.0]).unwrap_err(), expected);
    let tape = Tape::new();
    let mut bound = mlp.bind(&tape);
    assert_eq!(bound.forward(&[1.0, 2.0]).unwrap_err(), expected);
    let xs = tape.vars(&[1.0, 2.0, 3.0, 4.0]);
    assert_eq!(
        bound.forward(&xs).unwrap_err().to_string(),
        "network takes 3 inputs, got 4"
    );
    // The bound network still works after an error.
    assert_eq!(bound.forward(&xs[..3]).unwrap().len(), 1);
}

#[test]
fn layer_and_neuron_check_their_inputs_too() {
    let tape = Tape::new();
    let layer = Layer::new(2, 3, Activation::Tanh).unwrap();
    let p = tape.vars(&[0.1; 9]);
    let mut out = vec![tape.var(1.0)];
    let err = layer.forward_into(&p, &[1.0], &mut out).unwrap_err();
    assert_eq!(err.to_string(), "network takes 2 inputs, got 1");
    assert_eq!(out.len(), 1, "out is unchanged on error");
    layer.forward_into(&p, &[1.0, 2.0], &mut out).unwrap();
    assert_eq!(out.len(), 4);

    let neuron = Neuron::new(3, Activation::Relu);
    assert_eq!(
        neuron.forward(&p[..4], &[1.0, 2.0]).unwrap_err(),
        Error::InputSize {
            expected: 3,
            actual: 2
        }
    );
}

#[test]
#[should_panic(
    expected = "Layer::forward: got 8 parameters for a layer of 3 neurons with 2 inputs; pass 9 (each neuron's weights then its bias)"
)]
fn a_layer_given_the_wrong_parameter_count_panics() {
    let tape = Tape::new();
    let layer = Layer::new(2, 3, Activation::Tanh).unwrap();
    let p = tape.vars(&[0.1; 8]);
    let _ = layer.forward(&p, &[1.0, 2.0]);
}

#[test]
fn bad_architectures_are_errors_with_the_sizes() {
    let mut rng = StdRng::seed_from_u64(0);
    let init = Init::default();
    let tanh = Activation::Tanh;
    let cases: [(&[usize], &[Activation], &str); 5] = [
        (
            &[2],
            &[],
            "bad architecture: an mlp needs the input size and at least one layer size, \
             got sizes [2] and 0 activations",
        ),
        (
            &[],
            &[],
            "bad architecture: an mlp needs the input size and at least one layer size, \
             got sizes [] and 0 activations",
        ),
        (
            &[2, 0, 1],
            &[tanh, tanh],
            "bad architecture: every layer needs at least one neuron and at least one input, \
             got sizes [2, 0, 1] and 2 activations",
        ),
        (
            &[0, 1],
            &[tanh],
            "bad architecture: every layer needs at least one neuron and at least one input, \
             got sizes [0, 1] and 1 activations",
        ),
        (
            &[2, 3, 1],
            &[tanh, tanh, tanh],
            "bad architecture: there must be one activation per layer (each size after the \
             first), got sizes [2, 3, 1] and 3 activations",
        ),
    ];
    for (sizes, acts, message) in cases {
        let err = Mlp::new(sizes, acts, &init, &mut rng).unwrap_err();
        assert_eq!(err.to_string(), message);
    }
    assert_eq!(
        Mlp::new(&[2, 1], &[Activation::LeakyRelu(f64::NAN)], &init, &mut rng)
            .unwrap_err()
            .to_string(),
        "leaky relu slope must be a finite number, got NaN"
    );
}

fn saved_net() -> Mlp {
    let acts = [Activation::LeakyRelu(0.01), Activation::Sigmoid];
    let mut mlp = net(&[2, 2, 1], &acts, 11);
    // Values whose shortest decimal form is long, or that printing often gets wrong.
    let awkward = [
        0.1 + 0.2,
        -0.0,
        5e-324,
        f64::MAX,
        1.0 / 3.0,
        -2.2250738585072014e-308,
        123456789.00000001,
    ];
    for (v, a) in mlp.parameters_mut().values_mut().iter_mut().zip(awkward) {
        *v = a;
    }
    mlp
}

fn bits(mlp: &Mlp) -> Vec<u64> {
    mlp.parameters()
        .values()
        .iter()
        .map(|v| v.to_bits())
        .collect()
}

#[test]
fn save_and_load_round_trip_bit_exactly() {
    let mlp = saved_net();
    let path = std::env::temp_dir().join(format!("tapegrad-nn-{}.txt", std::process::id()));
    mlp.save(&path).unwrap();
    let back = Mlp::load(&path);
    let mut other = net(
        &[2, 2, 1],
        &[Activation::LeakyRelu(0.01), Activation::Sigmoid],
        99,
    );
    other.load_parameters(&path).unwrap();
    std::fs::remove_file(&path).unwrap();
    let back = back.unwrap();
    assert_eq!(bits(&back), bits(&mlp));
    assert_eq!(bits(&other), bits(&mlp));
    assert_eq!(back.architecture(), mlp.architecture());
    assert_eq!(
        back.parameters().names().collect::<Vec<_>>(),
        mlp.parameters().names().collect::<Vec<_>>()
    );
}

proptest! {
    #[test]
    fn finite_parameters_survive_the_text_format_and_others_are_refused(
        values in proptest::collection::vec(proptest::num::f64::ANY, 9)
    ) {
        let mut mlp = saved_net();
        mlp.parameters_mut().values_mut().copy_from_slice(&values);
        let loaded = Mlp::from_text(&mlp.to_text());
        match values.iter().position(|v| !v.is_finite()) {
            // Every finite value comes back bit for bit.
            None => {
                let back = loaded.unwrap();
                for (a, b) in back.parameters().values().iter().zip(&values) {
                    prop_assert_eq!(a.to_bits(), b.to_bits());
                }
            }
            // The first NaN or infinity is refused, on its line (the parameters start on line 5).
            Some(i) => match loaded {
                Err(Error::NonFiniteInFile { line, name, .. }) => {
                    prop_assert_eq!(line, 5 + i);
                    prop_assert_eq!(Some(name.as_str()), mlp.parameters().name(i));
                }
                other => prop_assert!(false, "expected NonFiniteInFile, got {:?}", other),
            },
        }
    }
}

#[test]
fn a_missing_file_is_an_io_error_naming_the_path() {
    let path = std::env::temp_dir().join("tapegrad-no-such-dir/none.txt");
    match Mlp::load(&path).unwrap_err() {
        Error::Io { path: p, message } => {
            assert_eq!(p, path.display().to_string());
            assert!(!message.is_empty());
        }
        other => panic!("expected an Io error, got {other:?}"),
    }
    let err = Mlp::load(&path).unwrap_err().to_string();
    assert!(
        err.starts_with(&format!("cannot access {}: ", path.display())),
        "{err}"
    );
}

/// `text` with line `n` (from 1) replaced by `line`, or removed when `line` is `None`.
fn edit(text: &str, n: usize, line: Option<&str>) -> String {
    let mut lines: Vec<&str> = text.lines().collect();
    match line {
        Some(l) => lines[n - 1] = l,
        None => {
            lines.remove(n - 1);
        }
    }
    lines.join("\n") + "\n"
}

fn load_err(text: &str) -> String {
    Mlp::from_text(text).unwrap_err().to_string()
}

#[test]
fn a_truncated_file_names_the_first_missing_line() {
    let text = saved_net().to_text();
    let cut: String = text.lines().take(8).map(|l| format!("{l}\n")).collect();
    assert_eq!(
        load_err(&cut),
        "parameter file line 9: expected `layer0.neuron1.w1 <number>`, got end of file"
    );
    assert_eq!(
        load_err(""),
        "parameter file line 1: expected `tapegrad-mlp 1`, got end of file"
    );
}

#[test]
fn a_wrong_header_or_version_is_an_error() {
    let text = saved_net().to_text();
    assert_eq!(
        load_err(&edit(&text, 1, Some("tapegrad-mlp 2"))),
        "parameter file line 1: expected `tapegrad-mlp 1`, got `tapegrad-mlp 2`"
    );
    assert_eq!(
        load_err(&edit(&text, 2, Some("sizes 2 x 1"))),
        "parameter file line 2: expected `sizes` and the layer sizes, inputs first, got `sizes 2 x 1`"
    );
    assert_eq!(
        load_err(&edit(&text, 3, Some("activations tanh gelu"))),
        "parameter file line 3: expected activations among identity, sigmoid, tanh, relu, \
         leaky_relu(<slope>), softplus, got `activations tanh gelu`"
    );
    assert_eq!(
        load_err(&edit(&text, 2, Some("sizes 2 18446744073709551615 1"))),
        "bad architecture: the number of parameters overflows usize, \
         got sizes [2, 18446744073709551615, 1] and 2 activations"
    );
    assert_eq!(
        load_err(&edit(&text, 3, Some("activations tanh"))),
        "bad architecture: there must be one activation per layer (each size after the first), \
         got sizes [2, 2, 1] and 1 activations"
    );
}

#[test]
fn a_wrong_count_is_an_error_naming_the_expected_count() {
    let text = saved_net().to_text();
    assert_eq!(
        load_err(&edit(&text, 4, Some("params 8"))),
        "parameter file line 4: expected `params 9`, the count for this architecture, got `params 8`"
    );
    // A parameter line missing from the middle shifts the rest: the first misplaced name is
    // reported.
    assert_eq!(
        load_err(&edit(&text, 6, None)),
        "parameter file line 6: expected `layer0.neuron0.w1 <number>`, got `layer0.neuron0.b 5e-324`"
    );
    assert_eq!(
        load_err(&(text.clone() + "layer2.neuron0.b 1.0\n")),
        "parameter file line 14: expected end of file, got `layer2.neuron0.b 1.0`"
    );
    // Trailing blank lines are fine.
    assert!(Mlp::from_text(&(text + "\n\n")).is_ok());
}

#[test]
fn a_wrong_name_or_unparsable_number_is_an_error_naming_the_line() {
    let text = saved_net().to_text();
    assert_eq!(
        load_err(&edit(&text, 7, Some("layer0.neuron0.bias 1.0"))),
        "parameter file line 7: expected `layer0.neuron0.b <number>`, got `layer0.neuron0.bias 1.0`"
    );
    assert_eq!(
        load_err(&edit(&text, 7, Some("layer0.neuron0.b 1.0x"))),
        "parameter file line 7: expected `layer0.neuron0.b <number>`, got `layer0.neuron0.b 1.0x`"
    );
    assert_eq!(
        load_err(&edit(&text, 7, Some("layer0.neuron0.b"))),
        "parameter file line 7: expected `layer0.neuron0.b <number>`, got `layer0.neuron0.b`"
    );
    assert_eq!(
        load_err(&edit(&text, 7, Some("layer0.neuron0.b 1 2"))),
        "parameter file line 7: expected `layer0.neuron0.b <number>`, got `layer0.neuron0.b 1 2`"
    );
}

#[test]
fn non_finite_numbers_in_a_file_are_errors_naming_the_line_the_parameter_and_the_text() {
    let saved = saved_net();
    let text = saved.to_text();
    // `str::parse::<f64>` accepts every one of these; the overflowing literals read as infinity.
    for (written, reads_as) in [
        ("NaN", "NaN"),
        ("nan", "NaN"),
        ("inf", "inf"),
        ("-inf", "-inf"),
        ("+infinity", "inf"),
        ("-Infinity", "-inf"),
        ("1e400", "inf"),
        ("-1e309", "-inf"),
        (
            "1797693134862315807937289714053034150799341327710e260",
            "inf",
        ),
    ] {
        let broken = edit(&text, 7, Some(&format!("layer0.neuron0.b {written}")));
        let expected = format!(
            "parameter file line 7: layer0.neuron0.b must be a finite number, got `{written}` \
             (reads as {reads_as})"
        );
        assert_eq!(load_err(&broken), expected);

        let mut other = net(
            &[2, 2, 1],
            &[Activation::LeakyRelu(0.01), Activation::Sigmoid],
            5,
        );
        let before = other.clone();
        assert_eq!(
            other.load_parameters_text(&broken).unwrap_err().to_string(),
            expected
        );
        assert_eq!(other, before);
    }
    // The largest finite f64, and the smallest subnormal, still load.
    let edge = edit(&text, 7, Some("layer0.neuron0.b 1.7976931348623157e308"));
    let edge = edit(&edge, 8, Some("layer0.neuron1.w0 -5e-324"));
    let back = Mlp::from_text(&edge).unwrap();
    assert_eq!(back.parameters().get("layer0.neuron0.b"), Some(f64::MAX));
    assert_eq!(back.parameters().get("layer0.neuron1.w0"), Some(-5e-324));
}

#[test]
fn loading_a_file_with_an_infinity_is_an_error_naming_the_line() {
    let text = edit(&saved_net().to_text(), 13, Some("layer1.neuron0.b inf"));
    let path = std::env::temp_dir().join(format!("tapegrad-nn-inf-{}.txt", std::process::id()));
    std::fs::write(&path, text).unwrap();
    let loaded = Mlp::load(&path);
    let mut other = saved_net();
    let into = other.load_parameters(&path);
    std::fs::remove_file(&path).unwrap();
    let expected = Error::NonFiniteInFile {
        line: 13,
        name: "layer1.neuron0.b".into(),
        text: "inf".into(),
        value: f64::INFINITY,
    };
    assert_eq!(loaded.unwrap_err(), expected);
    assert_eq!(into.unwrap_err(), expected);
    assert_eq!(other, saved_net());
}

#[test]
fn saving_a_non_finite_parameter_is_an_error_and_writes_nothing() {
    let mut mlp = saved_net();
    mlp.parameters_mut().values_mut()[3] = f64::NAN;
    let path = std::env::temp_dir().join(format!("tapegrad-nn-nan-{}.txt", std::process::id()));
    assert_eq!(
        mlp.save(&path).unwrap_err().to_string(),
        "parameter \"layer0.neuron1.w0\" must be a finite number, got NaN"
    );
    assert!(!path.exists());
}

#[test]
fn set_and_push_refuse_non_finite_values_and_change_nothing() {
    let mut mlp = saved_net();
    let before = mlp.clone();
    for value in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
        let err = mlp
            .parameters_mut()
            .set("layer1.neuron0.w1", value)
            .unwrap_err();
        // NaN != NaN, so the errors are compared as they print.
        assert_eq!(
            format!("{err:?}"),
            format!(
                "{:?}",
                Error::NonFiniteParameter {
                    name: "layer1.neuron0.w1".into(),
                    value,
                }
            )
        );
        assert_eq!(
            err.to_string(),
            format!("parameter \"layer1.neuron0.w1\" must be a finite number, got {value}")
        );
    }
    assert_eq!(mlp, before);
    // An unknown name is reported first, whatever the value.
    assert_eq!(
        mlp.parameters_mut().set("nope", f64::NAN).unwrap_err(),
        Error::UnknownParameter {
            name: "nope".into()
        }
    );

    let mut p = Params::new();
    p.push("a", 1.0).unwrap();
    assert_eq!(
        p.push("b", f64::NAN).unwrap_err().to_string(),
        "parameter \"b\" must be a finite number, got NaN"
    );
    assert_eq!(p.len(), 1);
    // The refused name is free to be pushed with a finite value.
    assert_eq!(p.push("b", 2.0), Ok(1));
}

#[test]
fn an_initializer_that_overflows_is_an_error_not_an_infinite_weight() {
    // N(0, f64::MAX) overflows whenever |z| > 1, about one draw in three.
    let err = Mlp::new(
        &[4, 4, 1],
        &[Activation::Tanh, Activation::Sigmoid],
        &Init::normal(0.0, f64::MAX).unwrap(),
        &mut StdRng::seed_from_u64(0),
    )
    .unwrap_err();
    match err {
        Error::NonFiniteParameter { name, value } => {
            assert!(name.starts_with("layer0.neuron"), "{name}");
            assert!(value.is_infinite());
        }
        other => panic!("expected NonFiniteParameter, got {other:?}"),
    }
}

#[test]
fn check_finite_names_the_first_non_finite_parameter() {
    let mut mlp = saved_net();
    mlp.parameters().check_finite().unwrap();
    mlp.parameters_mut().values_mut()[8] = f64::INFINITY;
    mlp.parameters_mut().values_mut()[5] = f64::NAN;
    assert_eq!(
        mlp.parameters().check_finite().unwrap_err().to_string(),
        "parameter \"layer0.neuron1.b\" must be a finite number, got NaN"
    );
}

#[test]
fn predict_refuses_a_non_finite_input_naming_its_position() {
    let mlp = net(&[3, 2, 1], &[Activation::Tanh, Activation::Sigmoid], 2);
    assert_eq!(
        mlp.predict(&[0.0, 1.0, f64::NEG_INFINITY])
            .unwrap_err()
            .to_string(),
        "input 2 must be a finite number, got -inf"
    );
    assert_eq!(
        mlp.predict(&[f64::NAN, f64::INFINITY, 0.0])
            .unwrap_err()
            .to_string(),
        "input 0 must be a finite number, got NaN"
    );
    // The size is checked first.
    assert_eq!(
        mlp.predict(&[f64::NAN]).unwrap_err(),
        Error::InputSize {
            expected: 3,
            actual: 1
        }
    );
}

#[test]
fn predict_refuses_a_non_finite_parameter_written_through_values_mut() {
    let mut mlp = net(&[2, 1], &[Activation::Sigmoid], 2);
    mlp.parameters_mut().values_mut()[2] = f64::INFINITY;
    assert_eq!(
        mlp.predict(&[0.0, 1.0]).unwrap_err().to_string(),
        "parameter \"layer0.neuron0.b\" must be a finite number, got inf"
    );
}

/// A 1-2-2 network of identity layers whose outputs overflow for an input of 1e200: weights of
/// 1e200 make the hidden weighted sums inf, and the output neuron's weighted sum is
/// inf - inf = NaN.
fn overflowing_net() -> Mlp {
    let mut mlp = net(&[1, 2, 2], &[Activation::Identity, Activation::Identity], 0);
    let names = [
        "layer0.neuron0.w0",
        "layer0.neuron1.w0",
        "layer1.neuron0.w0",
        "layer1.neuron0.w1",
    ];
    for (name, w) in names.iter().zip([1e200, 1e200, 1.0, -1.0]) {
        mlp.parameters_mut().set(name, w).unwrap();
    }
    mlp
}

#[test]
fn predict_names_an_output_that_overflowed_and_the_first_non_finite_node() {
    let mut mlp = overflowing_net();
    mlp.parameters_mut().set("layer1.neuron1.w0", 0.0).unwrap();
    mlp.parameters_mut().set("layer1.neuron1.w1", 0.0).unwrap();
    let err = mlp.predict(&[1e200]).unwrap_err();
    // Leaves #0..#9 (10 parameters), then the first hidden neuron's dot is node #10.
    match &err {
        Error::NonFiniteOutput {
            index,
            value,
            node,
            op,
        } => {
            assert_eq!(*index, 0);
            assert!(value.is_nan());
            assert_eq!(node.index(), 10);
            assert_eq!(op.name(), "dot");
        }
        other => panic!("expected NonFiniteOutput, got {other:?}"),
    }
    assert_eq!(
        err.to_string(),
        "output 0 is NaN although the inputs and parameters are finite; the first non-finite \
         value is node #10 (dot)"
    );
    // Output 1 multiplies the infinities by 0 and is NaN too, but output 0 is named first.
    assert!(mlp.predict(&[1.0]).is_ok());
}

#[test]
fn loading_another_architecture_is_an_error_and_changes_nothing() {
    let saved = saved_net();
    let acts = [Activation::Tanh, Activation::Sigmoid];
    let mut other = net(&[2, 2, 1], &acts, 12);
    let before = other.clone();
    let err = other.load_parameters_text(&saved.to_text()).unwrap_err();
    assert_eq!(
        err,
        Error::ArchitectureMismatch {
            expected: "2-2-1 (tanh, sigmoid)".into(),
            actual: "2-2-1 (leaky_relu(0.01), sigmoid)".into(),
        }
    );
    assert_eq!(
        err.to_string(),
        "parameter file is for the architecture 2-2-1 (leaky_relu(0.01), sigmoid), \
         the network is 2-2-1 (tanh, sigmoid)"
    );
    assert_eq!(other, before);
    let broken = edit(&saved.to_text(), 9, None);
    assert!(other.load_parameters_text(&broken).is_err());
    assert_eq!(other, before);
}

/// Trains on XOR with one reused tape and returns the final loss.
fn train_xor(opt: &mut impl Optimizer, epochs: usize, seed: u64) -> f64 {
    let data = [
        ([0.0, 0.0], 0.0),
        ([0.0, 1.0], 1.0),
        ([1.0, 0.0], 1.0),
        ([1.0, 1.0], 0.0),
    ];
    let mut mlp = net(&[2, 4, 1], &[Activation::Tanh, Activation::Sigmoid], seed);
    let mut tape = Tape::new();
    let mut grads = Vec::new();
    let mut last = f64::INFINITY;
    for _ in 0..epochs {
        tape.clear();
        let mut bound = mlp.bind(&tape);
        let mut loss = tape.constant(0.0);
        for (x, y) in &data {
            loss += (bound.forward(x).unwrap()[0] - *y).powi(2);
        }
        last = loss.value();
        opt.check_loss(last).unwrap();
        bound.gradients_into(&loss.backward(), &mut grads);
        opt.step_checked(mlp.parameters_mut(), &grads).unwrap();
    }
    last
}

#[test]
fn sgd_with_momentum_learns_xor() {
    let mut opt = Sgd::new(0.5).unwrap().momentum(0.9).unwrap();
    let loss = train_xor(&mut opt, 500, 13);
    assert!(loss < 0.02, "loss {loss}");
}

#[test]
fn adam_learns_xor() {
    let mut opt = Adam::new(0.05).unwrap();
    let loss = train_xor(&mut opt, 500, 14);
    assert!(loss < 0.02, "loss {loss}");
}

#[test]
fn a_relu_regression_net_fits_a_sine() {
    let xs: Vec<f64> = (0..32).map(|i| -3.0 + 6.0 * i as f64 / 31.0).collect();
    let acts = [Activation::Relu, Activation::Relu, Activation::Identity];
    let mut mlp = Mlp::with_biases(
        &[1, 16, 16, 1],
        &acts,
        &Init::he_uniform(),
        &Init::constant(0.01).unwrap(),
        &mut StdRng::seed_from_u64(15),
    )
    .unwrap();
    let mut opt = Adam::new(0.01).unwrap();
    let mut tape = Tape::new();
    let mut grads = Vec::new();
    let mut first = None;
    let mut mse = f64::INFINITY;
    for _ in 0..400 {
        tape.clear();
        let mut bound = mlp.bind(&tape);
        let mut loss = tape.constant(0.0);
        for &x in &xs {
            loss += (bound.forward(&[x]).unwrap()[0] - x.sin()).powi(2);
        }
        let loss = loss / xs.len() as f64;
        mse = loss.value();
        first.get_or_insert(mse);
        opt.check_loss(mse).unwrap();
        bound.gradients_into(&loss.backward(), &mut grads);
        opt.step_checked(mlp.parameters_mut(), &grads).unwrap();
    }
    let first = first.unwrap();
    assert!(mse < 0.01 && mse < first / 10.0, "mse {first} -> {mse}");
}

#[test]
#[should_panic(expected = "Gradients::wrt: Var from another Tape")]
fn gradients_from_another_tape_panic() {
    let mlp = net(&[1, 1], &[Activation::Identity], 16);
    let tape = Tape::new();
    let other = Tape::new();
    let bound = mlp.bind(&tape);
    let g = (other.var(1.0) * 2.0).backward();
    let mut out = Vec::new();
    bound.gradients_into(&g, &mut out);
}

#[test]
fn a_training_step_allocates_nothing_after_the_first() {
    let data: Vec<([f64; 2], f64)> = (0..16)
        .map(|i| ([i as f64 / 16.0, 1.0 - i as f64 / 16.0], (i % 2) as f64))
        .collect();
    let acts = [Activation::Tanh, Activation::Tanh, Activation::Sigmoid];
    let mut mlp = net(&[2, 8, 8, 1], &acts, 17);
    let mut sgd = Sgd::new(0.1).unwrap().momentum(0.9).unwrap();
    let mut adam = Adam::new(0.01).unwrap();
    let mut tape = Tape::new();
    let mut grads = Vec::new();
    let mut counts = Vec::new();
    for step in 0..8 {
        let before = allocations();
        tape.clear();
        let mut bound = mlp.bind(&tape);
        let mut loss = tape.constant(0.0);
        for (x, y) in &data {
            loss += (bound.forward(x).unwrap()[0] - *y).powi(2);
        }
        bound.gradients_into(&loss.backward(), &mut grads);
        // Plain and checked steps alike: an accepted check allocates nothing.
        match step % 4 {
            0 => sgd.step(mlp.parameters_mut(), &grads),
            1 => adam.step(mlp.parameters_mut(), &grads),
            2 => {
                sgd.check_loss(loss.value()).unwrap();
                sgd.step_checked(mlp.parameters_mut(), &grads).unwrap();
            }
            _ => {
                adam.check_loss(loss.value()).unwrap();
                adam.step_checked(mlp.parameters_mut(), &grads).unwrap();
            }
        }
        counts.push(allocations() - before);
    }
    assert!(counts[0] > 0, "the counter counts: {counts:?}");
    assert_eq!(
        counts[2..],
        [0, 0, 0, 0, 0, 0],
        "allocations per step: {counts:?}"
    );
}

#[test]
#[should_panic(
    expected = "Mlp::bind: the store holds 4 parameters but the layers 2-1 (identity) need 3; add parameters to a Params of your own, not to an Mlp's"
)]
fn binding_an_mlp_whose_store_was_extended_panics() {
    let mut mlp = net(&[2, 1], &[Activation::Identity], 18);
    mlp.parameters_mut().push("extra", 1.0).unwrap();
    let tape = Tape::new();
    let _ = mlp.bind(&tape);
}

#[test]
fn bind_named_names_every_leaf_after_its_parameter_and_bind_names_none() {
    let mlp = net(&[2, 2, 1], &[Activation::Tanh, Activation::Sigmoid], 19);
    let tape = Tape::new();
    let named = mlp.bind_named(&tape);
    let names: Vec<String> = named.parameters().iter().map(|v| v.name()).collect();
    let expected: Vec<String> = mlp.parameters().names().map(String::from).collect();
    assert_eq!(names, expected);
    drop(named);

    let other = Tape::new();
    let plain = mlp.bind(&other);
    assert_eq!(plain.parameters()[0].name(), "v0");
}

#[test]
fn the_explanation_of_a_network_gives_backwards_parameter_gradients() {
    let mlp = net(&[2, 2, 1], &[Activation::Tanh, Activation::Sigmoid], 20);
    let tape = Tape::new();
    let mut bound = mlp.bind_named(&tape);
    let y = bound.forward(&[0.5, -0.5]).unwrap()[0];
    let explanation = y.explain();
    let g = y.backward();
    for &p in bound.parameters() {
        assert_eq!(explanation.gradient(p.id()), Some(g[p]), "{}", p.name());
    }
}

/// Smooth activations only: finite differences are not valid across a kink.
fn smooth_activation() -> impl Strategy<Value = Activation> {
    prop_oneof![
        Just(Activation::Identity),
        Just(Activation::Sigmoid),
        Just(Activation::Tanh),
        Just(Activation::Softplus),
    ]
}

/// Random architectures (inputs first), one smooth activation per layer, and seeds.
fn architecture() -> impl Strategy<Value = (Vec<usize>, Vec<Activation>, u64)> {
    proptest::collection::vec(1usize..5, 2..5).prop_flat_map(|sizes| {
        let layers = sizes.len() - 1;
        (
            Just(sizes),
            proptest::collection::vec(smooth_activation(), layers),
            any::<u64>(),
        )
    })
}

proptest! {
    #[test]
    fn layer_stacks_match_finite_differences_in_parameters_and_inputs(
        (sizes, acts, seed) in architecture()
    ) {
        let mlp = Mlp::with_biases(
            &sizes,
            &acts,
            &Init::xavier_normal(),
            &Init::normal(0.0, 0.1).unwrap(),
            &mut StdRng::seed_from_u64(seed),
        )
        .unwrap();
        let mut rng = StdRng::seed_from_u64(seed ^ 1);
        let inputs: Vec<f64> = (0..sizes[0]).map(|_| rng.gen_range(-1.0..1.0)).collect();
        let mut at = mlp.parameters().values().to_vec();
        at.extend_from_slice(&inputs);
        let layers = mlp.layers().to_vec();
        let n_params = mlp.parameters().len();
        // f(parameters, inputs) = Σ outputs², through Layer::forward on Vars throughout.
        tapegrad::check::assert_gradient(
            |v: &[tapegrad::Var<'_>]| {
                let (params, x) = v.split_at(n_params);
                let mut h = x.to_vec();
                let mut offset = 0;
                for layer in &layers {
                    let p = &params[offset..offset + layer.parameter_count()];
                    h = layer.forward(p, &h).unwrap();
                    offset += layer.parameter_count();
                }
                let squares: Vec<_> = h.iter().map(|y| y.powi(2)).collect();
                v[0].tape().sum(&squares)
            },
            &at,
        );
    }
}

// Batches.

/// Every activation, two outputs: a network whose batch paths have something to get wrong.
fn batch_net() -> Mlp {
    let acts = [
        Activation::Tanh,
        Activation::LeakyRelu(0.1),
        Activation::Softplus,
    ];
    net(&[3, 5, 4, 2], &acts, 21)
}

fn points(n: usize, inputs: usize, seed: u64) -> Vec<Vec<f64>> {
    let mut rng = StdRng::seed_from_u64(seed);
    (0..n)
        .map(|_| (0..inputs).map(|_| rng.gen_range(-2.0..2.0)).collect())
        .collect()
}

fn value_bits(vars: &[Var]) -> Vec<u64> {
    vars.iter().map(|v| v.value().to_bits()).collect()
}

#[test]
fn forward_batch_records_what_forward_records_point_by_point() {
    let mlp = batch_net();
    let xs = points(6, 3, 1);

    let tape = Tape::new();
    let mut net = mlp.bind(&tape);
    let batch = net.forward_batch(&xs).unwrap();
    assert_eq!(
        batch.len(),
        6 * 2,
        "two outputs per point, point after point"
    );
    let loss = tape.sum(&batch);
    let batch_grads = net.gradients(&loss.backward());

    let by_point = Tape::new();
    let mut net = mlp.bind(&by_point);
    let mut outputs = Vec::new();
    for x in &xs {
        outputs.extend_from_slice(net.forward(x).unwrap());
    }
    let loss = by_point.sum(&outputs);
    let point_grads = net.gradients(&loss.backward());

    assert_eq!(value_bits(&batch), value_bits(&outputs));
    assert_eq!(tape.len(), by_point.len());
    let bits = |g: &[f64]| g.iter().map(|g| g.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(&batch_grads), bits(&point_grads));
}

#[test]
fn forward_batch_reads_arrays_vecs_slices_and_vars() {
    let mlp = net(&[2, 3, 1], &[Activation::Tanh, Activation::Identity], 2);
    let tape = Tape::new();
    let mut net = mlp.bind(&tape);
    let arrays = net.forward_batch(&[[0.5, -1.0], [2.0, 0.25]]).unwrap();
    let slices: [&[f64]; 2] = [&[0.5, -1.0], &[2.0, 0.25]];
    let from_slices = net.forward_batch(&slices).unwrap();
    let vars = [tape.vars(&[0.5, -1.0]), tape.vars(&[2.0, 0.25])];
    let from_vars = net.forward_batch(&vars).unwrap();
    assert_eq!(value_bits(&arrays), value_bits(&from_slices));
    assert_eq!(value_bits(&arrays), value_bits(&from_vars));
    let g = tape.sum(&from_vars).backward();
    assert!(g[vars[1][0]] != 0.0, "inputs that are Vars get gradients");
}

#[test]
fn forward_batch_names_the_first_point_of_the_wrong_size_and_records_nothing() {
    let mlp = batch_net();
    let tape = Tape::new();
    let mut net = mlp.bind(&tape);
    let leaves = tape.len();
    let mut out = vec![tape.constant(7.0)];
    let xs = vec![vec![1.0, 2.0, 3.0], vec![1.0, 2.0], vec![1.0]];
    let err = net.forward_batch_into(&xs, &mut out).unwrap_err();
    assert_eq!(
        err,
        Error::BatchPoint {
            index: 1,
            error: Box::new(Error::InputSize {
                expected: 3,
                actual: 2
            })
        }
    );
    assert_eq!(
        err.to_string(),
        "batch point 1: network takes 3 inputs, got 2"
    );
    assert_eq!(
        std::error::Error::source(&err).map(|e| e.to_string()),
        Some("network takes 3 inputs, got 2".to_string())
    );
    assert_eq!(tape.len(), leaves + 1, "only the constant made above");
    assert_eq!(out.len(), 1, "the buffer is unchanged on error");
    net.forward_batch_into(&xs[..1], &mut out).unwrap();
    assert_eq!(out.len(), 2, "cleared, then the point's two outputs");
    assert!(net.forward_batch::<Vec<f64>>(&[]).unwrap().is_empty());
}

#[test]
fn predict_batch_gives_predict_bit_for_bit_whether_it_records_or_replays() {
    let mlp = batch_net();
    let r = Mlp::REPLAY_FROM;
    for n in [0, 1, 5, r - 1, r, r + 1, 100] {
        let xs = points(n, 3, n as u64);
        let batch = mlp.predict_batch(&xs).unwrap();
        let one_by_one: Vec<Vec<f64>> = xs.iter().map(|x| mlp.predict(x).unwrap()).collect();
        let bits = |ys: &[Vec<f64>]| {
            ys.iter()
                .map(|y| y.iter().map(|v| v.to_bits()).collect::<Vec<_>>())
                .collect::<Vec<_>>()
        };
        assert_eq!(bits(&batch), bits(&one_by_one), "{n} points");
    }
}

#[test]
fn predict_batch_refuses_a_bad_point_naming_it_before_computing_anything() {
    let mlp = batch_net();
    for n in [4, 2 * Mlp::REPLAY_FROM] {
        let mut xs = points(n, 3, 9);
        xs[n - 1] = vec![1.0, 2.0];
        xs[n - 2][2] = f64::NEG_INFINITY;
        assert_eq!(
            mlp.predict_batch(&xs).unwrap_err().to_string(),
            format!(
                "batch point {}: input 2 must be a finite number, got -inf",
                n - 2
            )
        );
        xs[n - 2][2] = 0.0;
        assert_eq!(
            mlp.predict_batch(&xs).unwrap_err().to_string(),
            format!("batch point {}: network takes 3 inputs, got 2", n - 1)
        );
    }
    let mut mlp = mlp;
    mlp.parameters_mut().values_mut()[3] = f64::NAN;
    assert_eq!(
        mlp.predict_batch(&points(3, 3, 0)).unwrap_err().to_string(),
        "parameter \"layer0.neuron0.b\" must be a finite number, got NaN"
    );
}

#[test]
fn predict_batch_names_the_point_whose_output_overflowed_as_predict_names_the_node() {
    let mlp = overflowing_net();
    let alone = mlp.predict(&[1e200]).unwrap_err();
    for n in [3, Mlp::REPLAY_FROM + 5] {
        let mut xs = vec![vec![1.0]; n];
        xs[n - 2] = vec![1e200];
        // The output is NaN, so compare the messages: NaN != NaN in the errors' fields.
        match mlp.predict_batch(&xs).unwrap_err() {
            Error::BatchPoint { index, error } => {
                assert_eq!(index, n - 2, "{n} points");
                assert_eq!(error.to_string(), alone.to_string(), "{n} points");
            }
            other => panic!("expected BatchPoint, got {other:?}"),
        }
    }
}

#[test]
fn accuracy_thresholds_one_output_above_the_threshold() {
    let probabilities = [[0.9], [0.5], [0.51], [0.1]];
    // Classes 1, 0 (equal is not above), 1, 0.
    let labels = [1.0, 0.0, 1.0, 1.0];
    assert_eq!(
        accuracy(&probabilities, &labels, Decision::Threshold(0.5)),
        Ok(0.75)
    );
    let logits = [[3.0], [0.0], [-0.0], [-2.0], [f64::NAN]];
    let labels = [1.0, 0.0, 0.0, 0.0, 0.0];
    assert_eq!(
        accuracy(&logits, &labels, Decision::Threshold(0.0)),
        Ok(1.0)
    );
}

#[test]
fn accuracy_by_argmax_takes_the_first_largest_output() {
    let outputs = vec![
        vec![0.1, 0.7, 0.2],
        vec![1.0, 1.0, 0.0],      // a tie: class 0
        vec![f64::NAN, 0.0, 0.5], // NaN is never the largest: class 2
        vec![-1.0, -3.0, -2.0],
    ];
    assert_eq!(
        accuracy(&outputs, &[1.0, 0.0, 2.0, 0.0], Decision::Argmax),
        Ok(1.0)
    );
    assert_eq!(
        accuracy(&outputs, &[1.0, 1.0, 0.0, 0.0], Decision::Argmax),
        Ok(0.5)
    );
}

#[test]
fn accuracy_refuses_empty_mismatched_and_bad_inputs_naming_them() {
    let msg = |r: Result<f64, Error>| r.unwrap_err().to_string();
    let none: [[f64; 1]; 0] = [];
    assert_eq!(
        msg(accuracy(&none, &[], Decision::Argmax)),
        "accuracy needs at least one prediction, got none"
    );
    assert_eq!(
        msg(accuracy(&[[0.5], [0.2]], &[1.0], Decision::Threshold(0.5))),
        "got 2 predictions and 1 labels; pass one label per prediction"
    );
    assert_eq!(
        msg(accuracy(
            &[[0.5], [0.2]],
            &[1.0, 2.0],
            Decision::Threshold(0.5)
        )),
        "label 1 must be a class index, an integer from 0 below 2, got 2"
    );
    for bad in [-1.0, 0.5, f64::NAN, 3.0] {
        assert_eq!(
            msg(accuracy(&[[0.0, 1.0, 2.0]], &[bad], Decision::Argmax)),
            format!("label 0 must be a class index, an integer from 0 below 3, got {bad}")
        );
    }
    assert_eq!(
        msg(accuracy(
            &[vec![0.5], vec![0.2, 0.8]],
            &[1.0, 0.0],
            Decision::Threshold(0.5)
        )),
        "prediction 1 has 2 outputs, expected 1"
    );
    assert_eq!(
        msg(accuracy(
            &[vec![0.5, 0.5], vec![0.2]],
            &[1.0, 0.0],
            Decision::Argmax
        )),
        "prediction 1 has 1 outputs, expected 2"
    );
    let empty: [Vec<f64>; 1] = [vec![]];
    assert_eq!(
        msg(accuracy(&empty, &[0.0], Decision::Argmax)),
        "prediction 0 has 0 outputs, expected 1"
    );
}

/// Three clusters in the plane, one per class, with the class as a number.
fn three_clusters(n: usize, seed: u64) -> Vec<([f64; 2], f64)> {
    let centres = [[0.0, 1.5], [-1.5, -1.0], [1.5, -1.0]];
    let mut rng = StdRng::seed_from_u64(seed);
    (0..n)
        .map(|i| {
            let c = i % 3;
            let x = [
                centres[c][0] + rng.gen_range(-0.6..0.6),
                centres[c][1] + rng.gen_range(-0.6..0.6),
            ];
            (x, c as f64)
        })
        .collect()
}

#[test]
fn a_classifier_compiled_once_with_its_class_as_data_trains_as_recording_every_step() {
    let acts = [Activation::Tanh, Activation::Identity];
    let data = three_clusters(30, 4);
    let start = net(&[2, 6, 3], &acts, 8);

    // Recording every step, with the class as a plain index.
    let mut recorded = start.clone();
    let mut opt = Sgd::new(0.05).unwrap().momentum(0.5).unwrap();
    let mut tape = Tape::new();
    let mut grads = Vec::new();
    let mut recorded_losses = Vec::new();
    for _ in 0..20 {
        for (x, class) in &data {
            tape.clear();
            let mut net = recorded.bind(&tape);
            let logits = net.forward(x).unwrap().to_vec();
            let l = loss::softmax_cross_entropy(&logits, *class as usize);
            recorded_losses.push(l.value().to_bits());
            net.gradients_into(&l.backward(), &mut grads);
            opt.step(recorded.parameters_mut(), &grads);
        }
    }

    // One compiled per-point loss: the point and its class are data leaves.
    let mut replayed = start;
    let mut opt = Sgd::new(0.05).unwrap().momentum(0.5).unwrap();
    let mut step = replayed
        .compile_loss(&[0.0, 0.0, 0.0], |_, net, d| {
            let logits = net.forward(&d[..2])?.to_vec();
            Ok(loss::softmax_cross_entropy_var(&logits, d[2]))
        })
        .unwrap();
    let mut replayed_losses = Vec::new();
    for _ in 0..20 {
        for (x, class) in &data {
            let r = step
                .run_with_data(replayed.parameters().values(), &[x[0], x[1], *class])
                .unwrap();
            replayed_losses.push(r.value().to_bits());
            opt.step(replayed.parameters_mut(), r.grad());
        }
    }

    assert_eq!(recorded_losses, replayed_losses);
    assert_eq!(bits(&recorded), bits(&replayed));
    let xs: Vec<[f64; 2]> = data.iter().map(|(x, _)| *x).collect();
    let labels: Vec<f64> = data.iter().map(|(_, c)| *c).collect();
    let acc = accuracy(
        &replayed.predict_batch(&xs).unwrap(),
        &labels,
        Decision::Argmax,
    )
    .unwrap();
    assert!(acc >= 0.9, "accuracy {acc}");
}

#[test]
fn a_binary_classifier_compiled_once_with_its_label_as_data_replays_as_recording() {
    let acts = [Activation::Tanh, Activation::Identity];
    let mlp = net(&[2, 4, 1], &acts, 3);
    let mut compiled = mlp
        .compile_loss(&[0.0, 0.0, 0.0], |_, net, d| {
            let logit = net.forward(&d[..2])?[0];
            Ok(loss::binary_cross_entropy_with_logits_var(
                &[logit],
                &d[2..],
            ))
        })
        .unwrap();
    for (x, y) in [([0.5, -1.0], 1.0), ([0.5, -1.0], 0.0), ([-2.0, 0.25], 1.0)] {
        let r = compiled
            .run_with_data(mlp.parameters().values(), &[x[0], x[1], y])
            .unwrap();
        let tape = Tape::new();
        let mut net = mlp.bind(&tape);
        let logit = net.forward(&x).unwrap()[0];
        let l = loss::binary_cross_entropy_with_logits(&[logit], &[y]);
        let g = net.gradients(&l.backward());
        assert_eq!(r.value().to_bits(), l.value().to_bits());
        let bits = |g: &[f64]| g.iter().map(|g| g.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(r.grad()), bits(&g));
    }
}
