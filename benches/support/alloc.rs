//! Allocation counting shared by the benches: each bench includes this file with
//! `#[path = "support/alloc.rs"] mod alloc;` and installs [`Counting`] as its global allocator.
//!
//! Counts are per thread (a plain thread-local cell, no atomic on the allocation path, so the
//! timed runs of both sides pay the same, negligible cost), and include reallocations.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

/// The system allocator, counting the current thread's allocations.
pub struct Counting;

thread_local! {
    static COUNT: Cell<u64> = const { Cell::new(0) };
}

fn tick() {
    // `try_with`: the allocator may run while the thread-local is being torn down.
    let _ = COUNT.try_with(|c| c.set(c.get() + 1));
}

// SAFETY: every call is passed to the system allocator unchanged; this only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        tick();
        System.alloc(layout)
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        tick();
        System.alloc_zeroed(layout)
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout)
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        tick();
        System.realloc(ptr, layout, new_size)
    }
}

/// How many allocations the current thread has made so far.
pub fn allocations() -> u64 {
    COUNT.with(Cell::get)
}
