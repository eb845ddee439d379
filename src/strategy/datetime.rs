//! Strategies for `datetime.date`, `time`, `datetime` (naive and aware) and `timedelta`.
//!
//! Edge values: year 1 and 9999, month ends and Feb 29, midnight and 23:59:59.999999, offsets of
//! ±23:59 and sub-minute offsets, `fold=1`, the extreme timedeltas.

use proptest::prelude::*;

use super::{w, Size, ValueStrategy};
use crate::value::{Date, DateTime, PyStr, Time, TimeDelta, Tz, Value};

/// Days in month `m` (1–12) of year `y` (proleptic Gregorian).
pub(crate) fn days_in_month(y: i32, m: u8) -> u8 {
    match m {
        4 | 6 | 9 | 11 => 30,
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        _ => 31,
    }
}

/// `Date` values (Rust side).
pub fn dates(size: Size) -> BoxedStrategy<Date> {
    let year = crate::one_of![
        w(size.normal_weight()) => 1970i32..=2100,
        w(size.normal_weight() / 2) => 1i32..=9999,
        size.edge() => proptest::sample::select(vec![1i32, 9999, 2000, 1900, 2024, 1970]),
    ];
    let day = crate::one_of![4 => 1u8..=31, 1 => Just(31u8)];
    (year, 1u8..=12, day)
        .prop_map(|(year, month, day)| Date {
            year,
            month,
            day: day.min(days_in_month(year, month)),
        })
        .boxed()
}

/// Fixed-offset time zones (Rust side).
pub fn tzs(size: Size) -> BoxedStrategy<Tz> {
    const DAY_US: i64 = 86_400_000_000;
    let offset = crate::one_of![
        w(size.normal_weight()) => (-24 * 4 + 1..24 * 4i64).prop_map(|q| q * 15 * 60 * 1_000_000),
        size.edge() => proptest::sample::select(vec![
            0i64, DAY_US - 60_000_000, -(DAY_US - 60_000_000), 1, -1, DAY_US - 1, 1_000_000, 5_400_000_000
        ]),
    ];
    let name = crate::one_of![
        4 => Just(None),
        1 => proptest::collection::vec(0x41u32..0x5B, 1..=5).prop_map(|v| Some(PyStr(v))),
    ];
    (offset, name)
        .prop_map(|(offset_us, name)| Tz { offset_us, name })
        .boxed()
}

/// `Time` values, naive or aware (Rust side).
pub fn times(size: Size) -> BoxedStrategy<Time> {
    let micro = crate::one_of![3 => Just(0u32), 2 => 0u32..1_000_000, 1 => Just(999_999u32)];
    let tz = crate::one_of![2 => Just(None), 1 => tzs(size).prop_map(Some)];
    (
        0u8..24,
        0u8..60,
        0u8..60,
        micro,
        tz,
        prop::bool::weighted(0.1),
    )
        .prop_map(|(hour, minute, second, microsecond, tz, fold)| Time {
            hour,
            minute,
            second,
            microsecond,
            tz,
            fold,
        })
        .boxed()
}

/// `datetime.date` values.
pub fn date(size: Size) -> ValueStrategy {
    dates(size).prop_map(Value::Date).boxed().into()
}

/// `datetime.time` values.
pub fn time(size: Size) -> ValueStrategy {
    times(size).prop_map(Value::Time).boxed().into()
}

/// `datetime.datetime` values, naive and aware.
pub fn datetime(size: Size) -> ValueStrategy {
    (dates(size), times(size))
        .prop_map(|(date, time)| Value::DateTime(DateTime { date, time }))
        .boxed()
        .into()
}

/// `datetime.timedelta` values.
pub fn timedelta(size: Size) -> ValueStrategy {
    let days = crate::one_of![
        w(size.normal_weight()) => -1000i32..=1000,
        size.edge() => proptest::sample::select(vec![0i32, -1, 999_999_999, -999_999_999]),
    ];
    (days, 0u32..86_400, 0u32..1_000_000)
        .prop_map(|(days, seconds, microseconds)| {
            Value::TimeDelta(TimeDelta {
                days,
                seconds,
                microseconds,
            })
        })
        .boxed()
        .into()
}
