//! A fast path for templates whose only template syntax is `{{ dotted.name }}`.
//!
//! Tera's parser costs hundreds of microseconds for a small file; most
//! templates in a suite only substitute variables. Those are rendered here,
//! with Tera's output for every case this accepts; anything else (blocks,
//! filters, functions, whitespace control, comments, a missing variable, a
//! value that is not a string, number or boolean) returns `None` and goes to
//! Tera, which also reports the errors.

use serde_json::Value as Json;

/// Renders `template` if it only substitutes variables found in `context`.
pub(crate) fn try_render(
    template: &str,
    context: &tera::Context,
    output_limit: usize,
) -> Option<String> {
    if template.contains("{%") || template.contains("{#") {
        return None;
    }
    let mut out = String::with_capacity(template.len() + template.len() / 4);
    let mut rest = template;
    while let Some(open) = rest.find("{{") {
        out.push_str(&rest[..open]);
        let after = &rest[open + 2..];
        let close = after.find("}}")?;
        out.push_str(&lookup(after[..close].trim(), context)?);
        rest = &after[close + 2..];
        if out.len() > output_limit {
            return None;
        }
    }
    out.push_str(rest);
    Some(out)
}

fn is_identifier(part: &str) -> bool {
    let mut chars = part.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn lookup(expression: &str, context: &tera::Context) -> Option<String> {
    let mut parts = expression.split('.');
    let first = parts.next()?;
    if !is_identifier(first) {
        return None;
    }
    let mut value = context.get(first)?;
    for part in parts {
        if !is_identifier(part) {
            return None;
        }
        value = value.as_object()?.get(part)?;
    }
    match value {
        Json::String(s) => Some(s.clone()),
        Json::Number(n) => Some(n.to_string()),
        Json::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn context() -> tera::Context {
        tera::Context::from_value(serde_json::json!({
            "svc": "web", "port": 8080, "ratio": 0.5, "on": true,
            "vars": { "db": { "host": "h" }, "list": [1, 2] },
        }))
        .expect("object")
    }

    fn tera_render(template: &str) -> Result<String, tera::Error> {
        tera::Tera::one_off(template, &context(), false)
    }

    #[test]
    fn accepted_templates_render_exactly_as_tera_does() {
        for template in [
            "name = \"{{ svc }}\"\nport = {{port}}\n",
            "{{ vars.db.host }}:{{ port }} {{ ratio }} {{ on }}",
            "no tags at all",
            "a {{ svc }}{{ svc }} b",
        ] {
            let fast = try_render(template, &context(), 1 << 20).expect("fast path applies");
            assert_eq!(
                fast,
                tera_render(template).expect("tera renders"),
                "{template}"
            );
        }
    }

    #[test]
    fn everything_else_goes_to_tera() {
        for template in [
            "{{ missing }}",
            "{{ vars.list }}",
            "{{ svc | upper }}",
            "{{ env(name=\"X\") }}",
            "{% if on %}x{% endif %}",
            "{{- svc }}",
            "{# note #}{{ svc }}",
            "{{ svc ",
            "{{ vars.db }}",
        ] {
            assert_eq!(
                try_render(template, &context(), 1 << 20),
                None,
                "{template}"
            );
        }
    }
}
