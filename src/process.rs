//! Child processes pyz3 waits on, and what it cleans up when it is interrupted.
//!
//! For every part of pyz3 that runs another program. Each wait has a time limit:
//! [`output_within`] and [`status_within`] start the program in a process group of its own, tied
//! to pyz3 (`PR_SET_PDEATHSIG`), and when the limit runs out they kill the whole group (so what
//! the program forked dies too) and fail with an error of kind `TimedOut` that names the program.
//! The group is killed as well once the program has exited, before it is reaped, so nothing it
//! left running outlives the wait.
//!
//! [`install_signal_handlers`] makes `SIGINT` and `SIGTERM` clean up before pyz3 exits (130 and
//! 143): the process groups and processes registered here are killed, the temporary git
//! worktrees registered here are removed (`git worktree remove --force`), and so are the
//! registered scratch paths. The signal handler only writes the signal's number to a pipe; a
//! thread reads it and does the work, so nothing but `write` runs in signal context. A second
//! signal during the cleanup ends pyz3 at once.

use std::ffi::OsStr;
use std::io::Read;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long pyz3 waits for a program that should answer at once: a version query, `ldd`, `git`,
/// an interpreter's probe of its packages, `llvm-profdata`.
pub const TOOL_LIMIT: Duration = Duration::from_secs(60);

/// How long a build (cargo, setuptools, `cargo fuzz build`, `cargo bench`), a test suite, or a
/// tool working through a project's data (`llvm-profdata merge`, `llvm-cov export`, `gcov`,
/// `perf script`, `memray stats`) may take. A cold release build of a large crate on a small
/// machine legitimately takes tens of minutes; the limit is only there so that one stuck for
/// good does not hold pyz3 forever. Ctrl-C ends one sooner (see [`install_signal_handlers`]).
pub const BUILD_LIMIT: Duration = Duration::from_secs(3 * 3600);

/// The most of a program's stdout (and of its stderr) kept by [`output_within`]; the rest is
/// read and dropped, so a program that floods its output costs no memory.
pub const OUTPUT_CAP: usize = 64 << 20;

/// How often a running child is looked at.
const POLL: Duration = Duration::from_millis(5);

/// How long the pipes of an exited program may stay open (held by something it started in
/// another process group) before pyz3 stops reading them.
const PIPE_GRACE: Duration = Duration::from_secs(1);

mod reaper {
    //! The reaper: a small shell process, started with the first process group pyz3 registers,
    //! in a process group of its own and ignoring terminal signals. pyz3 writes `+PGID` and
    //! `-PGID` lines to its stdin as groups come and go; when that pipe closes (pyz3 exited, or
    //! was killed with `SIGKILL` and could not clean up), it kills every group still listed.
    //! `PR_SET_PDEATHSIG` reaches only a worker, not what the target forked from it; the reaper
    //! reaches the whole group. A group id is not reused while any process is in the group.

    use std::io::Write;
    use std::os::unix::process::CommandExt;
    use std::process::{ChildStdin, Command, Stdio};
    use std::sync::Mutex;

    /// The reaper's program: groups kept as " 12 34 " (padded, so one is removed exactly).
    const SCRIPT: &str = r#"trap '' INT TERM HUP QUIT
groups=" "
while IFS= read -r line; do
  g=${line#?}
  case $line in
    +*) groups="$groups$g " ;;
    -*) case $groups in *" $g "*) groups="${groups%% $g *} ${groups#* $g }" ;; esac ;;
  esac
