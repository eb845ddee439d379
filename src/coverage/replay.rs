//! Replaying calls (a fuzz corpus decoded into Python source) against a coverage build, so the
//! coverage report shows what the inputs reached. An input that kills the interpreter or hangs
//! is skipped and the replay resumes after it; LLVM's continuous mode keeps the counts.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

use crate::project::Interpreter;

const SCRIPT: &str = r#"
import importlib, json, sys
spec = json.load(open(sys.argv[1], encoding="utf-8"))
start, at = int(sys.argv[2]), sys.argv[3]
target = importlib.import_module(spec["module"])
for part in spec["function"].split("."):
    target = getattr(target, part)
ns = {spec["function"].rsplit(".", 1)[-1]: target}
for name in spec["imports"]:
    exec("import " + name, ns)
for i in range(start, len(spec["calls"])):
    with open(at, "w") as f:
        f.write(str(i))
    try:
        exec(spec["calls"][i], ns)
    except Exception:
        pass
"#;

/// What a replay did.
#[derive(Clone, Copy, Debug, Default)]
pub struct Replayed {
    /// Calls replayed.
    pub calls: usize,
    /// Calls that killed the interpreter or hung (each skipped).
    pub lost: usize,
}

/// Calls `module.function` with each of `calls` (Python call expressions naming the function by
/// its last dotted component, after `import`ing each of `imports`) in `python`, with `env` set.
/// `timeout` bounds one call.
#[allow(clippy::too_many_arguments)]
pub fn replay(
    python: &Interpreter,
    env: &[(String, String)],
    work: &Path,
    module: &str,
    function: &str,
    imports: &[String],
    calls: &[String],
    timeout: Duration,
) -> anyhow::Result<Replayed> {
    std::fs::create_dir_all(work).with_context(|| format!("cannot create {}", work.display()))?;
    let spec = work.join("calls.json");
    let at = work.join("at");
    let script = work.join("replay.py");
    crate::fs::write(&script, SCRIPT)?;
    crate::fs::write(
        &spec,
        serde_json::to_vec(&serde_json::json!({
            "module": module, "function": function, "imports": imports, "calls": calls,
        }))?,
    )?;
    let mut done = Replayed {
        calls: calls.len(),
        lost: 0,
    };
    let mut start = 0;
    while start < calls.len() {
        let _ = std::fs::remove_file(&at);
        let mut child = Command::new(&python.executable)
            .arg(&script)
            .arg(&spec)
            .arg(start.to_string())
            .arg(&at)
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(crate::fs::create(work.join("stderr.log"))?)
            .spawn()
            .with_context(|| format!("cannot run {}", python.executable.display()))?;
        let _cleanup = crate::process::register_process(child.id());
        let mut current = None;
        let mut since = Instant::now();
        let status = loop {
            if let Some(status) = child.try_wait()? {
                break Some(status);
            }
            let now: Option<usize> = std::fs::read_to_string(&at)
                .ok()
                .and_then(|t| t.trim().parse().ok());
            if now != current {
                current = now;
                since = Instant::now();
            } else if since.elapsed() > timeout {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        if status.is_some_and(|s| s.success()) {
            break;
        }
        let last: Option<usize> = std::fs::read_to_string(&at)
            .ok()
            .and_then(|t| t.trim().parse().ok());
        match last {
            Some(i) if i >= start => {
                done.lost += 1;
                start = i + 1;
            }
            _ => {
                let err = std::fs::read_to_string(work.join("stderr.log")).unwrap_or_default();
                bail!(
                    "the replay of {module}.{function} failed before its first call: {}",
                    err.lines().last().unwrap_or("no output")
                );
            }
        }
    }
    Ok(done)
}
