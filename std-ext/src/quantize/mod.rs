//! Post-training int8 quantization with TFLite's int8 scheme.
//!
//! - Weights: int8, symmetric, one scale per output channel (`max|w_c| / 127`, values in
//!   `[-127, 127]`).
//! - Activations: int8, asymmetric, one scale and zero point per tensor, from calibration
//!   ranges ([`Method::MinMax`], or [`Method::Percentile`] which clips outliers).
//! - Bias: int32 with scale `input_scale * weight_scale[c]` and zero point 0.
//! - Requantization: fixed-point multiplier and shift per output channel
//!   ([`born_core::quant::quantize_multiplier`]); a fused ReLU/ReLU6 becomes the output
//!   clamp.
//! - Pooling and reshapes keep their input's parameters; softmax outputs scale 1/256, zero
//!   point -128.
//!
//! Ops without an int8 kernel stay f32 between a `Dequantize` and a `Quantize`, and the
//! quantized model keeps the f32 interface (f32 in, f32 out), so it is a drop-in
//! replacement.

mod calibrate;
pub mod calibration;

use crate::error::{Error, Result};
use born_core::kernels::activation::Activation;
use born_core::kernels::elementwise::BinaryOp;
use born_core::kernels::int8::{AddParams, SoftmaxParams};
use born_core::model::graph::OpSpec;
use born_core::model::graph::{Graph, QuantSpec, TensorSpec, ABSENT_INPUT};
use born_core::ops::binary::Binary;
use born_core::ops::conv2d::Conv2d;
use born_core::ops::fully_connected::FullyConnected;
use born_core::ops::pool::{AvgPool2d, MaxPool2d};
use born_core::ops::q_add::{QAdd, QAddAttrs};
use born_core::ops::q_conv2d::{QConv2d, QConvAttrs};
use born_core::ops::q_fully_connected::{Clamp, QFullyConnected};
use born_core::ops::q_pool::{QAvgPool2d, QMaxPool2d};
use born_core::ops::q_softmax::{QSoftmax, QSoftmaxAttrs};
use born_core::ops::quantize::{Dequantize, Quantize};
use born_core::ops::reshape::Reshape;
use born_core::ops::softmax::Softmax;
use born_core::ops::Op;
use born_core::quant::{quantize_multiplier, QuantParams};
use born_core::DType;

/// How activation ranges are chosen from calibration data.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Method {
    /// The observed minimum and maximum.
    MinMax,
    /// The central `p` percent of observed values (e.g. 99.99), clipping rare outliers.
    Percentile(f32),
}

/// What the quantizer did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Report {
    /// Ops that run in int8.
    pub int8_ops: usize,
    /// Ops left in f32 (no int8 kernel), plus the quantize/dequantize ops at the borders.
    pub f32_ops: usize,
    /// Calibration inputs run.
    pub samples: usize,
}

