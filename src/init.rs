//! Initializers: where a network's weights and biases start.
//!
//! An [`Init`] draws each value from a user-supplied random number generator, so a run seeded
//! with `StdRng::seed_from_u64` is reproducible. The fan-in (inputs of a neuron) and fan-out
//! (neurons of the layer) scale the Xavier and He initializers.
//!
//! | initializer | distribution | variance |
//! |---|---|---|
//! | [`Init::zeros`] | 0 | 0 |
//! | [`Init::constant`]`(c)` | c | 0 |
//! | [`Init::uniform`]`(a, b)` (default `[-0.3, 0.3]`) | `U(a, b)` | `(b - a)² / 12` |
//! | [`Init::normal`]`(m, s)` | `N(m, s²)` | `s²` |
//! | [`Init::xavier_uniform`] | `U(-r, r)`, `r = √(6 / (fan_in + fan_out))` | `2 / (fan_in + fan_out)` |
//! | [`Init::xavier_normal`] | `N(0, 2 / (fan_in + fan_out))` | `2 / (fan_in + fan_out)` |
//! | [`Init::he_uniform`] | `U(-r, r)`, `r = √(6 / fan_in)` | `2 / fan_in` |
//! | [`Init::he_normal`] | `N(0, 2 / fan_in)` | `2 / fan_in` |
//!
//! Normal samples come from the Box–Muller transform of two uniform samples.
//!
//! # Examples
//!
//! ```
//! use rand::{rngs::StdRng, SeedableRng};
//! use tapegrad::init::Init;
//! use tapegrad::nn::{Activation, Mlp};
//!
//! # fn main() -> Result<(), tapegrad::Error> {
//! let mut rng = StdRng::seed_from_u64(7);
//! let acts = [Activation::Relu, Activation::Identity];
//! // He weights for the ReLU layers, biases 0.01.
//! let mlp = Mlp::with_biases(&[8, 16, 1], &acts, &Init::he_normal(), &Init::constant(0.01)?, &mut rng)?;
//! assert_eq!(mlp.parameters().get("layer0.neuron3.b"), Some(0.01));
//!
//! // Or draw values directly: a weight of a neuron with 8 inputs in a layer of 16.
//! let w = Init::xavier_uniform().sample(8, 16, &mut rng);
//! assert!(w.abs() <= (6.0f64 / 24.0).sqrt());
//! # Ok(()) }
//! ```

use std::f64::consts::PI;

use rand::Rng;
use rand::distributions::Standard;

use crate::Error;

/// How to draw initial values; see the [module docs](self) for the formulas.
///
/// Built by the constructors below; the ones that take numbers check them and return an
/// [`Error`] naming the bad value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Init(Kind);

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Constant(f64),
    Uniform { low: f64, high: f64 },
    Normal { mean: f64, std: f64 },
    XavierUniform,
    XavierNormal,
    HeUniform,
    HeNormal,
}

impl Default for Init {
    /// Uniform in `[-0.3, 0.3]`.
    fn default() -> Self {
        Init(Kind::Uniform {
            low: -0.3,
            high: 0.3,
        })
    }
}

fn check_finite(name: &'static str, value: f64) -> Result<f64, Error> {
    if value.is_finite() {
        Ok(value)
    } else {
        Err(Error::InvalidHyperparameter {
            name,
            expected: "a finite number",
            value,
        })
    }
}

impl Init {
    /// Every value 0. Usual for biases; for weights it leaves every neuron of a layer identical
    /// forever (they receive identical gradients), so use a random initializer there.
    ///
    /// # Examples
    ///
    /// ```
    /// use rand::{rngs::StdRng, SeedableRng};
    /// use tapegrad::init::Init;
    ///
    /// assert_eq!(Init::zeros().sample(3, 3, &mut StdRng::seed_from_u64(0)), 0.0);
    /// ```
    pub fn zeros() -> Self {
        Init(Kind::Constant(0.0))
    }

