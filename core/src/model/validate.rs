//! Everything [`Model::from_bytes`](super::Model::from_bytes) checks, in file order.

use super::error::ModelError;
use super::format::{
    Layout, Meta, OpDef, Quant, Role, Section, Storage, TensorDef, ALIGN, CRC_LEN, MAGIC, MAX_IO,
    MAX_OP_INPUTS, PREAMBLE_LEN, SECTIONS, VERSION,
};
use super::ops::{self, Operand};
use super::Model;
use crate::dtype::DType;
use crate::shape::Shape;

type R<T> = core::result::Result<T, ModelError>;

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// The preamble: magic, version, file length, section table.
fn preamble(bytes: &[u8]) -> R<Layout> {
    if bytes.len() < PREAMBLE_LEN {
        return Err(ModelError::Truncated {
            section: Section::Preamble,
            needed: PREAMBLE_LEN,
            len: bytes.len(),
        });
    }
    let magic = [bytes[0], bytes[1], bytes[2], bytes[3]];
    if magic != MAGIC {
        return Err(ModelError::BadMagic { found: magic });
    }
    let version = u16_at(bytes, 4);
    if version != VERSION {
        return Err(ModelError::UnsupportedVersion {
            found: version,
            supported: VERSION,
        });
    }
    if u16_at(bytes, 6) != 0 || bytes[60..PREAMBLE_LEN].iter().any(|&b| b != 0) {
        return Err(ModelError::Decode {
            section: Section::Preamble,
            index: 0,
        });
    }
    let mut layout = Layout {
        file_len: u32_at(bytes, 8),
        ..Layout::default()
    };
    for (i, s) in layout.sections.iter_mut().enumerate() {
        *s = [u32_at(bytes, 12 + 8 * i), u32_at(bytes, 16 + 8 * i)];
    }
    let declared = layout.file_len as usize;
    if bytes.len() < declared {
        // Name the first section the bytes cut short.
        for (s, [off, len]) in SECTIONS.iter().zip(layout.sections) {
            // Saturating: on 32-bit targets two u32s can overflow usize.
            let end = (off as usize).saturating_add(len as usize);
            if end > bytes.len() {
                return Err(ModelError::Truncated {
                    section: *s,
                    needed: end,
                    len: bytes.len(),
                });
            }
        }
        return Err(ModelError::Truncated {
            section: Section::Checksum,
            needed: declared,
            len: bytes.len(),
        });
    }
    if bytes.len() != declared || declared < PREAMBLE_LEN + CRC_LEN {
        return Err(ModelError::FileLength {
            declared,
            actual: bytes.len(),
        });
    }
    let body = declared - CRC_LEN;
    let stored = u32_at(bytes, body);
    let computed = super::format::crc32(&bytes[..body]);
    if stored != computed {
        return Err(ModelError::Checksum { stored, computed });
    }
    let mut end = PREAMBLE_LEN;
    for (s, [off, len]) in SECTIONS.iter().zip(layout.sections) {
        let (off, len) = (off as usize, len as usize);
        if off < end || off.checked_add(len).is_none_or(|e| e > body) {
            return Err(ModelError::SectionBounds { section: *s });
        }
        end = off + len;
    }
    let [woff, _] = layout.get(Section::Weights);
    if woff as usize % ALIGN != 0 {
        return Err(ModelError::Misaligned {
            what: "weights section",
            offset: woff as usize,
        });
    }
    if bytes.as_ptr() as usize % ALIGN != 0 {
        return Err(ModelError::Misaligned {
            what: "model bytes in memory",
            offset: bytes.as_ptr() as usize,
        });
    }
    Ok(layout)
}

