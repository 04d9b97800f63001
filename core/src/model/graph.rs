//! An editable, owned graph (feature `alloc`): what exporters, importers and the quantizer
//! build, and what [`Graph::encode`] turns into `.born` bytes once a memory plan is chosen.

use super::format::{
    Dims, Layout, Meta, Op, OpDef, Quant, Role, Storage, TensorDef, ALIGN, CRC_LEN, MAGIC, MAX_IO,
    MAX_OP_INPUTS, PREAMBLE_LEN, SECTIONS, VERSION,
};
use super::ops::{self, Operand};
use super::Model;
use crate::dtype::{DType, Element};
use crate::error::{Error, Result};
use crate::shape::Shape;
use alloc::string::{String, ToString};
use alloc::vec;
use alloc::vec::Vec;
use serde::Serialize;

/// Quantization of a tensor in a [`Graph`].
#[derive(Clone, Debug, PartialEq)]
pub enum QuantSpec {
    /// Not quantized.
    None,
    /// One scale and zero point.
    PerTensor {
        /// Real value of one step.
        scale: f32,
        /// Integer that represents zero.
        zero_point: i32,
    },
    /// One scale per index along `axis`, zero points zero.
    PerChannel {
        /// Channel axis.
        axis: u8,
        /// Scales, one per channel.
        scales: Vec<f32>,
    },
}

/// A tensor of a [`Graph`].
#[derive(Clone, Debug, PartialEq)]
pub struct TensorSpec {
    /// Name.
    pub name: String,
    /// Element type.
    pub dtype: DType,
    /// Shape.
    pub shape: Shape,
    /// Quantization.
    pub quant: QuantSpec,
    /// Little-endian bytes of a constant; `None` for activations and graph inputs.
    pub data: Option<Vec<u8>>,
}

/// An op of a [`Graph`].
#[derive(Clone, Debug, PartialEq)]
pub struct OpSpec {
    /// What it computes.
    pub op: Op,
    /// Tensor ids read.
    pub inputs: Vec<usize>,
    /// Tensor id written.
    pub output: usize,
}

/// The lifetime and size of an activation tensor, for a memory planner.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Lifetime {
    /// Tensor id in the graph.
    pub tensor: usize,
    /// Bytes.
    pub size: usize,
    /// Position it is written at (0: graph input, `i + 1`: op `i`).
    pub first: usize,
    /// Last position it is read at (`n_ops + 1` for graph outputs).
    pub last: usize,
    /// Index (into the same list) of a tensor whose bytes this one may take: its op works in
    /// place and that tensor dies at this op.
    pub reuse_of: Option<usize>,
}

/// An editable graph. Ops must be added in execution order (each reads tensors that exist).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Graph {
    /// Model name.
    pub name: String,
    /// What produced the file.
    pub producer: String,
    /// Tensors, by id.
    pub tensors: Vec<TensorSpec>,
    /// Ops, in execution order.
    pub ops: Vec<OpSpec>,
    /// Graph inputs (tensor ids).
    pub inputs: Vec<usize>,
    /// Graph outputs (tensor ids).
    pub outputs: Vec<usize>,
}

fn bad(what: &'static str) -> Error {
    Error::InvalidArgument { op: "graph", what }
}

impl Graph {
    /// An empty graph.
    pub fn new(name: &str, producer: &str) -> Graph {
        Graph {
            name: name.to_string(),
            producer: producer.to_string(),
            ..Graph::default()
        }
    }

    fn push(&mut self, t: TensorSpec) -> usize {
        self.tensors.push(t);
        self.tensors.len() - 1
    }

    /// Adds graph input `name` of `dtype` and shape `dims`; returns its id.
    pub fn add_input(&mut self, name: &str, dtype: DType, dims: &[usize]) -> Result<usize> {
        if self.inputs.len() >= MAX_IO {
            return Err(bad("more than 8 graph inputs"));
        }
        let id = self.push(TensorSpec {
            name: name.to_string(),
            dtype,
            shape: Shape::new(dims)?,
            quant: QuantSpec::None,
            data: None,
        });
        self.inputs.push(id);
        Ok(id)
    }

