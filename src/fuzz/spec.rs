//! How a fuzz target learns what to fuzz, and how it tells `pyz3 fuzz` what it found.
//!
//! For both sides of a fuzz target's process boundary: `pyz3 fuzz` (which passes the
//! [`Target`] in [`SPEC_ENV`], asks a built target to describe itself with [`DESCRIBE_ENV`], and
//! reads [`ReportLine`]s back from its stderr) and the runtime inside the target binary (which
//! reads the one and writes the others).

use serde::{Deserialize, Serialize};

use super::decode::decode_args_with;
use crate::report::{FindingKind, Observation};
use crate::target::Target;
use crate::value::Value;

/// Environment variable holding a [`Target`] as JSON, for the generic target.
pub const SPEC_ENV: &str = "PYZ3_FUZZ_SPEC";
/// When set to a path, a target writes its [`Target`] there as JSON and exits (for
/// `pyz3 fuzz repro`, which needs the signature to decode an artifact).
pub const DESCRIBE_ENV: &str = "PYZ3_FUZZ_DESCRIBE";
/// Line prefix of a finding report on stderr; `pyz3 fuzz` reads the [`ReportLine`] JSON that
/// follows it.
pub const REPORT_PREFIX: &str = "==pyz3-finding== ";
/// Line prefix of what a target says, once at start-up, about where its coverage comes from
/// (the instrumented libraries it loaded, or the arguments' shapes); `pyz3 fuzz` passes it on.
pub const GUIDANCE_PREFIX: &str = "pyz3: guidance: ";
/// AddressSanitizer's options for a fuzz binary embedding CPython, unless `ASAN_OPTIONS` says
/// otherwise (the same as [`asan_defaults!`](crate::asan_defaults) compiles in).
pub const ASAN_DEFAULTS: &str =
    "detect_leaks=0:allocator_may_return_null=1:detect_stack_use_after_return=0";

/// AddressSanitizer's options while `pyz3 fuzz` fuzzes, unless `ASAN_OPTIONS` says otherwise:
/// [`ASAN_DEFAULTS`] without allocation stacks (`malloc_context_size=0`). Python objects live in
/// `malloc`'ed memory under the fuzzer, and unwinding and storing the stack of each allocation
/// took 20–50% of an execution of a trivial function; a finding's report is made again with the
/// stacks by running its input alone ([`replay_report`](super::run::replay_report)).
pub const ASAN_FUZZING: &str = "detect_leaks=0:allocator_may_return_null=1:\
     detect_stack_use_after_return=0:malloc_context_size=0";

/// The `ASAN_OPTIONS` a generic target runs with: the caller's when set, else [`ASAN_FUZZING`]
/// to fuzz and [`ASAN_DEFAULTS`] (allocation stacks included) to replay a finding.
pub fn asan_options(fuzzing: bool) -> String {
    std::env::var("ASAN_OPTIONS")
        .unwrap_or_else(|_| if fuzzing { ASAN_FUZZING } else { ASAN_DEFAULTS }.into())
}

/// The version of the finding line's format (docs/formats.md).
pub const REPORT_VERSION: u32 = 1;

fn report_version() -> u32 {
    REPORT_VERSION
}

/// A finding as a fuzz target reports it: one JSON object on one stderr line after
/// [`REPORT_PREFIX`], written by the target's runtime and read back by `pyz3 fuzz`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReportLine {
    /// The line's format version ([`REPORT_VERSION`]; lines without one are version 1).
    #[serde(default = "report_version")]
    pub version: u32,
    /// The finding kind's name ([`FindingKind::name`]).
    pub kind: String,
    /// What went wrong.
    pub message: String,
    /// The Python traceback, when there is one.
    #[serde(default)]
    pub traceback: Option<String>,
    /// The call as Python source (`parse(b'\x00')`).
    pub input: String,
    /// Modules the call's source needs imported.
    #[serde(default)]
    pub imports: Vec<String>,
}

impl ReportLine {
    /// The line for `found`, the finding of the call `input` (with its `imports`).
    pub fn new(found: &Observation, input: String, imports: Vec<String>) -> Self {
        ReportLine {
            version: REPORT_VERSION,
            kind: found.kind.name().to_string(),
            message: found.message.clone(),
            traceback: found.traceback.clone(),
            input,
            imports,
        }
    }

    /// The text to write on stderr: [`REPORT_PREFIX`] and the JSON, on one line.
    pub fn to_line(&self) -> String {
        // Serializing plain strings cannot fail.
        format!(
            "{REPORT_PREFIX}{}",
            serde_json::to_string(self).unwrap_or_default()
        )
    }

    /// The report on one line of a target's stderr, if it is one in a version this pyz3 reads.
    pub fn parse(line: &str) -> Option<Self> {
        let doc: serde_json::Value =
            serde_json::from_str(line.strip_prefix(REPORT_PREFIX)?).ok()?;
        crate::report::version::check_json("the fuzz finding line", &doc, REPORT_VERSION).ok()?;
        serde_json::from_value(doc).ok()
    }

    /// The finding kind, when the name is one pyz3 knows.
    pub fn finding_kind(&self) -> Option<FindingKind> {
        FindingKind::ALL.into_iter().find(|k| k.name() == self.kind)
    }
}

/// Decodes a fuzz input into `target`'s arguments, the way its fuzz target does.
pub fn decode(target: &Target, data: &[u8]) -> crate::Result<Vec<Value>> {
    Ok(decode_args_with(
        &target.shapes()?.0,
        data,
        !target.no_hostile,
    ))
}

/// The environment the generic fuzz target runs with for `target`: the target itself and
/// AddressSanitizer's options for fuzzing ([`asan_options`]). (The target puts Python objects in
/// malloc'ed memory itself when a sanitizer is linked.)
pub fn generic_env(target: &Target) -> anyhow::Result<Vec<(&'static str, String)>> {
    Ok(vec![
        (SPEC_ENV, serde_json::to_string(target)?),
        ("ASAN_OPTIONS", asan_options(true)),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_line_keeps_the_wire_text_of_earlier_versions() {
        // Built with `json!` before: keys in alphabetical order.
        let old = r#"==pyz3-finding== {"imports":["decimal"],"input":"f(decimal.Decimal('1'))","kind":"refcount","message":"leaked","traceback":null}"#;
        let line = ReportLine::parse(old).expect("parsed");
        assert_eq!(line.finding_kind(), Some(FindingKind::Refcount));
        assert_eq!(line.imports, ["decimal"]);
        let again = ReportLine::parse(&line.to_line()).expect("round trip");
        assert_eq!(again, line);
        assert!(line.to_line().starts_with(REPORT_PREFIX));
        assert!(ReportLine::parse("INFO: Seed: 1").is_none());
        assert_eq!(line.version, 1);
        assert!(line.to_line().contains(r#""version":1"#));
        let newer = old.replace(r#"{"imports""#, r#"{"version":2,"imports""#);
        assert!(ReportLine::parse(&newer).is_none());
    }
}
