//! `pyz3 fuzz init-ci`: the ClusterFuzzLite files it writes (and refuses to write), and the
//! generated build.sh run as ClusterFuzzLite's builder runs it, whose target finds the planted
//! crash the way `pyz3 fuzz` does.

use super::command::c_extension;
use super::*;
use std::os::unix::fs::PermissionsExt;

const FILES: [&str; 5] = [
    ".clusterfuzzlite/project.yaml",
    ".clusterfuzzlite/Dockerfile",
    ".clusterfuzzlite/build.sh",
    ".github/workflows/cflite_pr.yml",
    ".github/workflows/cflite_batch.yml",
];

fn read(dir: &Path, rel: &str) -> String {
    std::fs::read_to_string(dir.join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// The lines of `text` without their indentation.
fn lines(text: &str) -> Vec<&str> {
    text.lines().map(str::trim).collect()
}

fn has_lines(text: &str, wanted: &[&str]) {
    let got = lines(text);
    for w in wanted {
        assert!(got.contains(w), "no line `{w}` in:\n{text}");
    }
}

#[test]
fn init_ci_writes_the_clusterfuzzlite_files() {
    let tmp = Project::new();
    let out = Pyz3::new(tmp.path())
        .args([
            "fuzz",
            "init-ci",
            "cplant:mean_per",
            "pkg.sub:parse_x",
            "--pyz3-git",
            "https://example.org/pyz3.git",
        ])
        .run();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let dir = tmp.path();
    for f in FILES {
        assert!(dir.join(f).is_file(), "{f} missing: {}", text(&out));
    }
    has_lines(&read(dir, FILES[0]), &["language: python"]);
    let docker = read(dir, FILES[1]);
    let project = dir
        .file_name()
        .unwrap()
        .to_string_lossy()
        .to_ascii_lowercase()
        .replace('.', "_");
    has_lines(
        &docker,
        &[
            "FROM gcr.io/oss-fuzz-base/base-builder-python",
            "&& cargo install --locked cargo-fuzz",
            "ARG PYZ3_GIT=https://example.org/pyz3.git",
            &format!("COPY . $SRC/{project}"),
            &format!("WORKDIR $SRC/{project}"),
            "COPY .clusterfuzzlite/build.sh $SRC/",
        ],
    );
    let build = read(dir, FILES[2]);
    assert!(build.starts_with("#!/bin/bash -eu\n"), "{build}");
    let mode = std::fs::metadata(dir.join(FILES[2]))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o111, 0o111, "build.sh is executable: {mode:o}");
    for t in ["cplant:mean_per", "pkg.sub:parse_x"] {
        assert!(
            build.contains(&format!(
                "pyz3 fuzz export '{t}' --out \"$OUT\" --sanitize \"$pyz3_sanitizer\" --bundle-python"
            )),
            "{build}"
        );
    }
    let syntax = Command::new("bash")
        .args(["-n"])
        .arg(dir.join(FILES[2]))
        .output()
        .unwrap();
    assert!(syntax.status.success(), "bash -n: {}", text(&syntax));
    for (file, mode, seconds) in [(FILES[3], "code-change", 600), (FILES[4], "batch", 3600)] {
        let wf = read(dir, file);
        has_lines(
            &wf,
            &[
                "uses: google/clusterfuzzlite/actions/build_fuzzers@v1",
                "uses: google/clusterfuzzlite/actions/run_fuzzers@v1",
                "language: python",
                "sanitizer: ${{ matrix.sanitizer }}",
                &format!("mode: '{mode}'"),
                &format!("fuzz-seconds: {seconds}"),
                "github-token: ${{ secrets.GITHUB_TOKEN }}",
                "- address",
                "permissions: read-all",
            ],
        );
        // YAML indents with spaces only.
        assert!(!wf.contains('\t'), "{wf}");
    }
    has_lines(&read(dir, FILES[3]), &["pull_request:"]);
    has_lines(&read(dir, FILES[4]), &["schedule:"]);
}

#[test]
fn init_ci_overwrites_nothing_without_force_and_follows_no_symlink() {
    let tmp = Project::new();
    let dir = tmp.path();
    let init = |extra: &[&str]| {
        Pyz3::new(dir)
            .args(["fuzz", "init-ci", "cplant:mean_per"])
            .args(extra)
            .run()
    };
    assert_eq!(init(&[]).status.code(), Some(0));
    // One file changed by hand, one removed: a second run names the first existing file,
    // writes nothing (not even the missing one) and keeps the change.
    std::fs::write(dir.join(FILES[2]), "#!/bin/sh\n# mine\n").unwrap();
    std::fs::remove_file(dir.join(FILES[4])).unwrap();
    let again = init(&[]);
    assert_eq!(again.status.code(), Some(2), "{}", text(&again));
    let err = String::from_utf8_lossy(&again.stderr).to_string();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains(".clusterfuzzlite/project.yaml exists"),
        "{err}"
    );
    assert_eq!(read(dir, FILES[2]), "#!/bin/sh\n# mine\n");
    assert!(!dir.join(FILES[4]).exists(), "nothing written at all");
    // --force writes them all again.
    let forced = init(&["--force"]);
    assert_eq!(forced.status.code(), Some(0), "{}", text(&forced));
    assert!(read(dir, FILES[2]).contains("pyz3 fuzz export 'cplant:mean_per'"));
    assert!(dir.join(FILES[4]).is_file());

    // A planted symlink on the way: refused even with --force, nothing written through it.
    let other = Project::new();
    let elsewhere = Project::new();
    std::os::unix::fs::symlink(elsewhere.path(), other.join(".github")).unwrap();
    let out = Pyz3::new(other.path())
        .args(["fuzz", "init-ci", "cplant:mean_per", "--force"])
        .run();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("is a symbolic link"), "{}", text(&out));
    assert!(!other.join(".clusterfuzzlite").exists());
    assert_eq!(std::fs::read_dir(elsewhere.path()).unwrap().count(), 0);
    // A symlink at a file's own place: refused too, with or without --force, and the file it
    // points to is left as it was.
    let victim = elsewhere.join("victim");
    std::fs::write(&victim, "keep").unwrap();
    std::fs::remove_file(other.join(".github")).unwrap();
    std::fs::create_dir_all(other.join(".clusterfuzzlite")).unwrap();
    std::os::unix::fs::symlink(&victim, other.join(FILES[0])).unwrap();
    for extra in [&[][..], &["--force"][..]] {
        let out = Pyz3::new(other.path())
            .args(["fuzz", "init-ci", "cplant:mean_per"])
            .args(extra)
            .run();
        assert_eq!(out.status.code(), Some(2), "{}", text(&out));
        assert!(
            text(&out).contains("project.yaml is a symbolic link"),
            "{}",
            text(&out)
        );
    }
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep");
    assert!(!other.join(".github").exists());
}

