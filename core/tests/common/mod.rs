//! Valid models to corrupt, and a small re-encoder that edits one record of a `.born` file,
//! rebuilds the section table and recomputes the CRC so that a deeper check is what fires.

#![allow(dead_code)]

use born_core::backend::Cpu;
use born_core::kernels::activation::Activation;
use born_core::kernels::conv::Conv2d as Geometry;
use born_core::kernels::elementwise::BinaryOp;
use born_core::kernels::pool::Pool2d;
use born_core::model::format::{
    Meta, OpDef, TensorDef, ALIGN, CRC_LEN, MAGIC, PREAMBLE_LEN, VERSION,
};
use born_core::model::graph::{AlignedBytes, Graph, QuantSpec};
use born_core::nn::{self, Conv2d, Flatten, Linear, MaxPool2d, ReLU, Sequential};
use born_core::ops::activation::Activation as ActOp;
use born_core::ops::binary::Binary;
use born_core::ops::conv2d::{Conv2d as ConvOp, ConvAttrs};
use born_core::ops::fully_connected::{FcAttrs, FullyConnected};
use born_core::ops::q_add::{QAdd, QAddAttrs};
use born_core::ops::q_conv2d::{QConv2d, QConvAttrs};
use born_core::ops::q_fully_connected::{Clamp, QFullyConnected};
use born_core::ops::q_pool::{QAvgPool2d, QMaxPool2d};
use born_core::ops::q_softmax::{QSoftmax, QSoftmaxAttrs};
use born_core::ops::quantize::{Dequantize, Quantize};
use born_core::{DType, Error, Model, ModelError, Rng};

/// Index of each section in the preamble's table.
pub const META: usize = 0;
pub const TENSOR_INDEX: usize = 1;
pub const TENSORS: usize = 2;
pub const OP_INDEX: usize = 3;
pub const OPS: usize = 4;
pub const WEIGHTS: usize = 5;

/// Encodes `g` with a plan that gives every activation its own bytes.
pub fn encode(g: &Graph) -> AlignedBytes {
    let (offsets, len) = g.naive_plan().unwrap();
    AlignedBytes::from_slice(&g.encode(&offsets, len).unwrap())
}

/// `x [2,4]` -> FullyConnected(`W [3,4]`, `b [3]`) -> `y [2,3]` -> ReLU -> `z [2,3]`.
/// Ids: x 0, W 1, b 2, y 3, z 4. Naive plan: x @0 (32 B), y @32, z @64, arena 96; weights:
/// W @0 (48 B), b @48 (12 B), 60 bytes.
pub fn fc_graph() -> Graph {
    let mut g = Graph::new("fc", "corrupt test");
    let x = g.add_input("x", DType::F32, &[2, 4]).unwrap();
    let w: Vec<f32> = (0..12).map(|i| i as f32 * 0.1 - 0.5).collect();
    let w = g.add_const("W", &[3, 4], &w).unwrap();
    let b = g.add_const("b", &[3], &[0.1f32, -0.2, 0.3]).unwrap();
    let y = g
        .add_op::<FullyConnected>(FcAttrs::default(), &[x, w, b], "y")
        .unwrap();
    let z = g.add_op::<ActOp>(Activation::Relu, &[y], "z").unwrap();
    g.mark_output(z).unwrap();
    g
}

/// `x [1,2,5,5]` -> Conv2d(`W [4,2,3,3]`, stride 1, groups 1) -> `y [1,4,3,3]` (output).
/// Ids: x 0, W 1, y 2.
pub fn conv_graph() -> Graph {
    let mut g = Graph::new("conv", "corrupt test");
    let x = g.add_input("x", DType::F32, &[1, 2, 5, 5]).unwrap();
    let w: Vec<f32> = (0..72).map(|i| (i % 7) as f32 * 0.1).collect();
    let w = g.add_const("W", &[4, 2, 3, 3], &w).unwrap();
    let op = ConvAttrs {
        conv: Geometry::default(),
        act: None,
    };
    let y = g.add_op::<ConvOp>(op, &[x, w], "y").unwrap();
    g.mark_output(y).unwrap();
    g
}

/// `a [2,3] + b [2,3]` -> `c` (output). Ids: a 0, b 1, c 2.
pub fn add_graph() -> Graph {
    let mut g = Graph::new("add", "corrupt test");
    let a = g.add_input("a", DType::F32, &[2, 3]).unwrap();
    let b = g.add_input("b", DType::F32, &[2, 3]).unwrap();
    let c = g.add_op::<Binary>(BinaryOp::Add, &[a, b], "c").unwrap();
    g.mark_output(c).unwrap();
    g
}

