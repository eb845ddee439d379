//! Files pyz3 writes for its users: reports, reproducers, baselines, flamegraphs, sidecars.
//!
//! For every command that writes a file the user asked for, and for library users doing the
//! same:
//!
//! - [`check_output_path`] before any work: a path that cannot be written fails in a moment,
//!   not after a long run;
//! - [`write_atomic`] to write a whole file: through a fresh temporary file in the destination's
//!   directory, created with `O_CREAT | O_EXCL` (so a file or symlink planted at any name is
//!   never opened or followed, and nothing of the user's is overwritten), synced, then renamed
//!   over the destination — a reader sees the old file or the new one, never half of one;
//! - [`scratch_dir`] for private working directories under the system's temporary directory
//!   (unique names, mode 0700), and [`safe_file_name`] for file names made from untrusted text
//!   (function names of the module under check).
//!
//! Every error is a [`PathError`], which names the path it is about; the small wrappers at the
//! end ([`read_to_string`], [`create_dir_all`], [`read_dir`], ...) are `std::fs` with such
//! errors (`cannot read .pyz3/x.json: No such file or directory`), for every file operation
//! whose error reaches the user.

use std::ffi::{CString, OsString};
use std::fmt;
use std::fs::{File, OpenOptions, Permissions};
use std::io::{self, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// An I/O failure on a path: `cannot write <path>: <reason>` (`cannot copy <from> to <to>:
/// <reason>` for an operation on two paths).
#[derive(Debug)]
pub struct PathError {
    action: &'static str,
    path: PathBuf,
    to: Option<PathBuf>,
    error: io::Error,
}

impl PathError {
    fn new(action: &'static str, path: &Path, error: io::Error) -> PathError {
        PathError {
            action,
            path: path.to_path_buf(),
            to: None,
            error,
        }
    }

    /// The path the operation was about.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The kind of the underlying I/O error.
    pub fn kind(&self) -> io::ErrorKind {
        self.error.kind()
    }
}

impl fmt::Display for PathError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cannot {} {}", self.action, self.path.display())?;
        if let Some(to) = &self.to {
            write!(f, " to {}", to.display())?;
        }
        write!(f, ": {}", self.error)
    }
}

// The reason is part of the message, so it is not also a `source` (error chains would print it
// twice).
impl std::error::Error for PathError {}

impl From<PathError> for io::Error {
    fn from(e: PathError) -> io::Error {
        io::Error::new(e.kind(), e)
    }
}

/// The directory a path's file lives in (`.` for a bare file name).
fn parent_dir(path: &Path) -> &Path {
    path.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

/// `access(2)`: whether this process may write (`W_OK`) or enter and create in a directory
/// (`W_OK | X_OK`).
fn access(path: &Path, mode: libc::c_int) -> io::Result<()> {
    let c = CString::new(path.as_os_str().as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "the path contains a NUL byte"))?;
    // SAFETY: `c` is a valid NUL-terminated string that outlives the call.
    if unsafe { libc::access(c.as_ptr(), mode) } == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Checks, before any work, that a file can be written at `path`: its directory exists, is a
/// directory and is writable, and `path` itself is not a directory. (An existing device or FIFO,
/// such as `/dev/stdout`, only has to be writable: [`write_atomic`] writes it in place.)
///
/// The error reads `cannot write <path>: <reason>`.
pub fn check_output_path(path: &Path) -> Result<(), PathError> {
    let fail = |kind: io::ErrorKind, reason: String| {
        Err(PathError::new("write", path, io::Error::new(kind, reason)))
    };
    if path.as_os_str().is_empty() {
        return fail(io::ErrorKind::InvalidInput, "the path is empty".into());
    }
    if path.as_os_str().as_bytes().contains(&0) {
        return fail(
            io::ErrorKind::InvalidInput,
            "the path contains a NUL byte".into(),
        );
    }
    match std::fs::metadata(path) {
        Ok(m) if m.is_dir() => {
            return fail(io::ErrorKind::IsADirectory, "it is a directory".into())
        }
        Ok(m) if !m.is_file() => {
            return access(path, libc::W_OK).or_else(|e| fail(e.kind(), e.to_string()));
        }
        _ => {}
    }
    let dir = parent_dir(path);
    match std::fs::metadata(dir) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => fail(
            io::ErrorKind::NotFound,
            format!("directory {} does not exist", dir.display()),
        ),
        Err(e) => fail(e.kind(), format!("directory {}: {e}", dir.display())),
        Ok(m) if !m.is_dir() => fail(
            io::ErrorKind::NotADirectory,
            format!("{} is not a directory", dir.display()),
        ),
        Ok(_) => access(dir, libc::W_OK | libc::X_OK).or_else(|e| {
            fail(
                e.kind(),
                format!("directory {} is not writable: {e}", dir.display()),
            )
        }),
    }
}

