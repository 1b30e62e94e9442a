//! The machine a run happens on, and how much memory a sample used.
//!
//! [`fingerprint`] describes the host (CPU, cores, RAM, GPUs through NVML where the driver is
//! installed). [`MemoryProbe`] measures the peak memory of one sample: on a GPU, this process's
//! device memory sampled through NVML; on the CPU, the peak resident set size, which Linux lets a
//! process reset (`/proc/self/clear_refs`) so the figure belongs to the sample and not to the run.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use smolbench_core::perf::DevicePeak;
use smolbench_core::{DeviceFingerprint, GpuInfo, MemoryReading, MemorySource};

/// Where the model computes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ComputeDevice {
    /// The CPU.
    Cpu,
    /// A CUDA device by ordinal.
    Cuda(u32),
}

impl std::fmt::Display for ComputeDevice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ComputeDevice::Cpu => write!(f, "cpu"),
            ComputeDevice::Cuda(i) => write!(f, "cuda:{i}"),
        }
    }
}

fn nvml() -> Option<nvml_wrapper::Nvml> {
    nvml_wrapper::Nvml::init().ok()
}

/// GPUs visible through NVML; empty when there is no NVIDIA driver.
pub fn gpus() -> Vec<GpuInfo> {
    let Some(nvml) = nvml() else { return Vec::new() };
    let count = nvml.device_count().unwrap_or(0);
    (0..count)
        .filter_map(|i| {
            let dev = nvml.device_by_index(i).ok()?;
            Some(GpuInfo { name: dev.name().ok()?, memory_total_bytes: dev.memory_info().ok()?.total })
        })
        .collect()
}

/// Describes this machine.
pub fn fingerprint(compute: ComputeDevice) -> DeviceFingerprint {
    let mut sys = sysinfo::System::new();
    sys.refresh_cpu_all();
    sys.refresh_memory();
    DeviceFingerprint {
        compute: compute.to_string(),
        cpu_model: sys.cpus().first().map(|c| c.brand().trim().to_string()).unwrap_or_default(),
        cpu_cores: sys.cpus().len(),
        ram_total_bytes: sys.total_memory(),
        gpus: gpus(),
        os: format!(
            "{} {}",
            sysinfo::System::long_os_version().unwrap_or_default(),
            sysinfo::System::kernel_version().unwrap_or_default()
        ),
        hostname: sysinfo::System::host_name().unwrap_or_default(),
    }
}

