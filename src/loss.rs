//! Loss functions: how far a model's outputs are from the targets, as one [`Var`] to call
//! [`backward`](Var::backward) on.
//!
//! Each loss records **one node** on the tape with [`Tape::custom_rule`](crate::Tape::custom_rule):
//! its value and its closed-form partial with respect to each prediction, written next to each
//! other below. One node instead of a chain of `-`, `powi` and `sum` nodes keeps the tape short,
//! and lets the numerically delicate losses (cross-entropy) pick a stable formula for the value and
//! the partial alike. Every partial is checked against central finite differences in
//! `tests/loss.rs`. Because the node keeps its rule (a plain function of the predictions, with the
//! targets as its constants), a [compiled tape](crate::CompiledTape) replays the losses too.
//!
//! # Conventions
//!
//! - Losses over several outputs are **means** over the elements (not sums), so the learning rate
//!   does not have to change with the batch size.
//! - Targets are plain numbers (`&[T]`): data, not something to differentiate.
//! - Slices of different lengths, an empty slice, a hinge label other than ±1 or a class index out
//!   of range are mistakes in the calling code, not in data the user typed: they **panic** with a
//!   message naming both lengths (or the culprit) and the fix, as [`Tape::dot`](crate::Tape::dot)
//!   does.
//!
//! # Examples
//!
//! ```
//! use tapegrad::{loss, Tape};
//!
//! let tape = Tape::new();
//! let w = tape.var(0.5);
//! let predictions: Vec<_> = [1.0, 2.0].iter().map(|&x| w * x).collect();
//! let l = loss::mse(&predictions, &[1.0, 2.0]);
//! // l = ((0.5 - 1)² + (1 - 2)²) / 2 = 0.625;  dl/dw = (2·(-0.5)·1 + 2·(-1)·2) / 2 = -2.5
//! assert_eq!(l.value(), 0.625);
//! assert_eq!(l.backward()[w], -2.5);
//! ```

use crate::ops::sigmoid;
use crate::{CustomRule, Scalar, Var};

/// The smallest probability [`binary_cross_entropy`] takes the logarithm of: `1e-12`.
///
/// `ln(1e-12) ≈ -27.6`, so one confidently wrong prediction costs at most about 27.6 instead of
/// infinity. The bound is representable in `f32` as well as `f64`.
pub const PROBABILITY_EPSILON: f64 = 1e-12;

#[cold]
#[inline(never)]
#[track_caller]
fn length_mismatch(loss: &str, predictions: usize, targets: usize, what: &str) -> ! {
    panic!(
        "{loss}: got {predictions} predictions and {targets} {what}; pass slices of equal length"
    )
}

#[cold]
#[inline(never)]
#[track_caller]
fn empty(loss: &str, what: &str) -> ! {
    panic!("{loss}: got no {what}; pass at least one")
}

/// Checks that there are as many targets as predictions, and at least one.
#[inline]
#[track_caller]
fn check_lengths(loss: &str, predictions: usize, targets: usize) {
    if predictions != targets {
        length_mismatch(loss, predictions, targets, "targets");
    }
    if predictions == 0 {
        empty(loss, "predictions");
    }
}

/// Records one loss node with `rule`, the targets as its constants.
#[inline]
#[track_caller]
fn mean_loss<'t, T: Scalar>(
    name: &str,
    predictions: &[Var<'t, T>],
    targets: &[T],
    rule: CustomRule<T>,
) -> Var<'t, T> {
    check_lengths(name, predictions.len(), targets.len());
    predictions[0]
        .tape()
        .custom_rule(rule, predictions, targets)
}

/// The rule of a mean loss: for each prediction `p` with target `y`, `term(p, y)` gives the
/// element's loss and its partial `∂/∂p`; the value is their mean.
#[inline(always)]
fn mean_rule<T: Scalar>(
    predictions: &[T],
    targets: &[T],
    partials: &mut [T],
    term: impl Fn(T, T) -> (T, T),
) -> T {
    let inv_n = T::one() / T::from_f64(predictions.len() as f64);
    let mut total = T::zero();
    for ((&p, &y), d) in predictions.iter().zip(targets).zip(partials) {
        let (value, partial) = term(p, y);
        total += value;
        *d = partial * inv_n;
    }
    total * inv_n
}

