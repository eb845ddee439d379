//! Coverage of Cython modules by `.pyx` line: the counts of the C that Cython generated, mapped
//! back through the source comments it writes above each statement's code (`/* "mod.pyx":27`).
//!
//! A `.pyx` line's count is the largest count of the C lines of its statement (from its
//! comment to the next one, or to the end of the C function), so a statement whose main path
//! ran is covered even though its error-handling C did not; a line whose C never ran is
//! missing. Functions are the `def`s (Cython's `__pyx_pf_` implementations), at the line of
//! their first statement comment. The generated C itself is left out of the report: it is not
//! the project's source.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::llvm::lexical;
use super::{FileCoverage, FunctionCoverage};
use crate::sanitize::cython::{is_generated, marker, python_name};

/// Whether `path` is C (or C++) that Cython generated.
pub(crate) fn is_cython_c(path: &Path) -> bool {
    if !path
        .extension()
        .is_some_and(|e| e == "c" || e == "cpp" || e == "cc")
    {
        return false;
    }
    let Ok(file) = std::fs::File::open(path) else {
        return false;
    };
    let mut first = String::new();
    let _ = std::io::BufRead::read_line(&mut std::io::BufReader::new(file), &mut first);
    is_generated(&first)
}

/// The `.pyx` file a source comment names: beside the generated C, else under the project
/// root as written, else the project's file of that name (meson hands Cython paths relative to
/// its build directory).
fn resolve(name: &str, c_file: &Path, root: &Path) -> Option<PathBuf> {
    let named = Path::new(name);
    let mut candidates = Vec::new();
    if let Some(dir) = c_file.parent() {
        candidates.push(lexical(&dir.join(named)));
    }
    candidates.push(lexical(&root.join(named)));
    if let Some(file) = named.file_name() {
        candidates.push(root.join(file));
    }
    candidates
        .into_iter()
        .find(|p| p.starts_with(root) && p.is_file())
}

/// The `.pyx` files' coverage from `f`, the coverage of Cython's generated C: one entry per
/// source file its comments name and that exists under `root`.
pub(crate) fn to_pyx(f: &FileCoverage, root: &Path) -> Vec<FileCoverage> {
    let Ok(text) = std::fs::read_to_string(&f.path) else {
        return Vec::new();
    };
    // For each C line (1-based), the statement it belongs to.
    let mut current: Option<(String, u32)> = None;
    let mut owner: Vec<Option<(String, u32)>> = vec![None];
    for line in text.lines() {
        if line.starts_with('}') {
            current = None;
        } else if let Some(m) = marker(line) {
            current = Some(m);
        }
        owner.push(current.clone());
    }
    let mut counts: BTreeMap<String, BTreeMap<u32, u64>> = BTreeMap::new();
    for (&c_line, &count) in &f.line_counts {
        if let Some(Some((pyx, line))) = owner.get(c_line as usize) {
            let slot = counts
                .entry(pyx.clone())
                .or_default()
                .entry(*line)
                .or_default();
            *slot = (*slot).max(count);
        }
    }
    let mut functions: BTreeMap<String, Vec<FunctionCoverage>> = BTreeMap::new();
    for func in &f.function_list {
        // LLVM names a static function `file.c:name`.
        let c_name = func.name.rsplit(':').next().unwrap_or(&func.name);
        if !c_name.starts_with("__pyx_pf_") {
            continue;
        }
        let Some(name) = python_name(c_name) else {
            continue;
        };
        // The first statement comment inside the function's body.
        let first = text
            .lines()
            .skip(func.line as usize)
            .take_while(|l| !l.starts_with('}'))
            .find_map(marker);
        if let Some((pyx, line)) = first {
            functions.entry(pyx).or_default().push(FunctionCoverage {
                name,
                line,
                count: func.count,
            });
        }
    }
    let mut out = Vec::new();
    for (pyx, line_counts) in counts {
        let Some(path) = resolve(&pyx, &f.path, root) else {
            continue;
        };
        let mut function_list = functions.remove(&pyx).unwrap_or_default();
        function_list.sort_by_key(|g| g.line);
        let mut file = FileCoverage {
            name: String::new(),
            path,
            lines: Default::default(),
            // Regions are the C's: they do not map onto `.pyx` lines.
            regions: None,
            functions: Default::default(),
            line_counts,
            function_list,
        };
        file.count_lines();
        file.count_functions();
        out.push(file);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_c_counts_map_to_pyx_lines() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        std::fs::write(
            root.join("m.pyx"),
            "def f(n):\n    if n < 0:\n        raise ValueError\n    return n\n",
        )
        .unwrap();
        let c = "/* Generated by Cython 3.3.1 */\n\
                 static PyObject *__pyx_pf_1m_f(PyObject *n) {\n\
                 \x20 /* \"m.pyx\":2\n * x\n */\n\
                 \x20 t = cmp(n);\n\
                 \x20 /* \"m.pyx\":3\n * x\n */\n\
                 \x20 raise(t);\n\
                 \x20 /* \"m.pyx\":4\n * x\n */\n\
                 \x20 r = n;\n\
                 \x20 error: traceback();\n\
                 }\n";
        let c_path = root.join("m.c");
        std::fs::write(&c_path, c).unwrap();
        assert!(is_cython_c(&c_path));
        // Lines: 6 (cmp), 10 (raise), 14 (r = n), 15 (error path).
        let f = FileCoverage {
            name: "m.c".into(),
            path: c_path,
            lines: Default::default(),
            regions: None,
            functions: Default::default(),
            line_counts: BTreeMap::from([(6, 5), (10, 0), (14, 5), (15, 0)]),
            function_list: vec![FunctionCoverage {
                name: "m.c:__pyx_pf_1m_f".into(),
                line: 2,
                count: 5,
            }],
        };
        let pyx = to_pyx(&f, &root);
        assert_eq!(pyx.len(), 1);
        assert_eq!(pyx[0].path, root.join("m.pyx"));
        assert_eq!(pyx[0].line_counts, BTreeMap::from([(2, 5), (3, 0), (4, 5)]));
        assert_eq!(pyx[0].missing(), vec![3]);
        assert_eq!(pyx[0].function_list[0].name, "f");
        assert_eq!(pyx[0].function_list[0].line, 2);
    }
}
