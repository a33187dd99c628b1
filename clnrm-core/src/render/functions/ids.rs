//! Identifiers: UUIDs (v4, v5, v7), ULIDs, random hex, and the W3C trace
//! context (`trace_id`, `span_id`, `traceparent`, `baggage`).

use std::fmt::Write as _;
use std::time::{Duration, SystemTime};

use rand::RngExt;
use serde_json::Value as Json;
use tera::{Error, Result, Tera};
use uuid::Uuid;

use super::clock::unix_millis;
use super::draw::{Draw, draw, now};
use super::{Args, count_arg, required, string_arg};

fn random_uuid(rng: &mut Draw) -> Json {
    let bytes: [u8; 16] = rng.random();
    Json::String(
        uuid::Builder::from_random_bytes(bytes)
            .into_uuid()
            .to_string(),
    )
}

/// `uuid_v4(seed)`, `fake_uuid()`, `fake_uuid_seeded(seed)`: a random
/// UUID v4 (`seed=` or `[determinism] seed` make it reproducible).
fn uuid_v4(args: Args<'_>) -> Result<Json> {
    Ok(random_uuid(&mut draw(args, "uuid_v4")?))
}

fn fake_uuid_seeded(args: Args<'_>) -> Result<Json> {
    required(
        args,
        "fake_uuid_seeded",
        "seed",
        "fake_uuid_seeded(seed=42)",
    )?;
    Ok(random_uuid(&mut draw(args, "fake_uuid_seeded")?))
}

/// The namespaces RFC 9562 names, by their usual short names.
fn namespace(ns: &str) -> Option<Uuid> {
    match ns {
        "dns" => Some(Uuid::NAMESPACE_DNS),
        "url" => Some(Uuid::NAMESPACE_URL),
        "oid" => Some(Uuid::NAMESPACE_OID),
        "x500" => Some(Uuid::NAMESPACE_X500),
        _ => Uuid::parse_str(ns).ok(),
    }
}

/// `uuid_v5(ns, name)`: the name-based UUID of `name` in namespace `ns` (a
/// UUID, or `dns`, `url`, `oid`, `x500`). The same everywhere, always.
fn uuid_v5(args: Args<'_>) -> Result<Json> {
    let example = "uuid_v5(ns=\"dns\", name=\"example.com\")";
    required(args, "uuid_v5", "ns", example)?;
    required(args, "uuid_v5", "name", example)?;
    let ns = string_arg(args, "uuid_v5", "ns")?.unwrap_or_default();
    let name = string_arg(args, "uuid_v5", "name")?.unwrap_or_default();
    let namespace = namespace(&ns).ok_or_else(|| {
        Error::msg(format!(
            "`uuid_v5`: `ns` must be a UUID or one of dns, url, oid, x500, found `{ns}`"
        ))
    })?;
    Ok(Json::String(
        Uuid::new_v5(&namespace, name.as_bytes()).to_string(),
    ))
}

/// The time a time-ordered id carries: `time=` (RFC 3339, or milliseconds
/// since the epoch), else now (`freeze_clock` when set).
fn id_time(args: Args<'_>, function: &str) -> Result<u64> {
    let time = match args.get("time") {
        None | Some(Json::Null) => now(),
        Some(Json::String(text)) => humantime::parse_rfc3339_weak(text).map_err(|e| {
            Error::msg(format!(
                "`{function}`: `time` is not an RFC 3339 time ({e})"
            ))
        })?,
        Some(Json::Number(n)) if n.as_u64().is_some() => {
            SystemTime::UNIX_EPOCH + Duration::from_millis(n.as_u64().unwrap_or_default())
        }
        Some(other) => {
            return Err(Error::msg(format!(
                "`{function}`: `time` must be an RFC 3339 time or milliseconds since the epoch, found `{other}`"
            )));
        }
    };
    u64::try_from(unix_millis(time))
        .ok()
        .filter(|ms| *ms < 1 << 48)
        .ok_or_else(|| Error::msg(format!("`{function}`: the time is before 1970 or too late")))
}

/// `uuid_v7(time, seed)`: a time-ordered UUID (RFC 9562), its time from
/// `time=` or the clock, its random bits from `seed=`.
fn uuid_v7(args: Args<'_>) -> Result<Json> {
    let millis = id_time(args, "uuid_v7")?;
    let random: [u8; 10] = draw(args, "uuid_v7")?.random();
    let id = uuid::Builder::from_unix_timestamp_millis(millis, &random).into_uuid();
    Ok(Json::String(id.to_string()))
}

/// `ulid(seed)`: a ULID, its time from the clock, its random bits from `seed=`.
fn ulid(args: Args<'_>) -> Result<Json> {
    let millis = id_time(args, "ulid")?;
    let random: u128 = draw(args, "ulid")?.random();
    Ok(Json::String(
        ulid::Ulid::from_parts(millis, random).to_string(),
    ))
}

