//! A strategy and shrinker for ints of any size.
//!
//! For the int strategies ([`super::scalar::int`], [`super::scalar::bigints`]) and anyone who
//! needs an int value tree. proptest's own integer trees stop at 64 bits; a list of candidates
//! approaching the value from zero by halving the distance starts over after every failing
//! candidate, and took over 25,000
//! steps to bring a 139-digit int down to a boundary at `10**100`. [`BigIntTree`] shrinks in
//! stages instead, each a binary search or a short list of candidates: that boundary is reached
//! exactly in under 50 steps, and a property failing on a sparse set (`x % 5 == 3`,
//! `x % 1000 == 7 and x > 10**50`) still shrinks to its least member.
//!
//! Simpler means a smaller magnitude, and at the same magnitude the positive value.

use std::collections::HashSet;
use std::fmt;
use std::sync::Arc;

use num_bigint::{BigInt, BigUint, Sign};
use num_traits::{One, Signed, Zero};
use proptest::strategy::{NewTree, Strategy, ValueTree};
use proptest::test_runner::TestRunner;

use super::rng::FastRng;

/// Steps toward zero tried after the binary searches: `d` in `2..=STEPS`.
const STEPS: u32 = 16;

/// Steps of `10**j` toward zero tried after them: `j` in `1..=TENS`.
const TENS: u64 = 6;

/// The base of a digit-wise stage.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Radix {
    Ten,
    Two,
}

impl Radix {
    /// `radix ** k`.
    fn pow(self, k: u64) -> BigUint {
        match self {
            Radix::Ten => BigUint::from(10u32).pow(k as u32),
            Radix::Two => BigUint::one() << k,
        }
    }

    /// How many digits `m` has in this radix (0 for 0).
    fn digits(self, m: &BigUint) -> u64 {
        match self {
            _ if m.is_zero() => 0,
            Radix::Ten => m.to_str_radix(10).len() as u64,
            Radix::Two => m.bits(),
        }
    }
}

/// Where the search is. The stages up to `Bisect` work on `q`, the magnitude as seen through
/// the current frame (see [`BigIntTree`]), and keep the sign.
#[derive(Clone, Debug)]
enum Stage {
    /// `q = 0`.
    Zero,
    /// `from // radix**k` (the last `k` digits dropped): the largest `k` that still fails, by
    /// binary search. `k = lo` fails; `k = hi` passes (at first, every digit dropped: 0).
    Drop {
        radix: Radix,
        from: BigUint,
        lo: u64,
        hi: u64,
    },
    /// `from - from % radix**k` (the last `k` digits zeroed): the largest `k` that still fails.
    Round {
        radix: Radix,
        from: BigUint,
        lo: u64,
        hi: u64,
    },
    /// Decimal digit `pos` (from the right) lowered to the least value in `lo..=hi` that still
    /// fails (`hi`, the digit's value now, fails): first 0, then a binary search.
    Digit { pos: u64, lo: u32, hi: u32 },
    /// `from - gap` for gaps 1, 2, 4, ... until one passes.
    Gallop { from: BigUint, gap: BigUint },
    /// A binary search for the least failing `q` in `lo..=q`.
    Bisect { lo: BigUint },
    /// The magnitude less `10**j` (no frame).
    Tens { j: u64 },
    /// The magnitude less `d` (no frame).
    Step { d: u32 },
    /// The other sign (no frame): `i = 0`, the same magnitude for a negative value; then
    /// magnitudes `i` up to `STEPS`; then the magnitude less one.
    Opposite { i: u32 },
    /// Nothing left to try.
    Done,
}

