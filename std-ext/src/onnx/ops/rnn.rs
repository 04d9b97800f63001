//! `RNN`, `LSTM` and `GRU`: the recurrence unrolled over the (static) sequence length into
//! born's fully connected, element-wise, slice, split and concat ops.
//!
//! Per direction, the input projection `X W^T + Wb (+ Rb)` of every time step is one fully
//! connected op; each step then adds the recurrent product `H R^T`, applies the gates and
//! yields the next hidden (and cell) state. Weights known at convert time are cut into
//! per-direction constants; weights computed at run time are sliced by ops.
//!
//! Supported: every `direction`, `layout` 0 and 1, `clip` (applied to the input of every
//! activation), LSTM peepholes and `input_forget`, GRU `linear_before_reset` 0 and 1, and
//! the activations Sigmoid, Tanh, Relu, LeakyRelu, HardSigmoid, Affine, ScaledTanh, Softsign
//! and Softplus (`activation_alpha`/`activation_beta` are consumed in the order of the
//! activations that take them; LeakyRelu and HardSigmoid default to their operators'
//! defaults). `sequence_lens` is accepted when known and every length is the sequence
//! length.

use super::require_f32;
use crate::onnx::convert::{NodeCx, Value};
use crate::onnx::error::Result;
use crate::onnx::tensor::{self, Const};
use born_core::kernels::activation::Activation as Act;
use born_core::kernels::elementwise::BinaryOp;
use born_core::kernels::unary::UnaryOp;
use born_core::ops::activation::Activation;
use born_core::ops::binary::Binary;
use born_core::ops::concat::{Concat, ConcatAttrs};
use born_core::ops::fully_connected::{FcAttrs, FullyConnected};
use born_core::ops::slice::{Slice, SliceAttrs};
use born_core::ops::split::{Split, SplitAttrs};
use born_core::ops::unary::{Unary, UnaryAttrs};
use born_core::ops::{MAX_INPUTS, MAX_OUTPUTS};

type Out = Result<Vec<Value>>;

/// The recurrent cell of a node.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Cell {
    Rnn,
    Lstm,
    Gru,
}

impl Cell {
    /// Gates stacked in `W` and `R`.
    fn gates(self) -> usize {
        match self {
            Cell::Rnn => 1,
            Cell::Lstm => 4,
            Cell::Gru => 3,
        }
    }

    /// The activations of one direction when the node names none.
    fn default_functions(self) -> &'static [&'static str] {
        match self {
            Cell::Rnn => &["Tanh"],
            Cell::Lstm => &["Sigmoid", "Tanh", "Tanh"],
            Cell::Gru => &["Sigmoid", "Tanh"],
        }
    }

    /// Outputs the operator defines.
    fn outputs(self) -> usize {
        if self == Cell::Lstm {
            3
        } else {
            2
        }
    }
}

/// An activation function of a cell.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Func {
    /// One of born's activations (Sigmoid, Tanh, Relu, LeakyRelu).
    Act(Act),
    /// `clip(alpha x + beta, 0, 1)`.
    HardSigmoid(f32, f32),
    /// `alpha x + beta`.
    Affine(f32, f32),
    /// `alpha tanh(beta x)`.
    ScaledTanh(f32, f32),
    /// `x / (1 + |x|)`.
    Softsign,
    /// `ln(1 + e^x)`.
    Softplus,
}

/// `RNN` (opset 7 on): `H = f(X W^T + H R^T + Wb + Rb)`.
pub fn rnn(cx: &mut NodeCx<'_>) -> Out {
    run(cx, Cell::Rnn)
}

/// `LSTM` (opset 7 on): gates `i, o, f, c`, optional peepholes `P = [p_i, p_o, p_f]`.
pub fn lstm(cx: &mut NodeCx<'_>) -> Out {
    run(cx, Cell::Lstm)
}

/// `GRU` (opset 7 on): gates `z, r, h`, with `linear_before_reset` 0 or 1.
pub fn gru(cx: &mut NodeCx<'_>) -> Out {
    run(cx, Cell::Gru)
}

