//! Worker processes as seen from the runner: start, talk, notice death, kill.
//!
//! For [`super::runner`] and discovery. A worker is `pyz3 __worker` (or another executable that
//! calls [`super::worker::main`]) started with `PYTHONMALLOC=malloc` (so the memory check sees
//! Python allocations), `PYTHONFAULTHANDLER=1` (a crash prints the Python stack) and a fixed
//! `PYTHONHASHSEED`. Replies are read on a thread and handed over through a channel so every wait
//! has a deadline; stderr is kept (its tail) to explain crashes.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::protocol::{Reply, Request};

const STDERR_TAIL: usize = 16 * 1024;

/// What waiting for a reply gave.
#[derive(Debug)]
pub enum Event {
    /// A reply.
    Reply(Reply),
    /// The worker is gone: how it ended and the tail of its stderr.
    Exited {
        /// "killed by signal 11 (SIGSEGV)", "exited with status 1", ...
        how: String,
        /// Last lines it wrote to stderr.
        stderr: String,
    },
    /// No reply before the deadline (the worker has been killed).
    Silent,
    /// A line that is not a reply (the worker has been killed: its stream cannot be trusted).
    Garbled(String),
}

/// A running worker process.
pub struct Worker {
    child: Child,
    stdin: Option<ChildStdin>,
    replies: Receiver<String>,
    stderr: Arc<Mutex<Vec<u8>>>,
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

impl Worker {
    /// Starts `exe __worker`.
    pub fn spawn(exe: &Path) -> std::io::Result<Worker> {
        let mut child = Command::new(exe)
            .arg("__worker")
            .env("PYTHONMALLOC", "malloc")
            .env("PYTHONFAULTHANDLER", "1")
            .env("PYTHONHASHSEED", "0")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()?;
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
        Ok(Worker {
            stdin: child.stdin.take(),
            child,
            replies: rx,
            stderr,
        })
    }

    /// Sends a request; false if the worker is gone.
    pub fn send(&mut self, request: &Request) -> bool {
        let Some(stdin) = self.stdin.as_mut() else {
            return false;
        };
        let line = serde_json::to_string(request).expect("requests serialize");
        writeln!(stdin, "{line}")
            .and_then(|_| stdin.flush())
            .is_ok()
    }

    /// Waits up to `deadline` for the next reply.
    pub fn recv(&mut self, deadline: Duration) -> Event {
        match self.replies.recv_timeout(deadline) {
            Ok(line) => match serde_json::from_str::<Reply>(&line) {
                Ok(reply) => Event::Reply(reply),
                Err(e) => {
                    self.kill();
                    let mut shown: String = line.chars().take(200).collect();
                    if shown.len() < line.len() {
                        shown.push_str("...");
                    }
                    Event::Garbled(format!("unreadable reply from the worker ({e}): {shown}"))
                }
            },
            Err(RecvTimeoutError::Disconnected) => self.exited(),
            Err(RecvTimeoutError::Timeout) => {
                self.kill();
                Event::Silent
            }
        }
    }

    fn exited(&mut self) -> Event {
        self.stdin = None;
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
        // Give the stderr reader a moment to drain what the dying process wrote.
        std::thread::sleep(Duration::from_millis(20));
        Event::Exited {
            how,
            stderr: self.stderr_tail(),
        }
    }

    /// The last part of what the worker wrote to stderr.
    pub fn stderr_tail(&self) -> String {
        let s = self.stderr.lock().unwrap_or_else(|e| e.into_inner());
        let text = String::from_utf8_lossy(&s);
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }

    /// Kills the process (idempotent).
    pub fn kill(&mut self) {
        self.stdin = None;
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.kill();
    }
}