    /// Every value `c`.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidHyperparameter`] when `c` is NaN or infinite.
    ///
    /// # Examples
    ///
    /// ```
    /// use rand::{rngs::StdRng, SeedableRng};
    /// use tapegrad::init::Init;
    ///
    /// # fn main() -> Result<(), tapegrad::Error> {
    /// let init = Init::constant(0.1)?;
    /// assert_eq!(init.sample(3, 3, &mut StdRng::seed_from_u64(0)), 0.1);
    /// assert_eq!(
    ///     Init::constant(f64::NAN).unwrap_err().to_string(),
    ///     "constant init value must be a finite number, got NaN"
    /// );
    /// # Ok(()) }
    /// ```
    pub fn constant(c: f64) -> Result<Self, Error> {
        Ok(Init(Kind::Constant(check_finite(
            "constant init value",
            c,
        )?)))
    }

    /// Uniform in `[low, high)`.
    ///
    /// # Errors
    ///
    /// [`Error::EmptyRange`] unless `low < high`; [`Error::InvalidHyperparameter`] when a bound
    /// is infinite.
    ///
    /// # Examples
    ///
    /// ```
    /// use tapegrad::{init::Init, Error};
    ///
    /// assert!(Init::uniform(-0.5, 0.5).is_ok());
    /// let err = Init::uniform(1.0, -1.0).unwrap_err();
    /// assert_eq!(err, Error::EmptyRange { low: 1.0, high: -1.0 });
    /// assert_eq!(err.to_string(), "uniform init needs low < high, got low = 1, high = -1");
    /// ```
    pub fn uniform(low: f64, high: f64) -> Result<Self, Error> {
        // Written so that NaN bounds are refused too.
        if low.partial_cmp(&high) != Some(std::cmp::Ordering::Less) {
            return Err(Error::EmptyRange { low, high });
        }
        check_finite("uniform init low", low)?;
        check_finite("uniform init high", high)?;
        Ok(Init(Kind::Uniform { low, high }))
    }

    /// Normal with the given mean and standard deviation.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidHyperparameter`] when `std` is negative or either number is not finite.
    ///
    /// # Examples
    ///
    /// ```
    /// use tapegrad::init::Init;
    ///
    /// assert!(Init::normal(0.0, 0.1).is_ok());
    /// assert_eq!(
    ///     Init::normal(0.0, -1.0).unwrap_err().to_string(),
    ///     "normal init std must be a finite number >= 0, got -1"
    /// );
    /// ```
    pub fn normal(mean: f64, std: f64) -> Result<Self, Error> {
        check_finite("normal init mean", mean)?;
        if !(std.is_finite() && std >= 0.0) {
            return Err(Error::InvalidHyperparameter {
                name: "normal init std",
                expected: "a finite number >= 0",
                value: std,
            });
        }
        Ok(Init(Kind::Normal { mean, std }))
    }

    /// Xavier/Glorot uniform: `U(-r, r)` with `r = √(6 / (fan_in + fan_out))`, variance
    /// `2 / (fan_in + fan_out)`. Suits tanh and sigmoid layers.
    ///
    /// # Examples
    ///
    /// ```
    /// use rand::{rngs::StdRng, SeedableRng};
    /// use tapegrad::init::Init;
    ///
    /// let w = Init::xavier_uniform().sample(2, 1, &mut StdRng::seed_from_u64(1));
    /// assert!(w.abs() < (6.0f64 / 3.0).sqrt());
    /// ```
    pub fn xavier_uniform() -> Self {
        Init(Kind::XavierUniform)
    }

    /// Xavier/Glorot normal: `N(0, σ²)` with `σ² = 2 / (fan_in + fan_out)`.
    pub fn xavier_normal() -> Self {
        Init(Kind::XavierNormal)
    }

    /// He/Kaiming uniform: `U(-r, r)` with `r = √(6 / fan_in)`, variance `2 / fan_in`. Suits ReLU
    /// layers.
    pub fn he_uniform() -> Self {
        Init(Kind::HeUniform)
    }

    /// He/Kaiming normal: `N(0, σ²)` with `σ² = 2 / fan_in`.
    pub fn he_normal() -> Self {
        Init(Kind::HeNormal)
    }