/// The int8 version of f32 graph `g`, calibrated on `samples` (whole inputs of graph input
/// 0, back to back). `progress(done, total)` is called during calibration.
pub fn quantize(
    g: &Graph,
    samples: &[f32],
    method: Method,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<(Graph, Report)> {
    if let Method::Percentile(p) = method {
        if !(50.0..=100.0).contains(&p) {
            return Err(Error::Invalid(format!("percentile {p} outside 50..=100")));
        }
    }
    let ranges = calibrate::ranges(g, samples, method, progress)?;
    let per = g.tensors[g.inputs[0]].shape.numel().max(1);
    rewrite(g, ranges, vec![None; g.tensors.len()], samples.len() / per)
}

/// The int8 version of f32 graph `g` whose activations already carry their int8
/// parameters: each f32 tensor's `quant` (a [`QuantSpec::PerTensor`]) is the scale and zero
/// point its int8 version uses, as an imported QDQ model states them. No calibration runs;
/// an activation an int8 op needs without parameters is an error naming it.
pub fn quantize_with_params(g: &Graph) -> Result<(Graph, Report)> {
    let mut params = vec![None; g.tensors.len()];
    let mut plain = g.clone();
    for (t, p) in plain.tensors.iter_mut().zip(params.iter_mut()) {
        if let QuantSpec::PerTensor { scale, zero_point } = t.quant {
            if t.dtype == DType::F32 {
                if !(scale.is_finite() && scale > 0.0 && (-128..=127).contains(&zero_point)) {
                    return Err(Error::Invalid(format!(
                        "tensor {}: int8 parameters scale {scale}, zero point {zero_point} are \
                         out of range",
                        t.name
                    )));
                }
                *p = Some(QuantParams { scale, zero_point });
                t.quant = QuantSpec::None;
            }
        }
    }
    rewrite(&plain, vec![None; g.tensors.len()], params, 0)
}

/// Rewrites `g` into int8 with activation parameters from `params` where set, else from
/// calibrated `ranges`.
fn rewrite(
    g: &Graph,
    ranges: Vec<Option<(f32, f32)>>,
    params: Vec<Option<QuantParams>>,
    samples: usize,
) -> Result<(Graph, Report)> {
    let mut r = Rewriter {
        src: g,
        dst: Graph::new(
            &g.name,
            concat!("born-std ", env!("CARGO_PKG_VERSION"), " quantize"),
        ),
        f: vec![None; g.tensors.len()],
        q: vec![None; g.tensors.len()],
        params,
        ranges,
        report: Report {
            samples,
            ..Report::default()
        },
    };
    for &i in &g.inputs {
        let t = &g.tensors[i];
        r.f[i] = Some(r.dst.add_input(&t.name, t.dtype, t.shape.dims())?);
    }
    for op in &g.ops {
        if op.outputs.len() != 1 || !r.int8(op)? {
            r.fallback(op)?;
        }
    }
    for &o in &g.outputs {
        let id = r.as_f(o)?;
        r.dst.tensors[id].name.clone_from(&g.tensors[o].name);
        r.dst.mark_output(id)?;
    }
    Ok((r.dst, r.report))
}

struct Rewriter<'g> {
    src: &'g Graph,
    dst: Graph,
    /// f32 version of each source tensor in `dst`.
    f: Vec<Option<usize>>,
    /// int8 version of each source tensor in `dst`.
    q: Vec<Option<usize>>,
    /// Quantization of each source tensor's int8 version.
    params: Vec<Option<QuantParams>>,
    ranges: Vec<Option<(f32, f32)>>,
    report: Report,
}

fn f32s(t: &TensorSpec) -> Option<Vec<f32>> {
    let d = t.data.as_ref()?;
    (t.dtype == DType::F32).then(|| {
        d.chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect()
    })
}