    /// Adds a constant with `data` (row-major, `dims` elements); returns its id.
    pub fn add_const<T: Element>(
        &mut self,
        name: &str,
        dims: &[usize],
        data: &[T],
    ) -> Result<usize> {
        let shape = Shape::new(dims)?;
        if shape.numel() != data.len() {
            return Err(Error::DimMismatch {
                op: "graph",
                what: "constant length",
                expected: shape.numel(),
                got: data.len(),
            });
        }
        let mut bytes = Vec::with_capacity(core::mem::size_of_val(data));
        for v in data {
            // Native byte order: every target born supports is little-endian.
            bytes.extend_from_slice(bytemuck::bytes_of(v));
        }
        Ok(self.push(TensorSpec {
            name: name.to_string(),
            dtype: T::DTYPE,
            shape,
            quant: QuantSpec::None,
            data: Some(bytes),
        }))
    }

    fn operand(&self, id: usize) -> Result<Operand> {
        let t = self.tensors.get(id).ok_or(Error::IndexOutOfRange {
            op: "graph",
            what: "tensor id",
            index: id,
            len: self.tensors.len(),
        })?;
        Ok(Operand {
            dtype: t.dtype,
            shape: t.shape,
        })
    }

    /// Appends `op` reading `inputs`, with a new output tensor `name` whose element type and
    /// shape follow from the op's rules (for [`Op::Reshape`], `target` is the new shape);
    /// returns the output's id. The op's rules are checked here as the loader will.
    pub fn add_op(
        &mut self,
        op: Op,
        inputs: &[usize],
        name: &str,
        target: Option<&[usize]>,
    ) -> Result<usize> {
        if inputs.len() > MAX_OP_INPUTS {
            return Err(bad("more than 6 op inputs"));
        }
        let ins = inputs
            .iter()
            .map(|&i| self.operand(i))
            .collect::<Result<Vec<_>>>()?;
        let target = target.map(Shape::new).transpose()?;
        let (dtype, shape) = ops::infer(self.ops.len(), &op, &ins, target)?;
        let out = self.push(TensorSpec {
            name: name.to_string(),
            dtype,
            shape,
            quant: QuantSpec::None,
            data: None,
        });
        self.ops.push(OpSpec {
            op,
            inputs: inputs.to_vec(),
            output: out,
        });
        Ok(out)
    }

    /// Marks tensor `id` as the next graph output.
    pub fn mark_output(&mut self, id: usize) -> Result<()> {
        self.operand(id)?;
        if self.outputs.len() >= MAX_IO {
            return Err(bad("more than 8 graph outputs"));
        }
        self.outputs.push(id);
        Ok(())
    }

    /// Folds each ReLU/ReLU6 that is the only reader of a fully connected or conv output into
    /// that op's fused activation (the same kernel applied to the same values: the same
    /// bits), then drops the tensors nothing refers to any more.
    pub fn fuse_activations(&mut self) -> Result<()> {
        let mut readers = vec![0usize; self.tensors.len()];
        for op in &self.ops {
            for &i in &op.inputs {
                readers[i] += 1;
            }
        }
        let mut producer = vec![usize::MAX; self.tensors.len()];
        for (i, op) in self.ops.iter().enumerate() {
            producer[op.output] = i;
        }
        let mut keep = vec![true; self.ops.len()];
        for j in 0..self.ops.len() {
            let fused = match self.ops[j].op {
                Op::Activation(super::format::ActKind::Relu) => super::format::FusedAct::Relu,
                Op::Activation(super::format::ActKind::Relu6) => super::format::FusedAct::Relu6,
                _ => continue,
            };
            let t = self.ops[j].inputs[0];
            let p = producer[t];
            if p == usize::MAX || readers[t] != 1 || self.outputs.contains(&t) {
                continue;
            }
            let slot = match &mut self.ops[p].op {
                Op::FullyConnected { act } | Op::Conv2d { act, .. } => act,
                _ => continue,
            };
            if *slot != super::format::FusedAct::None {
                continue;
            }
            *slot = fused;
            self.ops[p].output = self.ops[j].output;
            producer[self.ops[j].output] = p;
            keep[j] = false;
        }
        let mut k = keep.iter();
        self.ops.retain(|_| k.next().copied().unwrap_or(true));
        self.compact();
        Ok(())
    }

