//! Choices from lists (`pick`, `weighted`, `shuffle`, `sample`) and the
//! per-rendering counter `seq`.

use rand::RngExt;
use rand::seq::{IndexedRandom, SliceRandom};
use serde_json::Value as Json;
use tera::{Error, Result, Tera};

use super::draw::draw;
use super::{Args, count_arg, int_arg, list_arg, required, state, string_arg};

fn pick(args: Args<'_>) -> Result<Json> {
    let list = list_arg(args, "pick", "list", "pick(list=[\"a\", \"b\"])")?;
    (list.choose(&mut draw(args, "pick")?).cloned())
        .ok_or_else(|| Error::msg("`pick`: `list` is empty"))
}

/// `weighted(pairs=[[value, weight], ...])`: a value, each as likely as its
/// weight (non-negative numbers, not all zero).
fn weighted(args: Args<'_>) -> Result<Json> {
    let example = "weighted(pairs=[[\"a\", 0.7], [\"b\", 0.3]])";
    let pairs = list_arg(args, "weighted", "pairs", example)?;
    let mut choices = Vec::with_capacity(pairs.len());
    for pair in pairs {
        let (value, weight) = match pair.as_array().map(Vec::as_slice) {
            Some([value, Json::Number(weight)]) => (value, weight.as_f64().unwrap_or(-1.0)),
            _ => {
                return Err(Error::msg(format!(
                    "`weighted`: each pair must be [value, weight], found `{pair}`: {example}"
                )));
            }
        };
        if !weight.is_finite() || weight < 0.0 {
            return Err(Error::msg(format!(
                "`weighted`: weights must be non-negative numbers, found `{pair}`"
            )));
        }
        choices.push((value, weight));
    }
    let total: f64 = choices.iter().map(|(_, w)| w).sum();
    if total <= 0.0 {
        return Err(Error::msg(
            "`weighted`: `pairs` is empty or every weight is zero",
        ));
    }
    let mut left = draw(args, "weighted")?.random_range(0.0..total);
    for (value, weight) in &choices {
        if left < *weight {
            return Ok((*value).clone());
        }
        left -= weight;
    }
    // Rounding left a sliver past the last weight: the last value with one.
    let last = choices.iter().rev().find(|(_, w)| *w > 0.0);
    Ok(last.map(|(v, _)| (*v).clone()).unwrap_or_default())
}

fn shuffle(args: Args<'_>) -> Result<Json> {
    let mut list = list_arg(args, "shuffle", "list", "shuffle(list=[1, 2, 3])")?.to_vec();
    list.shuffle(&mut draw(args, "shuffle")?);
    Ok(Json::Array(list))
}

/// `sample(list, k)`: `k` different elements, in random order.
fn sample(args: Args<'_>) -> Result<Json> {
    let example = "sample(list=[1, 2, 3], k=2)";
    let list = list_arg(args, "sample", "list", example)?;
    required(args, "sample", "k", example)?;
    let k = count_arg(args, "sample", "k", 0, u64::MAX)?;
    if k > list.len() {
        return Err(Error::msg(format!(
            "`sample`: `k` is {k}, more than the list's {} elements",
            list.len()
        )));
    }
    let chosen = list
        .sample(&mut draw(args, "sample")?, k)
        .cloned()
        .collect();
    Ok(Json::Array(chosen))
}

/// `seq(name, start=0, step=1)`: `start`, then `start + step`, ... one
/// counter per name and rendering. A name's first call sets where it starts
/// and its step; a later call's `step=` is its step from there on.
fn seq(args: Args<'_>) -> Result<Json> {
    required(args, "seq", "name", "seq(name=\"port\", start=8000)")?;
    let name = string_arg(args, "seq", "name")?.unwrap_or_default();
    let start = int_arg(args, "seq", "start")?.unwrap_or(0);
    let step = int_arg(args, "seq", "step")?;
    let value = state(|s| {
        let (next, kept_step) = (s.sequences)
            .entry(name.clone())
            .or_insert((start, step.unwrap_or(1)));
        if let Some(step) = step {
            *kept_step = step;
        }
        let value = *next;
        *next = next.saturating_add(*kept_step);
        value
    })
    .unwrap_or(start);
    Ok(Json::from(value))
}

pub(super) fn register(tera: &mut Tera) {
    tera.register_function("pick", pick);
    tera.register_function("weighted", weighted);
    tera.register_function("shuffle", shuffle);
    tera.register_function("sample", sample);
    tera.register_function("seq", seq);
}
