//! LLVM source-based coverage: finding `llvm-profdata`/`llvm-cov` of rustc's LLVM version,
//! merging raw profiles and reading per-file counts.

use crate::process::{Within, BUILD_LIMIT};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{bail, Context};

use super::{Counts, FileCoverage, FunctionCoverage};
use crate::toolchain::llvm::tool_version;
use crate::toolchain::rust::{llvm_major, Channel};
use crate::toolchain::{find_on_path, llvm};

/// `llvm-profdata` and `llvm-cov` of one LLVM version.
#[derive(Clone, Debug)]
pub struct LlvmTools {
    /// `llvm-profdata`.
    pub profdata: PathBuf,
    /// `llvm-cov`.
    pub cov: PathBuf,
    /// Their LLVM major version.
    pub major: u32,
}

impl LlvmTools {
    /// The tools matching rustc's LLVM: `$LLVM_PROFDATA`/`$LLVM_COV` when set (cargo-llvm-cov's
    /// variables), else `llvm-profdata-N`/`llvm-cov-N`, `/usr/lib/llvm-N/bin/...`, or unversioned
    /// names of the right version. An error says which are needed and how to install them.
    pub fn find() -> anyhow::Result<LlvmTools> {
        let major = match llvm_major(Channel::Default) {
            Some(m) => m,
            // Pure C projects without Rust: any one version will do, the clang's.
            None => find_on_path("clang")
                .and_then(|c| tool_version(&c))
                .map(|v| v.major)
                .context("coverage needs rustc or clang to tell which LLVM tools to use")?,
        };
        let profdata = find_tool("llvm-profdata", "LLVM_PROFDATA", major)?;
        let cov = find_tool("llvm-cov", "LLVM_COV", major)?;
        Ok(LlvmTools {
            profdata,
            cov,
            major,
        })
    }

    /// Merges the raw profiles in `dir/profiles` and reads the coverage of `objects` for the
    /// source files `own` accepts. Modules that never ran count as zero.
    pub(crate) fn collect(
        &self,
        dir: &Path,
        objects: &[PathBuf],
        own: &dyn Fn(&Path) -> bool,
    ) -> anyhow::Result<Vec<FileCoverage>> {
        let merged = self.merge(dir)?;
        let summary = self.export(&merged, objects, &["-summary-only"], &[])?;
        let summary: serde_json::Value = serde_json::from_slice(&summary)
            .context("llvm-cov export printed something that is not JSON")?;
        let mut regions = BTreeMap::new();
        let mut sources = Vec::new();
        for file in summary["data"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|d| d["files"].as_array().into_iter().flatten())
        {
            let Some(name) = file["filename"].as_str() else {
                continue;
            };
            let path = PathBuf::from(name);
            // meson compiles with paths relative to its build directory: `../../x.c` joined to
            // it is the project's `x.c`.
            if !own(&lexical(&path)) {
                continue;
            }
            let r = &file["summary"]["regions"];
            regions.insert(
                path.clone(),
                Counts {
                    covered: r["covered"].as_u64().unwrap_or(0),
                    total: r["count"].as_u64().unwrap_or(0),
                },
            );
            sources.push(path);
        }
        if sources.is_empty() {
            return Ok(Vec::new());
        }
        let lcov = self.export(&merged, objects, &["-format=lcov"], &sources)?;
        let mut files = parse_lcov(&String::from_utf8_lossy(&lcov));
        for f in &mut files {
            f.regions = regions.get(&f.path).copied();
            f.path = lexical(&f.path);
        }
        Ok(files)
    }

