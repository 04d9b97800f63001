//! A bump allocator over a caller-supplied byte buffer (usually a `static mut` array in
//! firmware, or a `Vec<u8>` on a host).
//!
//! Allocations are aligned, zero-initialised and disjoint; they live as long as the buffer
//! (`'a`), not as long as the borrow of the arena, so many can be held at once. Space is given
//! back in two ways, both checked by the borrow checker:
//! - [`Arena::scope`] is mark/release: it lends the free space to a child arena, and
//!   everything the child handed out is released when the child is dropped.
//! - Dropping the arena and building a new one over the same buffer is a reset.
//!
//! No `unsafe` is involved: the free space is a `&'a mut [u8]` that each allocation splits.

use crate::dtype::Element;
use crate::error::{Error, Result};
use core::cell::Cell;

/// Bump allocator over `&'a mut [u8]`. See the module documentation.
pub struct Arena<'a> {
    free: Cell<&'a mut [u8]>,
    capacity: usize,
    peak: Cell<usize>,
}

impl<'a> Arena<'a> {
    /// An arena that hands out pieces of `buffer`.
    pub fn new(buffer: &'a mut [u8]) -> Arena<'a> {
        let capacity = buffer.len();
        Arena {
            free: Cell::new(buffer),
            capacity,
            peak: Cell::new(0),
        }
    }

    /// Size of the buffer in bytes.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Bytes not yet handed out (before alignment padding of the next allocation).
    pub fn remaining(&self) -> usize {
        let free = self.free.take();
        let n = free.len();
        self.free.set(free);
        n
    }

    /// Bytes handed out so far, alignment padding included.
    pub fn used(&self) -> usize {
        self.capacity - self.remaining()
    }

    /// Highest [`Arena::used`] seen, including what child arenas from [`Arena::scope`] used.
    pub fn peak(&self) -> usize {
        self.peak.get().max(self.used())
    }

    /// `len` bytes aligned to `align` (a power of two), zeroed. Fails with
    /// [`Error::ArenaTooSmall`] naming the bytes needed (padding included) and those free.
    pub fn alloc_bytes(&self, len: usize, align: usize) -> Result<&'a mut [u8]> {
        if !align.is_power_of_two() {
            return Err(Error::InvalidArgument {
                op: "arena",
                what: "alignment must be a power of two",
            });
        }
        let free = self.free.take();
        let addr = free.as_ptr() as usize;
        let pad = addr.wrapping_neg() & (align - 1);
        let needed = match pad.checked_add(len) {
            Some(n) if n <= free.len() => n,
            other => {
                let available = free.len();
                self.free.set(free);
                return Err(match other {
                    Some(needed) => Error::ArenaTooSmall { needed, available },
                    None => Error::Overflow { op: "arena" },
                });
            }
        };
        let (taken, rest) = free.split_at_mut(needed);
        self.free.set(rest);
        self.peak.set(self.peak.get().max(self.used()));
        let block = &mut taken[pad..];
        block.fill(0);
        Ok(block)
    }

    /// `n` zeroed elements of `T`, aligned for `T`.
    pub fn alloc<T: Element>(&self, n: usize) -> Result<&'a mut [T]> {
        let bytes = n
            .checked_mul(core::mem::size_of::<T>())
            .ok_or(Error::Overflow { op: "arena" })?;
        let block = self.alloc_bytes(bytes, core::mem::align_of::<T>())?;
        bytemuck::try_cast_slice_mut(block).map_err(|_| Error::InvalidArgument {
            op: "arena",
            what: "allocation is misaligned for its element type",
        })
    }

    /// `n` elements of `T` copied from `src` (`n == src.len()`).
    pub fn alloc_copy<T: Element>(&self, src: &[T]) -> Result<&'a mut [T]> {
        let dst = self.alloc::<T>(src.len())?;
        dst.copy_from_slice(src);
        Ok(dst)
    }

    /// Mark/release: a child arena over this arena's free space. Allocations made from the
    /// child live only as long as the child; when it is dropped, their space is free again
    /// in `self`. Allocations made from `self` before the call stay valid throughout.
    pub fn scope(&mut self) -> Scope<'_> {
        let used = self.used();
        let free: &mut [u8] = self.free.get_mut();
        Scope {
            child: Arena::new(free),
            base: used,
            parent_peak: &self.peak,
        }
    }
}

/// A child arena lent by [`Arena::scope`]; dereferences to [`Arena`].
pub struct Scope<'p> {
    child: Arena<'p>,
    base: usize,
    parent_peak: &'p Cell<usize>,
}

impl<'p> core::ops::Deref for Scope<'p> {
    type Target = Arena<'p>;
    fn deref(&self) -> &Arena<'p> {
        &self.child
    }
}

impl<'p> core::ops::DerefMut for Scope<'p> {
    fn deref_mut(&mut self) -> &mut Arena<'p> {
        &mut self.child
    }
}

impl Drop for Scope<'_> {
    fn drop(&mut self) {
        let total = self.base + self.child.peak();
        self.parent_peak.set(self.parent_peak.get().max(total));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allocations_are_aligned_disjoint_and_zeroed() {
        let mut buf = [0xAAu8; 256];
        let arena = Arena::new(&mut buf);
        let a = arena.alloc::<u8>(3).unwrap();
        let b = arena.alloc::<f32>(5).unwrap();
        assert_eq!(a, &[0, 0, 0]);
        assert_eq!(b, &[0.0; 5]);
        assert_eq!(b.as_ptr() as usize % 4, 0);
        b[4] = 1.5;
        a[0] = 7;
        assert_eq!((a[0], b[4]), (7, 1.5));
        let c = arena.alloc_bytes(8, 64).unwrap();
        assert_eq!(c.as_ptr() as usize % 64, 0);
    }

    #[test]
    fn out_of_space_reports_needed_and_available() {
        let mut buf = [0u8; 16];
        let arena = Arena::new(&mut buf);
        arena.alloc::<u8>(10).unwrap();
        let err = arena.alloc_bytes(8, 1).unwrap_err();
        assert_eq!(
            err,
            Error::ArenaTooSmall {
                needed: 8,
                available: 6
            }
        );
        // A failed allocation takes nothing.
        assert_eq!(arena.remaining(), 6);
        assert!(matches!(
            arena.alloc::<f32>(usize::MAX / 2),
            Err(Error::Overflow { .. })
        ));
        assert!(matches!(
            arena.alloc_bytes(1, 3),
            Err(Error::InvalidArgument { .. })
        ));
    }

    #[test]
    fn scope_releases_on_drop_and_keeps_earlier_allocations() {
        let mut buf = [0u8; 64];
        let mut arena = Arena::new(&mut buf);
        let kept = arena.alloc::<u8>(16).unwrap();
        kept[0] = 9;
        {
            let scope = arena.scope();
            let tmp = scope.alloc::<u8>(40).unwrap();
            tmp[0] = 1;
            assert_eq!(scope.remaining(), 8);
        }
        assert_eq!(arena.used(), 16);
        assert_eq!(arena.peak(), 56);
        let again = arena.alloc::<u8>(48).unwrap();
        assert_eq!(again.len(), 48);
        assert_eq!(kept[0], 9);
    }
}
