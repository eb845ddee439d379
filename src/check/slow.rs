//! Slow inputs and hangs: a call over the time limit is retried once, alone, with ten times the
//! limit before it is called a hang.
//!
//! For the runner. Some inputs are legitimately slow (`math.factorial(10**6)`, a buffer of
//! `2**32 - 1` bytes): a call that finishes within ten times the limit is a [`SlowInput`], noted
//! in the report but not a finding, and never shrunk. A call still running then is a hang, a
//! `timeout` finding; after shrinking, its minimal input is retried the same way, so that a
//! function whose time only grows with its input (shrinking finds the input that just crosses the
//! limit) is reported slow, not hung.

use super::pool::{Event, Phase};
use super::protocol::{Reply, Request, Setup};
use super::runner::{case_deadline, case_pickle, crash_observation, start, CheckOptions};
pub use crate::report::run::SlowInput;
pub use crate::report::text::duration_text;
use crate::report::{FindingKind, Observation};
use crate::value::Value;

/// How much longer than the limit a retried call may run.
pub const RETRY_FACTOR: u64 = crate::report::run::SLOW_FACTOR;

/// Slow inputs retried per function, at most: each retry may cost ten times the limit. Later
/// calls over the limit are counted, not retried.
pub const MAX_RETRIES: usize = 3;

/// What a retry with ten times the limit showed.
#[derive(Clone, Debug)]
pub enum Retry {
    /// The call finished, after this many ms.
    Finished(u64),
    /// Still running at ten times the limit: a hang.
    Hung(Observation),
    /// Something else went wrong in the call (a crash, a `SystemError`): that finding.
    Found(Observation),
}

/// Calls the function once on `args`, in a fresh worker, with ten times the limit.
pub(super) fn retry(setup: &Setup, options: &CheckOptions, args: &[Value]) -> crate::Result<Retry> {
    let mut longer = options.clone();
    longer.timeout_ms = options.timeout_ms.saturating_mul(RETRY_FACTOR);
    let mut setup = setup.clone();
    setup.timeout_ms = longer.timeout_ms;
    let (mut worker, _) = start(&setup, &longer)?;
    worker.send(&Request::Explicit {
        memory: false,
        time_only: true,
    });
    worker.send_case(&case_pickle(args));
    let hung = |ms: u64| {
        Retry::Hung(Observation {
            kind: FindingKind::Timeout,
            message: format!(
                "a call was still running after {ms} ms (limit {} ms, retried alone with {} ms)",
                options.timeout_ms, longer.timeout_ms
            ),
            traceback: None,
        })
    };
    Ok(match worker.recv(case_deadline(&longer)) {
        Event::Reply(Reply::Case {
            finding: Some(o), ..
        }) => Retry::Found(o),
        Event::Reply(Reply::Case { elapsed_ms, .. }) => {
            let ms = elapsed_ms.unwrap_or(0);
            if ms > longer.timeout_ms {
                hung(ms)
            } else {
                Retry::Finished(ms)
            }
        }
        Event::Hung(mark) if mark.phase == Phase::Call => hung(mark.running.as_millis() as u64),
        Event::Hung(_) | Event::Silent => hung(case_deadline(&longer).as_millis() as u64),
        Event::Exited { how, stderr, .. } => Retry::Found(crash_observation(&how, &stderr)),
        Event::Garbled(message) | Event::Reply(Reply::Error { message }) => {
            return Err(crate::Error::Usage(message))
        }
        Event::Reply(other) => {
            return Err(crate::Error::Usage(format!("unexpected reply {other:?}")))
        }
    })
}

/// The slow input of `args` that took `elapsed_ms`.
pub(super) fn slow_input(args: &[Value], elapsed_ms: u64, limit_ms: u64) -> SlowInput {
    let (input, imports) = super::cases::args_source(args);
    SlowInput {
        input,
        imports,
        elapsed_ms,
        limit_ms,
    }
}
