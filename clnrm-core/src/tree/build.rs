//! Building an [`ExpectationTree`] from a parsed scenario file: one node per
//! header, service, scenario, step and expectation, with unique ids.

use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::time::Duration;

use serde::Serialize;

use crate::scenario::{
    Backend, Expectations, HeaderShape, ImageBuild, ImageSource, ScenarioFile, ScenarioShape,
    Service, SpanKind, SpanStatus, Spanned, Step,
};

use super::node::{ExpectationTree, Node, NodeId, NodeKind};

impl ExpectationTree {
    /// Builds the tree; repeated names get `#2`, `#3`, ... so every id is unique.
    pub fn from_file(file: &ScenarioFile) -> ExpectationTree {
        Builder::default().file(file)
    }
}

/// Canonical field texts: strings and lists as JSON, numbers and booleans bare;
/// absent options and empty lists are left out.
#[derive(Default)]
struct Fields(BTreeMap<String, String>);

impl Fields {
    fn raw(self, key: &str, value: impl fmt::Display) -> Self {
        self.opt_raw(key, Some(value))
    }
    fn opt_raw(mut self, key: &str, value: Option<impl fmt::Display>) -> Self {
        if let Some(v) = value {
            self.0.insert(key.to_owned(), v.to_string());
        }
        self
    }
    fn text(self, key: &str, value: &str) -> Self {
        self.raw(key, json(value))
    }
    fn opt_text(self, key: &str, value: Option<impl AsRef<str>>) -> Self {
        self.opt_raw(key, value.map(|v| json(v.as_ref())))
    }
    fn list<T: Serialize>(self, key: &str, items: &[T]) -> Self {
        self.opt_raw(key, (!items.is_empty()).then(|| json(items)))
    }
    /// `K=V` items: readable, and keeps order and duplicates.
    fn kv(self, key: &str, pairs: &[(String, String)]) -> Self {
        let items: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}={v}")).collect();
        self.list(key, &items)
    }
    fn ms(self, key: &str, value: Option<&Duration>) -> Self {
        self.opt_raw(key, value.map(Duration::as_millis))
    }
    fn build(self, build: Option<&ImageBuild>) -> Self {
        let Some(b) = build else { return self };
        self.text("build.context", &b.context.value)
            .opt_text("build.dockerfile", b.dockerfile.as_ref())
    }
}

fn json<T: Serialize + ?Sized>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

fn val<T>(value: &Option<Spanned<T>>) -> Option<&T> {
    value.as_ref().map(|s| &s.value)
}

/// Hands out ids, unique within one tree.
#[derive(Default)]
struct Builder {
    used: HashSet<String>,
}

impl Builder {
    /// Id `prefix` or `prefix:name`, with `#2`, `#3`, ... for repeats.
    fn node(&mut self, kind: NodeKind, prefix: &str, name: Option<&str>, f: Fields) -> Node {
        let (base, label) = match name {
            Some(n) => {
                let noun = prefix.rsplit('/').next().unwrap_or(prefix);
                (format!("{prefix}:{n}"), format!("{noun} {n}"))
            }
            None => (prefix.to_owned(), prefix.to_owned()),
        };
        let mut id = base.clone();
        for n in 2.. {
            if !self.used.contains(&id) {
                break;
            }
            id = format!("{base}#{n}");
        }
        self.used.insert(id.clone());
        let (fields, children) = (f.0, Vec::new());
        Node {
            id: NodeId(id),
            kind,
            label,
            fields,
            children,
        }
    }