#[test]
fn init_ci_rejects_hostile_names() {
    for bad in [
        "m:f$(touch pwned)",
        "m:f';touch pwned;'",
        "m:f`id`",
        "m;id:f",
        "./m.so:f",
        "m:f g",
        "m:f\nid",
        "m:",
        ":f",
        "m",
    ] {
        let tmp = Project::new();
        let out = Pyz3::new(tmp.path())
            .args(["fuzz", "init-ci", "ok:fine", bad])
            .run();
        assert_eq!(out.status.code(), Some(2), "{bad:?}: {}", text(&out));
        let err = String::from_utf8_lossy(&out.stderr).to_string();
        assert_eq!(err.lines().count(), 1, "{bad:?}: {err}");
        assert!(
            std::fs::read_dir(tmp.path()).unwrap().next().is_none(),
            "{bad:?}: nothing written"
        );
    }
    // Discovered from a module: a function whose name is not an identifier is left out.
    let tmp = Project::new().file(
        "hostmod.py",
        "import sys\n\
         def ok(x: int) -> int:\n    return x\n\
         def _f(x: int) -> int:\n    return x\n\
         setattr(sys.modules[__name__], \"f';touch pwned;'\", _f)\n",
    );
    let out = Pyz3::new(tmp.path())
        .args(["fuzz", "init-ci", "hostmod"])
        .run();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let build = read(tmp.path(), FILES[2]);
    assert!(build.contains("pyz3 fuzz export 'hostmod:ok'"), "{build}");
    assert!(!build.contains("pwned"), "{build}");
    assert!(text(&out).contains("skipped"), "{}", text(&out));
    // pyz3 fuzz export: a place it cannot write to, or a sanitizer it does not build with, is
    // refused before any work.
    let tmp = Project::new();
    std::fs::write(tmp.join("file"), "").unwrap();
    for (args, needle) in [
        (&["--out", "file"][..], "cannot write file"),
        (
            &["--out", "o", "--sanitize", "memory"][..],
            "--sanitize must be",
        ),
        (
            &["--out", "o", "--seeds", "missing"][..],
            "seed directory missing",
        ),
    ] {
        let out = Pyz3::new(tmp.path())
            .args(["fuzz", "export", "m:f"])
            .args(args)
            .run();
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", text(&out));
        let err = String::from_utf8_lossy(&out.stderr).to_string();
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(err.contains(needle), "{args:?}: {err}");
        assert!(!tmp.join("o").exists());
    }
    // A git URL that would not stand in the Dockerfile as it is.
    let tmp = Project::new();
    let out = Pyz3::new(tmp.path())
        .args([
            "fuzz",
            "init-ci",
            "m:f",
            "--pyz3-git",
            "https://x.org/a b\nRUN id",
        ])
        .run();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(std::fs::read_dir(tmp.path()).unwrap().next().is_none());
}

