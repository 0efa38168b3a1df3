//! The `wamp` binary's global allocator: jemalloc with its background purging threads.
//!
//! Why: after a flood of large events (64 KiB payloads queued for subscribers that stopped
//! reading) glibc's malloc kept the freed memory in its per-thread arenas: the router's RSS
//! stayed at ~27 MiB against ~7.5 MiB idle, indefinitely, because nothing calls
//! `malloc_trim` and the payloads are below glibc's mmap threshold. With jemalloc, freed
//! pages are purged back to the kernel on a 10 s decay curve by a background thread, so the
//! router gives the memory back ~10–20 s after the flood even when nothing else happens
//! (without the background thread jemalloc purges only while it is being called, and an
//! idle router does not call it: measured, it kept 37–57 MiB). Event rate, calls/s and the
//! memory per idle session stayed the same; idle RSS is ~1 MiB higher. mimalloc (v3 and v2)
//! was measured too and kept more (46–75 MiB after the flood) at a lower event rate. The
//! numbers are in BENCHMARKS.md ("Router memory").
//!
//! Only this binary sets it: the library crates leave the allocator to whoever embeds the
//! router. The `jemalloc` feature (default) can be turned off to build with the system
//! allocator (no C compiler needed then). jemalloc is only built on Unix targets.

#[cfg(all(feature = "jemalloc", unix))]
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;
