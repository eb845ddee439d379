//! `pyz3 build`: build the project's extension modules (optionally with sanitizers), no tests.

use crate::project_args::ProjectArgs;
use crate::Outcome;

/// Arguments of `pyz3 build`.
#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    project: ProjectArgs,
}

/// Runs `pyz3 build`: prints each module's import name and path.
pub fn run(args: Args) -> anyhow::Result<Outcome> {
    let (_, _, built) = args.project.build()?;
    for m in &built.modules {
        println!("{}\t{}", m.name, m.path.display());
    }
    eprintln!(
        "pyz3: built {} module{} into {} in {:.1} s",
        built.modules.len(),
        if built.modules.len() == 1 { "" } else { "s" },
        built.lib_dir.display(),
        built.seconds
    );
    Ok(Outcome::Clean)
}