    /// `llvm-profdata merge` of every raw profile (an empty profile when there is none).
    fn merge(&self, dir: &Path) -> anyhow::Result<PathBuf> {
        let mut raws: Vec<PathBuf> = std::fs::read_dir(dir.join("profiles"))
            .map(|d| {
                d.filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|p| p.extension().is_some_and(|e| e == "profraw"))
                    .filter(|p| p.metadata().is_ok_and(|m| m.len() > 0))
                    .collect()
            })
            .unwrap_or_default();
        raws.sort();
        let list = dir.join("profiles.txt");
        if raws.is_empty() {
            // Nothing ran the modules: an empty text profile gives all-zero counts.
            let empty = dir.join("empty.proftext");
            crate::fs::write(&empty, "")?;
            raws.push(empty);
        }
        let text: String = raws.iter().map(|p| format!("{}\n", p.display())).collect();
        crate::fs::write(&list, text)?;
        let merged = dir.join("merged.profdata");
        let out = Command::new(&self.profdata)
            .args(["merge", "-sparse", "--failure-mode=all"])
            .arg(format!("--input-files={}", list.display()))
            .arg("-o")
            .arg(&merged)
            .stdin(Stdio::null())
            .output_within(BUILD_LIMIT)
            .with_context(|| format!("cannot run {}", self.profdata.display()))?;
        if !out.status.success() {
            bail!(
                "{} could not merge the profiles in {}: {}",
                self.profdata.display(),
                dir.display(),
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        Ok(merged)
    }

    fn export(
        &self,
        profile: &Path,
        objects: &[PathBuf],
        flags: &[&str],
        sources: &[PathBuf],
    ) -> anyhow::Result<Vec<u8>> {
        let mut cmd = Command::new(&self.cov);
        cmd.arg("export")
            .args(flags)
            .arg("-instr-profile")
            .arg(profile);
        for (i, o) in objects.iter().enumerate() {
            if i > 0 {
                cmd.arg("-object");
            }
            cmd.arg(o);
        }
        cmd.args(sources);
        let out = cmd
            .stdin(Stdio::null())
            .output_within(BUILD_LIMIT)
            .with_context(|| format!("cannot run {}", self.cov.display()))?;
        if !out.status.success() {
            bail!(
                "{} export failed: {}",
                self.cov.display(),
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        Ok(out.stdout)
    }
}

/// `path` with `.` and `..` taken away lexically (`/p/b/../x.c` is `/p/x.c`).
pub(crate) fn lexical(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::CurDir => {}
            c => out.push(c),
        }
    }
    out
}

/// Finds one tool of LLVM `major`, or says what to install.
fn find_tool(name: &str, var: &str, major: u32) -> anyhow::Result<PathBuf> {
    let install = format!(
        "coverage needs {name} of LLVM {major} (rustc's LLVM): install it with `apt install \
         llvm-{major}`, or set {var} to one"
    );
    if let Some(p) = std::env::var_os(var).filter(|v| !v.is_empty()) {
        let p = PathBuf::from(p);
        let path = if p.components().count() == 1 {
            find_on_path(&p.to_string_lossy())
        } else {
            Some(p.clone()).filter(|p| p.is_file())
        };
        let Some(path) = path else {
            bail!("{var}={} does not exist; {install}", p.display());
        };
        return match tool_version(&path).map(|v| v.major) {
            Some(m) if m == major => Ok(path),
            Some(m) => bail!("{var}={} is LLVM {m}; {install}", path.display()),
            None => bail!("{var}={} does not run; {install}", path.display()),
        };
    }
    match llvm::find_tool(name, major) {
        Ok(found) => Ok(found.path),
        Err(e) if !e.mismatched.is_empty() => bail!("{}; {install}", e.mismatched),
        Err(_) => bail!("{name}-{major} not found; {install}"),
    }
}

/// Parses `llvm-cov export -format=lcov` output (or any lcov tracefile) into files.
pub(crate) fn parse_lcov(text: &str) -> Vec<FileCoverage> {
    let mut files = Vec::new();
    let mut cur: Option<FileCoverage> = None;
    let mut fn_lines: BTreeMap<String, u32> = BTreeMap::new();
    for line in text.lines() {
        let (key, value) = line.split_once(':').unwrap_or((line, ""));
        match key {
            "SF" => {
                fn_lines.clear();
                cur = Some(FileCoverage {
                    name: value.to_string(),
                    path: PathBuf::from(value),
                    lines: Counts::default(),
                    regions: None,
                    functions: Counts::default(),
                    line_counts: BTreeMap::new(),
                    function_list: Vec::new(),
                });
            }
            "FN" => {
                if let Some((l, name)) = value.split_once(',') {
                    fn_lines.insert(name.to_string(), l.parse().unwrap_or(0));
                }
            }
            "FNDA" => {
                if let (Some(f), Some((count, name))) = (cur.as_mut(), value.split_once(',')) {
                    f.function_list.push(FunctionCoverage {
                        name: format!("{:#}", rustc_demangle::demangle(name)),
                        line: fn_lines.get(name).copied().unwrap_or(0),
                        count: count.parse().unwrap_or(0),
                    });
                }
            }
            "DA" => {
                let mut parts = value.split(',');
                if let (Some(f), Some(l), Some(c)) = (cur.as_mut(), parts.next(), parts.next()) {
                    if let (Ok(l), Ok(c)) = (l.parse::<u32>(), c.parse::<u64>()) {
                        let e = f.line_counts.entry(l).or_default();
                        *e = (*e).max(c);
                    }
                }
            }
            "end_of_record" => {
                if let Some(mut f) = cur.take() {
                    f.function_list.sort_by_key(|g| g.line);
                    f.count_lines();
                    f.count_functions();
                    files.push(f);
                }
            }
            _ => {}
        }
    }
    files
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lcov_lines_and_functions() {
        let text = "SF:/p/src/lib.rs\nFN:12,_RNvCsjU0scMBWttw_4covx12never_called\n\
                    FN:4,_RNvCsjU0scMBWttw_4covx8classify\nFNDA:0,_RNvCsjU0scMBWttw_4covx12never_called\n\
                    FNDA:3,_RNvCsjU0scMBWttw_4covx8classify\nFNF:2\nFNH:1\nDA:4,3\nDA:5,3\nDA:6,0\n\
                    DA:7,3\nDA:12,0\nLF:5\nLH:3\nend_of_record\n";
        let files = parse_lcov(text);
        assert_eq!(files.len(), 1);
        let f = &files[0];
        assert_eq!(f.missing(), vec![6, 12]);
        assert_eq!(
            f.lines,
            Counts {
                covered: 3,
                total: 5
            }
        );
        assert_eq!(
            f.functions,
            Counts {
                covered: 1,
                total: 2
            }
        );
        assert_eq!(f.function_list[0].name, "covx::classify");
        assert_eq!(f.function_list[0].line, 4);
    }
}
