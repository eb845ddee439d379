//! Findings: what the harness reports, in the vocabulary shared by check, fuzz and sanitize.
//!
//! For every consumer of results (terminal, JSON, reproducers). A finding is data, not an error:
//! `Result::Err` stays for pyz3's own failures (a module that does not import, a bad option).

use std::fmt;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// The kinds of finding. The names (`kind` in JSON) are a contract other tools rely on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum FindingKind {
    /// The process died (SIGSEGV, SIGABRT, SIGBUS, stack overflow, ...).
    #[serde(rename = "crash")]
    Crash,
    /// A call exceeded the time limit.
    #[serde(rename = "timeout")]
    Timeout,
    /// An argument's (or a contained object's) reference count changed consistently per call.
    #[serde(rename = "refcount")]
    Refcount,
    /// Memory kept growing over repeated calls with the same input.
    #[serde(rename = "memory-leak")]
    MemoryLeak,
    /// `SystemError`, e.g. "returned NULL without setting an exception".
    #[serde(rename = "system-error")]
    SystemError,
    /// An argument differed after the call.
    #[serde(rename = "input-mutation")]
    InputMutation,
    /// Two calls with equal inputs behaved differently.
    #[serde(rename = "nondeterministic")]
    Nondeterministic,
    /// The result differed from the reference callable's.
    #[serde(rename = "oracle-mismatch")]
    OracleMismatch,
    /// A user property was false.
    #[serde(rename = "property-failed")]
    PropertyFailed,
    /// A sanitizer (ASan, LSan, TSan, UBSan) reported an error; `subkind` says which.
    #[serde(rename = "sanitizer")]
    Sanitizer,
    /// Calls from several threads at once went wrong where the same calls alone do not: a
    /// result that differs, a crash, a hang, an exception only seen under threads
    /// (`pyz3 check --threads`); `threads` says how.
    #[serde(rename = "thread-safety")]
    ThreadSafety,
}

impl FindingKind {
    /// Every kind, in report order.
    pub const ALL: [FindingKind; 11] = [
        FindingKind::Crash,
        FindingKind::Timeout,
        FindingKind::Refcount,
        FindingKind::MemoryLeak,
        FindingKind::SystemError,
        FindingKind::InputMutation,
        FindingKind::Nondeterministic,
        FindingKind::OracleMismatch,
        FindingKind::PropertyFailed,
        FindingKind::ThreadSafety,
        FindingKind::Sanitizer,
    ];

    /// The contract name (`"memory-leak"`, ...).
    pub fn name(self) -> &'static str {
        match self {
            FindingKind::Crash => "crash",
            FindingKind::Timeout => "timeout",
            FindingKind::Refcount => "refcount",
            FindingKind::MemoryLeak => "memory-leak",
            FindingKind::SystemError => "system-error",
            FindingKind::InputMutation => "input-mutation",
            FindingKind::Nondeterministic => "nondeterministic",
            FindingKind::OracleMismatch => "oracle-mismatch",
            FindingKind::PropertyFailed => "property-failed",
            FindingKind::Sanitizer => "sanitizer",
            FindingKind::ThreadSafety => "thread-safety",
        }
    }

    /// Whether the worker process is gone after a finding of this kind.
    pub fn kills_worker(self) -> bool {
        matches!(self, FindingKind::Crash | FindingKind::Timeout)
    }
}

/// A name that is not one of [`FindingKind::name`]'s.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownKind(pub String);

impl fmt::Display for UnknownKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = FindingKind::ALL.iter().map(|k| k.name()).collect();
        write!(
            f,
            "unknown finding kind `{}` (one of: {})",
            super::printable(&self.0),
            names.join(", ")
        )
    }
}

impl std::error::Error for UnknownKind {}

/// Parses the contract names of [`FindingKind::name`] (`"memory-leak"`, ...), exactly.
impl std::str::FromStr for FindingKind {
    type Err = UnknownKind;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        FindingKind::ALL
            .into_iter()
            .find(|k| k.name() == s)
            .ok_or_else(|| UnknownKind(s.to_string()))
    }
}

impl fmt::Display for FindingKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What a worker observed on one case.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Observation {
    /// The kind.
    pub kind: FindingKind,
    /// One or more lines saying what went wrong.
    pub message: String,
    /// The Python traceback (or the native crash output), when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub traceback: Option<String>,
}

