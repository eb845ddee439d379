//! The memory-growth check: repeated calls with the same input must not keep allocating.
//!
//! For the worker, which runs with `PYTHONMALLOC=malloc` so that Python objects and native
//! (Rust, C) allocations all go through malloc; glibc's `mallinfo2` then counts both. After a
//! warm-up and `gc.collect()`, the heap in use is sampled after each of several rounds of calls;
//! only growth in every round, of at least a few bytes per call, that doubles when the calls per
//! round double, is a leak.

use std::time::Duration;

use pyo3::prelude::*;
use pyo3::types::PyTuple;

use super::finding::{FindingKind, Observation};

const ROUNDS: usize = 5;
/// Smallest growth per call reported (below this, allocator noise).
const MIN_BYTES_PER_CALL: f64 = 16.0;

#[repr(C)]
#[derive(Default)]
struct MallInfo2 {
    arena: usize,
    ordblks: usize,
    smblks: usize,
    hblks: usize,
    hblkhd: usize,
    usmblks: usize,
    fsmblks: usize,
    uordblks: usize,
    fordblks: usize,
    keepcost: usize,
}

extern "C" {
    fn mallinfo2() -> MallInfo2;
}

/// Bytes in use on the malloc heap (small blocks plus mmapped ones).
pub fn heap_in_use() -> usize {
    // SAFETY: glibc's mallinfo2 has no preconditions.
    let m = unsafe { mallinfo2() };
    m.uordblks + m.hblkhd
}

/// Collects the young generations: garbage made by the calls of one round is there, and a full
/// collection (which walks every object the interpreter and its modules hold) would cost more
/// than the calls themselves.
fn collect(py: Python<'_>) -> PyResult<()> {
    py.import("gc")?.call_method1("collect", (1,))?;
    Ok(())
}

/// Growth in every round, of at least [`MIN_BYTES_PER_CALL`]: `(bytes, calls)`.
fn grows<'py>(
    py: Python<'py>,
    args: &Bound<'py, PyTuple>,
    per_round: usize,
    call: &impl Fn(&Bound<'py, PyTuple>),
) -> PyResult<Option<(f64, f64)>> {
    collect(py)?;
    let mut last = heap_in_use();
    let start = last;
    let mut every_round = true;
    for _ in 0..ROUNDS {
        for _ in 0..per_round {
            call(args);
        }
        collect(py)?;
        let now = heap_in_use();
        every_round &= now > last;
        last = now;
    }
    let total = last as f64 - start as f64;
    let calls = (ROUNDS * per_round) as f64;
    Ok((every_round && total / calls >= MIN_BYTES_PER_CALL).then_some((total, calls)))
}

/// Runs rounds of calls on `args`; `one_call` is the duration of a single call, used to keep the
/// check within about a fifth of a second.
pub fn check<'py>(
    py: Python<'py>,
    args: &Bound<'py, PyTuple>,
    one_call: Duration,
    call: impl Fn(&Bound<'py, PyTuple>),
) -> PyResult<Option<Observation>> {
    let per_call = one_call.as_secs_f64().max(1e-7);
    // About 40 ms per round; slow functions get few calls (and a short check).
    let per_round = ((0.04 / per_call) as usize).clamp(3, 200);
    for _ in 0..per_round.min(50) {
        call(args);
    }
    let Some((total, calls)) = grows(py, args, per_round, &call)? else {
        return Ok(None);
    };
    // Caches fill up and stop; leaks go on. Confirm with twice as many calls per round: a leak
    // grows twice as much per round, while growth that comes with each round (the collector's
    // own bookkeeping, say) does not.
    let Some((total2, calls2)) = grows(py, args, per_round * 2, &call)? else {
        return Ok(None);
    };
    if total2 / calls2 < 0.75 * (total / calls) {
        return Ok(None);
    }
    Ok(Some(Observation {
            kind: FindingKind::MemoryLeak,
            message: format!(
                "memory in use grew in each of {ROUNDS} rounds of {per_round} calls with the same input, \
                 and again with twice as many: {:.0} bytes per call ({} bytes over {} calls; \
                 Python and native allocations)",
                total / calls,
                total as i64,
                calls as u64
            ),
            traceback: None,
    }))
}