/// The node's static sizes and options.
struct Plan {
    cell: Cell,
    dirs: usize,
    /// Whether direction `d` runs backwards in time.
    reverse: [bool; 2],
    seq: usize,
    batch: usize,
    hidden: usize,
    layout: usize,
    clip: Option<f32>,
    input_forget: bool,
    linear_before_reset: bool,
    /// Activations of each direction.
    funcs: Vec<Vec<Func>>,
}

/// The weights of one direction as born tensors.
struct Weights {
    /// `[gates * H, input]`.
    w: usize,
    /// Bias of the input projection, `[gates * H]`.
    w_bias: Option<usize>,
    /// Recurrent weight: `[gates * H, H]`, or the `z, r` rows `[2H, H]` for a GRU without
    /// `linear_before_reset`.
    r: usize,
    /// The `h` rows `[H, H]` of a GRU without `linear_before_reset`.
    r_h: Option<usize>,
    /// Recurrent bias `Rb` `[3H]` of a GRU with `linear_before_reset`.
    r_bias: Option<usize>,
    /// LSTM peepholes `p_i, p_o, p_f`, `[H]` each.
    peep: Option<[usize; 3]>,
}

/// Checks input `k` (called `what`) has extents `want`.
fn check_dims(cx: &NodeCx<'_>, k: usize, what: &str, want: &[usize]) -> Result<()> {
    let got = cx.dims(k)?;
    if got != want {
        return Err(cx.err(format!("{what} has shape {got:?}, expected {want:?}")));
    }
    Ok(())
}

/// Reads and checks the node's shapes and attributes.
fn plan(cx: &NodeCx<'_>, cell: Cell) -> Result<Plan> {
    for k in [0, 1, 2, 3, 5, 6, 7] {
        if cx.has(k) {
            require_f32(cx, k)?;
        }
    }
    let layout = match cx.attrs.int("layout", 0)? {
        0 => 0,
        1 => 1,
        l => return Err(cx.err(format!("layout {l} is not 0 or 1"))),
    };
    let xd = cx.dims(0)?;
    let [seq, batch, input] = match *xd.as_slice() {
        [a, b, i] if layout == 0 => [a, b, i],
        [b, a, i] => [a, b, i],
        _ => return Err(cx.err(format!("X must be 3-D, got shape {xd:?}"))),
    };
    let (dirs, reverse) = match cx.attrs.string("direction", "forward")?.as_str() {
        "forward" => (1, [false, false]),
        "reverse" => (1, [true, false]),
        "bidirectional" => (2, [false, true]),
        d => {
            return Err(cx.err(format!(
                "direction `{d}` is not forward, reverse or bidirectional"
            )))
        }
    };
    let rd = cx.dims(2)?;
    let hidden = match *rd.as_slice() {
        [_, _, h] => h,
        _ => return Err(cx.err(format!("R must be 3-D, got shape {rd:?}"))),
    };
    if let Some(h) = cx.attrs.opt_int("hidden_size")? {
        if h != hidden as i64 {
            return Err(cx.err(format!(
                "hidden_size {h} differs from R's last dimension {hidden}"
            )));
        }
    }
    if seq == 0 || batch == 0 || input == 0 || hidden == 0 {
        return Err(cx.err(format!(
            "empty sizes (sequence {seq}, batch {batch}, input {input}, hidden {hidden})"
        )));
    }
    let gh = cell.gates() * hidden;
    check_dims(cx, 1, "W", &[dirs, gh, input])?;
    check_dims(cx, 2, "R", &[dirs, gh, hidden])?;
    if cx.has(3) {
        check_dims(cx, 3, "B", &[dirs, 2 * gh])?;
    }
    if cx.has(4) {
        let lens = cx.known_ints(4)?;
        if lens.len() != batch || lens.iter().any(|&l| l != seq as i64) {
            return Err(cx.err(format!(
                "sequence_lens {lens:?}: born supports only lengths all equal to the \
                 sequence length {seq}"
            )));
        }
    }
    let state = if layout == 0 {
        [dirs, batch, hidden]
    } else {
        [batch, dirs, hidden]
    };
    let n_states = if cell == Cell::Lstm { 2 } else { 1 };
    for (k, what) in [(5, "initial_h"), (6, "initial_c")].iter().take(n_states) {
        if cx.has(*k) {
            check_dims(cx, *k, what, &state)?;
        }
    }
    if cell == Cell::Lstm && cx.has(7) {
        check_dims(cx, 7, "P", &[dirs, 3 * hidden])?;
    }
    let clip = match cx.attrs.get("clip") {
        None => None,
        Some(_) => {
            let c = cx.attrs.float("clip", 0.0)?;
            if c.is_nan() || c < 0.0 {
                return Err(cx.err(format!("clip {c} must be a threshold >= 0")));
            }
            Some(c)
        }
    };
    let input_forget = cell == Cell::Lstm && cx.attrs.int("input_forget", 0)? != 0;
    let linear_before_reset = cell == Cell::Gru && cx.attrs.int("linear_before_reset", 0)? != 0;
    if cx.node.output.len() > cell.outputs() {
        return Err(cx.err(format!(
            "{} outputs listed, the operator has {}",
            cx.node.output.len(),
            cell.outputs()
        )));
    }
    Ok(Plan {
        cell,
        dirs,
        reverse,
        seq,
        batch,
        hidden,
        layout,
        clip,
        input_forget,
        linear_before_reset,
        funcs: functions(cx, cell, dirs)?,
    })
}

