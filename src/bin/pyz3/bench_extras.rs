//! The optional parts of `pyz3 bench`: flamegraphs (`--flamegraph`) and allocations per call
//! (`--memory`) of the benchmarks just measured.

use std::path::Path;

use anyhow::Context;
use pyz3::bench::session::BenchRun;
use pyz3::profile::flamegraph;

/// Prints allocations per call and growth across calls for each benchmark.
pub fn memory(run: &BenchRun) -> anyhow::Result<()> {
    let side = &run.sides[0];
    let calls = 1000;
    let width = run.names.iter().map(|n| n.len()).max().unwrap_or(9).max(9);
    println!(
        "\n{:<width$}  {:>12}  {:>14}  {:>12}  {:>14}  tool",
        "benchmark", "allocs/call", "bytes/call", "peak", "retained/call"
    );
    for name in &run.names {
        let m = run.bench.memory(side, name, calls)?;
        let per = |v: Option<u64>| {
            v.map_or("-".to_string(), |v| {
                format!("{:.1}", v as f64 / m.iters as f64)
            })
        };
        println!(
            "{name:<width$}  {:>12}  {:>14}  {:>12}  {:>14.1}  {}",
            per(m.allocations),
            per(m.allocated_bytes),
            m.peak_bytes,
            m.retained_bytes as f64 / m.iters as f64,
            m.tool
        );
    }
    Ok(())
}

/// Writes a flamegraph per benchmark into `dir`; with a compared ref that was built, also the
/// ref's and a differential one (red: a larger share of samples than in the ref).
pub fn flamegraphs(run: &BenchRun, dir: &Path) -> anyhow::Result<()> {
    let bin_dir = run.bench.python.executable.parent();
    let sampler = flamegraph::detect(bin_dir)?;
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    for name in &run.names {
        let file = safe(name);
        // About two seconds of calls at the measured speed.
        let calls = run.results.get(name).map_or(1000, |r| {
            let ns = if r.unit == "ns" {
                r.estimate
            } else {
                r.estimate / 3.0
            };
            (2e9 / ns.max(1.0)).clamp(10.0, 5e7) as u64
        });
        let mut folded = Vec::new();
        for side in &run.sides {
            eprintln!(
                "pyz3 bench: sampling {name} ({}) with {}",
                side.label,
                sampler.name()
            );
            let mut cmd = run.bench.loop_command(side, name, calls);
            // A loop of many calls: ten times a step's limit, at least 10 minutes.
            let limit = (run.bench.step_limit * 10).max(std::time::Duration::from_secs(600));
            folded.push(flamegraph::record_within(
                &sampler,
                &mut cmd,
                499,
                Some(limit),
            )?);
        }
        let svg = dir.join(format!("{file}.svg"));
        flamegraph::render(&folded[0], name, &svg)?;
        eprintln!("pyz3 bench: flamegraph {}", svg.display());
        if let (Some(before), Some(label)) = (folded.get(1), run.sides.get(1).map(|s| &s.label)) {
            let base = dir.join(format!("{file}.{}.svg", safe(label)));
            flamegraph::render(before, &format!("{name} ({label})"), &base)?;
            let diff = dir.join(format!("{file}.diff.svg"));
            flamegraph::render_diff(
                before,
                &folded[0],
                &diff,
                &format!("{name}: current vs {label}"),
            )?;
            eprintln!("pyz3 bench: differential flamegraph {}", diff.display());
        }
    }
    Ok(())
}

fn safe(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect()
}
