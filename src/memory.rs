//! The process's allocator settings.

/// glibc gives each thread that allocates under contention an arena of its
/// own, up to eight per core, and memory freed in one arena is not reused by
/// another: under the bench load the server's HTTP workers, blocking pool
/// and store threads left 20–25 MB of peak RSS in half-empty arenas (peak
/// 202–206 → 181 MB with two), at no measurable CPU cost (small blocks come
/// from per-thread caches without taking an arena's lock). `MALLOC_ARENA_MAX`
/// in the environment still wins. Call it before any thread starts.
pub fn limit_malloc_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
        // SAFETY: mallopt only changes a malloc parameter; no thread is
        // allocating concurrently yet.
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, 2);
        }
    }
}