done
for g in $groups; do kill -9 "-$g" 2>/dev/null; done
"#;

    /// The write end of the reaper's stdin; `None` before it starts, or if it could not.
    static REAPER: Mutex<Option<Option<ChildStdin>>> = Mutex::new(None);

    fn send(line: &str) {
        let mut r = REAPER.lock().unwrap_or_else(|e| e.into_inner());
        let stdin = r.get_or_insert_with(start);
        if let Some(pipe) = stdin {
            if pipe.write_all(line.as_bytes()).is_err() {
                // The reaper is gone (killed by someone): start no other; SIGINT/SIGTERM
                // cleanup and PR_SET_PDEATHSIG still hold.
                *stdin = None;
            }
        }
    }

    fn start() -> Option<ChildStdin> {
        let mut cmd = Command::new("/bin/sh");
        cmd.args(["-c", SCRIPT])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        // SAFETY: only async-signal-safe calls between fork and exec.
        unsafe {
            cmd.pre_exec(|| {
                libc::setpgid(0, 0);
                Ok(())
            });
        }
        // It is never waited for: it exits when pyz3's end of the pipe closes, then is reaped
        // by init (pyz3 has exited by then).
        #[allow(clippy::zombie_processes)]
        let child = cmd.spawn().ok()?;
        child.stdin
    }

    /// The reaper kills `pgid` if pyz3 dies before [`forget`]ting it.
    pub(super) fn watch(pgid: i32) {
        send(&format!("+{pgid}\n"));
    }

    /// `pgid` is gone (or no longer pyz3's to kill).
    pub(super) fn forget(pgid: i32) {
        send(&format!("-{pgid}\n"));
    }
}

// -- the cleanup registry -------------------------------------------------------------------

#[derive(Debug)]
enum Entry {
    /// A process group, killed with `SIGKILL`.
    Group(i32),
    /// A process in pyz3's own group (it may need the terminal), killed with `SIGKILL`.
    Process(i32),
    /// A temporary git worktree: the repository's root and the worktree's directory.
    Worktree(PathBuf, PathBuf),
    /// A scratch file or directory.
    Path(PathBuf),
}

static REGISTRY: Mutex<Vec<(u64, Entry)>> = Mutex::new(Vec::new());
static NEXT_ID: AtomicU64 = AtomicU64::new(1);
/// Set once a signal's cleanup has begun: what registers after it is cleaned up at once.
static TERMINATING: AtomicBool = AtomicBool::new(false);
/// The write end of the signal pipe (-1 before [`install_signal_handlers`]).
static SIGNAL_PIPE: AtomicI32 = AtomicI32::new(-1);

/// Something registered for cleanup on `SIGINT` / `SIGTERM`; dropping it unregisters it (it
/// does not clean anything up itself).
#[derive(Debug)]
#[must_use = "dropping the registration unregisters it at once"]
pub struct Registration(u64);

impl Drop for Registration {
    fn drop(&mut self) {
        let mut r = REGISTRY.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((_, Entry::Group(pgid))) = r.iter().find(|(id, _)| *id == self.0) {
            reaper::forget(*pgid);
        }
        r.retain(|(id, _)| *id != self.0);
    }
}