    /// Removes tensors no op, input or output refers to, renumbering the rest.
    fn compact(&mut self) {
        let mut used = vec![false; self.tensors.len()];
        for op in &self.ops {
            for &i in op.inputs.iter().chain([&op.output]) {
                used[i] = true;
            }
        }
        for &i in self.inputs.iter().chain(&self.outputs) {
            used[i] = true;
        }
        let mut new_id = vec![usize::MAX; self.tensors.len()];
        let mut n = 0;
        for (id, &u) in used.iter().enumerate() {
            if u {
                new_id[id] = n;
                n += 1;
            }
        }
        let mut u = used.iter();
        self.tensors.retain(|_| u.next().copied().unwrap_or(false));
        for op in &mut self.ops {
            for i in op.inputs.iter_mut().chain([&mut op.output]) {
                *i = new_id[*i];
            }
        }
        for i in self.inputs.iter_mut().chain(self.outputs.iter_mut()) {
            *i = new_id[*i];
        }
    }

    /// The activation tensors (graph inputs and op outputs) with their lifetimes, in tensor
    /// id order, for a memory planner.
    pub fn lifetimes(&self) -> Result<Vec<Lifetime>> {
        let n_ops = self.ops.len();
        let mut first = vec![None::<usize>; self.tensors.len()];
        let mut last = vec![0usize; self.tensors.len()];
        for &i in &self.inputs {
            first[i] = Some(0);
        }
        for (i, op) in self.ops.iter().enumerate() {
            for &x in &op.inputs {
                last[x] = last[x].max(i + 1);
            }
            if first[op.output].replace(i + 1).is_some() {
                return Err(bad("a tensor is written twice"));
            }
        }
        for &o in &self.outputs {
            last[o] = n_ops + 1;
        }
        let mut list: Vec<Lifetime> = Vec::new();
        let mut slot = vec![usize::MAX; self.tensors.len()];
        for (id, t) in self.tensors.iter().enumerate() {
            let Some(f) = first[id] else { continue };
            if t.data.is_some() {
                return Err(bad("a constant is written by an op"));
            }
            slot[id] = list.len();
            list.push(Lifetime {
                tensor: id,
                size: t.shape.numel() * t.dtype.size(),
                first: f,
                last: last[id].max(f),
                reuse_of: None,
            });
        }
        for (i, op) in self.ops.iter().enumerate() {
            let Some(&src) = op.inputs.first() else {
                continue;
            };
            let (s, d) = (slot[src], slot[op.output]);
            if ops::in_place(&op.op)
                && s != usize::MAX
                && list[s].last == i + 1
                && list[d].size <= list[s].size
            {
                list[d].reuse_of = Some(s);
            }
        }
        for (id, t) in self.tensors.iter().enumerate() {
            if first[id].is_none() && t.data.is_none() {
                return Err(bad(
                    "a tensor is neither constant, input nor written by an op",
                ));
            }
        }
        Ok(list)
    }

    /// A plan that gives every activation its own bytes (no reuse): offsets in
    /// [`Graph::lifetimes`] order and the arena length. Every intermediate value survives
    /// `invoke`, which calibration needs.
    pub fn naive_plan(&self) -> Result<(Vec<usize>, usize)> {
        let mut at = 0usize;
        let mut offsets = Vec::new();
        for l in self.lifetimes()? {
            offsets.push(at);
            at = at
                .checked_add(l.size.div_ceil(ALIGN) * ALIGN)
                .ok_or(Error::Overflow { op: "graph" })?;
        }
        Ok((offsets, at))
    }