/// A value tree over ints of any size that shrinks toward 0 in rounds of stages:
///
/// 1. 0;
/// 2. drop decimal digits from the right (`x // 10**k`, a binary search over `k`), then binary
///    ones (halving: `x >> k`);
/// 3. zero trailing decimal digits, then trailing bits (`x - x % 10**k`, `x - x % 2**k`);
/// 4. lower each decimal digit, most significant first, as far as it still fails;
/// 5. step toward zero by 1, 2, 4, ... until a value passes, then binary-search between;
/// 6. step toward zero by `10**j` (`j` up to 6), then by `d` (2 to 16);
/// 7. the opposite sign: the same magnitude for a negative value, then magnitudes 1 to 16, then
///    the magnitude less one.
///
/// Stages 2–6 keep the sign. When a step of stage 6 still fails, the property may hold only on
/// every `d`-th value (`x % d == r`): stages 1–5 then run in that frame, on `q` where the
/// magnitude is `q*d + r`, so `118` with `x % 5 == 3` goes to `3` in one move (`q = 0`), and
/// `10**120 + 7` with `x % 1000 == 7 and x > 10**50` to `10**50 + 7`. A round that adopted a
/// candidate is followed by another. A candidate that passed once is not tried again.
///
/// `simplify` after a failing candidate adopts it and moves on within the stage; `complicate`
/// after a passing one moves to the stage's next candidate, or, when the search is over, back
/// to the last failing value (answering `true`, so the runner re-tests it and asks `simplify`,
/// which answers `false`), as [`super::leaf::LeafTree`] does.
#[derive(Clone)]
pub struct BigIntTree {
    /// The last value known to fail (the start value until a candidate fails).
    base: BigInt,
    /// The candidate under test; `None` when the tree is at `base`.
    trying: Option<BigInt>,
    stage: Stage,
    /// `(d, r)`: the stages up to `Bisect` work on `q` where the magnitude is `q*d + r`.
    frame: Option<(BigUint, BigUint)>,
    /// This round adopted a candidate: another round follows.
    progress: bool,
    /// Candidates that passed.
    passed: HashSet<BigInt>,
}

impl fmt::Debug for BigIntTree {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BigIntTree")
            .field("base", &self.base)
            .field("trying", &self.trying)
            .field("stage", &self.stage)
            .field("frame", &self.frame)
            .finish()
    }
}

fn signed(negative: bool, m: BigUint) -> BigInt {
    BigInt::from_biguint(if negative { Sign::Minus } else { Sign::Plus }, m)
}

/// Whether `a` is strictly simpler than `b`: a smaller magnitude, or the same one and positive.
fn simpler(a: &BigInt, b: &BigInt) -> bool {
    match a.magnitude().cmp(b.magnitude()) {
        std::cmp::Ordering::Less => true,
        std::cmp::Ordering::Equal => !a.is_negative() && b.is_negative(),
        std::cmp::Ordering::Greater => false,
    }
}

impl BigIntTree {
    /// A tree starting at `start`.
    pub fn new(start: BigInt) -> Self {
        BigIntTree {
            base: start,
            trying: None,
            stage: Stage::Zero,
            frame: None,
            progress: false,
            passed: HashSet::new(),
        }
    }

    fn negative(&self) -> bool {
        self.base.is_negative()
    }

    /// `q` of a value in the current frame.
    fn q_of(&self, v: &BigInt) -> BigUint {
        match &self.frame {
            None => v.magnitude().clone(),
            Some((d, r)) => (v.magnitude() - r) / d,
        }
    }

    /// `q` of the last failing value.
    fn q(&self) -> BigUint {
        self.q_of(&self.base)
    }

    /// The value with `q` in the current frame, with the sign of the last failing value.
    fn value(&self, q: BigUint) -> BigInt {
        let m = match &self.frame {
            None => q,
            Some((d, r)) => q * d + r,
        };
        signed(self.negative(), m)
    }

    fn search(drop: bool, radix: Radix, from: BigUint) -> Stage {
        let hi = radix.digits(&from);
        if drop {
            Stage::Drop {
                radix,
                from,
                lo: 0,
                hi,
            }
        } else {
            Stage::Round {
                radix,
                from,
                lo: 0,
                hi,
            }
        }
    }

