//! The user cache of generic fuzz targets: built once, reused from every directory.
//!
//! For [`super::build`]. The generic target of `pyz3 fuzz MODULE:FUNC` (the one linking no
//! workspace crate) depends only on pyz3, the interpreter it embeds and the sanitizer, so it is
//! built once per (pyz3 version, interpreter, sanitizer) into an [`Entry`] of the user cache:
//! `$PYZ3_CACHE_DIR`, else `$XDG_CACHE_HOME/pyz3`, else `~/.cache/pyz3` ([`root`]), under
//! `fuzz/`. An entry holds the generated cargo-fuzz crate, cargo's target directory, the
//! installed binary and its stamp. The binary is copied in under a temporary name and renamed,
//! and the stamp (written last) records its size and modification time and the pyz3 binary that
//! built it: an entry whose binary or stamp is missing, different or not an ELF file is not
//! trusted but rebuilt. Processes building the same entry take turns on its lock file.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use anyhow::{bail, Context};
use serde::{Deserialize, Serialize};

use super::build::{fnv1a, GENERIC, TRIPLE};
use crate::report::Progress;

/// Environment variable naming the cache root (overrides `$XDG_CACHE_HOME/pyz3`).
pub const CACHE_ENV: &str = "PYZ3_CACHE_DIR";

/// The cache root: `$PYZ3_CACHE_DIR`, else `$XDG_CACHE_HOME/pyz3`, else `$HOME/.cache/pyz3`.
pub fn root() -> anyhow::Result<PathBuf> {
    let set = |k: &str| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    if let Some(dir) = set(CACHE_ENV) {
        return Ok(dir);
    }
    if let Some(dir) = set("XDG_CACHE_HOME") {
        return Ok(dir.join("pyz3"));
    }
    match set("HOME") {
        Some(home) => Ok(home.join(".cache/pyz3")),
        None => bail!("no cache directory: set {CACHE_ENV} (or XDG_CACHE_HOME or HOME)"),
    }
}

/// What the stamp beside an installed binary records.
#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Stamp {
    /// The pyz3 version.
    version: String,
    /// The pyz3 binary that built it ([`builder`]).
    builder: String,
    /// The installed binary's size in bytes.
    size: u64,
    /// Its modification time, in nanoseconds since the epoch.
    mtime_ns: u128,
}

/// The running pyz3 binary (path, size, modification time) and a fingerprint of the sources the
/// target is built from: a rebuilt pyz3 may embed a different runtime, and the runtime's own
/// code (compiled only into targets) can change without changing this binary; either brings
/// cargo back to check the entry.
fn builder() -> String {
    let exe = std::env::current_exe().unwrap_or_default();
    let (size, mtime) = std::fs::metadata(&exe)
        .map(|m| (m.len(), mtime_ns(&m)))
        .unwrap_or_default();
    let sources = sources_fingerprint(&super::build::pyz3_source());
    format!("{} {size} {mtime} src {sources:016x}", exe.display())
}

/// A hash of the path, size and modification time of every file of the crate at `root` that a
/// build reads (`Cargo.toml`, `Cargo.lock`, `build.rs` and everything under `src/`). Stat calls
/// only: a couple of hundred files, well under a millisecond.
fn sources_fingerprint(root: &Path) -> u64 {
    fn visit(dir: &Path, out: &mut Vec<(PathBuf, u64, u128)>, depth: usize) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            let path = e.path();
            match e.file_type() {
                Ok(t) if t.is_dir() && depth < 16 => visit(&path, out, depth + 1),
                Ok(t) if t.is_file() => {
                    if let Ok(m) = e.metadata() {
                        out.push((path, m.len(), mtime_ns(&m)));
                    }
                }
                _ => {}
            }
        }
    }
    let mut files = Vec::new();
    for name in ["Cargo.toml", "Cargo.lock", "build.rs"] {
        let path = root.join(name);
        if let Ok(m) = std::fs::metadata(&path) {
            files.push((path, m.len(), mtime_ns(&m)));
        }
    }
    visit(&root.join("src"), &mut files, 0);
    files.sort();
    let text: String = files
        .iter()
        .map(|(p, size, mtime)| format!("{}\0{size}\0{mtime}\n", p.display()))
        .collect();
    super::build::fnv1a(text.as_bytes())
}

fn mtime_ns(m: &std::fs::Metadata) -> u128 {
    m.modified()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos())
}

/// One cached generic target: a (pyz3 version, interpreter, sanitizer).
#[derive(Clone, Debug)]
pub struct Entry {
    /// The entry's directory.
    pub dir: PathBuf,
    /// Cargo's target directory: `$PYZ3_FUZZ_TARGET_DIR/NAME` when that is set (builds shared
    /// outside the cache), else `target` in the entry.
    pub target_dir: PathBuf,
}