thread_local! {
    /// Set on the thread that cleans up after a signal: what it runs itself (`git worktree
    /// remove`) must not be killed as it registers.
    static CLEANING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

fn register(entry: Entry) -> Registration {
    if TERMINATING.load(Ordering::SeqCst) && !CLEANING.with(|c| c.get()) {
        // The cleanup has already run (or is running): this one is cleaned up now.
        clean(&entry);
    }
    let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    REGISTRY
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push((id, entry));
    Registration(id)
}

/// Registers the process group `pgid` to be killed on `SIGINT` / `SIGTERM`, and by the reaper
/// if pyz3 dies without cleaning up (`SIGKILL`).
pub fn register_group(pgid: u32) -> Registration {
    reaper::watch(pgid as i32);
    register(Entry::Group(pgid as i32))
}

/// Registers a process in pyz3's own process group to be killed on `SIGINT` / `SIGTERM`.
pub fn register_process(pid: u32) -> Registration {
    register(Entry::Process(pid as i32))
}

/// Registers a temporary git worktree of the repository at `root` to be removed on `SIGINT` /
/// `SIGTERM`.
pub fn register_worktree(root: &Path, dir: &Path) -> Registration {
    register(Entry::Worktree(root.to_path_buf(), dir.to_path_buf()))
}

/// Registers a scratch file or directory to be removed on `SIGINT` / `SIGTERM`.
pub fn register_path(path: &Path) -> Registration {
    register(Entry::Path(path.to_path_buf()))
}

fn clean(entry: &Entry) {
    match entry {
        // SAFETY: plain signals to processes pyz3 started.
        Entry::Group(pgid) => unsafe {
            libc::kill(-*pgid, libc::SIGKILL);
        },
        // SAFETY: as above.
        Entry::Process(pid) => unsafe {
            libc::kill(*pid, libc::SIGKILL);
        },
        Entry::Worktree(root, dir) => remove_worktree(root, dir),
        Entry::Path(path) => {
            if path.is_dir() {
                let _ = std::fs::remove_dir_all(path);
            } else {
                let _ = std::fs::remove_file(path);
            }
        }
    }
}

/// Removes a detached worktree: from git's list, from the disk, and stale entries with it.
pub fn remove_worktree(root: &Path, dir: &Path) {
    let git = |args: &[&OsStr]| {
        let mut cmd = Command::new("git");
        cmd.args(args)
            .current_dir(root)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let _ = status_within(&mut cmd, TOOL_LIMIT);
    };
    git(&[
        "worktree".as_ref(),
        "remove".as_ref(),
        "--force".as_ref(),
        dir.as_os_str(),
    ]);
    let _ = std::fs::remove_dir_all(dir);
    git(&["worktree".as_ref(), "prune".as_ref()]);
}

extern "C" fn on_signal(sig: libc::c_int) {
    let fd = SIGNAL_PIPE.load(Ordering::Relaxed);
    if TERMINATING.load(Ordering::Relaxed) {
        // A second signal while cleaning up: end now.
        // SAFETY: `_exit` is async-signal-safe.
        unsafe { libc::_exit(128 + sig) };
    }
    let byte = sig as u8;
    // SAFETY: `write` is async-signal-safe; the pipe outlives the process.
    unsafe {
        libc::write(fd, (&byte as *const u8).cast(), 1);
    }
}

/// Makes `SIGINT` and `SIGTERM` kill the registered processes and remove the registered
/// worktrees and paths, then exit with 128 + the signal's number (130, 143). Call once, early.
pub fn install_signal_handlers() -> std::io::Result<()> {
    let mut fds = [0; 2];
    // SAFETY: creates a pipe into `fds`.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: both fds were just created and are owned here.
    let (read_end, write_end) =
        unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    SIGNAL_PIPE.store(write_end.as_raw_fd(), Ordering::SeqCst);
    // The write end lives as long as the process.
    std::mem::forget(write_end);
    std::thread::Builder::new()
        .name("pyz3-signals".into())
        .spawn(move || {
            let mut pipe = std::fs::File::from(read_end);
            let mut byte = [0u8; 1];
            if pipe.read_exact(&mut byte).is_ok() {
                CLEANING.with(|c| c.set(true));
                TERMINATING.store(true, Ordering::SeqCst);
                clean_up();
                std::process::exit(128 + i32::from(byte[0]));
            }
        })?;
    for sig in [libc::SIGINT, libc::SIGTERM] {
        // SAFETY: installs a handler that only reads atomics and calls write/_exit.
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
            action.sa_flags = libc::SA_RESTART;
            libc::sigemptyset(&mut action.sa_mask);
            if libc::sigaction(sig, &action, std::ptr::null_mut()) != 0 {
                return Err(std::io::Error::last_os_error());
            }
        }
    }
    Ok(())
}

/// When a signal's cleanup has begun, blocks for good: the cleanup thread ends the process with
/// the signal's exit status. Call before reporting an error or exiting, since a failure seen
/// then is the interrupt's doing (a build that was killed), not one to report.
pub fn wait_if_interrupted() {
    if TERMINATING.load(Ordering::SeqCst) && !CLEANING.with(|c| c.get()) {
        loop {
            std::thread::park();
        }
    }
}