    fn file(mut self, file: &ScenarioFile) -> ExpectationTree {
        let h = &file.header;
        let mut out = Vec::new();
        let shape = match h.shape {
            HeaderShape::Meta => "meta",
            HeaderShape::TestMetadata => "test.metadata",
        };
        let backend = match h.backend {
            Backend::Container => "container",
            Backend::Local => "local",
        };
        let f = Fields::default()
            .text("name", &h.name.value)
            .text("shape", shape)
            .opt_text("version", h.version.as_ref())
            .opt_text("description", h.description.as_ref())
            .list("tags", &h.tags)
            .ms("timeout_ms", val(&h.timeout))
            .opt_text("ignore", h.ignore.as_ref())
            .opt_text("image", val(&h.image))
            .build(h.build.as_ref())
            .text("backend", backend)
            .raw("strict", h.strict);
        out.push(self.node(NodeKind::Header, "header", None, f));
        for s in &file.services {
            out.push(self.service(s));
        }
        for s in &file.scenarios {
            let shape = match s.shape {
                ScenarioShape::TopLevelSteps => "top_level_steps",
                ScenarioShape::Explicit => "explicit",
            };
            let collect: Vec<&String> = s.collect.iter().map(|c| &c.value).collect();
            let f = Fields::default()
                .text("shape", shape)
                .opt_text("service", val(&s.service))
                .ms("timeout_ms", val(&s.timeout))
                .raw("concurrent", s.concurrent)
                .list("collect", &collect)
                .opt_text("expect_failure", s.expect_failure.as_ref());
            let mut node = self.node(NodeKind::Scenario, "scenario", Some(&s.name), f);
            let prefix = format!("{}/step", node.id);
            node.children = s.steps.iter().map(|s| self.step(&prefix, s)).collect();
            out.push(node);
        }
        self.expectations(&file.expect, &mut out);
        for a in &file.assertions {
            let f = Fields::default().raw("value", &a.value);
            out.push(self.node(NodeKind::Assertion, "assertion", Some(&a.key), f));
        }
        if let Some(l) = &file.limits {
            let f = Fields::default()
                .opt_raw("cpu_millicores", l.cpu_millicores)
                .opt_raw("memory_mb", l.memory_mb)
                .opt_raw("max_containers", val(&l.max_containers))
                .ms("max_duration_ms", val(&l.max_duration));
            out.push(self.node(NodeKind::Limits, "limits", None, f));
        }
        if let Some(o) = &file.otel {
            let f = Fields::default()
                .opt_text("exporter", o.exporter.as_ref())
                .opt_text("endpoint", o.endpoint.as_ref())
                .opt_text("protocol", o.protocol.as_ref())
                .list("propagators", &o.propagators)
                .opt_raw("sample_ratio", o.sample_ratio)
                .kv("resources", &o.resources)
                .kv("headers", &o.headers);
            out.push(self.node(NodeKind::Otel, "otel", None, f));
        }
        if let Some(r) = &file.report {
            let f = Fields::default()
                .opt_text("json", r.json.as_ref())
                .opt_text("junit", r.junit.as_ref())
                .opt_text("digest", r.digest.as_ref());
            out.push(self.node(NodeKind::Report, "report", None, f));
        }
        if let Some(d) = &file.determinism {
            let f = Fields::default()
                .opt_raw("seed", d.seed)
                .opt_text("freeze_clock", d.freeze_clock.as_ref());
            out.push(self.node(NodeKind::Determinism, "determinism", None, f));
        }
        let mut root = self.node(NodeKind::File, "file", None, Fields::default());
        root.label = format!("file {}", h.name.value);
        root.children = out;
        ExpectationTree { root }
    }

    fn service(&mut self, s: &Service) -> Node {
        let ports: Vec<String> = (s.ports.iter())
            .map(|p| match p.value.host {
                Some(host) => format!("{host}:{}", p.value.container),
                None => p.value.container.to_string(),
            })
            .collect();
        let volumes: Vec<String> = (s.volumes.iter())
            .map(|v| {
                let ro = if v.read_only { ":ro" } else { "" };
                format!("{}:{}{ro}", v.host_path, v.container_path)
            })
            .collect();
        let mut f = Fields::default().text("plugin", &s.plugin.value);
        f = match &s.image {
            Some(ImageSource::Image(image)) => f.text("image", &image.value),
            Some(ImageSource::Build(build)) => f.build(Some(build)),
            None => f,
        };
        f = f.list("args", &s.args).kv("env", &s.env);
        f = f.list("ports", &ports).list("volumes", &volumes);
        let depends_on: Vec<&str> = s.depends_on.iter().map(|d| d.value.as_str()).collect();
        f = (f.list("depends_on", &depends_on)).opt_text("working_dir", val(&s.working_dir));
        if let Some(h) = &s.health_check {
            f = f
                .list("health_check.cmd", &h.cmd)
                .ms("health_check.interval_ms", h.interval.as_ref())
                .ms("health_check.timeout_ms", h.timeout.as_ref())
                .opt_raw("health_check.retries", h.retries);
        }
        f = f.opt_text("wait_for_span", s.wait_for_span.as_ref());
        self.node(NodeKind::Service, "service", Some(&s.id), f)
    }