/// The activations of each direction, from `activations`, `activation_alpha` and
/// `activation_beta` (a list for one direction serves both directions of a bidirectional
/// node).
fn functions(cx: &NodeCx<'_>, cell: Cell, dirs: usize) -> Result<Vec<Vec<Func>>> {
    let per = cell.default_functions().len();
    let names: Vec<String> = match cx.attrs.get("activations") {
        None => cell
            .default_functions()
            .iter()
            .map(|s| s.to_string())
            .collect(),
        Some(a) => a
            .strings
            .iter()
            .map(|s| String::from_utf8(s.clone()))
            .collect::<std::result::Result<_, _>>()
            .map_err(|_| cx.err("activations are not UTF-8"))?,
    };
    if names.len() != per && names.len() != per * dirs {
        return Err(cx.err(format!(
            "{} activations listed, expected {per} per direction",
            names.len()
        )));
    }
    let alphas = cx.attrs.floats("activation_alpha")?.unwrap_or_default();
    let betas = cx.attrs.floats("activation_beta")?.unwrap_or_default();
    let (mut alpha, mut beta) = (alphas.iter().copied(), betas.iter().copied());
    let mut funcs = Vec::with_capacity(names.len());
    for name in &names {
        let need = |v: Option<f32>, what: &str| {
            v.ok_or_else(|| cx.err(format!("activation {name} needs an activation_{what}")))
        };
        let f = match name.to_ascii_lowercase().as_str() {
            "sigmoid" => Func::Act(Act::Sigmoid),
            "tanh" => Func::Act(Act::Tanh),
            "relu" => Func::Act(Act::Relu),
            "leakyrelu" => Func::Act(Act::LeakyRelu(alpha.next().unwrap_or(0.01))),
            "hardsigmoid" => {
                Func::HardSigmoid(alpha.next().unwrap_or(0.2), beta.next().unwrap_or(0.5))
            }
            "affine" => Func::Affine(need(alpha.next(), "alpha")?, need(beta.next(), "beta")?),
            "scaledtanh" => {
                Func::ScaledTanh(need(alpha.next(), "alpha")?, need(beta.next(), "beta")?)
            }
            "softsign" => Func::Softsign,
            "softplus" => Func::Softplus,
            _ => {
                return Err(cx.err(format!(
                    "activation `{name}` is not supported (born supports Sigmoid, Tanh, Relu, \
                     LeakyRelu, HardSigmoid, Affine, ScaledTanh, Softsign and Softplus)"
                )))
            }
        };
        funcs.push(f);
    }
    Ok(if funcs.len() == per {
        vec![funcs; dirs]
    } else {
        funcs.chunks(per).map(<[Func]>::to_vec).collect()
    })
}

