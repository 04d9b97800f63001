use crate::backend::Backend;
use crate::error::{Error, Result};
use crate::rng::Rng;
use crate::tensor::Tensor;

/// Lookup table from token ids to vectors: `ids [...] -> [..., dim]`.
///
/// Not a [`super::Module`], since its input is integer ids rather than an f32 tensor.
#[derive(Clone, Debug)]
pub struct Embedding<B: Backend> {
    /// Table `[vocab, dim]`, initialised N(0, 1) like PyTorch's `nn.Embedding`.
    pub weight: B::Tensor,
    vocab: usize,
    dim: usize,
}

impl<B: Backend> Embedding<B> {
    /// A `vocab x dim` table.
    pub fn new(vocab: usize, dim: usize, backend: &B, rng: &mut Rng) -> Result<Self> {
        if vocab == 0 || dim == 0 {
            return Err(Error::ZeroDim {
                op: "Embedding",
                what: "vocabulary or dimension",
            });
        }
        Ok(Embedding {
            weight: backend.to_device(&Tensor::randn(&[vocab, dim], rng)?)?,
            vocab,
            dim,
        })
    }

    /// Rows for `ids`; an id outside `0..vocab` is an [`Error::IndexOutOfRange`].
    pub fn forward(&self, backend: &B, ids: &Tensor<i32>) -> Result<B::Tensor> {
        backend.embedding(&self.weight, ids)
    }

    /// Vocabulary size.
    pub fn vocab(&self) -> usize {
        self.vocab
    }

    /// Vector size.
    pub fn dim(&self) -> usize {
        self.dim
    }
}
