//! gcc's gcov coverage of C extension modules built with `gcc -O0 -g --coverage`.
//!
//! Compiling leaves a `.gcno` (notes) file next to every object file; running the module writes
//! the counts into a `.gcda` file beside it. Both are read with `gcov --json-format --stdout`
//! (one JSON document per object on a line of its own), which also reads a `.gcno` without its
//! `.gcda`, reporting zero counts: a module that never ran still shows all its lines as missing.
//! The `gcov` must be of the gcc that built the objects (same major version).

use crate::process::{Within, BUILD_LIMIT, TOOL_LIMIT};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context};
use serde_json::Value;

use super::{Counts, FileCoverage, FunctionCoverage};

/// Checks that `gcov` (or `$PYZ3_GCOV`) runs and matches the version of gcc (`$CC` if it is
/// gcc, else `gcc`) — same major version; else an error naming what is needed.
pub fn check_tool() -> anyhow::Result<()> {
    check_program(&program(), gcc_major()).map(|_| ())
}

/// "gcov 12" (the tool and its major version) for report headers.
pub fn tool_name() -> String {
    match gcov_major(&program()) {
        Ok(major) => format!("gcov {major}"),
        Err(_) => "gcov".to_string(),
    }
}

/// Removes every `.gcda` file under `objects` (recursively; a missing directory is fine), so
/// counts of an earlier run do not add up.
pub fn clear(objects: &Path) -> anyhow::Result<()> {
    for file in files_with_extension(objects, "gcda")? {
        std::fs::remove_file(&file).with_context(|| format!("cannot remove {}", file.display()))?;
    }
    Ok(())
}

/// Reads the `.gcda` files under `objects` into per-source-file coverage of the files `own`
/// accepts. Objects that never ran (only a `.gcno`) count zero for all their lines.
pub fn collect(objects: &Path, own: &dyn Fn(&Path) -> bool) -> anyhow::Result<Vec<FileCoverage>> {
    // gcov given `x.gcno` also reads `x.gcda` when there is one.
    let notes = files_with_extension(objects, "gcno")?;
    let program = program();
    let scratch = Scratch::new()?;
    let mut files = BTreeMap::new();
    for chunk in notes.chunks(64) {
        let out = Command::new(&program)
            .args(["--json-format", "--stdout"])
            .args(chunk)
            .current_dir(scratch.0.path())
            .env("LC_ALL", "C")
            .output_within(BUILD_LIMIT)
            .with_context(|| format!("cannot run {}", program.display()))?;
        let stderr = String::from_utf8_lossy(&out.stderr);
        // `x.gcno:version 'A93*', prefer 'B01*'` or `x.gcda:version ..., prefer version ...`.
        if stderr.contains("', prefer '") || stderr.contains("', prefer version '") {
            bail!(
                "{} cannot read the coverage data under {} (written by another gcc version): {}",
                program.display(),
                objects.display(),
                stderr.trim()
            );
        }
        let mut documents = 0;
        for line in String::from_utf8_lossy(&out.stdout).lines() {
            if let Ok(doc) = serde_json::from_str::<Value>(line) {
                documents += 1;
                add_document(&doc, own, &mut files);
            }
        }
        if documents == 0 && !out.status.success() {
            bail!(
                "{} failed on {}: {}",
                program.display(),
                chunk[0].display(),
                stderr.trim()
            );
        }
    }
    Ok(files
        .into_values()
        .map(|mut f| {
            f.function_list
                .sort_by(|a, b| (a.line, &a.name).cmp(&(b.line, &b.name)));
            f.count_lines();
            f.count_functions();
            f
        })
        .collect())
}

/// Adds the source files of one gcov JSON document to `files`: counts of the same line within
/// a file take the maximum, counts of the same file in several objects add up.
fn add_document(
    doc: &Value,
    own: &dyn Fn(&Path) -> bool,
    files: &mut BTreeMap<PathBuf, FileCoverage>,
) {
    let array = |v: &Value, key: &str| v.get(key).and_then(Value::as_array).cloned();
    let number = |v: &Value, key: &str| v.get(key).and_then(Value::as_u64);
    let cwd = doc
        .get("current_working_directory")
        .and_then(Value::as_str)
        .map(PathBuf::from)
        .unwrap_or_default();
    for file in array(doc, "files").unwrap_or_default() {
        let Some(name) = file.get("file").and_then(Value::as_str) else {
            continue;
        };
        let joined = cwd.join(name);
        let path = joined.canonicalize().unwrap_or(joined);
        if !own(&path) {
            continue;
        }
        let mut lines: BTreeMap<u32, u64> = BTreeMap::new();
        for line in array(&file, "lines").unwrap_or_default() {
            let (Some(n), Some(count)) = (number(&line, "line_number"), number(&line, "count"))
            else {
                continue;
            };
            if let Ok(n) = u32::try_from(n) {
                let c = lines.entry(n).or_default();
                *c = (*c).max(count);
            }
        }
        let entry = files.entry(path.clone()).or_insert_with(|| FileCoverage {
            name: path.display().to_string(),
            path,
            lines: Counts::default(),
            regions: None,
            functions: Counts::default(),
            line_counts: BTreeMap::new(),
            function_list: Vec::new(),
        });
        for (n, count) in lines {
            *entry.line_counts.entry(n).or_default() += count;
        }
        for f in array(&file, "functions").unwrap_or_default() {
            let name = f.get("demangled_name").or_else(|| f.get("name"));
            let (Some(name), Some(line), Some(count)) = (
                name.and_then(Value::as_str),
                number(&f, "start_line").and_then(|l| u32::try_from(l).ok()),
                number(&f, "execution_count"),
            ) else {
                continue;
            };
            match entry
                .function_list
                .iter_mut()
                .find(|g| g.name == name && g.line == line)
            {
                Some(g) => g.count += count,
                None => entry.function_list.push(FunctionCoverage {
                    name: name.to_string(),
                    line,
                    count,
                }),
            }
        }
    }
}

