//! The messages between the runner and its worker processes.
//!
//! For [`super::pool`] (runner side) and `worker.py` (worker side, in the interpreter under test).
//! Requests are frames: a 4-byte little-endian length, then `J` and a JSON [`Request`], or `P`
//! and the pickled argument tuple of one case (protocol 5, written by
//! [`crate::value::args_pickle`]). A `batch` request is followed by one `P` frame per case, an
//! `explicit` request by one. Replies are JSON [`Reply`] objects, one per line. The runner
//! generates every case; the worker unpickles fresh argument objects for each call.
//!
//! The protocol has a [`VERSION`]: the worker names the one it speaks in its first reply
//! ([`Reply::Ready`] or [`Reply::Functions`]; none means 1) and the runner refuses any other
//! ([`check_version`]), so a worker and a runner from different pyz3 builds never talk past
//! each other.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::report::Observation;
use crate::target::Target;

/// The version of the runner–worker protocol (`PROTOCOL` in `worker.py`).
pub const VERSION: u32 = 1;

fn version_one() -> u32 {
    1
}

/// `Ok` when a worker's first reply names this runner's protocol [`VERSION`]; otherwise the
/// one-line reason.
pub fn check_version(worker: u32) -> Result<(), String> {
    if worker == VERSION {
        Ok(())
    } else {
        Err(format!(
            "the worker speaks protocol version {worker}, this pyz3 version {VERSION}: the \
             worker and the runner come from different pyz3 builds"
        ))
    }
}

/// Everything a worker needs to check one function: the [`Target`] (its fields flattened into
/// the same JSON object) and the run's options. Built from a target in one place
/// (`Setup::new`).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Setup {
    /// What to call. Its `no_refcount` is the target's or the run's.
    #[serde(flatten)]
    pub target: Target,
    /// Size scale for the strategies (`Size::scaled`), 0 for the default.
    #[serde(default)]
    pub size: usize,
    /// When both the function and its oracle raise: `exact` (the same exception type),
    /// `related` (one type a subclass of the other; the default) or `any`.
    #[serde(default)]
    pub oracle_exceptions: String,
    /// Per-call time limit.
    pub timeout_ms: u64,
    /// Which cases get the memory-growth check: every n-th; 0 never; `u64::MAX` cases 0, 1, 2,
    /// 4, 8, 16, ... (the default).
    pub memory_every: u64,
    /// Neither compare nor show results (determinism check, oracle comparison, renderings):
    /// set once pyz3's own work on one of the function's results hung or crashed.
    #[serde(default)]
    pub no_result_work: bool,
}

/// Runner → worker.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Request {
    /// Import the module and prepare to check one function (the first request of a worker).
    Setup(Setup),
    /// Installs the helper module `_pyz3` the runner's pickles refer to (the first request).
    Init {
        /// Its source ([`crate::value::PICKLE_HELPERS`]).
        pickle_helpers: String,
    },
    /// Check cases `start..start + count`, one `P` frame each following this request.
    Batch {
        /// First case index.
        start: u64,
        /// Number of cases.
        count: u64,
        /// Send each case's reply at once; otherwise replies are sent in groups (a case with a
        /// finding is always sent at once, so a crash never hides one).
        #[serde(default)]
        flush_each: bool,
        /// The cases (indices) that also get the memory-growth check.
        #[serde(default)]
        memory: Vec<u64>,
    },
    /// Unpickle `count` values from the `P` frames that follow, and say so (`pyz3 sample
    /// --stats`: what building live objects costs).
    Load {
        /// How many frames follow.
        count: u64,
    },
    /// Run one thread-safety scenario on the cases in the `B` frame that follows (see
    /// [`super::threads`]): a [`Reply::Baseline`], then a [`Reply::Threads`].
    Threads {
        /// `own-arguments`, `shared-arguments` or `shared-changing`.
        scenario: String,
        /// Threads per round (in `shared-changing`, one of them mutates).
        threads: u32,
        /// Most rounds to run.
        rounds: u64,
        /// Time the rounds may take, in milliseconds.
        budget_ms: u64,
        /// Rounds to run even past `budget_ms` (up to three times it), so a loaded machine does
        /// not cut the search short.
        #[serde(default)]
        min_rounds: u64,
        /// Every round gives thread `t` case `t` (a replay); otherwise the cases rotate.
        #[serde(default)]
        fixed: bool,
    },
    /// Check one case, given in the `P` frame that follows.
    Explicit {
        /// Run the memory check on it.
        memory: bool,
        /// Only call the function once and say how long the call took (no checks): how a
        /// call over the time limit is retried before it is called a hang.
        #[serde(default)]
        time_only: bool,
    },
    /// Describe the module's public callables (for discovery; no `Setup` needed).
    Describe {
        /// Module to import.
        module: String,
        /// Directory to put first on `sys.path`.
        #[serde(default)]
        path: Option<PathBuf>,
        /// Explicit stub file or directory.
        #[serde(default)]
        stubs: Option<PathBuf>,
        /// Callables to list even when their names start with `_` (named by the user).
        #[serde(default)]
        include: Vec<String>,
    },
}

