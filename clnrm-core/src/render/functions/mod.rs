//! The functions and filters scenario templates may call.
//!
//! Time and randomness read the per-render [`RenderState`], so `[determinism]`
//! (`freeze_clock`, `seed`) makes a rendering reproducible, and a rendering that
//! used the real clock or real randomness is marked as not cacheable.

mod clock;
mod draw;
mod fake_data;
mod ids;
mod lists;
#[cfg(test)]
mod tests;
mod text;

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::SystemTime;

use serde_json::Value as Json;
use tera::{Error, Result, Tera};

use super::fuel::{FUEL, FUEL_FUNCTION};

/// Loop elements `range` may produce in one rendering (all calls together).
pub const RANGE_BUDGET: usize = 100_000;

/// What one rendering may use and what it did use.
#[derive(Debug)]
pub(crate) struct RenderState {
    /// `[determinism] freeze_clock` as written (what `now_rfc3339` returns)
    /// and as a time (what the other time functions start from).
    pub freeze_clock: Option<String>,
    pub frozen_at: Option<SystemTime>,
    /// `[determinism] seed`'s generator, which calls without `seed=` draw from.
    /// (Boxed: the generator is large, and the state travels in a channel.)
    pub rng: Option<Box<draw::Draw>>,
    /// `seq(name=...)`'s counters, by name: the next value and the step.
    pub sequences: HashMap<String, (i64, i64)>,
    /// Set when the output depends on the real clock or real randomness.
    pub nondeterministic: bool,
    /// Every environment variable read through `env()`, with the value seen.
    pub env_reads: Vec<(String, Option<String>)>,
    pub range_left: usize,
    /// Loop iterations and macro calls left (see `fuel`).
    pub fuel_left: usize,
    /// Set by the caller that stopped waiting at the deadline: the rendering
    /// ends at its next loop iteration or macro call.
    pub abandoned: Arc<AtomicBool>,
}

impl RenderState {
    pub(crate) fn new(freeze_clock: Option<String>, seed: Option<u64>) -> Self {
        Self {
            frozen_at: (freeze_clock.as_deref())
                .and_then(|t| humantime::parse_rfc3339_weak(t).ok()),
            freeze_clock,
            rng: seed.map(|seed| Box::new(draw::seeded(seed))),
            sequences: HashMap::new(),
            nondeterministic: false,
            env_reads: Vec::new(),
            range_left: RANGE_BUDGET,
            fuel_left: FUEL,
            abandoned: Arc::default(),
        }
    }
}

thread_local! {
    static STATE: RefCell<Option<RenderState>> = const { RefCell::new(None) };
}

/// Runs `f` with `state` installed for this thread, returning the state after.
pub(crate) fn with_state<T>(state: RenderState, f: impl FnOnce() -> T) -> (T, RenderState) {
    STATE.with(|s| *s.borrow_mut() = Some(state));
    let out = f();
    let state = STATE
        .with(|s| s.borrow_mut().take())
        .expect("render state installed above");
    (out, state)
}

fn state<T>(f: impl FnOnce(&mut RenderState) -> T) -> Option<T> {
    STATE.with(|s| s.borrow_mut().as_mut().map(f))
}

type Args<'a> = &'a HashMap<String, Json>;

fn string_arg(args: Args<'_>, function: &str, name: &str) -> Result<Option<String>> {
    match args.get(name) {
        None | Some(Json::Null) => Ok(None),
        Some(Json::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(Error::msg(format!(
            "`{function}`: argument `{name}` must be a string, found `{other}`"
        ))),
    }
}

/// A required argument, or an error that shows the call to write.
fn required<'a>(args: Args<'a>, function: &str, name: &str, example: &str) -> Result<&'a Json> {
    match args.get(name) {
        None | Some(Json::Null) => Err(Error::msg(format!(
            "`{function}` needs a `{name}` argument: {example}"
        ))),
        Some(value) => Ok(value),
    }
}

/// An integer argument; `None` when it is not given.
fn int_arg(args: Args<'_>, function: &str, name: &str) -> Result<Option<i64>> {
    match args.get(name) {
        None | Some(Json::Null) => Ok(None),
        Some(Json::Number(n)) if n.is_i64() => Ok(n.as_i64()),
        Some(other) => Err(Error::msg(format!(
            "`{function}`: `{name}` must be an integer, found `{other}`"
        ))),
    }
}

