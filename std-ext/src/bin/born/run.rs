//! `born run`: NumPy in, NumPy out, with batch chunking.

use crate::io;
use anyhow::{bail, Context, Result};
use born_std::core::model::TensorDef;
use born_std::core::{DType, Interpreter, Model};
use born_std::npy::{self, NpyArray, NpyData};
use born_std::Pool;
use rayon::prelude::*;
use std::path::{Path, PathBuf};

/// One graph input's data, converted to its element type's bytes, with the row count.
struct Feed {
    bytes: Vec<u8>,
    /// Bytes of one model-sized chunk.
    chunk: usize,
    /// Number of model batches it holds (the last padded with zeros).
    chunks: usize,
    /// Rows in the data (leading dimension).
    rows: usize,
}

/// NumPy's name of an element type in a file.
pub(crate) fn file_dtype(d: &NpyData) -> &'static str {
    match d {
        NpyData::F32(_) => "float32",
        NpyData::F64(_) => "float64",
        NpyData::I8(_) => "int8",
        NpyData::U8(_) => "uint8",
        NpyData::I32(_) => "int32",
        NpyData::I64(_) => "int64",
    }
}

/// NumPy's name of a model element type.
fn model_dtype(d: DType) -> &'static str {
    d.name()
}

/// The data of `a` as `dtype`'s bytes. Data of another element type is converted only when
/// `cast` is set (to float32 from any type, to int32 from int64 when the values fit), and a
/// conversion is reported on standard error.
fn to_bytes(a: &NpyArray, dtype: DType, cast: bool, what: &str) -> Result<Vec<u8>> {
    let (have, want) = (file_dtype(&a.data), model_dtype(dtype));
    if have != want && !cast {
        bail!("{what} holds {have} data, the model's input is {want} (--cast converts it)");
    }
    let bytes = match (dtype, &a.data) {
        (DType::F32, _) => a.to_f32().iter().flat_map(|v| v.to_le_bytes()).collect(),
        (DType::I32, NpyData::I32(v)) => v.iter().flat_map(|v| v.to_le_bytes()).collect(),
        (DType::I32, NpyData::I64(v)) => v
            .iter()
            .map(|&x| {
                i32::try_from(x)
                    .with_context(|| format!("{what}: int64 value {x} does not fit int32"))
            })
            .collect::<Result<Vec<i32>>>()?
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect(),
        (DType::I8, NpyData::I8(v)) => v.iter().map(|&x| x as u8).collect(),
        (DType::U8, NpyData::U8(v)) => v.clone(),
        (DType::I64, NpyData::I64(v)) => v.iter().flat_map(|v| v.to_le_bytes()).collect(),
        _ => bail!("{what} holds {have} data, which --cast cannot convert to {want}"),
    };
    if have != want {
        eprintln!("born: {what}: converted {have} to {want} (--cast; values are not rescaled)");
    }
    Ok(bytes)
}

fn feed(m: &Model<'_>, t: &TensorDef<'_>, a: &NpyArray, file: &str, cast: bool) -> Result<Feed> {
    let want = m.shape(t);
    let dims = want.dims();
    let bytes = to_bytes(a, t.dtype, cast, &format!("input `{}` ({file})", t.name))?;
    let chunk = want.numel() * t.dtype.size();
    if a.shape == dims {
        return Ok(Feed {
            bytes,
            chunk,
            chunks: 1,
            rows: dims.first().copied().unwrap_or(1),
        });
    }
    let (Some((&b, rest)), Some((&n, arest))) = (dims.split_first(), a.shape.split_first()) else {
        bail!(
            "input {}: shape {:?} does not match the model's {dims:?}",
            t.name,
            a.shape
        );
    };
    if rest != arest || b == 0 {
        bail!(
            "input {}: shape {:?} does not match the model's {dims:?} (only the leading batch \
             dimension may differ)",
            t.name,
            a.shape
        );
    }
    Ok(Feed {
        bytes,
        chunk,
        chunks: n.div_ceil(b),
        rows: n,
    })
}

