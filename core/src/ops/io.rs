//! An op's operands during `eval`: input slices, output slices, their shapes. Built by the
//! interpreter from its prepared tensor table without unsafe code: every mutable region is
//! split off the arena (or the state region) in offset order, and the loader has proven
//! that live tensors do not overlap except an in-place output over its input.

use crate::dtype::{DType, Element};
use crate::error::{Error, Result};
use crate::model::ModelError;
use crate::shape::{Shape, MAX_RANK};

/// Most inputs one op may list in this build.
pub const MAX_INPUTS: usize = 24;
/// Most outputs one op may list in this build.
pub const MAX_OUTPUTS: usize = 8;

/// Which buffer a tensor lives in.
pub(crate) const BUF_ARENA: u8 = 0;
pub(crate) const BUF_STATE: u8 = 1;
pub(crate) const BUF_CONST: u8 = 2;

/// A tensor as the prepared interpreter keeps it: where its bytes are, its element type and
/// shape. Plain words, so a table of them lives in the arena.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, bytemuck::Pod, bytemuck::Zeroable)]
pub(crate) struct Slot {
    /// [`BUF_ARENA`], [`BUF_STATE`] or [`BUF_CONST`].
    pub buf: u8,
    /// Index into [`DType::ALL`].
    pub dtype: u8,
    /// Rank.
    pub rank: u8,
    pub pad: u8,
    /// Byte offset in its buffer.
    pub off: u32,
    /// Byte length.
    pub len: u32,
    /// Extents (unused ones zero).
    pub dims: [u32; MAX_RANK],
}

impl Slot {
    /// The element type.
    pub fn dtype(&self) -> DType {
        DType::ALL
            .get(usize::from(self.dtype))
            .copied()
            .unwrap_or(DType::U8)
    }

    /// The shape.
    pub fn shape(&self) -> Shape {
        let mut d = [0usize; MAX_RANK];
        let r = usize::from(self.rank).min(MAX_RANK);
        for (o, &x) in d.iter_mut().zip(&self.dims[..r]) {
            *o = x as usize;
        }
        Shape::new(&d[..r]).unwrap_or_default()
    }
}

/// The error for operands that do not line up with the validated plan (unreachable after a
/// successful load).
pub(crate) fn misaligned() -> Error {
    Error::Model(ModelError::Misaligned {
        what: "tensor bytes",
        offset: 0,
    })
}

fn view<T: Element>(slot: &Slot) -> Result<()> {
    if !slot.dtype().viewable_as::<T>() {
        return Err(Error::InvalidArgument {
            op: "interpreter",
            what: "element type differs from the tensor's",
        });
    }
    Ok(())
}

#[derive(Clone, Copy)]
struct In<'x> {
    /// `None` when the input shares output 0's bytes (an in-place op).
    bytes: Option<&'x [u8]>,
    slot: &'x Slot,
}

struct Out<'x> {
    bytes: &'x mut [u8],
    slot: &'x Slot,
}