    /// The `.born` bytes of this graph with activation `offsets` (in [`Graph::lifetimes`]
    /// order) in an arena of `arena_len` bytes. The result is loaded back with
    /// [`Model::from_bytes`] before it is returned, so a plan that overlaps live tensors or
    /// any other defect is an error here, not in the field.
    pub fn encode(&self, offsets: &[usize], arena_len: usize) -> Result<Vec<u8>> {
        let lifetimes = self.lifetimes()?;
        if offsets.len() != lifetimes.len() {
            return Err(Error::DimMismatch {
                op: "graph",
                what: "plan offsets",
                expected: lifetimes.len(),
                got: offsets.len(),
            });
        }
        let u32_of = |v: usize| u32::try_from(v).map_err(|_| Error::Overflow { op: "graph" });
        let naive = self.naive_plan()?.1;
        let mut weights: Vec<u8> = Vec::new();
        let mut place = |bytes: &[u8]| -> Result<u32> {
            weights.resize(weights.len().div_ceil(ALIGN) * ALIGN, 0);
            let at = u32_of(weights.len())?;
            weights.extend_from_slice(bytes);
            Ok(at)
        };
        let mut arena_of = vec![None; self.tensors.len()];
        for (l, &off) in lifetimes.iter().zip(offsets) {
            arena_of[l.tensor] = Some(Storage::Arena {
                offset: u32_of(off)?,
                first: u32_of(l.first)?,
                last: u32_of(l.last)?,
            });
        }
        let mut tensors: Vec<u8> = Vec::new();
        let mut tindex: Vec<u8> = Vec::new();
        for (id, t) in self.tensors.iter().enumerate() {
            let storage = match (&t.data, arena_of[id]) {
                (Some(d), _) => Storage::Const {
                    offset: place(d)?,
                    len: u32_of(d.len())?,
                },
                (None, Some(s)) => s,
                (None, None) => return Err(bad("tensor without storage")),
            };
            let quant = match &t.quant {
                QuantSpec::None => Quant::None,
                QuantSpec::PerTensor { scale, zero_point } => Quant::PerTensor {
                    scale: *scale,
                    zero_point: *zero_point,
                },
                QuantSpec::PerChannel { axis, scales } => {
                    let bytes: Vec<u8> = scales.iter().flat_map(|s| s.to_le_bytes()).collect();
                    Quant::PerChannel {
                        axis: *axis,
                        scales: place(&bytes)?,
                    }
                }
            };
            let role = if let Some(k) = self.inputs.iter().position(|&i| i == id) {
                Role::Input(k as u8)
            } else if let Some(k) = self.outputs.iter().position(|&i| i == id) {
                Role::Output(k as u8)
            } else {
                Role::Internal
            };
            let def = TensorDef {
                name: &t.name,
                dtype: t.dtype,
                dims: Dims::from_shape(&t.shape).ok_or(Error::Overflow { op: "graph" })?,
                storage,
                role,
                quant,
            };
            tindex.extend_from_slice(&u32_of(tensors.len())?.to_le_bytes());
            append(&mut tensors, &def)?;
        }
        let mut ops_bytes: Vec<u8> = Vec::new();
        let mut oindex: Vec<u8> = Vec::new();
        for op in &self.ops {
            let mut inputs = [0u32; MAX_OP_INPUTS];
            for (d, &s) in inputs.iter_mut().zip(&op.inputs) {
                *d = u32_of(s)?;
            }
            let def = OpDef {
                op: op.op,
                n_inputs: op.inputs.len() as u8,
                inputs,
                output: u32_of(op.output)?,
            };
            oindex.extend_from_slice(&u32_of(ops_bytes.len())?.to_le_bytes());
            append(&mut ops_bytes, &def)?;
        }
        let meta = Meta {
            name: &self.name,
            producer: &self.producer,
            n_tensors: u32_of(self.tensors.len())?,
            n_ops: u32_of(self.ops.len())?,
            n_inputs: self.inputs.len() as u8,
            n_outputs: self.outputs.len() as u8,
            arena_len: u32_of(arena_len.div_ceil(ALIGN) * ALIGN)?,
            naive_arena_len: u32_of(naive)?,
        };
        let mut meta_bytes = Vec::new();
        append(&mut meta_bytes, &meta)?;
        let mut file = vec![0u8; PREAMBLE_LEN];
        let mut layout = Layout::default();
        let parts: [&[u8]; 6] = [
            &meta_bytes,
            &tindex,
            &tensors,
            &oindex,
            &ops_bytes,
            &weights,
        ];
        for (i, part) in parts.iter().enumerate() {
            if SECTIONS[i] == super::Section::Weights {
                file.resize(file.len().div_ceil(ALIGN) * ALIGN, 0);
            }
            layout.sections[i] = [u32_of(file.len())?, u32_of(part.len())?];
            file.extend_from_slice(part);
        }
        let file_len = file.len() + CRC_LEN;
        file[0..4].copy_from_slice(&MAGIC);
        file[4..6].copy_from_slice(&VERSION.to_le_bytes());
        file[8..12].copy_from_slice(&u32_of(file_len)?.to_le_bytes());
        for (i, [off, len]) in layout.sections.iter().enumerate() {
            file[12 + 8 * i..16 + 8 * i].copy_from_slice(&off.to_le_bytes());
            file[16 + 8 * i..20 + 8 * i].copy_from_slice(&len.to_le_bytes());
        }
        let crc = super::format::crc32(&file);
        file.extend_from_slice(&crc.to_le_bytes());
        Model::from_bytes(&AlignedBytes::from_slice(&file))?;
        Ok(file)
    }

