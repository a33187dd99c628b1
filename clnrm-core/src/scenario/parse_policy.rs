//! A scenario's `policy` table (the original's `PolicyConfig`), read key by
//! key: anything else in it is an unknown key, as everywhere.

use std::time::Duration;

use super::model::Policy;
use super::value::ValueRef;
use crate::diagnostic::Code;

const SECURITY_LEVELS: &[&str] = &["low", "medium", "high"];

pub(crate) fn read_policy(value: &ValueRef<'_, '_>) -> Option<Policy> {
    let mut t = value.table()?;
    let security_level = t.string("security_level");
    if let Some(level) = &security_level
        && !SECURITY_LEVELS.contains(&level.value.to_ascii_lowercase().as_str())
    {
        t.diags().push(
            crate::diagnostic::Diagnostic::error(
                Code::InvalidValue,
                format!("unknown security level `{}`", level.value),
            )
            .at(level.span.clone())
            .with_help("use one of: low, medium, high"),
        );
    }
    let max_cpu_usage = t.get("max_cpu_usage").and_then(|v| {
        let usage = v.float()?;
        if !(0.0..=1.0).contains(&usage) || usage == 0.0 {
            v.diags.push(
                v.invalid(
                    Code::InvalidValue,
                    format!("`policy.max_cpu_usage` is {usage}: a fraction of one CPU, above 0 and at most 1"),
                ),
            );
            return None;
        }
        Some(usage)
    });
    let policy = Policy {
        security_level,
        max_execution_time: t
            .get("max_execution_time")
            .and_then(|v| v.duration(Duration::from_secs(1))),
        max_memory_mb: t.get("max_memory_mb").and_then(|v| v.unsigned::<u32>()),
        max_cpu_usage,
        allowed_network_hosts: t.string_list("allowed_network_hosts").unwrap_or_default(),
        disallowed_commands: t.string_list("disallowed_commands").unwrap_or_default(),
        span: value.span(),
    };
    t.finish();
    Some(policy)
}
