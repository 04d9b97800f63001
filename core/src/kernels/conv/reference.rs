//! The scalar specification of [`super::conv2d`].

use super::{check_buffers, Conv2d};
use crate::Result;

/// Direct seven-loop convolution: the specification every fast path is tested against.
///
/// Same contract and errors as [`super::conv2d`] but needs no scratch. Each output element is
/// `acc = sum over (ic, ky, kx) in that order of w * x`, skipping taps that fall in the
/// padding, accumulated in f32; then `out = acc + bias[o]` (or `acc` without bias).
#[allow(clippy::too_many_arguments)]
pub fn conv2d_reference(
    p: &Conv2d,
    input: &[f32],
    input_shape: [usize; 4],
    weight: &[f32],
    weight_shape: [usize; 4],
    bias: Option<&[f32]>,
    out: &mut [f32],
) -> Result<()> {
    let g = p.geom(input_shape, weight_shape)?;
    check_buffers(&g, input, weight, bias, out)?;
    let oob = super::oob();
    let mut idx = 0;
    for n in 0..g.n {
        for o in 0..g.o {
            let grp = o / g.og;
            for oy in 0..g.oh {
                for ox in 0..g.ow {
                    let mut acc = 0.0f32;
                    for ic in 0..g.cg {
                        let c = grp * g.cg + ic;
                        for ky in 0..g.kh {
                            let iy = oy * g.sh + ky * g.dh;
                            if iy < g.pt || iy - g.pt >= g.h {
                                continue;
                            }
                            for kx in 0..g.kw {
                                let ix = ox * g.sw + kx * g.dw;
                                if ix < g.pl || ix - g.pl >= g.w {
                                    continue;
                                }
                                let xi = ((n * g.c + c) * g.h + iy - g.pt) * g.w + ix - g.pl;
                                let wi = ((o * g.cg + ic) * g.kh + ky) * g.kw + kx;
                                let xv = input.get(xi).copied().ok_or(oob)?;
                                let wv = weight.get(wi).copied().ok_or(oob)?;
                                acc += wv * xv;
                            }
                        }
                    }
                    if let Some(b) = bias {
                        acc += b.get(o).copied().ok_or(oob)?;
                    }
                    *out.get_mut(idx).ok_or(oob)? = acc;
                    idx += 1;
                }
            }
        }
    }
    Ok(())
}
