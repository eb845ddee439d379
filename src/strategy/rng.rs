//! The random source direct strategies draw from.
//!
//! proptest's `TestRng` dispatches every draw through an enum of algorithms (and recorders);
//! generation of nested values makes hundreds of draws per value, and that dispatch was the
//! largest single cost. A direct strategy instead seeds one [`FastRng`] (wyrand) from a single
//! `TestRng` draw per generated value, so generation stays deterministic for a fixed proptest
//! seed while each draw costs a multiply and an add.

use proptest::test_runner::TestRunner;
use rand::rand_core::{Infallible, TryRng};
use rand::RngExt;

/// A small, fast, seedable generator (wyrand).
#[derive(Clone, Debug)]
pub struct FastRng(u64);

impl FastRng {
    /// A generator seeded with `seed`.
    pub fn new(seed: u64) -> Self {
        FastRng(seed)
    }

    /// A generator seeded from one draw of the runner's RNG.
    pub fn from_runner(runner: &mut TestRunner) -> Self {
        FastRng(runner.rng().random())
    }

    #[inline]
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0xa076_1d64_78bd_642f);
        let t = (self.0 as u128).wrapping_mul((self.0 ^ 0xe703_7ed1_a0b4_28db) as u128);
        ((t >> 64) ^ t) as u64
    }
}

impl TryRng for FastRng {
    type Error = Infallible;

    #[inline]
    fn try_next_u32(&mut self) -> Result<u32, Infallible> {
        Ok((self.next() >> 32) as u32)
    }

    #[inline]
    fn try_next_u64(&mut self) -> Result<u64, Infallible> {
        Ok(self.next())
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Infallible> {
        for chunk in dst.chunks_mut(8) {
            let v = self.next().to_le_bytes();
            chunk.copy_from_slice(&v[..chunk.len()]);
        }
        Ok(())
    }
}
