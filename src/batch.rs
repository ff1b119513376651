//! Gradients of a loss summed over many data points, split across threads, with a result that
//! does not depend on the number of threads.
//!
//! A batch loss is a sum of one term per point. [`Batch`] replays a compiled per-point loss
//! ([`Tape::compile_with_data`], the point's numbers as data leaves) over every point;
//! [`gradient_recorded`] records the terms on one tape per thread instead. Both cut the points
//! into blocks of [`BLOCK`] points, form each block's sum in point order, and add the blocks'
//! sums in block order whichever thread computed them, so the value and the gradient are the
//! same, bit for bit, on one thread or on sixteen.
//!
//! # Examples
//!
//! A least-squares line through 1,000 points, its gradient on two threads:
//!
//! ```
//! use tapegrad::batch::Batch;
//! use tapegrad::Tape;
//! # fn main() -> Result<(), tapegrad::Error> {
//! // The per-point term (a·x + b - y)², with x and y as data leaves.
//! let tape = Tape::new();
//! let params = tape.vars(&[0.0, 0.0]);
//! let point = tape.vars(&[0.0, 0.0]);
//! let residual = params[0] * point[0] + params[1] - point[1];
//! let term = residual * residual;
//! let compiled = tape.compile_with_data(&params, &point, &[term])?;
//!
//! // Points (x, y) on the line y = 2x + 1, one after the other.
//! let data: Vec<f64> = (0..1000)
//!     .flat_map(|i| {
//!         let x = i as f64 / 1000.0;
//!         [x, 2.0 * x + 1.0]
//!     })
//!     .collect();
//! let mut batch = Batch::new(compiled, 2)?;
//! let (loss, grad) = batch.gradient(&[2.0, 1.0], &data)?;
//! assert_eq!((loss, grad[0], grad[1]), (0.0, 0.0, 0.0));
//!
//! // The same bits on one thread.
//! let (_, at_half) = batch.gradient(&[1.5, 0.0], &data)?;
//! let at_half = at_half.to_vec();
//! let mut one = Batch::new(batch.compiled().clone(), 1)?;
//! assert_eq!(one.gradient(&[1.5, 0.0], &data)?.1, &at_half[..]);
//! # Ok(())
//! # }
//! ```

use std::thread;

use crate::{CompiledTape, Error, Scalar, Tape, Var};

/// The number of points summed in order into one partial sum; the partial sums are then added
/// in order. Fixed, so that the result does not depend on the number of threads.
pub const BLOCK: usize = 32;

/// A compiled per-point loss replayed over a batch of points on several threads.
///
/// Made once from a [`CompiledTape`] with one output and data leaves (the numbers of one point),
/// it keeps one copy of the compiled tape per thread and its buffers between calls.
#[derive(Debug)]
pub struct Batch<T: Scalar = f64> {
    workers: Vec<CompiledTape<T>>,
    /// Per block: the loss, then the gradient.
    blocks: Vec<T>,
    grad: Vec<T>,
}

impl<T: Scalar + Send + Sync> Batch<T> {
    /// Spreads `compiled` over `threads` threads.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidHyperparameter`] for 0 threads; [`Error::BatchShape`] when `compiled` has
    /// other than one output or no data leaves.
    pub fn new(compiled: CompiledTape<T>, threads: usize) -> Result<Self, Error> {
        if threads == 0 {
            return Err(Error::InvalidHyperparameter {
                name: "threads",
                expected: "at least 1",
                value: 0.0,
            });
        }
        if compiled.outputs() != 1 || compiled.data_len() == 0 {
            return Err(Error::BatchShape {
                outputs: compiled.outputs(),
                data: compiled.data_len(),
            });
        }
        let mut workers = Vec::with_capacity(threads);
        for _ in 1..threads {
            workers.push(compiled.clone());
        }
        workers.push(compiled);
        Ok(Batch {
            workers,
            blocks: Vec::new(),
            grad: Vec::new(),
        })
    }

    /// The number of threads.
    pub fn threads(&self) -> usize {
        self.workers.len()
    }

    /// The compiled per-point loss.
    pub fn compiled(&self) -> &CompiledTape<T> {
        &self.workers[0]
    }

    /// The loss summed over the points of `data` — one point after the other, each
    /// [`CompiledTape::data_len`] numbers — and its gradient with respect to `inputs`.
    ///
    /// # Errors
    ///
    /// [`Error::BatchData`] when `data` does not hold a whole number of points; the errors of
    /// [`CompiledTape::run_with_data`] (a wrong number of inputs, a branch that changed), the
    /// first block's in order.
    pub fn gradient(&mut self, inputs: &[T], data: &[T]) -> Result<(T, &[T]), Error> {
        let per_point = self.workers[0].data_len();
        if data.len() % per_point != 0 {
            return Err(Error::BatchData {
                len: data.len(),
                per_point,
            });
        }
        let n = inputs.len();
        let points = data.len() / per_point;
        let blocks = points.div_ceil(BLOCK);
        let stride = n + 1;
        self.blocks.clear();
        self.blocks.resize(blocks * stride, T::zero());
        // Contiguous runs of blocks, one per thread, as even as whole blocks allow.
        let per_thread = blocks.div_ceil(self.workers.len()).max(1);
        let chunk_data = per_thread * BLOCK * per_point;
        let results: Vec<Result<(), Error>> = thread::scope(|scope| {
            let jobs = self
                .workers
                .iter_mut()
                .zip(self.blocks.chunks_mut(per_thread * stride))
                .zip(data.chunks(chunk_data));
            let handles: Vec<_> = jobs
                .map(|((worker, sums), data)| {
                    scope.spawn(move || run_blocks(worker, inputs, data, per_point, sums))
                })
                .collect();
            handles
                .into_iter()
                // A panic in a worker reaches the caller with its own message.
                .map(|h| {
                    h.join()
                        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
                })
                .collect()
        });
        results.into_iter().collect::<Result<(), Error>>()?;
        Ok(add_blocks(&self.blocks, stride, &mut self.grad))
    }
}

