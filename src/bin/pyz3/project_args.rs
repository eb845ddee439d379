//! Options shared by the subcommands that build a project (`test`, `build`, `env`).

use std::path::{Path, PathBuf};

use anyhow::Context;

use pyz3::project::{build, BuildOptions, Built, Interpreter, Project};
use pyz3::sanitize::SanitizerSet;

/// Where the project is, which Python, which sanitizers.
#[derive(clap::Args, Debug)]
pub struct ProjectArgs {
    /// Sanitizers, comma-separated: address, leak (LeakSanitizer on top of address), thread,
    /// undefined. C is built with -fsanitize=...; Rust (no UBSan in rustc) gets overflow
    /// checks, debug assertions and nightly's UB checks for `undefined`. Combinations:
    /// address,undefined and address,leak; address,thread is refused; memory is not supported.
    #[arg(long, value_name = "LIST", default_value = "")]
    pub sanitize: String,
    /// The Python to build for and test with (default: the active virtualenv's, else python3).
    #[arg(long, value_name = "PATH")]
    pub python: Option<PathBuf>,
    /// The project root (default: the current directory).
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub project: PathBuf,
    /// Build Rust crates with the release profile instead of the dev profile.
    #[arg(long)]
    pub release: bool,
    /// Instrument the modules for libFuzzer (C with clang's -fsanitize=fuzzer-no-link, Rust
    /// with cargo-fuzz's coverage flags) into .pyz3/build/<label>-fuzz: `pyz3 fuzz` of a module
    /// built this way is guided by its own code.
    #[arg(long)]
    pub fuzz: bool,
}

impl ProjectArgs {
    /// Validates the options, discovers the project and builds it.
    pub fn build(&self) -> anyhow::Result<(Project, Interpreter, Built)> {
        let (project, python) = self.discover()?;
        let built = self.build_for(&project, &python, false)?;
        Ok((project, python, built))
    }

    /// Validates the options and discovers the project and the interpreter.
    pub fn discover(&self) -> anyhow::Result<(Project, Interpreter)> {
        SanitizerSet::parse(&self.sanitize)?;
        let project = Project::discover(&self.project)?;
        let python = interpreter(self.python.as_deref())?;
        Ok((project, python))
    }

    /// Builds the discovered project, with coverage instrumentation when asked.
    pub fn build_for(
        &self,
        project: &Project,
        python: &Interpreter,
        coverage: bool,
    ) -> anyhow::Result<Built> {
        build(
            project,
            python,
            &self.build_options(coverage)?,
            &mut crate::progress::Stderr::new("pyz3"),
        )
    }

    /// What to build: these sanitizers and profile, with coverage instrumentation when asked.
    pub fn build_options(&self, coverage: bool) -> anyhow::Result<BuildOptions> {
        Ok(BuildOptions {
            sanitizers: SanitizerSet::parse(&self.sanitize)?,
            release: self.release,
            coverage,
            fuzz: self.fuzz,
        })
    }
}

/// The interpreter by pyz3's one rule: `--python PATH`, else `python = "..."` under `[tool.pyz3]`
/// in ./pyproject.toml, else `$VIRTUAL_ENV/bin/python`, else `python3` on PATH.
pub fn interpreter(explicit: Option<&Path>) -> anyhow::Result<Interpreter> {
    if let Some(p) = explicit {
        return Interpreter::select(Some(p));
    }
    Interpreter::select(configured_python()?.as_deref())
}

/// ./pyproject.toml as a table, `None` when there is none; one that cannot be read (a
/// directory, not UTF-8) or parsed is an error.
pub fn pyproject() -> anyhow::Result<Option<toml::Table>> {
    let text = match std::fs::read("pyproject.toml") {
        Ok(bytes) => {
            String::from_utf8(bytes).map_err(|_| anyhow::anyhow!("pyproject.toml is not UTF-8"))?
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => anyhow::bail!("cannot read pyproject.toml: {e}"),
    };
    Ok(Some(
        toml::from_str(&text).context("pyproject.toml does not parse")?,
    ))
}

/// `python = "..."` under `[tool.pyz3]` in ./pyproject.toml, if set.
pub fn configured_python() -> anyhow::Result<Option<PathBuf>> {
    let Some(table) = pyproject()? else {
        return Ok(None);
    };
    match table
        .get("tool")
        .and_then(|t| t.get("pyz3"))
        .and_then(|t| t.get("python"))
    {
        None => Ok(None),
        Some(toml::Value::String(s)) => Ok(Some(PathBuf::from(s))),
        Some(_) => anyhow::bail!("pyproject.toml: [tool.pyz3] python must be a path"),
    }
}
