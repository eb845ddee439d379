//! Writers of benchmark results and regression tables: terminal (colour unless `NO_COLOR`),
//! Markdown (PR comments, CI step summaries) and JSON (schema version 1).
//!
//! Generic over `io::Write` so tables can be checked in tests. Every format reads the verdict
//! from [`super::compare::Comparison`]; none decides on its own.

use std::collections::BTreeMap;
use std::io::{self, Write};

use super::baseline::{BenchResult, Mode};
use super::compare::{Comparison, Verdict};
use super::stats;

/// A value per call in its unit: `1.23 µs`, `456 ns`, `12,345 instr`.
pub fn value(mode: Mode, v: f64) -> String {
    match mode {
        Mode::Instructions => format!("{} instr", thousands(v.round() as u64)),
        Mode::Wall => {
            if !v.is_finite() {
                "?".into()
            } else if v >= 1e9 {
                format!("{:.3} s", v / 1e9)
            } else if v >= 1e6 {
                format!("{:.3} ms", v / 1e6)
            } else if v >= 1e3 {
                format!("{:.3} µs", v / 1e3)
            } else {
                format!("{v:.1} ns")
            }
        }
    }
}

fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn percent(x: f64) -> String {
    format!("{:+.1}%", x * 100.0)
}

fn cells(c: &Comparison) -> Vec<[String; 6]> {
    let mut rows: Vec<[String; 6]> = c
        .rows
        .iter()
        .map(|r| {
            [
                r.name.clone(),
                r.baseline.map_or("-".into(), |v| value(c.mode, v)),
                r.current.map_or("-".into(), |v| value(c.mode, v)),
                r.change.map_or("-".into(), percent),
                r.ci.map_or("-".into(), |(lo, hi)| {
                    if c.mode == Mode::Instructions {
                        "exact".into()
                    } else {
                        format!("[{}, {}]", percent(lo), percent(hi))
                    }
                }),
                r.verdict.name().to_string(),
            ]
        })
        .collect();
    if let Some(g) = c.geomean_change {
        rows.push([
            "geometric mean".into(),
            String::new(),
            String::new(),
            percent(g),
            String::new(),
            String::new(),
        ]);
    }
    rows
}

const HEADERS: [&str; 6] = [
    "benchmark",
    "baseline",
    "current",
    "change",
    "95% CI",
    "verdict",
];

