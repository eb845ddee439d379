//! Zig's safety panics, the sanitizer of pyZ3 (Zig) modules.
//!
//! A Zig module built with safety checks (`Debug`, `ReleaseSafe`) stops the process on an
//! out-of-bounds index, an integer overflow, a null unwrap or unreachable code, printing
//! `thread N panic: MESSAGE` and a symbolized stack (`file:line:col: 0xADDR in function (unit)`)
//! to stderr. [`parse`] turns that text into a message, a subkind and frames.

use std::sync::OnceLock;

use regex::Regex;

use crate::report::Frame;

/// One safety panic.
#[derive(Clone, Debug, PartialEq)]
pub struct Panic {
    /// `index-out-of-bounds`, `integer-overflow`, `null-unwrap`, `unreachable`, ...
    pub subkind: String,
    /// The panic's message (`index out of bounds: index 7, len 4`).
    pub message: String,
    /// The stack, innermost first; frames with no source (`???`) are left out.
    pub frames: Vec<Frame>,
    /// The panic's text.
    pub text: String,
}

fn re(cell: &'static OnceLock<Regex>, pattern: &str) -> &'static Regex {
    cell.get_or_init(|| Regex::new(pattern).expect("valid regex"))
}

/// The first Zig panic in `log`, if any.
pub fn parse(log: &str) -> Option<Panic> {
    static HEAD: OnceLock<Regex> = OnceLock::new();
    static FRAME: OnceLock<Regex> = OnceLock::new();
    let head = re(&HEAD, r"^(?:thread \d+ )?panic: (.+)$");
    let frame = re(
        &FRAME,
        r"^(.+?):(\d+):(\d+): 0x[0-9a-fA-F]+ in (.+?) \(([^()]*)\)$",
    );
    let lines: Vec<&str> = log.lines().collect();
    let start = lines.iter().position(|l| head.is_match(l))?;
    let message = head.captures(lines[start])?[1].trim().to_string();
    let mut frames = Vec::new();
    let mut end = start + 1;
    for (i, line) in lines.iter().enumerate().skip(start + 1) {
        if let Some(c) = frame.captures(line) {
            end = i + 1;
            if &c[1] == "???" || &c[4] == "???" {
                continue;
            }
            frames.push(Frame {
                function: c[4].to_string(),
                file: Some(c[1].to_string()),
                line: c[2].parse().ok(),
                module: None,
            });
        } else if line.starts_with(' ') || line.trim().is_empty() || line.starts_with("Unwind") {
            // Source excerpts and carets under a frame, or the unwinder's note.
            end = i + 1;
        } else {
            break;
        }
    }
    Some(Panic {
        subkind: subkind(&message),
        message,
        frames,
        text: lines[start..end].join("\n"),
    })
}

/// The kind of check from the message: the words before the first `:` as a slug, with Zig's
/// phrasings named as the other sanitizers name them.
fn subkind(message: &str) -> String {
    let what = message.split(':').next().unwrap_or(message).trim();
    let known = [
        ("index out of bounds", "index-out-of-bounds"),
        ("integer overflow", "integer-overflow"),
        ("attempt to use null value", "null-unwrap"),
        ("reached unreachable code", "unreachable"),
        ("division by zero", "division-by-zero"),
        ("integer cast truncated bits", "integer-truncation"),
        (
            "attempt to cast negative value to unsigned integer",
            "negative-to-unsigned",
        ),
    ];
    if let Some((_, slug)) = known.iter().find(|(m, _)| what.starts_with(m)) {
        return (*slug).to_string();
    }
    let slug: String = what
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    let slug = slug
        .split('-')
        .filter(|s| !s.is_empty())
        .take(6)
        .collect::<Vec<_>>()
        .join("-");
    if slug.is_empty() {
        "panic".into()
    } else {
        slug
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOG: &str = "\
tests/test_z.py::test_add PASSED
thread 16469 panic: index out of bounds: index 7, len 4
/tmp/p/src/zmod.zig:13:13: 0x7f9842fd6c4e in pick (zmod.zig)
    return s[args.i];
            ^
/v/pyz3/src/functions.zig:318:81: 0x7f9842fd506d in fastcall (pyz3.zig)
                const result = func(args);
                                   ^
Objects/methodobject.c:427:24: 0x7f98435a74a5 in cfunction_vectorcall_FASTCALL (Objects/methodobject.c)
???:?:?: 0x14315492f in ??? (???)
Unwind information for `???:0x14315492f` was not available, trace may be incomplete

Fatal Python error: Aborted
";

    #[test]
    fn a_panic_gives_its_message_and_zig_frames() {
        let p = parse(LOG).unwrap();
        assert_eq!(p.subkind, "index-out-of-bounds");
        assert_eq!(p.message, "index out of bounds: index 7, len 4");
        assert_eq!(p.frames.len(), 3);
        assert_eq!(p.frames[0].function, "pick");
        assert_eq!(p.frames[0].file.as_deref(), Some("/tmp/p/src/zmod.zig"));
        assert_eq!(p.frames[0].line, Some(13));
        assert!(p.text.starts_with("thread 16469 panic:"));
        assert!(!p.text.contains("Fatal Python error"));
        assert_eq!(subkind("integer overflow"), "integer-overflow");
        assert_eq!(subkind("some new check: x"), "some-new-check");
        assert!(parse("no panic here\n").is_none());
    }
}