    fn step(&mut self, prefix: &str, s: &Step) -> Node {
        let f = Fields::default()
            .list("command", &s.command.value)
            .opt_text("service", val(&s.service))
            .kv("env", &s.env)
            .opt_text("workdir", s.workdir.as_ref())
            .opt_text("stdin", s.stdin.as_ref())
            .raw("expected_exit_code", s.expected_exit_code)
            .opt_text("expected_output_regex", val(&s.expected_output_regex))
            .opt_text(
                "expected_output_regex_not",
                val(&s.expected_output_regex_not),
            )
            .opt_text("expected_stderr_regex", val(&s.expected_stderr_regex))
            .list("stdout_contains", &s.stdout_contains)
            .list("stdout_not_contains", &s.stdout_not_contains)
            .raw("continue_on_failure", s.continue_on_failure)
            .opt_raw("retries", (s.retries > 0).then_some(s.retries))
            .ms("timeout_ms", val(&s.timeout));
        self.node(NodeKind::Step, prefix, Some(&s.name), f)
    }

    fn expectations(&mut self, e: &Expectations, out: &mut Vec<Node>) {
        for s in &e.spans {
            let f = Fields::default()
                .text("name", &s.name.value)
                .opt_text("parent", s.parent.as_ref())
                .opt_text("kind", s.kind.map(SpanKind::as_str))
                .kv("attrs.all", &s.attrs_all)
                .kv("attrs.any", &s.attrs_any)
                .list("events.all", &s.events_all)
                .list("events.any", &s.events_any)
                .opt_raw("duration_ms.min", s.duration_ms_min)
                .opt_raw("duration_ms.max", s.duration_ms_max)
                .opt_text("status", s.status.map(SpanStatus::as_str))
                .list("attrs.present", &s.attrs_present)
                .opt_text("count", s.count.map(|c| c.to_string()).as_ref());
            out.push(self.node(NodeKind::SpanExpectation, "expect.span", Some(&s.name), f));
        }
        if let Some(g) = &e.graph {
            let f = Fields::default()
                .list("must_include", &g.must_include)
                .list("must_not_cross", &g.must_not_cross)
                .opt_raw("acyclic", g.acyclic);
            out.push(self.node(NodeKind::GraphExpectation, "expect.graph", None, f));
        }
        if let Some(c) = &e.counts {
            let by_name: Vec<String> = c.by_name.iter().map(|(n, b)| format!("{n}={b}")).collect();
            let f = Fields::default()
                .opt_raw("spans_total", c.spans_total)
                .opt_raw("events_total", c.events_total)
                .opt_raw("errors_total", c.errors_total)
                .list("by_name", &by_name);
            out.push(self.node(NodeKind::CountsExpectation, "expect.counts", None, f));
        }
        for w in &e.windows {
            let f = Fields::default()
                .text("outer", &w.outer)
                .list("contains", &w.contains);
            let kind = NodeKind::WindowExpectation;
            out.push(self.node(kind, "expect.window", Some(&w.outer), f));
        }
        if let Some(o) = &e.order {
            let f = Fields::default()
                .list("must_precede", &o.must_precede)
                .list("must_follow", &o.must_follow);
            out.push(self.node(NodeKind::OrderExpectation, "expect.order", None, f));
        }
        if let Some(s) = &e.status {
            let by_name: Vec<String> = s
                .by_name
                .iter()
                .map(|(n, st)| format!("{n}={}", st.as_str()))
                .collect();
            let f = Fields::default()
                .opt_text("all", s.all.map(SpanStatus::as_str))
                .list("by_name", &by_name);
            out.push(self.node(NodeKind::StatusExpectation, "expect.status", None, f));
        }
        if let Some(h) = &e.hermeticity {
            let f = Fields::default()
                .opt_raw("no_external_services", h.no_external_services)
                .kv("resource_attrs_must_match", &h.resource_attrs_must_match)
                .list("span_attrs_forbid_keys", &h.span_attrs_forbid_keys);
            let kind = NodeKind::HermeticityExpectation;
            out.push(self.node(kind, "expect.hermeticity", None, f));
        }
    }
}
