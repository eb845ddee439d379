//! Parsing sanitizer report text (ASan, LSan, TSan, UBSan; clang's and gcc's runtimes) into data.
//!
//! For turning a run's log files into findings: [`parse`] splits a log into [`Report`]s, each
//! with its sanitizer, sub-kind, one-line message and symbolized frames (demangled, Rust hashes
//! removed). Frame lines may carry the module in braces (`{/path/mod.so}`, the format pyz3 sets)
//! or in the runtime's default form.

use std::sync::OnceLock;

use regex::Regex;

use crate::report::Frame;
use crate::toolchain::Sanitizer;

/// One report.
#[derive(Clone, Debug, PartialEq)]
pub struct Report {
    /// Which sanitizer reported it.
    pub sanitizer: Sanitizer,
    /// `heap-buffer-overflow`, `heap-use-after-free`, `leak`, `data-race`,
    /// `signed-integer-overflow`, ...
    pub subkind: String,
    /// The report's headline.
    pub message: String,
    /// Every frame of the report's stacks, in order (innermost first).
    pub frames: Vec<Frame>,
    /// A TSan race's memory accesses (`Write of size 8 ...`, then `Previous read of size 8 ...`),
    /// one stack each, innermost frame first. Empty for other reports.
    pub accesses: Vec<Vec<Frame>>,
    /// The report's text.
    pub text: String,
}

impl Report {
    /// Whether this is a leak of a block allocated while a module was imported (its init
    /// function, `PyInit_*`, or a multi-phase module's exec slot run by `PyModule_ExecDef`, on
    /// the allocation's stack). Reported at exit, such a block is module state: CPython never
    /// unloads an extension module and need not free its state, so the block is lost once, not
    /// on every call.
    pub fn allocated_at_import(&self) -> bool {
        self.sanitizer == Sanitizer::Leak
            && self
                .frames
                .iter()
                .any(|f| f.function.starts_with("PyInit_") || f.function == "PyModule_ExecDef")
    }
}