/// Checks, before any work, that files can be written into the directory `dir` later: it is a
/// writable directory, or it does not exist yet and its nearest existing ancestor is a writable
/// directory (it will be created when the first file is written).
///
/// The error reads `cannot write <dir>: <reason>`.
pub fn check_output_dir(dir: &Path) -> Result<(), PathError> {
    let fail = |kind: io::ErrorKind, reason: String| {
        Err(PathError::new("write", dir, io::Error::new(kind, reason)))
    };
    if dir.as_os_str().is_empty() || dir.as_os_str().as_bytes().contains(&0) {
        return fail(io::ErrorKind::InvalidInput, "not a usable path".into());
    }
    let mut at = dir;
    loop {
        match std::fs::metadata(at) {
            Ok(m) if m.is_dir() => {
                return access(at, libc::W_OK | libc::X_OK).or_else(|e| {
                    fail(
                        e.kind(),
                        format!("directory {} is not writable: {e}", at.display()),
                    )
                })
            }
            Ok(_) => {
                return fail(
                    io::ErrorKind::NotADirectory,
                    format!("{} is not a directory", at.display()),
                )
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => match at.parent() {
                Some(p) if !p.as_os_str().is_empty() => at = p,
                _ => at = Path::new("."),
            },
            Err(e) => return fail(e.kind(), format!("{}: {e}", at.display())),
        }
    }
}

/// Writes `data` as the whole content of the file `path`, atomically.
///
/// The data goes to a new file with a unique name (`.<name>.<random>.tmp`) in the same
/// directory, created with `O_CREAT | O_EXCL` and mode 0666 less the umask, is synced to disk,
/// and the file is renamed over `path`. Nothing at a predictable name is opened, so a planted
/// symlink is never followed; a symlink at `path` itself is replaced, not written through. An
/// existing device or FIFO at `path` (`/dev/stdout`) cannot be replaced and is written in place.
/// The directory must exist. On failure nothing is left behind and `path` is unchanged.
pub fn write_atomic(path: &Path, data: &[u8]) -> Result<(), PathError> {
    let err = |e: io::Error| PathError::new("write", path, e);
    match std::fs::metadata(path) {
        Ok(m) if m.is_dir() => {
            return Err(err(io::Error::new(
                io::ErrorKind::IsADirectory,
                "it is a directory",
            )))
        }
        Ok(m) if !m.is_file() => {
            let mut f = OpenOptions::new().write(true).open(path).map_err(err)?;
            return f.write_all(data).and_then(|()| f.flush()).map_err(err);
        }
        _ => {}
    }
    let name = path
        .file_name()
        .ok_or_else(|| err(io::Error::new(io::ErrorKind::InvalidInput, "no file name")))?;
    // A short prefix keeps the temporary name within NAME_MAX for long destination names.
    let mut prefix = OsString::from(".");
    prefix.push(std::ffi::OsStr::from_bytes(
        &name.as_bytes()[..name.len().min(64)],
    ));
    prefix.push(".");
    let dir = parent_dir(path);
    let mut tmp = tempfile::Builder::new()
        .prefix(&prefix)
        .suffix(".tmp")
        .permissions(Permissions::from_mode(0o666))
        .tempfile_in(dir)
        .map_err(|e| err(without_temp_path(e)))?;
    tmp.write_all(data).map_err(err)?;
    tmp.as_file().sync_all().map_err(err)?;
    tmp.persist(path).map_err(|e| err(e.error))?;
    // Make the rename itself durable (best effort: not every file system syncs directories).
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// A tempfile error without the temporary path tempfile appends (` at path "..."`): the
/// message names the path the user gave instead.
fn without_temp_path(e: io::Error) -> io::Error {
    let text = e.to_string();
    match text.rsplit_once(" at path ") {
        Some((reason, _)) => io::Error::new(e.kind(), reason.to_string()),
        None => e,
    }
}

/// A new private directory under the system's temporary directory, `pyz3-<what>-<random>`,
/// created with mode 0700 under a name no other process can have prepared; it is removed with
/// its contents when the returned value is dropped.
pub fn scratch_dir(what: &str) -> Result<tempfile::TempDir, PathError> {
    tempfile::Builder::new()
        .prefix(&format!("pyz3-{what}-"))
        .permissions(Permissions::from_mode(0o700))
        .tempdir()
        .map_err(|e| {
            PathError::new(
                "create a directory in",
                &std::env::temp_dir(),
                without_temp_path(e),
            )
        })
}

/// The longest text [`safe_file_name`] keeps as it is, in bytes.
const KEEP: usize = 64;

/// The longest [`safe_file_name`] result, in bytes: 64, `-` and a 16-digit hash.
pub const SAFE_NAME_MAX: usize = KEEP + 17;

/// A file-name component made from untrusted text (a function or module name), safe in any
/// directory: ASCII letters, digits and `_` only, at most [`SAFE_NAME_MAX`] bytes.
///
/// Text made only of those characters (and no longer than 64 bytes) is kept as it is. Any other
/// text has each other character replaced by `_`, is cut to 64 bytes, and gets `-` and 16 hex
/// digits of a hash of the original text appended, so two different texts never give the same
/// name (`-` appears only in changed names) and no name contains `/`, `..`, NUL or a line break.
pub fn safe_file_name(text: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || c == '_';
    if !text.is_empty() && text.len() <= KEEP && text.chars().all(plain) {
        return text.to_string();
    }
    let mut out: String = text
        .chars()
        .map(|c| if plain(c) { c } else { '_' })
        .take(KEEP)
        .collect();
    out.push_str(&format!("-{:016x}", fnv1a(text.as_bytes())));
    out
}

/// FNV-1a, 64 bits: a hash that stays the same across Rust versions and platforms, so a
/// reproducer keeps its file name from one run to the next.
fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// `std::fs::read_to_string`, with an error naming the path.
pub fn read_to_string(path: impl AsRef<Path>) -> Result<String, PathError> {
    let path = path.as_ref();
    std::fs::read_to_string(path).map_err(|e| PathError::new("read", path, e))
}

/// `std::fs::read`, with an error naming the path.
pub fn read(path: impl AsRef<Path>) -> Result<Vec<u8>, PathError> {
    let path = path.as_ref();
    std::fs::read(path).map_err(|e| PathError::new("read", path, e))
}

/// `std::fs::write`, with an error naming the path: for files in pyz3's own working
/// directories (scripts, plugins, lists it hands a tool), which nothing reads while they are
/// written. A file written for the user goes through [`write_atomic`].
pub fn write(path: impl AsRef<Path>, data: impl AsRef<[u8]>) -> Result<(), PathError> {
    let path = path.as_ref();
    std::fs::write(path, data).map_err(|e| PathError::new("write", path, e))
}

/// `std::fs::File::open`, with an error naming the path.
pub fn open(path: impl AsRef<Path>) -> Result<File, PathError> {
    let path = path.as_ref();
    File::open(path).map_err(|e| PathError::new("open", path, e))
}

/// `std::fs::File::create`, with an error naming the path (for logs pyz3 streams into its own
/// working directories).
pub fn create(path: impl AsRef<Path>) -> Result<File, PathError> {
    let path = path.as_ref();
    File::create(path).map_err(|e| PathError::new("create", path, e))
}

/// `std::fs::create_dir_all`, with an error naming the path.
pub fn create_dir_all(path: impl AsRef<Path>) -> Result<(), PathError> {
    let path = path.as_ref();
    std::fs::create_dir_all(path).map_err(|e| PathError::new("create", path, e))
}

/// `std::fs::read_dir`, with an error naming the directory (also for each entry).
pub fn read_dir(
    path: impl AsRef<Path>,
) -> Result<impl Iterator<Item = Result<std::fs::DirEntry, PathError>>, PathError> {
    let path = path.as_ref().to_path_buf();
    let entries = std::fs::read_dir(&path).map_err(|e| PathError::new("read", &path, e))?;
    Ok(entries.map(move |e| e.map_err(|e| PathError::new("read", &path, e))))
}

/// `std::fs::remove_file`, with an error naming the path.
pub fn remove_file(path: impl AsRef<Path>) -> Result<(), PathError> {
    let path = path.as_ref();
    std::fs::remove_file(path).map_err(|e| PathError::new("remove", path, e))
}

/// `std::fs::remove_dir_all`, with an error naming the path.
pub fn remove_dir_all(path: impl AsRef<Path>) -> Result<(), PathError> {
    let path = path.as_ref();
    std::fs::remove_dir_all(path).map_err(|e| PathError::new("remove", path, e))
}

/// `std::fs::copy`, with an error naming both paths.
pub fn copy(from: impl AsRef<Path>, to: impl AsRef<Path>) -> Result<u64, PathError> {
    let (from, to) = (from.as_ref(), to.as_ref());
    std::fs::copy(from, to).map_err(|e| PathError {
        to: Some(to.to_path_buf()),
        ..PathError::new("copy", from, e)
    })
}

/// `std::fs::rename`, with an error naming both paths.
pub fn rename(from: impl AsRef<Path>, to: impl AsRef<Path>) -> Result<(), PathError> {
    let (from, to) = (from.as_ref(), to.as_ref());
    std::fs::rename(from, to).map_err(|e| PathError {
        to: Some(to.to_path_buf()),
        ..PathError::new("move", from, e)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn safe_names_keep_plain_text_and_mark_the_rest() {
        assert_eq!(safe_file_name("crash_when_negative"), "crash_when_negative");
        for hostile in ["a/b", "..", "a\0b", "x'+y", "a\nb", "a-b", "", "ü"] {
            let n = safe_file_name(hostile);
            assert!(
                n.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-'),
                "{n}"
            );
            assert!(n.contains('-'), "{n}");
        }
        let long = "a".repeat(300);
        assert!(safe_file_name(&long).len() <= SAFE_NAME_MAX);
        assert_ne!(safe_file_name("a/b"), safe_file_name("a_b"));
        assert_ne!(safe_file_name("a/b"), safe_file_name("a.b"));
        assert_ne!(
            safe_file_name(&format!("{long}x")),
            safe_file_name(&format!("{long}y"))
        );
        // A plain name that looks like a changed one is itself changed.
        let changed = safe_file_name("a/b");
        assert_ne!(safe_file_name(&changed), changed);
    }

    #[test]
    fn atomic_writes_replace_symlinks_and_leave_nothing_behind() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        std::fs::write(&victim, "keep").unwrap();
        let out = dir.path().join("out.json");
        std::os::unix::fs::symlink(&victim, &out).unwrap();
        write_atomic(&out, b"new").unwrap();
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep");
        assert_eq!(std::fs::read_to_string(&out).unwrap(), "new");
        assert!(!std::fs::symlink_metadata(&out).unwrap().is_symlink());
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 2, "{names:?}");
        let e = write_atomic(&dir.path().join("missing/x"), b"").unwrap_err();
        assert!(e.to_string().contains("missing/x: "), "{e}");
        assert!(!e.to_string().contains("/.x."), "{e}");
        let e = write_atomic(dir.path(), b"").unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::IsADirectory);
    }

    #[test]
    fn io_errors_name_their_paths() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("x.json");
        let e = read_to_string(&missing).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!(
                "cannot read {}: No such file or directory (os error 2)",
                missing.display()
            )
        );
        assert_eq!(e.kind(), io::ErrorKind::NotFound);
        let e = read_dir(&missing).err().unwrap();
        assert!(
            e.to_string()
                .starts_with(&format!("cannot read {}: ", missing.display())),
            "{e}"
        );
        let e = copy(&missing, dir.path().join("y")).unwrap_err();
        assert!(
            e.to_string().starts_with(&format!(
                "cannot copy {} to {}: ",
                missing.display(),
                dir.path().join("y").display()
            )),
            "{e}"
        );
        let e = create_dir_all(missing.join("\0")).unwrap_err();
        assert!(e.to_string().starts_with("cannot create "), "{e}");
        write(&missing, "1").unwrap();
        assert_eq!(read(&missing).unwrap(), b"1");
        let e = create_dir_all(missing.join("sub")).unwrap_err();
        assert!(e.to_string().contains("x.json/sub: "), "{e}");
        // Through io::Error (what `?` makes of it in io::Result code) the path stays in the text.
        let io: io::Error = remove_file(dir.path().join("gone")).unwrap_err().into();
        assert!(io.to_string().contains("gone: "), "{io}");
    }

    #[test]
    fn output_paths_are_checked() {
        let dir = tempfile::tempdir().unwrap();
        assert!(check_output_path(&dir.path().join("x.json")).is_ok());
        let e = check_output_path(dir.path()).unwrap_err();
        assert!(e.to_string().ends_with("it is a directory"), "{e}");
        let e = check_output_path(&dir.path().join("no/x.json")).unwrap_err();
        assert!(e.to_string().contains("does not exist"), "{e}");
        std::fs::write(dir.path().join("f"), "").unwrap();
        let e = check_output_path(&dir.path().join("f/x.json")).unwrap_err();
        assert!(e.to_string().contains("is not a directory"), "{e}");
        assert!(check_output_path(Path::new("/dev/null")).is_ok());
    }

    #[test]
    fn scratch_dirs_are_private_and_removed() {
        let d = scratch_dir("test").unwrap();
        let path = d.path().to_path_buf();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700);
        assert!(path
            .file_name()
            .unwrap()
            .to_str()
            .unwrap()
            .starts_with("pyz3-test-"));
        drop(d);
        assert!(!path.exists());
    }
}
