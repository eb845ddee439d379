//! Worker processes as seen from the runner: start, talk, watch, notice death, kill.
//!
//! For [`super::runner`] and discovery. A worker is the interpreter under test running
//! `worker.py` (with the comparison and discovery helpers), started with `PYTHONMALLOC=malloc` on
//! GIL builds (so the memory check sees Python allocations through glibc, which fills freed
//! memory: `GLIBC_TUNABLES`, see [`MALLOC_PERTURB`]), `PYTHONFAULTHANDLER=1`
//! (a crash prints the Python stack) and a fixed `PYTHONHASHSEED`. It runs in its own process
//! group (a target that signals its group reaches only itself), dies with the runner
//! (`PR_SET_PDEATHSIG`), and shares one page with the runner where it marks each call: the case,
//! the start time and whose code runs. The runner reads that page to stop a call that outlives
//! its limit (even one that holds the GIL forever) and to know which case, and whose code, was
//! running when the process died. Replies are read on a thread and handed over through a
//! channel so every wait has a deadline; stderr is kept (its tail) to explain crashes.

use std::io::{BufRead, BufReader, Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::protocol::{Reply, Request};

const STDERR_TAIL: usize = 16 * 1024;
/// The fd the watch page has in the worker.
const WATCH_FD: i32 = 3;
/// How often a running call is looked at.
const TICK: Duration = Duration::from_millis(10);

/// The worker program: comparison and discovery helpers, the costly checks, then the calls and
/// the request loop.
fn program() -> String {
    format!(
        "{}\n{}\n{}\n{}",
        include_str!("helpers.py"),
        include_str!("checks.py"),
        include_str!("threads.py"),
        include_str!("worker.py")
    )
}

/// Whose code a worker was running, from its watch page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Between calls (pyz3's worker loop, unpickling arguments).
    Idle,
    /// The function under test.
    Call,
    /// The oracle.
    Oracle,
    /// The property expression.
    Property,
    /// pyz3's own work on a call's result (comparison, rendering).
    Pyz3,
    /// A round of calls from several threads at once (`--threads`); the mark's index is the
    /// round.
    Threads,
}

impl Phase {
    /// How long code in this phase may run before it counts as hung, given the function's
    /// per-call limit; `None` when idle. The one place these limits are decided.
    pub fn limit(self, call: Duration) -> Option<Duration> {
        match self {
            Phase::Call => Some(call),
            // The oracle and the property: slow reference code is not the function's timeout.
            Phase::Oracle | Phase::Property => Some((call * 10).max(Duration::from_secs(10))),
            // pyz3's own work on a result (comparisons, reprs, and the gc passes of the costly
            // checks, slow on a loaded machine): it costs this once per function.
            Phase::Pyz3 => Some((call * 2).max(Duration::from_secs(3))),
            // A round is a few calls per thread, sized to take milliseconds.
            Phase::Threads => Some((call * 5).max(Duration::from_secs(2))),
            Phase::Idle => None,
        }
    }

    fn from_code(code: u64) -> Phase {
        match code {
            1 => Phase::Call,
            2 => Phase::Oracle,
            3 => Phase::Property,
            4 => Phase::Pyz3,
            5 => Phase::Threads,
            _ => Phase::Idle,
        }
    }
}

/// What a worker's watch page says: the case it is on and what it is running.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mark {
    /// The case index (`u64::MAX` for an explicit case).
    pub index: u64,
    /// What was running.
    pub phase: Phase,
    /// How long it had been running (zero when idle).
    pub running: Duration,
    /// When it started (CLOCK_MONOTONIC ns; 0 when idle): two reads with the same start saw
    /// the same call.
    pub started_ns: u64,
}

/// What waiting for a reply gave.
#[derive(Debug)]
pub enum Event {
    /// A reply.
    Reply(Reply),
    /// The worker is gone: how it ended, the tail of its stderr, and what it was doing.
    Exited {
        /// "killed by signal 11 (SIGSEGV)", "exited with status 1", ...
        how: String,
        /// Last lines it wrote to stderr.
        stderr: String,
        /// Its last mark, when it had made one.
        mark: Option<Mark>,
    },
    /// A call outlived its limit; the worker has been killed.
    Hung(Mark),
    /// No reply before the deadline (the worker has been killed).
    Silent,
    /// A line that is not a reply (the worker has been killed: its stream cannot be trusted).
    Garbled(String),
}

/// The page a worker marks its calls in, mapped on both sides.
struct WatchPage {
    fd: OwnedFd,
    ptr: *mut u64,
}

// SAFETY: the page is plain shared memory read with volatile loads; it has no Rust owner on the
// other side of any thread.
unsafe impl Send for WatchPage {}

