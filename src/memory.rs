//! The process's allocator.
//!
//! jemalloc rather than glibc's malloc: under the bench's mixed load (view
//! writes churning sled's nodes and the rendered answers) glibc held 50 MB
//! of freed memory in its main arena that it could neither reuse nor give
//! back, and RSS kept climbing with the writes (201 MB after a minute of
//! them, against a plateau near 138 MB with jemalloc), at no CPU cost: the same
//! runs spent as much or less per request. It is the allocator of every
//! binary that links this crate, tests and benches included, so they measure
//! what the server runs.
#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// jemalloc's options, read once before `main` (the `_RJEM_MALLOC_CONF`
/// environment variable still overrides them).
///
/// `tcache_max:524288` lets each thread keep freed blocks of up to 512 KiB
/// (jemalloc's default is 32 KiB), and `tcache_nslots_large:1` keeps one per size.
/// Opening the store needs it: sled's recovery reads every log segment into a
/// fresh zeroed 512 KiB buffer, and jemalloc zeroes a reused block of that
/// size by handing its pages back to the kernel and faulting them in again.
/// At a million dashboards that was 643k page faults and 1.2 s of system time
/// in a 2.3 s restart. With one block kept per thread, the next buffer
/// is the same memory, zeroed with `memset`.
#[cfg(not(target_env = "msvc"))]
#[used]
#[export_name = "_rjem_malloc_conf"]
static MALLOC_CONF: &[u8; 40] = b"tcache_max:524288,tcache_nslots_large:1\0";

#[cfg(all(test, not(target_env = "msvc")))]
mod tests {
    use std::ffi::{c_char, c_int, c_void};

    extern "C" {
        // jemalloc's `mallctl`, under tikv-jemalloc-sys's prefix.
        fn _rjem_mallctl(
            name: *const c_char,
            oldp: *mut c_void,
            oldlenp: *mut usize,
            newp: *mut c_void,
            newlen: usize,
        ) -> c_int;
    }

    /// An option of C type `T` (`size_t` is `usize`, `unsigned` is `u32`).
    fn opt<T: Default>(name: &std::ffi::CStr) -> T {
        let mut value = T::default();
        let mut len = std::mem::size_of::<T>();
        // SAFETY: jemalloc writes at most `len` bytes, and refuses a length
        // other than the option's own size.
        let rc = unsafe {
            _rjem_mallctl(
                name.as_ptr(),
                (&mut value as *mut T).cast(),
                &mut len,
                std::ptr::null_mut(),
                0,
            )
        };
        assert_eq!(rc, 0, "mallctl {name:?}");
        value
    }

    /// The options reach jemalloc only if the linker keeps `MALLOC_CONF`.
    #[test]
    fn jemalloc_runs_with_the_built_in_options() {
        assert_eq!(opt::<usize>(c"opt.tcache_max"), 512 * 1024);
        assert_eq!(opt::<u32>(c"opt.tcache_nslots_large"), 1);
    }
}
