//! What `pyz3 test --watch` looks at: the extensions' source directories and the tests, a
//! snapshot of their files, what changed between two snapshots, and which tests a change
//! affects. The loop itself (polling, settling a burst of saves, printing) is the caller's.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use crate::project::{ExtKind, ExtModule, Project};

/// Directories never looked into.
const SKIP_DIRS: [&str; 10] = [
    "target",
    ".pyz3",
    ".git",
    ".venv",
    "venv",
    "build",
    "__pycache__",
    ".pytest_cache",
    ".tox",
    "node_modules",
];
/// Source files by extension: Rust, C, C++, Cython, Zig, Python, CMake and TOML.
const SOURCE_EXTS: [&str; 15] = [
    "rs", "toml", "c", "h", "cc", "cpp", "cxx", "hpp", "hh", "pyx", "pxd", "pxi", "py", "zig",
    "cmake",
];
/// Build definitions by name (meson's and CMake's), whose extensions say nothing.
const SOURCE_NAMES: [&str; 4] = [
    "meson.build",
    "meson.options",
    "meson_options.txt",
    "CMakeLists.txt",
];

/// What is watched: the modules' source directories and the tests.
pub struct WatchSet {
    sources: Vec<PathBuf>,
    tests: Vec<PathBuf>,
    root: PathBuf,
}

/// File → modification time and size.
pub type Snapshot = BTreeMap<PathBuf, (SystemTime, u64)>;

impl WatchSet {
    /// What is watched in `project`.
    pub fn new(project: &Project) -> WatchSet {
        let mut sources = Vec::new();
        for m in &project.modules {
            match &m.kind {
                ExtKind::Rust {
                    manifest,
                    python_source,
                    ..
                } => {
                    sources.extend(manifest.parent().map(Path::to_path_buf));
                    sources.extend(python_source.clone());
                }
                ExtKind::Setuptools { dir, .. }
                | ExtKind::Pep517 { dir, .. }
                | ExtKind::Zig { dir } => sources.push(dir.clone()),
            }
        }
        let tests = if project.test_paths.is_empty() {
            vec![project.root.clone()]
        } else {
            project
                .test_paths
                .iter()
                .map(|t| project.root.join(t))
                .collect()
        };
        WatchSet {
            sources,
            tests,
            root: project.root.clone(),
        }
    }

    /// Whether `path` is a test file (or a `conftest.py`) of the watched tests.
    pub fn is_test(&self, path: &Path) -> bool {
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        let test_like =
            name.starts_with("test_") || name.ends_with("_test.py") || name == "conftest.py";
        path.extension().is_some_and(|e| e == "py")
            && self.tests.iter().any(|t| path.starts_with(t))
            && (test_like || self.tests.iter().all(|t| t != &self.root))
    }

    /// The watched files now.
    pub fn scan(&self) -> Snapshot {
        let mut out = Snapshot::new();
        for dir in self.sources.iter().chain(&self.tests) {
            walk(dir, &mut out);
        }
        out.retain(|p, _| {
            self.is_test(p) || (self.sources.iter().any(|s| p.starts_with(s)) && is_source(p))
        });
        out
    }
}

/// Whether a file under a module's source directory is one the build reads and nothing
/// generates: not the C or C++ that Cython writes beside a `.pyx` (setuptools' `cythonize` does
/// that in the tree on every build, which would start a rebuild after each one).
fn is_source(p: &Path) -> bool {
    let by_ext = p
        .extension()
        .is_some_and(|e| SOURCE_EXTS.iter().any(|x| e == *x));
    let by_name = p
        .file_name()
        .is_some_and(|n| SOURCE_NAMES.iter().any(|x| n == *x));
    let cython_output =
        p.extension().is_some_and(|e| e == "c" || e == "cpp") && p.with_extension("pyx").is_file();
    (by_ext || by_name) && !cython_output
}

fn walk(path: &Path, out: &mut Snapshot) {
    let Ok(meta) = std::fs::metadata(path) else {
        return;
    };
    if meta.is_file() {
        out.insert(
            path.to_path_buf(),
            (
                meta.modified().unwrap_or(SystemTime::UNIX_EPOCH),
                meta.len(),
            ),
        );
        return;
    }
    let Ok(entries) = std::fs::read_dir(path) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name();
        if SKIP_DIRS.iter().any(|s| name == *s) || name.to_string_lossy().starts_with('.') {
            continue;
        }
        walk(&e.path(), out);
    }
}

