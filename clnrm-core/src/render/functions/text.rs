//! Functions and filters on text: `sha256`, `toml_encode`, and the case
//! conversions, each a filter (`{{ name | kebab }}`) and, as the original
//! also had them, a function (`{{ kebab(s=name) }}`).

use std::collections::HashMap;

use heck::{ToKebabCase, ToLowerCamelCase, ToSnakeCase, ToUpperCamelCase};
use serde_json::Value as Json;
use sha2::{Digest, Sha256};
use tera::{Error, Result, Tera};

use super::{Args, required};

fn sha256(args: Args<'_>) -> Result<Json> {
    let text = match required(args, "sha256", "s", "sha256(s=\"text\")")? {
        Json::String(s) => s.clone(),
        other => other.to_string(),
    };
    Ok(Json::String(hex::encode(Sha256::digest(text.as_bytes()))))
}

fn toml_encode(args: Args<'_>) -> Result<Json> {
    let value = required(args, "toml_encode", "value", "toml_encode(value=vars.x)")?;
    let toml_value =
        toml::Value::try_from(value).map_err(|e| Error::msg(format!("`toml_encode`: {e}")))?;
    Ok(Json::String(toml_value.to_string()))
}

type Conversion = fn(&str) -> String;

/// The case conversions, by name: the same for the filter and the function.
const CONVERSIONS: [(&str, Conversion); 5] = [
    ("snake", |s| s.to_snake_case()),
    ("kebab", |s| s.to_kebab_case()),
    ("camel", |s| s.to_lower_camel_case()),
    ("pascal", |s| s.to_upper_camel_case()),
    ("slug", |s| slug::slugify(s)),
];

/// The original's functions among the conversions (it had no `camel()` or
/// `pascal()` function, only filters; they are here too, for symmetry).
fn conversion_function(name: &'static str, f: Conversion) -> impl tera::Function {
    move |args: &HashMap<String, Json>| -> Result<Json> {
        let example = format!("{name}(s=\"My Name\")");
        match required(args, name, "s", &example)? {
            Json::String(s) => Ok(Json::String(f(s))),
            other => Err(Error::msg(format!(
                "`{name}`: `s` must be a string, found `{other}`"
            ))),
        }
    }
}

fn conversion_filter(name: &'static str, f: Conversion) -> impl tera::Filter {
    move |value: &Json, _: &HashMap<String, Json>| -> Result<Json> {
        match value {
            Json::String(s) => Ok(Json::String(f(s))),
            other => Err(Error::msg(format!(
                "filter `{name}` needs a string, found `{other}`"
            ))),
        }
    }
}

pub(super) fn register(tera: &mut Tera) {
    tera.register_function("sha256", sha256);
    tera.register_function("toml_encode", toml_encode);
    for (name, f) in CONVERSIONS {
        tera.register_filter(name, conversion_filter(name, f));
        tera.register_function(name, conversion_function(name, f));
    }
}
