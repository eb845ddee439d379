//! `pyz3 env`: build, then print the `export` lines that run anything else (a script, a REPL,
//! another test runner) under the same sanitizers with the built modules importable.

use crate::project_args::ProjectArgs;
use crate::Outcome;
use pyz3::sanitize::runtime::Environment;

/// Arguments of `pyz3 env`.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Use as: eval \"$(pyz3 env --sanitize address)\"; python my_script.py\n\
Reports go to stderr (set log_path in ASAN_OPTIONS to keep them in files)."
)]
pub struct Args {
    #[command(flatten)]
    project: ProjectArgs,
}

/// Runs `pyz3 env`.
pub fn run(args: Args) -> anyhow::Result<Outcome> {
    let (project, _, built) = args.project.build()?;
    let supp = project.work_dir().join("sanitize").join("tsan.supp");
    pyz3::fs::create_dir_all(supp.parent().expect("has a parent"))?;
    pyz3::fs::write(&supp, pyz3::sanitize::runtime::TSAN_SUPPRESSIONS)?;
    let env = Environment::new(&built, None, Some(&supp), &[])?;
    print!("{}", env.export_lines());
    Ok(Outcome::Clean)
}
