//! The reference MNIST models (the same layers as `scripts/compare_torch.py` builds in
//! PyTorch).

use born_core::backend::Backend;
use born_core::nn::{Conv2d, Flatten, Linear, MaxPool2d, ReLU, Sequential};
use born_core::{Result, Rng};

/// Which MNIST model to build. Both take `[N, 1, 28, 28]` images and give `[N, 10]` logits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MnistModel {
    /// Flatten, Linear(784, 128), ReLU, Linear(128, 10).
    Mlp,
    /// Conv(1->32, 3x3, pad 1), ReLU, MaxPool 2, Conv(32->64, 3x3, pad 1), ReLU, MaxPool 2,
    /// Flatten, Linear(3136, 128), ReLU, Linear(128, 10).
    Cnn,
}

impl MnistModel {
    /// Lower-case name (`mlp`, `cnn`).
    pub fn name(self) -> &'static str {
        match self {
            MnistModel::Mlp => "mlp",
            MnistModel::Cnn => "cnn",
        }
    }

    /// Epochs of the reference recipe (Adam, lr 1e-3, batch 64, cosine schedule) that reach
    /// 97.5% (MLP) and 99.0% (CNN) on the MNIST test set: 10 and 4.
    pub fn default_epochs(self) -> usize {
        match self {
            MnistModel::Mlp => 10,
            MnistModel::Cnn => 4,
        }
    }

    /// The model with PyTorch's default initialisation drawn from `rng`.
    pub fn build<B: Backend + 'static>(self, backend: &B, rng: &mut Rng) -> Result<Sequential<B>>
    where
        B::Tensor: Send + Sync,
    {
        Ok(match self {
            MnistModel::Mlp => Sequential::new()
                .push(Flatten)
                .push(Linear::new(784, 128, backend, rng)?)
                .push(ReLU)
                .push(Linear::new(128, 10, backend, rng)?),
            MnistModel::Cnn => Sequential::new()
                .push(Conv2d::new(1, 32, 3, backend, rng)?.padding(1))
                .push(ReLU)
                .push(MaxPool2d::new(2))
                .push(Conv2d::new(32, 64, 3, backend, rng)?.padding(1))
                .push(ReLU)
                .push(MaxPool2d::new(2))
                .push(Flatten)
                .push(Linear::new(64 * 7 * 7, 128, backend, rng)?)
                .push(ReLU)
                .push(Linear::new(128, 10, backend, rng)?),
        })
    }
}

impl std::str::FromStr for MnistModel {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "mlp" => Ok(MnistModel::Mlp),
            "cnn" => Ok(MnistModel::Cnn),
            _ => Err(format!("unknown model {s:?} (expected mlp or cnn)")),
        }
    }
}