/// The exclusive lock on an entry; released when dropped.
#[derive(Debug)]
pub struct Lock {
    _file: File,
}

impl Entry {
    /// The entry for `sanitize` and the interpreter `python` (`None`: whichever pyo3 finds).
    pub fn new(sanitize: &str, python: Option<&Path>) -> anyhow::Result<Entry> {
        let py = python.map_or(0, |p| fnv1a(p.as_os_str().as_encoded_bytes()) as u32);
        let name = format!("{}-{sanitize}-py{py:08x}", env!("CARGO_PKG_VERSION"));
        let dir = root()?.join("fuzz").join(&name);
        let target_dir = match std::env::var_os("PYZ3_FUZZ_TARGET_DIR") {
            Some(d) => PathBuf::from(d).join(&name),
            None => dir.join("target"),
        };
        Ok(Entry { dir, target_dir })
    }

    /// The generated cargo-fuzz crate.
    pub fn project(&self) -> PathBuf {
        self.dir.join("project")
    }

    /// Where cargo leaves the binary it built.
    pub fn cargo_output(&self) -> PathBuf {
        self.target_dir.join(TRIPLE).join("release").join(GENERIC)
    }

    /// The installed binary, the one fuzzing runs.
    pub fn binary(&self) -> PathBuf {
        self.dir.join("bin").join(GENERIC)
    }

    fn stamp_path(&self) -> PathBuf {
        self.dir.join("bin").join(format!("{GENERIC}.stamp"))
    }

    /// Takes the entry's lock, waiting (and saying so to `progress`) while another process holds it.
    pub fn lock(&self, progress: &mut dyn Progress) -> anyhow::Result<Lock> {
        crate::fs::create_dir_all(&self.dir)?;
        let path = self.dir.join("lock");
        let file = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .with_context(|| format!("cannot open {}", path.display()))?;
        let flock = |op: i32| {
            use std::os::fd::AsRawFd;
            // SAFETY: an advisory lock on a file descriptor this function owns.
            if unsafe { libc::flock(file.as_raw_fd(), op) } == 0 {
                Ok(())
            } else {
                Err(std::io::Error::last_os_error())
            }
        };
        if let Err(e) = flock(libc::LOCK_EX | libc::LOCK_NB) {
            if e.kind() != std::io::ErrorKind::WouldBlock {
                return Err(e).with_context(|| format!("cannot lock {}", path.display()));
            }
            progress.note(&format!(
                "waiting for another pyz3 building the fuzz target in {}",
                self.dir.display()
            ));
            flock(libc::LOCK_EX).with_context(|| format!("cannot lock {}", path.display()))?;
        }
        Ok(Lock { _file: file })
    }

