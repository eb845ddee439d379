//! Text from the target, made safe for a terminal.

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
