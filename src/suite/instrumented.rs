//! A coverage build of a project for commands that run it themselves (`pyz3 check --coverage`,
//! `pyz3 fuzz coverage`): the build, the measurement, and the environment that makes a process
//! import the instrumented modules and write its profiles where the measurement reads them.

use std::path::Path;

use crate::coverage::Session;
use crate::project::{build, BuildOptions, Built, Interpreter, Project};
use crate::report::Progress;
use crate::sanitize::runtime::Environment;
use crate::sanitize::SanitizerSet;

/// A coverage build of a project, ready to run.
#[derive(Debug)]
pub struct CoverageBuild {
    /// The interpreter it was built for, with [`CoverageBuild::env`] as its environment.
    pub python: Interpreter,
    /// The build.
    pub built: Built,
    /// The measurement.
    pub session: Session,
    /// Environment for processes that run the build: `PYTHONPATH` and the profile path.
    pub env: Vec<(String, String)>,
}

/// Builds the project at `dir` with coverage instrumentation for `python` and starts a
/// measurement. Processes given [`CoverageBuild::env`] import the instrumented build.
pub fn coverage_build(
    dir: &Path,
    mut python: Interpreter,
    progress: &mut dyn Progress,
) -> anyhow::Result<CoverageBuild> {
    let project = Project::discover(dir)?;
    let built = build(
        &project,
        &python,
        &BuildOptions {
            sanitizers: SanitizerSet::NONE,
            release: false,
            coverage: true,
            fuzz: false,
        },
        progress,
    )?;
    let session = Session::start(&project, &built)?;
    let mut env = Environment::new(&built, None, None, &[])?.vars;
    env.extend(session.env());
    python.env = env.clone();
    Ok(CoverageBuild {
        python,
        built,
        session,
        env,
    })
}