fn output_paths(outputs: &[PathBuf], n: usize) -> Result<Vec<PathBuf>> {
    if outputs.len() == n {
        return Ok(outputs.to_vec());
    }
    if outputs.len() == 1 {
        let p = &outputs[0];
        let stem = p.with_extension("");
        return Ok((0..n)
            .map(|k| PathBuf::from(format!("{}.{k}.npy", stem.display())))
            .collect());
    }
    bail!(
        "{} --output paths given, the model has {n} outputs",
        outputs.len()
    )
}

/// Where `p` is once links and `..` are resolved; for a file that does not exist yet, its
/// resolved folder joined with its name (`None` when the folder does not exist either).
fn identity(p: &Path) -> Option<PathBuf> {
    std::fs::canonicalize(p).ok().or_else(|| {
        let dir = p.parent().filter(|d| !d.as_os_str().is_empty());
        Some(
            std::fs::canonicalize(dir.unwrap_or(Path::new(".")))
                .ok()?
                .join(p.file_name()?),
        )
    })
}

/// Refuses output paths that are the model file or one of the input files.
pub(crate) fn refuse_overwrite(outputs: &[PathBuf], model: &Path, inputs: &[&Path]) -> Result<()> {
    let guarded: Vec<(&str, &Path, Option<PathBuf>)> = std::iter::once(("the model", model))
        .chain(inputs.iter().map(|&p| ("an input", p)))
        .map(|(what, p)| (what, p, identity(p)))
        .collect();
    for out in outputs {
        let Some(o) = identity(out) else { continue };
        if let Some((what, p, _)) = guarded.iter().find(|g| g.2.as_ref() == Some(&o)) {
            bail!(
                "--output {} is {what} ({}): refusing to overwrite it",
                out.display(),
                p.display()
            );
        }
    }
    Ok(())
}

