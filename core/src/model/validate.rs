//! Everything [`Model::from_bytes`](super::Model::from_bytes) checks, in file order.

use super::error::ModelError;
use super::format::{
    Layout, Meta, OpDef, Quant, Role, Section, Storage, TensorDef, ABSENT, ALIGN, CRC_LEN, MAGIC,
    MAX_IO, PREAMBLE_LEN, SECTIONS, VERSION,
};
use super::Model;
use crate::dtype::DType;
use crate::ops::prepare::OutSlot;
use crate::ops::registry::{Table, Words};
use crate::ops::{OpReg, Operand, Prepare, MAX_INPUTS, MAX_OUTPUTS};
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
pub(super) fn validate<'a>(bytes: &'a [u8], ops: &Table<'_>) -> R<Model<'a>> {
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
    for (what, len) in [
        ("arena length", meta.arena_len),
        ("state length", meta.state_len),
    ] {
        if len as usize % ALIGN != 0 {
            return Err(ModelError::Misaligned {
                what,
                offset: len as usize,
            });
        }
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
    if ops.overflowed() {
        return Err(ModelError::Count {
            what: "ops registered beyond the resolver's capacity",
            declared: 0,
            found: 1,
        });
    }
    for i in 0..model.n_ops() {
        check_op(&model, i, ops)?;
    }
    check_producers(&model)?;
    check_overlaps(&model, ops)?;
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
        Storage::State { offset } => {
            let offset = offset as usize;
            if offset % ALIGN != 0 {
                return Err(ModelError::Misaligned {
                    what: "state offset",
                    offset,
                });
            }
            let sl = m.meta.state_len as usize;
            if offset.checked_add(bytes).is_none_or(|e| e > sl) {
                return Err(err("state bytes outside the state region"));
            }
            if t.role != Role::Internal {
                return Err(err("a state tensor cannot be a graph input or output"));
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
                DType::I16 => (-32768, 32767),
                DType::I32 => (0, 0),
                DType::F32
                | DType::F16
                | DType::I64
                | DType::Bool
                | DType::F64
                | DType::U16
                | DType::U32
                | DType::U64 => {
                    return Err(err("quantization parameters on a non-quantizable type"))
                }
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

/// The operands of op `i` as `prepare` sees them, after the structural checks (ids in
/// range, lifetimes, outputs planned for this op); returns how many inputs and outputs.
fn op_operands<'a>(
    m: &Model<'a>,
    i: usize,
    def: &OpDef<'a>,
    reg: &OpReg,
    ins: &mut [Option<Operand<'a>>; MAX_INPUTS],
    outs: &mut [OutSlot; MAX_OUTPUTS],
    out_defs: &mut [Option<TensorDef<'a>>; MAX_OUTPUTS],
) -> R<(usize, usize)> {
    let (n_in, n_out) = (def.n_inputs(), def.n_outputs());
    if def.inputs.len() % 4 != 0 || def.outputs.len() % 4 != 0 {
        return Err(ModelError::Decode {
            section: Section::Ops,
            index: i,
        });
    }
    let (lo, hi) = reg.inputs;
    if n_in < lo || n_in > hi || n_in > MAX_INPUTS {
        return Err(ModelError::Arity {
            op: i,
            kind: reg.name,
            min: lo,
            max: hi.min(MAX_INPUTS),
            got: n_in,
        });
    }
    let (lo, hi) = reg.outputs;
    if n_out < lo || n_out > hi || n_out > MAX_OUTPUTS {
        return Err(ModelError::Outputs {
            op: i,
            kind: reg.name,
            min: lo,
            max: hi.min(MAX_OUTPUTS),
            got: n_out,
        });
    }
    let nt = m.n_tensors();
    let pos = i as u32 + 1;
    let index_err = |operand: usize, id: u32| ModelError::OperandIndex {
        op: i,
        operand,
        tensor: id as usize,
        n_tensors: nt,
    };
    for (k, id) in def.output_ids().enumerate() {
        if id as usize >= nt {
            return Err(index_err(n_in + k, id));
        }
        if def.output_ids().take(k).any(|o| o == id) {
            return Err(ModelError::Lifetime {
                tensor: id as usize,
                op: i,
                what: "written twice by one op",
            });
        }
        let t = tensor(m, id as usize)?;
        match t.storage {
            Storage::Arena { first, .. } if first == pos => {}
            Storage::State { .. } => {}
            _ => {
                return Err(ModelError::Lifetime {
                    tensor: id as usize,
                    op: i,
                    what: "output is not planned to be written by this op",
                })
            }
        }
        outs[k] = OutSlot {
            quant: Some(t.quant),
            declared: None,
        };
        out_defs[k] = Some(t);
    }
    for (k, id) in def.input_ids().enumerate() {
        if id == ABSENT {
            continue;
        }
        if id as usize >= nt {
            return Err(index_err(k, id));
        }
        let t = tensor(m, id as usize)?;
        let what = match t.storage {
            Storage::Arena { first, .. } if first >= pos => "read before it is written",
            Storage::Arena { last, .. } if last < pos => "read after its last planned use",
            Storage::State { .. }
                if def.output_ids().any(|o| o == id) && !(reg.in_place && k == 0) =>
            {
                "state read and written by one op that does not work in place on it"
            }
            _ => "",
        };
        if !what.is_empty() {
            return Err(ModelError::Lifetime {
                tensor: id as usize,
                op: i,
                what,
            });
        }
        ins[k] = Some(Operand {
            dtype: t.dtype,
            shape: m.shape(&t),
            quant: t.quant,
            data: match t.storage {
                Storage::Const { .. } => Some(m.const_bytes(&t)),
                _ => None,
            },
        });
    }
    Ok((n_in, n_out))
}

/// Runs op `i`'s rules through its registered `prepare` and checks the declared outputs
/// against the file's records; returns the op's params and scratch bytes.
pub(crate) fn check_op(m: &Model<'_>, i: usize, ops: &Table<'_>) -> R<(usize, Words, usize)> {
    let def = m.op_record(i)?;
    let (slot, reg) = ops
        .find(def.op)
        .ok_or(ModelError::UnknownOp { op: i, id: def.op })?;
    let mut ins = [None; MAX_INPUTS];
    let mut outs = [OutSlot::default(); MAX_OUTPUTS];
    let mut out_defs = [None; MAX_OUTPUTS];
    let (n_in, n_out) = op_operands(m, i, &def, reg, &mut ins, &mut outs, &mut out_defs)?;
    let mut cx = Prepare {
        op: i,
        name: reg.name,
        ins: &ins[..n_in],
        outs: &mut outs[..n_out],
        scratch: 0,
    };
    let words = (reg.prepare)(def.attrs, &mut cx)?;
    let scratch = cx.scratch;
    for (k, (o, t)) in outs[..n_out].iter().zip(&out_defs).enumerate() {
        let t = t.as_ref().ok_or(ModelError::Decode {
            section: Section::Ops,
            index: i,
        })?;
        let (dtype, shape) = o.declared.ok_or(ModelError::Outputs {
            op: i,
            kind: reg.name,
            min: k + 1,
            max: k + 1,
            got: k,
        })?;
        if t.dtype != dtype {
            return Err(ModelError::DType {
                op: i,
                operand: n_in + k,
                expected: dtype,
                got: t.dtype,
            });
        }
        let got = m.shape(t);
        if got != shape {
            return Err(ModelError::OutputShape {
                op: i,
                expected: shape,
                got,
            });
        }
    }
    Ok((slot, words, scratch))
}

/// Every arena tensor that is not a graph input is an output of the op its lifetime names.
fn check_producers(m: &Model<'_>) -> R<()> {
    for id in 0..m.n_tensors() {
        let t = tensor(m, id)?;
        if let Storage::Arena { first, .. } = t.storage {
            if first == 0 {
                continue;
            }
            let op = m.op_record(first as usize - 1)?;
            if !op.output_ids().any(|o| o as usize == id) {
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

/// Region and lifetime of a tensor in the arena (`state == false`) or the state region
/// (always live).
fn region(t: &TensorDef<'_>, n_ops: u32) -> Option<(bool, usize, usize, u32, u32)> {
    match t.storage {
        Storage::Arena {
            offset,
            first,
            last,
        } => Some((false, offset as usize, t.byte_len(), first, last)),
        Storage::State { offset } => Some((true, offset as usize, t.byte_len(), 0, n_ops + 1)),
        Storage::Const { .. } => None,
    }
}

/// No two tensors live at the same time share arena (or state) bytes, except an in-place
/// op's output over its first input when that input dies at the op (same offset, no longer
/// than it).
fn check_overlaps(m: &Model<'_>, ops: &Table<'_>) -> R<()> {
    let n_ops = m.meta.n_ops;
    for a in 0..m.n_tensors() {
        let Some((ast, ao, al, af, ala)) = region(&tensor(m, a)?, n_ops) else {
            continue;
        };
        for b in a + 1..m.n_tensors() {
            let Some((bst, bo, bl, bf, bla)) = region(&tensor(m, b)?, n_ops) else {
                continue;
            };
            let live = af <= bla && bf <= ala;
            let share = ast == bst && ao < bo + bl && bo < ao + al;
            if live
                && share
                && (ast || !in_place_pair(m, ops, (a, ao, al, af, ala), (b, bo, bl, bf, bla))?)
            {
                return Err(ModelError::ArenaOverlap { a, b });
            }
        }
    }
    Ok(())
}

type Region = (usize, usize, usize, u32, u32);

fn in_place_pair(m: &Model<'_>, ops: &Table<'_>, x: Region, y: Region) -> R<bool> {
    for ((src, so, sl, _, slast), (dst, d_o, dl, dfirst, _)) in [(x, y), (y, x)] {
        if so != d_o || dl > sl || dfirst == 0 || slast != dfirst {
            continue;
        }
        let op = m.op_record(dfirst as usize - 1)?;
        let in_place = ops.find(op.op).is_some_and(|(_, r)| r.in_place);
        if in_place && op.output(0) == Some(dst as u32) && op.input(0) == Some(src as u32) {
            return Ok(true);
        }
    }
    Ok(false)
}