/// Files added, modified or removed between two snapshots.
pub fn changed(old: &Snapshot, new: &Snapshot) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = new
        .iter()
        .filter(|(p, v)| old.get(*p) != Some(v))
        .map(|(p, _)| p.clone())
        .collect();
    out.extend(old.keys().filter(|p| !new.contains_key(*p)).cloned());
    out
}

/// The tests to rerun: changed test files, plus the test files that import a module whose
/// sources changed; the whole suite when a source changed and no test names its module.
///
/// Returns whether to rebuild (a file other than a test changed) and the tests (empty: all).
pub fn affected(set: &WatchSet, project: &Project, files: &[PathBuf]) -> (bool, Vec<PathBuf>) {
    let rebuild = files.iter().any(|f| !set.is_test(f));
    if files
        .iter()
        .any(|f| f.file_name().is_some_and(|n| n == "conftest.py"))
    {
        // A fixture changed: any test may depend on it.
        return (rebuild, Vec::new());
    }
    let mut tests: Vec<PathBuf> = files
        .iter()
        .filter(|f| set.is_test(f) && f.exists())
        .cloned()
        .collect();
    if rebuild {
        let names: Vec<String> = project
            .modules
            .iter()
            .filter(|m| {
                let dir = match &m.kind {
                    ExtKind::Rust { manifest, .. } => manifest.parent().map(Path::to_path_buf),
                    ExtKind::Setuptools { dir, .. }
                    | ExtKind::Pep517 { dir, .. }
                    | ExtKind::Zig { dir } => Some(dir.clone()),
                };
                dir.is_some_and(|d| files.iter().any(|f| f.starts_with(&d)))
            })
            .flat_map(import_names)
            .collect();
        let all: Vec<PathBuf> = set.scan().into_keys().filter(|p| set.is_test(p)).collect();
        let users: Vec<PathBuf> = all
            .into_iter()
            .filter(|t| {
                std::fs::read_to_string(t)
                    .is_ok_and(|text| names.iter().any(|n| mentions(&text, n)))
            })
            .collect();
        if users.is_empty() {
            return (true, Vec::new());
        }
        for u in users {
            if !tests.contains(&u) {
                tests.push(u);
            }
        }
    }
    tests.sort();
    (rebuild, tests)
}

/// Names a module can be imported by: its dotted name and its first component.
fn import_names(m: &ExtModule) -> Vec<String> {
    let mut names = vec![m.name.clone()];
    if let ExtKind::Rust {
        module_name: Some(n),
        ..
    } = &m.kind
    {
        names.push(n.clone());
    }
    let firsts: Vec<String> = names
        .iter()
        .filter_map(|n| n.split('.').next().map(str::to_string))
        .collect();
    names.extend(firsts);
    names.sort();
    names.dedup();
    names
}

