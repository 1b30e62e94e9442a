//! glibc's allocator, tuned for tensor work: keep freed memory for reuse instead of handing it
//! back to the kernel.
//!
//! By default glibc serves large blocks (from 128 KiB, raised as blocks are freed, to at most
//! 32 MiB) with fresh `mmap`s and trims the heap's free top, so every forward pass of the model
//! faults its activations in again page by page. A `perf` profile of `bench bench-e2e` on the
//! tiny 256M-geometry checkpoint put about a fifth of all CPU samples in the kernel's page-fault
//! and `munmap` paths. With the threshold pinned at its maximum and trimming off, blocks are
//! reused from the heap. Peak memory is what it was (the same blocks are live at the peak); the
//! process keeps its high-water mark instead of returning it between samples.

/// Applies the tuning; a no-op where the C library is not glibc.
pub fn keep_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        /// glibc's ceiling for `M_MMAP_THRESHOLD` on 64-bit (`HEAP_MAX_SIZE / 2`).
        const MMAP_THRESHOLD_MAX: libc::c_int = 32 * 1024 * 1024;
        // SAFETY: mallopt only sets allocator parameters; called before any other thread exists.
        unsafe {
            libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD_MAX);
            libc::mallopt(libc::M_TRIM_THRESHOLD, libc::c_int::MAX);
        }
    }
}
