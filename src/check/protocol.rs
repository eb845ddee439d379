//! The messages between the runner and its worker processes (JSON, one per line).
//!
//! For [`super::pool`] (runner side) and [`super::worker`] (worker side). The worker generates
//! batch cases itself from the seed — the same strategies and seeds as the runner, so both sides
//! agree on case `i` without sending values — and receives explicit arguments (as Python source)
//! only while a finding is being shrunk.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::finding::Observation;

/// Everything a worker needs to check one function.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Setup {
    /// Module to import (`pkg.mod`).
    pub module: String,
    /// Directory to put first on `sys.path` (for a module given as a file path).
    #[serde(default)]
    pub path: Option<PathBuf>,
    /// The callable's name in the module (dotted for attributes of classes).
    pub function: String,
    /// Parameter names, in order.
    pub param_names: Vec<String>,
    /// One type expression per parameter.
    pub param_types: Vec<String>,
    /// Size scale for the strategies (`Size::scaled`), 0 for the default.
    #[serde(default)]
    pub size: usize,
    /// `module:callable` computing the expected result.
    #[serde(default)]
    pub oracle: Option<String>,
    /// Python expression over the parameters, `args` and `result` that must be true.
    #[serde(default)]
    pub property: Option<String>,
    /// The function is declared to mutate its arguments.
    #[serde(default)]
    pub mutates: bool,
    /// The function is declared nondeterministic.
    #[serde(default)]
    pub nondeterministic: bool,
    /// Relative and absolute tolerance for float comparisons with the oracle.
    #[serde(default)]
    pub float_tolerance: f64,
    /// Per-call time limit.
    pub timeout_ms: u64,
    /// Which cases get the memory-growth check: every n-th; 0 never; `u64::MAX` cases 0, 1, 2,
    /// 4, 8, 16, ... (the default).
    pub memory_every: u64,
    /// Skip the reference-count check.
    #[serde(default)]
    pub no_refcount: bool,
}

/// Runner → worker.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Request {
    /// Import the module and prepare to check one function (the first request of a worker).
    Setup(Setup),
    /// Generate and check cases `start..start + count` of the run with `seed`.
    Batch {
        /// The run's seed.
        seed: u64,
        /// First case index.
        start: u64,
        /// Number of cases.
        count: u64,
        /// Send each case's reply at once (needed to tell which case crashed); otherwise
        /// replies are sent in groups, which is much cheaper.
        #[serde(default)]
        flush_each: bool,
    },
    /// Check one case given as Python source of the argument tuple.
    Explicit {
        /// Import lines.
        imports: String,
        /// A tuple expression.
        args: String,
        /// Run the memory check on it.
        memory: bool,
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
    },
}

/// Worker → runner.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(tag = "reply", rename_all = "snake_case")]
pub enum Reply {
    /// Setup done: the module imported and the function exists.
    Ready,
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
    },
    /// A call is still running past the time limit; the worker exits after sending this.
    Timeout {
        /// How long the call had run.
        elapsed_ms: u64,
        /// The batch case being checked (`None` for an explicit case).
        #[serde(default)]
        index: Option<u64>,
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
}
