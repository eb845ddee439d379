//! A whole `pyz3 profile --flamegraph` recording: sample the program, refuse a recording
//! without samples, keep the folded stacks, draw the flamegraph (or its difference with an
//! earlier recording), and tell a program that failed from one that ran to its end.

use std::path::Path;

use anyhow::bail;

use super::flamegraph::{self, Program, Sampler, SamplerKind};
use crate::report::Progress;

/// What to record and where to draw it.
#[derive(Clone, Debug)]
pub struct FlamegraphRun<'a> {
    /// The sampler.
    pub sampler: &'a Sampler,
    /// The program, resolved ([`Program::resolve`]).
    pub program: &'a Program,
    /// Samples per second.
    pub rate: u32,
    /// Where the SVG goes.
    pub out: &'a Path,
    /// Where the folded stacks also go, if anywhere.
    pub folded: Option<&'a Path>,
    /// Folded stacks of an earlier run: draw the difference against them.
    pub before: Option<&'a str>,
    /// The title (default: the program's arguments).
    pub title: Option<&'a str>,
}

/// Records `run.program` and draws its flamegraph. A program that fails still gets its
/// flamegraph, then the error says so: the figures describe a run that did not finish as
/// intended.
pub fn flamegraph_of(run: &FlamegraphRun<'_>, progress: &mut dyn Progress) -> anyhow::Result<()> {
    let (sampler, program) = (run.sampler, run.program);
    progress.note(&format!(
        "recording `{}` with {} ({}) at {} Hz",
        program.display(),
        sampler.name(),
        sampler.path().display(),
        run.rate
    ));
    let rec =
        flamegraph::record_program(sampler, &mut program.command(), run.rate).map_err(|e| {
            match sampler.kind() {
                SamplerKind::PySpy if program.python.is_none() => anyhow::anyhow!(
                    "{e:#}; py-spy samples CPython processes only (`--sampler perf` samples any \
                 program)"
                ),
                _ => e,
            }
        })?;
    let ended = flamegraph::describe_status(rec.status);
    if rec.samples == 0 && !rec.status.success() {
        bail!(
            "`{}` failed ({ended}) before {} collected any sample",
            program.display(),
            sampler.name()
        );
    }
    if rec.samples == 0 {
        bail!(
            "{} collected no samples of `{}` ({ended}): it ended within one sampling interval, \
             or spent its time idle",
            sampler.name(),
            program.display()
        );
    }
    if let Some(path) = run.folded {
        crate::fs::write_atomic(path, rec.folded.as_bytes())?;
        progress.note(&format!("folded stacks written to {}", path.display()));
    }
    let title = run.title.map(str::to_string).unwrap_or_else(|| {
        let shown: Vec<_> = program
            .script_args()
            .iter()
            .map(|a| a.to_string_lossy())
            .collect();
        shown.join(" ")
    });
    match run.before {
        Some(before) => flamegraph::render_diff(before, &rec.folded, run.out, &title)?,
        None => flamegraph::render(&rec.folded, &title, run.out)?,
    }
    progress.note(&format!(
        "{} sample{}; flamegraph written to {}",
        rec.samples,
        if rec.samples == 1 { "" } else { "s" },
        run.out.display()
    ));
    if !rec.status.success() {
        bail!(
            "`{}` failed ({ended}); the flamegraph shows what was sampled until then",
            program.display()
        );
    }
    Ok(())
}