/// Mean squared error, `(1/n) Σ (pᵢ - yᵢ)²`.
///
/// Partial: `∂/∂pᵢ = 2 (pᵢ - yᵢ) / n`.
///
/// # Panics
///
/// When `predictions` and `targets` differ in length or are empty, or a prediction belongs to
/// another tape.
///
/// # Examples
///
/// ```
/// use tapegrad::{loss, Tape};
///
/// let tape = Tape::new();
/// let p = tape.vars(&[0.5, 2.0]);
/// let l = loss::mse(&p, &[1.0, 1.0]);
/// assert_eq!(l.value(), (0.25 + 1.0) / 2.0);
/// let g = l.backward();
/// assert_eq!(g.wrt_all(&p), vec![-0.5, 1.0]);
/// ```
pub fn mse<'t, T: Scalar>(predictions: &[Var<'t, T>], targets: &[T]) -> Var<'t, T> {
    mean_loss("mse", predictions, targets, mse_rule)
}

fn mse_rule<T: Scalar>(predictions: &[T], targets: &[T], partials: &mut [T]) -> T {
    let two = T::from_f64(2.0);
    mean_rule(predictions, targets, partials, |p, y| {
        let d = p - y;
        (d * d, two * d)
    })
}

/// Mean absolute error, `(1/n) Σ |pᵢ - yᵢ|`.
///
/// Partial: `∂/∂pᵢ = sign(pᵢ - yᵢ) / n`; at the kink `pᵢ = yᵢ` the partial is 0.
///
/// # Panics
///
/// When `predictions` and `targets` differ in length or are empty, or a prediction belongs to
/// another tape.
///
/// # Examples
///
/// ```
/// use tapegrad::{loss, Tape};
///
/// let tape = Tape::new();
/// let p = tape.vars(&[0.5, 2.0, 1.0]);
/// let l = loss::mae(&p, &[1.0, 1.0, 1.0]);
/// assert_eq!(l.value(), 0.5);
/// let third = 1.0 / 3.0;
/// assert_eq!(l.backward().wrt_all(&p), vec![-third, third, 0.0]);
/// ```
pub fn mae<'t, T: Scalar>(predictions: &[Var<'t, T>], targets: &[T]) -> Var<'t, T> {
    mean_loss("mae", predictions, targets, mae_rule)
}

fn mae_rule<T: Scalar>(predictions: &[T], targets: &[T], partials: &mut [T]) -> T {
    mean_rule(predictions, targets, partials, |p, y| {
        let d = p - y;
        let sign = if d > T::zero() {
            T::one()
        } else if d < T::zero() {
            -T::one()
        } else {
            T::zero()
        };
        (d.abs(), sign)
    })
}

/// Binary cross-entropy of probabilities `pᵢ ∈ [0, 1]` (the output of a sigmoid) against labels
/// `yᵢ ∈ [0, 1]`: `-(1/n) Σ [yᵢ ln pᵢ + (1 - yᵢ) ln(1 - pᵢ)]`.
///
/// Partial: `∂/∂pᵢ = ((1 - yᵢ) / (1 - pᵢ) - yᵢ / pᵢ) / n`.
///
/// **Clamping.** A probability of exactly 0 or 1 would make a logarithm infinite. Each logarithm
/// therefore takes `max(pᵢ, ε)` and `max(1 - pᵢ, ε)` with `ε =`
/// [`PROBABILITY_EPSILON`] `= 1e-12`: one confidently wrong prediction costs at most
/// `-ln ε ≈ 27.6`, and where a term is clamped its partial is 0, as the derivative of a constant
/// is. Clamping `1 - p` rather than `p` keeps the bound exact in `f32`, where `1 - 1e-12` would
/// round to 1. Prefer [`binary_cross_entropy_with_logits`] when you have the logit: it needs no
/// clamp and does not lose the gradient of a saturated sigmoid.
///
/// # Panics
///
/// When `probabilities` and `labels` differ in length or are empty, or a probability belongs to
/// another tape.
///
/// # Examples
///
/// ```
/// use tapegrad::{loss, Tape};
///
/// let tape = Tape::new();
/// let p = tape.var(0.8);
/// let l = loss::binary_cross_entropy(&[p], &[1.0]);
/// assert_eq!(l.value(), -(0.8f64.ln()));
/// assert_eq!(l.backward()[p], -1.0 / 0.8);
///
/// // A certain and wrong prediction is clamped, not infinite.
/// let wrong = tape.var(0.0);
/// let l = loss::binary_cross_entropy(&[wrong], &[1.0]);
/// assert_eq!(l.value(), -(1e-12f64.ln()));
/// ```
pub fn binary_cross_entropy<'t, T: Scalar>(
    probabilities: &[Var<'t, T>],
    labels: &[T],
) -> Var<'t, T> {
    mean_loss("binary_cross_entropy", probabilities, labels, bce_rule)
}