    /// One value for a weight of a neuron with `fan_in` inputs in a layer of `fan_out` neurons.
    ///
    /// A fan of 0 is read as 1, so the scaled initializers stay finite.
    ///
    /// # Examples
    ///
    /// ```
    /// use rand::{rngs::StdRng, SeedableRng};
    /// use tapegrad::init::Init;
    ///
    /// let mut a = StdRng::seed_from_u64(3);
    /// let mut b = StdRng::seed_from_u64(3);
    /// let init = Init::xavier_normal();
    /// assert_eq!(init.sample(4, 4, &mut a), init.sample(4, 4, &mut b));
    /// ```
    pub fn sample<R: Rng + ?Sized>(&self, fan_in: usize, fan_out: usize, rng: &mut R) -> f64 {
        let fan_in = fan_in.max(1) as f64;
        let fan_out = fan_out.max(1) as f64;
        match self.0 {
            Kind::Constant(c) => c,
            Kind::Uniform { low, high } => uniform(low, high, rng),
            Kind::Normal { mean, std } => mean + std * standard_normal(rng),
            Kind::XavierUniform => {
                let r = (6.0 / (fan_in + fan_out)).sqrt();
                uniform(-r, r, rng)
            }
            Kind::XavierNormal => (2.0 / (fan_in + fan_out)).sqrt() * standard_normal(rng),
            Kind::HeUniform => {
                let r = (6.0 / fan_in).sqrt();
                uniform(-r, r, rng)
            }
            Kind::HeNormal => (2.0 / fan_in).sqrt() * standard_normal(rng),
        }
    }

    /// Fills `values` with samples, in order.
    ///
    /// # Examples
    ///
    /// ```
    /// use rand::{rngs::StdRng, SeedableRng};
    /// use tapegrad::init::Init;
    ///
    /// let mut w = [0.0; 8];
    /// Init::he_uniform().fill(&mut w, 8, 8, &mut StdRng::seed_from_u64(0));
    /// assert!(w.iter().all(|&x| x.abs() < (6.0f64 / 8.0).sqrt()));
    /// ```
    pub fn fill<R: Rng + ?Sized>(
        &self,
        values: &mut [f64],
        fan_in: usize,
        fan_out: usize,
        rng: &mut R,
    ) {
        for v in values {
            *v = self.sample(fan_in, fan_out, rng);
        }
    }
}

/// A uniform sample in `[0, 1)`.
fn unit<R: Rng + ?Sized>(rng: &mut R) -> f64 {
    rng.sample(Standard)
}

fn uniform<R: Rng + ?Sized>(low: f64, high: f64, rng: &mut R) -> f64 {
    low + (high - low) * unit(rng)
}

/// One standard normal sample by Box–Muller: `√(-2 ln u₁) cos(2π u₂)` with `u₁` in `(0, 1]`
/// (so the logarithm is finite) and `u₂` in `[0, 1)`.
fn standard_normal<R: Rng + ?Sized>(rng: &mut R) -> f64 {
    let u1 = 1.0 - unit(rng);
    let u2 = unit(rng);
    (-2.0 * u1.ln()).sqrt() * (2.0 * PI * u2).cos()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{SeedableRng, rngs::StdRng};

    #[test]
    fn box_muller_never_takes_the_log_of_zero() {
        // A generator whose every f64 is 0 is the worst case for ln(u1).
        struct Zeros;
        impl rand::RngCore for Zeros {
            fn next_u32(&mut self) -> u32 {
                0
            }
            fn next_u64(&mut self) -> u64 {
                0
            }
            fn fill_bytes(&mut self, dest: &mut [u8]) {
                dest.fill(0);
            }
            fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand::Error> {
                dest.fill(0);
                Ok(())
            }
        }
        assert_eq!(standard_normal(&mut Zeros), 0.0);
    }

    #[test]
    fn zero_fans_are_read_as_one() {
        let mut rng = StdRng::seed_from_u64(0);
        assert!(Init::he_normal().sample(0, 0, &mut rng).is_finite());
        assert!(Init::xavier_uniform().sample(0, 0, &mut rng).abs() < 6f64.sqrt() / 2f64.sqrt());
    }

    #[test]
    fn uniform_stays_in_its_half_open_range() {
        let mut rng = StdRng::seed_from_u64(5);
        for _ in 0..1000 {
            let x = uniform(2.0, 3.0, &mut rng);
            assert!((2.0..3.0).contains(&x), "{x}");
        }
    }
}
