//! Per-op rules shared by the loader (which checks a file against them) and the graph
//! builder (which uses them to infer output shapes): arity, element types, output shapes.

use super::error::ModelError;
use super::format::{ConvAttrs, Op, PoolAttrs};
use crate::dtype::DType;
use crate::error::Error;
use crate::kernels::conv::Conv2d;
use crate::kernels::pool::Pool2d;
use crate::shape::{Shape, MAX_RANK};

/// What an op needs to know of one of its inputs.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Operand {
    /// Element type.
    pub dtype: DType,
    /// Shape.
    pub shape: Shape,
}

macro_rules! op_kinds {
    ($($kind:ident),* $(,)?) => {
        /// The kind of an [`Op`], without its attributes (what an
        /// [`OpResolver`](crate::interp::OpResolver) registers kernels by).
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum OpKind {
            $(
                #[doc = concat!("[`Op::", stringify!($kind), "`].")]
                $kind,
            )*
        }

        impl OpKind {
            /// Every kind, in [`Op`]'s variant order.
            pub const ALL: &'static [OpKind] = &[$(OpKind::$kind),*];
            /// Number of kinds.
            pub const COUNT: usize = OpKind::ALL.len();

            /// The kind's name (`"Conv2d"`).
            pub const fn name(self) -> &'static str {
                match self {
                    $(OpKind::$kind => stringify!($kind),)*
                }
            }
        }

        /// The kind of `op`.
        pub const fn kind(op: &Op) -> OpKind {
            match op {
                $(Op::$kind { .. } => OpKind::$kind,)*
            }
        }
    };
}

op_kinds! {
    FullyConnected, Conv2d, MaxPool2d, AvgPool2d, GlobalAvgPool2d, Activation, Softmax,
    LogSoftmax, LayerNorm, RmsNorm, BatchNorm, Binary, Reshape, Embedding, Quantize,
    Dequantize, QFullyConnected, QConv2d, QMaxPool2d, QAvgPool2d, QAdd, QSoftmax,
}

/// A short name for `op`'s kind (used in errors and by `born inspect`).
pub fn kind_name(op: &Op) -> &'static str {
    kind(op).name()
}

/// Fewest and most inputs `op` takes.
pub fn arity(op: &Op) -> (usize, usize) {
    match op {
        Op::FullyConnected { .. } | Op::Conv2d { .. } => (2, 3),
        Op::LayerNorm { .. } => (3, 3),
        Op::BatchNorm { .. } => (5, 5),
        Op::RmsNorm { .. } | Op::Binary(_) | Op::Embedding | Op::QAdd(_) => (2, 2),
        Op::QFullyConnected { .. } | Op::QConv2d { .. } => (4, 5),
        _ => (1, 1),
    }
}

/// True when the op may write its output over its first input (same offset): the planner
/// may then give both one arena slot, and the interpreter runs the op in place.
pub fn in_place(op: &Op) -> bool {
    matches!(op, Op::Activation(_) | Op::Reshape)
}

/// True when input `operand` of `op` must be a constant (the loader reads its values).
pub fn needs_const(op: &Op, operand: usize, n_inputs: usize) -> bool {
    match op {
        Op::QFullyConnected { .. } | Op::QConv2d { .. } => operand + 2 >= n_inputs,
        _ => false,
    }
}

/// Kernel parameters of a convolution.
pub fn conv_params(a: &ConvAttrs) -> Conv2d {
    Conv2d {
        stride: [a.stride[0] as usize, a.stride[1] as usize],
        padding: a.padding.map(|p| p as usize),
        dilation: [a.dilation[0] as usize, a.dilation[1] as usize],
        groups: a.groups as usize,
    }
}

/// Kernel parameters of a pooling op.
pub fn pool_params(a: &PoolAttrs) -> Pool2d {
    Pool2d {
        kernel: [a.kernel[0] as usize, a.kernel[1] as usize],
        stride: [a.stride[0] as usize, a.stride[1] as usize],
        padding: a.padding.map(|p| p as usize),
        dilation: [a.dilation[0] as usize, a.dilation[1] as usize],
        ceil_mode: a.ceil_mode,
        count_include_pad: a.count_include_pad,
    }
}