/// Kills every registered process group and process, then removes every registered worktree
/// and path (processes first: they may be using the files).
fn clean_up() {
    let entries: Vec<Entry> =
        std::mem::take(&mut *REGISTRY.lock().unwrap_or_else(|e| e.into_inner()))
            .into_iter()
            .map(|(_, e)| e)
            .collect();
    for e in entries
        .iter()
        .filter(|e| matches!(e, Entry::Group(_) | Entry::Process(_)))
    {
        clean(e);
    }
    for e in entries
        .iter()
        .filter(|e| matches!(e, Entry::Worktree(..) | Entry::Path(_)))
    {
        clean(e);
    }
}

// -- waiting with a limit -------------------------------------------------------------------

/// A child started in a process group of its own, registered for cleanup; its group is killed
/// when this is dropped.
pub struct GroupChild {
    /// The child (its pid is its process group's id).
    pub child: Child,
    reaped: bool,
    _registration: Registration,
}

impl GroupChild {
    /// Starts `cmd` in a process group of its own that dies with pyz3.
    pub fn spawn(cmd: &mut Command) -> std::io::Result<GroupChild> {
        // SAFETY: only async-signal-safe calls between fork and exec.
        unsafe {
            cmd.pre_exec(|| {
                libc::setpgid(0, 0);
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        let child = cmd.spawn()?;
        let registration = register_group(child.id());
        Ok(GroupChild {
            child,
            reaped: false,
            _registration: registration,
        })
    }

    /// Kills the child's whole process group (idempotent; nothing once reaped).
    pub fn kill_group(&self) {
        if self.reaped {
            return;
        }
        if let Ok(pid) = i32::try_from(self.child.id()) {
            // SAFETY: signals the child's own process group (it called setpgid(0, 0)).
            unsafe {
                libc::kill(-pid, libc::SIGKILL);
            }
        }
    }

    /// Whether the child has exited; it is not reaped, so its pid (and group id) cannot be
    /// taken by another process yet.
    pub fn exited(&self) -> std::io::Result<bool> {
        if self.reaped {
            return Ok(true);
        }
        // SAFETY: waitid on our own child, writing into a zeroed siginfo.
        unsafe {
            let mut info: libc::siginfo_t = std::mem::zeroed();
            let r = libc::waitid(
                libc::P_PID,
                self.child.id(),
                &mut info,
                libc::WEXITED | libc::WNOHANG | libc::WNOWAIT,
            );
            if r != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(info.si_pid() != 0)
        }
    }

    /// Waits up to `limit` for the child to exit; then kills its group (whatever it left
    /// running) and reaps it. `None` when the time ran out (the group has been killed).
    pub fn wait_for(&mut self, limit: Duration) -> std::io::Result<Option<ExitStatus>> {
        let end = Instant::now() + limit;
        let mut pause = Duration::from_millis(1);
        while !self.exited()? {
            if Instant::now() >= end {
                self.finish()?;
                return Ok(None);
            }
            std::thread::sleep(pause);
            pause = (pause * 2).min(POLL);
        }
        self.finish().map(Some)
    }

    /// Kills the group and reaps the child.
    pub fn finish(&mut self) -> std::io::Result<ExitStatus> {
        self.kill_group();
        let status = self.child.wait()?;
        self.reaped = true;
        Ok(status)
    }
}

impl Drop for GroupChild {
    fn drop(&mut self) {
        if !self.reaped {
            let _ = self.finish();
        }
    }
}

/// The program's name, for messages.
fn program_name(cmd: &Command) -> String {
    Path::new(cmd.get_program())
        .file_name()
        .unwrap_or(cmd.get_program())
        .to_string_lossy()
        .into_owned()
}

fn timed_out(cmd: &Command, limit: Duration) -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::TimedOut,
        format!(
            "`{}` did not finish within {} and was stopped",
            crate::report::printable(&program_name(cmd)),
            seconds(limit)
        ),
    )
}

/// A duration for messages: `60 s`, `1.5 s`, `3 h`.
pub fn seconds(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s >= 3600.0 && d.as_secs() % 3600 == 0 {
        format!("{} h", d.as_secs() / 3600)
    } else if s.fract() == 0.0 {
        format!("{} s", d.as_secs())
    } else {
        format!("{s:.1} s")
    }
}

/// Reads `pipe` to its end on a thread, keeping the first `cap` bytes.
fn drain<R: Read + Send + 'static>(pipe: Option<R>, cap: usize) -> Drained {
    let buf = Arc::new(Mutex::new(Vec::new()));
    let done = Arc::new(AtomicBool::new(pipe.is_none()));
    if let Some(mut pipe) = pipe {
        let (buf, done) = (buf.clone(), done.clone());
        std::thread::spawn(move || {
            let mut chunk = [0u8; 8192];
            while let Ok(n) = pipe.read(&mut chunk) {
                if n == 0 {
                    break;
                }
                let mut b = buf.lock().unwrap_or_else(|e| e.into_inner());
                let room = cap.saturating_sub(b.len()).min(n);
                b.extend_from_slice(&chunk[..room]);
            }
            done.store(true, Ordering::SeqCst);
        });
    }
    Drained { buf, done }
}

