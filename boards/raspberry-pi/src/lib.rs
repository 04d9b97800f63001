//! The library behind `born-pi`: image files to model inputs, and batched inference with
//! born-core's interpreter (NEON kernels on aarch64, AVX2 on x86_64, picked at run time).
#![deny(missing_docs)]

use born_core::{DType, Interpreter, Model};
use born_std::npy::{self, NpyData};

/// Why inputs or a model cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    /// No images at all.
    #[error("{what} holds no images")]
    Empty {
        /// Which input.
        what: String,
    },
    /// Raw bytes whose count is not a whole number of images.
    #[error(
        "{what}: {len} bytes is not a whole number of images of {per_image} u8 pixels{hint} \
         (raw input is N*{per_image} bytes; or give an .npy file)"
    )]
    RawLength {
        /// Which input.
        what: String,
        /// Bytes given.
        len: usize,
        /// Elements one image has in the model's input.
        per_image: usize,
        /// ", 28x28" or "".
        hint: &'static str,
    },
    /// An `.npy` array whose shape does not hold images of the model's size.
    #[error(
        "{what}: array of shape {shape:?} does not fit the model's input {model:?}: expected \
         [N, ...] with {per_image} elements per image (e.g. [N,1,28,28] or [N,784] for MNIST)"
    )]
    Shape {
        /// Which input.
        what: String,
        /// The array's shape.
        shape: Vec<usize>,
        /// The model's input dimensions.
        model: Vec<usize>,
        /// Elements per image.
        per_image: usize,
    },
    /// An `.npy` element type other than f32 and u8.
    #[error("{what}: element type {descr} is not supported: give float32 (used as is) or uint8 (scaled by 1/255)")]
    Dtype {
        /// Which input.
        what: String,
        /// The array's descriptor, e.g. `<f8`.
        descr: &'static str,
    },
    /// A malformed `.npy` file.
    #[error("{what}: {source}")]
    Npy {
        /// Which input.
        what: String,
        /// What the reader found.
        source: npy::NpyError,
    },
    /// The model's first input or output is not f32, or has no elements.
    #[error("the model's {which} is {dtype:?}{dims:?}; born-pi needs f32 with a batch dimension")]
    Model {
        /// "input 0" or "output 0".
        which: &'static str,
        /// Its element type.
        dtype: DType,
        /// Its dimensions.
        dims: Vec<usize>,
    },
    /// The interpreter failed.
    #[error("interpreter: {0}")]
    Core(#[from] born_core::Error),
}

/// Images ready for the model: `n` images of `per_image` f32 each.
#[derive(Clone, Debug, PartialEq)]
pub struct Images {
    /// Number of images.
    pub n: usize,
    /// Elements per image.
    pub per_image: usize,
    /// `n * per_image` values, image after image.
    pub data: Vec<f32>,
}

impl Images {
    /// Image `i` (`None` past the end).
    pub fn get(&self, i: usize) -> Option<&[f32]> {
        let start = i.checked_mul(self.per_image)?;
        self.data.get(start..start.checked_add(self.per_image)?)
    }
}

/// What the model takes and gives per invoke.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModelShape {
    /// Input 0's dimensions.
    pub input: Vec<usize>,
    /// Images per invoke (input 0's first dimension; 1 for a rank-1 input).
    pub batch: usize,
    /// Elements of one image.
    pub per_image: usize,
    /// Values of output 0 per image (the logits).
    pub per_output: usize,
}

impl ModelShape {
    /// Reads and checks the shapes of `model`'s first input and output (both f32).
    pub fn of(model: &Model<'_>) -> Result<ModelShape, InputError> {
        let tensor = |id: Option<&u32>, which: &'static str| -> Result<_, InputError> {
            let id = id.ok_or(born_core::Error::IndexOutOfRange {
                op: "born-pi",
                what: which,
                index: 0,
                len: 0,
            })?;
            let def = model.tensor(*id as usize)?;
            let dims = model.shape(&def).dims().to_vec();
            if def.dtype != DType::F32 || dims.iter().product::<usize>() == 0 {
                return Err(InputError::Model {
                    which,
                    dtype: def.dtype,
                    dims,
                });
            }
            Ok(dims)
        };
        let input = tensor(model.inputs().first(), "input 0")?;
        let output = tensor(model.outputs().first(), "output 0")?;
        let (batch, per_image) = match input.split_first() {
            Some((&b, rest)) if !rest.is_empty() => (b, rest.iter().product()),
            _ => (1, input.iter().product()),
        };
        let out_len: usize = output.iter().product();
        if out_len % batch != 0 {
            return Err(InputError::Model {
                which: "output 0",
                dtype: DType::F32,
                dims: output,
            });
        }
        Ok(ModelShape {
            input,
            batch,
            per_image,
            per_output: out_len / batch,
        })
    }
}