/// Runs the model at `path` on `.npy` inputs and writes its outputs as `.npy` files, on
/// `threads` threads (a count from `threads::resolve`); `cast` allows inputs whose element
/// type differs from the model's.
pub fn run(
    path: &Path,
    inputs: &[String],
    outputs: &[PathBuf],
    threads: usize,
    cast: bool,
) -> Result<()> {
    let bytes = io::read(path)?;
    let m = io::load(&bytes, path)?;
    if inputs.len() != m.inputs().len() {
        bail!(
            "{} --input given, the model has {} inputs",
            inputs.len(),
            m.inputs().len()
        );
    }
    let specs: Vec<(usize, &str)> = inputs
        .iter()
        .enumerate()
        .map(|(pos, spec)| match spec.split_once('=') {
            Some((name, file)) => m
                .input_index(name)
                .map(|k| (k, file))
                .with_context(|| format!("the model has no input named {name}")),
            None => Ok((pos, spec.as_str())),
        })
        .collect::<Result<_>>()?;
    let n_out = m.outputs().len();
    let paths = output_paths(outputs, n_out)?;
    let files: Vec<&Path> = specs.iter().map(|&(_, f)| Path::new(f)).collect();
    refuse_overwrite(&paths, path, &files)?;
    let mut feeds: Vec<Option<Feed>> = (0..m.inputs().len()).map(|_| None).collect();
    for &(k, file) in &specs {
        let a = npy::read_npy(Path::new(file))?;
        let t = m.tensor(m.inputs()[k] as usize)?;
        if feeds[k].replace(feed(&m, &t, &a, file, cast)?).is_some() {
            bail!("input {} given twice", t.name);
        }
    }
    let feeds: Vec<Feed> = feeds
        .into_iter()
        .collect::<Option<Vec<_>>>()
        .context("an input was not given")?;
    let (chunks, rows) = (feeds[0].chunks, feeds[0].rows);
    if feeds.iter().any(|f| f.chunks != chunks || f.rows != rows) {
        bail!("inputs disagree on the number of rows");
    }
    let pool = Pool::new(&m)?;
    let out_defs: Vec<TensorDef<'_>> = m
        .outputs()
        .iter()
        .map(|&id| m.tensor(id as usize))
        .collect::<born_std::core::Result<_>>()?;
    let out_chunk: Vec<usize> = out_defs
        .iter()
        .map(|t| m.shape(t).numel() * t.dtype.size())
        .collect();
    let mut results: Vec<Vec<u8>> = out_chunk.iter().map(|&c| vec![0u8; c * chunks]).collect();
    let run_chunk =
        |c: usize, it: &mut Interpreter<'_, '_>| -> born_std::core::Result<Vec<Vec<u8>>> {
            for (k, f) in feeds.iter().enumerate() {
                let dst = input_bytes(it, k)?;
                let start = c * f.chunk;
                let end = (start + f.chunk).min(f.bytes.len());
                dst.fill(0);
                dst[..end - start].copy_from_slice(&f.bytes[start..end]);
            }
            it.invoke()?;
            (0..n_out).map(|k| output_bytes(it, k)).collect()
        };
    let bar = io::progress(chunks, "run");
    let workers = crate::threads::pool(threads.min(chunks).max(1))?;
    let done = workers.install(|| {
        (0..chunks)
            .into_par_iter()
            .map(|c| {
                let r = pool.run(|it| run_chunk(c, it));
                bar.inc(1);
                r
            })
            .collect::<born_std::core::Result<Vec<_>>>()
    });
    bar.finish_and_clear();
    for (c, outs) in done?.into_iter().enumerate() {
        for (k, o) in outs.into_iter().enumerate() {
            results[k][c * out_chunk[k]..(c + 1) * out_chunk[k]].copy_from_slice(&o);
        }
    }
    let b_in = m
        .shape(&m.tensor(m.inputs()[0] as usize)?)
        .dims()
        .first()
        .copied()
        .unwrap_or(1);
    for (k, t) in out_defs.iter().enumerate() {
        let mut dims = m.shape(t).dims().to_vec();
        let b = dims.first().copied().unwrap_or(1).max(1);
        // Outputs batched like the input drop the rows that padded the last chunk.
        let keep = if b == b_in { rows } else { chunks * b };
        if let Some(d) = dims.first_mut() {
            *d = keep;
        }
        let data = &results[k][..keep * (out_chunk[k] / b)];
        write_output(&paths[k], &dims, t.dtype, data)?;
        println!("wrote {} {:?} {:?}", paths[k].display(), t.dtype, dims);
    }
    Ok(())
}

/// Input `k` as raw bytes whatever its element type.
fn input_bytes<'x>(
    it: &'x mut Interpreter<'_, '_>,
    k: usize,
) -> born_std::core::Result<&'x mut [u8]> {
    it.input_raw_mut(k)
}

fn output_bytes(it: &Interpreter<'_, '_>, k: usize) -> born_std::core::Result<Vec<u8>> {
    Ok(it.output_raw(k)?.to_vec())
}

fn write_output(path: &Path, dims: &[usize], dtype: DType, data: &[u8]) -> Result<()> {
    let words = |n: usize| data.chunks_exact(n);
    match dtype {
        DType::F32 => {
            let v: Vec<f32> = words(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect();
            npy::write_npy_f32(path, dims, &v)?
        }
        DType::I32 => {
            let v: Vec<i32> = words(4)
                .map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect();
            npy::write_npy_i32(path, dims, &v)?
        }
        DType::I8 => {
            let v: Vec<i8> = data.iter().map(|&b| b as i8).collect();
            npy::write_npy_i8(path, dims, &v)?
        }
        DType::U8 | DType::Bool => npy::write_npy_u8(path, dims, data)?,
        other => anyhow::bail!("writing {} outputs to .npy is not supported", other.name()),
    }
    Ok(())
}