fn bce_rule<T: Scalar>(probabilities: &[T], labels: &[T], partials: &mut [T]) -> T {
    let eps = T::from_f64(PROBABILITY_EPSILON);
    let one = T::one();
    mean_rule(probabilities, labels, partials, |p, y| {
        let q = one - p;
        let (ln_p, d_ln_p) = if p > eps {
            (p.ln(), p.recip())
        } else {
            (eps.ln(), T::zero())
        };
        let (ln_q, d_ln_q) = if q > eps {
            (q.ln(), q.recip())
        } else {
            (eps.ln(), T::zero())
        };
        // Skip a term whose weight is 0 so that 0 · ln ε adds nothing, not even rounding.
        let mut value = T::zero();
        let mut partial = T::zero();
        if y != T::zero() {
            value -= y * ln_p;
            partial -= y * d_ln_p;
        }
        if y != one {
            value -= (one - y) * ln_q;
            partial += (one - y) * d_ln_q;
        }
        (value, partial)
    })
}

/// Binary cross-entropy of logits `zᵢ` (before the sigmoid) against labels `yᵢ ∈ [0, 1]`: the
/// same as [`binary_cross_entropy`] of `sigmoid(zᵢ)`, computed stably.
///
/// Value per element: `max(z, 0) - z y + ln(1 + e^(-|z|))`, which never overflows and never takes
/// the logarithm of 0. Partial: `∂/∂zᵢ = (sigmoid(zᵢ) - yᵢ) / n`, finite for every finite `zᵢ` —
/// no clamp needed, so a saturated wrong prediction still gets the full gradient.
///
/// # Panics
///
/// When `logits` and `labels` differ in length or are empty, or a logit belongs to another tape.
///
/// # Examples
///
/// ```
/// use tapegrad::{loss, Tape};
///
/// let tape = Tape::new();
/// let z = tape.var(0.0);
/// let l = loss::binary_cross_entropy_with_logits(&[z], &[1.0]);
/// assert_eq!(l.value(), 2f64.ln());
/// assert_eq!(l.backward()[z], -0.5);
///
/// // Very wrong and very sure: large but finite, with the full gradient of -1.
/// let z = tape.var(-1000.0);
/// let l = loss::binary_cross_entropy_with_logits(&[z], &[1.0]);
/// assert_eq!(l.value(), 1000.0);
/// assert_eq!(l.backward()[z], -1.0);
/// ```
pub fn binary_cross_entropy_with_logits<'t, T: Scalar>(
    logits: &[Var<'t, T>],
    labels: &[T],
) -> Var<'t, T> {
    mean_loss(
        "binary_cross_entropy_with_logits",
        logits,
        labels,
        bce_logits_rule,
    )
}

fn bce_logits_rule<T: Scalar>(logits: &[T], labels: &[T], partials: &mut [T]) -> T {
    mean_rule(logits, labels, partials, bce_logits_term)
}

/// One element of [`binary_cross_entropy_with_logits`]: its loss and `∂/∂z`.
#[inline(always)]
fn bce_logits_term<T: Scalar>(z: T, y: T) -> (T, T) {
    let zero = T::zero();
    let relu = if z > zero { z } else { zero };
    let value = relu - z * y + (-z.abs()).exp().ln_1p();
    (value, sigmoid(z) - y)
}

