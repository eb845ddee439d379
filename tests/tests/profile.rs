//! `pyz3 profile`: flamegraphs of the demo extension under a real sampler (valid SVG with the
//! script's Python function and the extension's Rust frames, drawn by headless Chromium),
//! differential flamegraphs, memory figures under memray, and bad input.

use crate::util::{venv_python, Assert, Pyz3};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use pyz3::profile::flamegraph::{self, SamplerKind};
use serde_json::Value as Json;

/// A fresh directory under target/ (kept after the run, for looking at the SVGs).
fn work_dir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("target/test-profile")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A script that spends `seconds` in the demo extension's `mean` (exact big-int summation in
/// Rust), called from the Python function `hot_loop`.
fn hot_script(dir: &Path, seconds: f64) -> PathBuf {
    let script = dir.join("hot.py");
    let source = format!(
        "import sys, time\n\
         sys.path.insert(0, {demo:?})\n\
         import pyz3_demo\n\
         \n\
         def hot_loop(seconds):\n\
         \x20   xs = [float(i) * 1.5 for i in range(2000)]\n\
         \x20   end = time.perf_counter() + seconds\n\
         \x20   while time.perf_counter() < end:\n\
         \x20       pyz3_demo.mean(xs)\n\
         \n\
         hot_loop({seconds})\n",
        demo = crate::check::demo_dir().display().to_string(),
    );
    std::fs::write(&script, source).unwrap();
    script
}

/// Frame titles of an inferno SVG (`name (N samples, P%)`), after checking it is well-formed
/// XML with an `<svg>` root.
fn svg_frame_titles(svg: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(svg).unwrap();
    let doc = roxmltree::Document::parse_with_options(
        &text,
        roxmltree::ParsingOptions {
            allow_dtd: true,
            ..Default::default()
        },
    )
    .unwrap_or_else(|e| panic!("{} is not well-formed XML: {e}", svg.display()));
    assert_eq!(doc.root_element().tag_name().name(), "svg");
    doc.descendants()
        .filter(|n| n.has_tag_name("title"))
        .filter_map(|n| n.text().map(str::to_string))
        .collect()
}

/// The flamegraph of `hot.py`, recorded once and shared by the tests that look at it.
struct Recorded {
    svg: PathBuf,
    folded: PathBuf,
}

fn recorded() -> &'static Recorded {
    static REC: OnceLock<Recorded> = OnceLock::new();
    REC.get_or_init(|| {
        let dir = work_dir("flamegraph");
        let script = hot_script(&dir, 1.5);
        let out = Pyz3::new(&dir)
            .args([
                "profile",
                "--flamegraph",
                "hot.svg",
                "--folded",
                "hot.folded",
                "--rate",
                "200",
                "--",
                venv_python().to_str().unwrap(),
                script.to_str().unwrap(),
            ])
            .run();
        let err = out.stderr_text();
        assert_eq!(out.status.code(), Some(0), "{err}");
        assert!(err.contains("pyz3: recording `"), "{err}");
        assert!(err.contains("with py-spy"), "{err}");
        assert!(err.contains("flamegraph written to hot.svg"), "{err}");
        Recorded {
            svg: dir.join("hot.svg"),
            folded: dir.join("hot.folded"),
        }
    })
}

#[test]
fn flamegraph_has_python_and_extension_frames() {
    let rec = recorded();
    let titles = svg_frame_titles(&rec.svg);
    assert!(
        titles.iter().any(|t| t.starts_with("hot_loop (hot.py)")),
        "no Python frame `hot_loop` in {titles:?}"
    );
    assert!(
        titles.iter().any(|t| t.starts_with("pyz3_demo::mean ")),
        "no extension frame `pyz3_demo::mean` in {titles:?}"
    );
    // Demangled, without the legacy hash.
    assert!(
        !titles
            .iter()
            .any(|t| t.contains("::h") && t.contains("$LT$")),
        "{titles:?}"
    );
    let folded = std::fs::read_to_string(&rec.folded).unwrap();
    assert!(flamegraph::sample_count(&folded) >= 50, "{folded}");
    assert!(folded
        .lines()
        .any(|l| l.contains("hot_loop (hot.py);") && l.contains(";pyz3_demo::mean (lib.rs)")));
}

