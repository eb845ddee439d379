//! Text for a terminal: from the target, made safe; durations in words.

use std::time::Duration;

/// Text from the target for a terminal: control characters (escape sequences, carriage
/// returns, C1 controls) shown as `\xNN` escapes, so a message cannot rewrite the screen.
pub fn printable(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c == '\t' || !(c.is_control() || ('\u{80}'..='\u{9f}').contains(&c)) {
            out.push(c);
        } else {
            out.push_str(&format!("\\x{:02x}", c as u32));
        }
    }
    out
}

/// A readable duration for notes: `850 ms`, `3.4 s`.
pub fn duration_text(ms: u64) -> String {
    if ms < 1000 {
        format!("{ms} ms")
    } else {
        format!("{:.1} s", Duration::from_millis(ms).as_secs_f64())
    }
}
