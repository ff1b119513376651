//! Where each scalar type's replay code is compiled to machine code ([`Passes`]). Compiling a
//! recording and the program's forward and backward passes are reached only through it: the
//! methods of [`Program`] that start them are private to its module, so that no generic code
//! outside calls them and has them compiled again in a user's crate.

// Its signatures name the crate's own types, as the rest of replay does; the trait is public
// only as the seal of [`Scalar`] needs, in a module that code outside the crate cannot name.
#![allow(private_interfaces)]

use super::Program;
use crate::ops::OpKind;
use crate::ops::nary::Rules;
use crate::replay::{CompiledTape, Kept, check_lists};
use crate::tape::Storage;
use crate::{Error, Scalar, Var};

/// Where a scalar type's replay code — compiling a recording, the forward and the backward
/// pass, all generic over the scalar type — is compiled to machine code.
///
/// A generic function is compiled in each crate that calls it with a concrete type, and in a
/// release build a crate does not share what it compiled with the crates that use it. So a
/// user's crate that replays `f64` would compile the whole of replay again, at every release
/// build of that crate: its kernels and the rules written out for each kind of instruction
/// take the optimizer minutes. For `f64`, the scalar type of most code, these three functions
/// are not generic: they are compiled once, in this crate's build, and a user's crate calls
/// them. `f32` and dual numbers keep them inline, compiled where they are used, so that this
/// crate's own build pays for `f64` alone.
pub trait Passes: Sized {
    /// Compiles the recording `s` for replay ([`crate::Tape::compile_with_data`]).
    fn compile(
        s: &Storage<Self>,
        rules: &Rules<Self>,
        inputs: &[Var<'_, Self>],
        data: &[Var<'_, Self>],
        outputs: &[Var<'_, Self>],
    ) -> Result<CompiledTape<Self>, Error>
    where
        Self: Scalar;

    /// The forward pass ([`Program::forward`]).
    fn forward(program: &mut Program<Self>, values: &mut [Self]) -> Result<(), Error>
    where
        Self: Scalar;

    /// The backward pass ([`Program::backward`]).
    fn backward(program: &Program<Self>, adj: &mut [Self], len: usize, values: &[Self])
    where
        Self: Scalar;
}

/// [`Passes`] for a scalar type, `$inline` given for those whose code is compiled where used.
macro_rules! passes {
    ($(#[$inline:meta])? ($($t:tt)*)) => {
        $($t)* {
            $(#[$inline])?
            fn compile(
                s: &Storage<Self>,
                rules: &Rules<Self>,
                inputs: &[Var<'_, Self>],
                data: &[Var<'_, Self>],
                outputs: &[Var<'_, Self>],
            ) -> Result<CompiledTape<Self>, Error> {
                compile_program(s, rules, inputs, data, outputs)
            }

            $(#[$inline])?
            fn forward(program: &mut Program<Self>, values: &mut [Self]) -> Result<(), Error> {
                program.forward(values)
            }

            $(#[$inline])?
            fn backward(program: &Program<Self>, adj: &mut [Self], len: usize, values: &[Self]) {
                program.backward(adj, len, values)
            }
        }
    };
}

passes!((impl Passes for f64));
passes!(#[inline] (impl Passes for f32));
passes!(#[inline] (impl<T: Scalar> Passes for crate::Dual<T>));

/// Compiles the recording `s` for replay: [`Passes::compile`], generic.
fn compile_program<T: Scalar>(
    s: &Storage<T>,
    rules: &Rules<T>,
    inputs: &[Var<'_, T>],
    data: &[Var<'_, T>],
    outputs: &[Var<'_, T>],
) -> Result<CompiledTape<T>, Error> {
    check_lists(s, inputs, data, outputs)?;
    let end = outputs
        .iter()
        .map(|o| o.id().index() + 1)
        .max()
        .unwrap_or(0);
    let leaves = inputs.iter().chain(data).map(|x| x.id());
    let kept = Kept::find(s, end, outputs, leaves);

    // The program is encoded straight from the recording, each kept node given its value slot
    // in `index` as it is placed. That map and `kept` have the recording's length: both are
    // freed before the passes that work on the program alone.
    let mut index = vec![u32::MAX; end];
    let mut kinds = Vec::with_capacity(kept.count());
    let mut values = Vec::new();
    let mut program = Program::build(s, &kept, rules, &mut index, &mut kinds, &mut values)?;
    drop(kept);
    let slot = |x: &Var<'_, T>| index.get(x.id().index()).copied().unwrap_or(u32::MAX);
    let inputs: Vec<u32> = inputs.iter().map(slot).collect();
    let data: Vec<u32> = data.iter().map(slot).collect();
    let mut outputs: Vec<u32> = outputs.iter().map(slot).collect();
    drop(index);
    program.finish(&mut outputs, &mut values);
    let nodes = program.slots();
    let vars_run = inputs.first().map(|&x| x as usize).filter(|&first| {
        inputs
            .iter()
            .enumerate()
            .all(|(k, &x)| x as usize == first + k && kinds[x as usize] == OpKind::Var)
    });
    Ok(CompiledTape {
        program,
        kinds,
        vars_run,
        values,
        adjoints: vec![T::zero(); nodes],
        grads: vec![T::zero(); inputs.len() * outputs.len()],
        out_values: vec![T::zero(); outputs.len()],
        inputs,
        data,
        outputs,
        recorded_len: s.kinds.len(),
    })
}
