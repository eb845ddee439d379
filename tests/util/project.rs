//! Throwaway projects: a temp dir the [`Project`] owns (removed when it is dropped), files
//! written into it, fixtures read from `tests/fixtures/` with their variables filled in, a PyO3
//! crate, a setuptools C extension and a git repository.
//!
//! Fixtures have one placeholder syntax, `{name}`, filled by [`render`]; text without a
//! variable of that name is left as it is (C and Rust braces stay).

use std::path::{Path, PathBuf};
use std::process::Command;

/// The text of `tests/fixtures/<rel>`.
pub fn fixture(rel: &str) -> String {
    let path = super::repo_root().join("tests/fixtures").join(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// `text` with each `{name}` of `vars` replaced by its value.
pub fn render(text: &str, vars: &[(&str, &str)]) -> String {
    vars.iter().fold(text.to_string(), |t, (name, value)| {
        t.replace(&format!("{{{name}}}"), value)
    })
}

/// A temp dir holding a project under construction.
pub struct Project {
    dir: tempfile::TempDir,
    vars: Vec<(String, String)>,
}

impl Default for Project {
    fn default() -> Self {
        Project::new()
    }
}

impl Project {
    /// An empty temp dir.
    pub fn new() -> Project {
        Project {
            dir: tempfile::tempdir().unwrap(),
            vars: Vec::new(),
        }
    }

    /// Its path.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// `rel` inside it.
    pub fn join(&self, rel: impl AsRef<Path>) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// Sets the fixture variable `{name}` for [`Project::fixture`] and [`Project::render`].
    pub fn var(mut self, name: &str, value: &str) -> Project {
        self.vars.retain(|(n, _)| n != name);
        self.vars.push((name.to_string(), value.to_string()));
        self
    }

    /// `text` with this project's variables filled in.
    pub fn render(&self, text: &str) -> String {
        let vars: Vec<(&str, &str)> = self
            .vars
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        render(text, &vars)
    }

    /// Writes `text` to `rel`, creating directories.
    pub fn file(self, rel: &str, text: &str) -> Project {
        self.write(rel, text);
        self
    }

    /// Writes `text` to `rel`, creating directories (on a project already built).
    pub fn write(&self, rel: &str, text: &str) {
        let path = self.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    }

    /// Writes the fixture `tests/fixtures/<fixture>` to `rel`, its variables filled in.
    pub fn fixture(self, rel: &str, fixture_rel: &str) -> Project {
        let text = self.render(&fixture(fixture_rel));
        self.file(rel, &text)
    }

    /// A PyO3 crate named `module` (a cdylib, its own workspace) with `src/lib.rs`.
    pub fn pyo3(self, module: &str, lib_source: &str) -> Project {
        self.file(
            "Cargo.toml",
            &format!(
                "[package]\nname = \"{module}\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n\
                 [lib]\ncrate-type = [\"cdylib\"]\n\n[dependencies]\npyo3 = \"0.30\"\n\n\
                 [workspace]\n"
            ),
        )
        .file("src/lib.rs", lib_source)
    }

    /// A setuptools project: `setup.py` declaring the C extension `module` from `module.c`.
    pub fn setuptools(self, module: &str, c_source: &str) -> Project {
        self.file(
            "setup.py",
            &format!(
                "from setuptools import Extension, setup\n\nsetup(name=\"{module}\", \
                 version=\"0.1\", ext_modules=[Extension(\"{module}\", [\"{module}.c\"])])\n"
            ),
        )
        .file(&format!("{module}.c"), c_source)
    }

    /// `git ARGS` in the project (a fixed author), failing the test when git fails; returns
    /// its stdout.
    pub fn git(&self, args: &[&str]) -> String {
        let out = Command::new("git")
            .args(["-c", "user.email=pyz3@example.com", "-c", "user.name=pyz3"])
            .args(args)
            .current_dir(self.path())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Makes it a git repository on branch `main` with everything committed.
    pub fn git_init(self) -> Project {
        self.git(&["init", "-q", "-b", "main"]);
        self.commit("init")
    }

    /// Commits everything (`git add -A`) with `message`.
    pub fn commit(self, message: &str) -> Project {
        self.git(&["add", "-A"]);
        self.git(&["commit", "-q", "-m", message]);
        self
    }
}