/// Every check, in order; returns the model ready to run.
pub(super) fn validate(bytes: &[u8]) -> R<Model<'_>> {
    let layout = preamble(bytes)?;
    let [moff, mlen] = layout.get(Section::Meta);
    let meta_bytes = &bytes[moff as usize..(moff + mlen) as usize];
    let meta: Meta<'_> = match postcard::take_from_bytes(meta_bytes) {
        Ok((m, [])) => m,
        _ => {
            return Err(ModelError::Decode {
                section: Section::Meta,
                index: 0,
            })
        }
    };
    let mut model = Model {
        bytes,
        layout,
        meta,
        inputs: [0; MAX_IO],
        outputs: [0; MAX_IO],
    };
    index_len(
        &model,
        Section::TensorIndex,
        "tensor index entries",
        meta.n_tensors,
    )?;
    index_len(&model, Section::OpIndex, "op index entries", meta.n_ops)?;
    if meta.arena_len as usize % ALIGN != 0 {
        return Err(ModelError::Misaligned {
            what: "arena length",
            offset: meta.arena_len as usize,
        });
    }
    let (n_in, n_out) = (usize::from(meta.n_inputs), usize::from(meta.n_outputs));
    if n_in > MAX_IO || n_out > MAX_IO {
        return Err(ModelError::Count {
            what: "graph inputs or outputs (at most 8 each)",
            declared: n_in.max(n_out),
            found: MAX_IO,
        });
    }
    let (mut found_in, mut found_out) = (0u8, 0u8);
    for id in 0..model.n_tensors() {
        let t = tensor(&model, id)?;
        check_tensor(&model, id, &t)?;
        match t.role {
            Role::Input(k) => register(
                &mut model.inputs,
                &mut found_in,
                n_in,
                k,
                id,
                "graph inputs",
            )?,
            Role::Output(k) => register(
                &mut model.outputs,
                &mut found_out,
                n_out,
                k,
                id,
                "graph outputs",
            )?,
            Role::Internal => {}
        }
    }
    let (found_in, found_out) = (
        found_in.count_ones() as usize,
        found_out.count_ones() as usize,
    );
    if found_in != n_in || found_out != n_out {
        let (what, declared, found) = if found_in != n_in {
            ("graph inputs", n_in, found_in)
        } else {
            ("graph outputs", n_out, found_out)
        };
        return Err(ModelError::Count {
            what,
            declared,
            found,
        });
    }
    for i in 0..model.n_ops() {
        check_op(&model, i)?;
    }
    check_producers(&model)?;
    check_overlaps(&model)?;
    Ok(model)
}

fn index_len(m: &Model<'_>, s: Section, what: &'static str, n: u32) -> R<()> {
    let [_, len] = m.layout.get(s);
    // Compared as u64: `4 * n` overflows a 32-bit usize for a corrupt count.
    if u64::from(len) != 4 * u64::from(n) {
        return Err(ModelError::Count {
            what,
            declared: n as usize,
            found: len as usize / 4,
        });
    }
    let idx = m.section(s);
    let data_len = m
        .section(match s {
            Section::TensorIndex => Section::Tensors,
            _ => Section::Ops,
        })
        .len();
    let mut prev = None;
    for k in 0..n as usize {
        let at = u32_at(idx, 4 * k) as usize;
        let ok = match prev {
            None => at == 0,
            Some(p) => at > p,
        } && at < data_len;
        if !ok {
            return Err(ModelError::Decode {
                section: s,
                index: k,
            });
        }
        prev = Some(at);
    }
    // With records, the last one runs to the end of the data section and must decode to
    // exactly that; with none, nothing would look at the data, so it must be empty.
    if n == 0 && data_len != 0 {
        return Err(ModelError::Decode {
            section: match s {
                Section::TensorIndex => Section::Tensors,
                _ => Section::Ops,
            },
            index: 0,
        });
    }
    Ok(())
}

fn register(
    ids: &mut [u32; MAX_IO],
    filled: &mut u8,
    n: usize,
    k: u8,
    id: usize,
    what: &'static str,
) -> R<()> {
    let k = usize::from(k);
    if k >= n || *filled & (1 << k) != 0 {
        return Err(ModelError::Count {
            what,
            declared: n,
            found: k + 1,
        });
    }
    ids[k] = id as u32;
    *filled |= 1 << k;
    Ok(())
}

fn tensor<'a>(m: &Model<'a>, id: usize) -> R<TensorDef<'a>> {
    m.record(Section::TensorIndex, Section::Tensors, id)
}