/// The box `starts..ends` of known f32 tensor `c`, reshaped to `dims`.
fn cut_known(c: &Const, starts: &[usize], ends: &[usize], dims: Vec<usize>) -> Option<Const> {
    let rank = c.dims.len();
    if starts.len() != rank || ends.len() != rank {
        return None;
    }
    let vals = tensor::f32s(&c.bytes);
    let mut strides = vec![1usize; rank];
    for a in (0..rank.saturating_sub(1)).rev() {
        strides[a] = strides[a + 1] * c.dims[a + 1];
    }
    let extents: Vec<usize> = starts.iter().zip(ends).map(|(s, e)| e - s).collect();
    let n: usize = extents.iter().product();
    let mut out = Vec::with_capacity(n);
    let mut idx = vec![0usize; rank];
    for _ in 0..n {
        let off: usize = (0..rank).map(|a| (starts[a] + idx[a]) * strides[a]).sum();
        out.push(*vals.get(off)?);
        for a in (0..rank).rev() {
            idx[a] += 1;
            if idx[a] < extents[a] {
                break;
            }
            idx[a] = 0;
        }
    }
    Some(Const::from_values(dims, &out))
}

/// The box `starts..ends` of input `k`, reshaped to `dims`: a new constant when the input is
/// known, else sliced at run time.
fn cut(
    cx: &mut NodeCx<'_>,
    k: usize,
    starts: &[usize],
    ends: &[usize],
    dims: &[usize],
) -> Result<usize> {
    if let Some(c) = cx.try_known(k) {
        let part = cut_known(&c, starts, ends, dims.to_vec())
            .ok_or_else(|| cx.err(format!("input {k} is smaller than its shape")))?;
        return cx.new_const(part);
    }
    let full = cx.dims(k)?;
    let mut x = cx.tensor(k)?;
    let whole = starts.iter().all(|&s| s == 0) && ends == full.as_slice();
    if !whole {
        let s: Vec<i64> = starts.iter().map(|&v| v as i64).collect();
        let e: Vec<i64> = ends.iter().map(|&v| v as i64).collect();
        let a = SliceAttrs::new(&s, &e, &[], &[]).ok_or_else(|| cx.err("slice rank"))?;
        x = cx.op::<Slice>(a, &[x])?;
    }
    cx.reshape(x, dims)
}

/// Rows `lo..hi` of direction `d` of input `k` (`[dirs, rows, ..]`), as `[hi - lo, ..]`.
fn rows(cx: &mut NodeCx<'_>, k: usize, d: usize, lo: usize, hi: usize) -> Result<usize> {
    let full = cx.dims(k)?;
    let mut starts = vec![0; full.len()];
    let mut ends = full.clone();
    starts[0] = d;
    ends[0] = d + 1;
    starts[1] = lo;
    ends[1] = hi;
    let mut dims = vec![hi - lo];
    dims.extend_from_slice(&full[2..]);
    cut(cx, k, &starts, &ends, &dims)
}

/// Bias rows `lo..hi` of direction `d`: `Wb` alone, or `Wb + Rb` when `with_r`; `None`
/// without `B`.
fn bias(
    cx: &mut NodeCx<'_>,
    p: &Plan,
    d: usize,
    lo: usize,
    hi: usize,
    with_r: bool,
) -> Result<Option<usize>> {
    if !cx.has(3) {
        return Ok(None);
    }
    let gh = p.cell.gates() * p.hidden;
    if !with_r {
        return rows(cx, 3, d, lo, hi).map(Some);
    }
    if let Some(c) = cx.try_known(3) {
        let v = tensor::f32s(&c.bytes);
        let row = d * 2 * gh;
        let sum: Option<Vec<f32>> = (lo..hi)
            .map(|j| Some(v.get(row + j)? + v.get(row + gh + j)?))
            .collect();
        let sum = sum.ok_or_else(|| cx.err("B is smaller than its shape"))?;
        return cx
            .new_const(Const::from_values(vec![hi - lo], &sum))
            .map(Some);
    }
    let wb = rows(cx, 3, d, lo, hi)?;
    let rb = rows(cx, 3, d, gh + lo, gh + hi)?;
    cx.op::<Binary>(BinaryOp::Add, &[wb, rb]).map(Some)
}