impl Rewriter<'_> {
    fn name(&self, t: usize, suffix: &str) -> String {
        format!("{}{suffix}", self.src.tensors[t].name)
    }

    /// Parameters for source tensor `t`'s int8 version (from calibration unless set).
    fn params_of(&mut self, t: usize) -> Result<QuantParams> {
        if let Some(p) = self.params[t] {
            return Ok(p);
        }
        let (lo, hi) = self.ranges.get(t).copied().flatten().ok_or_else(|| {
            Error::Invalid(format!(
                "tensor {} was not calibrated (and has no int8 parameters)",
                self.src.tensors[t].name
            ))
        })?;
        let p = QuantParams::from_min_max(lo, hi)?;
        self.params[t] = Some(p);
        Ok(p)
    }

    fn set_quant(&mut self, id: usize, p: QuantParams) {
        self.dst.tensors[id].quant = QuantSpec::PerTensor {
            scale: p.scale,
            zero_point: p.zero_point,
        };
    }

    /// The int8 version of source tensor `t`, quantizing its f32 version if needed.
    fn as_q(&mut self, t: usize) -> Result<usize> {
        if let Some(id) = self.q[t] {
            return Ok(id);
        }
        let p = self.params_of(t)?;
        let x = self.as_f(t)?;
        let id = self.dst.add_op::<Quantize>((), &[x], &self.name(t, "_q"))?;
        self.set_quant(id, p);
        self.report.f32_ops += 1;
        self.q[t] = Some(id);
        Ok(id)
    }

    /// The f32 version of source tensor `t` (constants are copied, int8 values dequantized).
    fn as_f(&mut self, t: usize) -> Result<usize> {
        if let Some(id) = self.f[t] {
            return Ok(id);
        }
        let id = if self.src.tensors[t].data.is_some() {
            self.dst.tensors.push(self.src.tensors[t].clone());
            self.dst.tensors.len() - 1
        } else {
            let q = self.q[t]
                .ok_or_else(|| Error::Invalid("tensor read before it is written".into()))?;
            self.report.f32_ops += 1;
            self.dst.add_op::<Dequantize>((), &[q], &self.name(t, ""))?
        };
        self.f[t] = Some(id);
        Ok(id)
    }

    /// Re-adds `op` in f32 (absent optional inputs stay absent).
    fn fallback(&mut self, op: &OpSpec) -> Result<()> {
        let ins = op
            .inputs
            .iter()
            .map(|&i| {
                if i == ABSENT_INPUT {
                    Ok(i)
                } else {
                    self.as_f(i)
                }
            })
            .collect::<Result<Vec<_>>>()?;
        let names: Vec<String> = op.outputs.iter().map(|&o| self.name(o, "")).collect();
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        let ids = self.dst.add_raw(op.op, op.attrs.clone(), &ins, &names)?;
        for (&o, id) in op.outputs.iter().zip(ids) {
            self.f[o] = Some(id);
        }
        self.report.f32_ops += 1;
        Ok(())
    }

    /// Adds the int8 form of `op` if it has one; false leaves it to [`Rewriter::fallback`].
    fn int8(&mut self, op: &OpSpec) -> Result<bool> {
        let src = self.src;
        let (inputs, out) = (&op.inputs[..], op.output());
        let is_f32 = |i: usize| i != ABSENT_INPUT && src.tensors[i].dtype == DType::F32;
        if !inputs.iter().chain([&out]).all(|&i| is_f32(i)) {
            return Ok(false);
        }
        // With preset parameters and no calibration (an imported QDQ model), an op whose
        // activations have no parameters stays f32.
        let known = |i: usize| src.tensors[i].data.is_some() || self.params[i].is_some();
        if self.report.samples == 0 && !inputs.iter().chain([&out]).all(|&i| known(i)) {
            return Ok(false);
        }
        // An int8 op reading input 0 with the input's own quantization (pools, reshape).
        fn same<Q: Op>(this: &mut Rewriter<'_>, a: Q::Attrs, x: usize, out: usize) -> Result<bool> {
            let xq = this.as_q(x)?;
            let p = this.params_of(x)?;
            this.params[out] = Some(p);
            let id = this.dst.add_op::<Q>(a, &[xq], &this.name(out, "_q"))?;
            this.set_quant(id, p);
            this.q[out] = Some(id);
            this.report.int8_ops += 1;
            Ok(true)
        }
        let x0 = inputs[0];
        let fc = op.attrs::<FullyConnected>().map(|a| (a.act, None));
        let conv = op.attrs::<Conv2d>().map(|a| (a.act, Some(a.conv)));
        if let Some((act, conv)) = fc.or(conv) {
            {
                let w = &src.tensors[inputs[1]];
                let Some(wf) = f32s(w) else { return Ok(false) };
                let bias = match inputs.get(2) {
                    Some(&b) => match f32s(&src.tensors[b]) {
                        Some(v) => Some((v, src.tensors[b].name.as_str())),
                        None => return Ok(false),
                    },
                    None => None,
                };
                let bias = bias.as_ref().map(|(v, n)| (v.as_slice(), *n));
                if !matches!(act, None | Some(Activation::Relu | Activation::Relu6)) {
                    return Ok(false);
                }
                self.weighted(conv, act, inputs[0], &wf, w, bias, out)?;
            }
        } else if let Some(a) = op.attrs::<MaxPool2d>() {
            return same::<QMaxPool2d>(self, a, x0, out);
        } else if let Some(a) = op.attrs::<AvgPool2d>() {
            return same::<QAvgPool2d>(self, a, x0, out);
        } else if let Some(a) = op.attrs::<Reshape>() {
            return same::<Reshape>(self, a, x0, out);
        } else if op
            .attrs::<Softmax>()
            .is_some_and(|a| a.axis == -1 || a.axis + 1 == src.tensors[x0].shape.rank() as i32)
        {
            {
                let x = self.as_q(inputs[0])?;
                let px = self.params_of(inputs[0])?;
                let sp = SoftmaxParams::new(1.0, px.scale)?;
                let qop = QSoftmaxAttrs {
                    beta_multiplier: sp.input_beta_multiplier,
                    beta_left_shift: sp.input_beta_left_shift,
                    diff_min: sp.diff_min,
                };
                let p = QuantParams {
                    scale: 1.0 / 256.0,
                    zero_point: -128,
                };
                self.params[out] = Some(p);
                let id = self
                    .dst
                    .add_op::<QSoftmax>(qop, &[x], &self.name(out, "_q"))?;
                self.set_quant(id, p);
                self.q[out] = Some(id);
            }
        } else if op.attrs::<Binary>() == Some(BinaryOp::Add)
            && src.tensors[x0].shape == src.tensors[out].shape
        {
            {
                let (a, b) = (self.as_q(inputs[0])?, self.as_q(inputs[1])?);
                let (pa, pb, po) = (
                    self.params_of(inputs[0])?,
                    self.params_of(inputs[1])?,
                    self.params_of(out)?,
                );
                let ap = AddParams::new(
                    pa.scale,
                    pa.zero_point,
                    pb.scale,
                    pb.zero_point,
                    po.scale,
                    po.zero_point,
                    -128,
                    127,
                )?;
                let qop = QAddAttrs {
                    left_shift: ap.left_shift,
                    input1_multiplier: ap.input1_multiplier,
                    input1_shift: ap.input1_shift,
                    input2_multiplier: ap.input2_multiplier,
                    input2_shift: ap.input2_shift,
                    output_multiplier: ap.output_multiplier,
                    output_shift: ap.output_shift,
                    act_min: -128,
                    act_max: 127,
                };
                let id = self
                    .dst
                    .add_op::<QAdd>(qop, &[a, b], &self.name(out, "_q"))?;
                self.set_quant(id, po);
                self.q[out] = Some(id);
            }
        } else {
            return Ok(false);
        }
        self.report.int8_ops += 1;
        Ok(true)
    }

    /// Fully connected or conv in int8: per-channel weights, int32 bias, requantization
    /// tables, fused activation as the output clamp.
    #[allow(clippy::too_many_arguments)]
    fn weighted(
        &mut self,
        conv: Option<born_core::kernels::conv::Conv2d>,
        act: Option<Activation>,
        x: usize,
        wf: &[f32],
        w: &TensorSpec,
        bias: Option<(&[f32], &str)>,
        out: usize,
    ) -> Result<()> {
        let xq = self.as_q(x)?;
        let px = self.params_of(x)?;
        let po = self.params_of(out)?;
        let channels = w.shape.dims()[0].max(1);
        let per = wf.len() / channels;
        let mut wq = vec![0i8; wf.len()];
        let mut scales = Vec::with_capacity(channels);
        for (row, qrow) in wf.chunks(per.max(1)).zip(wq.chunks_mut(per.max(1))) {
            let max_abs = row.iter().fold(0.0f32, |m, v| m.max(v.abs()));
            let s = QuantParams::symmetric(max_abs).scale;
            for (q, v) in qrow.iter_mut().zip(row) {
                *q = (v / s).round().clamp(-127.0, 127.0) as i8;
            }
            scales.push(s);
        }
        let mut mult = Vec::with_capacity(channels);
        let mut shift = Vec::with_capacity(channels);
        for &sw in &scales {
            let real = f64::from(px.scale) * f64::from(sw) / f64::from(po.scale);
            let (m, s) = quantize_multiplier(real)?;
            mult.push(m);
            shift.push(s);
        }
        let wname = &w.name;
        let wid = self
            .dst
            .add_const(&format!("{wname}_q"), w.shape.dims(), &wq)?;
        self.dst.tensors[wid].quant = QuantSpec::PerChannel {
            axis: 0,
            scales: scales.clone(),
        };
        let mut ins = vec![xq, wid];
        if let Some((b, bname)) = bias {
            let bq: Vec<i32> = b
                .iter()
                .zip(&scales)
                .map(|(&v, &sw)| {
                    let q = (f64::from(v) / (f64::from(px.scale) * f64::from(sw))).round();
                    q.clamp(f64::from(i32::MIN), f64::from(i32::MAX)) as i32
                })
                .collect();
            ins.push(
                self.dst
                    .add_const(&format!("{bname}_q"), &[channels], &bq)?,
            );
        }
        ins.push(
            self.dst
                .add_const(&format!("{wname}_multiplier"), &[channels], &mult)?,
        );
        ins.push(
            self.dst
                .add_const(&format!("{wname}_shift"), &[channels], &shift)?,
        );
        let (act_min, act_max) = clamp_of(act, po);
        let clamp = Clamp { act_min, act_max };
        let name = self.name(out, "_q");
        let id = match conv {
            Some(conv) => self
                .dst
                .add_op::<QConv2d>(QConvAttrs { conv, clamp }, &ins, &name)?,
            None => self.dst.add_op::<QFullyConnected>(clamp, &ins, &name)?,
        };
        self.set_quant(id, po);
        self.q[out] = Some(id);
        Ok(())
    }
}

/// Output clamp of a fused activation in the output's quantized domain.
fn clamp_of(act: Option<Activation>, p: QuantParams) -> (i8, i8) {
    let q =
        |v: f32| ((v / p.scale).round() as i64 + i64::from(p.zero_point)).clamp(-128, 127) as i8;
    match act {
        Some(Activation::Relu) => (q(0.0), 127),
        Some(Activation::Relu6) => (q(0.0), q(6.0)),
        _ => (-128, 127),
    }
}
