//! Deterministic sampling of a strategy: what `pyz3 sample` prints and measures.
//!
//! For the CLI and for users who want example values outside a test: the same seed gives the
//! same values, on every machine. The seeded runner itself is [`crate::strategy::seeded`]
//! (re-exported here); this module adds what `pyz3 sample` measures.

use std::time::{Duration, Instant};

use crate::strategy::ValueStrategy;
use crate::value::Value;

pub use crate::strategy::seeded::{sample, seeded_runner, seeded_runner_with};

/// Throughput of generating values and turning each into a live Python object.
#[derive(Clone, Copy, Debug)]
pub struct SampleStats {
    /// Values generated and converted.
    pub count: usize,
    /// Wall time for all of them.
    pub elapsed: Duration,
}

impl SampleStats {
    /// Examples per second.
    pub fn per_second(&self) -> f64 {
        self.count as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// Generates `n` values and builds each as a live object in `interpreter` (a worker process:
/// the values go there pickled and are unpickled one by one), timing the whole.
pub fn measure(
    interpreter: &crate::project::Interpreter,
    strategy: &ValueStrategy,
    n: usize,
    seed: u64,
) -> crate::Result<SampleStats> {
    use crate::check::pool::{Event, Spawn, Worker};
    use crate::check::protocol::{Reply, Request};
    let failed = |what: String| crate::Error::Python {
        context: format!("building values in {}", interpreter.executable.display()),
        message: what,
    };
    let mut worker = Worker::spawn(&Spawn {
        python: &interpreter.executable,
        free_threaded: interpreter.free_threaded,
        call_limit: Duration::from_secs(60),
        env: &interpreter.env,
    })
    .map_err(|e| failed(e.to_string()))?;
    let start = Instant::now();
    worker.send(&Request::Init {
        pickle_helpers: crate::value::PICKLE_HELPERS.to_string(),
    });
    worker.send(&Request::Load { count: n as u64 });
    let mut count = 0;
    for v in sample(strategy, n, seed) {
        let bytes = crate::value::args_pickle(std::slice::from_ref(&v))
            .map_err(|e| failed(e.to_string()))?;
        if !worker.send_case(&bytes) {
            break;
        }
        count += 1;
    }
    worker.flush();
    match worker.recv(Duration::from_secs(600)) {
        Event::Reply(Reply::Loaded { count: loaded }) if loaded == count as u64 => {}
        Event::Reply(Reply::Error { message }) => return Err(failed(message)),
        Event::Exited { how, stderr, .. } => {
            let last = stderr.lines().last().unwrap_or_default().to_string();
            return Err(failed(format!("the interpreter {how}: {last}")));
        }
        other => return Err(failed(format!("unexpected answer {other:?}"))),
    }
    Ok(SampleStats {
        count,
        elapsed: start.elapsed(),
    })
}

/// Upper bounds (in bits of `|x|`) of the buckets of [`IntMagnitudes`]; the last bucket is
/// everything above.
pub const MAGNITUDE_BITS: [u64; 5] = [4, 10, 20, 32, 64];

/// How big the ints among sampled values are: how many fall in each magnitude bucket
/// (`|x| < 2^4`, `< 2^10`, `< 2^20`, `< 2^32`, `< 2^64`, larger), counting ints inside containers
/// too. What `pyz3 sample --stats` prints, to see how often huge ints are drawn.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct IntMagnitudes {
    /// Counts per bucket, smallest first.
    pub buckets: [u64; 6],
}

impl IntMagnitudes {
    /// The magnitudes of the ints in `n` values drawn from `strategy` with `seed`.
    pub fn of(strategy: &ValueStrategy, n: usize, seed: u64) -> Self {
        let mut m = IntMagnitudes::default();
        for v in sample(strategy, n, seed) {
            m.add(&v, 0);
        }
        m
    }

    /// All the ints counted.
    pub fn total(&self) -> u64 {
        self.buckets.iter().sum()
    }

    fn add(&mut self, v: &Value, depth: u32) {
        if depth > 64 {
            return;
        }
        let mut each = |items: &mut dyn Iterator<Item = &Value>| {
            for x in items {
                self.add(x, depth + 1);
            }
        };
        match v {
            Value::Int(i) => {
                let bits = i.bits();
                let b = MAGNITUDE_BITS.iter().position(|&max| bits <= max);
                self.buckets[b.unwrap_or(MAGNITUDE_BITS.len())] += 1;
            }
            Value::List(x) | Value::Tuple(x) | Value::Set(x) | Value::FrozenSet(x) => {
                each(&mut x.iter())
            }
            Value::Deque { items, .. } => each(&mut items.iter()),
            Value::Dict(p) | Value::Counter(p) | Value::OrderedDict(p) => {
                each(&mut p.iter().flat_map(|(k, v)| [k, v]))
            }
            Value::DefaultDict { items, .. } => each(&mut items.iter().flat_map(|(k, v)| [k, v])),
            _ => {}
        }
    }
}
