//! The `pyz3` command line: a thin layer over the library, one file per subcommand.
//!
//! Exit codes: 0 clean, 1 findings or regressions, 2 usage or environment errors.

mod bench;
mod bench_extras;
mod build_cmd;
mod check;
mod coverage_args;
mod doctor;
mod env;
mod fuzz;
mod fuzz_ci;
mod fuzz_findings;
mod profile;
mod progress;
mod project_args;
mod sample;
mod test;
mod watch;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// pyz3 finds bugs in Python native extension modules.
#[derive(Parser, Debug)]
#[command(name = "pyz3", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the project's Python benchmarks on its release build; compare with a saved baseline
    /// (`--baseline`) or a git ref (`--compare main`) in a regression table.
    Bench(Box<bench::Args>),
    /// Build the project's extension modules, optionally with sanitizers (`--sanitize LIST`).
    Build(build_cmd::Args),
    /// Check an extension module's functions for crashes, leaks, SystemErrors and wrong results.
    Check(Box<check::Args>),
    /// Report what this machine has for each pyz3 feature (toolchains, LLVM tools, sanitizer
    /// runtimes, cargo-fuzz, valgrind, perf, py-spy, Python packages) and what to install for the
    /// rest; exit 1 when something is missing.
    Doctor(doctor::Args),
    /// Build with sanitizers and print the `export` lines that run anything else under them.
    Env(env::Args),
    /// Fuzz an extension function with libFuzzer, structure-aware from its signature
    /// (`pyz3 fuzz MODULE:FUNC`); `repro` and `cmin` work on artifacts and corpora.
    Fuzz(Box<fuzz::Args>),
    /// Profile a program with Python and native extension frames together: a flamegraph
    /// (`--flamegraph OUT.svg`) or its peak memory and allocations (`--memory`), e.g.
    /// `pyz3 profile --flamegraph out.svg -- python script.py`.
    Profile(Box<profile::Args>),
    /// Print generated examples of a Python type expression as Python source.
    Sample(sample::Args),
    /// Build the project's extensions (optionally with sanitizers or coverage) and run its pytest
    /// suite, turning sanitizer reports into findings (`pyz3 test --sanitize address -- -x`,
    /// `pyz3 test --coverage --html DIR`, `pyz3 test --watch`).
    Test(Box<test::Args>),
}

/// What a subcommand reports back: the process exit code.
pub enum Outcome {
    /// Nothing found (exit 0).
    Clean,
    /// Findings or regressions (exit 1).
    Found,
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    // Ctrl-C and SIGTERM kill the processes pyz3 started and remove its temporary worktrees.
    if let Err(e) = pyz3::process::install_signal_handlers() {
        eprintln!("pyz3: warning: cannot handle SIGINT and SIGTERM: {e}");
    }
    let result = match cli.command {
        Command::Bench(args) => bench::run(*args),
        Command::Build(args) => build_cmd::run(args),
        Command::Check(args) => check::run(*args),
        Command::Doctor(args) => doctor::run(args),
        Command::Env(args) => env::run(args),
        Command::Fuzz(args) => fuzz::run(*args),
        Command::Profile(args) => profile::run(*args),
        Command::Sample(args) => sample::run(args),
        Command::Test(args) => test::run(*args),
    };
    // After SIGINT or SIGTERM, the cleanup thread ends the process (130 or 143).
    pyz3::process::wait_if_interrupted();
    match result {
        Ok(Outcome::Clean) => ExitCode::SUCCESS,
        Ok(Outcome::Found) => ExitCode::from(1),
        // A closed stdout (`pyz3 sample ... | head`) is not an error.
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            // One line, whatever the text it carries from a target or a file: control
            // characters escaped, and cut short.
            let text = pyz3::report::printable(&format!("{e:#}"));
            let mut line: String = text.chars().take(1000).collect();
            if line.len() < text.len() {
                line.push_str("...");
            }
            eprintln!("pyz3: error: {line}");
            ExitCode::from(2)
        }
    }
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
