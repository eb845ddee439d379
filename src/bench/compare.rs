//! Comparing two sets of results: one verdict function, used by every output format.
//!
//! For the regression table. A benchmark regressed (or improved) only when the change is both
//! statistically significant — Welch's t-test on per-process estimates (in log space), Holm-
//! corrected across the benchmarks compared — and larger than the noise threshold. Instruction
//! counts are deterministic: there the threshold alone decides.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::baseline::{BenchResult, Mode};
use super::stats;

/// The significance level after correction.
pub const ALPHA: f64 = 0.05;

/// A benchmark's verdict. The names are a contract (`--format json`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// Faster (fewer instructions) beyond the threshold, significantly.
    Improved,
    /// Slower (more instructions) beyond the threshold, significantly.
    Regressed,
    /// Within the threshold, or not significant.
    Unchanged,
    /// Only in the current results.
    New,
    /// Only in the baseline.
    Missing,
}

impl Verdict {
    /// The contract name.
    pub fn name(self) -> &'static str {
        match self {
            Verdict::Improved => "improved",
            Verdict::Regressed => "regressed",
            Verdict::Unchanged => "unchanged",
            Verdict::New => "new",
            Verdict::Missing => "missing",
        }
    }
}

/// The one verdict function: `change` is current/baseline − 1, `significant` whether the
/// difference passed the (corrected) test, `threshold` the noise threshold (0.05 for 5%).
pub fn verdict(change: f64, significant: bool, threshold: f64) -> Verdict {
    if !significant || !change.is_finite() || change.abs() <= threshold {
        Verdict::Unchanged
    } else if change > 0.0 {
        Verdict::Regressed
    } else {
        Verdict::Improved
    }
}

/// One row of the table.
#[derive(Clone, Debug, Serialize)]
pub struct Row {
    /// Benchmark name.
    pub name: String,
    /// Baseline estimate per call.
    pub baseline: Option<f64>,
    /// Current estimate per call.
    pub current: Option<f64>,
    /// current/baseline − 1.
    pub change: Option<f64>,
    /// 95% interval of the change (bootstrap over processes; exact in instructions mode).
    pub ci: Option<(f64, f64)>,
    /// Holm-adjusted p-value (wall mode).
    pub p: Option<f64>,
    /// The verdict.
    pub verdict: Verdict,
}

/// A comparison of current results against a baseline.
#[derive(Clone, Debug, Serialize)]
pub struct Comparison {
    /// What the baseline is (a saved name or a git ref).
    pub baseline: String,
    /// What was measured.
    pub mode: Mode,
    /// The noise threshold.
    pub threshold: f64,
    /// One row per benchmark, by name.
    pub rows: Vec<Row>,
    /// Geometric mean of current/baseline over benchmarks present in both, minus 1.
    pub geomean_change: Option<f64>,
}