/// The static text a kernel error carries, for [`ModelError::Attribute`].
fn reason(e: Error) -> &'static str {
    match e {
        Error::ZeroDim { what, .. }
        | Error::DimMismatch { what, .. }
        | Error::InvalidArgument { what, .. }
        | Error::IndexOutOfRange { what, .. }
        | Error::BufferTooSmall { what, .. } => what,
        Error::Overflow { .. } => "sizes overflow",
        _ => "geometry does not fit the input",
    }
}

struct Ctx<'a> {
    op: usize,
    ins: &'a [Operand],
}

impl Ctx<'_> {
    fn dtype(&self, i: usize, expected: DType) -> Result<Shape, ModelError> {
        let got = self.ins.get(i).ok_or(ModelError::Arity {
            op: self.op,
            kind: "op",
            min: i + 1,
            max: i + 1,
            got: self.ins.len(),
        })?;
        if got.dtype != expected {
            return Err(ModelError::DType {
                op: self.op,
                operand: i,
                expected,
                got: got.dtype,
            });
        }
        Ok(got.shape)
    }

    fn shape_err(&self, operand: usize, what: &'static str) -> ModelError {
        ModelError::OperandShape {
            op: self.op,
            operand,
            what,
        }
    }

    fn attr(&self, e: Error) -> ModelError {
        ModelError::Attribute {
            op: self.op,
            what: reason(e),
        }
    }

    fn rank4(&self, i: usize, dtype: DType) -> Result<[usize; 4], ModelError> {
        let s = self.dtype(i, dtype)?;
        match *s.dims() {
            [n, c, h, w] => Ok([n, c, h, w]),
            _ => Err(self.shape_err(i, "must have rank 4 (NCHW)")),
        }
    }

    /// `[len]` vector check for input `i` (a bias, scale, multiplier table...).
    fn vector(&self, i: usize, dtype: DType, len: usize) -> Result<(), ModelError> {
        let s = self.dtype(i, dtype)?;
        if s.dims() != [len] {
            return Err(self.shape_err(i, "must be a vector of one value per channel"));
        }
        Ok(())
    }

    fn fc(
        &self,
        x: DType,
        bias: Option<usize>,
        tables: Option<usize>,
    ) -> Result<Shape, ModelError> {
        let xs = self.dtype(0, x)?;
        let ws = self.dtype(1, x)?;
        let [n, k] = match *ws.dims() {
            [n, k] => [n, k],
            _ => return Err(self.shape_err(1, "weight must be [out_features, in_features]")),
        };
        if xs.rank() == 0 || xs.dims()[xs.rank() - 1] != k || n == 0 || k == 0 {
            return Err(self.shape_err(0, "last axis must equal the weight's in_features"));
        }
        if let Some(b) = bias {
            self.vector(
                b,
                if x == DType::F32 {
                    DType::F32
                } else {
                    DType::I32
                },
                n,
            )?;
        }
        if let Some(t) = tables {
            self.vector(t, DType::I32, n)?;
            self.vector(t + 1, DType::I32, n)?;
        }
        let mut dims = [0usize; MAX_RANK];
        dims[..xs.rank()].copy_from_slice(xs.dims());
        dims[xs.rank() - 1] = n;
        Shape::new(&dims[..xs.rank()]).map_err(|e| self.attr(e))
    }

    fn conv(
        &self,
        a: &ConvAttrs,
        x: DType,
        bias: Option<usize>,
        tables: Option<usize>,
    ) -> Result<Shape, ModelError> {
        let xs = self.rank4(0, x)?;
        let ws = self.rank4(1, x)?;
        let os = conv_params(a)
            .output_shape(xs, ws)
            .map_err(|e| self.attr(e))?;
        if let Some(b) = bias {
            self.vector(
                b,
                if x == DType::F32 {
                    DType::F32
                } else {
                    DType::I32
                },
                ws[0],
            )?;
        }
        if let Some(t) = tables {
            self.vector(t, DType::I32, ws[0])?;
            self.vector(t + 1, DType::I32, ws[0])?;
        }
        Shape::new(&os).map_err(|e| self.attr(e))
    }

    fn pool(&self, a: &PoolAttrs, x: DType) -> Result<Shape, ModelError> {
        let [n, c, h, w] = self.rank4(0, x)?;
        let p = pool_params(a);
        let [oh, ow] = p.output_hw(h, w).map_err(|e| self.attr(e))?;
        Shape::new(&[n, c, oh, ow]).map_err(|e| self.attr(e))
    }

    fn same(&self, x: DType) -> Result<Shape, ModelError> {
        let s = self.dtype(0, x)?;
        if s.rank() == 0 {
            return Err(self.shape_err(0, "needs at least one axis"));
        }
        Ok(s)
    }

    /// Shape of input 0 after checking inputs `1..` are `[last axis]` vectors (norms).
    fn norm(&self, params: usize) -> Result<Shape, ModelError> {
        let s = self.same(DType::F32)?;
        let d = s.dims()[s.rank() - 1];
        for i in 1..=params {
            self.vector(i, DType::F32, d)?;
        }
        Ok(s)
    }
}