/// The operands of one node during [`Op::eval`](super::Op::eval).
pub struct Io<'x> {
    ins: [Option<In<'x>>; MAX_INPUTS],
    outs: [Option<Out<'x>>; MAX_OUTPUTS],
    n_in: usize,
    n_out: usize,
}

impl<'x> Io<'x> {
    fn get_in(&self, k: usize) -> Result<In<'x>> {
        self.ins
            .get(k)
            .copied()
            .flatten()
            .ok_or(Error::IndexOutOfRange {
                op: "interpreter",
                what: "op input",
                index: k,
                len: self.n_in,
            })
    }

    fn get_out(&mut self, k: usize) -> Result<&mut Out<'x>> {
        let n = self.n_out;
        self.outs
            .get_mut(k)
            .and_then(Option::as_mut)
            .ok_or(Error::IndexOutOfRange {
                op: "interpreter",
                what: "op output",
                index: k,
                len: n,
            })
    }

    /// Number of inputs listed (absent ones included).
    pub fn n_inputs(&self) -> usize {
        self.n_in
    }

    /// Number of outputs.
    pub fn n_outputs(&self) -> usize {
        self.n_out
    }

    /// True when input `k` is listed and present.
    pub fn has_input(&self, k: usize) -> bool {
        self.ins.get(k).is_some_and(Option::is_some)
    }

    /// Input `k` as `T`; an error when absent or when it shares the output's bytes.
    pub fn input<T: Element>(&self, k: usize) -> Result<&'x [T]> {
        let i = self.get_in(k)?;
        view::<T>(i.slot)?;
        let b = i.bytes.ok_or(Error::InvalidArgument {
            op: "interpreter",
            what: "operand shares the output's bytes",
        })?;
        bytemuck::try_cast_slice(b).map_err(|_| misaligned())
    }

    /// Input `k` as `T`, `None` when absent.
    pub fn opt<T: Element>(&self, k: usize) -> Result<Option<&'x [T]>> {
        if !self.has_input(k) {
            return Ok(None);
        }
        self.input(k).map(Some)
    }

    /// Input `k`'s bytes; `None` when it is output 0's own bytes (in place).
    pub fn input_bytes(&self, k: usize) -> Result<Option<&'x [u8]>> {
        Ok(self.get_in(k)?.bytes)
    }

    /// Shape of input `k` (the scalar shape when absent).
    pub fn shape(&self, k: usize) -> Shape {
        self.get_in(k).map(|i| i.slot.shape()).unwrap_or_default()
    }

    /// Element type of input `k`.
    pub fn dtype(&self, k: usize) -> Result<DType> {
        Ok(self.get_in(k)?.slot.dtype())
    }

    /// Shape of output `k`.
    pub fn out_shape(&self, k: usize) -> Shape {
        self.outs
            .get(k)
            .and_then(Option::as_ref)
            .map(|o| o.slot.shape())
            .unwrap_or_default()
    }

    /// Element type of output `k`.
    pub fn out_dtype(&self, k: usize) -> DType {
        self.outs
            .get(k)
            .and_then(Option::as_ref)
            .map_or(DType::U8, |o| o.slot.dtype())
    }

    /// Output `k` as `T`.
    pub fn out<T: Element>(&mut self, k: usize) -> Result<&mut [T]> {
        let o = self.get_out(k)?;
        view::<T>(o.slot)?;
        bytemuck::try_cast_slice_mut(&mut *o.bytes).map_err(|_| misaligned())
    }

    /// Output `k`'s bytes.
    pub fn out_bytes(&mut self, k: usize) -> Result<&mut [u8]> {
        Ok(&mut *self.get_out(k)?.bytes)
    }

    /// Every output as `T`, in order.
    pub fn outs<T: Element>(&mut self) -> Result<heapless::Vec<&mut [T], MAX_OUTPUTS>> {
        let mut v = heapless::Vec::new();
        for o in self.outs.iter_mut().take(self.n_out) {
            let o = o.as_mut().ok_or(misaligned())?;
            view::<T>(o.slot)?;
            let s = bytemuck::try_cast_slice_mut(&mut *o.bytes).map_err(|_| misaligned())?;
            v.push(s).map_err(|_| misaligned())?;
        }
        Ok(v)
    }

    /// Every output's bytes, in order (for ops that move bytes whatever the element type).
    pub fn outs_bytes(&mut self) -> Result<heapless::Vec<&mut [u8], MAX_OUTPUTS>> {
        let mut v = heapless::Vec::new();
        for o in self.outs.iter_mut().take(self.n_out) {
            let o = o.as_mut().ok_or(misaligned())?;
            v.push(&mut *o.bytes).map_err(|_| misaligned())?;
        }
        Ok(v)
    }

    /// Copies input 0 into output 0 unless the op runs in place on it.
    pub fn copy_unless_in_place(&mut self) -> Result<()> {
        if let Some(src) = self.input_bytes(0)? {
            let dst = self.out_bytes(0)?;
            if dst.len() != src.len() {
                return Err(misaligned());
            }
            dst.copy_from_slice(src);
        }
        Ok(())
    }
}

/// One operand to bind: where it is and which slot of `Io` it fills.
#[derive(Clone, Copy)]
struct Want {
    off: usize,
    len: usize,
    /// `k` of input `k`, or `MAX_INPUTS + k` of output `k`.
    at: usize,
}

/// The buffers a node's operands come from.
pub(crate) struct Buffers<'x> {
    pub arena: &'x mut [u8],
    pub state: &'x mut [u8],
    pub weights: &'x [u8],
}

impl Io<'_> {
    /// No operands; [`bind`] fills it in place (an `Io` is a few hundred bytes, which
    /// returning it by value would copy once per node).
    pub(crate) fn empty() -> Self {
        Io {
            ins: [None; MAX_INPUTS],
            outs: [const { None }; MAX_OUTPUTS],
            n_in: 0,
            n_out: 0,
        }
    }
}

