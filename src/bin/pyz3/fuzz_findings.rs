//! How `pyz3 fuzz` shows its work: progress and notes on stderr, a finding on stdout, and the
//! output of a tool that failed.

use std::io::{IsTerminal, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use pyz3::fuzz::run::ToolFailed;
use pyz3::report::{Finding, Progress};
use pyz3::target::Target;

/// The terminal as the fuzz library's [`Progress`]: notes and warnings as `pyz3:` lines; during
/// a fuzzing step, each note is the run's status, rewritten in place on a terminal and printed
/// every 10 s otherwise.
#[derive(Default)]
pub(crate) struct Terminal {
    in_step: bool,
    last_status: Option<Instant>,
    tty: Option<bool>,
}

impl Terminal {
    fn tty(&mut self) -> bool {
        *self
            .tty
            .get_or_insert_with(|| std::io::stderr().is_terminal())
    }
}

impl Progress for Terminal {
    fn start(&mut self, _what: &str, _total: Option<u64>) {
        self.in_step = true;
        self.last_status = None;
    }

    fn finish(&mut self) {
        if self.in_step && self.tty() {
            eprintln!();
        }
        self.in_step = false;
    }

    fn note(&mut self, text: &str) {
        if !self.in_step {
            eprintln!("pyz3: {text}");
        } else if self.tty() {
            eprint!("\rpyz3: {text}\x1b[K");
            let _ = std::io::stderr().flush();
        } else if self
            .last_status
            .is_none_or(|t| t.elapsed() >= Duration::from_secs(10))
        {
            self.last_status = Some(Instant::now());
            eprintln!("pyz3: {text}");
        }
    }

    fn warn(&mut self, text: &str) {
        eprintln!("pyz3: warning: {text}");
    }
}

/// Prints the end of a failed tool's output (before `main` prints the error, which says
/// "output above").
pub(crate) fn show_tool_output(e: &anyhow::Error) {
    if let Some(failed) = e.downcast_ref::<ToolFailed>() {
        for l in &failed.output {
            eprintln!("{l}");
        }
    }
}

/// Prints a finding of `target`: the call, the message, the artifact and the reproducer.
pub(crate) fn print_finding(target: &Target, artifact: &Path, finding: &Finding, call: &str) {
    println!(
        "pyz3: {} in {}.{}",
        finding.kind.name(),
        target.module,
        target.function
    );
    for i in &finding.imports {
        println!("  import {i}");
    }
    println!("  {call}");
    for l in finding.message.lines().take(8) {
        println!("  {l}");
    }
    println!("  artifact:   {}", artifact.display());
    let report = pyz3::fuzz::artifacts::report_path(artifact);
    if finding.traceback.is_some() && report.is_file() {
        println!("  report:     {}", report.display());
    }
    if let Some(p) = &finding.reproducer {
        // Its first line names the interpreter it runs with.
        let python = std::fs::read_to_string(p)
            .ok()
            .and_then(|t| {
                t.lines()
                    .next()
                    .and_then(|l| l.strip_prefix("#!"))
                    .map(String::from)
            })
            .unwrap_or_else(|| "python3".into());
        println!("  reproducer: {python} {}", p.display());
    }
}
