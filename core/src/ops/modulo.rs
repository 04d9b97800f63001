//! `Mod`: the broadcasting integer remainder (ONNX `Mod` on integer types).

use super::binary::same_type_broadcast;
use super::{Io, Op, Prepare};
use crate::error::Result;
use crate::kernels::elementwise;
use crate::model::ModelError;
use serde::{Deserialize, Serialize};

/// Integer remainder `a mod b`; inputs `a`, `b` of one integer type (`i8`, `u8`, `i16`,
/// `i32`, `i64`); output of that type and the broadcast shape. A zero divisor gives 0.
pub struct Mod;

/// Attributes of [`Mod`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModAttrs {
    /// The result has the dividend's sign (C's `%`, ONNX `fmod = 1`); otherwise the
    /// divisor's (Python's `%`, ONNX `fmod = 0`).
    pub fmod: bool,
}

impl Op for Mod {
    const ID: u16 = 106;
    const NAME: &'static str = "Mod";
    const INPUTS: (usize, usize) = (2, 2);
    type Attrs = ModAttrs;
    type Params = [u32; 2];

    fn prepare(
        a: &ModAttrs,
        cx: &mut Prepare<'_, '_>,
    ) -> core::result::Result<[u32; 2], ModelError> {
        let ty = same_type_broadcast(cx, false)?;
        Ok([u32::from(a.fmod), ty])
    }

    fn eval(p: &[u32; 2], io: &mut Io<'_>, _: &mut [u8]) -> Result<()> {
        let fmod = p[0] != 0;
        let (xs, ys, os) = (io.shape(0), io.shape(1), io.out_shape(0));
        macro_rules! int {
            ($t:ty) => {{
                let (x, y) = (io.input::<$t>(0)?, io.input::<$t>(1)?);
                elementwise::remainder(fmod, x, &xs, y, &ys, io.out::<$t>(0)?, &os)
            }};
        }
        match p[1] {
            1 => int!(i8),
            2 => int!(u8),
            3 => int!(i16),
            4 => int!(i32),
            5 => int!(i64),
            6 => int!(u16),
            7 => int!(u32),
            _ => int!(u64),
        }
    }
}