impl WatchPage {
    fn new() -> std::io::Result<WatchPage> {
        // SAFETY: plain system calls; every result is checked before use.
        unsafe {
            let fd = libc::memfd_create(c"pyz3-watch".as_ptr(), libc::MFD_CLOEXEC);
            if fd < 0 {
                return Err(std::io::Error::last_os_error());
            }
            let fd = OwnedFd::from_raw_fd(fd);
            if libc::ftruncate(fd.as_raw_fd(), 4096) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            let ptr = libc::mmap(
                std::ptr::null_mut(),
                4096,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                fd.as_raw_fd(),
                0,
            );
            if ptr == libc::MAP_FAILED {
                return Err(std::io::Error::last_os_error());
            }
            Ok(WatchPage {
                fd,
                ptr: ptr.cast(),
            })
        }
    }

    fn read(&self) -> Option<Mark> {
        // SAFETY: the mapping is 4096 bytes and lives as long as `self`.
        let (index, start, phase) = unsafe {
            (
                std::ptr::read_volatile(self.ptr),
                std::ptr::read_volatile(self.ptr.add(1)),
                std::ptr::read_volatile(self.ptr.add(2)),
            )
        };
        if index == 0 && start == 0 && phase == 0 {
            return None;
        }
        let running = if start == 0 {
            Duration::ZERO
        } else {
            Duration::from_nanos(monotonic_ns().saturating_sub(start))
        };
        Some(Mark {
            index,
            phase: Phase::from_code(phase),
            running,
            started_ns: start,
        })
    }
}

impl Drop for WatchPage {
    fn drop(&mut self) {
        // SAFETY: unmaps the mapping made in `new`.
        unsafe {
            libc::munmap(self.ptr.cast(), 4096);
        }
    }
}

/// CLOCK_MONOTONIC in ns, the clock of Python's `time.monotonic_ns`.
fn monotonic_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: writes into the local timespec.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// A running worker process.
pub struct Worker {
    child: Child,
    /// Frames for the writer thread (so a worker that stops reading never blocks the runner).
    stdin: Option<Sender<Vec<u8>>>,
    replies: Receiver<String>,
    stderr: Arc<Mutex<Vec<u8>>>,
    watch: WatchPage,
    /// Longest a call of the function under test may run.
    call_limit: Duration,
    /// Reaped: its pid (and group id) may belong to another process now.
    reaped: bool,
    /// The writer thread could not write: the worker is gone.
    broken: Arc<AtomicBool>,
    /// Its process group, killed if pyz3 is interrupted (until it is reaped).
    cleanup: Option<crate::process::Registration>,
}

/// Appends one frame (length, `tag`, `body`) to `buf`; false when the body is too long for one.
pub fn push_frame(buf: &mut Vec<u8>, tag: u8, body: &[u8]) -> bool {
    let Ok(len) = u32::try_from(body.len() + 1) else {
        return false;
    };
    buf.extend_from_slice(&len.to_le_bytes());
    buf.push(tag);
    buf.extend_from_slice(body);
    true
}

/// A pickle (protocol 5) of a list of byte strings: a batch's cases in one frame, which the worker
/// unpickles with one call instead of reading a frame per case.
pub fn bytes_list_pickle(items: &[Vec<u8>]) -> Vec<u8> {
    let size: usize = items.iter().map(|i| i.len() + 9).sum();
    let mut out = Vec::with_capacity(size + 16);
    out.extend_from_slice(&[0x80, 5, b']']); // PROTO 5, EMPTY_LIST
    for chunk in items.chunks(1000) {
        out.push(b'('); // MARK
        for item in chunk {
            match u8::try_from(item.len()) {
                Ok(n) => out.extend_from_slice(&[b'C', n]), // SHORT_BINBYTES
                Err(_) => {
                    out.push(b'B'); // BINBYTES
                    out.extend_from_slice(&(item.len() as u32).to_le_bytes());
                }
            }
            out.extend_from_slice(item);
        }
        out.push(b'e'); // APPENDS
    }
    out.push(b'.'); // STOP
    out
}

/// Writes frames to the worker as they come, flushing when none is waiting; stops when the
/// worker is gone or the runner drops its end.
fn write_frames(stdin: ChildStdin, frames: Receiver<Vec<u8>>, broken: &AtomicBool) {
    let mut out = std::io::BufWriter::with_capacity(1 << 16, stdin);
    while let Ok(frame) = frames.recv() {
        let mut ok = out.write_all(&frame).is_ok();
        while ok {
            match frames.try_recv() {
                Ok(more) => ok = out.write_all(&more).is_ok(),
                Err(_) => break,
            }
        }
        if !ok || out.flush().is_err() {
            broken.store(true, Ordering::Relaxed);
            return;
        }
    }
}

