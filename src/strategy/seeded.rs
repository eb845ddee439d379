//! Seeded runners: proptest's random stream from one `u64`, so the same seed gives the same
//! values on every machine. For strategies that draw from a runner of their own, for
//! `pyz3 sample`, and for tests and benchmarks that want reproducible values.

use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};

use super::ValueStrategy;
use crate::value::Value;

/// A runner whose random stream depends only on `seed`.
pub fn seeded_runner(seed: u64) -> TestRunner {
    seeded_runner_with(Config::default(), seed)
}

/// A runner with `config` whose random stream depends only on `seed`.
///
/// Uses proptest's XorShift generator: reproducible everywhere and several times cheaper per
/// draw than ChaCha, which matters when generation is the hot loop.
pub fn seeded_runner_with(config: Config, seed: u64) -> TestRunner {
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&seed.to_le_bytes());
    bytes[8..].copy_from_slice(&(!seed).rotate_left(17).to_le_bytes());
    TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::XorShift, &bytes))
}

/// `n` values drawn from `strategy` with `seed`.
pub fn sample(strategy: &ValueStrategy, n: usize, seed: u64) -> impl Iterator<Item = Value> + '_ {
    let mut runner = seeded_runner(seed);
    (0..n).map_while(move |_| strategy.generate(&mut runner))
}
