//! A `static` byte buffer handed out once as `&'static mut [u8]`.

use core::cell::{Cell, UnsafeCell};

use critical_section::Mutex;

#[repr(C, align(16))]
struct Aligned<const N: usize>([u8; N]);

/// `N` zeroed bytes, 16-byte aligned, in `.bss`; [`StaticArena::take`] gives them out the
/// first time it is called and `None` afterwards, so the buffer can be a plain `static`
/// without `static mut`:
///
/// ```
/// static ARENA: mnist_fw::StaticArena<4096> = mnist_fw::StaticArena::new();
/// let arena: &'static mut [u8] = ARENA.take().unwrap();
/// assert_eq!(arena.len(), 4096);
/// assert!(ARENA.take().is_none());
/// ```
///
/// The "taken" flag is set inside a `critical_section`, so the board must provide an
/// implementation (cortex-m's `critical-section-single-core`, riscv's
/// `critical-section-single-hart`, or critical-section's `std` on a host).
pub struct StaticArena<const N: usize> {
    taken: Mutex<Cell<bool>>,
    buf: UnsafeCell<Aligned<N>>,
}

// SAFETY: the only access to `buf` is through `take`, which hands out the single `&mut` to
// it at most once (the flag is tested and set inside a critical section), so sharing the
// `StaticArena` between threads or interrupt handlers cannot create two references to it.
unsafe impl<const N: usize> Sync for StaticArena<N> {}

impl<const N: usize> StaticArena<N> {
    /// A zeroed buffer not yet taken.
    #[allow(clippy::new_without_default)]
    pub const fn new() -> Self {
        StaticArena {
            taken: Mutex::new(Cell::new(false)),
            buf: UnsafeCell::new(Aligned([0; N])),
        }
    }

    /// The buffer, the first time; `None` on every later call.
    // A `&mut` from `&self` is sound here: the flag lets only one call ever make it.
    #[allow(clippy::mut_from_ref)]
    pub fn take(&'static self) -> Option<&'static mut [u8]> {
        let first = critical_section::with(|cs| !self.taken.borrow(cs).replace(true));
        if !first {
            return None;
        }
        // SAFETY: `first` is true for exactly one call over the program's life (the flag is
        // never cleared), so this is the only reference to `buf` ever made; `self` is
        // `'static`, so the buffer outlives it.
        Some(unsafe { &mut (*self.buf.get()).0 })
    }
}