/// [`binary_cross_entropy_with_logits`] with the labels as Vars: data leaves of a tape, so that
/// one [compiled](crate::Tape::compile_with_data) loss replays for any labels
/// ([`CompiledTape::run_with_data`](crate::CompiledTape::run_with_data)) instead of keeping
/// the labels it was recorded with.
///
/// The value and the partials with respect to the logits are bit for bit those of
/// [`binary_cross_entropy_with_logits`] with the labels' values. The loss is linear in each
/// label, and its partial is `∂/∂yᵢ = -zᵢ / n`; a label made by [`Tape::constant`](crate::Tape::constant)
/// receives no gradient in a [`Gradients`](crate::Gradients) read, so the partial matters only
/// for a label that is itself computed.
///
/// # Panics
///
/// When `logits` and `labels` differ in length or are empty, or a Var belongs to another tape.
///
/// # Examples
///
/// One point's loss, compiled once with its label as data and replayed for both labels:
///
/// ```
/// use tapegrad::{loss, Tape};
///
/// # fn main() -> Result<(), tapegrad::Error> {
/// let tape = Tape::new();
/// let w = tape.var(2.0);
/// let x = tape.constant(0.5);
/// let y = tape.constant(1.0);
/// let l = loss::binary_cross_entropy_with_logits_var(&[w * x], &[y]);
/// let mut compiled = tape.compile_with_data(&[w], &[x, y], &[l])?;
///
/// // Replay with the label 0: the same bits as recording with the plain label 0.
/// let replay = compiled.run_with_data(&[2.0], &[0.5, 0.0])?;
/// let fresh = Tape::new();
/// let w = fresh.var(2.0);
/// let l = loss::binary_cross_entropy_with_logits(&[w * 0.5], &[0.0]);
/// assert_eq!(replay.value(), l.value());
/// assert_eq!(replay.grad(), &[l.backward()[w]]);
/// # Ok(()) }
/// ```
pub fn binary_cross_entropy_with_logits_var<'t, T: Scalar>(
    logits: &[Var<'t, T>],
    labels: &[Var<'t, T>],
) -> Var<'t, T> {
    let name = "binary_cross_entropy_with_logits_var";
    if logits.len() != labels.len() {
        length_mismatch(name, logits.len(), labels.len(), "labels");
    }
    if logits.is_empty() {
        empty(name, "logits");
    }
    let mut operands = Vec::with_capacity(2 * logits.len());
    operands.extend_from_slice(logits);
    operands.extend_from_slice(labels);
    logits[0]
        .tape()
        .custom_rule(bce_logits_var_rule, &operands, &[])
}

/// The rule of [`binary_cross_entropy_with_logits_var`]: `operands` holds the logits, then as
/// many labels. The sum runs in the order of [`bce_logits_rule`], so the value and the logits'
/// partials are its bits.
fn bce_logits_var_rule<T: Scalar>(operands: &[T], _: &[T], partials: &mut [T]) -> T {
    let n = operands.len() / 2;
    let (logits, labels) = operands.split_at(n);
    let (d_logits, d_labels) = partials.split_at_mut(n);
    let total = mean_rule(logits, labels, d_logits, bce_logits_term);
    let inv_n = T::one() / T::from_f64(n as f64);
    for (d, &z) in d_labels.iter_mut().zip(logits) {
        *d = -z * inv_n;
    }
    total
}

/// Hinge loss of scores `sᵢ` against labels `yᵢ ∈ {-1, 1}`: `(1/n) Σ max(0, 1 - yᵢ sᵢ)`, the loss
/// of a support vector machine. Add [`l2_penalty`] on the weights for the margin term.
///
/// Partial: `∂/∂sᵢ = -yᵢ / n` where `yᵢ sᵢ < 1`, else 0; at the kink `yᵢ sᵢ = 1` the partial is 0.
///
/// # Panics
///
/// When `scores` and `labels` differ in length or are empty, a label is not -1 or 1, or a score
/// belongs to another tape.
///
/// # Examples
///
/// ```
/// use tapegrad::{loss, Tape};
///
/// let tape = Tape::new();
/// let s = tape.vars(&[0.5, 3.0]);
/// let l = loss::hinge(&s, &[1.0, -1.0]);
/// // max(0, 1 - 0.5) = 0.5 and max(0, 1 + 3) = 4
/// assert_eq!(l.value(), 2.25);
/// assert_eq!(l.backward().wrt_all(&s), vec![-0.5, 0.5]);
/// ```
pub fn hinge<'t, T: Scalar>(scores: &[Var<'t, T>], labels: &[T]) -> Var<'t, T> {
    let one = T::one();
    if let Some((i, y)) = labels
        .iter()
        .enumerate()
        .find(|&(_, &y)| y != one && y != -one)
    {
        panic!("hinge: label {y} at index {i} is not -1 or 1; map the two classes to -1 and 1");
    }
    mean_loss("hinge", scores, labels, hinge_rule)
}

