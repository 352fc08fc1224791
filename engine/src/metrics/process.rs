//! The process's own figures under the names every Prometheus client uses
//! (`process_resident_memory_bytes`, `process_open_fds`, …), read from
//! `/proc` at each scrape. On systems without `/proc` they stay at zero.

use std::{
    sync::{Mutex, atomic::AtomicU64},
    time::{SystemTime, UNIX_EPOCH},
};

use prometheus_client::{
    metrics::{counter::Counter, gauge::Gauge},
    registry::{Registry, Unit},
};

#[derive(Default)]
pub(super) struct ProcessMetrics {
    resident_memory: Gauge,
    open_fds: Gauge,
    max_fds: Gauge,
    cpu: Counter<f64, AtomicU64>,
    /// The CPU time already counted, to add only what is new.
    cpu_counted: Mutex<f64>,
    start_time: Gauge<f64, AtomicU64>,
}

impl ProcessMetrics {
    pub(super) fn register(&self, registry: &mut Registry) {
        registry.register_with_unit(
            "resident_memory",
            "Resident memory size",
            Unit::Bytes,
            self.resident_memory.clone(),
        );
        registry.register("open_fds", "Open file descriptors", self.open_fds.clone());
        registry.register(
            "max_fds",
            "The most file descriptors the process may open",
            self.max_fds.clone(),
        );
        registry.register_with_unit(
            "cpu",
            "User and system CPU time spent",
            Unit::Seconds,
            self.cpu.clone(),
        );
        registry.register_with_unit(
            "start_time",
            "When the instance started, in seconds since the Unix epoch",
            Unit::Seconds,
            self.start_time.clone(),
        );
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64());
        self.start_time.set(now);
    }

    pub(super) fn refresh(&self) {
        if let Some(bytes) = resident_bytes() {
            self.resident_memory.set(bytes);
        }
        if let Ok(entries) = std::fs::read_dir("/proc/self/fd") {
            self.open_fds.set(entries.count() as i64);
        }
        if let Some(max) = max_open_files() {
            self.max_fds.set(max);
        }
        if let Some(seconds) = cpu_seconds() {
            let mut counted = self.cpu_counted.lock().expect("cpu time");
            if seconds > *counted {
                self.cpu.inc_by(seconds - *counted);
                *counted = seconds;
            }
        }
    }
}

/// `VmRSS` of `/proc/self/status`, which is in kB.
fn resident_bytes() -> Option<i64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: i64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// The soft limit of "Max open files" in `/proc/self/limits`.
fn max_open_files() -> Option<i64> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line["Max open files".len()..]
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// utime + stime of `/proc/self/stat`, in seconds.
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The command name (field 2) may hold spaces: count from after it.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // Fields 14 and 15 of the whole line are the 12th and 13th after it.
    let user: f64 = fields.get(11)?.parse().ok()?;
    let system: f64 = fields.get(12)?.parse().ok()?;
    // SAFETY: sysconf only reads a configuration value.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    (ticks > 0).then(|| (user + system) / ticks as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_process_reads_its_own_figures() {
        assert!(resident_bytes().is_some_and(|b| b > 1_000_000));
        assert!(max_open_files().is_some_and(|n| n > 0));
        assert!(cpu_seconds().is_some_and(|s| s >= 0.0));
    }
}