/// `digits` random lowercase hex digits; never all zeros when `nonzero`
/// (the W3C trace context forbids an all-zero id).
fn hex_digits(rng: &mut Draw, digits: usize, nonzero: bool) -> String {
    let mut text = String::with_capacity(digits);
    for _ in 0..digits {
        let digit: u32 = rng.random_range(0..16);
        let _ = write!(text, "{digit:x}");
    }
    if nonzero && text.bytes().all(|b| b == b'0') {
        text.replace_range(digits - 1.., "1");
    }
    text
}

fn rand_hex(args: Args<'_>) -> Result<Json> {
    let n = count_arg(args, "rand_hex", "n", 16, 1 << 20)?;
    Ok(Json::String(hex_digits(
        &mut draw(args, "rand_hex")?,
        n,
        false,
    )))
}

fn trace_id(args: Args<'_>) -> Result<Json> {
    Ok(Json::String(hex_digits(
        &mut draw(args, "trace_id")?,
        32,
        true,
    )))
}

fn span_id(args: Args<'_>) -> Result<Json> {
    Ok(Json::String(hex_digits(
        &mut draw(args, "span_id")?,
        16,
        true,
    )))
}

/// A given id, checked: `digits` lowercase hex digits, not all zeros.
fn given_id(args: Args<'_>, name: &str, digits: usize) -> Result<Option<String>> {
    let Some(id) = string_arg(args, "traceparent", name)? else {
        return Ok(None);
    };
    let hex = id.len() == digits && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    if !hex || id.bytes().all(|b| b == b'0') {
        return Err(Error::msg(format!(
            "`traceparent`: `{name}` must be {digits} lowercase hex digits, not all zeros, found `{id}`"
        )));
    }
    Ok(Some(id))
}

/// `traceparent(trace_id, span_id, sampled, seed)`: a W3C `traceparent`
/// header, `00-<trace id>-<span id>-<flags>`; ids not given are drawn.
fn traceparent(args: Args<'_>) -> Result<Json> {
    let given_trace = given_id(args, "trace_id", 32)?;
    let given_span = given_id(args, "span_id", 16)?;
    let sampled = match args.get("sampled") {
        None | Some(Json::Null) => true,
        Some(Json::Bool(b)) => *b,
        Some(Json::Number(n)) if matches!(n.as_u64(), Some(0 | 1)) => n.as_u64() == Some(1),
        Some(other) => {
            return Err(Error::msg(format!(
                "`traceparent`: `sampled` must be true, false, 1 or 0, found `{other}`"
            )));
        }
    };
    let mut rng = draw(args, "traceparent")?;
    let trace = given_trace.unwrap_or_else(|| hex_digits(&mut rng, 32, true));
    let span = given_span.unwrap_or_else(|| hex_digits(&mut rng, 16, true));
    let flags = if sampled { "01" } else { "00" };
    Ok(Json::String(format!("00-{trace}-{span}-{flags}")))
}

/// A baggage value's byte that may stand as it is (W3C Baggage's
/// `baggage-octet`); others are percent-encoded.
fn plain_baggage_byte(b: u8) -> bool {
    matches!(b, 0x21 | 0x23..=0x2B | 0x2D..=0x3A | 0x3C..=0x5B | 0x5D..=0x7E) && b != b'%'
}

/// A token (RFC 9110), which a baggage key must be.
fn is_token(key: &str) -> bool {
    !key.is_empty()
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// `baggage(map)`: a W3C `baggage` header, `k1=v1,k2=v2`, values
/// percent-encoded where the header needs it.
fn baggage(args: Args<'_>) -> Result<Json> {
    let example = "baggage(map=dict(pairs=[\"user\", \"alice\"]))";
    let Json::Object(map) = required(args, "baggage", "map", example)? else {
        return Err(Error::msg(format!(
            "`baggage`: `map` must be a map: {example}"
        )));
    };
    let mut header = String::new();
    for (key, value) in map {
        if !is_token(key) {
            return Err(Error::msg(format!(
                "`baggage`: the key `{key}` is not a token (letters, digits and !#$%&'*+-.^_`|~)"
            )));
        }
        let value = match value {
            Json::String(s) => s.clone(),
            other => other.to_string(),
        };
        if !header.is_empty() {
            header.push(',');
        }
        header.push_str(key);
        header.push('=');
        for b in value.bytes() {
            if plain_baggage_byte(b) {
                header.push(char::from(b));
            } else {
                let _ = write!(header, "%{b:02X}");
            }
        }
    }
    Ok(Json::String(header))
}

pub(super) fn register(tera: &mut Tera) {
    tera.register_function("uuid_v4", uuid_v4);
    tera.register_function("fake_uuid", uuid_v4);
    tera.register_function("fake_uuid_seeded", fake_uuid_seeded);
    tera.register_function("uuid_v5", uuid_v5);
    tera.register_function("uuid_v7", uuid_v7);
    tera.register_function("ulid", ulid);
    tera.register_function("rand_hex", rand_hex);
    tera.register_function("trace_id", trace_id);
    tera.register_function("span_id", span_id);
    tera.register_function("traceparent", traceparent);
    tera.register_function("baggage", baggage);
}
