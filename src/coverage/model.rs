//! The data of a coverage report: per file, lines, regions, functions and line counts.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Serialize;

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