/// The weights of direction `d`, cut as its steps read them.
fn weights(cx: &mut NodeCx<'_>, p: &Plan, d: usize) -> Result<Weights> {
    let h = p.hidden;
    let gh = p.cell.gates() * h;
    let w = rows(cx, 1, d, 0, gh)?;
    let split_r = p.cell == Cell::Gru && !p.linear_before_reset;
    let (r, r_h) = if split_r {
        (
            rows(cx, 2, d, 0, 2 * h)?,
            Some(rows(cx, 2, d, 2 * h, 3 * h)?),
        )
    } else {
        (rows(cx, 2, d, 0, gh)?, None)
    };
    let (w_bias, r_bias) = if p.linear_before_reset {
        let rb = if cx.has(3) {
            Some(rows(cx, 3, d, gh, 2 * gh)?)
        } else {
            None
        };
        (bias(cx, p, d, 0, gh, false)?, rb)
    } else {
        (bias(cx, p, d, 0, gh, true)?, None)
    };
    let peep = if p.cell == Cell::Lstm && cx.has(7) {
        Some([
            rows(cx, 7, d, 0, h)?,
            rows(cx, 7, d, h, 2 * h)?,
            rows(cx, 7, d, 2 * h, 3 * h)?,
        ])
    } else {
        None
    };
    Ok(Weights {
        w,
        w_bias,
        r,
        r_h,
        r_bias,
        peep,
    })
}

/// Initial state input `k` (`initial_h` or `initial_c`) of direction `d` as `[batch, H]`;
/// zeros when absent.
fn initial(cx: &mut NodeCx<'_>, p: &Plan, k: usize, d: usize) -> Result<usize> {
    let dims = [p.batch, p.hidden];
    if !cx.has(k) {
        let zeros = vec![0f32; p.batch * p.hidden];
        return cx.new_const(Const::from_values(dims.to_vec(), &zeros));
    }
    if p.layout == 0 {
        return rows(cx, k, d, 0, p.batch);
    }
    cut(cx, k, &[0, d, 0], &[p.batch, d + 1, p.hidden], &dims)
}

/// What the GRU candidate adds to `x Wh^T`.
enum Cand {
    /// `(r * H) Rh^T` with `Rh` this tensor.
    Reset(usize),
    /// `r * hh` with `hh = H Rh^T + Rbh` this tensor.
    Linear(usize),
}

/// Builds the unrolled steps, caching scalar constants.
struct Unroll<'p> {
    p: &'p Plan,
    scalars: Vec<(u32, usize)>,
}