impl Comparison {
    /// Compares `current` against `baseline`.
    pub fn new(
        baseline_name: &str,
        mode: Mode,
        baseline: &BTreeMap<String, BenchResult>,
        current: &BTreeMap<String, BenchResult>,
        threshold: f64,
    ) -> Comparison {
        let names: BTreeSet<&String> = baseline.keys().chain(current.keys()).collect();
        let both: Vec<&String> = names
            .iter()
            .copied()
            .filter(|n| baseline.contains_key(*n) && current.contains_key(*n))
            .collect();
        let raw_p: Vec<f64> = both
            .iter()
            .map(|n| match mode {
                Mode::Wall => {
                    let (b, c) = (&baseline[*n], &current[*n]);
                    // Processes are the unit of evidence; with fewer than three a side, the
                    // samples themselves stand in (less robust to layout luck).
                    let few = b.processes.len() < 3 || c.processes.len() < 3;
                    let log = |r: &BenchResult| -> Vec<f64> {
                        if few {
                            r.processes.iter().flatten().map(|v| v.ln()).collect()
                        } else {
                            stats::process_estimates(&r.processes)
                                .iter()
                                .map(|v| v.ln())
                                .collect()
                        }
                    };
                    stats::welch_p(&log(b), &log(c))
                }
                Mode::Instructions => 0.0,
            })
            .collect();
        let adjusted = stats::holm(&raw_p);
        let p_of: BTreeMap<&String, f64> = both.iter().copied().zip(adjusted).collect();
        let mut ratios = Vec::new();
        let rows = names
            .into_iter()
            .map(|n| {
                let (b, c) = (baseline.get(n), current.get(n));
                let (Some(b), Some(c)) = (b, c) else {
                    return Row {
                        name: n.clone(),
                        baseline: b.map(|r| r.estimate),
                        current: c.map(|r| r.estimate),
                        change: None,
                        ci: None,
                        p: None,
                        verdict: if c.is_some() {
                            Verdict::New
                        } else {
                            Verdict::Missing
                        },
                    };
                };
                let change = c.estimate / b.estimate - 1.0;
                ratios.push(c.estimate / b.estimate);
                let (ci, p) = match mode {
                    Mode::Wall => (
                        Some(stats::bootstrap_change(
                            &stats::process_estimates(&b.processes),
                            &stats::process_estimates(&c.processes),
                            2000,
                        )),
                        Some(p_of[n]),
                    ),
                    Mode::Instructions => (Some((change, change)), None),
                };
                let significant = p.is_none_or(|p| p < ALPHA);
                Row {
                    name: n.clone(),
                    baseline: Some(b.estimate),
                    current: Some(c.estimate),
                    change: Some(change),
                    ci,
                    p,
                    verdict: verdict(change, significant, threshold),
                }
            })
            .collect();
        Comparison {
            baseline: baseline_name.to_string(),
            mode,
            threshold,
            rows,
            geomean_change: (!ratios.is_empty()).then(|| stats::geomean(&ratios) - 1.0),
        }
    }

    /// Whether any benchmark regressed.
    pub fn regressed(&self) -> bool {
        self.rows.iter().any(|r| r.verdict == Verdict::Regressed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wall(per_process: &[f64]) -> BenchResult {
        BenchResult {
            unit: "ns".into(),
            estimate: stats::median(per_process),
            processes: per_process
                .iter()
                .map(|v| vec![*v, v * 1.001, v * 0.999])
                .collect(),
            cycles: None,
            calls: None,
        }
    }

    #[test]
    fn verdicts() {
        assert_eq!(verdict(0.5, true, 0.05), Verdict::Regressed);
        assert_eq!(verdict(-0.5, true, 0.05), Verdict::Improved);
        assert_eq!(verdict(0.5, false, 0.05), Verdict::Unchanged);
        assert_eq!(verdict(0.04, true, 0.05), Verdict::Unchanged);
        let base = BTreeMap::from([
            ("a".to_string(), wall(&[100.0, 101.0, 99.0, 100.5, 100.2])),
            ("b".to_string(), wall(&[50.0, 50.5, 49.5, 50.2, 50.1])),
            ("gone".to_string(), wall(&[1.0, 1.0])),
        ]);
        let cur = BTreeMap::from([
            ("a".to_string(), wall(&[200.0, 202.0, 198.0, 201.0, 200.4])),
            ("b".to_string(), wall(&[50.1, 50.4, 49.6, 50.0, 50.3])),
            ("new".to_string(), wall(&[1.0, 1.0])),
        ]);
        let c = Comparison::new("main", Mode::Wall, &base, &cur, 0.05);
        let v: Vec<(&str, Verdict)> = c
            .rows
            .iter()
            .map(|r| (r.name.as_str(), r.verdict))
            .collect();
        assert_eq!(
            v,
            [
                ("a", Verdict::Regressed),
                ("b", Verdict::Unchanged),
                ("gone", Verdict::Missing),
                ("new", Verdict::New)
            ]
        );
        assert!(c.regressed());
        let g = c.geomean_change.unwrap();
        assert!((g - (2.0f64 * 1.0).sqrt() + 1.0).abs() < 0.01, "{g}");
    }
}