/// An int8 graph: `x f32 [1,4]` -> Quantize -> `q i8` -> QFullyConnected(`W i8 [3,4]`
/// per-channel, bias i32, multipliers, shifts) -> `o i8 [1,3]` -> Dequantize -> `f` (output).
/// Ids: x 0, q 1, W 2, bias 3, mult 4, shift 5, o 6, f 7.
pub fn int8_graph() -> Graph {
    let mut g = Graph::new("int8", "corrupt test");
    let x = g.add_input("x", DType::F32, &[1, 4]).unwrap();
    let q = g.add_op::<Quantize>((), &[x], "q").unwrap();
    g.tensors[q].quant = QuantSpec::PerTensor {
        scale: 0.05,
        zero_point: 3,
    };
    let w: Vec<i8> = (0..12).map(|i| i as i8 * 9 - 50).collect();
    let w = g.add_const("W", &[3, 4], &w).unwrap();
    g.tensors[w].quant = QuantSpec::PerChannel {
        axis: 0,
        scales: vec![0.01, 0.02, 0.03],
    };
    let bias = g.add_const("bias", &[3], &[10i32, -20, 30]).unwrap();
    let mult = g.add_const("mult", &[3], &[1i32 << 30; 3]).unwrap();
    let shift = g.add_const("shift", &[3], &[-5i32; 3]).unwrap();
    let op = Clamp {
        act_min: -128,
        act_max: 127,
    };
    let o = g
        .add_op::<QFullyConnected>(op, &[q, w, bias, mult, shift], "o")
        .unwrap();
    g.tensors[o].quant = QuantSpec::PerTensor {
        scale: 0.1,
        zero_point: -2,
    };
    let f = g.add_op::<Dequantize>((), &[o], "f").unwrap();
    g.mark_output(f).unwrap();
    g
}

/// A small CNN exported from nn modules (every section non-empty).
pub fn small_cnn_graph(seed: u64) -> Graph {
    let mut rng = Rng::seed(seed);
    let m: Sequential<Cpu> = Sequential::new()
        .push(Conv2d::new(1, 4, 3, &Cpu, &mut rng).unwrap().padding(1))
        .push(ReLU)
        .push(MaxPool2d::new(2))
        .push(Flatten)
        .push(Linear::new(4 * 4 * 4, 10, &Cpu, &mut rng).unwrap());
    nn::to_graph(&m, &Cpu, "cnn", &[1, 1, 8, 8]).unwrap()
}

/// A small MLP exported from nn modules.
pub fn small_mlp_graph(seed: u64) -> Graph {
    let mut rng = Rng::seed(seed);
    let m: Sequential<Cpu> = Sequential::new()
        .push(Linear::new(16, 12, &Cpu, &mut rng).unwrap())
        .push(ReLU)
        .push(Linear::new(12, 5, &Cpu, &mut rng).unwrap());
    nn::to_graph(&m, &Cpu, "mlp", &[1, 16]).unwrap()
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().unwrap())
}

/// `[offset, len]` of section `s` as the preamble of `bytes` lists it.
pub fn section_range(bytes: &[u8], s: usize) -> [usize; 2] {
    [
        u32_at(bytes, 12 + 8 * s) as usize,
        u32_at(bytes, 16 + 8 * s) as usize,
    ]
}

/// Writes `v` at byte `at` (little-endian).
pub fn put_u32(bytes: &mut [u8], at: usize, v: u32) {
    bytes[at..at + 4].copy_from_slice(&v.to_le_bytes());
}

/// Recomputes the trailing CRC of `bytes` in place.
pub fn fix_crc(bytes: &mut [u8]) {
    let body = bytes.len() - CRC_LEN;
    let crc = crc32fast::hash(&bytes[..body]);
    bytes[body..].copy_from_slice(&crc.to_le_bytes());
}

/// A `.born` file taken apart into its six sections.
#[derive(Clone, Debug)]
pub struct Parts {
    /// Section contents, in preamble order.
    pub sections: [Vec<u8>; 6],
    /// Extra bytes put before the weights section after aligning it (1 misaligns it).
    pub weights_skew: usize,
}

impl Parts {
    /// The sections of a valid file.
    pub fn parse(bytes: &[u8]) -> Parts {
        let sections = core::array::from_fn(|s| {
            let [off, len] = section_range(bytes, s);
            bytes[off..off + len].to_vec()
        });
        Parts {
            sections,
            weights_skew: 0,
        }
    }