/// A count (a non-negative integer), `default` when it is not given, at most
/// `limit` (a rendering's output is bounded anyway; this says why early).
fn count_arg(
    args: Args<'_>,
    function: &str,
    name: &str,
    default: u64,
    limit: u64,
) -> Result<usize> {
    let count = match int_arg(args, function, name)? {
        None => default,
        Some(n) => u64::try_from(n).map_err(|_| {
            Error::msg(format!(
                "`{function}`: `{name}` must not be negative, found `{n}`"
            ))
        })?,
    };
    if count > limit {
        return Err(Error::msg(format!(
            "`{function}`: `{name}` may be at most {limit}, found `{count}`"
        )));
    }
    Ok(count as usize)
}

/// A list argument.
fn list_arg<'a>(args: Args<'a>, function: &str, name: &str, example: &str) -> Result<&'a [Json]> {
    match required(args, function, name, example)? {
        Json::Array(items) => Ok(items),
        other => Err(Error::msg(format!(
            "`{function}`: `{name}` must be a list, found `{other}`"
        ))),
    }
}

fn env(args: Args<'_>) -> Result<Json> {
    let name = string_arg(args, "env", "name")?
        .ok_or_else(|| Error::msg("`env` needs a `name` argument: env(name=\"VAR\")"))?;
    let value = std::env::var(&name).ok();
    state(|s| s.env_reads.push((name.clone(), value.clone())));
    match (value, args.get("default")) {
        (Some(v), _) => Ok(Json::String(v)),
        (None, Some(default)) => Ok(default.clone()),
        (None, None) => Err(Error::msg(format!(
            "environment variable `{name}` is not set and `env(name=\"{name}\")` has no `default=`"
        ))),
    }
}

/// `dict(pairs=[k1, v1, k2, v2])`: a map from a flat list; map literals in the
/// original's templates are rewritten into this (see `dialect`).
fn dict(args: Args<'_>) -> Result<Json> {
    let Some(Json::Array(items)) = args.get("pairs") else {
        return Err(Error::msg("`dict` needs `pairs=[key, value, ...]`"));
    };
    if items.len() % 2 != 0 {
        return Err(Error::msg(
            "`dict`: `pairs` must hold key, value, key, value, ...",
        ));
    }
    let mut map = serde_json::Map::new();
    for pair in items.chunks(2) {
        let key = match &pair[0] {
            Json::String(s) => s.clone(),
            other => other.to_string(),
        };
        map.insert(key, pair[1].clone());
    }
    Ok(Json::Object(map))
}

/// One loop iteration or macro call (see `fuel`): writes nothing.
fn fuel(_: Args<'_>) -> Result<Json> {
    let left = state(|s| {
        if s.abandoned.load(Ordering::Relaxed) {
            return Err(Error::msg(
                "render budget: the rendering was stopped at its deadline",
            ));
        }
        s.fuel_left = s.fuel_left.checked_sub(1).ok_or_else(|| {
            Error::msg(format!(
                "render budget: `for` loops and macro calls may run at most {FUEL} times in one file"
            ))
        })?;
        Ok(())
    });
    left.unwrap_or(Ok(()))?;
    Ok(Json::String(String::new()))
}

/// Tera's `range`, counted against the rendering's loop budget.
fn range(args: Args<'_>) -> Result<Json> {
    let number = |name: &str, default: Option<i64>| -> Result<i64> {
        match args.get(name) {
            Some(v) => v
                .as_i64()
                .ok_or_else(|| Error::msg(format!("`range`: `{name}` must be an integer"))),
            None => default.ok_or_else(|| Error::msg(format!("`range` needs `{name}`"))),
        }
    };
    let start = number("start", Some(0))?;
    let end = number("end", None)?;
    let step = number("step_by", Some(1))?;
    if step <= 0 {
        return Err(Error::msg("`range`: `step_by` must be positive"));
    }
    let len = usize::try_from(end.saturating_sub(start).max(0) / step).unwrap_or(usize::MAX);
    let allowed = state(|s| {
        if len > s.range_left {
            false
        } else {
            s.range_left -= len;
            true
        }
    })
    .unwrap_or(len <= RANGE_BUDGET);
    if !allowed {
        return Err(Error::msg(format!(
            "render budget: loops may produce at most {RANGE_BUDGET} elements in one file"
        )));
    }
    Ok(Json::Array(
        (0..len as i64)
            .map(|i| Json::from(start + i * step))
            .collect(),
    ))
}

pub(crate) fn register(tera: &mut Tera) {
    tera.register_function("env", env);
    // Tera's own `get_env` would bypass the tracking the render cache relies on.
    tera.register_function("get_env", env);
    tera.register_function("dict", dict);
    tera.register_function("range", range);
    tera.register_function(FUEL_FUNCTION, fuel);
    text::register(tera);
    clock::register(tera);
    ids::register(tera);
    lists::register(tera);
    fake_data::register(tera);
}