    /// The graph of a loaded model (constants copied), for re-planning or quantizing.
    pub fn from_model(m: &Model<'_>) -> Result<Graph> {
        let mut g = Graph::new(m.meta().name, m.meta().producer);
        for id in 0..m.n_tensors() {
            let t = m.tensor(id)?;
            let quant = match t.quant {
                Quant::None => QuantSpec::None,
                Quant::PerTensor { scale, zero_point } => {
                    QuantSpec::PerTensor { scale, zero_point }
                }
                Quant::PerChannel { axis, .. } => QuantSpec::PerChannel {
                    axis,
                    scales: m
                        .channel_scales(&t)
                        .chunks_exact(4)
                        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                        .collect(),
                },
            };
            g.tensors.push(TensorSpec {
                name: t.name.to_string(),
                dtype: t.dtype,
                shape: m.shape(&t),
                quant,
                data: match t.storage {
                    Storage::Const { .. } => Some(m.const_bytes(&t).to_vec()),
                    Storage::Arena { .. } => None,
                },
            });
        }
        g.inputs = m.inputs().iter().map(|&i| i as usize).collect();
        g.outputs = m.outputs().iter().map(|&i| i as usize).collect();
        for i in 0..m.n_ops() {
            let d = m.op(i)?;
            g.ops.push(OpSpec {
                op: d.op,
                inputs: d.inputs().iter().map(|&x| x as usize).collect(),
                output: d.output as usize,
            });
        }
        Ok(g)
    }
}

fn append<T: Serialize>(out: &mut Vec<u8>, v: &T) -> Result<()> {
    let bytes = postcard::to_allocvec(v).map_err(|_| bad("record does not serialize"))?;
    out.extend_from_slice(&bytes);
    Ok(())
}

/// Sixteen bytes at a 16-byte aligned address (`u128` is only 8-aligned on some 32-bit
/// targets).
#[derive(Clone, Copy, Debug, Default, bytemuck::Pod, bytemuck::Zeroable)]
#[repr(C, align(16))]
struct Chunk([u8; 16]);

/// Bytes at a 16-byte aligned address, as [`Model::from_bytes`] needs (a `Vec<u8>` only
/// promises alignment 1). Dereferences to `[u8]`.
#[derive(Clone, Debug, Default)]
pub struct AlignedBytes {
    chunks: Vec<Chunk>,
    len: usize,
}

impl AlignedBytes {
    /// An aligned copy of `bytes`.
    pub fn from_slice(bytes: &[u8]) -> AlignedBytes {
        let mut chunks = vec![Chunk::default(); bytes.len().div_ceil(16)];
        bytemuck::cast_slice_mut::<Chunk, u8>(&mut chunks)[..bytes.len()].copy_from_slice(bytes);
        AlignedBytes {
            chunks,
            len: bytes.len(),
        }
    }
}

impl core::ops::Deref for AlignedBytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &bytemuck::cast_slice::<Chunk, u8>(&self.chunks)[..self.len]
    }
}
