//! The shape of the source tree, as docs/architecture.md describes it: no file over 800 lines,
//! `mod.rs` files that only declare and re-export, no import cycle between the top-level
//! modules of `src/`, and no library code writing to the terminal (only `src/bin/pyz3/` does).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// Most lines a source file may have.
const MAX_LINES: usize = 800;

/// Every file under `dir` whose name ends in one of `exts`, skipping build output.
fn files(dir: &Path, exts: &[&str], out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        let name = e.file_name().to_string_lossy().into_owned();
        if p.is_dir() {
            if ![
                "target",
                ".venv",
                "node_modules",
                ".git",
                "corpus",
                "artifacts",
            ]
            .contains(&name.as_str())
            {
                files(&p, exts, out);
            }
        } else if exts.iter().any(|x| name.ends_with(x)) {
            out.push(p);
        }
    }
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("reading {}: {e}", p.display()))
}

fn rel(p: &Path) -> String {
    p.strip_prefix(ROOT).unwrap_or(p).display().to_string()
}

/// The code of a Rust file without comments and string literals (which may mention
/// `println!` or `crate::x` as text), and without its `#[cfg(test)]` tail.
fn code_of(text: &str) -> String {
    let text = match text.find("#[cfg(test)]") {
        Some(i) => &text[..i],
        None => text,
    };
    let mut out = String::with_capacity(text.len());
    let b = text.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'/' && b.get(i + 1) == Some(&b'/') {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
        } else if b[i] == b'/' && b.get(i + 1) == Some(&b'*') {
            i += 2;
            while i + 1 < b.len() && !(b[i] == b'*' && b[i + 1] == b'/') {
                i += 1;
            }
            i += 2;
        } else if b[i] == b'r' && matches!(b.get(i + 1), Some(b'"') | Some(b'#')) && {
            let prev = if i == 0 { b' ' } else { b[i - 1] };
            !(prev.is_ascii_alphanumeric() || prev == b'_')
        } {
            // A raw string: r"..." or r#"..."#.
            let mut j = i + 1;
            let mut hashes = 0;
            while b.get(j) == Some(&b'#') {
                hashes += 1;
                j += 1;
            }
            if b.get(j) != Some(&b'"') {
                out.push('r');
                i += 1;
                continue;
            }
            j += 1;
            let close: Vec<u8> = std::iter::once(b'"')
                .chain(std::iter::repeat_n(b'#', hashes))
                .collect();
            while j < b.len() && !b[j..].starts_with(&close) {
                j += 1;
            }
            i = j + close.len();
            out.push_str("\"\"");
        } else if b[i] == b'"' {
            i += 1;
            while i < b.len() && b[i] != b'"' {
                if b[i] == b'\\' {
                    i += 1;
                } else if b[i] == b'\n' {
                    out.push('\n');
                }
                i += 1;
            }
            i += 1;
            out.push_str("\"\"");
        } else if b[i] == b'\'' && b.get(i + 2) == Some(&b'\'') {
            // A character literal such as '"'.
            out.push_str("' '");
            i += 3;
        } else {
            let c = text[i..].chars().next().unwrap();
            out.push(c);
            i += c.len_utf8();
        }
    }
    out
}

#[test]
fn no_source_file_is_over_800_lines() {
    let mut all = Vec::new();
    for d in ["src", "tests", "benches", "harness", "fuzz", "scripts"] {
        files(&Path::new(ROOT).join(d), &[".rs", ".py", ".sh"], &mut all);
    }
    assert!(all.len() > 50, "only {} files found", all.len());
    let long: Vec<String> = all
        .iter()
        .filter_map(|p| {
            let n = read(p).lines().count();
            (n > MAX_LINES).then(|| format!("{}: {n} lines", rel(p)))
        })
        .collect();
    assert!(
        long.is_empty(),
        "files over {MAX_LINES} lines:\n{}",
        long.join("\n")
    );
}

/// The statements of a `mod.rs` that are not declarations (`mod`), re-exports (`pub use`) or
/// attributes on them.
fn non_declarations(text: &str) -> Vec<String> {
    let code = code_of(text);
    let mut bad = Vec::new();
    let mut rest = code.as_str();
    while let Some(end) = rest.find([';', '{']) {
        let mut stmt = rest[..end].trim().to_string();
        let mut next = &rest[end + 1..];
        if rest.as_bytes()[end] == b'{' {
            // `pub use a::{b, c};` keeps going to its `;`; a `mod x { ... }` body is code.
            if stmt.contains("use ") {
                let semi = next.find(';').unwrap_or(next.len());
                stmt.push_str(&next[..semi]);
                next = &next[(semi + 1).min(next.len())..];
            } else {
                bad.push(format!("{stmt} {{ ... }}"));
                return bad;
            }
        }
        // Attributes and inner attributes before the item.
        let mut item = stmt.as_str();
        while item.starts_with('#') {
            match item.find(']') {
                Some(i) => item = item[i + 1..].trim_start(),
                None => break,
            }
        }
        let words: Vec<&str> = item.split_whitespace().collect();
        let ok = match words.as_slice() {
            [] => true,
            ["mod", ..] => true,
            [vis, "mod", ..] if vis.starts_with("pub") => true,
            [vis, "use", ..] if vis.starts_with("pub") => true,
            _ => false,
        };
        if !ok {
            bad.push(item.chars().take(80).collect());
        }
        rest = next;
    }
    if !rest.trim().is_empty() {
        bad.push(rest.trim().chars().take(80).collect());
    }
    bad
}