    /// Whether the installed binary is the one its stamp describes, built by this pyz3. `None`:
    /// trusted; `Some(why)`: rebuild.
    pub fn distrust(&self) -> Option<&'static str> {
        let Ok(text) = std::fs::read_to_string(self.stamp_path()) else {
            return Some("not built yet");
        };
        let Ok(stamp) = serde_json::from_str::<Stamp>(&text) else {
            return Some("its stamp is unreadable");
        };
        let Ok(meta) = std::fs::metadata(self.binary()) else {
            return Some("its binary is missing");
        };
        if meta.len() != stamp.size || mtime_ns(&meta) != stamp.mtime_ns || !is_elf(&self.binary())
        {
            return Some("its binary changed since it was built");
        }
        if stamp.version != env!("CARGO_PKG_VERSION") || stamp.builder != builder() {
            return Some("pyz3 or its sources changed since it was built");
        }
        None
    }

    /// Forgets the installed binary and cargo's output: the copy cargo leaves in `release/` and
    /// the files of the target's own crate in `release/deps/` (the copy is a hard link to one of
    /// them, and cargo would put it back unchanged). Cargo then compiles that crate and links
    /// the binary again.
    pub fn discard(&self) {
        for p in [self.stamp_path(), self.binary(), self.cargo_output()] {
            let _ = std::fs::remove_file(p);
        }
        let deps = self.target_dir.join(TRIPLE).join("release").join("deps");
        let prefix = format!("{GENERIC}-");
        for e in std::fs::read_dir(deps).into_iter().flatten().flatten() {
            if e.file_name().to_string_lossy().starts_with(&prefix) {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }

    /// Copies cargo's output in under a temporary name, renames it into place and writes the
    /// stamp last.
    pub fn install(&self) -> anyhow::Result<PathBuf> {
        let built = self.cargo_output();
        if !is_elf(&built) {
            bail!("cargo fuzz build left no binary at {}", built.display());
        }
        let bin = self.binary();
        let bin_dir = self.dir.join("bin");
        crate::fs::create_dir_all(&bin_dir)?;
        let tmp = bin_dir.join(format!(".{GENERIC}.{}", std::process::id()));
        std::fs::copy(&built, &tmp)
            .with_context(|| format!("cannot copy {} into the cache", built.display()))?;
        File::open(&tmp).and_then(|f| f.sync_all())?;
        std::fs::rename(&tmp, &bin).with_context(|| format!("cannot install {}", bin.display()))?;
        let meta = std::fs::metadata(&bin)?;
        let stamp = Stamp {
            version: env!("CARGO_PKG_VERSION").into(),
            builder: builder(),
            size: meta.len(),
            mtime_ns: mtime_ns(&meta),
        };
        crate::fs::write_atomic(
            &self.stamp_path(),
            serde_json::to_string(&stamp)?.as_bytes(),
        )?;
        Ok(bin)
    }
}

fn is_elf(path: &Path) -> bool {
    let mut magic = [0u8; 4];
    File::open(path)
        .and_then(|mut f| f.read_exact(&mut magic))
        .is_ok()
        && magic == *b"\x7fELF"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_is_trusted_only_as_installed() {
        let tmp = tempfile::tempdir().unwrap();
        let entry = Entry {
            dir: tmp.path().join("e"),
            target_dir: tmp.path().join("t"),
        };
        assert_eq!(entry.distrust(), Some("not built yet"));
        // What cargo would have left, then installed.
        let out = tmp.path().join("out");
        std::fs::write(&out, b"\x7fELF and the rest").unwrap();
        let built = entry.cargo_output();
        std::fs::create_dir_all(built.parent().unwrap()).unwrap();
        std::fs::copy(&out, &built).unwrap();
        let deps = tmp.path().join("t").join(TRIPLE).join("release/deps");
        std::fs::create_dir_all(&deps).unwrap();
        std::fs::write(deps.join(format!("{GENERIC}-0123")), b"\x7fELF").unwrap();
        std::fs::write(deps.join("pyo3-0123.rlib"), b"").unwrap();
        let bin = entry.install().unwrap();
        assert_eq!(entry.distrust(), None);
        // Rewritten in place (same size): its time changed.
        std::fs::write(&bin, b"\x7fELF and the REST").unwrap();
        assert!(entry.distrust().is_some());
        entry.discard();
        assert!(!built.exists() && !bin.exists());
        let left: Vec<_> = std::fs::read_dir(&deps)
            .unwrap()
            .flatten()
            .map(|e| e.file_name())
            .collect();
        assert_eq!(left, ["pyo3-0123.rlib"]);
        assert_eq!(entry.distrust(), Some("not built yet"));
    }

    #[derive(Default)]
    struct Notes(Vec<String>);
    impl Progress for Notes {
        fn note(&mut self, text: &str) {
            self.0.push(text.to_string());
        }
    }

    #[test]
    fn a_second_builder_waits_for_the_first() {
        let tmp = tempfile::tempdir().unwrap();
        let entry = Entry {
            dir: tmp.path().join("e"),
            target_dir: tmp.path().join("t"),
        };
        let first = entry.lock(&mut Notes::default()).unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let other = entry.clone();
        let waiter = std::thread::spawn(move || {
            let mut notes = Notes::default();
            let lock = other.lock(&mut notes).unwrap();
            tx.send(()).unwrap();
            drop(lock);
            notes.0
        });
        // Held here: the other builder waits.
        assert!(rx
            .recv_timeout(std::time::Duration::from_millis(300))
            .is_err());
        drop(first);
        rx.recv_timeout(std::time::Duration::from_secs(10)).unwrap();
        let notes = waiter.join().unwrap();
        assert!(
            notes[0].starts_with("waiting for another pyz3"),
            "{notes:?}"
        );
    }

    #[test]
    fn a_change_to_any_source_file_changes_the_fingerprint() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        std::fs::create_dir_all(root.join("src/fuzz")).unwrap();
        std::fs::write(root.join("Cargo.toml"), "[package]\n").unwrap();
        let runtime = root.join("src/fuzz/runtime.rs");
        std::fs::write(&runtime, "fn a() {}\n").unwrap();
        let first = sources_fingerprint(root);
        assert_eq!(sources_fingerprint(root), first, "a fingerprint is stable");
        // A file only targets compile, rewritten: another size.
        std::fs::write(&runtime, "fn ab() {}\n").unwrap();
        let second = sources_fingerprint(root);
        assert_ne!(second, first);
        // The same size, a later time.
        let f = std::fs::File::options().write(true).open(&runtime).unwrap();
        f.set_modified(std::time::SystemTime::now() + std::time::Duration::from_secs(5))
            .unwrap();
        drop(f);
        assert_ne!(sources_fingerprint(root), second);
        // A new file.
        let third = sources_fingerprint(root);
        std::fs::write(root.join("src/new.rs"), "").unwrap();
        assert_ne!(sources_fingerprint(root), third);
    }
}
