//! Stack high-water mark by painting.
//!
//! The board describes its stack as the address range `[bottom, top)`: `top` is where the
//! stack pointer starts (cortex-m-rt's and riscv-rt's `_stack_start`, the end of RAM), and
//! `bottom` the lowest address the stack may grow to (the end of `.bss`/`.uninit`, where
//! nothing else lives: cortex-m-rt's `__sheap`, riscv-rt's `_sheap`). [`StackRegion::paint`]
//! fills every word from `bottom` up to [`MARGIN`] bytes below the current stack pointer
//! with [`PATTERN`]. After the work, [`StackRegion::high_water`] scans up from `bottom` to
//! the first word that no longer holds the pattern; the high-water mark is `top` minus that
//! address: the most stack the program has used since reset, including what was in use
//! when it painted (the startup code and the callers' frames).
//!
//! A word the program wrote with the pattern's value itself would be taken as unused; the
//! error that makes is at most the few words above it that happened to hold it.

/// The word painted into unused stack.
pub const PATTERN: u32 = 0xC5A5_5A5C;

/// Bytes below the stack pointer of [`StackRegion::paint`] left unpainted, for its own
/// frame and the calls it makes.
pub const MARGIN: usize = 256;

/// The address range the stack occupies, `[bottom, top)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StackRegion {
    bottom: usize,
    top: usize,
}

/// The words [`StackRegion::paint`] filled: `[lo, hi)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Painted {
    lo: usize,
    hi: usize,
}

impl Painted {
    /// Bytes painted.
    pub fn len(&self) -> usize {
        self.hi - self.lo
    }

    /// Whether nothing was painted (the stack pointer was already within [`MARGIN`] of
    /// `bottom`).
    pub fn is_empty(&self) -> bool {
        self.hi == self.lo
    }
}

impl StackRegion {
    /// The stack occupies `[bottom, top)`.
    ///
    /// # Safety
    ///
    /// `[bottom, top)` must be RAM that only the current thread's stack uses (no static,
    /// heap or DMA buffer in it), the stack pointer must be inside it and the stack must
    /// grow down from `top`. [`StackRegion::paint`] writes to the part below the stack
    /// pointer.
    pub const unsafe fn new(bottom: usize, top: usize) -> Self {
        StackRegion { bottom, top }
    }

    /// Bytes from `bottom` to `top`.
    pub fn size(&self) -> usize {
        self.top.saturating_sub(self.bottom)
    }

    /// Fills the unused stack, from `bottom` (rounded up to a word) to [`MARGIN`] bytes
    /// below this function's frame, with [`PATTERN`]; returns what it painted.
    #[inline(never)]
    pub fn paint(&self) -> Painted {
        let probe = 0u8;
        let sp = core::hint::black_box(core::ptr::addr_of!(probe)) as usize;
        let lo = align_up(self.bottom);
        let hi = sp.saturating_sub(MARGIN) & !3;
        if hi <= lo || sp > self.top {
            return Painted { lo, hi: lo };
        }
        // SAFETY: `new`'s contract makes `[bottom, top)` RAM that only this stack uses;
        // `[lo, hi)` is word aligned and ends MARGIN bytes below this frame, so no live
        // frame is in it, and `paint_words` (a leaf that needs far less than MARGIN) only
        // writes to it.
        let words = unsafe { core::slice::from_raw_parts_mut(lo as *mut u32, (hi - lo) / 4) };
        paint_words(words);
        Painted { lo, hi }
    }

    /// Stack bytes used since reset: `top` minus the lowest painted word that no longer
    /// holds [`PATTERN`]. If every painted word is intact, `top - painted.hi` (the depth at
    /// painting, a lower bound). Call it from a frame no deeper than the one that painted.
    #[inline(never)]
    pub fn high_water(&self, painted: &Painted) -> usize {
        let n = painted.len() / 4;
        // SAFETY: `painted` came from `paint` on this region: word aligned stack RAM below
        // the frame that painted, and this call is no deeper, so nothing writes there while
        // the slice lives (one thread).
        let words = unsafe { core::slice::from_raw_parts(painted.lo as *const u32, n) };
        let p = painted.lo + 4 * first_used(words);
        self.top.saturating_sub(p)
    }
}

fn align_up(a: usize) -> usize {
    a.saturating_add(3) & !3
}

/// Fills `words` with [`PATTERN`] (what [`StackRegion::paint`] does to the unused stack).
#[inline(never)]
pub fn paint_words(words: &mut [u32]) {
    for w in words {
        // Volatile, so the stores are not dropped as dead: nothing in the program reads
        // this memory through `words`.
        // SAFETY: `w` is a valid, aligned `&mut u32`.
        unsafe { core::ptr::write_volatile(w, PATTERN) };
    }
}

/// Index of the first word of `words` that does not hold [`PATTERN`] (`words.len()` if all
/// do): the scan [`StackRegion::high_water`] makes.
#[inline(never)]
pub fn first_used(words: &[u32]) -> usize {
    words
        .iter()
        .position(|w| {
            // SAFETY: `w` is a valid, aligned `&u32`. Volatile, because frames that no
            // longer exist wrote this memory behind the compiler's back.
            unsafe { core::ptr::read_volatile(w) != PATTERN }
        })
        .unwrap_or(words.len())
}