/// The gcov to run: `$PYZ3_GCOV`, else `gcov-N` for gcc N when it is on the path, else `gcov`.
fn program() -> PathBuf {
    if let Some(p) = std::env::var_os("PYZ3_GCOV") {
        return p.into();
    }
    gcc_major()
        .and_then(|major| crate::toolchain::find_on_path(&format!("gcov-{major}")))
        .unwrap_or_else(|| "gcov".into())
}

/// The major version of gcc (`$CC` when it names a gcc, else `gcc`), when it runs.
fn gcc_major() -> Option<u32> {
    let cc = std::env::var("CC").unwrap_or_default();
    let gcc = cc
        .split_whitespace()
        .find(|w| {
            Path::new(w)
                .file_name()
                .is_some_and(|n| n.to_string_lossy().contains("gcc"))
        })
        .unwrap_or("gcc");
    let out = Command::new(gcc)
        .arg("-dumpfullversion")
        .output_within(TOOL_LIMIT)
        .ok()?;
    let out = Some(out).filter(|o| o.status.success())?;
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .split('.')
        .next()?
        .parse()
        .ok()
}

/// The major version `gcov --version` reports (`gcov (Debian 12.2.0-14) 12.2.0` → 12).
fn gcov_major(gcov: &Path) -> anyhow::Result<u32> {
    let out = Command::new(gcov)
        .arg("--version")
        .env("LC_ALL", "C")
        .output_within(TOOL_LIMIT)
        .map_err(|e| {
            anyhow::anyhow!(
                "gcov not found: cannot run `{}` ({e}); install gcc's gcov or set PYZ3_GCOV \
                 to its path",
                gcov.display()
            )
        })?;
    let text = String::from_utf8_lossy(&out.stdout);
    let first = text.lines().next().unwrap_or("");
    first
        .split_whitespace()
        .last()
        .and_then(|v| v.split('.').next()?.parse().ok())
        .filter(|_| out.status.success() && first.contains("gcov"))
        .with_context(|| {
            format!(
                "`{}` does not look like gcov: `--version` printed {first:?}",
                gcov.display()
            )
        })
}

/// Checks that `gcov` runs and, when `gcc_major` is known, is of that major version; returns
/// its major version.
fn check_program(gcov: &Path, gcc_major: Option<u32>) -> anyhow::Result<u32> {
    let major = gcov_major(gcov)?;
    match gcc_major {
        Some(want) if want != major => bail!(
            "C coverage with gcc needs gcov {want} (the gcc that built the extension), but `{}` \
             is gcov {major}: install it with `apt install gcc-{want}` or set PYZ3_GCOV to the \
             path of gcov-{want}",
            gcov.display()
        ),
        _ => Ok(major),
    }
}

/// Every file under `dir` (recursively, not following symbolic links) with the extension `ext`,
/// sorted; none when `dir` does not exist.
fn files_with_extension(dir: &Path, ext: &str) -> anyhow::Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let entries = match std::fs::read_dir(&dir) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            r => r.with_context(|| format!("cannot list {}", dir.display()))?,
        };
        for entry in entries {
            let entry = entry.with_context(|| format!("cannot list {}", dir.display()))?;
            let path = entry.path();
            let kind = entry
                .file_type()
                .with_context(|| format!("cannot read {}", path.display()))?;
            if kind.is_dir() {
                pending.push(path);
            } else if kind.is_file() && path.extension().is_some_and(|e| e == ext) {
                found.push(path);
            }
        }
    }
    found.sort();
    Ok(found)
}

/// A fresh private directory under the system's temporary directory
/// ([`crate::fs::scratch_dir`]), removed when dropped.
struct Scratch(tempfile::TempDir);

