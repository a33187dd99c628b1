//! Small helpers shared by the clnrm benchmarks (plain `fn main` benches, no
//! criterion): timing, and order statistics over samples; [`throwaway`]
//! generates and builds the throwaway crates of the harness benches;
//! [`corpus`] writes the 1,000 scenario files.

pub mod corpus;
pub mod throwaway;

use std::path::{Path, PathBuf};
use std::process::Command;

use std::time::{Duration, Instant};

/// Runs `f` once and returns its result with the wall time it took.
pub fn time<T>(f: impl FnOnce() -> T) -> (T, Duration) {
    let start = Instant::now();
    let value = f();
    (value, start.elapsed())
}

/// Runs `f` `runs` times and returns every wall time, in run order.
pub fn sample(runs: usize, mut f: impl FnMut()) -> Vec<Duration> {
    (0..runs).map(|_| time(&mut f).1).collect()
}

/// The `p`-th percentile (0..=100) of `samples`, nearest-rank; zero when empty.
pub fn percentile(samples: &[Duration], p: f64) -> Duration {
    if samples.is_empty() {
        return Duration::ZERO;
    }
    let mut sorted = samples.to_vec();
    sorted.sort_unstable();
    let rank = (p.clamp(0.0, 100.0) / 100.0 * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// The median of `samples` (the mean of the two middle ones for an even count).
pub fn median(samples: &[Duration]) -> Duration {
    if samples.is_empty() {
        return Duration::ZERO;
    }
    let mut sorted = samples.to_vec();
    sorted.sort_unstable();
    let mid = sorted.len() / 2;
    if sorted.len().is_multiple_of(2) {
        (sorted[mid - 1] + sorted[mid]) / 2
    } else {
        sorted[mid]
    }
}

/// Median, 95th percentile and minimum of a set of samples.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Summary {
    pub median: Duration,
    pub p95: Duration,
    pub min: Duration,
    pub runs: usize,
}

impl Summary {
    pub fn of(samples: &[Duration]) -> Self {
        Self {
            median: median(samples),
            p95: percentile(samples, 95.0),
            min: samples.iter().min().copied().unwrap_or_default(),
            runs: samples.len(),
        }
    }
}

impl Summary {
    /// One table row: `label` padded to `width`, then median, p95 and min in
    /// milliseconds (under a header of `median`, `p95`, `min` from [`header`]).
    pub fn row_ms(&self, label: &str, width: usize) -> String {
        format!(
            "{label:<width$} {:>7.1} ms {:>7.1} ms {:>7.1} ms",
            ms(self.median),
            ms(self.p95),
            ms(self.min)
        )
    }
}

/// The header line above [`Summary::row_ms`] rows.
pub fn header(width: usize) -> String {
    format!(
        "{:<width$} {:>10} {:>10} {:>10}",
        "", "median", "p95", "min"
    )
}

/// Milliseconds with fractions, for printing.
pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// Microseconds with fractions, for printing.
pub fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

/// A positive integer from the environment variable `name`, else `default`.
pub fn env_count(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .filter(|&n: &usize| n > 0)
        .unwrap_or(default)
}

/// The repository's root (the workspace above `benches/`).
pub fn workspace() -> Result<PathBuf, String> {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .ok_or_else(|| "no workspace above benches/".to_string())
}

/// `<workspace>/target/release/cargo-clnrm`, built first when missing;
/// `CLNRM_BENCH_BINARY` names another one (e.g. the debug build).
pub fn release_binary() -> Result<PathBuf, String> {
    if let Some(binary) = std::env::var_os("CLNRM_BENCH_BINARY") {
        let binary = PathBuf::from(binary);
        return match std::fs::canonicalize(&binary) {
            Ok(path) if path.is_file() => Ok(path),
            _ => Err(format!(
                "CLNRM_BENCH_BINARY: {} is not a file",
                binary.display()
            )),
        };
    }
    let workspace = workspace()?;
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(|t| workspace.join(t))
        .unwrap_or_else(|| workspace.join("target"));
    let binary = target
        .join("release")
        .join(format!("cargo-clnrm{}", std::env::consts::EXE_SUFFIX));
    if binary.is_file() {
        return Ok(binary);
    }
    #[allow(clippy::print_stdout)] // benches report on stdout
    {
        println!(
            "{} is missing: building it with `cargo build --release -p cargo-clnrm`",
            binary.display()
        );
    }
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let status = Command::new(cargo)
        .args(["build", "--release", "-p", "cargo-clnrm"])
        .current_dir(&workspace)
        .status()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if !status.success() || !binary.is_file() {
        return Err(format!(
            "`cargo build --release -p cargo-clnrm` failed ({status})"
        ));
    }
    Ok(binary)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms_list(values: &[u64]) -> Vec<Duration> {
        values.iter().map(|&v| Duration::from_millis(v)).collect()
    }

    #[test]
    fn order_statistics() {
        let s = ms_list(&[5, 1, 4, 2, 3]);
        assert_eq!(median(&s), Duration::from_millis(3));
        assert_eq!(percentile(&s, 95.0), Duration::from_millis(5));
        assert_eq!(percentile(&s, 0.0), Duration::from_millis(1));
        assert_eq!(median(&ms_list(&[1, 2, 3, 4])), Duration::from_micros(2500));
        let summary = Summary::of(&s);
        assert_eq!(summary.min, Duration::from_millis(1));
        assert_eq!(summary.runs, 5);
        assert_eq!(median(&[]), Duration::ZERO);
    }
}