#[test]
fn flamegraph_draws_in_chromium() {
    let rec = recorded();
    let dir = work_dir("chromium");
    let (buf, channels) =
        crate::common::screenshot(&format!("file://{}", rec.svg.display()), &dir, 1200, 800);
    // The frames' "hot" palette: red 205-255, green 0-230, blue 0-55. The page and the
    // flamegraph's background (#eeeeee to #eeeeb0) have far more blue.
    let warm = buf
        .chunks_exact(channels)
        .filter(|p| p[0] >= 200 && p[2] <= 60 && p[1] <= 235)
        .count();
    let total = 1200 * 800;
    assert!(
        warm > total / 50,
        "only {warm} of {total} pixels have the flamegraph's colours: the frames were not drawn"
    );
}

#[test]
fn differential_flamegraph_is_valid_svg() {
    let dir = work_dir("diff");
    let before = "main (app.py);parse (app.py) 60\nmain (app.py);render (app.py) 40\n";
    let after = "main (app.py);parse (app.py) 20\nmain (app.py);render (app.py) 80\n";
    let svg = dir.join("diff.svg");
    flamegraph::render_diff(before, after, &svg, "parse got faster").unwrap();
    let text = std::fs::read_to_string(&svg).unwrap();
    let titles = svg_frame_titles(&svg);
    // A differential title carries the change of the frame's share: `(N samples, P%; +D%)`.
    let parse = titles.iter().find(|t| t.starts_with("parse (app.py)"));
    let render = titles.iter().find(|t| t.starts_with("render (app.py)"));
    assert!(parse.is_some_and(|t| t.contains("; -")), "{titles:?}");
    assert!(render.is_some_and(|t| t.contains("; +")), "{titles:?}");
    // Shrunk frames blue, grown ones red.
    assert!(text.contains(",255)\""), "no blue frame");
    assert!(text.contains("fill=\"rgb(255,"), "no red frame");
    assert!(text.contains("parse got faster"));

    let err = flamegraph::render_diff("", after, &svg, "x").unwrap_err();
    assert!(err.to_string().contains("no samples"), "{err}");
}

#[test]
fn diff_from_an_earlier_run() {
    let rec = recorded();
    let dir = work_dir("diff-from");
    let script = hot_script(&dir, 0.7);
    let out = Pyz3::new(&dir)
        .args([
            "profile",
            "--flamegraph",
            "diff.svg",
            "--diff-from",
            rec.folded.to_str().unwrap(),
            "--",
            venv_python().to_str().unwrap(),
            script.to_str().unwrap(),
        ])
        .run();
    assert_eq!(out.status.code(), Some(0), "{}", out.stderr_text());
    let titles = svg_frame_titles(&dir.join("diff.svg"));
    assert!(
        titles
            .iter()
            .any(|t| t.starts_with("hot_loop (hot.py)") && t.contains("%;")),
        "{titles:?}"
    );
}

#[test]
fn perf_sampler_gives_native_frames() {
    // perf is the fallback sampler; machines without it are covered by py-spy above.
    let Ok(sampler) = flamegraph::find(SamplerKind::Perf, None) else {
        eprintln!("perf is not installed: the perf sampler was not exercised");
        return;
    };
    let dir = work_dir("perf");
    let script = hot_script(&dir, 1.0);
    let mut cmd = Command::new(venv_python());
    cmd.arg(&script).current_dir(&dir);
    let folded = flamegraph::record(&sampler, &mut cmd, 200).unwrap();
    assert!(
        folded.contains("pyz3_demo::mean"),
        "no extension frame in {folded}"
    );
    assert!(folded.contains("_PyEval_EvalFrameDefault"), "{folded}");
    flamegraph::render(&folded, "perf", &dir.join("perf.svg")).unwrap();
    assert!(!svg_frame_titles(&dir.join("perf.svg")).is_empty());
}

