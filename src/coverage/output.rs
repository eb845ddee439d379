//! Writing a [`CoverageReport`]: the terminal table, JSON, an lcov tracefile and an HTML report
//! with per-line counts.

use std::fmt::Write as _;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;

use super::{Counts, CoverageReport, FileCoverage};

/// Lines as ranges: `6, 12-14`.
pub fn ranges(lines: &[u32]) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let start = lines[i];
        let mut end = start;
        while i + 1 < lines.len() && lines[i + 1] == end + 1 {
            i += 1;
            end = lines[i];
        }
        out.push(if start == end {
            start.to_string()
        } else {
            format!("{start}-{end}")
        });
        i += 1;
    }
    out.join(", ")
}

fn cell(c: Option<Counts>) -> String {
    match c {
        Some(c) if c.total > 0 => format!("{}/{} {:5.1}%", c.covered, c.total, c.percent()),
        Some(_) => "-".into(),
        None => "n/a".into(),
    }
}

impl CoverageReport {
    /// The per-file table: lines, regions and functions covered, and the lines never run.
    /// `color` marks files below 100% lines.
    pub fn write_table(&self, out: &mut impl Write, color: bool) -> io::Result<()> {
        let t = self.totals();
        writeln!(
            out,
            "\nnative coverage ({}): {} file{}",
            self.tool,
            self.files.len(),
            if self.files.len() == 1 { "" } else { "s" }
        )?;
        if self.files.is_empty() {
            writeln!(
                out,
                "  no source file of the project was compiled into the modules"
            )?;
            return Ok(());
        }
        let width = self
            .files
            .iter()
            .map(|f| f.name.len())
            .max()
            .unwrap_or(4)
            .max(5);
        writeln!(
            out,
            "{:<width$}  {:>18}  {:>18}  {:>16}  Missing lines",
            "File", "Lines", "Regions", "Functions"
        )?;
        for f in &self.files {
            let mut missing = ranges(&f.missing());
            if missing.len() > 60 {
                // The full list is in --html, --lcov and the JSON.
                let cut = missing[..60].rfind(", ").unwrap_or(60);
                missing.truncate(cut);
                missing.push_str(", ...");
            }
            let (on, off) = if color && f.lines.covered < f.lines.total {
                ("\x1b[31m", "\x1b[0m")
            } else {
                ("", "")
            };
            writeln!(
                out,
                "{on}{:<width$}  {:>18}  {:>18}  {:>16}  {}{off}",
                f.name,
                cell(Some(f.lines)),
                cell(f.regions),
                cell(Some(f.functions)),
                missing
            )?;
        }
        writeln!(
            out,
            "{:<width$}  {:>18}  {:>18}  {:>16}",
            "TOTAL",
            cell(Some(t.lines)),
            cell(t.regions),
            cell(Some(t.functions))
        )
    }

    /// The JSON form (schema version 1): `{"version", "tool", "totals": {"lines", "regions",
    /// "functions"}, "files": [{"name", "path", "lines", "regions", "functions",
    /// "missing_lines", "line_counts": [[line, count], ...], "function_list"}]}`, each measure
    /// `{"covered", "total", "percent"}`.
    pub fn to_json(&self) -> serde_json::Value {
        let measure = |c: Option<Counts>| match c {
            Some(c) => serde_json::json!({
                "covered": c.covered, "total": c.total,
                "percent": (c.percent() * 100.0).round() / 100.0,
            }),
            None => serde_json::Value::Null,
        };
        let t = self.totals();
        let files: Vec<_> = self
            .files
            .iter()
            .map(|f| {
                serde_json::json!({
                    "name": f.name,
                    "path": f.path,
                    "lines": measure(Some(f.lines)),
                    "regions": measure(f.regions),
                    "functions": measure(Some(f.functions)),
                    "missing_lines": f.missing(),
                    "line_counts": f.line_counts.iter().map(|(l, c)| [*l as u64, *c]).collect::<Vec<_>>(),
                    "function_list": f.function_list,
                })
            })
            .collect();
        serde_json::json!({
            "version": 1,
            "tool": self.tool,
            "totals": {
                "lines": measure(Some(t.lines)),
                "regions": measure(t.regions),
                "functions": measure(Some(t.functions)),
            },
            "files": files,
        })
    }

    /// An lcov tracefile (`SF`, `FN`, `FNDA`, `DA`, ... records) with absolute paths.
    pub fn write_lcov(&self, out: &mut impl Write) -> io::Result<()> {
        for f in &self.files {
            writeln!(out, "TN:\nSF:{}", f.path.display())?;
            for func in &f.function_list {
                writeln!(out, "FN:{},{}", func.line, func.name)?;
            }
            for func in &f.function_list {
                writeln!(out, "FNDA:{},{}", func.count, func.name)?;
            }
            writeln!(
                out,
                "FNF:{}\nFNH:{}",
                f.functions.total, f.functions.covered
            )?;
            for (line, count) in &f.line_counts {
                writeln!(out, "DA:{line},{count}")?;
            }
            writeln!(
                out,
                "LF:{}\nLH:{}\nend_of_record",
                f.lines.total, f.lines.covered
            )?;
        }
        Ok(())
    }