/// The tensor id of operand `at` (input `at`, or output `at - MAX_INPUTS`).
fn id_at(ins: &[u32], outs: &[u32], at: usize) -> Result<u32> {
    let id = match at.checked_sub(MAX_INPUTS) {
        None => ins.get(at),
        Some(k) => outs.get(k),
    };
    id.copied().ok_or(misaligned())
}

/// Binds the operands of a node (`ins`/`outs` are tensor ids, `u32::MAX` for an absent
/// input) to slices of `bufs`, into `io` (made by [`Io::empty`]).
pub(crate) fn bind<'x>(
    io: &mut Io<'x>,
    bufs: Buffers<'x>,
    slots: &'x [Slot],
    ins: &[u32],
    outs: &[u32],
) -> Result<()> {
    if ins.len() > MAX_INPUTS || outs.len() > MAX_OUTPUTS {
        return Err(misaligned());
    }
    io.n_in = ins.len();
    io.n_out = outs.len();
    let mut wants: [heapless::Vec<Want, { MAX_INPUTS + MAX_OUTPUTS }>; 2] =
        [heapless::Vec::new(), heapless::Vec::new()];
    let ids = ins.iter().chain(outs);
    for (at, &id) in ids.enumerate() {
        if id == u32::MAX {
            continue;
        }
        let slot = slots.get(id as usize).ok_or(misaligned())?;
        let w = Want {
            off: slot.off as usize,
            len: slot.len as usize,
            at: if at < ins.len() {
                at
            } else {
                MAX_INPUTS + at - ins.len()
            },
        };
        match slot.buf {
            BUF_CONST => {
                if at >= ins.len() {
                    return Err(misaligned());
                }
                let b = bufs.weights.get(w.off..w.off + w.len).ok_or(misaligned())?;
                io.ins[at] = Some(In {
                    bytes: Some(b),
                    slot,
                });
            }
            BUF_ARENA => wants[0].push(w).map_err(|_| misaligned())?,
            _ => wants[1].push(w).map_err(|_| misaligned())?,
        }
    }
    let [wa, ws] = &mut wants;
    split(bufs.arena, wa, slots, (ins, outs), io)?;
    split(bufs.state, ws, slots, (ins, outs), io)?;
    Ok(())
}

/// Splits `buf` into the regions `wants` asks for, in offset order (outputs before inputs
/// at one offset, so an in-place input finds its output first).
fn split<'x>(
    buf: &'x mut [u8],
    wants: &mut [Want],
    slots: &'x [Slot],
    (ins, outs): (&[u32], &[u32]),
    io: &mut Io<'x>,
) -> Result<()> {
    let key = |w: &Want| (w.off, w.at < MAX_INPUTS);
    // Insertion sort: at most a few dozen operands, no allocation.
    for i in 1..wants.len() {
        let mut j = i;
        while j > 0 && key(&wants[j - 1]) > key(&wants[j]) {
            wants.swap(j - 1, j);
            j -= 1;
        }
    }

    let mut rest: &'x mut [u8] = buf;
    let mut base = 0usize;
    // The last region split off: its offset, its tensor, and its bytes if it is an input.
    let mut prev: Option<(usize, u32, Option<&'x [u8]>)> = None;
    for w in wants.iter() {
        let id = id_at(ins, outs, w.at)?;
        let slot = slots.get(id as usize).ok_or(misaligned())?;
        if w.off >= base {
            let (_, tail) = core::mem::take(&mut rest)
                .split_at_mut_checked(w.off - base)
                .ok_or(misaligned())?;
            let (cur, tail) = tail.split_at_mut_checked(w.len).ok_or(misaligned())?;
            rest = tail;
            base = w.off + w.len;
            if w.at >= MAX_INPUTS {
                io.outs[w.at - MAX_INPUTS] = Some(Out { bytes: cur, slot });
                prev = Some((w.off, id, None));
            } else {
                let cur: &'x [u8] = cur;
                io.ins[w.at] = Some(In {
                    bytes: Some(cur),
                    slot,
                });
                prev = Some((w.off, id, Some(cur)));
            }
            continue;
        }
        // Overlaps the previous region: the same tensor read twice, or an in-place input.
        let bytes = match prev {
            Some((_, pid, Some(b))) if pid == id && w.at < MAX_INPUTS => Some(b),
            Some((poff, _, None)) if poff == w.off && w.at < MAX_INPUTS => None,
            _ => return Err(misaligned()),
        };
        io.ins[w.at] = Some(In { bytes, slot });
    }
    Ok(())
}
