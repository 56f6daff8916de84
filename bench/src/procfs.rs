//! What /proc says about a process: resident memory (now and peak) and CPU time.

use anyhow::{Context, Result};

/// Clock ticks per second of /proc/<pid>/stat times (USER_HZ, 100 on Linux).
const TICKS_PER_S: f64 = 100.0;

fn status_kb(pid: u32, field: &str) -> Result<u64> {
    let path = format!("/proc/{pid}/status");
    let text = std::fs::read_to_string(&path).with_context(|| format!("reading {path}"))?;
    text.lines()
        .find_map(|line| {
            let rest = line.strip_prefix(field)?.strip_prefix(':')?;
            rest.trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<u64>()
                .ok()
        })
        .with_context(|| format!("{field} in {path}"))
}

/// Resident set size now, MiB.
pub fn rss_mb(pid: u32) -> Result<f64> {
    Ok(status_kb(pid, "VmRSS")? as f64 / 1024.0)
}

/// Peak resident set size since start or since [`reset_peak`], MiB.
pub fn peak_rss_mb(pid: u32) -> Result<f64> {
    Ok(status_kb(pid, "VmHWM")? as f64 / 1024.0)
}

/// Resets the peak (VmHWM) to the current RSS (`echo 5 > /proc/<pid>/clear_refs`), so a
/// later reading is the peak of what ran in between. False if the kernel refused.
pub fn reset_peak(pid: u32) -> bool {
    std::fs::write(format!("/proc/{pid}/clear_refs"), "5").is_ok()
}

/// User + system CPU seconds the process has used so far.
pub fn cpu_seconds(pid: Option<u32>) -> Result<f64> {
    let path = match pid {
        Some(pid) => format!("/proc/{pid}/stat"),
        None => "/proc/self/stat".to_owned(),
    };
    let text = std::fs::read_to_string(&path).with_context(|| format!("reading {path}"))?;
    // Fields after the command name (which may contain spaces) in parentheses.
    let after = text
        .rsplit_once(')')
        .map(|(_, rest)| rest)
        .context("stat format")?;
    let fields: Vec<&str> = after.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the whole line: 12 and 13 after the name.
    let utime: f64 = fields.get(11).context("utime")?.parse()?;
    let stime: f64 = fields.get(12).context("stime")?.parse()?;
    Ok((utime + stime) / TICKS_PER_S)
}

/// The 1-minute load average: other work on the machine skews every figure.
pub fn loadavg() -> f64 {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|t| t.split_whitespace().next().and_then(|v| v.parse().ok()))
        .unwrap_or(-1.0)
}

/// `some avg60` of /proc/pressure/{cpu,io}: the share of the last minute in which some
/// task waited for the CPU or for I/O (-1 where the kernel does not report pressure).
pub fn pressure() -> serde_json::Value {
    let read = |what: &str| -> f64 {
        std::fs::read_to_string(format!("/proc/pressure/{what}"))
            .ok()
            .and_then(|t| {
                t.lines()
                    .find(|l| l.starts_with("some"))
                    .and_then(|l| l.split_whitespace().find_map(|f| f.strip_prefix("avg60=")))
                    .and_then(|v| v.parse().ok())
            })
            .unwrap_or(-1.0)
    };
    serde_json::json!({"cpu_some_avg60": read("cpu"), "io_some_avg60": read("io"), "loadavg": loadavg()})
}

/// A CPU-time meter for the server and this load generator over one scenario.
#[derive(Debug, Clone, Copy)]
pub struct CpuMeter {
    pid: u32,
    server: f64,
    bench: f64,
}

#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct CpuUse {
    /// CPU seconds the offboard process used (PostgreSQL's own processes not included).
    pub server_cpu_s: f64,
    /// CPU seconds this load generator used (HTTP client, captcha solving, seeding).
    pub bench_cpu_s: f64,
}

impl CpuMeter {
    pub fn start(pid: u32) -> Self {
        Self {
            pid,
            server: cpu_seconds(Some(pid)).unwrap_or(0.0),
            bench: cpu_seconds(None).unwrap_or(0.0),
        }
    }

    pub fn stop(&self) -> CpuUse {
        CpuUse {
            server_cpu_s: crate::stats::round3(
                cpu_seconds(Some(self.pid)).unwrap_or(0.0) - self.server,
            ),
            bench_cpu_s: crate::stats::round3(cpu_seconds(None).unwrap_or(0.0) - self.bench),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_this_process() {
        let pid = std::process::id();
        assert!(rss_mb(pid).unwrap() > 0.0);
        assert!(peak_rss_mb(pid).unwrap() >= rss_mb(pid).unwrap() - 1.0);
        assert!(cpu_seconds(None).unwrap() >= 0.0);
    }
}
