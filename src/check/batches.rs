//! The ordinary cases of one function, run in batches by one worker at a time.
//!
//! For [`super::runner`]. Cases are generated here and sent, pickled, a batch ahead of the
//! replies; a worker that crashes or hangs is replaced and its watch page says which case,
//! and whose code, went wrong (see [`super::pool`]).

use std::collections::{BTreeMap, BTreeSet};

use super::pool::{bytes_list_pickle, push_frame, Event, Mark, Phase, Worker};
use super::protocol::{Reply, Request, Setup};
use super::runner::{
    attribute, case_deadline, case_deadline_with, case_pickle, crash_observation, start,
    timeout_observation, CheckOptions,
};
use super::slow::{retry, slow_input, Retry, SlowInput, MAX_RETRIES};
use crate::report::{FindingKind, Observation};
use crate::strategy::ValueStrategy;
use crate::Error;

/// The cases of one function, run in batches.
pub(super) struct Batches<'a> {
    /// Its `no_result_work` is set here when pyz3's own work on a result fails.
    pub(super) setup: &'a mut Setup,
    pub(super) options: &'a CheckOptions,
    pub(super) strategies: &'a [ValueStrategy],
    pub(super) first: &'a mut BTreeMap<FindingKind, (u64, Observation)>,
    /// A few later cases of each kind found: shrunk when the first does not replay alone.
    pub(super) later: &'a mut BTreeMap<FindingKind, Vec<(u64, Observation)>>,
    pub(super) warnings: &'a mut Vec<String>,
    pub(super) gil_enabled: &'a mut Option<bool>,
    pub(super) failed: &'a mut BTreeSet<u64>,
    /// pyz3's own work failed again without comparisons: no more cases.
    pub(super) stop: bool,
    pub(super) slow: &'a mut Vec<SlowInput>,
    pub(super) slow_more: &'a mut u64,
}

/// Cases per batch request.
const BATCH: u64 = 256;

/// Cases skipped because pyz3's own checking code failed that are named one by one.
const OWN_FAILURES_SHOWN: usize = 3;

/// Notes a case skipped because pyz3's own checking code failed on it (not a finding): the
/// first few by case, then one line for the rest.
fn own_failure(warnings: &mut Vec<String>, index: u64, message: &str) {
    let marker = "skipped: pyz3 could not check";
    let shown = warnings.iter().filter(|w| w.contains(marker)).count();
    if shown < OWN_FAILURES_SHOWN {
        warnings.push(format!("case {index} skipped: {message}"));
    } else if shown == OWN_FAILURES_SHOWN {
        warnings.push(format!(
            "later cases {marker} the same way are skipped without a note"
        ));
    }
}

/// Later cases kept per kind of finding, in case the first does not replay alone.
const LATER_CASES: usize = 3;