    /// The `Digit` stage at `pos`, or the next stage after the digits.
    fn digit_at(&self, pos: Option<u64>) -> Stage {
        let q = self.q();
        match pos {
            Some(pos) => {
                let d = (&q / Radix::Ten.pow(pos)) % 10u32;
                Stage::Digit {
                    pos,
                    lo: 0,
                    hi: u32::try_from(&d).unwrap_or(0),
                }
            }
            None => Stage::Gallop {
                from: q,
                gap: BigUint::one(),
            },
        }
    }

    /// Another round if this one adopted a candidate; otherwise the end.
    fn round_end(&mut self) -> Stage {
        self.frame = None;
        if self.progress && !self.base.is_zero() {
            self.progress = false;
            Stage::Zero
        } else {
            Stage::Done
        }
    }

    /// The stage after the current one (which has no candidate left).
    fn next_stage(&mut self) -> Stage {
        let q = self.q();
        match &self.stage {
            Stage::Zero => Self::search(true, Radix::Ten, q),
            Stage::Drop {
                radix: Radix::Ten, ..
            } => Self::search(true, Radix::Two, q),
            Stage::Drop {
                radix: Radix::Two, ..
            } => Self::search(false, Radix::Ten, q),
            Stage::Round {
                radix: Radix::Ten, ..
            } => Self::search(false, Radix::Two, q),
            Stage::Round {
                radix: Radix::Two, ..
            } => self.digit_at(Radix::Ten.digits(&q).checked_sub(1)),
            Stage::Digit { pos, .. } => self.digit_at(pos.checked_sub(1)),
            Stage::Gallop { .. } | Stage::Bisect { .. } if self.frame.is_some() => self.round_end(),
            Stage::Gallop { .. } | Stage::Bisect { .. } => Stage::Tens { j: 1 },
            Stage::Tens { .. } => Stage::Step { d: 2 },
            Stage::Step { .. } => Stage::Opposite { i: 0 },
            Stage::Opposite { i } if *i <= STEPS => Stage::Opposite { i: i + 1 },
            Stage::Opposite { .. } | Stage::Done => self.round_end(),
        }
    }

    /// The current stage's next candidate, or `None` when it has none left.
    fn candidate(&self) -> Option<BigInt> {
        let neg = self.negative();
        let m = self.base.magnitude();
        let q = self.q();
        match &self.stage {
            Stage::Zero => Some(self.value(BigUint::zero())),
            Stage::Drop {
                radix,
                from,
                lo,
                hi,
            } => (hi - lo > 1).then(|| self.value(from / radix.pow(lo + (hi - lo) / 2))),
            Stage::Round {
                radix,
                from,
                lo,
                hi,
            } => (hi - lo > 1).then(|| self.value(from - from % radix.pow(lo + (hi - lo) / 2))),
            Stage::Digit { pos, lo, hi } => (lo < hi).then(|| {
                let v = if *lo == 0 { 0 } else { lo + (hi - lo) / 2 };
                self.value(q - BigUint::from(hi - v) * Radix::Ten.pow(*pos))
            }),
            Stage::Gallop { from, gap } => (!q.is_zero()).then(|| {
                self.value(if gap < from {
                    from - gap
                } else {
                    BigUint::zero()
                })
            }),
            Stage::Bisect { lo } => (*lo < q).then(|| self.value(lo + (&q - lo) / 2u32)),
            Stage::Tens { j } => {
                let d = Radix::Ten.pow(*j);
                (*j <= TENS && d < *m).then(|| signed(neg, m - d))
            }
            Stage::Step { d } => {
                (*d <= STEPS && *m > BigUint::from(*d)).then(|| signed(neg, m - *d))
            }
            Stage::Opposite { i: 0 } => neg.then(|| signed(false, m.clone())),
            Stage::Opposite { i } if *i <= STEPS => {
                (*m > BigUint::from(*i)).then(|| signed(!neg, BigUint::from(*i)))
            }
            Stage::Opposite { i } if *i == STEPS + 1 => {
                (*m > BigUint::from(STEPS + 1)).then(|| signed(!neg, m - 1u32))
            }
            Stage::Opposite { .. } | Stage::Done => None,
        }
    }