fn re(cell: &'static OnceLock<Regex>, pattern: &str) -> &'static Regex {
    cell.get_or_init(|| Regex::new(pattern).expect("valid regex"))
}

/// Splits `log` into reports. Text that is not part of a report is ignored.
pub fn parse(log: &str) -> Vec<Report> {
    static ASAN: OnceLock<Regex> = OnceLock::new();
    static LSAN: OnceLock<Regex> = OnceLock::new();
    static LEAK: OnceLock<Regex> = OnceLock::new();
    static TSAN: OnceLock<Regex> = OnceLock::new();
    static UBSAN: OnceLock<Regex> = OnceLock::new();
    let asan = re(&ASAN, r"^==\d+==ERROR: AddressSanitizer: (.*)$");
    let lsan = re(
        &LSAN,
        r"^==\d+==ERROR: LeakSanitizer: detected memory leaks",
    );
    let leak = re(&LEAK, r"^(Direct|Indirect) leak of .*");
    let tsan = re(
        &TSAN,
        r"^WARNING: ThreadSanitizer: (.*?)(?: \(pid=\d+\))?\s*$",
    );
    let ubsan = re(&UBSAN, r"^(.*?):(\d+):(\d+): runtime error: (.*)$");

    let lines: Vec<&str> = log.lines().collect();
    let mut reports = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        if let Some(c) = asan.captures(line) {
            let end = block_end(&lines, i + 1, |l| {
                l.starts_with("SUMMARY: AddressSanitizer")
            });
            let headline = c[1]
                .split(" at pc 0x")
                .next()
                .unwrap_or("")
                .trim()
                .to_string();
            let detail = lines[i + 1..end]
                .iter()
                .find(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
                .map(|l| format!("; {}", l.trim()))
                .unwrap_or_default();
            reports.push(Report {
                sanitizer: Sanitizer::Address,
                subkind: asan_subkind(&headline),
                message: format!("{headline}{detail}"),
                frames: first_stack(&lines[i + 1..end]),
                accesses: Vec::new(),
                text: lines[i..end].join("\n"),
            });
            i = end;
        } else if lsan.is_match(line) {
            let end = block_end(&lines, i + 1, |l| l.starts_with("SUMMARY: "));
            let mut j = i + 1;
            while j < end {
                if leak.is_match(lines[j]) {
                    let stop = (j + 1..end)
                        .find(|&k| leak.is_match(lines[k]))
                        .unwrap_or(end);
                    reports.push(Report {
                        sanitizer: Sanitizer::Leak,
                        subkind: "leak".into(),
                        message: lines[j].trim().trim_end_matches(':').to_string(),
                        frames: first_stack(&lines[j + 1..stop]),
                        accesses: Vec::new(),
                        text: lines[j..stop].join("\n"),
                    });
                    j = stop;
                } else {
                    j += 1;
                }
            }
            i = end;
        } else if let Some(c) = tsan.captures(line) {
            let end = block_end(&lines, i + 1, |l| l.starts_with("=================="));
            let headline = c[1].trim().to_string();
            let body = &lines[i + 1..end];
            let access = body
                .iter()
                .find(|l| !l.trim().is_empty())
                .map(|l| format!(": {}", l.trim().trim_end_matches(':')))
                .unwrap_or_default();
            reports.push(Report {
                sanitizer: Sanitizer::Thread,
                subkind: slug(headline.split(" (").next().unwrap_or(&headline)),
                message: format!("{headline}{access}"),
                frames: body.iter().filter_map(|l| parse_frame(l)).collect(),
                accesses: access_stacks(body),
                text: lines[i..end].join("\n"),
            });
            i = end;
        } else if let Some(c) = ubsan.captures(line) {
            let message = c[4].trim().to_string();
            let end = (i + 1..lines.len())
                .find(|&k| {
                    ubsan.is_match(lines[k]) || asan.is_match(lines[k]) || tsan.is_match(lines[k])
                })
                .unwrap_or(lines.len());
            let body = &lines[i + 1..end];
            let summary = body.iter().find_map(|l| {
                l.strip_prefix("SUMMARY: UndefinedBehaviorSanitizer: ")
                    .and_then(|s| s.split_whitespace().next())
                    .filter(|s| *s != "undefined-behavior")
            });
            let mut frames = first_stack(body);
            if frames.is_empty() {
                frames.push(Frame {
                    function: String::new(),
                    file: Some(c[1].to_string()),
                    line: c[2].parse().ok(),
                    module: None,
                });
            }
            reports.push(Report {
                sanitizer: Sanitizer::Undefined,
                subkind: summary.map_or_else(|| ubsan_subkind(&message), str::to_string),
                message,
                frames,
                accesses: Vec::new(),
                text: lines[i..end].join("\n"),
            });
            i = end;
        } else {
            i += 1;
        }
    }
    reports
}

/// The index of the line after a block that ends with a line matching `last` (or at the end).
fn block_end(lines: &[&str], from: usize, last: impl Fn(&str) -> bool) -> usize {
    (from..lines.len())
        .find(|&k| last(lines[k]))
        .map_or(lines.len(), |k| k + 1)
}

/// The frames of the first stack in `lines` (frames up to the first non-frame line after them).
fn first_stack(lines: &[&str]) -> Vec<Frame> {
    lines
        .iter()
        .skip_while(|l| parse_frame(l).is_none())
        .map_while(|l| parse_frame(l))
        .collect()
}

/// The stacks of a TSan report's memory accesses: the frames right under each `Write of size 8
/// at ...:`, `Previous atomic read of size 4 at ...:` line (none when TSan could not restore it).
fn access_stacks(body: &[&str]) -> Vec<Vec<Frame>> {
    static ACCESS: OnceLock<Regex> = OnceLock::new();
    let access = re(
        &ACCESS,
        r"(?i)^\s*(?:previous )?(?:atomic )?(?:read|write) of size \d+ ",
    );
    (0..body.len())
        .filter(|&k| access.is_match(body[k]))
        .map(|k| body[k + 1..].iter().map_while(|l| parse_frame(l)).collect())
        .collect()
}

fn asan_subkind(headline: &str) -> String {
    let mut words = headline.split_whitespace();
    let first = words.next().unwrap_or("unknown");
    match first {
        "attempting" => words.next().unwrap_or("invalid-free").to_string(),
        "requested" => "allocation-size-too-big".into(),
        "stack-overflow" | "SEGV" | "BUS" | "FPE" | "ILL" | "ABRT" => first.to_ascii_lowercase(),
        _ => first.trim_end_matches(':').to_string(),
    }
}

fn ubsan_subkind(message: &str) -> String {
    const TABLE: &[(&str, &str)] = &[
        ("signed integer overflow", "signed-integer-overflow"),
        ("unsigned integer overflow", "unsigned-integer-overflow"),
        ("negation of", "signed-integer-overflow"),
        ("division by zero", "integer-divide-by-zero"),
        ("division of", "signed-integer-overflow"),
        ("shift exponent", "shift-exponent"),
        ("left shift of", "shift-base"),
        ("misaligned address", "alignment"),
        ("null pointer", "null"),
        ("out of bounds for type", "bounds"),
        ("insufficient space for an object", "object-size"),
        ("pointer overflow", "pointer-overflow"),
        ("applying non-zero offset", "pointer-overflow"),
        ("is not a valid value for type", "invalid-value"),
        ("unreachable program point", "unreachable"),
        (
            "is outside the range of representable values",
            "float-cast-overflow",
        ),
        ("variable length array bound", "vla-bound"),
        ("call to function", "function"),
        ("control flow integrity", "cfi"),
    ];
    TABLE
        .iter()
        .find(|(needle, _)| message.contains(needle))
        .map_or("undefined-behavior", |(_, s)| s)
        .to_string()
}

fn slug(s: &str) -> String {
    s.trim()
        .split(|c: char| c.is_whitespace() || c == '_')
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join("-")
        .to_ascii_lowercase()
}

/// Parses one frame line: `#3 0x7f.. in func /src/x.rs:12:5 {/path/mod.so}`, `#3 0x7f.. in func
/// (/path/mod.so+0x12)`, `#3 0x7f..  (/path/mod.so+0x12)`.
pub fn parse_frame(line: &str) -> Option<Frame> {
    static FRAME: OnceLock<Regex> = OnceLock::new();
    static LOC: OnceLock<Regex> = OnceLock::new();
    let frame = re(&FRAME, r"^\s*#\d+\s+0x[0-9a-fA-F]+\s*(.*)$");
    let loc = re(&LOC, r"^(.+?):(\d+)(?::\d+)?$");
    let mut rest = frame.captures(line)?.get(1)?.as_str().trim().to_string();
    let mut module = None;
    if rest.ends_with('}') {
        if let Some(open) = rest
            .rfind(" {")
            .or_else(|| rest.starts_with('{').then_some(0))
        {
            let m = rest[open..]
                .trim()
                .trim_start_matches('{')
                .trim_end_matches('}');
            module = Some(m.to_string()).filter(|m| !m.is_empty());
            rest = rest[..open].trim().to_string();
        }
    }
    let (function, location) = match rest.strip_prefix("in ") {
        Some(r) => match r.rsplit_once(' ') {
            Some((f, l)) if l.starts_with('(') || loc.is_match(l) => (f.to_string(), l.to_string()),
            _ => (r.to_string(), String::new()),
        },
        None => (String::new(), rest.clone()),
    };
    let mut frame = Frame {
        function: demangle(&function),
        module,
        ..Frame::default()
    };
    if let Some(inner) = location.strip_prefix('(').and_then(|l| l.strip_suffix(')')) {
        let m = inner.rsplit_once('+').map_or(inner, |(m, _)| m);
        frame.module.get_or_insert_with(|| m.to_string());
    } else if let Some(c) = loc.captures(&location) {
        frame.file = Some(c[1].to_string());
        frame.line = c[2].parse().ok();
    } else if !location.is_empty() {
        frame.file = Some(location);
    }
    Some(frame)
}

/// Demangles Rust symbols (legacy and v0) and drops the `::h<hash>` suffix.
pub fn demangle(name: &str) -> String {
    static HASH: OnceLock<Regex> = OnceLock::new();
    let name = name.trim();
    let name = if name.starts_with("_ZN") || name.starts_with("_R") {
        format!("{:#}", rustc_demangle::demangle(name))
    } else {
        name.to_string()
    };
    re(&HASH, r"::h[0-9a-f]{16}$")
        .replace(&name, "")
        .into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_plugin_writes_the_version_pyz3_reads() {
        let plugin = crate::sanitize::run::PLUGIN;
        let version = crate::sanitize::run::PLUGIN_VERSION;
        assert!(plugin.contains(&format!("\nFORMAT = {version}\n")));
        // Every JSON object the plugin writes names it.
        assert_eq!(
            plugin.matches("json.dumps({").count(),
            plugin.matches("json.dumps({\"version\": FORMAT").count()
        );
        assert_eq!(
            plugin.matches("_rec.write({").count(),
            plugin.matches("_rec.write({\"version\": FORMAT").count()
        );
    }

    #[test]
    fn asan_heap_overflow_with_modules() {
        let log = "=================================================================\n\
==18571==ERROR: AddressSanitizer: heap-buffer-overflow on address 0x602 at pc 0x7fb bp 0x7ff sp 0x7ff\n\
WRITE of size 1 at 0x60200000b578 thread T0\n\
    #0 0x7fb479d06282 in overflow /tmp/exp/bad.c:3 {/tmp/b/bad.so}\n\
    #1 0x7fb479b50f79  (/lib/x86_64-linux-gnu/libffi.so.8+0x6f79) {/lib/x86_64-linux-gnu/libffi.so.8}\n\
    #2 0x7fb479b67179 in _ZN4demo4fill17h0123456789abcdefE /src/lib.rs:12:5 {/tmp/b/demo.so}\n\
\n\
SUMMARY: AddressSanitizer: heap-buffer-overflow /tmp/exp/bad.c:3 in overflow\n";
        let r = parse(log);
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].subkind, "heap-buffer-overflow");
        assert!(r[0].message.contains("WRITE of size 1"), "{}", r[0].message);
        assert_eq!(r[0].frames.len(), 3);
        assert_eq!(r[0].frames[0].function, "overflow");
        assert_eq!(r[0].frames[0].file.as_deref(), Some("/tmp/exp/bad.c"));
        assert_eq!(r[0].frames[0].line, Some(3));
        assert_eq!(r[0].frames[0].module.as_deref(), Some("/tmp/b/bad.so"));
        assert_eq!(
            r[0].frames[1].module.as_deref(),
            Some("/lib/x86_64-linux-gnu/libffi.so.8")
        );
        assert_eq!(r[0].frames[2].function, "demo::fill");
        assert_eq!(r[0].frames[2].line, Some(12));
    }

    #[test]
    fn default_format_frames() {
        let f =
            parse_frame("    #4 0x55 in PyObject_Call (/usr/lib/libpython3.11.so+0x1234)").unwrap();
        assert_eq!(f.function, "PyObject_Call");
        assert_eq!(f.module.as_deref(), Some("/usr/lib/libpython3.11.so"));
        let f = parse_frame("    #0 0x55 in <demo::Thing as core::ops::Drop>::drop src/lib.rs:7:9")
            .unwrap();
        assert_eq!(f.function, "<demo::Thing as core::ops::Drop>::drop");
        assert_eq!(f.file.as_deref(), Some("src/lib.rs"));
    }

    #[test]
    fn leaks_tsan_ubsan() {
        let log = "==1==ERROR: LeakSanitizer: detected memory leaks\n\nDirect leak of 40 byte(s) in 1 object(s) allocated from:\n    #0 0x1 in malloc x.c:1 {libasan.so}\n    #1 0x2 in leaky src/lib.rs:3 {/m.so}\n\nIndirect leak of 8 byte(s) in 1 object(s) allocated from:\n    #0 0x1 in malloc x.c:1\n\nSUMMARY: AddressSanitizer: 48 byte(s) leaked in 2 allocation(s).\n\
==================\nWARNING: ThreadSanitizer: data race (pid=5)\n  Write of size 8 at 0x7b by thread T1:\n    #0 0x3 in race::bump src/lib.rs:9:13 {/m.so}\n\n  Previous write of size 8 at 0x7b by thread T2:\n    #0 0x3 in race::bump src/lib.rs:9:13 {/m.so}\n\nSUMMARY: ThreadSanitizer: data race src/lib.rs:9:13 in race::bump\n==================\n\
bad.c:4:26: runtime error: signed integer overflow: 5 + 2147483647 cannot be represented in type 'int'\n    #0 0x7 in add /tmp/exp/bad.c:4\n";
        let r = parse(log);
        let kinds: Vec<&str> = r.iter().map(|r| r.subkind.as_str()).collect();
        assert_eq!(
            kinds,
            ["leak", "leak", "data-race", "signed-integer-overflow"]
        );
        assert_eq!(
            r[0].message,
            "Direct leak of 40 byte(s) in 1 object(s) allocated from"
        );
        assert_eq!(r[0].frames[1].function, "leaky");
        assert_eq!(r[2].frames.len(), 2);
        assert_eq!(r[3].frames[0].function, "add");
        assert!(!r.iter().any(Report::allocated_at_import));
    }

    #[test]
    fn module_state_allocated_at_import_is_told_apart() {
        let leak = |frame: &str| {
            format!(
                "==1==ERROR: LeakSanitizer: detected memory leaks\n\nDirect leak of 112 byte(s) in 1 object(s) allocated from:\n    #0 0x1 in malloc x.c:1\n    #1 0x2 in init src/modules.zig:54 {{/m.so}}\n    #2 0x3 in {frame} src/m.c:9 {{/m.so}}\n\nSUMMARY: AddressSanitizer: 112 byte(s) leaked in 1 allocation(s).\n"
            )
        };
        for (frame, at_import) in [
            ("PyInit_zig_ext", true),
            ("PyModule_ExecDef", true),
            ("stash", false),
        ] {
            let r = parse(&leak(frame));
            assert_eq!(r.len(), 1, "{frame}");
            assert_eq!(r[0].allocated_at_import(), at_import, "{frame}");
        }
    }
}