fn check_tensor(m: &Model<'_>, id: usize, t: &TensorDef<'_>) -> R<()> {
    let err = |what| ModelError::Tensor { tensor: id, what };
    let shape = t
        .dims
        .to_shape()
        .ok_or(err("rank above 6 or stray dimensions"))?;
    if shape.dims().contains(&0) {
        return Err(err("zero-sized dimension"));
    }
    let bytes = shape
        .checked_numel()
        .ok()
        .and_then(|n| n.checked_mul(t.dtype.size()))
        .filter(|&b| b <= u32::MAX as usize)
        .ok_or(err("byte length overflows"))?;
    let n_ops = m.meta.n_ops;
    match t.storage {
        Storage::Const { offset, len } => {
            let (offset, len) = (offset as usize, len as usize);
            if offset % ALIGN != 0 {
                return Err(ModelError::Misaligned {
                    what: "constant",
                    offset,
                });
            }
            let wl = m.weights().len();
            if len != bytes || offset.checked_add(len).is_none_or(|e| e > wl) {
                return Err(ModelError::ConstOutOfRange {
                    tensor: id,
                    offset,
                    len,
                    weights_len: wl,
                });
            }
            if t.role != Role::Internal {
                return Err(err("a constant cannot be a graph input or output"));
            }
        }
        Storage::Arena {
            offset,
            first,
            last,
        } => {
            let offset = offset as usize;
            if offset % ALIGN != 0 {
                return Err(ModelError::Misaligned {
                    what: "arena offset",
                    offset,
                });
            }
            let al = m.arena_len();
            if offset.checked_add(bytes).is_none_or(|e| e > al) {
                return Err(ModelError::ArenaOutOfRange {
                    tensor: id,
                    offset,
                    len: bytes,
                    arena_len: al,
                });
            }
            let life = |what| ModelError::Lifetime {
                tensor: id,
                op: first as usize,
                what,
            };
            if first > last || last > n_ops + 1 {
                return Err(life("lifetime out of order or past the last op"));
            }
            match t.role {
                Role::Input(_) if first != 0 => {
                    return Err(life("graph input not live from the start"))
                }
                Role::Output(_) if last != n_ops + 1 => {
                    return Err(life("graph output not live to the end"))
                }
                Role::Output(_) | Role::Internal if first == 0 => {
                    return Err(life("live from the start but not a graph input"))
                }
                _ => {}
            }
        }
    }
    check_quant(m, id, t, &shape)
}

fn check_quant(m: &Model<'_>, id: usize, t: &TensorDef<'_>, shape: &Shape) -> R<()> {
    let err = |what| ModelError::Tensor { tensor: id, what };
    match t.quant {
        Quant::None => Ok(()),
        Quant::PerTensor { scale, zero_point } => {
            if !(scale.is_finite() && scale > 0.0) {
                return Err(err("quantization scale must be finite and positive"));
            }
            let (lo, hi) = match t.dtype {
                DType::I8 => (-128, 127),
                DType::U8 => (0, 255),
                DType::I32 => (0, 0),
                DType::F32 => return Err(err("f32 tensor with quantization parameters")),
            };
            if zero_point < lo || zero_point > hi {
                return Err(err("zero point outside the element type's range"));
            }
            Ok(())
        }
        Quant::PerChannel { axis, scales } => {
            if t.dtype != DType::I8 {
                return Err(err("per-channel quantization needs int8"));
            }
            let n = shape
                .dims()
                .get(usize::from(axis))
                .copied()
                .ok_or(err("per-channel axis out of range"))?;
            // Saturating: a corrupt extent times 4 can overflow a 32-bit usize.
            let (off, len) = (scales as usize, n.saturating_mul(4));
            let w = m.weights();
            if off % 4 != 0 {
                return Err(ModelError::Misaligned {
                    what: "channel scales",
                    offset: off,
                });
            }
            let bytes = w
                .get(off..off.saturating_add(len))
                .ok_or(ModelError::ConstOutOfRange {
                    tensor: id,
                    offset: off,
                    len,
                    weights_len: w.len(),
                })?;
            for c in bytes.chunks_exact(4) {
                let s = f32::from_le_bytes([c[0], c[1], c[2], c[3]]);
                if !(s.is_finite() && s > 0.0) {
                    return Err(err("channel scale must be finite and positive"));
                }
            }
            Ok(())
        }
    }
}

