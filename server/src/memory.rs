//! The heap kept small. glibc's malloc gives each thread that contends for the heap an arena
//! of its own (up to eight per core) and keeps what is freed there for the next allocation:
//! a server whose background readings allocate and free tens of megabytes on whichever
//! thread runs them would hold on to all of it (measured at 100 000 waiting versions: 61 MB
//! resident after the pages; 38 MB with one arena and what is freed handed back). One arena
//! per core keeps that small without threads queueing for one lock (a single arena made the
//! history page of a long trail twice as slow under background work).
//!
//! Large blocks (a reading of every waiting step, a long list) are mapped on their own and
//! unmapped when freed. glibc would otherwise raise that threshold to the largest block freed
//! so far (up to 32 MB) and carve the next ones out of the arenas, where what they leave
//! behind stays resident between smaller blocks that live on (measured at 100 000 versions:
//! arenas of 33 MB holding 13 MB, 48 MB resident after the pages instead of 50.5). Elsewhere
//! (musl, other systems) these do nothing.

/// Blocks from this size on are mapped on their own (glibc's initial threshold, kept fixed).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const MAPPED_FROM_BYTES: libc::c_int = 128 * 1024;

/// One arena per core, and large blocks mapped on their own. Called before any thread starts.
pub fn keep_the_heap_small() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        let arenas = libc::c_int::try_from(cores).unwrap_or(libc::c_int::MAX);
        // SAFETY: mallopt only changes malloc tunables; no other thread exists yet.
        #[allow(unsafe_code)]
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, arenas);
            libc::mallopt(libc::M_MMAP_THRESHOLD, MAPPED_FROM_BYTES);
        }
    }
}

/// Hands back to the system the memory a heavy reading freed (pages no allocation uses).
pub fn give_back_freed() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim is thread-safe and frees only memory no allocation holds.
    #[allow(unsafe_code)]
    unsafe {
        libc::malloc_trim(0);
    }
}

/// [`give_back_freed`] every `interval`, for ever: what a burst of requests freed goes back
/// to the system once it is over, not at the next heavy reading.
pub async fn give_back_freed_every(interval: std::time::Duration) {
    let mut ticks = tokio::time::interval(interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        give_back_freed();
    }
}
