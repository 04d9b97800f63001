//! `Split`: one tensor cut along an axis into several outputs (any element type).

use super::softmax::resolve_axis;
use super::{Io, Op, Prepare, MAX_OUTPUTS};
use crate::error::Result;
use crate::kernels::tensor;
use crate::model::ModelError;
use serde::{Deserialize, Serialize};

/// Split along `axis` into one output per listed output, output `k` taking `sizes[k]`
/// entries of the axis (the sizes of the listed outputs must add up to the axis length).
pub struct Split;

/// Attributes of [`Split`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SplitAttrs {
    /// The axis (negative counts from the end).
    pub axis: i32,
    /// Length along the axis of each output (entries past the output count are 0).
    pub sizes: [u32; MAX_OUTPUTS],
}

/// Prepared params of [`Split`]: the `[outer, axis, inner bytes]` view and the lengths.
#[repr(C)]
#[derive(Clone, Copy, Debug, bytemuck::Pod, bytemuck::Zeroable)]
pub struct SplitParams {
    outer: u32,
    inner: u32,
    lens: [u32; MAX_OUTPUTS],
}

impl Op for Split {
    const ID: u16 = 24;
    const NAME: &'static str = "Split";
    const INPUTS: (usize, usize) = (1, 1);
    const OUTPUTS: (usize, usize) = (1, MAX_OUTPUTS);
    type Attrs = SplitAttrs;
    type Params = SplitParams;

    fn prepare(
        a: &SplitAttrs,
        cx: &mut Prepare<'_, '_>,
    ) -> core::result::Result<SplitParams, ModelError> {
        let x = cx.input(0)?;
        let axis = resolve_axis(i64::from(a.axis), x.shape.rank())
            .ok_or(cx.attr_err("split axis out of range"))?;
        let n = cx.n_outputs();
        let sizes = &a.sizes[..n];
        if sizes.iter().map(|&s| s as usize).sum::<usize>() != x.shape.dims()[axis]
            || sizes.contains(&0)
            || a.sizes[n..].iter().any(|&s| s != 0)
        {
            return Err(cx.attr_err("split sizes must be positive and add up to the axis"));
        }
        let d = x.shape.dims();
        for (k, &s) in sizes.iter().enumerate() {
            let mut dims = [0usize; crate::shape::MAX_RANK];
            dims[..d.len()].copy_from_slice(d);
            dims[axis] = s as usize;
            let shape = cx.shape(&dims[..d.len()])?;
            cx.set_output(k, x.dtype, shape)?;
        }
        Ok(SplitParams {
            outer: d[..axis].iter().product::<usize>() as u32,
            inner: (d[axis + 1..].iter().product::<usize>() * x.dtype.size()) as u32,
            lens: a.sizes,
        })
    }

    fn eval(p: &SplitParams, io: &mut Io<'_>, _: &mut [u8]) -> Result<()> {
        // Split as bytes: the inner extent is counted in bytes, so one kernel serves every
        // element type.
        let x = io.input_bytes(0)?.ok_or(super::io::misaligned())?;
        let n = io.n_outputs();
        let lens = p.lens.map(|l| l as usize);
        let mut outs = io.outs_bytes()?;
        tensor::split(
            x,
            p.outer as usize,
            p.inner as usize,
            &lens[..n],
            &mut outs[..],
        )?;
        Ok(())
    }
}