/// Worker → runner.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(tag = "reply", rename_all = "snake_case")]
pub enum Reply {
    /// Setup done: the module imported and the function exists.
    Ready {
        /// On a free-threaded interpreter, whether the GIL is enabled after the import (a
        /// module without a `Py_mod_gil` slot re-enables it); `None` on GIL builds.
        #[serde(default)]
        gil_enabled: Option<bool>,
        /// The protocol version the worker speaks ([`VERSION`]).
        #[serde(default = "version_one")]
        version: u32,
    },
    /// Setup or a request failed for a reason outside the function's behaviour.
    Error {
        /// One line.
        message: String,
    },
    /// One case checked.
    Case {
        /// Case index (`u64::MAX` for explicit cases).
        index: u64,
        /// What went wrong, if anything.
        #[serde(default)]
        finding: Option<Observation>,
        /// For a `time_only` case: how long the call took.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        elapsed_ms: Option<u64>,
        /// pyz3's own checking code failed on this case (an exception from a comparison or a
        /// walk over what the target returned): the case is skipped with this warning, and
        /// never blamed on the function.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pyz3_error: Option<String>,
        /// Something the user should know about how this function was checked (a check
        /// skipped, and why); shown once among the function's warnings.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        note: Option<String>,
    },
    /// The cases of a `Threads` request that run clean and in time alone (their positions in
    /// the request's list): round `r` uses them as the scenario assigns.
    Baseline {
        /// Positions, ascending.
        usable: Vec<u64>,
    },
    /// What a `Threads` request's rounds found.
    Threads {
        /// Rounds run.
        rounds: u64,
        /// What went wrong (`thread-safety`), if anything.
        #[serde(default)]
        finding: Option<Observation>,
        /// The round it went wrong in.
        #[serde(default)]
        round: Option<u64>,
        /// The cases (positions in the request's list) that round gave its threads: one per
        /// thread for `own-arguments`, one otherwise.
        #[serde(default)]
        cases: Vec<u64>,
        /// Why the scenario did not run (no mutable argument, no case clean alone).
        #[serde(default)]
        skipped: Option<String>,
    },
    /// Every value of a `Load` was built.
    Loaded {
        /// How many.
        count: u64,
    },
    /// The module's callables (answer to `Describe`).
    Functions {
        /// One entry per public callable.
        functions: Vec<FunctionInfo>,
        /// Where signatures came from when a stub was used.
        #[serde(default)]
        stub: Option<PathBuf>,
        /// The module's file, when it has one.
        #[serde(default)]
        file: Option<PathBuf>,
        /// As in [`Reply::Ready`]: the GIL after importing the module (free-threaded builds).
        #[serde(default)]
        gil_enabled: Option<bool>,
        /// The protocol version the worker speaks ([`VERSION`]).
        #[serde(default = "version_one")]
        version: u32,
    },
}

/// A callable found in a module, with where its signature came from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FunctionInfo {
    /// Name in the module.
    pub name: String,
    /// Required positional parameters: name and annotation (`None`: not annotated). `None` when
    /// the signature cannot be read at all.
    pub params: Option<Vec<(String, Option<String>)>>,
    /// `"stub"`, `"annotations"`, `"text_signature"` or `"none"`.
    pub source: String,
    /// The positional parameters with defaults, after the required ones: name and annotation.
    #[serde(default)]
    pub optional: Vec<(String, Option<String>)>,
    /// The stub says the function is for changing its arguments: it returns `None`, or takes
    /// a `Mutable*` type or a writeable buffer (its arguments are not checked for mutation).
    #[serde(default)]
    pub mutating: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_name_their_protocol_version() {
        let r: Reply = serde_json::from_str(r#"{"reply": "ready", "gil_enabled": null}"#).unwrap();
        assert!(matches!(r, Reply::Ready { version: 1, .. }));
        let r: Reply =
            serde_json::from_str(r#"{"reply": "ready", "gil_enabled": true, "version": 7}"#)
                .unwrap();
        let Reply::Ready { version, .. } = r else {
            panic!("{r:?}")
        };
        assert_eq!(version, 7);
        assert!(check_version(VERSION).is_ok());
        let e = check_version(7).unwrap_err();
        assert!(
            e.starts_with("the worker speaks protocol version 7, this pyz3 version 1"),
            "{e}"
        );
        // The worker states the version this runner speaks.
        let worker = include_str!("worker.py");
        assert!(worker.contains(&format!("\nPROTOCOL = {VERSION}\n")));
    }
}