/// The name of a signal number, for messages.
pub fn signal_name(sig: i32) -> &'static str {
    match sig {
        4 => "SIGILL",
        5 => "SIGTRAP",
        6 => "SIGABRT",
        7 => "SIGBUS",
        8 => "SIGFPE",
        9 => "SIGKILL",
        11 => "SIGSEGV",
        13 => "SIGPIPE",
        15 => "SIGTERM",
        31 => "SIGSYS",
        _ => "signal",
    }
}

/// glibc's tunables that fill freed and newly allocated memory with a byte, with no per-thread
/// cache (whose frees skip the filling), set for workers that use the system allocator (and by
/// reproducers of findings with hostile values).
pub const MALLOC_PERTURB: &str = "glibc.malloc.perturb=221:glibc.malloc.tcache_count=0";

/// How a worker is started.
#[derive(Clone, Debug)]
pub struct Spawn<'a> {
    /// The interpreter under test.
    pub python: &'a Path,
    /// Whether it is a free-threaded build (`PYTHONMALLOC=malloc` is then left alone: those
    /// builds need their own allocator).
    pub free_threaded: bool,
    /// Longest a call of the function under test may run before the worker is stopped.
    pub call_limit: Duration,
    /// Variables for the worker's environment (the interpreter's [`Interpreter::env`]).
    ///
    /// [`Interpreter::env`]: crate::project::Interpreter::env
    pub env: &'a [(String, String)],
}