fn hinge_rule<T: Scalar>(scores: &[T], labels: &[T], partials: &mut [T]) -> T {
    let one = T::one();
    mean_rule(scores, labels, partials, |s, y| {
        let margin = one - y * s;
        if margin > T::zero() {
            (margin, -y)
        } else {
            (T::zero(), T::zero())
        }
    })
}

/// L2 penalty (weight decay) `λ Σ wᵢ²`, to add to a loss so that large weights cost something.
///
/// Partial: `∂/∂wᵢ = 2 λ wᵢ`. A sum, not a mean: the penalty must not shrink as a network grows.
///
/// # Panics
///
/// When a weight belongs to another tape. An empty slice is a bug too (there is no tape to
/// record on), and panics.
///
/// # Examples
///
/// ```
/// use tapegrad::{loss, Tape};
///
/// let tape = Tape::new();
/// let w = tape.vars(&[1.0f64, -2.0]);
/// let scores = [tape.dot(&w, &[1.0, 1.0])];
/// let l = loss::hinge(&scores, &[1.0]) + loss::l2_penalty(&w, 0.1);
/// // hinge: max(0, 1 - (-1)) = 2;  penalty: 0.1 · (1 + 4) = 0.5
/// assert!((l.value() - 2.5).abs() < 1e-15);
/// let g = l.backward();
/// // ∂/∂w = -1 · [1, 1] + 2 · 0.1 · [1, -2]
/// assert!((g[w[0]] - (-0.8)).abs() < 1e-15);
/// assert!((g[w[1]] - (-1.4)).abs() < 1e-15);
/// ```
pub fn l2_penalty<'t, T: Scalar>(weights: &[Var<'t, T>], lambda: T) -> Var<'t, T> {
    let Some(first) = weights.first() else {
        empty("l2_penalty", "weights");
    };
    first.tape().custom_rule(l2_rule, weights, &[lambda])
}

fn l2_rule<T: Scalar>(weights: &[T], lambda: &[T], partials: &mut [T]) -> T {
    let lambda = lambda[0];
    let two_lambda = T::from_f64(2.0) * lambda;
    let mut total = T::zero();
    for (&v, d) in weights.iter().zip(partials) {
        total += v * v;
        *d = two_lambda * v;
    }
    lambda * total
}

/// `ln Σ e^(xᵢ)`, computed as `m + ln Σ e^(xᵢ - m)` with `m = max xᵢ` so that no exponential
/// overflows: finite for any finite inputs.
///
/// Partial: `∂/∂xᵢ = softmax(x)ᵢ = e^(xᵢ - m) / Σ e^(xⱼ - m)`.
///
/// # Panics
///
/// When `xs` is empty or a Var belongs to another tape.
///
/// # Examples
///
/// ```
/// use tapegrad::{loss, Tape};
///
/// let tape = Tape::new();
/// let xs = tape.vars(&[1000.0, 1000.0]);
/// let l = loss::log_sum_exp(&xs);
/// assert_eq!(l.value(), 1000.0 + 2f64.ln());
/// assert_eq!(l.backward().wrt_all(&xs), vec![0.5, 0.5]);
/// ```
pub fn log_sum_exp<'t, T: Scalar>(xs: &[Var<'t, T>]) -> Var<'t, T> {
    let Some(first) = xs.first() else {
        empty("log_sum_exp", "inputs");
    };
    first.tape().custom_rule(log_sum_exp_rule, xs, &[])
}

