//! An editable, owned graph (feature `alloc`): what exporters, importers and the quantizer
//! build, and what [`Graph::encode`] turns into `.born` bytes once a memory plan is chosen.

use super::format::{
    Dims, Layout, Meta, OpDef, Quant, Role, Storage, TensorDef, ABSENT, ALIGN, CRC_LEN, MAGIC,
    MAX_IO, PREAMBLE_LEN, SECTIONS, VERSION,
};
use super::Model;
use crate::dtype::{DType, Element};
use crate::error::{Error, Result};
use crate::kernels::activation::Activation;
use crate::ops::conv2d::Conv2d;
use crate::ops::fully_connected::FullyConnected;
use crate::ops::prepare::OutSlot;
use crate::ops::{Op, OpReg, Operand, Prepare, MAX_INPUTS, MAX_OUTPUTS};
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

impl QuantSpec {
    /// The record form (per-channel scales' offset left 0: only the axis matters to an
    /// op's rules).
    pub fn stored(&self) -> Quant {
        match self {
            QuantSpec::None => Quant::None,
            QuantSpec::PerTensor { scale, zero_point } => Quant::PerTensor {
                scale: *scale,
                zero_point: *zero_point,
            },
            QuantSpec::PerChannel { axis, .. } => Quant::PerChannel {
                axis: *axis,
                scales: 0,
            },
        }
    }
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
    /// True for a state tensor (kept across invokes, zero at start).
    pub state: bool,
}

/// Tensor id of an absent optional input in [`OpSpec::inputs`].
pub const ABSENT_INPUT: usize = usize::MAX;

/// An op of a [`Graph`].
#[derive(Clone, Debug, PartialEq)]
pub struct OpSpec {
    /// Which op ([`Op::ID`]).
    pub op: u16,
    /// Its postcard-encoded attributes.
    pub attrs: Vec<u8>,
    /// Tensor ids read ([`ABSENT_INPUT`] for a missing optional input).
    pub inputs: Vec<usize>,
    /// Tensor ids written.
    pub outputs: Vec<usize>,
}

impl OpSpec {
    /// True when this is op `O`.
    pub fn is<O: Op>(&self) -> bool {
        self.op == O::ID
    }

    /// The attributes of op `O`; `None` when this is another op (or they do not decode).
    pub fn attrs<O: Op>(&self) -> Option<O::Attrs> {
        if !self.is::<O>() {
            return None;
        }
        match postcard::take_from_bytes(&self.attrs) {
            Ok((a, [])) => Some(a),
            _ => None,
        }
    }

    /// The op's name, `"?"` when unknown to this build.
    pub fn name(&self) -> &'static str {
        crate::ops::ALL
            .table()
            .find(self.op)
            .map_or("?", |(_, r)| r.name)
    }

    /// Output 0.
    pub fn output(&self) -> usize {
        self.outputs.first().copied().unwrap_or(ABSENT_INPUT)
    }
}

