//! A sanitizer's own failure, told apart from the test's: LeakSanitizer's check after a test
//! stops the world with ptrace, and when it cannot, the sanitizer ends the process itself.

use std::path::Path;

/// The line of a sanitizer's own fatal error (`LeakSanitizer has encountered a fatal error.`) in
/// the report files of the test with index `i`, if there is one.
pub(super) fn sanitizer_failure(log_dir: &Path, i: u64) -> Option<String> {
    let prefix = format!("t{i}.");
    std::fs::read_dir(log_dir)
        .ok()?
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(&prefix))
        .find_map(|e| {
            let text = std::fs::read_to_string(e.path()).ok()?;
            text.lines()
                .find(|l| l.contains("Sanitizer has encountered a fatal error"))
                .map(|l| {
                    l.trim_start_matches(|c: char| c == '=' || c.is_ascii_digit())
                        .to_string()
                })
        })
}
