//! How `pyz3 doctor`'s checks are written: an aligned table with the install commands for what
//! is missing, or versioned JSON. Generic over [`Write`], so the CLI chooses where they go.

use std::io::{self, Write};

use serde::Serialize;

use super::checks::{all_ok, Check};

/// Version of the JSON form written by [`write_json`].
pub const JSON_VERSION: u32 = 1;

/// Writes the checks as an aligned table (feature, check, status, detail), then one line per
/// distinct install command for what is missing.
pub fn write_table(checks: &[Check], out: &mut impl Write) -> io::Result<()> {
    let fw = checks
        .iter()
        .map(|c| c.feature.len())
        .chain(["feature".len()])
        .max()
        .unwrap_or(0);
    let nw = checks
        .iter()
        .map(|c| c.name.chars().count())
        .chain(["check".len()])
        .max()
        .unwrap_or(0);
    writeln!(
        out,
        "{:<fw$}  {:<nw$}  {:<7}  detail",
        "feature", "check", "status"
    )?;
    for c in checks {
        let (status, detail) = if c.ok {
            ("ok", c.found.clone())
        } else if c.found.is_empty() {
            ("MISSING", c.fix.clone())
        } else if c.fix.is_empty() {
            ("MISSING", c.found.clone())
        } else {
            ("MISSING", format!("{}  ({})", c.fix, c.found))
        };
        let line = format!(
            "{:<fw$}  {:<nw$}  {:<7}  {}",
            c.feature, c.name, status, detail
        );
        writeln!(out, "{}", line.trim_end())?;
    }
    let missing = checks.iter().filter(|c| !c.ok).count();
    writeln!(out)?;
    if missing == 0 {
        writeln!(out, "all {} checks ok", checks.len())?;
        return Ok(());
    }
    writeln!(
        out,
        "{missing} of {} checks missing; to install what is missing:",
        checks.len()
    )?;
    for fix in install_lines(checks) {
        writeln!(out, "  {fix}")?;
    }
    Ok(())
}

/// The install commands for the missing checks, each once, with all `apt-get install` packages
/// on one line and the `pip install` packages of one interpreter on one line.
pub fn install_lines(checks: &[Check]) -> Vec<String> {
    const APT: &str = "apt-get install ";
    const PIP: &str = " -m pip install ";
    let mut apt: Vec<&str> = Vec::new();
    let mut pip: Vec<(&str, Vec<&str>)> = Vec::new();
    let mut other: Vec<&str> = Vec::new();
    for fix in checks.iter().filter(|c| !c.ok && !c.fix.is_empty()) {
        let fix = fix.fix.as_str();
        if let Some(pkgs) = fix.strip_prefix(APT) {
            for p in pkgs.split_whitespace() {
                if !apt.contains(&p) {
                    apt.push(p);
                }
            }
        } else if let Some((python, pkgs)) = fix.split_once(PIP) {
            let at = match pip.iter().position(|(p, _)| *p == python) {
                Some(i) => i,
                None => {
                    pip.push((python, Vec::new()));
                    pip.len() - 1
                }
            };
            for p in pkgs.split_whitespace() {
                if !pip[at].1.contains(&p) {
                    pip[at].1.push(p);
                }
            }
        } else if !other.contains(&fix) {
            other.push(fix);
        }
    }
    let mut lines = Vec::new();
    if !apt.is_empty() {
        lines.push(format!("{APT}{}", apt.join(" ")));
    }
    lines.extend(other.into_iter().map(String::from));
    lines.extend(
        pip.into_iter()
            .map(|(python, pkgs)| format!("{python}{PIP}{}", pkgs.join(" "))),
    );
    lines
}

/// The JSON form: `{"version": 1, "ok": bool, "checks": [Check, ...]}`.
#[derive(Serialize)]
struct JsonReport<'a> {
    version: u32,
    ok: bool,
    checks: &'a [Check],
}

/// Writes the checks as JSON: `{"version": 1, "ok": true|false, "checks": [{"feature", "name",
/// "ok", "found", "fix"}, ...]}`.
pub fn write_json(checks: &[Check], out: &mut impl Write) -> io::Result<()> {
    let report = JsonReport {
        version: JSON_VERSION,
        ok: all_ok(checks),
        checks,
    };
    serde_json::to_writer_pretty(&mut *out, &report)?;
    writeln!(out)
}