fn check_op(m: &Model<'_>, i: usize) -> R<()> {
    let def: OpDef = m.record(Section::OpIndex, Section::Ops, i)?;
    let n = usize::from(def.n_inputs);
    if n > MAX_OP_INPUTS || def.inputs[n.min(MAX_OP_INPUTS)..].iter().any(|&x| x != 0) {
        return Err(ModelError::Decode {
            section: Section::Ops,
            index: i,
        });
    }
    let nt = m.n_tensors();
    let mut ins = [Operand {
        dtype: DType::F32,
        shape: Shape::SCALAR,
    }; MAX_OP_INPUTS];
    let mut defs = [None; MAX_OP_INPUTS];
    let pos = i as u32 + 1;
    for (k, &id) in def.inputs().iter().enumerate() {
        if id as usize >= nt {
            return Err(ModelError::OperandIndex {
                op: i,
                operand: k,
                tensor: id as usize,
                n_tensors: nt,
            });
        }
        let t = tensor(m, id as usize)?;
        ins[k] = Operand {
            dtype: t.dtype,
            shape: m.shape(&t),
        };
        match t.storage {
            Storage::Arena { first, last, .. } => {
                let what = if first >= pos {
                    "read before it is written"
                } else if last < pos {
                    "read after its last planned use"
                } else if ops::needs_const(&def.op, k, n) {
                    "requantization tables must be constants"
                } else {
                    ""
                };
                if !what.is_empty() {
                    return Err(ModelError::Lifetime {
                        tensor: id as usize,
                        op: i,
                        what,
                    });
                }
            }
            Storage::Const { .. } => {}
        }
        defs[k] = Some(t);
    }
    let out_id = def.output as usize;
    if out_id >= nt {
        return Err(ModelError::OperandIndex {
            op: i,
            operand: n,
            tensor: out_id,
            n_tensors: nt,
        });
    }
    let out = tensor(m, out_id)?;
    let out_shape = m.shape(&out);
    let (dtype, shape) = ops::infer(i, &def.op, &ins[..n], Some(out_shape))?;
    if out.dtype != dtype {
        return Err(ModelError::DType {
            op: i,
            operand: n,
            expected: dtype,
            got: out.dtype,
        });
    }
    if out_shape != shape {
        return Err(ModelError::OutputShape {
            op: i,
            expected: shape,
            got: out_shape,
        });
    }
    match out.storage {
        Storage::Arena { first, .. } if first == pos => {}
        _ => {
            return Err(ModelError::Lifetime {
                tensor: out_id,
                op: i,
                what: "output is not planned to be written by this op",
            })
        }
    }
    super::quant_rules::check(m, i, &def, &defs[..n], &out)
}

/// Every arena tensor that is not a graph input is the output of the op its lifetime names.
fn check_producers(m: &Model<'_>) -> R<()> {
    for id in 0..m.n_tensors() {
        let t = tensor(m, id)?;
        if let Storage::Arena { first, .. } = t.storage {
            if first == 0 {
                continue;
            }
            let op: OpDef = m.record(Section::OpIndex, Section::Ops, first as usize - 1)?;
            if op.output as usize != id {
                return Err(ModelError::Lifetime {
                    tensor: id,
                    op: first as usize - 1,
                    what: "never written by the op its lifetime names",
                });
            }
        }
    }
    Ok(())
}

/// Arena region and lifetime of a tensor, if it lives in the arena.
fn region(t: &TensorDef<'_>) -> Option<(usize, usize, u32, u32)> {
    match t.storage {
        Storage::Arena {
            offset,
            first,
            last,
        } => Some((offset as usize, t.byte_len(), first, last)),
        Storage::Const { .. } => None,
    }
}

/// No two tensors live at the same time share arena bytes, except an in-place op's output
/// over its first input when that input dies at the op (same offset, no longer than it).
fn check_overlaps(m: &Model<'_>) -> R<()> {
    for a in 0..m.n_tensors() {
        let Some((ao, al, af, ala)) = region(&tensor(m, a)?) else {
            continue;
        };
        for b in a + 1..m.n_tensors() {
            let Some((bo, bl, bf, bla)) = region(&tensor(m, b)?) else {
                continue;
            };
            let live = af <= bla && bf <= ala;
            let share = ao < bo + bl && bo < ao + al;
            if live && share && !in_place_pair(m, (a, ao, al, af, ala), (b, bo, bl, bf, bla))? {
                return Err(ModelError::ArenaOverlap { a, b });
            }
        }
    }
    Ok(())
}

type Region = (usize, usize, usize, u32, u32);

fn in_place_pair(m: &Model<'_>, x: Region, y: Region) -> R<bool> {
    for ((src, so, sl, _, slast), (dst, d_o, dl, dfirst, _)) in [(x, y), (y, x)] {
        if so != d_o || dl > sl || dfirst == 0 || slast != dfirst {
            continue;
        }
        let op: OpDef = m.record(Section::OpIndex, Section::Ops, dfirst as usize - 1)?;
        if ops::in_place(&op.op)
            && op.output as usize == dst
            && op.inputs().first() == Some(&(src as u32))
        {
            return Ok(true);
        }
    }
    Ok(false)
}