/// The postcard bytes of `attrs`.
pub fn encode_attrs<T: Serialize>(attrs: &T) -> Result<Vec<u8>> {
    postcard::to_allocvec(attrs).map_err(|_| bad("attributes do not serialize"))
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
            state: false,
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
            state: false,
        }))
    }

    /// Adds a state tensor (zero at start, kept across invokes; ops write it by listing it
    /// as an output with [`Graph::add_op_into`]); returns its id.
    pub fn add_state(&mut self, name: &str, dtype: DType, dims: &[usize]) -> Result<usize> {
        Ok(self.push(TensorSpec {
            name: name.to_string(),
            dtype,
            shape: Shape::new(dims)?,
            quant: QuantSpec::None,
            data: None,
            state: true,
        }))
    }

    fn operand(&self, id: usize) -> Result<Operand<'_>> {
        let t = self.tensors.get(id).ok_or(Error::IndexOutOfRange {
            op: "graph",
            what: "tensor id",
            index: id,
            len: self.tensors.len(),
        })?;
        Ok(Operand {
            dtype: t.dtype,
            shape: t.shape,
            quant: t.quant.stored(),
            data: t.data.as_deref(),
        })
    }

    /// Runs op `id`'s `prepare` on `inputs` (with the quantization of existing `outputs`
    /// where given): the output element types and shapes it declares.
    fn infer(
        &self,
        id: u16,
        attrs: &[u8],
        inputs: &[usize],
        outputs: &[Option<usize>],
    ) -> Result<Vec<(DType, Shape)>> {
        let (_, reg): (usize, &OpReg) =
            crate::ops::ALL
                .table()
                .find(id)
                .ok_or(Error::Model(super::ModelError::UnknownOp {
                    op: self.ops.len(),
                    id,
                }))?;
        let (n_in, n_out) = (inputs.len(), outputs.len());
        let arity = |(lo, hi): (usize, usize), n: usize, max: usize| n >= lo && n <= hi.min(max);
        if !arity(reg.inputs, n_in, MAX_INPUTS) {
            return Err(Error::Model(super::ModelError::Arity {
                op: self.ops.len(),
                kind: reg.name,
                min: reg.inputs.0,
                max: reg.inputs.1.min(MAX_INPUTS),
                got: n_in,
            }));
        }
        if !arity(reg.outputs, n_out, MAX_OUTPUTS) {
            return Err(Error::Model(super::ModelError::Outputs {
                op: self.ops.len(),
                kind: reg.name,
                min: reg.outputs.0,
                max: reg.outputs.1.min(MAX_OUTPUTS),
                got: n_out,
            }));
        }
        let ins = inputs
            .iter()
            .map(|&i| {
                if i == ABSENT_INPUT {
                    Ok(None)
                } else {
                    self.operand(i).map(Some)
                }
            })
            .collect::<Result<Vec<_>>>()?;
        let mut outs = outputs
            .iter()
            .map(|o| {
                Ok(OutSlot {
                    quant: match o {
                        Some(i) => Some(self.operand(*i)?.quant),
                        None => None,
                    },
                    declared: None,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let mut cx = Prepare {
            op: self.ops.len(),
            name: reg.name,
            ins: &ins,
            outs: &mut outs,
            scratch: 0,
        };
        (reg.prepare)(attrs, &mut cx)?;
        outs.iter()
            .map(|o| o.declared.ok_or(bad("op did not declare every output")))
            .collect()
    }

    /// Appends op `O` with `attrs` reading `inputs` ([`ABSENT_INPUT`] for a missing
    /// optional one), with a new output tensor `name` whose element type and shape follow
    /// from the op's rules; returns the output's id. The op's rules are checked here as the
    /// loader will.
    pub fn add_op<O: Op>(
        &mut self,
        attrs: O::Attrs,
        inputs: &[usize],
        name: &str,
    ) -> Result<usize> {
        let ids = self.add_op_multi::<O>(attrs, inputs, &[name])?;
        ids.first().copied().ok_or(bad("op has no output"))
    }

    /// [`Graph::add_op`] for an op with several outputs, one new tensor per name.
    pub fn add_op_multi<O: Op>(
        &mut self,
        attrs: O::Attrs,
        inputs: &[usize],
        names: &[&str],
    ) -> Result<Vec<usize>> {
        self.add_raw(O::ID, encode_attrs(&attrs)?, inputs, names)
    }

    /// Appends op `O` writing existing tensors `outputs` (state tensors).
    pub fn add_op_into<O: Op>(
        &mut self,
        attrs: O::Attrs,
        inputs: &[usize],
        outputs: &[usize],
    ) -> Result<()> {
        let attrs = encode_attrs(&attrs)?;
        let outs: Vec<Option<usize>> = outputs.iter().map(|&o| Some(o)).collect();
        let declared = self.infer(O::ID, &attrs, inputs, &outs)?;
        for (&o, (dtype, shape)) in outputs.iter().zip(declared) {
            let t = &self.tensors[o];
            if !t.state {
                return Err(bad("ops write existing tensors only when they are state"));
            }
            if t.dtype != dtype || t.shape != shape {
                return Err(bad("the op's output does not match the state tensor"));
            }
        }
        self.ops.push(OpSpec {
            op: O::ID,
            attrs,
            inputs: inputs.to_vec(),
            outputs: outputs.to_vec(),
        });
        Ok(())
    }

    /// Appends op `id` with encoded `attrs` and one new output per name (what copying an
    /// op from another graph needs); returns the output ids.
    pub fn add_raw(
        &mut self,
        id: u16,
        attrs: Vec<u8>,
        inputs: &[usize],
        names: &[&str],
    ) -> Result<Vec<usize>> {
        let declared = self.infer(id, &attrs, inputs, &vec![None; names.len()])?;
        let outputs = names
            .iter()
            .zip(declared)
            .map(|(name, (dtype, shape))| {
                self.push(TensorSpec {
                    name: name.to_string(),
                    dtype,
                    shape,
                    quant: QuantSpec::None,
                    data: None,
                    state: false,
                })
            })
            .collect::<Vec<_>>();
        self.ops.push(OpSpec {
            op: id,
            attrs,
            inputs: inputs.to_vec(),
            outputs: outputs.clone(),
        });
        Ok(outputs)
    }

    /// Appends a [`Reshape`](crate::ops::reshape::Reshape) of `x` to `dims`; returns the
    /// output's id.
    pub fn add_reshape(&mut self, x: usize, dims: &[usize], name: &str) -> Result<usize> {
        let shape = Dims::from_shape(&Shape::new(dims)?).ok_or(Error::Overflow { op: "graph" })?;
        let attrs = crate::ops::reshape::ReshapeAttrs { shape };
        self.add_op::<crate::ops::reshape::Reshape>(attrs, &[x], name)
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
            for &i in op.inputs.iter().filter(|&&i| i != ABSENT_INPUT) {
                readers[i] += 1;
            }
        }
        let mut producer = vec![usize::MAX; self.tensors.len()];
        for (i, op) in self.ops.iter().enumerate() {
            for &o in &op.outputs {
                producer[o] = i;
            }
        }
        let mut keep = vec![true; self.ops.len()];
        #[allow(clippy::needless_range_loop)] // the loop edits other ops than `j`
        for j in 0..self.ops.len() {
            let fused = match self.ops[j].attrs::<crate::ops::activation::Activation>() {
                Some(a @ (Activation::Relu | Activation::Relu6)) => a,
                _ => continue,
            };
            let t = self.ops[j].inputs[0];
            let p = producer[t];
            if p == usize::MAX
                || readers[t] != 1
                || self.outputs.contains(&t)
                || self.tensors[t].state
                || self.tensors[self.ops[j].output()].state
            {
                continue;
            }
            let fused_out = self.ops[j].outputs[0];
            let spec = &mut self.ops[p];
            if let Some(mut a) = spec.attrs::<FullyConnected>().filter(|a| a.act.is_none()) {
                a.act = Some(fused);
                spec.attrs = encode_attrs(&a)?;
            } else if let Some(mut a) = spec.attrs::<Conv2d>().filter(|a| a.act.is_none()) {
                a.act = Some(fused);
                spec.attrs = encode_attrs(&a)?;
            } else {
                continue;
            }
            spec.outputs[0] = fused_out;
            producer[fused_out] = p;
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
            for &i in op.inputs.iter().chain(&op.outputs) {
                if i != ABSENT_INPUT {
                    used[i] = true;
                }
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
            for i in op.inputs.iter_mut().chain(op.outputs.iter_mut()) {
                if *i != ABSENT_INPUT {
                    *i = new_id[*i];
                }
            }
        }
        for i in self.inputs.iter_mut().chain(self.outputs.iter_mut()) {
            *i = new_id[*i];
        }
    }

    /// The activation tensors (graph inputs and op outputs, not state) with their
    /// lifetimes, in tensor id order, for a memory planner.
    pub fn lifetimes(&self) -> Result<Vec<Lifetime>> {
        let n_ops = self.ops.len();
        let mut first = vec![None::<usize>; self.tensors.len()];
        let mut last = vec![0usize; self.tensors.len()];
        for &i in &self.inputs {
            first[i] = Some(0);
        }
        for (i, op) in self.ops.iter().enumerate() {
            for &x in op.inputs.iter().filter(|&&x| x != ABSENT_INPUT) {
                last[x] = last[x].max(i + 1);
            }
            for &o in &op.outputs {
                if self.tensors[o].state {
                    continue;
                }
                if first[o].replace(i + 1).is_some() {
                    return Err(bad("a tensor is written twice"));
                }
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
            let size = t
                .shape
                .checked_numel()
                .ok()
                .and_then(|n| n.checked_mul(t.dtype.size()))
                .ok_or(Error::Overflow { op: "graph" })?;
            list.push(Lifetime {
                tensor: id,
                size,
                first: f,
                last: last[id].max(f),
                reuse_of: None,
            });
        }
        let table = crate::ops::ALL.table();
        for (i, op) in self.ops.iter().enumerate() {
            let (Some(&src), Some(&dst)) = (op.inputs.first(), op.outputs.first()) else {
                continue;
            };
            if src == ABSENT_INPUT {
                continue;
            }
            let in_place = table.find(op.op).is_some_and(|(_, r)| r.in_place);
            let (s, d) = (slot[src], slot[dst]);
            if in_place
                && s != usize::MAX
                && d != usize::MAX
                && list[s].last == i + 1
                && list[d].size <= list[s].size
            {
                list[d].reuse_of = Some(s);
            }
        }
        for (id, t) in self.tensors.iter().enumerate() {
            if first[id].is_none() && t.data.is_none() && !t.state {
                return Err(bad(
                    "a tensor is neither constant, state, input nor written by an op",
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
            weights.resize(weights.len().div_ceil(WEIGHT_ALIGN) * WEIGHT_ALIGN, 0);
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
        let mut state_len = 0usize;
        for (id, t) in self.tensors.iter().enumerate() {
            if t.state {
                arena_of[id] = Some(Storage::State {
                    offset: u32_of(state_len)?,
                });
                let bytes = t.shape.numel() * t.dtype.size();
                state_len = state_len
                    .checked_add(bytes.div_ceil(ALIGN) * ALIGN)
                    .ok_or(Error::Overflow { op: "graph" })?;
            }
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
            let ids = |list: &[usize]| -> Result<Vec<u8>> {
                let mut v = Vec::with_capacity(4 * list.len());
                for &i in list {
                    let id = if i == ABSENT_INPUT {
                        ABSENT
                    } else {
                        u32_of(i)?
                    };
                    v.extend_from_slice(&id.to_le_bytes());
                }
                Ok(v)
            };
            let (inputs, outputs) = (ids(&op.inputs)?, ids(&op.outputs)?);
            let def = OpDef {
                op: op.op,
                attrs: &op.attrs,
                inputs: &inputs,
                outputs: &outputs,
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
            state_len: u32_of(state_len)?,
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
                file.resize(file.len().div_ceil(WEIGHT_ALIGN) * WEIGHT_ALIGN, 0);
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
                    Storage::Arena { .. } | Storage::State { .. } => None,
                },
                state: matches!(t.storage, Storage::State { .. }),
            });
        }
        g.inputs = m.inputs().iter().map(|&i| i as usize).collect();
        g.outputs = m.outputs().iter().map(|&i| i as usize).collect();
        for i in 0..m.n_ops() {
            let d = m.op(i)?;
            let id = |x: u32| {
                if x == ABSENT {
                    ABSENT_INPUT
                } else {
                    x as usize
                }
            };
            g.ops.push(OpSpec {
                op: d.op,
                attrs: d.attrs.to_vec(),
                inputs: d.input_ids().map(id).collect(),
                outputs: d.output_ids().map(id).collect(),
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

/// Where the encoder places the Weights section and each constant in it: on cache-line
/// (64-byte) boundaries, a multiple of the format's 16. Loaded from an [`AlignedBytes`] copy
/// (64-aligned), every weight tensor then starts a cache line, so the 32-byte AVX2 loads of
/// a GEMV never straddle two (which costs about 20 % on the MNIST MLP's 784 x 128 layer).
const WEIGHT_ALIGN: usize = 64;

/// One cache line of bytes at a 64-byte aligned address.
#[derive(Clone, Copy, Debug, bytemuck::Pod, bytemuck::Zeroable)]
#[repr(C, align(64))]
struct Chunk([u8; 64]);

/// Bytes at a 64-byte (cache-line) aligned address, which covers the 16 that
/// [`Model::from_bytes`] needs (a `Vec<u8>` only promises alignment 1). Dereferences to
/// `[u8]`.
#[derive(Clone, Debug, Default)]
pub struct AlignedBytes {
    chunks: Vec<Chunk>,
    len: usize,
}

impl AlignedBytes {
    /// An aligned copy of `bytes`.
    pub fn from_slice(bytes: &[u8]) -> AlignedBytes {
        let line = core::mem::size_of::<Chunk>();
        let mut chunks = vec![<Chunk as bytemuck::Zeroable>::zeroed(); bytes.len().div_ceil(line)];
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
