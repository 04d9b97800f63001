//! Cross-crate integration tests live in `tests/tests/`; this library holds what several of
//! them share.

use born_std::core::interp::Interpreter;
use born_std::core::model::graph::AlignedBytes;
use born_std::core::Model;

/// One output of a model run: element type, dimensions and little-endian bytes.
pub type Output = (born_std::core::dtype::DType, Vec<usize>, Vec<u8>);

/// Loads `.born` `bytes`, writes `inputs` (little-endian bytes of each graph input, in
/// order), invokes once and returns every output.
pub fn run_model(bytes: &[u8], inputs: &[&[u8]]) -> born_std::core::Result<Vec<Output>> {
    let bytes = AlignedBytes::from_slice(bytes);
    let model = Model::from_bytes(&bytes)?;
    let mut arena = vec![0u8; Interpreter::arena_len(&model)?];
    let mut it = Interpreter::new(&model, &mut arena)?;
    for (k, x) in inputs.iter().enumerate() {
        let dst = it.input_raw_mut(k)?;
        if dst.len() != x.len() {
            return Err(born_std::core::Error::DimMismatch {
                op: "run_model",
                what: "input bytes",
                expected: dst.len(),
                got: x.len(),
            });
        }
        dst.copy_from_slice(x);
    }
    it.invoke()?;
    (0..model.meta().n_outputs as usize)
        .map(|k| {
            let def = it.output_def(k)?;
            let dims = def
                .dims
                .to_shape()
                .map(|s| s.dims().to_vec())
                .unwrap_or_default();
            Ok((def.dtype, dims, it.output_raw(k)?.to_vec()))
        })
        .collect()
}

/// The worst `|a - b| / (atol + rtol * |b|)` over the elements: at most 1 when `a` is
/// within tolerance of the reference `b` everywhere; infinite where exactly one of a pair
/// is NaN, or the lengths differ.
pub fn tolerance_ratio(a: &[f32], b: &[f32], rtol: f32, atol: f32) -> f32 {
    if a.len() != b.len() {
        return f32::INFINITY;
    }
    a.iter()
        .zip(b)
        .map(|(&x, &y)| match (x.is_nan(), y.is_nan()) {
            (true, true) => 0.0,
            (false, false) if x == y => 0.0,
            (false, false) => (x - y).abs() / (atol + rtol * y.abs()),
            _ => f32::INFINITY,
        })
        .fold(0.0, f32::max)
}