/// Turns file contents into images for `shape`: an `.npy` array (recognised by its magic
/// bytes) of f32 (used as is) or u8 (scaled by 1/255) with shape `[N, ...]` holding
/// `per_image` elements per image (or exactly one image), or else raw u8 pixels, `N *
/// per_image` bytes, scaled by 1/255. `what` names the input in errors.
pub fn parse_images(bytes: &[u8], shape: &ModelShape, what: &str) -> Result<Images, InputError> {
    let per_image = shape.per_image;
    let what = what.to_string();
    let (n, data) = if bytes.starts_with(b"\x93NUMPY") {
        let a = npy::read_npy_bytes(bytes).map_err(|source| InputError::Npy {
            what: what.clone(),
            source,
        })?;
        let total: usize = a.shape.iter().product();
        let n = match a.shape.split_first() {
            Some((&n, rest)) if rest.iter().product::<usize>() == per_image => n,
            _ if total == per_image => 1,
            _ => {
                return Err(InputError::Shape {
                    what,
                    shape: a.shape,
                    model: shape.input.clone(),
                    per_image,
                })
            }
        };
        let data = match a.data {
            NpyData::F32(v) => v,
            NpyData::U8(v) => scale_u8(&v),
            other => {
                return Err(InputError::Dtype {
                    what,
                    descr: other.descr(),
                })
            }
        };
        (n, data)
    } else {
        if per_image == 0 || bytes.len() % per_image != 0 {
            return Err(InputError::RawLength {
                what,
                len: bytes.len(),
                per_image,
                hint: if per_image == 784 { ", 28x28" } else { "" },
            });
        }
        (bytes.len() / per_image, scale_u8(bytes))
    };
    if n == 0 {
        return Err(InputError::Empty { what });
    }
    Ok(Images { n, per_image, data })
}

fn scale_u8(v: &[u8]) -> Vec<f32> {
    v.iter().map(|&p| f32::from(p) / 255.0).collect()
}

/// Index of the largest value (the first on ties; NaN never wins; 0 for all-NaN).
pub fn argmax(v: &[f32]) -> usize {
    let mut best = (0, f32::NEG_INFINITY);
    for (i, &x) in v.iter().enumerate() {
        if x > best.1 {
            best = (i, x);
        }
    }
    best.0
}

/// An interpreter bound to its model, run image batch by image batch.
pub struct Session<'m, 'a> {
    it: Interpreter<'m, 'a>,
    shape: ModelShape,
}

impl<'m, 'a> Session<'m, 'a> {
    /// Bytes of arena [`Session::new`] needs for `model`.
    pub fn arena_len(model: &Model<'_>) -> Result<usize, InputError> {
        Ok(Interpreter::arena_len(model)?)
    }

    /// Binds `model` to `arena` (at least [`Session::arena_len`] bytes).
    pub fn new(model: &'m Model<'m>, arena: &'a mut [u8]) -> Result<Self, InputError> {
        let shape = ModelShape::of(model)?;
        Ok(Session {
            it: Interpreter::new(model, arena)?,
            shape,
        })
    }

    /// The model's input and output sizes.
    pub fn shape(&self) -> &ModelShape {
        &self.shape
    }

    /// Runs images `first..first + batch` (fewer at the end, the rest of the batch zeros) and
    /// returns the logits of those images, `per_output` each.
    pub fn run_batch(&mut self, images: &Images, first: usize) -> Result<&[f32], InputError> {
        if images.per_image != self.shape.per_image {
            return Err(InputError::Shape {
                what: "images".into(),
                shape: vec![images.n, images.per_image],
                model: self.shape.input.clone(),
                per_image: self.shape.per_image,
            });
        }
        let b = self.shape.batch;
        let count = images.n.saturating_sub(first).min(b);
        let start = first.saturating_mul(images.per_image);
        let src = images
            .data
            .get(start..start + count * images.per_image)
            .unwrap_or_default();
        let input = self.it.input_mut::<f32>(0)?;
        let (head, tail) = input.split_at_mut(src.len().min(input.len()));
        head.copy_from_slice(&src[..head.len()]);
        tail.fill(0.0);
        self.it.invoke()?;
        let out = self.it.output::<f32>(0)?;
        Ok(out.get(..count * self.shape.per_output).unwrap_or_default())
    }

    /// Logits of every image, image after image.
    pub fn run_all(&mut self, images: &Images) -> Result<Vec<Vec<f32>>, InputError> {
        let per = self.shape.per_output;
        let mut all = Vec::with_capacity(images.n);
        let mut first = 0;
        while first < images.n {
            let out = self.run_batch(images, first)?;
            all.extend(out.chunks_exact(per).map(<[f32]>::to_vec));
            first += self.shape.batch;
        }
        Ok(all)
    }
}

/// Latency percentiles over per-invoke durations, in microseconds.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Latency {
    /// Mean.
    pub mean: f64,
    /// Minimum.
    pub min: f64,
    /// Median.
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 99th percentile.
    pub p99: f64,
    /// Maximum.
    pub max: f64,
}

impl Latency {
    /// Summary of `micros` (`None` when empty).
    pub fn of(micros: &mut [f64]) -> Option<Latency> {
        if micros.is_empty() {
            return None;
        }
        micros.sort_by(f64::total_cmp);
        let n = micros.len();
        let at = |q: f64| micros[((n - 1) as f64 * q).round() as usize];
        Some(Latency {
            mean: micros.iter().sum::<f64>() / n as f64,
            min: micros[0],
            p50: at(0.5),
            p90: at(0.9),
            p99: at(0.99),
            max: micros[n - 1],
        })
    }
}
