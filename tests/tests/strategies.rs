//! The sanity check every strategy passes: it generates, it shrinks, it is deterministic.

use proptest::strategy::{Strategy, ValueTree};

use crate::common::{all_strategies, sample};

#[test]
fn every_strategy_is_deterministic_for_a_fixed_seed() {
    for (name, s) in all_strategies() {
        let a = sample(&s, 200, 7);
        let b = sample(&s, 200, 7);
        assert_eq!(a, b, "{name}: same seed, different values");
        if name != "none" {
            let c = sample(&s, 200, 8);
            assert_ne!(a, c, "{name}: different seeds gave identical values");
        }
    }
}

#[test]
fn every_strategy_generates_distinct_values_and_shrinks() {
    for (name, s) in all_strategies() {
        let values = sample(&s, 200, 3);
        assert_eq!(values.len(), 200, "{name}");
        if name == "none" {
            continue;
        }
        let distinct = values
            .iter()
            .enumerate()
            .filter(|(i, v)| !values[..*i].contains(v))
            .count();
        assert!(distinct >= 2, "{name}: only {distinct} distinct values");
        // Some tree must simplify to a different value.
        let mut runner = pyz3::sample::seeded_runner(11);
        let shrinks = (0..50).any(|_| {
            let mut tree = s.new_tree(&mut runner).unwrap();
            let before = tree.current();
            tree.simplify() && tree.current() != before
        });
        assert!(shrinks, "{name}: no generated value ever shrinks");
    }
}

#[test]
fn shrinking_an_always_failing_case_terminates() {
    // Always-failing property: shrinking walks to the strategy's simplest value.
    for (name, s) in all_strategies() {
        let mut runner = pyz3::sample::seeded_runner(5);
        let mut tree = s.new_tree(&mut runner).unwrap();
        let mut steps = 0;
        while tree.simplify() {
            steps += 1;
            assert!(steps < 100_000, "{name}: shrinking does not terminate");
        }
    }
}