fn status_kib(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Current resident set size of this process, in bytes.
pub fn current_rss_bytes() -> Option<u64> {
    status_kib("VmRSS:").map(|k| k * 1024)
}

/// Resets the kernel's peak-RSS counter of this process; false where that is not possible.
fn reset_peak_rss() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// GPU memory this process holds on `index`, through NVML.
fn process_gpu_bytes(nvml: &nvml_wrapper::Nvml, index: u32) -> Option<u64> {
    let pid = std::process::id();
    let dev = nvml.device_by_index(index).ok()?;
    let procs = dev.running_compute_processes().ok()?;
    procs.iter().filter(|p| p.pid == pid).find_map(|p| match p.used_gpu_memory {
        nvml_wrapper::enums::device::UsedGpuMemory::Used(b) => Some(b),
        nvml_wrapper::enums::device::UsedGpuMemory::Unavailable => None,
    })
}

/// Measures peak memory around a piece of work.
#[derive(Debug, Clone, Copy)]
pub struct MemoryProbe {
    compute: ComputeDevice,
    interval: Duration,
    /// Whether the probe may reset the process's peak RSS (only when nothing else runs).
    reset: bool,
}

/// A measurement in progress; [`MemoryWatch::finish`] ends it.
pub struct MemoryWatch {
    compute: ComputeDevice,
    peak: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    sampler: Option<JoinHandle<()>>,
    hwm_reset: bool,
}

impl MemoryProbe {
    /// A probe for the given device, sampling every 10 ms where sampling is needed.
    pub fn new(compute: ComputeDevice) -> Self {
        MemoryProbe { compute, interval: Duration::from_millis(10), reset: true }
    }

    /// A probe that only samples (every 10 ms) and never resets the peak RSS, for work that
    /// overlaps other measured work (requests batched together).
    pub fn sampling(compute: ComputeDevice) -> Self {
        MemoryProbe { reset: false, ..Self::new(compute) }
    }

    /// Starts measuring.
    pub fn start(&self) -> MemoryWatch {
        let peak = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let hwm_reset = self.reset && self.compute == ComputeDevice::Cpu && reset_peak_rss();
        let sampler = match self.compute {
            ComputeDevice::Cpu if hwm_reset => None,
            compute => {
                let (peak, stop, interval) = (peak.clone(), stop.clone(), self.interval);
                Some(std::thread::spawn(move || {
                    let nvml = if let ComputeDevice::Cuda(_) = compute { nvml() } else { None };
                    loop {
                        let now = match (compute, &nvml) {
                            (ComputeDevice::Cuda(i), Some(n)) => process_gpu_bytes(n, i),
                            _ => current_rss_bytes(),
                        };
                        peak.fetch_max(now.unwrap_or(0), Ordering::Relaxed);
                        if stop.load(Ordering::Relaxed) {
                            break;
                        }
                        std::thread::sleep(interval);
                    }
                }))
            }
        };
        MemoryWatch { compute: self.compute, peak, stop, sampler, hwm_reset }
    }
}

impl MemoryWatch {
    /// Ends the measurement and returns the peak.
    pub fn finish(mut self) -> Option<MemoryReading> {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(handle) = self.sampler.take() {
            let _ = handle.join();
        }
        let (peak_bytes, source) = match self.compute {
            ComputeDevice::Cpu if self.hwm_reset => (status_kib("VmHWM:")? * 1024, MemorySource::ProcessRss),
            ComputeDevice::Cpu => (self.peak.load(Ordering::Relaxed), MemorySource::ProcessRss),
            ComputeDevice::Cuda(_) => (self.peak.load(Ordering::Relaxed), MemorySource::GpuNvml),
        };
        (peak_bytes > 0).then_some(MemoryReading { peak_bytes, source })
    }
}

impl Drop for MemoryWatch {
    /// A measurement abandoned without [`MemoryWatch::finish`] (a cancelled request) still stops
    /// its sampler thread.
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// Anonymous memory this process holds now (`RssAnon`: heap and other private pages, without
/// file-backed pages such as memory-mapped weights or data files), in bytes.
pub fn current_anon_bytes() -> Option<u64> {
    status_kib("RssAnon:").map(|k| k * 1024)
}

/// Samples this process's memory on every device it uses (every 10 ms, on its own thread) and
/// keeps each device's peak: anonymous resident memory on the CPU, NVML's per-process figure on
/// each GPU. File-backed pages are left out on purpose: memory-mapped weights and parquet files
/// count towards RSS, but the kernel can drop and re-read them.
pub struct PeakSampler {
    peaks: Arc<Vec<AtomicU64>>,
    devices: Vec<(String, String, &'static str)>,
    stop: Arc<AtomicBool>,
    sampler: Option<JoinHandle<()>>,
}

impl PeakSampler {
    /// Starts sampling the CPU and, on CUDA, every GPU NVML sees.
    pub fn start(compute: ComputeDevice) -> Self {
        let cpu_name = {
            let mut sys = sysinfo::System::new();
            sys.refresh_cpu_all();
            sys.cpus().first().map(|c| c.brand().trim().to_string()).unwrap_or_default()
        };
        let mut devices = vec![("cpu".to_string(), cpu_name, "rss_anon")];
        let gpu_count = match compute {
            ComputeDevice::Cuda(_) => nvml().and_then(|n| n.device_count().ok()).unwrap_or(0),
            ComputeDevice::Cpu => 0,
        };
        for (i, gpu) in gpus().into_iter().enumerate().take(gpu_count as usize) {
            devices.push((format!("cuda:{i}"), gpu.name, "nvml_process"));
        }
        let peaks: Arc<Vec<AtomicU64>> = Arc::new((0..devices.len()).map(|_| AtomicU64::new(0)).collect());
        let stop = Arc::new(AtomicBool::new(false));
        let (p, st) = (peaks.clone(), stop.clone());
        let sampler = std::thread::spawn(move || {
            let nvml = if gpu_count > 0 { nvml() } else { None };
            loop {
                p[0].fetch_max(current_anon_bytes().unwrap_or(0), Ordering::Relaxed);
                if let Some(n) = &nvml {
                    for i in 0..gpu_count {
                        p[1 + i as usize].fetch_max(process_gpu_bytes(n, i).unwrap_or(0), Ordering::Relaxed);
                    }
                }
                if st.load(Ordering::Relaxed) {
                    break;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
        });
        PeakSampler { peaks, devices, stop, sampler: Some(sampler) }
    }

    /// Stops sampling and returns each device's peak (devices never seen in use left out).
    pub fn finish(mut self) -> Vec<DevicePeak> {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(handle) = self.sampler.take() {
            let _ = handle.join();
        }
        self.devices
            .iter()
            .zip(self.peaks.iter())
            .filter_map(|((device, name, source), peak)| {
                let peak_bytes = peak.load(Ordering::Relaxed);
                (peak_bytes > 0).then(|| DevicePeak {
                    device: device.clone(),
                    name: name.clone(),
                    peak_bytes,
                    source: source.to_string(),
                })
            })
            .collect()
    }
}

/// Memory this process holds now on `compute`: its GPU memory through NVML on CUDA, its
/// resident set size on the CPU.
pub fn current_memory(compute: ComputeDevice) -> Option<MemoryReading> {
    match compute {
        ComputeDevice::Cpu => {
            current_rss_bytes().map(|peak_bytes| MemoryReading { peak_bytes, source: MemorySource::ProcessRss })
        }
        ComputeDevice::Cuda(i) => {
            process_gpu_bytes(&nvml()?, i).map(|peak_bytes| MemoryReading { peak_bytes, source: MemorySource::GpuNvml })
        }
    }
}

/// One GPU's memory in use by all processes, through NVML.
#[derive(Debug, Clone, serde::Serialize)]
pub struct GpuUsage {
    /// NVML index.
    pub index: u32,
    /// Device name.
    pub name: String,
    /// Bytes in use (all processes).
    pub used_bytes: u64,
    /// Total bytes.
    pub total_bytes: u64,
}

/// Memory use of every GPU; empty without an NVIDIA driver.
pub fn gpu_usage() -> Vec<GpuUsage> {
    let Some(nvml) = nvml() else { return Vec::new() };
    (0..nvml.device_count().unwrap_or(0))
        .filter_map(|index| {
            let dev = nvml.device_by_index(index).ok()?;
            let info = dev.memory_info().ok()?;
            Some(GpuUsage { index, name: dev.name().ok()?, used_bytes: info.used, total_bytes: info.total })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peak_rss_sees_a_temporary_allocation() {
        let probe = MemoryProbe::new(ComputeDevice::Cpu);
        let before = current_rss_bytes().unwrap();
        let watch = probe.start();
        let block = vec![1u8; 64 << 20];
        std::hint::black_box(&block);
        drop(block);
        let reading = watch.finish().unwrap();
        assert_eq!(reading.source, MemorySource::ProcessRss);
        assert!(reading.peak_bytes >= before + (60 << 20), "peak {} vs before {before}", reading.peak_bytes);
    }

    #[test]
    fn peak_sampler_sees_anonymous_memory() {
        let sampler = PeakSampler::start(ComputeDevice::Cpu);
        let block = vec![1u8; 48 << 20];
        std::hint::black_box(&block);
        std::thread::sleep(Duration::from_millis(50));
        let during = current_anon_bytes().unwrap();
        drop(block);
        let peaks = sampler.finish();
        assert_eq!(peaks.len(), 1);
        assert_eq!((peaks[0].device.as_str(), peaks[0].source.as_str()), ("cpu", "rss_anon"));
        assert!(peaks[0].peak_bytes >= during - (8 << 20), "peak {} vs {during}", peaks[0].peak_bytes);
        assert!(peaks[0].peak_bytes >= 48 << 20);
    }

    #[test]
    fn fingerprint_describes_this_machine() {
        let fp = fingerprint(ComputeDevice::Cpu);
        assert_eq!(fp.compute, "cpu");
        assert!(fp.cpu_cores >= 1);
        assert!(fp.ram_total_bytes > 0);
    }
}
