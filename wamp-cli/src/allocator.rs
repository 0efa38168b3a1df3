//! The `wamp` binary's global allocator: jemalloc with its background purging threads.
//!
//! Why: after a flood of large events (64 KiB payloads queued for subscribers that stopped
//! reading) glibc's malloc kept the freed memory in its per-thread arenas: the router's RSS
//! stayed at ~26 MiB against ~7.5 MiB idle, indefinitely, because the payloads are below
//! glibc's mmap threshold and nothing calls `malloc_trim`. With jemalloc, freed pages are
//! purged back to the kernel on a 10 s decay curve by a background thread, so the router is
//! back within 2 MiB of its idle RSS at most 20 s after the flood even when nothing else
//! happens. Without the background thread jemalloc purges only while it is being called,
//! and an idle router does not call it (measured: it kept 37–57 MiB). The flood's event rate and the memory
//! per idle session did not change; idle RSS is ~1 MiB higher (the background threads and
//! jemalloc's metadata); router CPU per call may be slightly higher (within this machine's
//! noise). mimalloc (v3 and v2) was measured too: it kept 28–75 MiB after the flood, at
//! about half the event rate. The numbers are in BENCHMARKS.md ("Router memory").
//!
//! Only this binary sets it: the library crates leave the allocator to whoever embeds the
//! router. The `jemalloc` feature (default) can be turned off to build with the system
//! allocator (no C compiler needed then). jemalloc is only built on Unix targets.

#[cfg(all(feature = "jemalloc", unix))]
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;