fn mentions(text: &str, name: &str) -> bool {
    text.match_indices(name).any(|(i, _)| {
        let before = text[..i].chars().next_back();
        let after = text[i + name.len()..].chars().next();
        let ident = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
        !ident(before) && !ident(after)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(path: &Path, text: &str) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    /// A project with one PyO3 crate (`crates/demo`, module `demo_ext`) and two test files, one
    /// of which imports the module.
    fn project(root: &Path) -> Project {
        write(
            &root.join("crates/demo/Cargo.toml"),
            "[package]\nname = \"demo\"\n",
        );
        write(&root.join("crates/demo/src/lib.rs"), "fn f() {}\n");
        write(
            &root.join("crates/demo/target/debug/x.rs"),
            "build output\n",
        );
        write(&root.join("tests/test_demo.py"), "import demo_ext\n");
        write(&root.join("tests/test_other.py"), "import json\n");
        write(&root.join("tests/helpers.txt"), "not watched\n");
        Project {
            root: root.to_path_buf(),
            modules: vec![ExtModule {
                name: "demo".into(),
                kind: ExtKind::Rust {
                    package: "demo".into(),
                    lib: "demo_ext".into(),
                    manifest: root.join("crates/demo/Cargo.toml"),
                    module_name: Some("demo_ext".into()),
                    python_source: None,
                    features: Vec::new(),
                },
            }],
            cargo_target: None,
            test_paths: vec![PathBuf::from("tests")],
            configured_tests: false,
        }
    }

    #[test]
    fn a_source_change_rebuilds_and_reruns_the_tests_that_import_the_module() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let project = project(root);
        let set = WatchSet::new(&project);
        let before = set.scan();
        let names: Vec<_> = before
            .keys()
            .map(|p| p.strip_prefix(root).unwrap())
            .collect();
        assert_eq!(
            names,
            [
                Path::new("crates/demo/Cargo.toml"),
                Path::new("crates/demo/src/lib.rs"),
                Path::new("tests/test_demo.py"),
                Path::new("tests/test_other.py"),
            ],
            "target/ and non-source files are not watched"
        );

        // A longer file: the size differs even when the clock does not move.
        write(
            &root.join("crates/demo/src/lib.rs"),
            "fn f() { g() }\nfn g() {}\n",
        );
        let after = set.scan();
        let files = changed(&before, &after);
        assert_eq!(files, [root.join("crates/demo/src/lib.rs")]);
        assert_eq!(
            affected(&set, &project, &files),
            (true, vec![root.join("tests/test_demo.py")])
        );

        // A test edited: no rebuild, that test only.
        write(&root.join("tests/test_other.py"), "import json, os\n");
        let files = changed(&after, &set.scan());
        assert_eq!(
            affected(&set, &project, &files),
            (false, vec![root.join("tests/test_other.py")])
        );

        // A fixture file: every test may depend on it.
        write(&root.join("tests/conftest.py"), "import pytest\n");
        let files = changed(&after, &set.scan());
        assert!(files.contains(&root.join("tests/conftest.py")));
        assert_eq!(affected(&set, &project, &files), (false, Vec::new()));

        // A removed test counts as a change, and is not rerun.
        let now = set.scan();
        std::fs::remove_file(root.join("tests/test_other.py")).unwrap();
        let files = changed(&now, &set.scan());
        assert_eq!(files, [root.join("tests/test_other.py")]);
        assert_eq!(affected(&set, &project, &files), (false, Vec::new()));
    }

    #[test]
    fn zig_sources_and_build_definitions_are_watched_cython_output_is_not() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for f in [
            "src/m.zig",
            "src/helper.c",
            "src/cy.pyx",
            "src/cy.c",
            "meson.build",
            "CMakeLists.txt",
            "cmake/find.cmake",
            "notes.txt",
            "zig-out/lib/m.so",
        ] {
            write(&root.join(f), "x\n");
        }
        let project = Project {
            root: root.to_path_buf(),
            modules: vec![ExtModule {
                name: "m".into(),
                kind: ExtKind::Zig {
                    dir: root.to_path_buf(),
                },
            }],
            cargo_target: None,
            test_paths: vec![PathBuf::from("tests")],
            configured_tests: false,
        };
        let names: Vec<_> = WatchSet::new(&project)
            .scan()
            .into_keys()
            .map(|p| p.strip_prefix(root).unwrap().to_path_buf())
            .collect();
        assert_eq!(
            names,
            [
                "CMakeLists.txt",
                "cmake/find.cmake",
                "meson.build",
                "src/cy.pyx",
                "src/helper.c",
                "src/m.zig"
            ]
            .map(PathBuf::from)
        );
    }

    #[test]
    fn a_source_change_no_test_names_reruns_everything() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let project = project(root);
        write(&root.join("tests/test_demo.py"), "import other_ext\n");
        let set = WatchSet::new(&project);
        let files = vec![root.join("crates/demo/src/lib.rs")];
        assert_eq!(affected(&set, &project, &files), (true, Vec::new()));
    }

    #[test]
    fn module_mentions_are_whole_words() {
        assert!(mentions("import demo_ext\n", "demo_ext"));
        assert!(mentions("from demo_ext import f", "demo_ext"));
        assert!(!mentions("import demo_ext2", "demo_ext"));
        assert!(!mentions("x = my_demo_ext", "demo_ext"));
    }
}