/// The generated build.sh, run as ClusterFuzzLite's builder runs it (OUT, SRC, WORK and
/// SANITIZER set, from the project's directory, pyz3 on PATH), leaves a target in $OUT that
/// libFuzzer runs from anywhere and that finds the planted division by zero of the C extension
/// `pyz3 fuzz` finds it in; `pyz3 fuzz repro` decodes its crash input.
#[test]
fn generated_build_sh_builds_a_target_that_finds_the_planted_crash() {
    let _g = fuzz_lock();
    let tmp = Project::new();
    let dir = tmp.path();
    c_extension(dir);
    let seeds = dir.join("corpora/mean_per");
    std::fs::create_dir_all(&seeds).unwrap();
    std::fs::write(seeds.join("one"), b"\x01\x02\x03").unwrap();
    std::fs::write(seeds.join("two"), b"\x04").unwrap();
    // The module alone: its functions are discovered.
    let init = pyz3(dir).args(["fuzz", "init-ci", "cplant"]).run();
    assert_eq!(init.status.code(), Some(0), "{}", text(&init));
    assert!(
        read(dir, FILES[2]).contains("pyz3 fuzz export 'cplant:mean_per'"),
        "{}",
        read(dir, FILES[2])
    );

    let ci = Project::new();
    let (out_dir, src, work) = (ci.join("out"), ci.join("src"), ci.join("work"));
    for d in [&out_dir, &src, &work] {
        std::fs::create_dir_all(d).unwrap();
    }
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_pyz3")).parent().unwrap();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let build = pyz3(dir)
        .command()
        .get_envs()
        .filter_map(|(k, v)| Some((k.to_owned(), v?.to_owned())))
        .collect::<Vec<_>>();
    let run = Command::new("bash")
        .arg(dir.join(".clusterfuzzlite/build.sh"))
        .current_dir(dir)
        .envs(build)
        .env("PATH", path)
        .env("OUT", &out_dir)
        .env("SRC", &src)
        .env("WORK", &work)
        .env("SANITIZER", "address")
        .output()
        .unwrap();
    assert!(run.status.success(), "build.sh: {}", text(&run));

    let name = "cplant_mean_per";
    let script = out_dir.join(name);
    let mode = std::fs::metadata(&script).unwrap().permissions().mode();
    assert_eq!(mode & 0o111, 0o111, "{mode:o}");
    assert!(read(&out_dir, name).contains("LLVMFuzzerTestOneInput"));
    has_lines(
        &read(&out_dir, &format!("{name}.options")),
        &["[libfuzzer]", "timeout = 10"],
    );
    // The seed corpus is a zip that Python's zipfile reads, with both seeds.
    let listed = Command::new(venv().join("bin/python"))
        .args([
            "-c",
            "import sys, zipfile; z = zipfile.ZipFile(sys.argv[1]); assert z.testzip() is None; \
             print(sorted(z.read(n).hex() for n in z.namelist()))",
        ])
        .arg(out_dir.join(format!("{name}_seed_corpus.zip")))
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&listed.stdout).trim(),
        "['010203', '04']",
        "{}",
        text(&listed)
    );

    // Run as ClusterFuzzLite's runner runs it: from another directory, no virtualenv, the
    // module from the target's own copy.
    let elsewhere = Project::new();
    let arts = elsewhere.join("artifacts");
    std::fs::create_dir_all(&arts).unwrap();
    let fuzz = Command::new(&script)
        .args(["-runs=20000", "-seed=1"])
        .arg(format!("-artifact_prefix={}/", arts.display()))
        .current_dir(elsewhere.path())
        .env_remove("VIRTUAL_ENV")
        .env_remove("PYTHONPATH")
        .env_remove("PYZ3_FUZZ_SPEC")
        .output()
        .unwrap();
    let log = text(&fuzz);
    assert_eq!(fuzz.status.code(), Some(1), "libFuzzer's crash exit: {log}");
    assert!(log.contains("AddressSanitizer: FPE"), "{log}");
    assert!(log.contains("in mean_per"), "{log}");
    let crashes = artifacts(&arts);
    assert_eq!(crashes.len(), 1, "{log}");
    assert!(crashes[0]
        .file_name()
        .unwrap()
        .to_string_lossy()
        .starts_with("crash-"));
    // The interpreter it ran is the copy beside it: without its standard library it cannot
    // start.
    let stdlib = std::fs::read_dir(out_dir.join("pyz3-python/lib"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.is_dir())
        .expect("lib/pythonX.Y");
    let encodings = stdlib.join("encodings");
    let moved = elsewhere.join("encodings");
    std::fs::rename(&encodings, &moved).unwrap();
    let broken = Command::new(&script)
        .arg("-runs=1")
        .current_dir(elsewhere.path())
        .env_remove("VIRTUAL_ENV")
        .output()
        .unwrap();
    std::fs::rename(&moved, &encodings).unwrap();
    assert!(!broken.status.success(), "{}", text(&broken));
    assert!(text(&broken).contains("encodings"), "{}", text(&broken));
    // The same target: pyz3 decodes the input ClusterFuzzLite would report.
    let r = pyz3(dir)
        .args([
            "fuzz",
            "repro",
            crashes[0].to_str().unwrap(),
            "--target",
            "cplant:mean_per",
        ])
        .run();
    assert!(r.status.success(), "{}", text(&r));
    assert!(
        String::from_utf8_lossy(&r.stdout).starts_with("mean_per(["),
        "{}",
        text(&r)
    );
}
