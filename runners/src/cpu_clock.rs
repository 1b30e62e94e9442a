//! The process's CPU clock, and whether a request ran alone.
//!
//! [`process_cpu_ms`] is the CPU time all of this process's threads have used so far
//! (`CLOCK_PROCESS_CPUTIME_ID`): a request's CPU time is its difference across the request. It
//! measures the work done: when other jobs share the cores, a thread waiting for its turn
//! accrues wall-clock time but no CPU time.
//!
//! That difference belongs to one request only when no other request was in flight meanwhile;
//! [`Solo`] tells.

use std::sync::atomic::{AtomicUsize, Ordering};

/// CPU milliseconds this process has used so far, over all its threads; `None` where the clock
/// cannot be read.
pub fn process_cpu_ms() -> Option<f64> {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `ts` is a valid, writable timespec; the clock id is a constant the call accepts.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
    (rc == 0).then(|| ts.tv_sec as f64 * 1e3 + ts.tv_nsec as f64 / 1e6)
}

/// CPU milliseconds this thread has used so far; `None` where the clock cannot be read.
pub fn thread_cpu_ms() -> Option<f64> {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: as in `process_cpu_ms`.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    (rc == 0).then(|| ts.tv_sec as f64 * 1e3 + ts.tv_nsec as f64 / 1e6)
}

/// Iterations of the reference work: about a millisecond of CPU in an optimised build.
const REFERENCE_STEPS: u32 = 200_000;

/// The CPU time, in milliseconds, a fixed piece of work takes on this thread now: a measure of
/// how fast the machine's cores run at the moment, which CPU time alone does not show. A core
/// whose sibling or host is busy, or whose caches other jobs thrash, takes longer for the same
/// work (seen on a shared virtual machine: the same samples 1.5x the CPU time for a while), and
/// takes longer for this work too. The work mixes arithmetic with reads and writes over 64 KiB.
/// Only comparable between builds of the same profile (an unoptimised build runs it slower).
pub fn reference_ms() -> Option<f64> {
    let mut table = vec![0u32; 16 * 1024];
    let start = thread_cpu_ms()?;
    let mut x: u32 = 0x9e37_79b9;
    let mut sum = 0u64;
    for _ in 0..REFERENCE_STEPS {
        x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        let i = (x >> 18) as usize;
        table[i] = table[i].wrapping_add(x);
        sum = sum.wrapping_add(u64::from(table[(i * 7) & (16 * 1024 - 1)]));
    }
    std::hint::black_box(sum);
    Some(thread_cpu_ms()? - start)
}

/// Requests in flight in this process, and requests ever started.
static IN_FLIGHT: AtomicUsize = AtomicUsize::new(0);
static STARTED: AtomicUsize = AtomicUsize::new(0);

/// A request in flight, noting whether any other ran at the same time (in this process).
#[derive(Debug)]
pub struct Solo {
    started: usize,
    others_at_start: bool,
    done: bool,
}

impl Solo {
    /// Notes the start of a request.
    pub fn begin() -> Solo {
        let started = STARTED.fetch_add(1, Ordering::SeqCst) + 1;
        let others_at_start = IN_FLIGHT.fetch_add(1, Ordering::SeqCst) > 0;
        Solo { started, others_at_start, done: false }
    }

    /// Ends the request: whether it ran alone (none in flight when it began, none begun since).
    pub fn end(mut self) -> bool {
        self.done = true;
        IN_FLIGHT.fetch_sub(1, Ordering::SeqCst);
        !self.others_at_start && STARTED.load(Ordering::SeqCst) == self.started
    }
}

impl Drop for Solo {
    fn drop(&mut self) {
        if !self.done {
            IN_FLIGHT.fetch_sub(1, Ordering::SeqCst);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Burns about `ms` of CPU on this thread.
    fn spin(ms: f64) {
        let start = std::time::Instant::now();
        let mut x = 0u64;
        while start.elapsed().as_secs_f64() * 1e3 < ms {
            x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1));
        }
    }

    /// Set in the child process that [`the_process_clock_counts_work_and_not_sleep`] starts.
    const PROBE_ENV: &str = "SMOLBENCH_CPU_CLOCK_PROBE";

    /// The measurement itself; does nothing unless started as the probe. It runs alone in a child
    /// process because the clock is process-wide: other tests of this binary, running in
    /// parallel, would count as this one's CPU time.
    #[test]
    fn cpu_clock_probe() {
        if std::env::var_os(PROBE_ENV).is_none() {
            return;
        }
        let t0 = process_cpu_ms().unwrap();
        std::thread::sleep(std::time::Duration::from_millis(120));
        let slept = process_cpu_ms().unwrap() - t0;
        let t1 = process_cpu_ms().unwrap();
        // Two threads working 60 ms each: about 120 ms of CPU (less only if the machine starves
        // them: a spin counts wall time, so CPU time can only fall short of it).
        std::thread::scope(|s| {
            s.spawn(|| spin(60.0));
            s.spawn(|| spin(60.0));
        });
        let worked = process_cpu_ms().unwrap() - t1;
        println!("cpu-clock-probe slept={slept} worked={worked}");
    }

    #[test]
    fn the_process_clock_counts_work_and_not_sleep() {
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "cpu_clock::tests::cpu_clock_probe", "--nocapture", "--test-threads", "1"])
            .env(PROBE_ENV, "1")
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "the probe failed: {stdout}");
        // libtest prints the test's name on the same line first.
        let line = stdout.lines().find_map(|l| l.find("cpu-clock-probe").map(|at| &l[at..])).expect("the probe's line");
        let value = |key: &str| -> f64 {
            let field = line.split_whitespace().find_map(|f| f.strip_prefix(key)).expect("a field");
            field.parse().unwrap()
        };
        let (slept, worked) = (value("slept="), value("worked="));
        assert!(slept < 30.0, "sleeping used {slept} ms of CPU");
        assert!(worked > slept + 20.0 && worked < 200.0, "two 60 ms spins used {worked} ms of CPU");
    }

    #[test]
    fn the_reference_work_takes_steady_cpu_time() {
        let runs: Vec<f64> = (0..5).map(|_| reference_ms().unwrap()).collect();
        let (lo, hi) = runs.iter().fold((f64::MAX, 0.0f64), |(lo, hi), &r| (lo.min(r), hi.max(r)));
        assert!(lo > 0.0 && hi < 200.0, "{runs:?}");
        // The same work, the same thread: CPU time varies far less than wall-clock time would
        // under load (a factor 3 bounds what a busy test machine does to it).
        assert!(hi / lo < 3.0, "{runs:?}");
    }

    #[test]
    fn overlapping_requests_are_not_solo() {
        // Other tests of this binary may start requests concurrently; only the overlap case is
        // certain whatever they do.
        let a = Solo::begin();
        let b = Solo::begin();
        assert!(!b.end(), "b began while a was in flight");
        assert!(!a.end(), "b began while a was in flight");
    }
}
