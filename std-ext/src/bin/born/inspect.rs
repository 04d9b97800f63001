//! `born inspect`.

use crate::io;
use anyhow::Result;
use born_std::core::model::{Quant, Storage};
use born_std::core::{DType, Interpreter, Model};
use std::path::Path;

/// What a model holds, counted once for `born inspect` and `born convert`.
pub struct Totals {
    /// Ops.
    pub ops: usize,
    /// Tensors (inputs, constants, activations, outputs).
    pub tensors: usize,
    /// Constant elements by element type: f32, int8, uint8, int32.
    pub params: [usize; 4],
    /// Bytes of constant data: weights, biases, per-channel scales.
    pub weight_bytes: usize,
    /// Bytes of the planned activation arena.
    pub arena_bytes: usize,
}

/// Counts ops, tensors, parameters, weight bytes and arena bytes of `m`.
pub fn totals(m: &Model<'_>) -> Result<Totals> {
    let mut params = [0usize; 4];
    let mut weight_bytes = 0usize;
    for id in 0..m.n_tensors() {
        let t = m.tensor(id)?;
        if let Storage::Const { len, .. } = t.storage {
            weight_bytes += len as usize;
            let slot = match t.dtype {
                DType::F32 => Some(0),
                DType::I8 => Some(1),
                DType::U8 => Some(2),
                DType::I32 => Some(3),
                _ => None,
            };
            if let Some(slot) = slot {
                params[slot] += m.shape(&t).numel();
            }
        }
        if let Quant::PerChannel { .. } = t.quant {
            weight_bytes += m.channel_scales(&t).len();
        }
    }
    Ok(Totals {
        ops: m.n_ops(),
        tensors: m.n_tensors(),
        params,
        weight_bytes,
        arena_bytes: m.arena_len(),
    })
}

pub fn run(path: &Path) -> Result<()> {
    let bytes = io::read(path)?;
    let m = io::load(&bytes, path)?;
    let meta = m.meta();
    println!("model     {} (produced by {})", meta.name, meta.producer);
    let totals = totals(&m)?;
    let (params, const_bytes) = (totals.params, totals.weight_bytes);
    let file = bytes.len();
    println!(
        "file      {file} bytes: weights {const_bytes} bytes, format overhead {} bytes ({:.2}%)",
        file - const_bytes.min(file),
        100.0 * (file - const_bytes.min(file)) as f64 / file as f64
    );
    println!(
        "params    {} (f32 {}, int8 {}, uint8 {}, int32 {})",
        params.iter().sum::<usize>(),
        params[0],
        params[1],
        params[2],
        params[3]
    );
    println!(
        "arena     planned {} bytes (no reuse: {} bytes), kernel scratch {} bytes on this CPU; \
         Interpreter::arena_len = {} bytes",
        totals.arena_bytes,
        meta.naive_arena_len,
        Interpreter::scratch_len(&m)?,
        Interpreter::arena_len(&m)?
    );
    for (what, ids) in [("input ", m.inputs()), ("output", m.outputs())] {
        for (k, &id) in ids.iter().enumerate() {
            println!("{what} {k}  {}", io::describe(&m, &m.tensor(id as usize)?));
        }
    }
    println!("ops       {}", totals.ops);
    for i in 0..m.n_ops() {
        let op = m.op(i)?;
        let describe = |ids: &mut dyn Iterator<Item = u32>| -> born_std::core::Result<String> {
            let v = ids
                .map(|t| match t {
                    u32::MAX => Ok("(absent)".to_string()),
                    t => m.tensor(t as usize).map(|t| io::describe(&m, &t)),
                })
                .collect::<born_std::core::Result<Vec<_>>>()?;
            Ok(v.join(", "))
        };
        let ins = describe(&mut op.input_ids())?;
        let outs = describe(&mut op.output_ids())?;
        let name = born_std::core::ops::ALL
            .table()
            .find(op.op)
            .map_or("?", |(_, r)| r.name);
        println!("  {i:>3} {name:<16} {ins} -> {outs}");
        println!("      op id {}, attributes {:02x?}", op.op, op.attrs);
    }
    Ok(())
}