/// The value of `ln Σ e^(xᵢ)` of a non-empty slice, with the softmax `∂/∂xᵢ` in `partials`.
fn log_sum_exp_rule<T: Scalar>(xs: &[T], _: &[T], partials: &mut [T]) -> T {
    let m = xs.iter().fold(xs[0], |m, &v| if v > m { v } else { m });
    for (d, &x) in partials.iter_mut().zip(xs) {
        *d = (x - m).exp();
    }
    // Every exponent is ≤ 0 and the largest is e^0 = 1, so 1 ≤ total ≤ n.
    let total = partials.iter().fold(T::zero(), |acc, &e| acc + e);
    for e in partials.iter_mut() {
        *e /= total;
    }
    m + total.ln()
}

/// Softmax cross-entropy of one example: `-ln softmax(z)[class] = ln Σ e^(zⱼ) - z_class`, the loss
/// of a classifier whose outputs `z` are logits and whose right answer is `class`.
///
/// The log-sum-exp is shifted by `max z` (see [`log_sum_exp`]), so the value and every partial
/// stay finite for logits of ±1000 and beyond. Partial: `∂/∂zᵢ = softmax(z)ᵢ - [i = class]`. For a
/// batch, average the per-example losses (for instance with [`Tape::sum`](crate::Tape::sum) and a
/// division).
///
/// # Panics
///
/// When `logits` is empty, `class` is not an index into it, or a logit belongs to another tape.
///
/// # Examples
///
/// ```
/// use tapegrad::{loss, Tape};
///
/// let tape = Tape::new();
/// let z = tape.vars(&[1000.0, -1000.0, 0.0]);
/// let l = loss::softmax_cross_entropy(&z, 1);
/// assert_eq!(l.value(), 2000.0);
/// assert_eq!(l.backward().wrt_all(&z), vec![1.0, -1.0, 0.0]);
/// ```
pub fn softmax_cross_entropy<'t, T: Scalar>(logits: &[Var<'t, T>], class: usize) -> Var<'t, T> {
    if logits.is_empty() {
        empty("softmax_cross_entropy", "logits");
    }
    if class >= logits.len() {
        panic!(
            "softmax_cross_entropy: class {class} is out of range for {} logits; pass an index below {}",
            logits.len(),
            logits.len()
        );
    }
    // The class index is the rule's constant; an f32 holds every index below 2^24 exactly.
    logits[0].tape().custom_rule(
        softmax_cross_entropy_rule,
        logits,
        &[T::from_f64(class as f64)],
    )
}

fn softmax_cross_entropy_rule<T: Scalar>(logits: &[T], class: &[T], partials: &mut [T]) -> T {
    let class = class[0].to_f64() as usize;
    let lse = log_sum_exp_rule(logits, &[], partials);
    partials[class] -= T::one();
    lse - logits[class]
}

/// The class a number names among `classes`: an integer from 0 below `classes`.
fn class_index(class: f64, classes: usize) -> Option<usize> {
    (class >= 0.0 && class < classes as f64 && class.fract() == 0.0).then_some(class as usize)
}