impl Scratch {
    fn new() -> anyhow::Result<Scratch> {
        Ok(Scratch(crate::fs::scratch_dir("gcov")?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A test program: `return -1;` and `never` never run.
    const SOURCE: &str = "int classify(int x) {
    if (x < 0) {
        return -1;
    }
    return x + 1;
}
int never(int x) { return x * 3; }
int main(void) { return classify(3) == 4 ? 0 : 1; }
";

    /// Shorthand for a [`Counts`].
    fn counts(covered: u64, total: u64) -> Counts {
        Counts { covered, total }
    }

    /// The 1-based number of the line of `SOURCE` containing `text`.
    fn line_of(text: &str) -> u32 {
        SOURCE.lines().position(|l| l.contains(text)).unwrap() as u32 + 1
    }

    /// Runs `cmd`, failing the test when it cannot run or fails.
    fn run(cmd: &mut Command) {
        let status = cmd
            .status()
            .unwrap_or_else(|e| panic!("cannot run {cmd:?} (gcc is needed for this test): {e}"));
        assert!(status.success(), "{cmd:?} failed: {status}");
    }

    /// Compiles `SOURCE` with coverage into `<dir>/objects/sub`, links and runs it; returns the
    /// objects directory and the source path.
    fn build_and_run(dir: &Path) -> (PathBuf, PathBuf) {
        let src = dir.join("m.c");
        std::fs::write(&src, SOURCE).unwrap();
        let objects = dir.join("objects");
        std::fs::create_dir_all(objects.join("sub")).unwrap();
        let object = objects.join("sub").join("m.o");
        let cc = |args: &[&str]| {
            let mut cmd = Command::new("gcc");
            cmd.args(args).current_dir(dir);
            cmd
        };
        run(cc(&["-O0", "-g", "--coverage", "-c", "m.c", "-o"]).arg(&object));
        run(cc(&["--coverage", "-o", "prog"]).arg(&object));
        run(&mut Command::new(dir.join("prog")));
        assert!(objects.join("sub").join("m.gcda").exists());
        (objects, src.canonicalize().unwrap())
    }

    #[test]
    fn collects_lines_and_functions() {
        let dir = tempfile::tempdir().unwrap();
        let (objects, src) = build_and_run(dir.path());
        let files = collect(&objects, &|_| true).unwrap();
        assert_eq!(files.len(), 1, "{files:?}");
        let f = &files[0];
        assert_eq!(f.path, src);
        assert_eq!(f.name, src.display().to_string());
        assert_eq!(f.regions, None);
        assert_eq!(
            f.missing(),
            vec![line_of("return -1"), line_of("int never")]
        );
        assert_eq!(f.line_counts[&line_of("if (x < 0)")], 1);
        assert_eq!(f.functions, counts(2, 3));
        assert_eq!(f.lines, counts(4, 6));
        let names: Vec<_> = f
            .function_list
            .iter()
            .map(|g| (&*g.name, g.line, g.count))
            .collect();
        assert_eq!(names, [("classify", 1, 1), ("never", 7, 0), ("main", 8, 1)]);
        assert!(collect(&objects, &|_| false).unwrap().is_empty());
    }

    #[test]
    fn cleared_data_counts_zero() {
        let dir = tempfile::tempdir().unwrap();
        let (objects, _) = build_and_run(dir.path());
        clear(&objects).unwrap();
        assert!(files_with_extension(&objects, "gcda").unwrap().is_empty());
        let files = collect(&objects, &|_| true).unwrap();
        assert_eq!(files.len(), 1, "{files:?}");
        assert_eq!(files[0].lines.covered, 0);
        assert_eq!(files[0].missing().len(), 6);
        assert_eq!(files[0].functions, counts(0, 3));
        clear(&dir.path().join("missing")).unwrap();
        assert!(collect(&dir.path().join("missing"), &|_| true)
            .unwrap()
            .is_empty());
    }

    #[test]
    fn checks_the_gcov_version() {
        let dir = tempfile::tempdir().unwrap();
        let script = dir.path().join("gcov");
        std::fs::write(&script, "#!/bin/sh\necho 'gcov (GCC) 9.4.0'\n").unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        // Another test thread forking while the script was open for writing makes exec fail
        // with ETXTBSY for a moment.
        let check = |major| loop {
            match check_program(&script, major) {
                Err(e) if e.to_string().contains("Text file busy") => {
                    std::thread::sleep(std::time::Duration::from_millis(20))
                }
                r => break r,
            }
        };
        let err = check(Some(12)).unwrap_err().to_string();
        assert!(err.contains("gcov 12") && err.contains("gcov 9"), "{err}");
        assert!(err.contains("gcc-12"), "{err}");
        assert_eq!(check(Some(9)).unwrap(), 9);
        assert_eq!(check(None).unwrap(), 9);
        let err = check_program(&dir.path().join("none"), Some(12)).unwrap_err();
        assert!(err.to_string().contains("gcov not found"), "{err}");
    }

    #[test]
    fn the_installed_gcov_matches_gcc() {
        check_tool().unwrap();
        assert!(tool_name().starts_with("gcov "), "{}", tool_name());
    }
}