impl Batches<'_> {
    fn start(&mut self) -> crate::Result<Worker> {
        let (worker, gil) = start(self.setup, self.options)?;
        *self.gil_enabled = gil.or(*self.gil_enabled);
        Ok(worker)
    }

    /// Sends cases `start..start + count`: the request, then each case's pickled arguments.
    fn send(&self, worker: &mut Worker, start: u64, count: u64, flush_each: bool) -> bool {
        let o = self.options;
        let memory = (start..start + count)
            .filter(|&i| super::cases::memory_case(o.memory_every, i))
            .collect();
        if !worker.send(&Request::Batch {
            start,
            count,
            flush_each,
            memory,
        }) {
            return false;
        }
        let cases: Vec<Vec<u8>> = (start..start + count)
            .map(|index| case_pickle(&super::cases::generate_case(self.strategies, o.seed, index)))
            .collect();
        let mut frames = Vec::new();
        push_frame(&mut frames, b'B', &bytes_list_pickle(&cases));
        worker.send_frames(frames)
    }

    fn found(&mut self, index: u64, o: Observation) {
        self.failed.insert(index);
        if o.kind == FindingKind::Timeout && !self.first.contains_key(&o.kind) {
            return self.retry_timeout(index, o);
        }
        match self.first.entry(o.kind) {
            std::collections::btree_map::Entry::Vacant(e) => {
                e.insert((index, o));
            }
            std::collections::btree_map::Entry::Occupied(_) => {
                let later = self.later.entry(o.kind).or_default();
                if later.len() < LATER_CASES {
                    later.push((index, o));
                }
            }
        }
    }

    /// A call over the limit, before any hang was found: retried alone with ten times the
    /// limit, it is a slow input or a hang (see [`super::slow`]).
    fn retry_timeout(&mut self, index: u64, o: Observation) {
        if self.slow.len() >= MAX_RETRIES {
            *self.slow_more += 1;
            return;
        }
        let args = super::cases::generate_case(self.strategies, self.options.seed, index);
        match retry(self.setup, self.options, &args) {
            // Within the limit this time: the first call was slowed by something else.
            Ok(Retry::Finished(ms)) if ms <= self.options.timeout_ms => {}
            Ok(Retry::Finished(ms)) => {
                self.slow
                    .push(slow_input(&args, ms, self.options.timeout_ms))
            }
            Ok(Retry::Hung(hang)) => {
                self.first.insert(hang.kind, (index, hang));
            }
            Ok(Retry::Found(other)) => {
                self.first.entry(other.kind).or_insert((index, other));
            }
            Err(e) => {
                self.warnings
                    .push(format!("case {index}: retrying a call over the limit: {e}"));
                self.first.insert(o.kind, (index, o));
            }
        }
    }

    /// Runs every case; returns the number of cases run.
    pub(super) fn run(&mut self, progress: &mut dyn FnMut(u64)) -> crate::Result<u64> {
        let options = self.options;
        let mut worker = self.start()?;
        let deadline = case_deadline(options);
        let (mut next, mut done) = (0u64, 0u64);
        // When a worker dies without a usable mark, the rest of that batch runs again with a
        // reply per case, so the case is known exactly.
        let mut careful_until = 0u64;
        // Cases already sent to this worker: the next batch goes out before the replies to
        // the current one are read, so generating it overlaps with the worker's calls.
        let mut sent_until = 0u64;
        while next < options.cases {
            let flush_each = next < careful_until;
            let count = if flush_each {
                careful_until - next
            } else {
                BATCH.min(options.cases - next)
            };
            let end = next + count;
            // A worker that died while the cases went out shows in the replies below (its
            // watch page says where), so a failed send needs nothing more here.
            if sent_until != end {
                self.send(&mut worker, next, count, flush_each);
                sent_until = end;
            }
            if !flush_each && end < options.cases {
                let ahead = BATCH.min(options.cases - end);
                self.send(&mut worker, end, ahead, false);
                sent_until = end + ahead;
            }
            let mut expected = next;
            // The case the worker was lost on, if any (its finding already recorded).
            let mut lost: Option<u64> = None;
            while expected < end {
                // A case with the memory check may take that check's time before its reply.
                let memory =
                    (expected..end).any(|i| super::cases::memory_case(options.memory_every, i));
                match worker.recv(case_deadline_with(options, memory)) {
                    Event::Reply(Reply::Case {
                        index,
                        finding,
                        pyz3_error,
                        note,
                        ..
                    }) => {
                        if let Some(o) = finding {
                            self.found(index, o);
                        }
                        if let Some(message) = pyz3_error {
                            own_failure(self.warnings, index, &message);
                        }
                        // Once: a fresh worker may make the same note with other figures.
                        let topic = |n: &str| n.split(':').next().unwrap_or_default().to_owned();
                        if let Some(note) =
                            note.filter(|n| !self.warnings.iter().any(|w| topic(w) == topic(n)))
                        {
                            self.warnings.push(note);
                        }
                        done += (index + 1).saturating_sub(expected);
                        expected = expected.max(index + 1);
                        progress(done);
                    }
                    Event::Hung(mark) if in_batch(&mark, expected, end) => {
                        self.blame(&mark, Observation::hung(&mark, options.timeout_ms));
                        lost = Some(mark.index);
                        break;
                    }
                    Event::Exited { how, stderr, mark } => {
                        // An idle mark is stale (the worker was between calls): not a case.
                        let mark = mark.filter(|m| m.phase != Phase::Idle);
                        match mark.filter(|m| in_batch(m, expected, end)) {
                            Some(mark) => {
                                self.blame(&mark, crash_observation(&how, &stderr));
                                lost = Some(mark.index);
                            }
                            None if flush_each => {
                                self.found(expected, crash_observation(&how, &stderr));
                                lost = Some(expected);
                            }
                            // Which case crashed is not known: run the rest again, carefully.
                            None => careful_until = end,
                        }
                        break;
                    }
                    Event::Hung(_) | Event::Silent => {
                        let limit = deadline.as_millis() as u64;
                        self.found(expected, timeout_observation(limit, options.timeout_ms));
                        lost = Some(expected);
                        break;
                    }
                    // A broken exchange costs the case in progress, never the findings made:
                    // it is noted, and a fresh worker goes on after that case.
                    Event::Garbled(message) | Event::Reply(Reply::Error { message }) => {
                        self.warnings
                            .push(format!("case {expected} skipped: {message}"));
                        self.failed.insert(expected);
                        lost = Some(expected);
                        if self.warnings.len() > 20 {
                            return Err(Error::Usage(format!(
                                "the worker's replies cannot be read ({message})"
                            )));
                        }
                        break;
                    }
                    Event::Reply(other) => {
                        self.warnings.push(format!(
                            "case {expected} skipped: unexpected reply {other:?}"
                        ));
                        lost = Some(expected);
                        break;
                    }
                }
            }
            next = expected;
            if let Some(at) = lost {
                // Cases before `at` with no reply were clean: a finding's reply is sent at
                // once, before the next case starts.
                done += (at + 1).saturating_sub(expected);
                progress(done);
                next = at.max(expected) + 1;
            }
            if self.stop {
                break;
            }
            if next < end || lost.is_some() {
                worker.kill();
                worker = self.start()?;
                sent_until = next;
            }
        }
        drop(worker);
        Ok(done)
    }

    /// Records what happened at `mark`, blaming the code that was running: the function's
    /// findings as they are, the oracle's or the property's as failures of those, and pyz3's
    /// own work as a warning, never as the function's finding.
    /// pyz3's own work failing costs once: the cases after it go without comparing or showing
    /// results, and a second failure even so ends the function's cases.
    fn blame(&mut self, mark: &Mark, o: Observation) {
        match attribute(mark.phase, o, self.setup) {
            Ok(o) => self.found(mark.index, o),
            Err(note) if !self.setup.no_result_work => {
                self.failed.insert(mark.index);
                self.setup.no_result_work = true;
                self.warnings.push(format!(
                    "case {}: {note}; from here on its results are not compared (determinism, \
                     oracle) nor shown",
                    mark.index
                ));
            }
            Err(note) => {
                self.failed.insert(mark.index);
                self.stop = true;
                self.warnings.push(format!(
                    "case {}: {note}, also without comparisons; the remaining cases are skipped",
                    mark.index
                ));
            }
        }
    }
}

/// Whether a mark is on a case of the batch `expected..end`.
fn in_batch(mark: &Mark, expected: u64, end: u64) -> bool {
    (expected..end).contains(&mark.index)
}
