//! Fake data: the original's `fake_*` functions and `fake(kind=...)`, drawn
//! with the `fake` crate's English data from the generator of `draw` (so
//! `seed=` and `[determinism] seed` make them reproducible).

use std::time::{Duration, SystemTime};

use fake::Fake;
use fake::faker::address::en as address;
use fake::faker::company::en as company;
use fake::faker::creditcard::en as creditcard;
use fake::faker::currency::en as currency;
use fake::faker::filesystem::en as filesystem;
use fake::faker::internet::en as internet;
use fake::faker::lorem::en as lorem;
use fake::faker::name::en as name;
use fake::faker::phone_number::en as phone;
use rand::RngExt;
use serde_json::Value as Json;
use tera::{Error, Result, Tera};

use super::clock::rfc3339;
use super::draw::{Draw, draw};
use super::{Args, count_arg, int_arg};

/// One kind of fake value, drawn from a generator.
type Generator = fn(&mut Draw) -> Json;

fn text(s: String) -> Json {
    Json::String(s)
}

/// A time between 1970 and 2100, to the second.
fn any_time(rng: &mut Draw) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(rng.random_range(0..4_102_444_800))
}

/// Colour names for `fake_color` (the CSS basic colours).
const COLOURS: [&str; 16] = [
    "black", "silver", "gray", "white", "maroon", "red", "purple", "fuchsia", "green", "lime",
    "olive", "yellow", "navy", "blue", "teal", "aqua",
];

/// The functions without arguments of their own (`seed` aside), by name.
const FUNCTIONS: &[(&str, Generator)] = &[
    ("fake_name", |r| text(name::Name().fake_with_rng(r))),
    ("fake_first_name", |r| {
        text(name::FirstName().fake_with_rng(r))
    }),
    ("fake_last_name", |r| {
        text(name::LastName().fake_with_rng(r))
    }),
    ("fake_title", |r| text(name::Title().fake_with_rng(r))),
    ("fake_suffix", |r| text(name::Suffix().fake_with_rng(r))),
    ("fake_email", |r| {
        text(internet::SafeEmail().fake_with_rng(r))
    }),
    ("fake_username", |r| {
        text(internet::Username().fake_with_rng(r))
    }),
    ("fake_domain", |r| {
        let word: String = lorem::Word().fake_with_rng(r);
        let suffix: String = internet::DomainSuffix().fake_with_rng(r);
        text(format!("{word}.{suffix}"))
    }),
    ("fake_url", |r| {
        let word: String = lorem::Word().fake_with_rng(r);
        let suffix: String = internet::DomainSuffix().fake_with_rng(r);
        text(format!("https://{word}.{suffix}"))
    }),
    ("fake_ipv4", |r| text(internet::IPv4().fake_with_rng(r))),
    ("fake_ipv6", |r| text(internet::IPv6().fake_with_rng(r))),
    ("fake_user_agent", |r| {
        text(internet::UserAgent().fake_with_rng(r))
    }),
    ("fake_mac_address", |r| {
        text(internet::MACAddress().fake_with_rng(r))
    }),
    ("fake_street", |r| {
        text(address::StreetName().fake_with_rng(r))
    }),
    ("fake_city", |r| text(address::CityName().fake_with_rng(r))),
    ("fake_state", |r| {
        text(address::StateName().fake_with_rng(r))
    }),
    ("fake_zip", |r| text(address::ZipCode().fake_with_rng(r))),
    ("fake_country", |r| {
        text(address::CountryName().fake_with_rng(r))
    }),
    ("fake_latitude", |r| {
        text(address::Latitude().fake_with_rng(r))
    }),
    ("fake_longitude", |r| {
        text(address::Longitude().fake_with_rng(r))
    }),
    ("fake_phone", |r| {
        text(phone::PhoneNumber().fake_with_rng(r))
    }),
    ("fake_cell_phone", |r| {
        text(phone::CellNumber().fake_with_rng(r))
    }),
    ("fake_company", |r| {
        text(company::CompanyName().fake_with_rng(r))
    }),
    ("fake_company_suffix", |r| {
        text(company::CompanySuffix().fake_with_rng(r))
    }),
    ("fake_industry", |r| {
        text(company::Industry().fake_with_rng(r))
    }),
    ("fake_profession", |r| {
        text(company::Profession().fake_with_rng(r))
    }),
    ("fake_word", |r| text(lorem::Word().fake_with_rng(r))),
    ("fake_int", |r| Json::from(r.random_range(0..1000))),
    ("fake_float", |r| Json::from(r.random_range(0.0..1000.0))),
    ("fake_date", |r| {
        text(rfc3339(any_time(r))[..10].to_string())
    }),
    ("fake_time", |r| {
        text(rfc3339(any_time(r))[11..19].to_string())
    }),
    ("fake_datetime", |r| text(rfc3339(any_time(r)))),
    ("fake_timestamp", |r| {
        let time = any_time(r).duration_since(SystemTime::UNIX_EPOCH);
        Json::from(time.map_or(0, |t| t.as_secs()))
    }),
    ("fake_credit_card", |r| {
        text(creditcard::CreditCardNumber().fake_with_rng(r))
    }),
    ("fake_currency_code", |r| {
        text(currency::CurrencyCode().fake_with_rng(r))
    }),
    ("fake_currency_name", |r| {
        text(currency::CurrencyName().fake_with_rng(r))
    }),
    ("fake_currency_symbol", |r| {
        text(currency::CurrencySymbol().fake_with_rng(r))
    }),
    ("fake_filename", |r| {
        text(filesystem::FileName().fake_with_rng(r))
    }),
    ("fake_extension", |r| {
        text(filesystem::FileExtension().fake_with_rng(r))
    }),
    ("fake_mime_type", |r| {
        text(filesystem::MimeType().fake_with_rng(r))
    }),
    ("fake_file_path", |r| {
        text(filesystem::FilePath().fake_with_rng(r))
    }),
    ("fake_color", |r| {
        text(COLOURS[r.random_range(0..COLOURS.len())].to_string())
    }),
    ("fake_hex_color", |r| {
        let [red, green, blue]: [u8; 3] = r.random();
        text(format!("#{red:02x}{green:02x}{blue:02x}"))
    }),
    ("fake_rgb_color", |r| {
        let [red, green, blue]: [u8; 3] = r.random();
        text(format!("rgb({red}, {green}, {blue})"))
    }),
    ("fake_port", |r| Json::from(r.random_range(1024..65535))),
    ("fake_semver", |r| {
        let (major, minor, patch) = (
            r.random_range(0..10),
            r.random_range(0..20),
            r.random_range(0..100),
        );
        text(format!("{major}.{minor}.{patch}"))
    }),
];

