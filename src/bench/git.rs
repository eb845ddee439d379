//! The git operations `pyz3 bench --compare REF` needs: resolving a ref, and a temporary
//! worktree of it that is removed afterwards, also when pyz3 is interrupted (it is registered
//! with [`crate::process`]). The user's working tree (uncommitted edits included) is never
//! touched: nothing here checks out, stashes or resets. Each git command has a time limit.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{bail, Context};

fn git(root: &Path, args: &[&str]) -> anyhow::Result<String> {
    let mut cmd = Command::new("git");
    cmd.args(args).current_dir(root).stdin(Stdio::null());
    // Adding a worktree checks out a whole tree: give it the time of a build.
    let limit = if args.first() == Some(&"worktree") {
        crate::process::BUILD_LIMIT
    } else {
        crate::process::TOOL_LIMIT
    };
    let out = match crate::process::output_within(&mut cmd, limit) {
        Ok(out) => out,
        Err(e) if e.kind() == std::io::ErrorKind::TimedOut => bail!("git {}: {e}", args.join(" ")),
        Err(e) => return Err(e).context("cannot run git: is it installed?"),
    };
    if !out.status.success() {
        bail!("{}", String::from_utf8_lossy(&out.stderr).trim());
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// The commit `HEAD` points at, when `root` is in a git repository with commits.
pub fn head(root: &Path) -> Option<String> {
    git(root, &["rev-parse", "--verify", "-q", "HEAD"]).ok()
}

/// Whether the working tree has uncommitted changes (pyz3's own `.pyz3/` aside).
pub fn dirty(root: &Path) -> bool {
    git(root, &["status", "--porcelain", "--untracked-files=no"]).is_ok_and(|s| !s.is_empty())
}

/// The commit `reference` names, or an error saying it does not exist.
pub fn resolve(root: &Path, reference: &str) -> anyhow::Result<String> {
    if git(root, &["rev-parse", "--git-dir"]).is_err() {
        bail!(
            "--compare {reference}: {} is not in a git repository",
            root.display()
        );
    }
    git(
        root,
        &[
            "rev-parse",
            "--verify",
            "-q",
            &format!("{reference}^{{commit}}"),
        ],
    )
    .map_err(|_| anyhow::anyhow!("--compare {reference}: no such git ref (branch, tag or commit)"))
}

/// A detached worktree of one commit, removed on drop (or by the signal handler of
/// [`crate::process`] when pyz3 is interrupted).
pub struct Worktree {
    root: PathBuf,
    /// Where the commit is checked out.
    pub dir: PathBuf,
    _cleanup: crate::process::Registration,
}

impl Worktree {
    /// Checks `commit` out into `dir` (a fresh directory) as a detached worktree.
    pub fn add(root: &Path, commit: &str, dir: &Path) -> anyhow::Result<Worktree> {
        if dir.exists() {
            crate::process::remove_worktree(root, dir);
        }
        // Registered first: an interrupt during `worktree add` leaves nothing either.
        let cleanup = crate::process::register_worktree(root, dir);
        git(
            root,
            &[
                "worktree",
                "add",
                "--detach",
                "--quiet",
                &dir.display().to_string(),
                commit,
            ],
        )
        .with_context(|| format!("cannot create a worktree of {commit}"))?;
        Ok(Worktree {
            root: root.to_path_buf(),
            dir: dir.to_path_buf(),
            _cleanup: cleanup,
        })
    }
}

impl Drop for Worktree {
    fn drop(&mut self) {
        crate::process::remove_worktree(&self.root, &self.dir);
    }
}
