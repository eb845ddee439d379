//! Coverage of extension modules' native code: line, region and function counts of the
//! project's own sources, for a pytest run (`pyz3 test --coverage`), a check run
//! (`pyz3 check --coverage`) or a fuzz corpus (`pyz3 fuzz coverage`).
//!
//! Rust crates are built with `-Cinstrument-coverage`, C extensions with clang's source-based
//! coverage (the clang matching rustc's LLVM when there is one) or gcc's `--coverage`. LLVM
//! counters are kept in the profile file as they change (continuous mode with runtime counter
//! relocation), so a test that kills the interpreter, or a worker killed on a timeout, still
//! counts. Profiles are merged with `llvm-profdata` and read with `llvm-cov` of rustc's LLVM
//! version ([`LlvmTools`]); gcov data is read with `gcov --json-format` ([`gcov`]).
//!
//! The result is a [`CoverageReport`]: per file, lines, regions (LLVM only), functions, and
//! the count of every line, written as a terminal table, JSON, lcov or HTML ([`output`]).

pub mod gcov;
mod llvm;
pub mod output;
pub mod replay;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::Serialize;

pub use llvm::LlvmTools;

use crate::project::build::Instrumented;
use crate::project::{Built, Project};

/// Covered and total counts of one measure.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Items executed at least once.
    pub covered: u64,
    /// Items in all.
    pub total: u64,
}

impl Counts {
    /// Percent covered (100 when there is nothing to cover).
    pub fn percent(self) -> f64 {
        if self.total == 0 {
            100.0
        } else {
            self.covered as f64 * 100.0 / self.total as f64
        }
    }

    fn add(&mut self, other: Counts) {
        self.covered += other.covered;
        self.total += other.total;
    }
}

/// One function of a source file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FunctionCoverage {
    /// Its (demangled) name.
    pub name: String,
    /// The line it starts on.
    pub line: u32,
    /// How many times it was entered.
    pub count: u64,
}

/// Coverage of one source file of the project.
#[derive(Clone, Debug, Serialize)]
pub struct FileCoverage {
    /// The path relative to the project root.
    pub name: String,
    /// The absolute path.
    pub path: PathBuf,
    /// Lines with code.
    pub lines: Counts,
    /// Code regions (LLVM coverage only).
    pub regions: Option<Counts>,
    /// Functions.
    pub functions: Counts,
    /// Execution count of every line with code.
    pub line_counts: BTreeMap<u32, u64>,
    /// The functions, in line order.
    pub function_list: Vec<FunctionCoverage>,
}

impl FileCoverage {
    /// Lines with code that never ran.
    pub fn missing(&self) -> Vec<u32> {
        self.line_counts
            .iter()
            .filter(|(_, c)| **c == 0)
            .map(|(l, _)| *l)
            .collect()
    }

    /// Recomputes `lines` from `line_counts`.
    pub fn count_lines(&mut self) {
        self.lines = Counts {
            covered: self.line_counts.values().filter(|c| **c > 0).count() as u64,
            total: self.line_counts.len() as u64,
        };
    }

    /// Recomputes `functions` from `function_list`.
    pub fn count_functions(&mut self) {
        self.functions = Counts {
            covered: self.function_list.iter().filter(|f| f.count > 0).count() as u64,
            total: self.function_list.len() as u64,
        };
    }
}

/// Coverage of a project's native sources.
#[derive(Clone, Debug, Serialize)]
pub struct CoverageReport {
    /// The tools the data came from (`llvm-cov 22`, `gcov 12`).
    pub tool: String,
    /// The project's source files, by name.
    pub files: Vec<FileCoverage>,
}

/// Totals over every file of a report.
#[derive(Clone, Copy, Debug, Default, Serialize)]
pub struct Totals {
    /// Lines with code.
    pub lines: Counts,
    /// Regions (`None` when no file has region data).
    pub regions: Option<Counts>,
    /// Functions.
    pub functions: Counts,
}

impl CoverageReport {
    /// The totals over all files.
    pub fn totals(&self) -> Totals {
        let mut t = Totals::default();
        for f in &self.files {
            t.lines.add(f.lines);
            t.functions.add(f.functions);
            if let Some(r) = f.regions {
                t.regions.get_or_insert_with(Counts::default).add(r);
            }
        }
        t
    }
}

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
        path.starts_with(&self.root)
            && !self.excluded.iter().any(|d| path.starts_with(d))
            && !path
                .components()
                .any(|c| c.as_os_str() == "site-packages" || c.as_os_str() == "dist-packages")
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
                merge_file(&mut files, f, &self.root);
            }
        }
        if !self.gcov.is_empty() {
            tools.push(gcov::tool_name());
            for dir in &self.gcov {
                let own = |p: &Path| self.own(p);
                for f in gcov::collect(dir, &own)? {
                    merge_file(&mut files, f, &self.root);
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