/// The kinds `fake(kind=...)` knows: the original's, with the same names.
pub(crate) const FAKE_KINDS: &[(&str, Generator)] = &[
    ("name.full", |r| text(name::Name().fake_with_rng(r))),
    ("name.first", |r| text(name::FirstName().fake_with_rng(r))),
    ("name.last", |r| text(name::LastName().fake_with_rng(r))),
    ("name.title", |r| text(name::Title().fake_with_rng(r))),
    ("internet.email.safe", |r| {
        text(internet::SafeEmail().fake_with_rng(r))
    }),
    ("internet.email.free", |r| {
        text(internet::FreeEmail().fake_with_rng(r))
    }),
    ("internet.username", |r| {
        text(internet::Username().fake_with_rng(r))
    }),
    ("internet.domain.suffix", |r| {
        text(internet::DomainSuffix().fake_with_rng(r))
    }),
    ("internet.ip.any", |r| text(internet::IP().fake_with_rng(r))),
    ("internet.ip.v4", |r| {
        text(internet::IPv4().fake_with_rng(r))
    }),
    ("internet.ip.v6", |r| {
        text(internet::IPv6().fake_with_rng(r))
    }),
    ("internet.password", |r| {
        text(internet::Password(8..20).fake_with_rng(r))
    }),
    ("address.city", |r| {
        text(address::CityName().fake_with_rng(r))
    }),
    ("address.country", |r| {
        text(address::CountryName().fake_with_rng(r))
    }),
    ("address.street.name", |r| {
        text(address::StreetName().fake_with_rng(r))
    }),
    ("address.street.address", |r| {
        let number: String = address::BuildingNumber().fake_with_rng(r);
        let street: String = address::StreetName().fake_with_rng(r);
        text(format!("{number} {street}"))
    }),
    ("address.zip", |r| text(address::ZipCode().fake_with_rng(r))),
    ("address.tz", |r| text(address::TimeZone().fake_with_rng(r))),
    ("company.name", |r| {
        text(company::CompanyName().fake_with_rng(r))
    }),
    ("company.buzzword", |r| {
        text(company::Buzzword().fake_with_rng(r))
    }),
    ("company.industry", |r| {
        text(company::Industry().fake_with_rng(r))
    }),
    ("company.profession", |r| {
        text(company::Profession().fake_with_rng(r))
    }),
    ("lorem.word", |r| text(lorem::Word().fake_with_rng(r))),
    ("lorem.sentence", |r| {
        text(lorem::Sentence(4..10).fake_with_rng(r))
    }),
    ("lorem.paragraph", |r| {
        text(lorem::Paragraph(3..7).fake_with_rng(r))
    }),
    ("phone.number", |r| {
        text(phone::PhoneNumber().fake_with_rng(r))
    }),
    ("uuid.v4", |r| {
        let bytes: [u8; 16] = r.random();
        text(
            uuid::Builder::from_random_bytes(bytes)
                .into_uuid()
                .to_string(),
        )
    }),
];

