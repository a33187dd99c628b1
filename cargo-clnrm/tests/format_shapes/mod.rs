//! Scenario files in every shape, with every table and key the parser
//! reads: the examples the format tests read the accepted keys from.

/// The current shape with every table and key the parser reads.
pub const CURRENT_SHAPE: &str = r#"
description = "documentation keys are accepted anywhere"

[meta]
name = "every table"
version = "1.0"
description = "the current shape"
author = "docs"
tags = ["docs"]
timeout = "10m"
ignore = "an example"
build = { context = "docker", dockerfile = "Dockerfile" }
backend = "container"
strict = false

[vars]
greeting = "hello"

[matrix]
os = ["debian", "alpine"]

[determinism]
seed = 42
freeze_clock = "2025-01-01T00:00:00Z"

[service.db]
plugin = "generic_container"
image = "postgres:16"
args = ["postgres", "-c", "fsync=off"]
env = { POSTGRES_PASSWORD = "secret" }
ports = [5432, "8080:80"]
volumes = [
  { host_path = "fixtures", container_path = "/fixtures", read_only = true },
  "data:/data:ro",
]
health_check = { cmd = ["pg_isready"], interval = "1s", timeout = "5s", retries = 10 }
wait_for_span = "db.ready"

[service.web]
build = { context = "web", dockerfile = "Dockerfile.test" }
command = ["serve", "--port", "80"]

[[scenario]]
name = "full"
service = "db"
run = "psql --version"
timeout = "2m"
concurrent = false
artifacts.collect = ["spans:default"]
policy = { security_level = "high" }
expect_failure = false

[[scenario.steps]]
name = "query"
command = ["psql", "-c", "select 1"]
service = "db"
env = { PGUSER = "postgres" }
workdir = "/tmp"
stdin = "select 1;\n"
expected_exit_code = 0
expected_output_regex = "^1$"
expected_stderr_regex = "^$"
stdout_contains = ["1"]
stdout_not_contains = ["ERROR"]
continue_on_failure = false
timeout = "30s"

[[scenario.steps]]
name = "shell words"
run = "echo 'two words'"
timeout_ms = 500

[[scenario]]
name = "must fail"
timeout_ms = 60000
expect_failure = "exit status"

[[scenario.steps]]
name = "fails"
command = ["false"]

[[expect.span]]
name = "http.request"
parent = "root"
kind = "server"
attrs.all = { "http.method" = "GET" }
attrs.any = { "http.status_code" = "200" }
events.all = ["start"]
events.any = ["retry", "done"]
duration_ms = { min = 1, max = 5000 }

[expect.graph]
must_include = [["root", "http.request"]]
must_not_cross = [["db.query", "http.request"]]
acyclic = true

[expect.counts]
spans_total = { gte = 2, lte = 100 }
events_total = { gte = 0 }
errors_total = { eq = 0 }
by_name = { "http.request" = { eq = 1 } }

[[expect.window]]
outer = "root"
contains = ["http.request"]

[expect.order]
must_precede = [["root", "http.request"]]
must_follow = [["http.request", "root"]]

[expect.status]
all = "OK"
by_name = { "http.request" = "OK" }

[expect.hermeticity]
no_external_services = true
resource_attrs.must_match = { "service.name" = "clnrm" }
span_attrs.forbid_keys = ["net.peer.name"]

[assertions]
container_should_have_executed_commands = 2
all_steps_should_succeed = true

[otel]
exporter = "stdout"
endpoint = "http://localhost:4318"
protocol = "http/protobuf"
sample_ratio = 1.0
resources = { "service.name" = "clnrm" }
headers = { Authorization = "Bearer token" }

[report]
json = "report.json"
junit = "junit.xml"
digest = "digest.sha256"

[limits]
cpu_millicores = 500
memory_mb = 256
"#;

/// The older shapes: `[test.metadata]`, `[services.*]`, top-level `[[steps]]`,
/// and `[otel_validation]` with every key it maps.
pub const OLDER_SHAPE: &str = r#"
[test.metadata]
name = "older shape"
version = "0.4"
description = "the older header, top-level steps and [otel_validation]"
tags = ["compat"]
timeout = "30s"

[services.app]
plugin = "generic_container"
image = "alpine:3"

[[steps]]
name = "hello"
command = ["echo", "hello"]
service = "app"
expected_output_regex = "hello"

[otel_validation]
enabled = true
validate_spans = true
validate_traces = true
validate_temporal_ordering = true
validate_cardinality = true
validate_hermeticity = true
validate_attributes = true

[[otel_validation.expected_spans]]
name = "app.start"
parent = "root"
span_kind = "internal"
attributes = { "service.name" = "app" }
attrs.all = { "env" = "ci" }
attrs.any = { "tier" = "1" }
events.all = ["start"]
events.any = ["ready"]
duration_ms = { min = 1, max = 100 }
required = true

[otel_validation.expected_traces]
parent_child = [{ parent = "root", child = "app.start" }]

[[otel_validation.temporal_constraints]]
must_precede = ["root", "app.start"]
must_follow = ["app.start", "root"]

[otel_validation.expect_counts]
spans_total = { gte = 1 }
events_total = { lte = 10 }
errors_total = { eq = 0 }
by_name = { "app.start" = { gte = 1 } }
"#;