    /// Writes the HTML report into `dir`: `index.html` (the table, linking to each file) and
    /// one page per source file with every line, its count, and lines never run in red.
    /// Returns the index path.
    pub fn write_html(&self, dir: &Path) -> anyhow::Result<PathBuf> {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        let t = self.totals();
        let mut rows = String::new();
        for (i, f) in self.files.iter().enumerate() {
            let _ = writeln!(
                rows,
                "<tr><td><a href=\"file{i}.html\">{}</a></td>{}{}{}<td class=\"miss\">{}</td></tr>",
                escape(&f.name),
                pct_cell(Some(f.lines)),
                pct_cell(f.regions),
                pct_cell(Some(f.functions)),
                escape(&ranges(&f.missing()))
            );
            let page = file_page(f, &self.tool)?;
            let path = dir.join(format!("file{i}.html"));
            crate::fs::write_atomic(&path, page.as_bytes())?;
        }
        let _ = writeln!(
            rows,
            "<tr class=\"total\"><td>TOTAL</td>{}{}{}<td></td></tr>",
            pct_cell(Some(t.lines)),
            pct_cell(t.regions),
            pct_cell(Some(t.functions))
        );
        let index = format!(
            "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Native coverage</title>\
             <style>{CSS}</style></head><body><h1>Native coverage</h1><p class=\"tool\">{}</p>\
             <table class=\"summary\"><tr><th>File</th><th>Lines</th><th>Regions</th>\
             <th>Functions</th><th>Missing lines</th></tr>\n{rows}</table></body></html>\n",
            escape(&self.tool)
        );
        let path = dir.join("index.html");
        crate::fs::write_atomic(&path, index.as_bytes())?;
        Ok(path)
    }
}

const CSS: &str = "body{font-family:sans-serif;margin:1.5em}\
table{border-collapse:collapse}td,th{padding:2px 10px;text-align:left}\
.summary td,.summary th{border-bottom:1px solid #ddd}.total{font-weight:bold}\
.bar{display:inline-block;width:60px;height:8px;background:#f3b4b4;margin-left:6px}\
.bar span{display:block;height:8px;background:#4caf50}\
.src{font-family:monospace;font-size:13px;border-collapse:collapse}\
.src td{padding:0 8px;white-space:pre}.src .n{color:#888;text-align:right}\
.src .c{text-align:right;color:#555}\
tr.hit td.code{background:#e6f5e6}tr.miss td{background:#ffb3b3}tr.miss td.c{color:#a00;font-weight:bold}\
.tool{color:#666}";

fn pct_cell(c: Option<Counts>) -> String {
    match c {
        Some(c) if c.total > 0 => format!(
            "<td>{}/{} ({:.1}%)<span class=\"bar\"><span style=\"width:{:.0}%\"></span></span></td>",
            c.covered,
            c.total,
            c.percent(),
            c.percent()
        ),
        _ => "<td>-</td>".into(),
    }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn file_page(f: &FileCoverage, tool: &str) -> anyhow::Result<String> {
    let text = std::fs::read_to_string(&f.path)
        .with_context(|| format!("cannot read source file {}", f.path.display()))?;
    let mut body = String::new();
    for (i, line) in text.lines().enumerate() {
        let n = i as u32 + 1;
        let (class, count) = match f.line_counts.get(&n) {
            Some(0) => ("miss", "0".to_string()),
            Some(c) => ("hit", c.to_string()),
            None => ("none", String::new()),
        };
        let _ = writeln!(
            body,
            "<tr class=\"{class}\" id=\"L{n}\"><td class=\"n\">{n}</td><td class=\"c\">{count}</td>\
             <td class=\"code\">{}</td></tr>",
            escape(line)
        );
    }
    Ok(format!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{name}</title>\
         <style>{CSS}</style></head><body><p><a href=\"index.html\">index</a></p><h1>{name}</h1>\
         <p class=\"tool\">lines {} &middot; functions {} &middot; {}</p>\
         <table class=\"src\">\n{body}</table></body></html>\n",
        cell(Some(f.lines)),
        cell(Some(f.functions)),
        escape(tool),
        name = escape(&f.name),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_ranges() {
        assert_eq!(ranges(&[6, 12, 13, 14, 20]), "6, 12-14, 20");
        assert_eq!(ranges(&[]), "");
    }
}