struct Drained {
    buf: Arc<Mutex<Vec<u8>>>,
    done: Arc<AtomicBool>,
}

impl Drained {
    /// What was read, after waiting up to `grace` for the end of the pipe.
    fn take(self, grace: Duration) -> Vec<u8> {
        let end = Instant::now() + grace;
        while !self.done.load(Ordering::SeqCst) && Instant::now() < end {
            std::thread::sleep(Duration::from_millis(2));
        }
        std::mem::take(&mut *self.buf.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

/// Runs `cmd` (stdout and stderr captured, each up to [`OUTPUT_CAP`]) for at most `limit`, in
/// a process group of its own. When the time runs out the group is killed and the error (kind
/// `TimedOut`) names the program and the limit.
pub fn output_within(cmd: &mut Command, limit: Duration) -> std::io::Result<Output> {
    match output_or_partial(cmd, limit)? {
        (Some(status), stdout, stderr) => Ok(Output {
            status,
            stdout,
            stderr,
        }),
        (None, ..) => Err(timed_out(cmd, limit)),
    }
}

/// Like [`output_within`], but a run that outlives `limit` gives what it wrote before it was
/// stopped, with no status.
pub fn output_or_partial(
    cmd: &mut Command,
    limit: Duration,
) -> std::io::Result<(Option<ExitStatus>, Vec<u8>, Vec<u8>)> {
    let end = Instant::now() + limit;
    let w = output_watched(cmd, || (Instant::now() >= end).then_some(()))?;
    Ok((w.status, w.stdout, w.stderr))
}

/// What [`output_watched`] gave.
#[derive(Debug)]
pub struct Watched<T> {
    /// How the program ended; `None` when it was stopped.
    pub status: Option<ExitStatus>,
    /// Its stdout (up to [`OUTPUT_CAP`]).
    pub stdout: Vec<u8>,
    /// Its stderr (up to [`OUTPUT_CAP`]).
    pub stderr: Vec<u8>,
    /// Why it was stopped: what `stop` returned.
    pub stopped: Option<T>,
}

/// Runs `cmd` (stdout and stderr captured) in a process group of its own, asking `stop` every
/// few milliseconds whether to stop it: when `stop` returns a reason, the group is killed and
/// the reason is returned with what the program wrote. The caller's `stop` is its time limit.
pub fn output_watched<T>(
    cmd: &mut Command,
    mut stop: impl FnMut() -> Option<T>,
) -> std::io::Result<Watched<T>> {
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = GroupChild::spawn(cmd)?;
    let out = drain(child.child.stdout.take(), OUTPUT_CAP);
    let err = drain(child.child.stderr.take(), OUTPUT_CAP);
    let mut pause = Duration::from_millis(1);
    let mut stopped = None;
    while !child.exited()? {
        if let Some(why) = stop() {
            stopped = Some(why);
            break;
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(POLL);
    }
    let status = child.finish()?;
    Ok(Watched {
        status: stopped.is_none().then_some(status),
        stdout: out.take(PIPE_GRACE),
        stderr: err.take(PIPE_GRACE),
        stopped,
    })
}

/// Runs `cmd` with the streams it was given for at most `limit`, in a process group of its
/// own; the error when the time runs out is as for [`output_within`].
pub fn status_within(cmd: &mut Command, limit: Duration) -> std::io::Result<ExitStatus> {
    let mut child = GroupChild::spawn(cmd)?;
    match child.wait_for(limit)? {
        Some(status) => Ok(status),
        None => Err(timed_out(cmd, limit)),
    }
}

// -- a page shared with a child --------------------------------------------------------------

/// One 4096-byte page of memory shared with a child process (`memfd_create` and `mmap`): the
/// child marks what it is doing there without a system call, and pyz3 reads it while it waits.
/// Reads are volatile and the page has no lock: a reader compares two reads.
pub struct SharedPage {
    fd: OwnedFd,
    ptr: *mut u8,
}

// SAFETY: plain shared memory read with volatile loads; no Rust owner on the other side.
unsafe impl Send for SharedPage {}

impl SharedPage {
    /// The size of the page.
    pub const SIZE: usize = 4096;

    /// A fresh zeroed page.
    pub fn new(name: &std::ffi::CStr) -> std::io::Result<SharedPage> {
        // SAFETY: plain system calls; every result is checked before use.
        unsafe {
            let fd = libc::memfd_create(name.as_ptr(), libc::MFD_CLOEXEC);
            if fd < 0 {
                return Err(std::io::Error::last_os_error());
            }
            let fd = OwnedFd::from_raw_fd(fd);
            if libc::ftruncate(fd.as_raw_fd(), Self::SIZE as libc::off_t) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            let ptr = libc::mmap(
                std::ptr::null_mut(),
                Self::SIZE,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                fd.as_raw_fd(),
                0,
            );
            if ptr == libc::MAP_FAILED {
                return Err(std::io::Error::last_os_error());
            }
            Ok(SharedPage {
                fd,
                ptr: ptr.cast(),
            })
        }
    }

    /// Gives the child started by `cmd` the page as file descriptor `target` (not closed on
    /// exec; the child maps it and should close it).
    pub fn pass_to(&self, cmd: &mut Command, target: i32) {
        let fd = self.fd.as_raw_fd();
        // SAFETY: only async-signal-safe calls between fork and exec.
        unsafe {
            cmd.pre_exec(move || {
                // dup2 onto itself would keep close-on-exec: clear it instead.
                let ok = if fd == target {
                    libc::fcntl(fd, libc::F_SETFD, 0) == 0
                } else {
                    libc::dup2(fd, target) >= 0
                };
                if ok {
                    Ok(())
                } else {
                    Err(std::io::Error::last_os_error())
                }
            });
        }
    }

    /// The `i`-th little-endian 64-bit word.
    pub fn word(&self, i: usize) -> u64 {
        assert!(i < Self::SIZE / 8);
        // SAFETY: in bounds of the mapping, which lives as long as `self`; aligned (the page is).
        unsafe { std::ptr::read_volatile(self.ptr.cast::<u64>().add(i)) }
    }

    /// A copy of the bytes `start..start + len` (cut at the page's end).
    pub fn bytes(&self, start: usize, len: usize) -> Vec<u8> {
        let end = start.saturating_add(len).min(Self::SIZE);
        (start.min(end)..end)
            // SAFETY: in bounds of the mapping.
            .map(|i| unsafe { std::ptr::read_volatile(self.ptr.add(i)) })
            .collect()
    }
}

impl Drop for SharedPage {
    fn drop(&mut self) {
        // SAFETY: unmaps the mapping made in `new`.
        unsafe {
            libc::munmap(self.ptr.cast(), Self::SIZE);
        }
    }
}

/// CLOCK_MONOTONIC in ns, the clock of Python's `time.monotonic_ns`.
pub fn monotonic_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: writes into the local timespec.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// [`output_within`] and [`status_within`] as methods of [`Command`].
pub trait Within {
    /// [`output_within`].
    fn output_within(&mut self, limit: Duration) -> std::io::Result<Output>;
    /// [`status_within`].
    fn status_within(&mut self, limit: Duration) -> std::io::Result<ExitStatus>;
}

impl Within for Command {
    fn output_within(&mut self, limit: Duration) -> std::io::Result<Output> {
        output_within(self, limit)
    }

    fn status_within(&mut self, limit: Duration) -> std::io::Result<ExitStatus> {
        status_within(self, limit)
    }
}

/// Waits up to `limit` for a child that stays in pyz3's own process group (a program that may
/// need the terminal, or that Ctrl-C must reach directly: a test suite, a profiled program).
/// It is registered for cleanup while waited on; when the time runs out it is killed, and the
/// error is as for [`output_within`].
pub fn wait_foreground(child: &mut Child, limit: Duration) -> std::io::Result<ExitStatus> {
    let _cleanup = register_process(child.id());
    let end = Instant::now() + limit;
    let mut pause = Duration::from_millis(1);
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(status);
        }
        if Instant::now() >= end {
            let _ = child.kill();
            let _ = child.wait();
            return Err(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                format!(
                    "a program did not finish within {} and was stopped",
                    seconds(limit)
                ),
            ));
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(POLL);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_program_past_its_limit_is_stopped_with_what_it_started() {
        let dir = tempfile::tempdir().unwrap();
        let pid_file = dir.path().join("pid");
        // The shell starts a sleeper in the background (same group), writes its pid, then hangs.
        let script = format!(
            "sleep 300 & echo $! > {}; echo started; sleep 300",
            pid_file.display()
        );
        let start = Instant::now();
        let e = output_within(
            Command::new("sh").args(["-c", &script]),
            Duration::from_millis(500),
        )
        .unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::TimedOut);
        assert!(
            e.to_string().contains("`sh` did not finish within 0.5 s"),
            "{e}"
        );
        assert!(start.elapsed() < Duration::from_secs(5));
        let pid: i32 = std::fs::read_to_string(&pid_file)
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        std::thread::sleep(Duration::from_millis(100));
        // SAFETY: signal 0 only asks whether the process exists.
        let gone = unsafe { libc::kill(pid, 0) } != 0
            || std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
                s.rsplit(')')
                    .next()
                    .is_some_and(|r| r.trim_start().starts_with('Z'))
            });
        assert!(gone, "the background sleeper {pid} survived");
    }

    #[test]
    fn a_program_that_exits_leaves_nothing_running_and_its_output_is_kept() {
        let start = Instant::now();
        // The background sleeper holds stdout open: the wait must not last as long as it.
        let out = output_within(
            Command::new("sh").args(["-c", "sleep 300 & echo done"]),
            Duration::from_secs(30),
        )
        .unwrap();
        assert!(out.status.success());
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "done");
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "{:?}",
            start.elapsed()
        );
    }

    #[test]
    fn durations_read_well() {
        assert_eq!(seconds(Duration::from_secs(60)), "60 s");
        assert_eq!(seconds(Duration::from_millis(1500)), "1.5 s");
        assert_eq!(seconds(Duration::from_secs(3 * 3600)), "3 h");
    }
}