impl Worker {
    /// Starts the worker program in `spawn.python`.
    pub fn spawn(spawn: &Spawn<'_>) -> std::io::Result<Worker> {
        let watch = WatchPage::new()?;
        let mut cmd = Command::new(spawn.python);
        cmd.envs(spawn.env.iter().map(|(k, v)| (k, v)))
            .arg("-c")
            .arg(program())
            .env("PYTHONFAULTHANDLER", "1")
            .env("PYTHONHASHSEED", "0")
            .env("PYZ3_WATCH_FD", WATCH_FD.to_string())
            .env_remove("PYTHONSTARTUP")
            .env_remove("PYTHONINSPECT")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if spawn.free_threaded {
            cmd.env_remove("PYTHONMALLOC");
        } else {
            cmd.env("PYTHONMALLOC", "malloc");
            // glibc fills what is freed (and what is allocated) with a byte: an object used
            // after it was freed (a borrowed item a hostile value dropped) then has a garbage
            // type and crashes at once, instead of working on stale memory.
            if std::env::var_os("GLIBC_TUNABLES").is_none() {
                cmd.env("GLIBC_TUNABLES", MALLOC_PERTURB);
            }
        }
        let page_fd = watch.fd.as_raw_fd();
        // SAFETY: only async-signal-safe calls between fork and exec.
        unsafe {
            cmd.pre_exec(move || {
                // dup2 onto itself would keep close-on-exec: clear it instead.
                let ok = if page_fd == WATCH_FD {
                    libc::fcntl(page_fd, libc::F_SETFD, 0) == 0
                } else {
                    libc::dup2(page_fd, WATCH_FD) >= 0
                };
                if !ok {
                    return Err(std::io::Error::last_os_error());
                }
                // Its own process group: a target that signals its group reaches only itself.
                libc::setpgid(0, 0);
                // Gone with the runner, however the runner ends.
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        let mut child = cmd.spawn()?;
        let cleanup = Some(crate::process::register_group(child.id()));
        let stdout = child.stdout.take().expect("piped");
        let mut stderr_pipe = child.stderr.take().expect("piped");
        let (tx, rx) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                // Blank lines carry nothing; they are not replies.
                if line.trim().is_empty() {
                    continue;
                }
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let sink = stderr.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = stderr_pipe.read(&mut buf) {
                if n == 0 {
                    break;
                }
                let mut s = sink.lock().unwrap_or_else(|e| e.into_inner());
                s.extend_from_slice(&buf[..n]);
                if s.len() > STDERR_TAIL * 2 {
                    let cut = s.len() - STDERR_TAIL;
                    s.drain(..cut);
                }
            }
        });
        let (to_worker, frames) = channel::<Vec<u8>>();
        let stdin = child.stdin.take().expect("piped");
        let broken = Arc::new(AtomicBool::new(false));
        let flag = broken.clone();
        std::thread::spawn(move || write_frames(stdin, frames, &flag));
        Ok(Worker {
            stdin: Some(to_worker),
            broken,
            child,
            replies: rx,
            stderr,
            watch,
            call_limit: spawn.call_limit,
            reaped: false,
            cleanup,
        })
    }

    fn frame(&mut self, tag: u8, body: &[u8]) -> bool {
        let mut frame = Vec::with_capacity(body.len() + 5);
        push_frame(&mut frame, tag, body) && self.send_frames(frame)
    }

    /// Sends frames already laid out by [`push_frame`] (many cases in one buffer are much
    /// cheaper than one send each); false if the worker is known to be gone.
    pub fn send_frames(&mut self, frames: Vec<u8>) -> bool {
        let Some(stdin) = self.stdin.as_ref() else {
            return false;
        };
        stdin.send(frames).is_ok() && !self.broken.load(Ordering::Relaxed)
    }

    /// Sends a request; false if the worker is known to be gone. Never blocks: frames are
    /// written by a thread of their own.
    pub fn send(&mut self, request: &Request) -> bool {
        let body = serde_json::to_vec(request).expect("requests serialize");
        self.frame(b'J', &body)
    }

    /// Sends one case's pickled argument tuple (after a `batch`, `explicit` or `load`
    /// request); false if the worker is known to be gone.
    pub fn send_case(&mut self, pickle: &[u8]) -> bool {
        self.frame(b'P', pickle)
    }

    /// Whether the worker is still taking frames (they are flushed as they are written).
    pub fn flush(&mut self) -> bool {
        self.stdin.is_some() && !self.broken.load(Ordering::Relaxed)
    }

    /// Waits up to `deadline` for the next reply, stopping code that outlives its phase's limit
    /// ([`Phase::limit`]).
    pub fn recv(&mut self, deadline: Duration) -> Event {
        let end = Instant::now() + deadline;
        loop {
            let wait = end.saturating_duration_since(Instant::now()).min(TICK);
            match self.replies.recv_timeout(wait) {
                Ok(line) => {
                    return match serde_json::from_str::<Reply>(&line) {
                        Ok(reply) => Event::Reply(reply),
                        Err(e) => {
                            self.kill();
                            let mut shown: String = line.chars().take(200).collect();
                            if shown.len() < line.len() {
                                shown.push_str("...");
                            }
                            Event::Garbled(format!(
                                "unreadable reply from the worker ({e}): {shown}"
                            ))
                        }
                    }
                }
                Err(RecvTimeoutError::Disconnected) => return self.exited(),
                Err(RecvTimeoutError::Timeout) => {
                    if let Some(mark) = self.watch.read() {
                        let limit = mark.phase.limit(self.call_limit);
                        // The page is written without a lock: a hang must look the same on
                        // a second read (a torn read of a call just starting does not).
                        let again = self.watch.read();
                        let same = again.is_some_and(|a| {
                            (a.index, a.phase, a.started_ns)
                                == (mark.index, mark.phase, mark.started_ns)
                        });
                        if same && limit.is_some_and(|l| mark.running > l) {
                            self.kill();
                            return Event::Hung(mark);
                        }
                    }
                    if Instant::now() >= end {
                        self.kill();
                        return Event::Silent;
                    }
                }
            }
        }
    }

    fn exited(&mut self) -> Event {
        self.stdin = None;
        // Its replies have ended; a process that closed them and lives on gets a few seconds to
        // exit (a crash may be writing a core dump), then it is killed.
        let end = Instant::now() + Duration::from_secs(5);
        while matches!(self.child.try_wait(), Ok(None)) && Instant::now() < end {
            std::thread::sleep(Duration::from_millis(5));
        }
        if matches!(self.child.try_wait(), Ok(None)) {
            self.kill_group();
        }
        let how = match self.child.wait() {
            Ok(status) => {
                use std::os::unix::process::ExitStatusExt;
                match (status.signal(), status.code()) {
                    (Some(sig), _) => format!("was killed by signal {sig} ({})", signal_name(sig)),
                    (None, Some(code)) => format!("exited with status {code}"),
                    _ => "ended".to_string(),
                }
            }
            Err(e) => format!("ended ({e})"),
        };
        // Whatever the target forked dies with it (the group outlives its leader).
        self.kill_group();
        self.reaped = true;
        self.cleanup = None;
        // Give the stderr reader a moment to drain what the dying process wrote.
        std::thread::sleep(Duration::from_millis(20));
        Event::Exited {
            how,
            stderr: self.stderr_tail(),
            mark: self.watch.read(),
        }
    }

    /// The last part of what the worker wrote to stderr.
    pub fn stderr_tail(&self) -> String {
        let s = self.stderr.lock().unwrap_or_else(|e| e.into_inner());
        let text = String::from_utf8_lossy(&s);
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }

    fn kill_group(&self) {
        if self.reaped {
            return;
        }
        if let Ok(pid) = i32::try_from(self.child.id()) {
            // SAFETY: signals the worker's own process group (it called setpgid(0, 0)).
            unsafe {
                libc::kill(-pid, libc::SIGKILL);
            }
        }
    }

    /// Kills the process and whatever it started (idempotent).
    pub fn kill(&mut self) {
        self.stdin = None;
        self.kill_group();
        if !self.reaped {
            let _ = self.child.kill();
            let _ = self.child.wait();
            self.reaped = true;
            self.cleanup = None;
        }
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.kill();
    }
}
