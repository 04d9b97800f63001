//! `GatherElements`: elements of a tensor picked along an axis by a same-rank index tensor
//! (ONNX `GatherElements`, `numpy.take_along_axis`; data of any element type, indices
//! `i32` or `i64`).

use super::gather::{index_type, GatherAttrs};
use super::movement::{self, by_size};
use super::{Io, Op, Prepare};
use crate::error::Result;
use crate::kernels::tensor;
use crate::model::ModelError;

/// GatherElements; inputs `data` (any element type) and `indices` (`i32` or `i64`, of
/// `data`'s rank, each dimension off the axis at most `data`'s); output of the indices'
/// shape with `out[j] = data[j with its coordinate along axis replaced by indices[j]]`. An
/// index outside `-len..len` of the axis is an error at invoke. `i32` indices are widened
/// into scratch (8 bytes per index) first.
pub struct GatherElements;

/// Prepared params of [`GatherElements`].
#[repr(C)]
#[derive(Clone, Copy, Debug, bytemuck::Pod, bytemuck::Zeroable)]
pub struct GatherElementsParams {
    size: u32,
    axis: u32,
    wide: u32,
}

/// The checks of an element-wise gather or scatter (data input 0, indices input 1): the
/// resolved `axis`, whether the indices are `i64`, and their shape (the data's rank, every
/// dimension off the axis at most the data's). `bad_axis` and `too_big` are the errors'
/// texts.
pub(crate) fn element_indices(
    cx: &Prepare<'_, '_>,
    axis: i32,
    bad_axis: &'static str,
    too_big: &'static str,
) -> core::result::Result<(usize, bool, crate::shape::Shape), ModelError> {
    let d = cx.input(0)?.shape;
    let d = d.dims();
    let axis = movement::axis(cx, axis, d.len(), bad_axis)?;
    let wide = index_type(cx, 1)?;
    let idx = cx.input(1)?.shape;
    if idx.rank() != d.len() {
        return Err(cx.shape_err(1, "rank differs from the data's"));
    }
    let fits = |(i, (&n, &m)): (usize, (&usize, &usize))| i == axis || n <= m;
    if !idx.dims().iter().zip(d).enumerate().all(fits) {
        return Err(cx.shape_err(1, too_big));
    }
    Ok((axis, wide, idx))
}

fn run<const N: usize>(p: &GatherElementsParams, idx: &[i64], io: &mut Io<'_>) -> Result<()> {
    let x = movement::input::<N>(io, 0)?;
    let (xs, is) = (io.shape(0), io.shape(1));
    let out = movement::output::<N>(io, 0)?;
    tensor::gather_elements(x, xs.dims(), i64::from(p.axis), idx, is.dims(), out)
}

impl Op for GatherElements {
    const ID: u16 = 34;
    const NAME: &'static str = "GatherElements";
    const INPUTS: (usize, usize) = (2, 2);
    type Attrs = GatherAttrs;
    type Params = GatherElementsParams;

    fn prepare(
        a: &GatherAttrs,
        cx: &mut Prepare<'_, '_>,
    ) -> core::result::Result<GatherElementsParams, ModelError> {
        let x = cx.input(0)?;
        let (axis, wide, idx) = element_indices(
            cx,
            a.axis,
            "gather axis out of range",
            "a dimension off the gather axis exceeds the data's",
        )?;
        cx.set_output(0, x.dtype, idx)?;
        if !wide {
            let n = idx.checked_numel().ok().and_then(|n| n.checked_mul(8));
            let n = n.filter(|&n| movement::word(n).is_some());
            cx.set_scratch(n.ok_or(cx.shape_err(1, "size does not fit 32 bits"))?);
        }
        Ok(GatherElementsParams {
            size: movement::size_word(x.dtype),
            axis: axis as u32,
            wide: u32::from(wide),
        })
    }

    fn eval(p: &GatherElementsParams, io: &mut Io<'_>, scratch: &mut [u8]) -> Result<()> {
        let idx: &[i64] = if p.wide != 0 {
            io.input::<i64>(1)?
        } else {
            let src = io.input::<i32>(1)?;
            let bytes = scratch
                .get_mut(..src.len() * 8)
                .ok_or(super::io::misaligned())?;
            let buf: &mut [i64] =
                bytemuck::try_cast_slice_mut(bytes).map_err(|_| super::io::misaligned())?;
            for (b, &i) in buf.iter_mut().zip(src) {
                *b = i64::from(i);
            }
            buf
        };
        by_size!(p.size, run(p, idx, io))
    }
}
