//! Where the random and time functions get their randomness and their clock.
//!
//! A call's own `seed=` makes that call's value a function of the seed alone
//! (`fake_name(seed=7)` is the same name everywhere, as in the original).
//! Without it, `[determinism] seed` seeds one generator per rendering that
//! every such call draws from in turn, so a seeded file renders the same
//! everywhere; without either, the value is really random and the rendering
//! is marked as not cacheable. The clock is `[determinism] freeze_clock` when
//! set, else the real one (again marked).
//!
//! ChaCha8 is the generator: its output for a seed is fixed by its
//! definition, not by a library version.

use std::time::SystemTime;

use rand::SeedableRng;
use rand::rngs::ChaCha8Rng;
use serde_json::Value as Json;
use tera::{Error, Result};

use super::{Args, state};

/// The generator one call draws from.
pub(super) type Draw = ChaCha8Rng;

/// The generator for a call of `function` with `args`: its `seed=`, else the
/// rendering's `[determinism] seed`, else real randomness.
pub(super) fn draw(args: Args<'_>, function: &str) -> Result<Draw> {
    if let Some(seed) = seed_arg(args, function)? {
        return Ok(Draw::seed_from_u64(seed));
    }
    let from_state = state(|s| match s.rng.as_mut() {
        Some(rng) => Some(rand::RngExt::random::<u64>(rng)),
        None => {
            s.nondeterministic = true;
            None
        }
    })
    .flatten();
    Ok(Draw::seed_from_u64(
        from_state.unwrap_or_else(|| fastrand::u64(..)),
    ))
}

/// The rendering's own generator, for `[determinism] seed`.
pub(super) fn seeded(seed: u64) -> Draw {
    Draw::seed_from_u64(seed)
}

/// `seed=`: a non-negative integer (a string of digits is taken too, as
/// values from `[vars]` often are).
fn seed_arg(args: Args<'_>, function: &str) -> Result<Option<u64>> {
    match args.get("seed") {
        None | Some(Json::Null) => Ok(None),
        Some(Json::Number(n)) if n.as_u64().is_some() => Ok(n.as_u64()),
        Some(Json::String(s)) if s.parse::<u64>().is_ok() => Ok(s.parse().ok()),
        Some(other) => Err(Error::msg(format!(
            "`{function}`: `seed` must be a non-negative integer, found `{other}`"
        ))),
    }
}

/// Now: `[determinism] freeze_clock` when set, else the real clock (and the
/// rendering is marked as not cacheable).
pub(super) fn now() -> SystemTime {
    let frozen = state(|s| {
        if s.frozen_at.is_none() {
            s.nondeterministic = true;
        }
        s.frozen_at
    })
    .flatten();
    frozen.unwrap_or_else(SystemTime::now)
}

#[cfg(test)]
mod tests {
    use rand::RngExt;

    use super::*;

    #[test]
    fn a_seed_gives_the_same_values_a_string_seed_too() {
        let args = |seed: Json| [("seed".to_string(), seed)].into_iter().collect();
        let a: u64 = draw(&args(Json::from(7)), "f").expect("seed").random();
        let b: u64 = draw(&args(Json::from("7")), "f").expect("seed").random();
        let c: u64 = draw(&args(Json::from(8)), "f").expect("seed").random();
        assert_eq!(a, b);
        assert_ne!(a, c);
        let error = draw(&args(Json::from(-1)), "fake_name").expect_err("negative");
        assert_eq!(
            error.to_string(),
            "`fake_name`: `seed` must be a non-negative integer, found `-1`"
        );
    }
}