/// `min..max` from the arguments (defaults as the original's), checked to
/// hold at least one value: an empty range would have nothing to draw.
fn range_args(args: Args<'_>, function: &str, min: i64, max: i64) -> Result<(i64, i64)> {
    let min = int_arg(args, function, "min")?.unwrap_or(min);
    let max = int_arg(args, function, "max")?.unwrap_or(max);
    if min >= max {
        return Err(Error::msg(format!(
            "`{function}`: `min` ({min}) must be less than `max` ({max}); `max` itself is never drawn"
        )));
    }
    Ok((min, max))
}

/// A length range of `function`: non-negative, and bounded.
fn length_args(
    args: Args<'_>,
    function: &str,
    min: i64,
    max: i64,
) -> Result<std::ops::Range<usize>> {
    const LONGEST: i64 = 10_000;
    let (min, max) = range_args(args, function, min, max)?;
    if min < 0 || max > LONGEST {
        return Err(Error::msg(format!(
            "`{function}`: `min` and `max` must lie between 0 and {LONGEST}"
        )));
    }
    Ok(min as usize..max as usize)
}

fn fake_int_range(args: Args<'_>) -> Result<Json> {
    let (min, max) = range_args(args, "fake_int_range", 0, 100)?;
    Ok(Json::from(
        draw(args, "fake_int_range")?.random_range(min..max),
    ))
}

fn fake_password(args: Args<'_>) -> Result<Json> {
    let lengths = length_args(args, "fake_password", 8, 20)?;
    Ok(text(
        internet::Password(lengths).fake_with_rng(&mut draw(args, "fake_password")?),
    ))
}

fn fake_sentence(args: Args<'_>) -> Result<Json> {
    let words = length_args(args, "fake_sentence", 4, 10)?;
    Ok(text(
        lorem::Sentence(words).fake_with_rng(&mut draw(args, "fake_sentence")?),
    ))
}

fn fake_paragraph(args: Args<'_>) -> Result<Json> {
    let sentences = length_args(args, "fake_paragraph", 3, 7)?;
    Ok(text(
        lorem::Paragraph(sentences).fake_with_rng(&mut draw(args, "fake_paragraph")?),
    ))
}

fn fake_words(args: Args<'_>) -> Result<Json> {
    let count = count_arg(args, "fake_words", "count", 3, 10_000)?;
    let words: Vec<String> =
        lorem::Words(count..count + 1).fake_with_rng(&mut draw(args, "fake_words")?);
    Ok(text(words.join(" ")))
}

fn fake_bool(args: Args<'_>) -> Result<Json> {
    let ratio = count_arg(args, "fake_bool", "ratio", 50, 100)?;
    let mut rng = draw(args, "fake_bool")?;
    Ok(Json::Bool(rng.random_range(0..100) < ratio))
}

fn fake_string(args: Args<'_>) -> Result<Json> {
    let len = count_arg(args, "fake_string", "len", 10, 1 << 20)?;
    let mut rng = draw(args, "fake_string")?;
    Ok(text(
        (0..len)
            .map(|_| char::from(rng.random_range(b'a'..=b'z')))
            .collect(),
    ))
}

/// `fake(kind, n=1, seed)`: a value of `kind`; with `n` above 1, a list of `n`.
fn fake(args: Args<'_>) -> Result<Json> {
    let kind = super::string_arg(args, "fake", "kind")?
        .ok_or_else(|| Error::msg("`fake` needs a `kind` argument: fake(kind=\"name.full\")"))?;
    let Some((_, generate)) = FAKE_KINDS.iter().find(|(k, _)| *k == kind) else {
        let closest = (FAKE_KINDS.iter().map(|(k, _)| *k))
            .min_by(|a, b| strsim::levenshtein(a, &kind).cmp(&strsim::levenshtein(b, &kind)))
            .unwrap_or_default();
        return Err(Error::msg(format!(
            "`fake`: unknown kind `{kind}` (did you mean `{closest}`? `fake_kinds()` lists them all)"
        )));
    };
    let n = count_arg(args, "fake", "n", 1, 10_000)?;
    let mut rng = draw(args, "fake")?;
    Ok(match n {
        1 => generate(&mut rng),
        n => Json::Array((0..n).map(|_| generate(&mut rng)).collect()),
    })
}

fn fake_kinds(_: Args<'_>) -> Result<Json> {
    Ok(Json::Array(
        FAKE_KINDS.iter().map(|(k, _)| Json::from(*k)).collect(),
    ))
}

pub(super) fn register(tera: &mut Tera) {
    for &(name, generate) in FUNCTIONS {
        tera.register_function(name, move |args: Args<'_>| {
            Ok(generate(&mut draw(args, name)?))
        });
    }
    tera.register_function("fake_int_range", fake_int_range);
    tera.register_function("fake_password", fake_password);
    tera.register_function("fake_sentence", fake_sentence);
    tera.register_function("fake_paragraph", fake_paragraph);
    tera.register_function("fake_words", fake_words);
    tera.register_function("fake_bool", fake_bool);
    tera.register_function("fake_string", fake_string);
    tera.register_function("fake", fake);
    tera.register_function("fake_kinds", fake_kinds);
}
