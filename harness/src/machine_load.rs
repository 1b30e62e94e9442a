//! How busy the machine was with other work while a sample ran: `/proc/stat` (every core's
//! busy and idle time, steal included) and this process's CPU clock, read before and after.
//!
//! The regression gate uses it to tell a slower program from a busier machine: wall-clock time
//! stretches when other jobs share the cores; this says by how much they did.

use smolbench_core::MachineLoad;
use smolbench_runners::cpu_clock::{process_cpu_ms, reference_ms};

/// The whole machine's CPU time, in milliseconds: busy (anything but idle and I/O wait; steal
/// counts as busy: the host gave the core to someone else) and total.
#[derive(Debug, Clone, Copy, PartialEq)]
struct MachineTimes {
    busy_ms: f64,
    total_ms: f64,
}

/// Parses the aggregate `cpu` line of `/proc/stat` (fields in clock ticks of `1 / hz` s).
fn parse_proc_stat(text: &str, hz: f64) -> Option<MachineTimes> {
    let line = text.lines().find(|l| l.starts_with("cpu "))?;
    let ticks: Vec<f64> = line.split_whitespace().skip(1).map(|f| f.parse().ok()).collect::<Option<_>>()?;
    // user nice system idle iowait irq softirq steal (guest time is already in user).
    let field = |i: usize| ticks.get(i).copied().unwrap_or(0.0);
    if ticks.len() < 4 {
        return None;
    }
    let busy = field(0) + field(1) + field(2) + field(5) + field(6) + field(7);
    let total = busy + field(3) + field(4);
    Some(MachineTimes { busy_ms: busy * 1e3 / hz, total_ms: total * 1e3 / hz })
}

fn machine_times() -> Option<MachineTimes> {
    // SAFETY: sysconf takes a constant and has no other effect.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    let hz = if hz > 0 { hz as f64 } else { 100.0 };
    parse_proc_stat(&std::fs::read_to_string("/proc/stat").ok()?, hz)
}

fn load_avg_1m() -> Option<f64> {
    std::fs::read_to_string("/proc/loadavg").ok()?.split_whitespace().next()?.parse().ok()
}

/// A reading taken when a sample starts.
#[derive(Debug, Clone, Copy)]
pub struct LoadWatch {
    machine: MachineTimes,
    own_cpu_ms: f64,
    reference_ms: Option<f64>,
}

impl LoadWatch {
    /// Times the reference work and reads the machine's and this process's CPU time now;
    /// `None` where they cannot be read.
    pub fn start() -> Option<LoadWatch> {
        let reference_ms = reference_ms();
        Some(LoadWatch { machine: machine_times()?, own_cpu_ms: process_cpu_ms()?, reference_ms })
    }

    /// The machine's load by others since [`LoadWatch::start`], and the reference work's time
    /// (timed again now, after the reading, so that it does not count as the sample's).
    pub fn finish(self) -> Option<MachineLoad> {
        let (machine, own) = (machine_times()?, process_cpu_ms()?);
        let reference_ms = reference_ms();
        Some(between(self, LoadWatch { machine, own_cpu_ms: own, reference_ms }, load_avg_1m()?))
    }
}

fn between(start: LoadWatch, end: LoadWatch, load_avg_1m: f64) -> MachineLoad {
    let busy = end.machine.busy_ms - start.machine.busy_ms;
    let own = end.own_cpu_ms - start.own_cpu_ms;
    MachineLoad {
        machine_cpu_ms: end.machine.total_ms - start.machine.total_ms,
        others_cpu_ms: busy - own,
        load_avg_1m,
        reference_cpu_ms: match (start.reference_ms, end.reference_ms) {
            (Some(a), Some(b)) => Some((a + b) / 2.0),
            _ => None,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_stat_busy_counts_steal_and_not_idle_or_iowait() {
        let text = "cpu  100 20 30 400 50 6 4 40 0 0\ncpu0 50 10 15 200 25 3 2 20 0 0\nintr 1 2\n";
        let t = parse_proc_stat(text, 100.0).unwrap();
        assert_eq!(t, MachineTimes { busy_ms: 2000.0, total_ms: 6500.0 });
        assert_eq!(parse_proc_stat("intr 1 2\n", 100.0), None);
        assert_eq!(parse_proc_stat("cpu  1 x 3 4\n", 100.0), None);
    }

    #[test]
    fn others_are_the_busy_time_this_process_did_not_use() {
        let at = |busy_ms, total_ms, own_cpu_ms, reference_ms| LoadWatch {
            machine: MachineTimes { busy_ms, total_ms },
            own_cpu_ms,
            reference_ms: Some(reference_ms),
        };
        // Two cores for 1 s: 1.5 s busy, of which this process used 0.4 s.
        let load = between(at(1000.0, 5000.0, 100.0, 1.0), at(2500.0, 7000.0, 500.0, 1.5), 2.5);
        assert_eq!(
            load,
            MachineLoad {
                machine_cpu_ms: 2000.0,
                others_cpu_ms: 1100.0,
                load_avg_1m: 2.5,
                reference_cpu_ms: Some(1.25)
            }
        );
        assert_eq!(MachineLoad::others_share([&load, &load]), Some(0.55));
    }

    #[test]
    fn a_live_reading_covers_the_time_between() {
        let watch = LoadWatch::start().expect("/proc/stat and the CPU clock are readable on Linux");
        std::thread::sleep(std::time::Duration::from_millis(60));
        let load = watch.finish().unwrap();
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
        // Ticks of 10 ms: the machine's total time is the sleep times the cores, give or take.
        assert!(load.machine_cpu_ms > 20.0 && load.machine_cpu_ms < 400.0 * cores, "{load:?}");
        assert!(load.others_cpu_ms <= load.machine_cpu_ms + 20.0 && load.load_avg_1m >= 0.0, "{load:?}");
        assert!(load.reference_cpu_ms.is_some_and(|r| r > 0.0), "{load:?}");
    }
}