/// Checks `op`'s inputs and returns the element type and shape of its output.
///
/// `target` is the output shape a [`Op::Reshape`] asks for (ignored by other ops); `index`
/// is the op's number for errors.
pub fn infer(
    index: usize,
    op: &Op,
    ins: &[Operand],
    target: Option<Shape>,
) -> Result<(DType, Shape), ModelError> {
    let (min, max) = arity(op);
    if ins.len() < min || ins.len() > max {
        return Err(ModelError::Arity {
            op: index,
            kind: kind_name(op),
            min,
            max,
            got: ins.len(),
        });
    }
    let c = Ctx { op: index, ins };
    let has_bias = ins.len() == max;
    let f32_bias = if has_bias { Some(2) } else { None };
    let q_tables = ins.len().checked_sub(2);
    use DType::{F32, I32, I8};
    let out = match op {
        Op::FullyConnected { .. } => (F32, c.fc(F32, f32_bias, None)?),
        Op::Conv2d { conv, .. } => (F32, c.conv(conv, F32, f32_bias, None)?),
        Op::MaxPool2d(a) | Op::AvgPool2d(a) => (F32, c.pool(a, F32)?),
        Op::QMaxPool2d(a) | Op::QAvgPool2d(a) => (I8, c.pool(a, I8)?),
        Op::GlobalAvgPool2d => {
            let [n, ch, _, _] = c.rank4(0, F32)?;
            (F32, Shape::new(&[n, ch]).map_err(|e| c.attr(e))?)
        }
        Op::Activation(_) | Op::Softmax | Op::LogSoftmax => (F32, c.same(F32)?),
        Op::LayerNorm { eps } | Op::RmsNorm { eps } | Op::BatchNorm { eps } => {
            if !(eps.is_finite() && *eps >= 0.0) {
                return Err(ModelError::Attribute {
                    op: index,
                    what: "eps must be finite and non-negative",
                });
            }
            match op {
                Op::LayerNorm { .. } => (F32, c.norm(2)?),
                Op::RmsNorm { .. } => (F32, c.norm(1)?),
                _ => {
                    let s = c.same(F32)?;
                    let ch = *s
                        .dims()
                        .get(1)
                        .ok_or(c.shape_err(0, "needs a channel axis (1)"))?;
                    for k in 1..5 {
                        c.vector(k, F32, ch)?;
                    }
                    (F32, s)
                }
            }
        }
        Op::Binary(_) => {
            let a = c.dtype(0, F32)?;
            let b = c.dtype(1, F32)?;
            let s = a
                .broadcast(&b)
                .map_err(|_| c.shape_err(1, "does not broadcast with operand 0"))?;
            (F32, s)
        }
        Op::Reshape => {
            let x = ins[0];
            let t = target.ok_or(c.shape_err(0, "reshape needs a target shape"))?;
            if t.checked_numel().ok() != x.shape.checked_numel().ok() {
                return Err(c.shape_err(0, "element count differs from the output's"));
            }
            (x.dtype, t)
        }
        Op::Embedding => {
            let t = c.dtype(0, F32)?;
            let ids = c.dtype(1, I32)?;
            let d = match *t.dims() {
                [v, d] if v > 0 && d > 0 => d,
                _ => return Err(c.shape_err(0, "table must be [rows, dim], both non-zero")),
            };
            if ids.rank() >= MAX_RANK {
                return Err(c.shape_err(1, "ids rank leaves no room for the embedding axis"));
            }
            let mut dims = [0usize; MAX_RANK];
            dims[..ids.rank()].copy_from_slice(ids.dims());
            dims[ids.rank()] = d;
            (
                F32,
                Shape::new(&dims[..=ids.rank()]).map_err(|e| c.attr(e))?,
            )
        }
        Op::Quantize => (I8, c.same(F32)?),
        Op::Dequantize => (F32, c.same(I8)?),
        Op::QFullyConnected { act_min, act_max } => {
            check_clamp(index, *act_min, *act_max)?;
            let bias = if ins.len() == 5 { Some(2) } else { None };
            (I8, c.fc(I8, bias, q_tables)?)
        }
        Op::QConv2d {
            conv,
            act_min,
            act_max,
        } => {
            check_clamp(index, *act_min, *act_max)?;
            let bias = if ins.len() == 5 { Some(2) } else { None };
            (I8, c.conv(conv, I8, bias, q_tables)?)
        }
        Op::QAdd(a) => {
            check_clamp(index, a.act_min, a.act_max)?;
            let s = c.same(I8)?;
            let b = c.dtype(1, I8)?;
            if b != s && b.numel() != 1 {
                return Err(c.shape_err(1, "must have operand 0's shape or one element"));
            }
            (I8, s)
        }
        Op::QSoftmax { diff_min, .. } => {
            if *diff_min > 0 {
                return Err(ModelError::Attribute {
                    op: index,
                    what: "softmax diff_min must not be positive",
                });
            }
            (I8, c.same(I8)?)
        }
    };
    Ok(out)
}

