//! Format versions: every file and message pyz3 writes for itself or others carries a
//! `version`, and every reader checks it here.
//!
//! For readers of pyz3's formats (docs/formats.md). A file without a `version` field is version
//! 1 (formats written before they carried one); a version newer than the reader knows, or one
//! that is not a positive integer, is refused with one line naming the file.

use std::fmt;

/// A format version a reader cannot read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VersionError {
    /// What was read (`baseline file .pyz3/bench/main.json`).
    pub what: String,
    /// The version found (`None`: not a positive integer).
    pub found: Option<u64>,
    /// The newest version the reader knows.
    pub supported: u32,
}

impl fmt::Display for VersionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.found {
            Some(v) => write!(
                f,
                "{} has format version {v}; this pyz3 reads versions 1 to {} (a newer pyz3 wrote \
                 it?)",
                self.what, self.supported
            ),
            None => write!(
                f,
                "{} has a `version` that is not a positive integer",
                self.what
            ),
        }
    }
}

impl std::error::Error for VersionError {}

/// The version of a JSON document `what`, whose newest version is `supported`: its `version`
/// field, 1 when it has none.
pub fn check_json(
    what: impl fmt::Display,
    doc: &serde_json::Value,
    supported: u32,
) -> Result<u32, VersionError> {
    let error = |found| VersionError {
        what: what.to_string(),
        found,
        supported,
    };
    match doc.get("version") {
        None => Ok(1),
        Some(v) => match v.as_u64() {
            Some(n) if n >= 1 && n <= u64::from(supported) => Ok(n as u32),
            Some(0) | None => Err(error(None)),
            Some(n) => Err(error(Some(n))),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn missing_is_one_and_newer_is_refused() {
        assert_eq!(check_json("f", &json!({"a": 1}), 1), Ok(1));
        assert_eq!(check_json("f", &json!({"version": 1}), 2), Ok(1));
        assert_eq!(check_json("f", &json!({"version": 2}), 2), Ok(2));
        let e = check_json("baseline file x.json", &json!({"version": 3}), 2).unwrap_err();
        assert_eq!(
            e.to_string(),
            "baseline file x.json has format version 3; this pyz3 reads versions 1 to 2 (a newer \
             pyz3 wrote it?)"
        );
        for bad in [
            json!({"version": 0}),
            json!({"version": "1"}),
            json!({"version": -1}),
        ] {
            let e = check_json("f", &bad, 1).unwrap_err();
            assert_eq!(e.found, None, "{bad}");
            assert!(!e.to_string().contains('\n'));
        }
    }
}