/// [`softmax_cross_entropy`] with the class as a Var holding its index (`0.0`, `1.0`, …): a
/// data leaf of a tape, so that one [compiled](crate::Tape::compile_with_data) per-example loss
/// replays for any class ([`CompiledTape::run_with_data`](crate::CompiledTape::run_with_data))
/// instead of keeping the class it was recorded with.
///
/// The value and the partials with respect to the logits are bit for bit those of
/// [`softmax_cross_entropy`] with the class `class.value()`. The class takes whole values only;
/// its partial is 0.
///
/// **A class out of range on replay.** Recording checks the class and panics, as
/// [`softmax_cross_entropy`] does. A replay cannot fail that way: when the data bound for the
/// class is not an integer from 0 below `logits.len()` (a NaN, `-1`, `2.5`, `3` for three
/// logits), the loss and its partials are NaN, which
/// [`check_loss`](crate::optim::Optimizer::check_loss) and
/// [`step_checked`](crate::optim::Optimizer::step_checked) refuse.
///
/// # Panics
///
/// When `logits` is empty, the class is not an integer index into it, or a Var belongs to
/// another tape.
///
/// # Examples
///
/// One compiled loss for every class:
///
/// ```
/// use tapegrad::{loss, Tape};
///
/// # fn main() -> Result<(), tapegrad::Error> {
/// let tape = Tape::new();
/// let z = tape.vars(&[1.0, 2.0, 3.0]);
/// let class = tape.constant(0.0);
/// let l = loss::softmax_cross_entropy_var(&z, class);
/// let mut compiled = tape.compile_with_data(&z, &[class], &[l])?;
///
/// for c in 0..3 {
///     let replay = compiled.run_with_data(&[1.0, 2.0, 3.0], &[c as f64])?;
///     let fresh = Tape::new();
///     let z = fresh.vars(&[1.0, 2.0, 3.0]);
///     let l = loss::softmax_cross_entropy(&z, c);
///     assert_eq!(replay.value(), l.value());
///     assert_eq!(replay.grad(), l.backward().wrt_all(&z).as_slice());
/// }
/// assert!(compiled.run_with_data(&[1.0, 2.0, 3.0], &[3.0])?.value().is_nan());
/// # Ok(()) }
/// ```
pub fn softmax_cross_entropy_var<'t, T: Scalar>(
    logits: &[Var<'t, T>],
    class: Var<'t, T>,
) -> Var<'t, T> {
    if logits.is_empty() {
        empty("softmax_cross_entropy_var", "logits");
    }
    let value = class.value().to_f64();
    if class_index(value, logits.len()).is_none() {
        panic!(
            "softmax_cross_entropy_var: class {value} is not an index into {} logits; pass an \
             integer from 0 below {}",
            logits.len(),
            logits.len()
        );
    }
    let mut operands = Vec::with_capacity(logits.len() + 1);
    operands.extend_from_slice(logits);
    operands.push(class);
    logits[0]
        .tape()
        .custom_rule(softmax_cross_entropy_var_rule, &operands, &[])
}

/// The rule of [`softmax_cross_entropy_var`]: `operands` holds the logits, then the class.
fn softmax_cross_entropy_var_rule<T: Scalar>(operands: &[T], _: &[T], partials: &mut [T]) -> T {
    let (class, logits) = operands
        .split_last()
        .expect("invariant: recording passed the logits and the class");
    let (d_class, d_logits) = partials
        .split_last_mut()
        .expect("invariant: one partial per operand");
    *d_class = T::zero();
    match class_index(class.to_f64(), logits.len()) {
        Some(class) => {
            let lse = log_sum_exp_rule(logits, &[], d_logits);
            d_logits[class] -= T::one();
            lse - logits[class]
        }
        None => {
            let nan = T::from_f64(f64::NAN);
            d_logits.fill(nan);
            nan
        }
    }
}

/// The code of `docs/neural-networks.md`, compiled and run as doctests so that it cannot go stale.
#[doc = include_str!("../docs/neural-networks.md")]
#[cfg(doctest)]
pub struct NeuralNetworksChapter;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{OpKind, Tape};

    #[test]
    fn each_loss_records_exactly_one_node() {
        let tape = Tape::new();
        let p = tape.vars(&[0.2, 0.7, 0.5]);
        let y = [0.0, 1.0, 1.0];
        let class = tape.constant(2.0);
        let before = tape.len();
        let losses = [
            mse(&p, &y),
            mae(&p, &y),
            binary_cross_entropy(&p, &y),
            binary_cross_entropy_with_logits(&p, &y),
            hinge(&p, &[1.0, -1.0, 1.0]),
            l2_penalty(&p, 0.5),
            log_sum_exp(&p),
            softmax_cross_entropy(&p, 2),
            binary_cross_entropy_with_logits_var(&p, &p),
            softmax_cross_entropy_var(&p, class),
        ];
        assert_eq!(tape.len(), before + losses.len());
        for l in losses {
            assert_eq!(tape.kind(l), OpKind::Custom);
        }
    }

    #[test]
    fn stable_sigmoid_saturates_without_nan() {
        assert_eq!(sigmoid(1000.0f64), 1.0);
        assert_eq!(sigmoid(-1000.0f64), 0.0);
        assert_eq!(sigmoid(0.0f32), 0.5);
    }
}
