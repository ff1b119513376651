//! Replaying a neural network's loss: [`Mlp::compile_loss`].
//!
//! Kept apart from the rest of [`crate::replay`], which knows nothing of the `nn` layer: this is a
//! convenience on top of [`Tape::compile_with_data`] and the `nn` layer's public API.

use crate::nn::{BoundMlp, Mlp};
use crate::{CompiledTape, Error, Tape, Var};

impl Mlp {
    /// Records a loss of this network once and compiles it for replay: the compiled inputs are
    /// the network's parameters, in the order of [`Mlp::parameters`], and `data` gives the
    /// values of data leaves (a training point, its target) that each
    /// [`run_with_data`](CompiledTape::run_with_data) binds anew.
    ///
    /// `loss` receives the tape, the network bound to it and the data leaves (constants), and
    /// returns the loss; it is called once. A training step is then
    /// `compiled.run_with_data(mlp.parameters().values(), point)?` followed by an optimizer step
    /// with [`Replay::grad`](crate::Replay::grad): parameters and losses come out bit for bit as
    /// recording every step would give them. With no data (full-batch training on a fixed data
    /// set written as plain numbers), call [`run`](CompiledTape::run) instead.
    ///
    /// [`crate::replay`] says when a replay is valid; the activations and the losses built from
    /// `Var` operations always replay.
    ///
    /// # Errors
    ///
    /// What `loss` returns ([`Error::InputSize`] for a point of the wrong size, …), or
    /// [`Error::ReplayCustomOp`] when the loss uses a custom operation.
    ///
    /// # Examples
    ///
    /// Per-point SGD on XOR:
    ///
    /// ```
    /// use rand::{rngs::StdRng, SeedableRng};
    /// use tapegrad::init::Init;
    /// use tapegrad::nn::{Activation, Mlp};
    /// use tapegrad::optim::{Optimizer, Sgd};
    ///
    /// # fn main() -> Result<(), tapegrad::Error> {
    /// let data = [([0.0, 0.0], 0.0), ([0.0, 1.0], 1.0), ([1.0, 0.0], 1.0), ([1.0, 1.0], 0.0)];
    /// let acts = [Activation::Tanh, Activation::Sigmoid];
    /// let mut rng = StdRng::seed_from_u64(1);
    /// let mut mlp = Mlp::new(&[2, 4, 1], &acts, &Init::xavier_uniform(), &mut rng)?;
    /// let mut opt = Sgd::new(0.5)?;
    ///
    /// // Record once: the point's two inputs and its target are data leaves.
    /// let mut step = mlp.compile_loss(&[0.0; 3], |_, net, d| {
    ///     let out = net.forward(&d[..2])?[0];
    ///     Ok((out - d[2]).powi(2))
    /// })?;
    /// for _ in 0..500 {
    ///     for (x, y) in &data {
    ///         let r = step.run_with_data(mlp.parameters().values(), &[x[0], x[1], *y])?;
    ///         opt.step(mlp.parameters_mut(), r.grad());
    ///     }
    /// }
    /// assert!(mlp.predict(&[1.0, 0.0])?[0] > 0.8);
    /// # Ok(()) }
    /// ```
    pub fn compile_loss<F>(&self, data: &[f64], loss: F) -> Result<CompiledTape, Error>
    where
        F: for<'t> FnOnce(&'t Tape, &mut BoundMlp<'t>, &[Var<'t>]) -> Result<Var<'t>, Error>,
    {
        let tape = Tape::new();
        let mut net = self.bind(&tape);
        let data: Vec<Var<'_>> = data.iter().map(|&v| tape.constant(v)).collect();
        let out = loss(&tape, &mut net, &data)?;
        tape.compile_with_data(net.parameters(), &data, &[out])
    }
}