#[test]
fn mod_rs_files_only_declare_and_re_export() {
    assert_eq!(
        non_declarations("//! Docs.\n#[cfg(x)]\npub mod a;\nmod b;\npub use a::{X,\n Y};\n"),
        Vec::<String>::new()
    );
    assert_eq!(
        non_declarations("pub mod a;\nfn f() {}\n"),
        vec!["fn f() { ... }"]
    );
    assert_eq!(
        non_declarations("pub const X: u8 = 1;\n"),
        vec!["pub const X: u8 = 1"]
    );
    let mut all = Vec::new();
    files(&Path::new(ROOT).join("src"), &["mod.rs"], &mut all);
    assert!(all.len() >= 5, "only {} mod.rs files", all.len());
    let bad: Vec<String> = all
        .iter()
        .filter_map(|p| {
            let b = non_declarations(&read(p));
            (!b.is_empty()).then(|| format!("{}: {}", rel(p), b.join(" | ")))
        })
        .collect();
    assert!(
        bad.is_empty(),
        "mod.rs files with code:\n{}",
        bad.join("\n")
    );
}

/// The top-level modules of `src/` (files and folders, not `lib.rs` or `bin/`), each with the
/// other top-level modules its code names as `crate::name`.
fn module_graph() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(ROOT).join("src");
    let mut modules = BTreeMap::new();
    for e in std::fs::read_dir(&src).unwrap().flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let module = name.trim_end_matches(".rs").to_string();
        if module == "lib" || module == "bin" || (e.path().is_file() && !name.ends_with(".rs")) {
            continue;
        }
        let mut fs = Vec::new();
        if e.path().is_dir() {
            files(&e.path(), &[".rs"], &mut fs);
        } else {
            fs.push(e.path());
        }
        let deps: &mut BTreeSet<String> = modules.entry(module.clone()).or_default();
        for f in fs {
            let code = code_of(&read(&f));
            deps.extend(crate_refs(&code));
        }
        deps.remove(&module);
    }
    let names: BTreeSet<String> = modules.keys().cloned().collect();
    for deps in modules.values_mut() {
        deps.retain(|d| names.contains(d));
    }
    modules
}

/// The names after `crate::`, including each name of a `crate::{a, b::c}` group.
fn crate_refs(code: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for (i, _) in code.match_indices("crate::") {
        let before = code[..i].chars().last();
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '$') {
            continue; // `pyz3_crate::`, `$crate::`
        }
        let rest = &code[i + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let mut depth = 1;
            let mut item = String::new();
            let mut at_start = true;
            for c in group.chars() {
                match c {
                    '{' => depth += 1,
                    '}' => {
                        depth -= 1;
                        if depth == 0 {
                            break;
                        }
                    }
                    ',' if depth == 1 => {
                        at_start = true;
                        continue;
                    }
                    _ => {}
                }
                if depth == 1 && at_start {
                    if c.is_alphanumeric() || c == '_' {
                        item.push(c);
                    } else if !item.is_empty() {
                        out.insert(std::mem::take(&mut item));
                        at_start = false;
                    }
                }
            }
            if !item.is_empty() {
                out.insert(item);
            }
        } else {
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            out.insert(name);
        }
    }
    out
}

/// The strongly connected components with more than one module (Tarjan's algorithm).
fn cycles(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    struct State<'a> {
        graph: &'a BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on_stack: BTreeSet<&'a str>,
        out: Vec<Vec<String>>,
    }
    fn visit<'a>(s: &mut State<'a>, v: &'a str) {
        let i = s.index.len();
        s.index.insert(v, i);
        s.low.insert(v, i);
        s.stack.push(v);
        s.on_stack.insert(v);
        for w in s.graph.get(v).into_iter().flatten() {
            let w = w.as_str();
            if !s.index.contains_key(w) {
                visit(s, w);
                let lw = s.low[w];
                let lv = s.low.get_mut(v).unwrap();
                *lv = (*lv).min(lw);
            } else if s.on_stack.contains(w) {
                let iw = s.index[w];
                let lv = s.low.get_mut(v).unwrap();
                *lv = (*lv).min(iw);
            }
        }
        if s.low[v] == s.index[v] {
            let mut scc = Vec::new();
            while let Some(w) = s.stack.pop() {
                s.on_stack.remove(w);
                scc.push(w.to_string());
                if w == v {
                    break;
                }
            }
            if scc.len() > 1 {
                scc.sort();
                s.out.push(scc);
            }
        }
    }
    let mut s = State {
        graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        out: Vec::new(),
    };
    for v in graph.keys() {
        if !s.index.contains_key(v.as_str()) {
            visit(&mut s, v);
        }
    }
    s.out
}