    /// Enters the frame of steps of `d` (after the magnitude less `d` failed): `r` is the
    /// remainder of the (new) magnitude.
    fn enter_frame(&mut self, d: BigUint) -> Stage {
        let r = self.base.magnitude() % &d;
        self.frame = Some((d, r));
        Stage::Zero
    }

    /// Updates the current stage with the outcome of its candidate `c`: `failed` (`base` is
    /// `c` already) or passed.
    fn feedback(&mut self, c: &BigInt, failed: bool) {
        let stage = std::mem::replace(&mut self.stage, Stage::Done);
        self.stage = match stage {
            Stage::Zero => Self::search(true, Radix::Ten, self.q()),
            Stage::Drop {
                radix,
                from,
                lo,
                hi,
            } => {
                let k = lo + (hi - lo) / 2;
                let (lo, hi) = if failed { (k, hi) } else { (lo, k) };
                Stage::Drop {
                    radix,
                    from,
                    lo,
                    hi,
                }
            }
            Stage::Round {
                radix,
                from,
                lo,
                hi,
            } => {
                let k = lo + (hi - lo) / 2;
                let (lo, hi) = if failed { (k, hi) } else { (lo, k) };
                Stage::Round {
                    radix,
                    from,
                    lo,
                    hi,
                }
            }
            Stage::Digit { pos, lo, hi } => {
                let v = if lo == 0 { 0 } else { lo + (hi - lo) / 2 };
                let (lo, hi) = if failed { (lo, v) } else { (v + 1, hi) };
                Stage::Digit { pos, lo, hi }
            }
            Stage::Gallop { from, gap } if failed => Stage::Gallop {
                from,
                gap: gap << 1,
            },
            Stage::Bisect { lo } if failed => Stage::Bisect { lo },
            // A pass: every `q` up to `c`'s is taken to pass.
            Stage::Gallop { .. } | Stage::Bisect { .. } => Stage::Bisect {
                lo: self.q_of(c) + 1u32,
            },
            Stage::Tens { j } if failed => self.enter_frame(Radix::Ten.pow(j)),
            Stage::Tens { j } => Stage::Tens { j: j + 1 },
            Stage::Step { d } if failed => self.enter_frame(BigUint::from(d)),
            Stage::Step { d } => Stage::Step { d: d + 1 },
            // A value of the other sign that fails ends the round (another follows).
            Stage::Opposite { .. } if failed => Stage::Opposite { i: STEPS + 2 },
            Stage::Opposite { i } => Stage::Opposite { i: i + 1 },
            Stage::Done => Stage::Done,
        };
    }

    /// Moves to the next candidate worth testing; `false` when the search is over (the tree is
    /// then at `base`).
    fn advance(&mut self) -> bool {
        loop {
            if self.base.is_zero() {
                self.stage = Stage::Done;
            }
            if let Stage::Done = self.stage {
                self.trying = None;
                return false;
            }
            let Some(c) = self.candidate() else {
                self.stage = self.next_stage();
                continue;
            };
            if c == self.base {
                // Nothing changes (digits already 0): as good as failing.
                self.feedback(&c, true);
            } else if !simpler(&c, &self.base) || self.passed.contains(&c) {
                self.feedback(&c, false);
            } else {
                self.trying = Some(c);
                return true;
            }
        }
    }
}

impl ValueTree for BigIntTree {
    type Value = BigInt;

    fn current(&self) -> BigInt {
        self.trying.clone().unwrap_or_else(|| self.base.clone())
    }

    fn simplify(&mut self) -> bool {
        if let Some(c) = self.trying.take() {
            // The candidate still fails: it is the new base.
            self.base = c.clone();
            self.progress = true;
            self.feedback(&c, true);
        }
        self.advance()
    }

