//! What `std` would otherwise provide on wasm32: a panic handler and an allocator. Shared
//! by both wasm modules of the npm package (this crate and `attachment/`).
use core::alloc::{GlobalAlloc, Layout};
use dlmalloc::GlobalDlmalloc;

/// The core never panics on input, and this layer checks every conversion; a panic here
/// is a bug. It traps, and the JS wrapper then marks the instance unusable
/// (`INSTANCE_POISONED`) and zeroes its memory, without formatting the panic message
/// (which would pull `core::fmt` into the binary).
#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    core::arch::wasm32::unreachable()
}

/// dlmalloc (the allocator `std` uses on wasm32), wiping every block when it is freed.
///
/// Everything that crosses the wasm-bindgen boundary is a heap copy: inputs (storage
/// keys, agent secrets, plaintexts) are copied in by the glue and freed after the call,
/// outputs (plaintexts, secret bytes, storage keys) are copied out and then freed. A
/// plain allocator leaves those bytes in linear memory, readable by anything that can
/// read `WebAssembly.Memory`, until the block happens to be reused. Wiping on free
/// covers them all, and every temporary buffer of the core too.
struct WipingAllocator;

/// Zero `len` bytes at `ptr` in a way the optimiser cannot drop as a dead store (the
/// block is about to be freed, which LLVM would otherwise be entitled to notice).
unsafe fn wipe(ptr: *mut u8, len: usize) {
    // SAFETY: the caller owns `len` writable bytes at `ptr`.
    unsafe { core::ptr::write_bytes(ptr, 0, len) };
    core::hint::black_box(ptr);
    core::sync::atomic::compiler_fence(core::sync::atomic::Ordering::SeqCst);
}

// SAFETY: every method forwards to dlmalloc with the caller's own arguments; `dealloc`
// only adds a wipe of the block being freed, and `realloc` is alloc + copy + dealloc.
unsafe impl GlobalAlloc for WipingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded contract.
        unsafe { GlobalDlmalloc.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded contract.
        unsafe { GlobalDlmalloc.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` owns `layout.size()` bytes until it is freed just below.
        unsafe {
            wipe(ptr, layout.size());
            GlobalDlmalloc.dealloc(ptr, layout);
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // Never dlmalloc's own realloc: when it moves or shrinks a block it frees the old
        // bytes unwiped.
        // SAFETY: the caller guarantees `new_size` with `layout.align()` is a valid layout.
        unsafe {
            let new_layout = Layout::from_size_align_unchecked(new_size, layout.align());
            let new = GlobalDlmalloc.alloc(new_layout);
            if !new.is_null() {
                core::ptr::copy_nonoverlapping(ptr, new, layout.size().min(new_size));
                self.dealloc(ptr, layout);
            }
            new
        }
    }
}

#[global_allocator]
static ALLOCATOR: WipingAllocator = WipingAllocator;
