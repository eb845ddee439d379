//! Reading a `pyz3 check --json` report in tests.

use serde_json::Value as Json;

/// (function, kind) of every finding, sorted.
pub fn found(report: &Json) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for f in report["functions"].as_array().unwrap() {
        for x in f["findings"].as_array().unwrap() {
            out.push((
                f["name"].as_str().unwrap().to_string(),
                x["kind"].as_str().unwrap().to_string(),
            ));
        }
    }
    out.sort();
    out
}

/// The first finding of `function` (the test fails when it has none).
pub fn finding<'a>(report: &'a Json, function: &str) -> &'a Json {
    report["functions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == function)
        .and_then(|f| f["findings"].as_array().unwrap().first())
        .unwrap_or_else(|| panic!("no finding in {function}\n{report:#}"))
}