impl Unroll<'_> {
    fn scalar(&mut self, cx: &mut NodeCx<'_>, v: f32) -> Result<usize> {
        if let Some(&(_, id)) = self.scalars.iter().find(|(b, _)| *b == v.to_bits()) {
            return Ok(id);
        }
        let id = cx.new_const(Const::from_values(vec![], &[v]))?;
        self.scalars.push((v.to_bits(), id));
        Ok(id)
    }

    fn bin(cx: &mut NodeCx<'_>, op: BinaryOp, a: usize, b: usize) -> Result<usize> {
        cx.op::<Binary>(op, &[a, b])
    }

    fn unary(cx: &mut NodeCx<'_>, op: UnaryOp, x: usize) -> Result<usize> {
        cx.op::<Unary>(UnaryAttrs::new(op), &[x])
    }

    /// Activation `f` of `x`, after the node's clip.
    fn apply(&mut self, cx: &mut NodeCx<'_>, f: Func, x: usize) -> Result<usize> {
        let x = match self.p.clip {
            Some(c) => Self::unary(cx, UnaryOp::Clip { min: -c, max: c }, x)?,
            None => x,
        };
        match f {
            Func::Act(a) => cx.op::<Activation>(a, &[x]),
            Func::HardSigmoid(alpha, beta) => {
                Self::unary(cx, UnaryOp::HardSigmoid { alpha, beta }, x)
            }
            Func::Affine(alpha, beta) => {
                let (a, b) = (self.scalar(cx, alpha)?, self.scalar(cx, beta)?);
                let m = Self::bin(cx, BinaryOp::Mul, x, a)?;
                Self::bin(cx, BinaryOp::Add, m, b)
            }
            Func::ScaledTanh(alpha, beta) => {
                let (a, b) = (self.scalar(cx, alpha)?, self.scalar(cx, beta)?);
                let m = Self::bin(cx, BinaryOp::Mul, x, b)?;
                let t = cx.op::<Activation>(Act::Tanh, &[m])?;
                Self::bin(cx, BinaryOp::Mul, t, a)
            }
            Func::Softsign => {
                let one = self.scalar(cx, 1.0)?;
                let a = Self::unary(cx, UnaryOp::Abs, x)?;
                let den = Self::bin(cx, BinaryOp::Add, a, one)?;
                Self::bin(cx, BinaryOp::Div, x, den)
            }
            Func::Softplus => Self::unary(cx, UnaryOp::Softplus, x),
        }
    }

    /// `x [batch, n]` split along its columns into pieces of `sizes`.
    fn split(cx: &mut NodeCx<'_>, x: usize, sizes: &[usize]) -> Result<Vec<usize>> {
        let mut a = SplitAttrs {
            axis: 1,
            sizes: [0; MAX_OUTPUTS],
        };
        for (o, &s) in a.sizes.iter_mut().zip(sizes) {
            *o = s as u32;
        }
        cx.op_multi::<Split>(a, &[x], sizes.len())
    }

    /// `x W^T (+ b)` with `W [N, K]`.
    fn linear(cx: &mut NodeCx<'_>, x: usize, w: usize, b: Option<usize>) -> Result<usize> {
        let mut ins = vec![x, w];
        ins.extend(b);
        cx.op::<FullyConnected>(FcAttrs { act: None }, &ins)
    }

    /// Time step `t` of the input projection `xp`, as `[batch, gates * H]`.
    fn step_input(&self, cx: &mut NodeCx<'_>, xp: usize, t: usize) -> Result<usize> {
        let p = self.p;
        let gh = p.cell.gates() * p.hidden;
        let axis = p.layout as i64;
        let a = SliceAttrs::new(&[t as i64], &[t as i64 + 1], &[axis], &[])
            .ok_or_else(|| cx.err("slice"))?;
        let s = cx.op::<Slice>(a, &[xp])?;
        cx.reshape(s, &[p.batch, gh])
    }

    /// One RNN step: the next `H`.
    fn rnn(
        &mut self,
        cx: &mut NodeCx<'_>,
        f: &[Func],
        wt: &Weights,
        x: usize,
        h: usize,
    ) -> Result<usize> {
        let rh = Self::linear(cx, h, wt.r, None)?;
        let a = Self::bin(cx, BinaryOp::Add, x, rh)?;
        self.apply(cx, f[0], a)
    }

    /// One LSTM step: the next `(H, C)`.
    fn lstm(
        &mut self,
        cx: &mut NodeCx<'_>,
        f: &[Func],
        wt: &Weights,
        x: usize,
        (h, c): (usize, usize),
    ) -> Result<(usize, usize)> {
        let hd = self.p.hidden;
        let rh = Self::linear(cx, h, wt.r, None)?;
        let gates = Self::bin(cx, BinaryOp::Add, x, rh)?;
        let g = Self::split(cx, gates, &[hd; 4])?;
        let (gi, go, gf, gc) = (g[0], g[1], g[2], g[3]);
        let peep = |cx: &mut NodeCx<'_>, gate: usize, k: usize, state: usize| match wt.peep {
            Some(p) => {
                let m = Self::bin(cx, BinaryOp::Mul, p[k], state)?;
                Self::bin(cx, BinaryOp::Add, gate, m)
            }
            None => Ok(gate),
        };
        let pi = peep(cx, gi, 0, c)?;
        let i = self.apply(cx, f[0], pi)?;
        let fg = if self.p.input_forget {
            let one = self.scalar(cx, 1.0)?;
            Self::bin(cx, BinaryOp::Sub, one, i)?
        } else {
            let pf = peep(cx, gf, 2, c)?;
            self.apply(cx, f[0], pf)?
        };
        let cand = self.apply(cx, f[1], gc)?;
        let keep = Self::bin(cx, BinaryOp::Mul, fg, c)?;
        let add = Self::bin(cx, BinaryOp::Mul, i, cand)?;
        let c2 = Self::bin(cx, BinaryOp::Add, keep, add)?;
        let po = peep(cx, go, 1, c2)?;
        let o = self.apply(cx, f[0], po)?;
        let hc = self.apply(cx, f[2], c2)?;
        let h2 = Self::bin(cx, BinaryOp::Mul, o, hc)?;
        Ok((h2, c2))
    }

    /// One GRU step: the next `H`.
    fn gru(
        &mut self,
        cx: &mut NodeCx<'_>,
        f: &[Func],
        wt: &Weights,
        x: usize,
        h: usize,
    ) -> Result<usize> {
        let hd = self.p.hidden;
        let xs = Self::split(cx, x, &[2 * hd, hd])?;
        let (x_zr, x_h) = (xs[0], xs[1]);
        let (zr_in, cand) = match wt.r_h {
            // h = g(x Wh^T + (r * H) Rh^T + Wbh + Rbh), the biases being in `x`.
            Some(r_h) => {
                let rzr = Self::linear(cx, h, wt.r, None)?;
                (Self::bin(cx, BinaryOp::Add, x_zr, rzr)?, Cand::Reset(r_h))
            }
            // h = g(x Wh^T + Wbh + r * (H Rh^T + Rbh)).
            None => {
                let rg = Self::linear(cx, h, wt.r, wt.r_bias)?;
                let rs = Self::split(cx, rg, &[2 * hd, hd])?;
                (
                    Self::bin(cx, BinaryOp::Add, x_zr, rs[0])?,
                    Cand::Linear(rs[1]),
                )
            }
        };
        let zr = self.apply(cx, f[0], zr_in)?;
        let zr = Self::split(cx, zr, &[hd, hd])?;
        let (z, r) = (zr[0], zr[1]);
        let pre = match cand {
            Cand::Reset(r_h) => {
                let rh = Self::bin(cx, BinaryOp::Mul, r, h)?;
                let m = Self::linear(cx, rh, r_h, None)?;
                Self::bin(cx, BinaryOp::Add, x_h, m)?
            }
            Cand::Linear(hh) => {
                let m = Self::bin(cx, BinaryOp::Mul, r, hh)?;
                Self::bin(cx, BinaryOp::Add, x_h, m)?
            }
        };
        let n = self.apply(cx, f[1], pre)?;
        // H' = (1 - z) n + z H = n + z (H - n).
        let diff = Self::bin(cx, BinaryOp::Sub, h, n)?;
        let zd = Self::bin(cx, BinaryOp::Mul, z, diff)?;
        Self::bin(cx, BinaryOp::Add, n, zd)
    }
}