    /// Lays the sections out as `Graph::encode` does and appends the CRC.
    pub fn build(&self) -> AlignedBytes {
        let mut file = vec![0u8; PREAMBLE_LEN];
        let mut table = [[0u32; 2]; 6];
        for (s, part) in self.sections.iter().enumerate() {
            if s == WEIGHTS {
                file.resize(file.len().div_ceil(ALIGN) * ALIGN + self.weights_skew, 0);
            }
            table[s] = [file.len() as u32, part.len() as u32];
            file.extend_from_slice(part);
        }
        file[0..4].copy_from_slice(&MAGIC);
        file[4..6].copy_from_slice(&VERSION.to_le_bytes());
        let file_len = (file.len() + CRC_LEN) as u32;
        put_u32(&mut file, 8, file_len);
        for (s, [off, len]) in table.iter().enumerate() {
            put_u32(&mut file, 12 + 8 * s, *off);
            put_u32(&mut file, 16 + 8 * s, *len);
        }
        file.extend_from_slice(&[0; CRC_LEN]);
        fix_crc(&mut file);
        AlignedBytes::from_slice(&file)
    }

    /// The raw records of the table whose index is section `index` (data follows it).
    pub fn records(&self, index: usize) -> Vec<Vec<u8>> {
        let idx = &self.sections[index];
        let data = &self.sections[index + 1];
        let starts: Vec<usize> = idx
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes(c.try_into().unwrap()) as usize)
            .collect();
        (0..starts.len())
            .map(|k| {
                let end = starts.get(k + 1).copied().unwrap_or(data.len());
                data[starts[k]..end].to_vec()
            })
            .collect()
    }

    /// Replaces the table whose index is section `index` by `records`, rebuilding the index.
    pub fn set_records(&mut self, index: usize, records: &[Vec<u8>]) {
        let mut idx = Vec::new();
        let mut data = Vec::new();
        for r in records {
            idx.extend_from_slice(&(data.len() as u32).to_le_bytes());
            data.extend_from_slice(r);
        }
        self.sections[index] = idx;
        self.sections[index + 1] = data;
    }

    /// Decodes the meta record, lets `f` edit it, and re-encodes it.
    pub fn edit_meta(&mut self, f: impl FnOnce(&mut Meta<'_>)) {
        let raw = self.sections[META].clone();
        let mut m: Meta<'_> = postcard::from_bytes(&raw).unwrap();
        f(&mut m);
        self.sections[META] = postcard::to_allocvec(&m).unwrap();
    }

    /// Decodes tensor record `id`, lets `f` edit it, and re-encodes it.
    pub fn edit_tensor(&mut self, id: usize, f: impl FnOnce(&mut TensorDef<'_>)) {
        let mut recs = self.records(TENSOR_INDEX);
        let raw = recs[id].clone();
        let mut t: TensorDef<'_> = postcard::from_bytes(&raw).unwrap();
        f(&mut t);
        recs[id] = postcard::to_allocvec(&t).unwrap();
        self.set_records(TENSOR_INDEX, &recs);
    }

    /// Decodes op record `i`, lets `f` edit it, and re-encodes it.
    pub fn edit_op(&mut self, i: usize, f: impl FnOnce(&mut OwnedOp)) {
        let mut recs = self.records(OP_INDEX);
        let raw = recs[i].clone();
        let d: OpDef<'_> = postcard::from_bytes(&raw).unwrap();
        let mut o = OwnedOp {
            op: d.op,
            attrs: d.attrs.to_vec(),
            inputs: d.input_ids().collect(),
            outputs: d.output_ids().collect(),
        };
        f(&mut o);
        let le = |v: &[u32]| v.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<u8>>();
        let (ins, outs) = (le(&o.inputs), le(&o.outputs));
        let d = OpDef {
            op: o.op,
            attrs: &o.attrs,
            inputs: &ins,
            outputs: &outs,
        };
        recs[i] = postcard::to_allocvec(&d).unwrap();
        self.set_records(OP_INDEX, &recs);
    }

    /// Appends tensor record `t` and counts it in the meta record.
    pub fn push_tensor(&mut self, t: &TensorDef<'_>) {
        let mut recs = self.records(TENSOR_INDEX);
        recs.push(postcard::to_allocvec(t).unwrap());
        self.set_records(TENSOR_INDEX, &recs);
        self.edit_meta(|m| m.n_tensors += 1);
    }
}

/// `bytes` with tensor `id` edited by `f` (CRC recomputed).
pub fn with_tensor(bytes: &[u8], id: usize, f: impl FnOnce(&mut TensorDef<'_>)) -> AlignedBytes {
    let mut p = Parts::parse(bytes);
    p.edit_tensor(id, f);
    p.build()
}

/// An op record as owned, editable values.
#[derive(Clone, Debug, PartialEq)]
pub struct OwnedOp {
    /// Op id.
    pub op: u16,
    /// Postcard attribute bytes.
    pub attrs: Vec<u8>,
    /// Input tensor ids.
    pub inputs: Vec<u32>,
    /// Output tensor ids.
    pub outputs: Vec<u32>,
}

/// `bytes` with op `i` edited by `f` (CRC recomputed).
pub fn with_op(bytes: &[u8], i: usize, f: impl FnOnce(&mut OwnedOp)) -> AlignedBytes {
    let mut p = Parts::parse(bytes);
    p.edit_op(i, f);
    p.build()
}

/// `bytes` with the meta record edited by `f` (CRC recomputed).
pub fn with_meta(bytes: &[u8], f: impl FnOnce(&mut Meta<'_>)) -> AlignedBytes {
    let mut p = Parts::parse(bytes);
    p.edit_meta(f);
    p.build()
}

/// The [`ModelError`] loading `bytes` gives; panics (failing the test) if it loads or
/// fails otherwise.
pub fn model_err(bytes: &[u8]) -> ModelError {
    match Model::from_bytes(bytes) {
        Err(Error::Model(e)) => e,
        Err(e) => panic!("expected a ModelError, got {e:?}"),
        Ok(_) => panic!("corrupted model was accepted"),
    }
}

/// Checks that `g` with kind `op`'s inputs `ins` is what the loader calls valid (a sanity
/// check that a base model loads).
pub fn assert_loads(bytes: &[u8]) {
    if let Err(e) = Model::from_bytes(bytes) {
        panic!("base model does not load: {e:?}");
    }
}

/// Name of op id `id`, as errors report it.
pub fn kind(id: u16) -> &'static str {
    born_core::ops::ALL
        .table()
        .find(id)
        .map_or("?", |(_, r)| r.name)
}

fn per_tensor(g: &mut Graph, id: usize, scale: f32, zero_point: i32) {
    g.tensors[id].quant = QuantSpec::PerTensor { scale, zero_point };
}

/// Every int8 op kind in one chain: `x f32 [1,2,4,4]` -> Quantize `q` -> QConv2d (pad 1)
/// `c` -> QMaxPool2d (2x2) `p` -> QAvgPool2d (1x1) `v` -> QAdd(p, v) `a` -> QSoftmax `s`
/// -> Dequantize `f` (output). Ids: x 0, q 1, W 2, bias 3, mult 4, shift 5, c 6, p 7, v 8,
/// a 9, s 10, f 11.
pub fn int8_ops_graph() -> Graph {
    let mut g = Graph::new("int8-ops", "corrupt test");
    let x = g.add_input("x", DType::F32, &[1, 2, 4, 4]).unwrap();
    let q = g.add_op::<Quantize>((), &[x], "q").unwrap();
    per_tensor(&mut g, q, 0.05, 0);
    let w: Vec<i8> = (0..36).map(|i| (i * 7 % 19) as i8 - 9).collect();
    let w = g.add_const("W", &[2, 2, 3, 3], &w).unwrap();
    per_tensor(&mut g, w, 0.01, 0);
    let bias = g.add_const("bias", &[2], &[5i32, -5]).unwrap();
    let mult = g.add_const("mult", &[2], &[1i32 << 30; 2]).unwrap();
    let shift = g.add_const("shift", &[2], &[-3i32; 2]).unwrap();
    let op = QConvAttrs {
        conv: Geometry {
            padding: [1; 4],
            ..Geometry::default()
        },
        clamp: Clamp {
            act_min: -128,
            act_max: 127,
        },
    };
    let c = g
        .add_op::<QConv2d>(op, &[q, w, bias, mult, shift], "c")
        .unwrap();
    per_tensor(&mut g, c, 0.1, 1);
    let pool = |k: usize| Pool2d {
        kernel: [k, k],
        stride: [k, k],
        padding: [0; 4],
        dilation: [1, 1],
        ceil_mode: false,
        count_include_pad: false,
    };
    let p = g.add_op::<QMaxPool2d>(pool(2), &[c], "p").unwrap();
    per_tensor(&mut g, p, 0.1, 1);
    let v = g.add_op::<QAvgPool2d>(pool(1), &[p], "v").unwrap();
    per_tensor(&mut g, v, 0.1, 1);
    let add = QAddAttrs {
        left_shift: 20,
        input1_multiplier: 1 << 30,
        input1_shift: -1,
        input2_multiplier: 1 << 30,
        input2_shift: -1,
        output_multiplier: 1 << 30,
        output_shift: -18,
        act_min: -128,
        act_max: 127,
    };
    let a = g.add_op::<QAdd>(add, &[p, v], "a").unwrap();
    per_tensor(&mut g, a, 0.2, 0);
    let sm = QSoftmaxAttrs {
        beta_multiplier: 1 << 30,
        beta_left_shift: 20,
        diff_min: -100,
    };
    let s = g.add_op::<QSoftmax>(sm, &[a], "s").unwrap();
    per_tensor(&mut g, s, 1.0 / 256.0, -128);
    let f = g.add_op::<Dequantize>((), &[s], "f").unwrap();
    g.mark_output(f).unwrap();
    g
}