/// A finding: the kind, the shrunk input as Python source, what went wrong, and a reproducer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// The kind.
    pub kind: FindingKind,
    /// The shrunk arguments as Python source: `f(<input>)` reproduces it.
    pub input: String,
    /// Modules the input needs imported.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub imports: Vec<String>,
    /// Class definitions the input needs (hostile values, see [`crate::value::Hostile`]), as
    /// Python source; a reproducer defines them and arms them with `bind(args)`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub definitions: Vec<String>,
    /// What went wrong (for an oracle mismatch, a diff of expected vs actual).
    pub message: String,
    /// The Python traceback or native crash output, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub traceback: Option<String>,
    /// A standalone script that reproduces the finding (`python3 <file>`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reproducer: Option<PathBuf>,
    /// For `sanitizer` findings: what the sanitizer reported (`heap-buffer-overflow`,
    /// `data-race`, `leak`, `signed-integer-overflow`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subkind: Option<String>,
    /// For `sanitizer` findings: the top stack frames in the extension's own code.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub frames: Vec<Frame>,
    /// For `sanitizer` findings: the pytest test id that was running, when one was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test: Option<String>,
    /// For `thread-safety` findings: the scenario, the threads and the round.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threads: Option<ThreadContext>,
}

/// How a `thread-safety` finding was made.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ThreadContext {
    /// `own-arguments` (each thread its own arguments), `shared-arguments` (every thread the
    /// same argument objects) or `shared-changing` (shared arguments that one thread keeps
    /// mutating).
    pub scenario: String,
    /// Threads calling at once (in `shared-changing`, one more mutates).
    pub threads: u32,
    /// The round the failure appeared in (counted from 0), in the run that found it or in the
    /// replay that shrank it.
    pub round: u64,
    /// The arguments as Python source: one entry per thread (`own-arguments`); otherwise the
    /// shared arguments, and possibly those of the round before, which rounds alternate with
    /// (what one call leaves behind, such as a cache, can be what the next race is on).
    pub inputs: Vec<String>,
    /// Seconds from the start of the function's thread-safety check to the first failure
    /// (before replaying and shrinking it): how rare the interleaving is.
    pub seconds: f64,
}

impl Finding {
    /// A finding of `kind` on `input` (the arguments as Python source, with the modules it
    /// needs), as observed: no reproducer yet, no sanitizer or thread details.
    pub fn observed(
        kind: FindingKind,
        input: String,
        imports: Vec<String>,
        observation: Observation,
    ) -> Finding {
        Finding {
            kind,
            input,
            imports,
            definitions: Vec::new(),
            message: observation.message,
            traceback: observation.traceback,
            reproducer: None,
            subkind: None,
            frames: Vec::new(),
            test: None,
            threads: None,
        }
    }
}

/// One native stack frame of a report.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Frame {
    /// The demangled function name (no Rust hash suffix), when symbolized.
    pub function: String,
    /// The source file, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// The line, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
    /// The shared object the frame is in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub module: Option<String>,
}

impl fmt::Display for Frame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.function.is_empty() {
            return match (&self.file, self.line) {
                (Some(file), Some(line)) => write!(f, "{file}:{line}"),
                (Some(file), None) => f.write_str(file),
                _ => write!(
                    f,
                    "?? ({})",
                    self.module.as_deref().unwrap_or("unknown module")
                ),
            };
        }
        let name = &self.function;
        match (&self.file, self.line) {
            (Some(file), Some(line)) => write!(f, "{name} ({file}:{line})"),
            (Some(file), None) => write!(f, "{name} ({file})"),
            _ => f.write_str(name),
        }
    }
}

/// An argument tuple's source as call arguments: `(1, 'a')` → `(1, 'a')`, `(x,)` → `(x)`.
pub fn call_source(tuple: &str) -> String {
    match tuple.strip_suffix(",)") {
        Some(one) => format!("{one})"),
        None => tuple.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_parse_back_from_their_names() {
        for k in FindingKind::ALL {
            assert_eq!(k.name().parse::<FindingKind>(), Ok(k));
            // The name is also what serde writes.
            assert_eq!(
                serde_json::to_string(&k).unwrap(),
                format!("\"{}\"", k.name())
            );
        }
        assert_eq!(
            "Crash".parse::<FindingKind>(),
            Err(UnknownKind("Crash".into()))
        );
        let e = "leak\x1b[2J"
            .parse::<FindingKind>()
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("unknown finding kind `leak\\x1b[2J` (one of: crash, "),
            "{e}"
        );
    }
}