#[test]
fn failing_program_still_gets_its_flamegraph() {
    let dir = work_dir("failing");
    std::fs::write(
        dir.join("fail.py"),
        "import time\n\
         def spin():\n\
         \x20   end = time.perf_counter() + 0.5\n\
         \x20   while time.perf_counter() < end:\n\
         \x20       pass\n\
         spin()\n\
         raise SystemExit(3)\n",
    )
    .unwrap();
    let out = Pyz3::new(&dir)
        .args([
            "profile",
            "--flamegraph",
            "fail.svg",
            "--",
            venv_python().to_str().unwrap(),
            "fail.py",
        ])
        .run();
    let err = out.stderr_text();
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.lines().last().unwrap().starts_with("pyz3: error: `"),
        "{err}"
    );
    assert!(err.contains("failed (exit status 3)"), "{err}");
    assert!(svg_frame_titles(&dir.join("fail.svg"))
        .iter()
        .any(|t| t.starts_with("spin (fail.py)")));
}

#[test]
fn memory_profile_counts_python_and_native_allocations() {
    let dir = work_dir("memory");
    std::fs::write(
        dir.join("mem.py"),
        format!(
            "import sys\n\
             sys.path.insert(0, {demo:?})\n\
             import numpy, pyz3_demo\n\
             keep = bytearray(50 * 1024 * 1024)\n\
             arr = numpy.ones(2_000_000)\n\
             for _ in range(1000):\n\
             \x20   pyz3_demo.leak_memory(1)\n",
            demo = crate::check::demo_dir().display().to_string(),
        ),
    )
    .unwrap();
    let out = Pyz3::new(&dir)
        .args([
            "profile",
            "--memory",
            "--json",
            "mem.json",
            "--",
            venv_python().to_str().unwrap(),
            "mem.py",
        ])
        .run();
    let err = out.stderr_text();
    assert_eq!(out.status.code(), Some(0), "{err}");
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(table.contains("peak memory"), "{table}");
    assert!(err.contains("memory report written to mem.json"), "{err}");

    let report: Json =
        serde_json::from_str(&std::fs::read_to_string(dir.join("mem.json")).unwrap()).unwrap();
    assert_eq!(report["version"], 1);
    assert_eq!(report["exit_code"], 0);
    let bytearray = 50 * 1024 * 1024;
    let numpy = 16_000_000;
    let peak = report["peak_bytes"].as_u64().unwrap();
    assert!(peak >= bytearray + numpy, "peak {peak}");
    assert!(report["allocations"].as_u64().unwrap() > 1000);
    assert!(report["allocated_bytes"].as_u64().unwrap() >= peak);
    let sites = |key: &str| report[key].as_array().unwrap().clone();
    // The bytearray, at its line.
    assert!(
        sites("top_by_bytes").iter().any(|s| s["file"] == "mem.py"
            && s["line"] == 4
            && s["bytes"].as_u64().unwrap() >= bytearray),
        "{report:#}"
    );
    // The Rust extension's 4 KiB blocks, one per call, from the loop's line.
    assert!(
        sites("top_by_count").iter().any(|s| s["file"] == "mem.py"
            && s["line"] == 7
            && s["allocations"].as_u64().unwrap() >= 1000),
        "{report:#}"
    );
}

#[test]
fn bad_input_is_one_line_and_exit_2() {
    let dir = work_dir("bad");
    let out = Pyz3::new(&dir)
        .args([
            "profile",
            "--flamegraph",
            "x.svg",
            "--",
            "/nonexistent/program",
        ])
        .run();
    let err = out.stderr_text();
    assert_eq!(out.status.code(), Some(2), "{err}");
    let last = err.lines().last().unwrap();
    assert!(
        last.starts_with("pyz3: error: cannot start `/nonexistent/program`"),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
    assert!(!dir.join("x.svg").exists());

    // No command after `--`: clap's usage error.
    let out = Pyz3::new(&dir)
        .args(["profile", "--flamegraph", "x.svg"])
        .run();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        out.stderr_text().contains("Usage:"),
        "{}",
        out.stderr_text()
    );

    // Neither --flamegraph nor --memory.
    let out = Pyz3::new(&dir)
        .args(["profile", "--", "python3", "-c", "pass"])
        .run();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        out.stderr_text().contains("Usage:"),
        "{}",
        out.stderr_text()
    );

    // --memory needs a Python program.
    let out = Pyz3::new(&dir)
        .args(["profile", "--memory", "--", "/bin/true"])
        .run();
    let err = out.stderr_text();
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.starts_with("pyz3: error: --memory runs the program under memray"));
}