/// The terminal table. `color` adds ANSI colours to verdicts.
pub fn write_terminal(c: &Comparison, color: bool, out: &mut impl Write) -> io::Result<()> {
    let rows = cells(c);
    let widths: Vec<usize> = (0..6)
        .map(|i| {
            rows.iter()
                .map(|r| r[i].chars().count())
                .chain([HEADERS[i].len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    writeln!(
        out,
        "pyz3 bench: {} vs {} (threshold {:.1}%)",
        c.mode.name(),
        c.baseline,
        c.threshold * 100.0
    )?;
    let line = |cells: &[String], out: &mut dyn Write, paint: Option<&str>| -> io::Result<()> {
        for (i, cell) in cells.iter().enumerate() {
            let pad = widths[i].saturating_sub(cell.chars().count());
            let text = match (paint, i) {
                (Some(code), 5) => format!("\x1b[{code}m{cell}\x1b[0m"),
                _ => cell.clone(),
            };
            if i == 0 || i == 5 {
                write!(out, "{text}{}", " ".repeat(pad))?;
            } else {
                write!(out, "{}{text}", " ".repeat(pad))?;
            }
            write!(out, "{}", if i < 5 { "  " } else { "\n" })?;
        }
        Ok(())
    };
    line(&HEADERS.map(String::from), out, None)?;
    for (i, r) in rows.iter().enumerate() {
        let paint = c
            .rows
            .get(i)
            .filter(|_| color)
            .and_then(|row| match row.verdict {
                Verdict::Regressed => Some("1;31"),
                Verdict::Improved => Some("1;32"),
                Verdict::New | Verdict::Missing => Some("33"),
                Verdict::Unchanged => None,
            });
        line(r, out, paint)?;
    }
    Ok(())
}

/// The Markdown table.
pub fn write_markdown(c: &Comparison, out: &mut impl Write) -> io::Result<()> {
    writeln!(
        out,
        "### pyz3 bench: {} vs `{}` (threshold {:.1}%)\n",
        c.mode.name(),
        c.baseline,
        c.threshold * 100.0
    )?;
    writeln!(out, "| {} |", HEADERS.join(" | "))?;
    writeln!(out, "|:--|--:|--:|--:|--:|:--|")?;
    for (i, r) in cells(c).iter().enumerate() {
        let mut r = r.clone();
        if let Some(row) = c.rows.get(i) {
            r[5] = match row.verdict {
                Verdict::Regressed => "**regressed** :red_circle:".into(),
                Verdict::Improved => "improved :green_circle:".into(),
                v => v.name().into(),
            };
        } else {
            r[0] = format!("*{}*", r[0]);
        }
        let escaped: Vec<String> = r.iter().map(|s| s.replace('|', "\\|")).collect();
        writeln!(out, "| {} |", escaped.join(" | "))?;
    }
    Ok(())
}

/// The JSON form: `{"version": 1, "baseline": "...", "mode": "wall"|"instructions",
/// "threshold": T, "geomean_change": G, "benchmarks": [{"name", "baseline", "current",
/// "change", "verdict", "ci", "p"}]}`.
pub fn write_json(c: &Comparison, out: &mut impl Write) -> io::Result<()> {
    let doc = serde_json::json!({
        "version": 1,
        "baseline": c.baseline,
        "mode": c.mode.name(),
        "threshold": c.threshold,
        "geomean_change": c.geomean_change,
        "benchmarks": c.rows.iter().map(|r| serde_json::json!({
            "name": r.name,
            "baseline": r.baseline,
            "current": r.current,
            "change": r.change,
            "verdict": r.verdict.name(),
            "ci": r.ci.map(|(lo, hi)| [lo, hi]),
            "p": r.p,
        })).collect::<Vec<_>>(),
    });
    serde_json::to_writer_pretty(&mut *out, &doc)?;
    writeln!(out)
}

/// Results without a baseline: per benchmark its estimate and process-to-process spread.
pub fn write_results(
    mode: Mode,
    results: &BTreeMap<String, BenchResult>,
    out: &mut impl Write,
) -> io::Result<()> {
    let width = results.keys().map(|k| k.len()).max().unwrap_or(9).max(9);
    writeln!(
        out,
        "{:<width$}  {:>14}  {:>10}",
        "benchmark", "per call", "spread"
    )?;
    for (name, r) in results {
        let spread = match mode {
            Mode::Wall => {
                let (lo, hi) = match r.processes.as_slice() {
                    // One process (criterion's run): the interquartile range of its samples.
                    [one] => (stats::quantile(one, 0.25), stats::quantile(one, 0.75)),
                    _ => {
                        let m = stats::process_estimates(&r.processes);
                        (
                            m.iter().copied().fold(f64::INFINITY, f64::min),
                            m.iter().copied().fold(f64::NEG_INFINITY, f64::max),
                        )
                    }
                };
                format!("±{:.1}%", (hi - lo) / 2.0 / r.estimate * 100.0)
            }
            Mode::Instructions => r.cycles.map_or(String::new(), |c| {
                format!("~{} cyc", thousands(c.round() as u64))
            }),
        };
        writeln!(
            out,
            "{name:<width$}  {:>14}  {spread:>10}",
            value(mode, r.estimate)
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::compare::Row;

    fn comparison() -> Comparison {
        Comparison {
            baseline: "main".into(),
            mode: Mode::Wall,
            threshold: 0.05,
            rows: vec![Row {
                name: "b::bench_x".into(),
                baseline: Some(1000.0),
                current: Some(2000.0),
                change: Some(1.0),
                ci: Some((0.9, 1.1)),
                p: Some(0.001),
                verdict: Verdict::Regressed,
            }],
            geomean_change: Some(1.0),
        }
    }

    #[test]
    fn tables_render() {
        let mut md = Vec::new();
        write_markdown(&comparison(), &mut md).unwrap();
        let md = String::from_utf8(md).unwrap();
        assert!(md.contains("| b::bench_x | 1.000 µs | 2.000 µs | +100.0% | [+90.0%, +110.0%] | **regressed** :red_circle: |"), "{md}");
        assert!(md.contains("| *geometric mean* |"), "{md}");
        let mut t = Vec::new();
        write_terminal(&comparison(), false, &mut t).unwrap();
        let t = String::from_utf8(t).unwrap();
        assert!(t.contains("regressed") && !t.contains('\x1b'), "{t}");
        let mut j = Vec::new();
        write_json(&comparison(), &mut j).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&j).unwrap();
        assert_eq!(v["benchmarks"][0]["verdict"], "regressed");
        assert_eq!(v["benchmarks"][0]["change"], 1.0);
        assert_eq!(value(Mode::Instructions, 1234567.0), "1,234,567 instr");
    }
}