    fn complicate(&mut self) -> bool {
        let Some(c) = self.trying.take() else {
            return false;
        };
        self.feedback(&c, false);
        self.passed.insert(c);
        // The next candidate, or back at the last failing value: re-tested, after which
        // `simplify` answers `false`.
        self.advance();
        true
    }
}

/// A strategy that draws a start value with `gen` and shrinks it with a [`BigIntTree`].
#[derive(Clone)]
pub struct BigIntStrategy {
    gen: Arc<dyn Fn(&mut FastRng) -> BigInt + Send + Sync>,
}

impl fmt::Debug for BigIntStrategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BigIntStrategy")
    }
}

impl BigIntStrategy {
    /// A strategy from a start-value generator.
    pub fn new(gen: impl Fn(&mut FastRng) -> BigInt + Send + Sync + 'static) -> Self {
        BigIntStrategy { gen: Arc::new(gen) }
    }

    /// Draws one start value.
    pub fn draw(&self, rng: &mut FastRng) -> BigInt {
        (self.gen)(rng)
    }
}

impl Strategy for BigIntStrategy {
    type Tree = BigIntTree;
    type Value = BigInt;

    fn new_tree(&self, runner: &mut TestRunner) -> NewTree<Self> {
        Ok(BigIntTree::new((self.gen)(&mut FastRng::from_runner(
            runner,
        ))))
    }
}