#[test]
fn top_level_modules_import_each_other_without_cycles() {
    let refs =
        crate_refs("use crate::{fs::{a, b}, report::X};\nlet x = crate::value::Value::None;");
    assert_eq!(
        refs.into_iter().collect::<Vec<_>>(),
        ["fs", "report", "value"]
    );
    let toy: BTreeMap<String, BTreeSet<String>> = [("a", "b"), ("b", "c"), ("c", "a"), ("d", "a")]
        .iter()
        .map(|(k, v)| (k.to_string(), [v.to_string()].into()))
        .collect();
    assert_eq!(cycles(&toy), vec![vec!["a", "b", "c"]]);
    let graph = module_graph();
    assert!(graph.len() >= 10, "{graph:?}");
    let found = cycles(&graph);
    let detail: Vec<String> = found
        .iter()
        .map(|scc| {
            scc.iter()
                .map(|m| {
                    let deps: Vec<&String> = graph[m].iter().filter(|d| scc.contains(d)).collect();
                    format!("{m} -> {deps:?}")
                })
                .collect::<Vec<_>>()
                .join(", ")
        })
        .collect();
    assert!(found.is_empty(), "import cycles:\n{}", detail.join("\n"));
}

/// Writes to the terminal allowed outside the CLI: (file, why).
const MAY_PRINT: &[(&str, &str)] = &[(
    "src/fuzz/runtime.rs",
    "runs inside the fuzz target binary: the finding line on stderr is its wire protocol",
)];

#[test]
fn only_the_cli_writes_to_the_terminal() {
    let printing = [
        "println!",
        "print!",
        "eprintln!",
        "eprint!",
        "dbg!",
        "stdout()",
        "stderr()",
    ];
    let mut all = Vec::new();
    files(&Path::new(ROOT).join("src"), &[".rs"], &mut all);
    let bad: Vec<String> = all
        .iter()
        .filter(|p| !rel(p).starts_with("src/bin/"))
        .filter(|p| !MAY_PRINT.iter().any(|(f, _)| rel(p) == *f))
        .flat_map(|p| {
            let code = code_of(&read(p));
            code.lines()
                .enumerate()
                .filter(|(_, l)| {
                    printing.iter().any(|w| {
                        l.match_indices(w).any(|(i, _)| {
                            // `stdout()` as a word, not `child_stdout()` or `.stdout(`.
                            let before = l[..i].chars().last();
                            !before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '.')
                                || !w.ends_with("()")
                        })
                    })
                })
                .map(|(n, l)| format!("{}:{}: {}", rel(p), n + 1, l.trim()))
                .collect::<Vec<_>>()
        })
        .collect();
    assert!(
        bad.is_empty(),
        "library code writing to the terminal:\n{}",
        bad.join("\n")
    );
}

/// The top-level modules of `src/` (folders and files, without `lib.rs` and the CLI).
fn top_level_modules() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(Path::new(ROOT).join("src"))
        .unwrap()
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            if e.path().is_dir() {
                (name != "bin").then_some(name)
            } else {
                name.strip_suffix(".rs")
                    .filter(|n| *n != "lib")
                    .map(str::to_string)
            }
        })
        .collect();
    names.sort();
    names
}

/// The README's Layout section and docs/architecture.md name every top-level module, and
/// nothing that is not one.
#[test]
fn the_readme_and_the_architecture_page_name_every_module() {
    let modules = top_level_modules();
    assert!(modules.len() > 10, "{modules:?}");
    let readme = read(&Path::new(ROOT).join("README.md"));
    let layout = readme
        .split("## Layout")
        .nth(1)
        .expect("a Layout section in README.md");
    let arch = read(&Path::new(ROOT).join("docs/architecture.md"));
    let mut missing = Vec::new();
    for m in &modules {
        let dir = Path::new(ROOT).join("src").join(m).is_dir();
        let in_readme = if dir {
            layout.contains(&format!("src/{m}/"))
        } else {
            layout.contains(&format!("src/{m}.rs"))
        };
        if !in_readme {
            missing.push(format!("README.md Layout: src/{m}"));
        }
        let named = [format!("`{m}`"), format!("`{m}/`")];
        if !named.iter().any(|n| arch.contains(n.as_str())) {
            missing.push(format!("docs/architecture.md: `{m}`"));
        }
    }
    // Nothing named that does not exist.
    let re = regex::Regex::new(r"src/([a-z_]+)(/|\.rs)").unwrap();
    for c in re.captures_iter(layout) {
        let name = &c[1];
        if name != "bin" && !modules.iter().any(|m| m == name) {
            missing.push(format!(
                "README.md Layout names src/{name}, which does not exist"
            ));
        }
    }
    assert!(missing.is_empty(), "not described:\n{}", missing.join("\n"));
}
