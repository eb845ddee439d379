//! One coverage measurement: where the instrumented modules write their profiles, and
//! reading them back into a [`CoverageReport`].

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Context;

use super::{gcov, CoverageReport, FileCoverage, LlvmTools};
use crate::project::build::Instrumented;
use crate::project::{Built, Project};

/// One coverage measurement: where profiles go while the instrumented modules run, and how
/// they are read afterwards.
#[derive(Debug)]
pub struct Session {
    root: PathBuf,
    excluded: Vec<PathBuf>,
    dir: PathBuf,
    llvm: Option<(LlvmTools, Vec<PathBuf>)>,
    gcov: Vec<PathBuf>,
}

impl Session {
    /// Prepares a measurement of `built` (built with `coverage: true`): checks the tools needed
    /// to read the data (an error naming them when they are missing or of the wrong version)
    /// and clears the data of any earlier run.
    pub fn start(project: &Project, built: &Built) -> anyhow::Result<Session> {
        let mut llvm_objects = Vec::new();
        let mut gcov = Vec::new();
        for m in &built.modules {
            match &m.coverage {
                Some(Instrumented::Llvm) => llvm_objects.push(m.path.clone()),
                Some(Instrumented::Gcov { objects }) if !gcov.contains(objects) => {
                    gcov.push(objects.clone());
                }
                _ => {}
            }
        }
        if llvm_objects.is_empty() && gcov.is_empty() {
            anyhow::bail!("no module was built with coverage instrumentation");
        }
        let llvm = if llvm_objects.is_empty() {
            None
        } else {
            Some((LlvmTools::find()?, llvm_objects))
        };
        if !gcov.is_empty() {
            gcov::check_tool()?;
            for dir in &gcov {
                gcov::clear(dir)?;
            }
        }
        let label = built
            .lib_dir
            .parent()
            .and_then(|p| p.file_name())
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "coverage".into());
        let dir = project.work_dir().join("coverage").join(label);
        if dir.exists() {
            std::fs::remove_dir_all(&dir)
                .with_context(|| format!("cannot clear {}", dir.display()))?;
        }
        std::fs::create_dir_all(dir.join("profiles"))
            .with_context(|| format!("cannot create {}", dir.display()))?;
        let root = project
            .root
            .canonicalize()
            .unwrap_or_else(|_| project.root.clone());
        let mut excluded: Vec<PathBuf> = [
            "target", ".pyz3", ".venv", "venv", "build", ".tox", ".nox", ".git",
        ]
        .iter()
        .map(|d| root.join(d))
        .collect();
        excluded.extend(project.cargo_target.clone());
        Ok(Session {
            root,
            excluded,
            dir,
            llvm,
            gcov,
        })
    }

    /// Environment variables for every process that runs the instrumented modules.
    pub fn env(&self) -> Vec<(String, String)> {
        // %c: continuous mode; %p and %m keep processes and modules apart.
        vec![(
            "LLVM_PROFILE_FILE".to_string(),
            self.dir
                .join("profiles")
                .join("%c%p-%m.profraw")
                .display()
                .to_string(),
        )]
    }

    /// The directory holding this measurement's data.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Whether a source file belongs to the project (not a dependency, the standard library or
    /// a build directory).
    fn own(&self, path: &Path) -> bool {
        let outside_deps = !path
            .components()
            .any(|c| c.as_os_str() == "site-packages" || c.as_os_str() == "dist-packages");
        path.starts_with(&self.root)
            && outside_deps
            // Cython's generated C may live in a build directory (meson's); it stands for the
            // project's `.pyx`, read through it.
            && (!self.excluded.iter().any(|d| path.starts_with(d)) || super::cython::is_cython_c(path))
    }

    /// Adds `f` to `files`: a Cython module's generated C as the `.pyx` lines it came from.
    fn add(&self, files: &mut BTreeMap<String, FileCoverage>, f: FileCoverage) {
        if super::cython::is_cython_c(&f.path) {
            for pyx in super::cython::to_pyx(&f, &self.root) {
                merge_file(files, pyx, &self.root);
            }
        } else {
            merge_file(files, f, &self.root);
        }
    }

    /// Reads the data written since [`Session::start`] into a report of the project's own
    /// sources.
    pub fn report(&self) -> anyhow::Result<CoverageReport> {
        let mut files: BTreeMap<String, FileCoverage> = BTreeMap::new();
        let mut tools = Vec::new();
        if let Some((tools_llvm, objects)) = &self.llvm {
            tools.push(format!("llvm-cov {}", tools_llvm.major));
            let own = |p: &Path| self.own(p);
            for f in tools_llvm.collect(&self.dir, objects, &own)? {
                self.add(&mut files, f);
            }
        }
        if !self.gcov.is_empty() {
            tools.push(gcov::tool_name());
            for dir in &self.gcov {
                let own = |p: &Path| self.own(p);
                for f in gcov::collect(dir, &own)? {
                    self.add(&mut files, f);
                }
            }
        }
        Ok(CoverageReport {
            tool: tools.join(" + "),
            files: files.into_values().collect(),
        })
    }
}

/// Adds `f` to `files`, naming it relative to `root`; a file seen twice (two modules
/// compiled from it) has its counts summed.
fn merge_file(files: &mut BTreeMap<String, FileCoverage>, mut f: FileCoverage, root: &Path) {
    f.name = f
        .path
        .strip_prefix(root)
        .unwrap_or(&f.path)
        .display()
        .to_string();
    match files.get_mut(&f.name) {
        None => {
            files.insert(f.name.clone(), f);
        }
        Some(old) => {
            for (line, count) in f.line_counts {
                *old.line_counts.entry(line).or_default() += count;
            }
            for func in f.function_list {
                match old
                    .function_list
                    .iter_mut()
                    .find(|g| g.name == func.name && g.line == func.line)
                {
                    Some(g) => g.count += func.count,
                    None => old.function_list.push(func),
                }
            }
            if let (Some(a), Some(b)) = (old.regions.as_mut(), f.regions) {
                // Regions of the same file in two objects: keep the better-covered view.
                if b.covered > a.covered {
                    *a = b;
                }
            }
            old.function_list.sort_by_key(|g| g.line);
            old.count_lines();
            old.count_functions();
        }
    }
}
