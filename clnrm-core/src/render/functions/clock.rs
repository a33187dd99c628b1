//! The time functions: `now_rfc3339`, `now_unix`, `now_ms`, `now_plus`,
//! `date_rfc3339`. Each reads the one clock of `draw::now`, so under
//! `[determinism] freeze_clock` all of them tell the frozen time.

use std::time::{Duration, SystemTime};

use serde_json::Value as Json;
use tera::{Error, Result, Tera};

use super::draw::now;
use super::{Args, int_arg, required, state};

/// The last second RFC 3339 can write: 9999-12-31T23:59:59Z.
pub(super) const LAST_SECOND: u64 = 253_402_300_799;

/// `time` as `2025-01-01T00:00:00Z` (whole seconds, UTC).
pub(super) fn rfc3339(time: SystemTime) -> String {
    humantime::format_rfc3339_seconds(time).to_string()
}

/// Milliseconds since the epoch (negative before it).
pub(super) fn unix_millis(time: SystemTime) -> i64 {
    match time.duration_since(SystemTime::UNIX_EPOCH) {
        Ok(after) => i64::try_from(after.as_millis()).unwrap_or(i64::MAX),
        Err(before) => -i64::try_from(before.duration().as_millis()).unwrap_or(i64::MAX),
    }
}

/// `[determinism] freeze_clock` exactly as written, else the real time.
fn now_rfc3339(_: Args<'_>) -> Result<Json> {
    let written = state(|s| s.freeze_clock.clone()).flatten();
    Ok(Json::String(match written {
        Some(text) => text,
        None => rfc3339(now()),
    }))
}

fn now_unix(_: Args<'_>) -> Result<Json> {
    Ok(Json::from(unix_millis(now()).div_euclid(1000)))
}

fn now_ms(_: Args<'_>) -> Result<Json> {
    Ok(Json::from(unix_millis(now())))
}

/// Now moved by `seconds` (negative: into the past).
fn shifted(function: &str, seconds: i64) -> Result<Json> {
    let offset = Duration::from_secs(seconds.unsigned_abs());
    let time = if seconds >= 0 {
        now().checked_add(offset)
    } else {
        now().checked_sub(offset)
    };
    let latest = SystemTime::UNIX_EPOCH + Duration::from_secs(LAST_SECOND);
    match time {
        Some(time) if time >= SystemTime::UNIX_EPOCH && time <= latest => {
            Ok(Json::String(rfc3339(time)))
        }
        _ => Err(Error::msg(format!(
            "`{function}`: {seconds} seconds from now is outside the years 1970 to 9999"
        ))),
    }
}

fn now_plus(args: Args<'_>) -> Result<Json> {
    required(args, "now_plus", "seconds", "now_plus(seconds=3600)")?;
    let seconds = int_arg(args, "now_plus", "seconds")?.unwrap_or(0);
    shifted("now_plus", seconds)
}

fn date_rfc3339(args: Args<'_>) -> Result<Json> {
    let seconds = int_arg(args, "date_rfc3339", "offset_seconds")?.unwrap_or(0);
    shifted("date_rfc3339", seconds)
}

pub(super) fn register(tera: &mut Tera) {
    tera.register_function("now_rfc3339", now_rfc3339);
    tera.register_function("now_unix", now_unix);
    tera.register_function("now_ms", now_ms);
    tera.register_function("now_plus", now_plus);
    tera.register_function("date_rfc3339", date_rfc3339);
}
