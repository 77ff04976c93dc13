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