/// Shrink candidates for an int, simplest first: 0 (and the positive value of a negative one);
/// for ints of three digits or more, the int with its last decimal digits zeroed
/// (`x - x % 10**k`, most zeroed first) and dropped (`x // 10**k`, fewest left first); then values
/// approaching `x` from 0 by halving the distance (`x/2`, `3x/4`, ..., `x∓1`). The runner adopts
/// the first that still fails and starts again from it: digits first bring a big int to the
/// right number of digits and then to its leading digits (a boundary at `10**100` from 139
/// digits in a few hundred steps), and the halving works as a binary search below them.
pub fn int_candidates(x: &BigInt) -> Vec<BigInt> {
    if x.is_zero() {
        return Vec::new();
    }
    let negative = x.is_negative();
    let mag = x.abs();
    let signed = |m: BigInt| if negative { -m } else { m };
    let mut out = vec![BigInt::zero()];
    if negative {
        // A positive value of the same magnitude is simpler, if it still fails.
        out.push(mag.clone());
    }
    let digits = Radix::Ten.digits(mag.magnitude()) as usize;
    if digits >= 3 {
        let mut powers = Vec::with_capacity(digits);
        let mut p = BigInt::from(10u32);
        for _ in 1..digits {
            powers.push(p.clone());
            p *= 10u32;
        }
        out.extend(powers.iter().rev().map(|p| signed(&mag - &mag % p)));
        out.extend(powers.iter().rev().map(|p| signed(&mag / p)));
    }
    let mut d: BigInt = &mag >> 1usize;
    while !d.is_zero() {
        out.push(signed(&mag - &d));
        d >>= 1usize;
    }
    if mag > BigInt::one() {
        out.push(signed(&mag - 1u32));
    }
    let mut seen = HashSet::new();
    out.retain(|c| c != x && seen.insert(c.clone()));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use num_integer::Integer;
    use proptest::test_runner::{Config, TestCaseError, TestError};

    /// The value `fails` shrinks `start` to, and the candidates tried.
    fn shrink(start: BigInt, fails: impl Fn(&BigInt) -> bool) -> (BigInt, u32) {
        let config = Config {
            failure_persistence: None,
            max_shrink_iters: 1_000_000,
            ..Config::default()
        };
        let mut runner = TestRunner::new(config);
        let steps = std::cell::Cell::new(0);
        let result = runner.run_one(BigIntTree::new(start.clone()), |x| {
            steps.set(steps.get() + 1);
            if fails(&x) {
                Err(TestCaseError::fail("fails"))
            } else {
                Ok(())
            }
        });
        match result {
            Err(TestError::Fail(_, v)) => (v, steps.get() - 1),
            other => panic!("{start} did not fail: {other:?}"),
        }
    }

    fn rng_big(rng: &mut FastRng, words: usize) -> BigUint {
        use rand::RngExt;
        let n = rng.random_range(1..=words);
        BigUint::from_slice(&(0..n).map(|_| rng.random()).collect::<Vec<u32>>())
    }

    #[test]
    fn the_contract_of_value_trees_holds() {
        proptest::strategy::check_strategy_sanity(
            super::super::scalar::bigints(super::super::Size::large()),
            None,
        );
    }

    #[test]
    fn a_threshold_is_reached_exactly_from_either_sign() {
        let mut rng = FastRng::new(7);
        for _ in 0..200 {
            let t = rng_big(&mut rng, 4) + 1u32;
            let start = &t + rng_big(&mut rng, 10);
            let negative = rand::RngExt::random::<bool>(&mut rng);
            let (v, steps) = shrink(signed(negative, start.clone()), |x| *x.magnitude() >= t);
            assert_eq!(v, BigInt::from(t.clone()), "from {start}");
            assert!(steps < 600, "{steps} steps from {start} to {t}");
            // Negative values only: the least magnitude, kept negative.
            let (v, _) = shrink(signed(true, start.clone()), |x| {
                x.is_negative() && *x.magnitude() >= t
            });
            assert_eq!(v, signed(true, t.clone()), "from -{start}");
        }
    }

    #[test]
    fn a_residue_reaches_its_least_magnitude() {
        let mut rng = FastRng::new(11);
        for _ in 0..300 {
            let d = rand::RngExt::random_range(&mut rng, 2..=16u32);
            let r = rand::RngExt::random_range(&mut rng, 0..d);
            let big_d = BigInt::from(d);
            let fails = |x: &BigInt| x.mod_floor(&big_d) == BigInt::from(r) && !x.is_zero();
            let mut start = signed(rand::RngExt::random(&mut rng), rng_big(&mut rng, 6));
            start += BigInt::from(r) - start.mod_floor(&big_d);
            if !fails(&start) {
                continue;
            }
            // The least magnitude among the (nonzero) members, positive first.
            let want = [
                BigInt::from(r),
                BigInt::from(r) - &big_d,
                BigInt::from(r) + &big_d,
            ]
            .into_iter()
            .filter(|x| fails(x))
            .min_by(|a, b| {
                a.magnitude()
                    .cmp(b.magnitude())
                    .then(b.sign().cmp(&a.sign()))
            })
            .unwrap();
            let (v, steps) = shrink(start.clone(), fails);
            assert_eq!(v, want, "x % {d} == {r} from {start}");
            assert!(steps < 300, "{steps} steps for x % {d} == {r} from {start}");
        }
    }

    #[test]
    fn every_candidate_is_simpler_than_the_last_failure() {
        let mut rng = FastRng::new(3);
        for _ in 0..100 {
            let start = signed(rand::RngExt::random(&mut rng), rng_big(&mut rng, 10));
            let mut tree = BigIntTree::new(start);
            let mut last = tree.current();
            let mut failed = true;
            for _ in 0..100_000 {
                let moved = if failed {
                    tree.simplify()
                } else {
                    tree.complicate()
                };
                if !moved {
                    break;
                }
                let c = tree.current();
                assert!(c == last || simpler(&c, &last), "{c} after {last}");
                // The last failure fails again; other values at random.
                failed = c == last || rand::RngExt::random_range(&mut rng, 0..3) == 0;
                if failed {
                    last = c;
                }
            }
            assert!(
                !tree.simplify() && !tree.complicate(),
                "did not end: {tree:?}"
            );
        }
    }
}