fn check_clamp(op: usize, lo: i8, hi: i8) -> Result<(), ModelError> {
    if lo > hi {
        return Err(ModelError::Attribute {
            op,
            what: "output clamp minimum above maximum",
        });
    }
    Ok(())
}

fn to_u32<const N: usize>(v: [usize; N]) -> Result<[u32; N], Error> {
    let mut out = [0u32; N];
    for (o, x) in out.iter_mut().zip(v) {
        *o = u32::try_from(x).map_err(|_| Error::Overflow { op: "export" })?;
    }
    Ok(out)
}

impl ConvAttrs {
    /// Stored form of kernel parameters `p`.
    pub fn from_params(p: &Conv2d) -> Result<ConvAttrs, Error> {
        Ok(ConvAttrs {
            stride: to_u32(p.stride)?,
            padding: to_u32(p.padding)?,
            dilation: to_u32(p.dilation)?,
            groups: to_u32([p.groups])?[0],
        })
    }
}

impl PoolAttrs {
    /// Stored form of kernel parameters `p`.
    pub fn from_params(p: &Pool2d) -> Result<PoolAttrs, Error> {
        Ok(PoolAttrs {
            kernel: to_u32(p.kernel)?,
            stride: to_u32(p.stride)?,
            padding: to_u32(p.padding)?,
            dilation: to_u32(p.dilation)?,
            ceil_mode: p.ceil_mode,
            count_include_pad: p.count_include_pad,
        })
    }
}
