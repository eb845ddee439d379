//! Readable diffs of expected vs actual text, for findings' messages.

use similar::{ChangeTag, TextDiff};

/// A unified-style line diff of `a` (labelled `a_name`) against `b`; long single-line values
/// are split at commas so the difference stands out.
pub fn diff(a: &str, b: &str, a_name: &str, b_name: &str) -> String {
    let split = |s: &str| -> String {
        if s.contains('\n') || s.len() <= 60 {
            s.to_string()
        } else {
            s.replace(", ", ",\n")
        }
    };
    let (a2, b2) = (split(a), split(b));
    let d = TextDiff::from_lines(&a2, &b2);
    let mut out = format!("--- {a_name}\n+++ {b_name}\n");
    for change in d.iter_all_changes() {
        let sign = match change.tag() {
            ChangeTag::Delete => '-',
            ChangeTag::Insert => '+',
            ChangeTag::Equal => ' ',
        };
        out.push(sign);
        out.push_str(change.value().trim_end_matches('\n'));
        out.push('\n');
    }
    out.trim_end().to_string()
}
