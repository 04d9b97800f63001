//! From nn modules to a [`Graph`] (then `.born` bytes once a memory plan is chosen).

use super::Module;
use crate::backend::Backend;
use crate::dtype::DType;
use crate::error::Result;
use crate::model::graph::Graph;

/// The inference graph of `module` for one f32 input of shape `input_dims`: the input is
/// named `input`, the output `output`, constants carry the module's parameter names, and
/// a ReLU/ReLU6 right after a fully connected or conv op is fused into it (same bits).
pub fn to_graph<B: Backend, M: Module<B> + ?Sized>(
    module: &M,
    backend: &B,
    name: &str,
    input_dims: &[usize],
) -> Result<Graph> {
    let mut g = Graph::new(
        name,
        concat!("born-core ", env!("CARGO_PKG_VERSION"), " export"),
    );
    let x = g.add_input("input", DType::F32, input_dims)?;
    let y = module.export(backend, &mut g, x, "")?;
    if y == x {
        // An identity model still needs an op that writes its output.
        let dims = g.tensors[x].shape;
        let y = g.add_reshape(x, dims.dims(), "output")?;
        g.mark_output(y)?;
    } else {
        g.tensors[y].name = "output".into();
        g.mark_output(y)?;
    }
    g.fuse_activations()?;
    Ok(g)
}