/// `ids` concatenated along `axis` (in groups, past born's input limit).
fn concat(cx: &mut NodeCx<'_>, mut ids: Vec<usize>, axis: i32) -> Result<usize> {
    while ids.len() > 1 {
        let mut next = Vec::with_capacity(ids.len().div_ceil(MAX_INPUTS));
        for group in ids.chunks(MAX_INPUTS) {
            next.push(match group {
                [one] => *one,
                _ => cx.op::<Concat>(ConcatAttrs { axis }, group)?,
            });
        }
        ids = next;
    }
    ids.first()
        .copied()
        .ok_or_else(|| cx.err("nothing to concatenate"))
}

/// The final states `[batch, H]` of each direction as `Y_h` (or `Y_c`).
fn final_state(cx: &mut NodeCx<'_>, p: &Plan, states: &[usize]) -> Result<usize> {
    let dims = if p.layout == 0 {
        [1, p.batch, p.hidden]
    } else {
        [p.batch, 1, p.hidden]
    };
    let parts = states
        .iter()
        .map(|&s| cx.reshape(s, &dims))
        .collect::<Result<Vec<_>>>()?;
    concat(cx, parts, p.layout as i32)
}

/// `Y` from the hidden states of every direction, indexed by time.
fn all_states(cx: &mut NodeCx<'_>, p: &Plan, hs: &[Vec<usize>]) -> Result<usize> {
    let (dims, dir_axis, time_axis) = if p.layout == 0 {
        ([1, 1, p.batch, p.hidden], 1, 0)
    } else {
        ([p.batch, 1, 1, p.hidden], 2, 1)
    };
    let mut steps = Vec::with_capacity(p.seq);
    for t in 0..p.seq {
        let mut parts = Vec::with_capacity(p.dirs);
        for dir in hs {
            let h = *dir.get(t).ok_or_else(|| cx.err("missing time step"))?;
            parts.push(cx.reshape(h, &dims)?);
        }
        steps.push(concat(cx, parts, dir_axis)?);
    }
    concat(cx, steps, time_axis)
}