/// Replays `worker` over the points of `data`, block by block, writing each block's loss and
/// gradient into `sums` (`1 + inputs.len()` numbers a block).
fn run_blocks<T: Scalar>(
    worker: &mut CompiledTape<T>,
    inputs: &[T],
    data: &[T],
    per_point: usize,
    sums: &mut [T],
) -> Result<(), Error> {
    for (block, sum) in data
        .chunks(BLOCK * per_point)
        .zip(sums.chunks_mut(inputs.len() + 1))
    {
        for point in block.chunks(per_point) {
            let r = worker.run_with_data(inputs, point)?;
            sum[0] += r.value();
            for (s, &g) in sum[1..].iter_mut().zip(r.grad()) {
                *s += g;
            }
        }
    }
    Ok(())
}

/// The blocks' sums added in block order: the loss, and the gradient into `grad`.
fn add_blocks<'g, T: Scalar>(blocks: &[T], stride: usize, grad: &'g mut Vec<T>) -> (T, &'g [T]) {
    grad.clear();
    grad.resize(stride - 1, T::zero());
    let mut value = T::zero();
    for block in blocks.chunks(stride) {
        value += block[0];
        for (g, &b) in grad.iter_mut().zip(&block[1..]) {
            *g += b;
        }
    }
    (value, grad)
}

/// The loss `Σ term(tape, params, point)` over `points` and its gradient with respect to
/// `params`, recorded on one tape per thread: each block of [`BLOCK`] points is recorded as one
/// sum and swept back once.
///
/// `term` records one point's term on the tape it is given, from the parameters bound there.
///
/// # Panics
///
/// When `term` panics, with its message.
///
/// # Errors
///
/// [`Error::InvalidHyperparameter`] for 0 threads.
///
/// # Examples
///
/// ```
/// use tapegrad::batch::gradient_recorded;
/// # fn main() -> Result<(), tapegrad::Error> {
/// // Σ (w·x - y)² over points (x, y) on y = 3x.
/// let points: Vec<(f64, f64)> = (0..100).map(|i| (i as f64, 3.0 * i as f64)).collect();
/// let (loss, grad) = gradient_recorded(&[3.0], &points, 2, |_, w, &(x, y)| {
///     let r = w[0] * x - y;
///     r * r
/// })?;
/// assert_eq!((loss, grad[0]), (0.0, 0.0));
/// # Ok(())
/// # }
/// ```
pub fn gradient_recorded<T, P, F>(
    params: &[T],
    points: &[P],
    threads: usize,
    term: F,
) -> Result<(T, Vec<T>), Error>
where
    T: Scalar + Send + Sync,
    P: Sync,
    F: for<'t> Fn(&'t Tape<T>, &[Var<'t, T>], &P) -> Var<'t, T> + Sync,
{
    if threads == 0 {
        return Err(Error::InvalidHyperparameter {
            name: "threads",
            expected: "at least 1",
            value: 0.0,
        });
    }
    let stride = params.len() + 1;
    let blocks = points.len().div_ceil(BLOCK);
    let mut sums = vec![T::zero(); blocks * stride];
    let per_thread = blocks.div_ceil(threads).max(1);
    let term = &term;
    thread::scope(|scope| {
        let jobs = sums
            .chunks_mut(per_thread * stride)
            .zip(points.chunks(per_thread * BLOCK));
        let handles: Vec<_> = jobs
            .map(|(sums, points)| {
                scope.spawn(move || {
                    let mut tape = Tape::new();
                    for (sum, block) in sums.chunks_mut(stride).zip(points.chunks(BLOCK)) {
                        tape.clear();
                        let vars = tape.vars(params);
                        let terms: Vec<Var<'_, T>> =
                            block.iter().map(|p| term(&tape, &vars, p)).collect();
                        let total = tape.sum(&terms);
                        let g = total.backward();
                        sum[0] = total.value();
                        for (s, &v) in sum[1..].iter_mut().zip(&vars) {
                            *s = g.wrt(v);
                        }
                    }
                })
            })
            .collect();
        // A panic in `term` reaches the caller with its own message.
        for handle in handles {
            handle
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        }
    });
    let mut grad = Vec::new();
    let (value, _) = add_blocks(&sums, stride, &mut grad);
    Ok((value, grad))
}
