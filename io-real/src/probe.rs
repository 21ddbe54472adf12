//! Host readings for INFO: bytes allocated (through a counting global allocator, the
//! way Redis's zmalloc keeps `used_memory`), resident set size and CPU time from the
//! kernel, and a monotonic clock for command durations.

use cinnabar_core::io::{CpuUsage, HostProbe};
use std::alloc::{GlobalAlloc, Layout};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

static ALLOCATED_BYTES: AtomicU64 = AtomicU64::new(0);

/// The allocator underneath the count, chosen by measurement (`bench/throughput.py`,
/// 2026-12-05: jemalloc and mimalloc both beat glibc's malloc on throughput and on RSS
/// per key for strings and hashes; jemalloc, which Redis ships with, kept sorted sets
/// leaner): jemalloc by default, mimalloc with `--features alloc-mimalloc`, the
/// system allocator with `--no-default-features`.
#[cfg(feature = "alloc-mimalloc")]
static INNER: mimalloc::MiMalloc = mimalloc::MiMalloc;
#[cfg(all(feature = "alloc-jemalloc", not(feature = "alloc-mimalloc")))]
static INNER: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;
#[cfg(not(any(feature = "alloc-jemalloc", feature = "alloc-mimalloc")))]
static INNER: std::alloc::System = std::alloc::System;

/// The inner allocator, counting live bytes.
pub struct CountingAllocator;

// SAFETY: every method forwards to `INNER` with the caller's arguments unchanged and
// only adds bookkeeping on an atomic counter.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded contract.
        let p = unsafe { INNER.alloc(layout) };
        if !p.is_null() {
            ALLOCATED_BYTES.fetch_add(layout.size() as u64, Ordering::Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded contract.
        unsafe { INNER.dealloc(ptr, layout) };
        ALLOCATED_BYTES.fetch_sub(layout.size() as u64, Ordering::Relaxed);
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded contract.
        let p = unsafe { INNER.alloc_zeroed(layout) };
        if !p.is_null() {
            ALLOCATED_BYTES.fetch_add(layout.size() as u64, Ordering::Relaxed);
        }
        p
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded contract.
        let p = unsafe { INNER.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            ALLOCATED_BYTES.fetch_sub(layout.size() as u64, Ordering::Relaxed);
            ALLOCATED_BYTES.fetch_add(new_size as u64, Ordering::Relaxed);
        }
        p
    }
}

pub fn allocated_bytes() -> u64 {
    ALLOCATED_BYTES.load(Ordering::Relaxed)
}

/// The real process's probe.
pub struct RealProbe {
    started: Instant,
}

impl RealProbe {
    pub fn new() -> RealProbe {
        RealProbe {
            started: Instant::now(),
        }
    }
}

impl Default for RealProbe {
    fn default() -> Self {
        RealProbe::new()
    }
}

impl HostProbe for RealProbe {
    fn used_memory(&self) -> u64 {
        allocated_bytes()
    }

    fn rss_bytes(&self) -> u64 {
        // /proc/self/statm: size resident shared text lib data dt (in pages).
        let Ok(statm) = std::fs::read_to_string("/proc/self/statm") else {
            return 0;
        };
        let pages: u64 = statm
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        // SAFETY: sysconf has no preconditions.
        let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
        pages * page.max(0) as u64
    }

    fn cpu_usage(&self) -> CpuUsage {
        // SAFETY: getrusage writes into the zeroed struct we pass.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        // SAFETY: valid pointer to a rusage struct.
        if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) } != 0 {
            return CpuUsage::default();
        }
        let us = |tv: libc::timeval| tv.tv_sec as u64 * 1_000_000 + tv.tv_usec as u64;
        CpuUsage {
            sys_us: us(usage.ru_stime),
            user_us: us(usage.ru_utime),
        }
    }

    fn elapsed_ns(&self) -> u64 {
        self.started.elapsed().as_nanos() as u64
    }
}