/// Translates a node of `cell`: each direction unrolled over the sequence, then the named
/// outputs `Y`, `Y_h` (and `Y_c`) assembled from the steps' states.
fn run(cx: &mut NodeCx<'_>, cell: Cell) -> Out {
    let p = plan(cx, cell)?;
    let x = cx.tensor(0)?;
    let mut un = Unroll {
        p: &p,
        scalars: Vec::new(),
    };
    let mut hs: Vec<Vec<usize>> = Vec::with_capacity(p.dirs);
    let (mut last_h, mut last_c) = (Vec::new(), Vec::new());
    for d in 0..p.dirs {
        let wt = weights(cx, &p, d)?;
        let f = p.funcs.get(d).cloned().unwrap_or_default();
        let xp = Unroll::linear(cx, x, wt.w, wt.w_bias)?;
        let mut h = initial(cx, &p, 5, d)?;
        // The cell state (read by LSTM steps only).
        let mut c = if cell == Cell::Lstm {
            initial(cx, &p, 6, d)?
        } else {
            h
        };
        let mut dir = Vec::with_capacity(p.seq);
        for step in 0..p.seq {
            let t = if p.reverse[d] { p.seq - 1 - step } else { step };
            let xt = un.step_input(cx, xp, t)?;
            match cell {
                Cell::Rnn => h = un.rnn(cx, &f, &wt, xt, h)?,
                Cell::Lstm => (h, c) = un.lstm(cx, &f, &wt, xt, (h, c))?,
                Cell::Gru => h = un.gru(cx, &f, &wt, xt, h)?,
            }
            dir.push(h);
        }
        if p.reverse[d] {
            dir.reverse();
        }
        hs.push(dir);
        last_h.push(h);
        last_c.push(c);
    }
    let wants = |k: usize| cx.node.output.get(k).is_some_and(|o| !o.is_empty());
    let (want_y, want_h, want_c) = (wants(0), wants(1), wants(2));
    let mut outs = Vec::new();
    // Unnamed outputs before a named one get a placeholder the converter drops.
    let placeholder = last_h.first().copied().unwrap_or(x);
    outs.push(if want_y {
        all_states(cx, &p, &hs)?
    } else {
        placeholder
    });
    if want_h || want_c {
        outs.push(if want_h {
            final_state(cx, &p, &last_h)?
        } else {
            placeholder
        });
    }
    if want_c {
        outs.push(final_state(cx, &p, &last_c)?);
    }
    Ok(outs.into_iter().map(Value::Tensor).collect())
}
