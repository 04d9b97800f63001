//! `born run`: NumPy in, NumPy out, with batch chunking.

use crate::io;
use anyhow::{bail, Context, Result};
use born_std::core::model::TensorDef;
use born_std::core::{DType, Interpreter, Model};
use born_std::npy::{self, NpyArray, NpyData};
use born_std::Pool;
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

fn to_bytes(a: &NpyArray, dtype: DType) -> Result<Vec<u8>> {
    Ok(match (dtype, &a.data) {
        (DType::F32, _) => a.to_f32().iter().flat_map(|v| v.to_le_bytes()).collect(),
        (DType::I32, NpyData::I32(v)) => v.iter().flat_map(|v| v.to_le_bytes()).collect(),
        (DType::I32, NpyData::I64(v)) => v
            .iter()
            .map(|&x| i32::try_from(x).context("int64 input value does not fit int32"))
            .collect::<Result<Vec<i32>>>()?
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect(),
        (DType::I8, NpyData::I8(v)) => v.iter().map(|&x| x as u8).collect(),
        (DType::U8, NpyData::U8(v)) => v.clone(),
        (want, _) => bail!(
            "input needs {want:?} data, the file holds {}",
            a.data.descr()
        ),
    })
}

fn feed(m: &Model<'_>, t: &TensorDef<'_>, a: &NpyArray) -> Result<Feed> {
    let want = m.shape(t);
    let dims = want.dims();
    let bytes = to_bytes(a, t.dtype)?;
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

pub fn run(path: &Path, inputs: &[String], outputs: &[PathBuf], threads: usize) -> Result<()> {
    let bytes = io::read(path)?;
    let m = io::load(&bytes, path)?;
    if inputs.len() != m.inputs().len() {
        bail!(
            "{} --input given, the model has {} inputs",
            inputs.len(),
            m.inputs().len()
        );
    }
    let mut feeds: Vec<Option<Feed>> = (0..m.inputs().len()).map(|_| None).collect();
    for (pos, spec) in inputs.iter().enumerate() {
        let (k, file) = match spec.split_once('=') {
            Some((name, file)) => (
                m.input_index(name)
                    .with_context(|| format!("the model has no input named {name}"))?,
                file,
            ),
            None => (pos, spec.as_str()),
        };
        let a = npy::read_npy(Path::new(file))?;
        let t = m.tensor(m.inputs()[k] as usize)?;
        if feeds[k].replace(feed(&m, &t, &a)?).is_some() {
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
    let n_out = m.outputs().len();
    let paths = output_paths(outputs, n_out)?;
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
    let threads = threads.clamp(1, chunks.max(1));
    let next = std::sync::atomic::AtomicUsize::new(0);
    let collected = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| loop {
                let c = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if c >= chunks {
                    break;
                }
                let r = pool.run(|it| run_chunk(c, it));
                bar.inc(1);
                if let Ok(mut v) = collected.lock() {
                    v.push((c, r));
                }
            });
        }
    });
    bar.finish_and_clear();
    for (c, r) in collected.into_inner().unwrap_or_default() {
        for (k, o) in r?.into_iter().enumerate() {
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
    match it.input_def(k)?.dtype {
        DType::F32 => it.input_mut::<f32>(k).map(bytemuck_bytes_mut),
        DType::I32 => it.input_mut::<i32>(k).map(bytemuck_bytes_mut),
        DType::I8 => it.input_mut::<i8>(k).map(bytemuck_bytes_mut),
        DType::U8 => it.input_mut::<u8>(k),
    }
}

fn bytemuck_bytes_mut<T: born_std::core::Element>(v: &mut [T]) -> &mut [u8] {
    bytemuck::cast_slice_mut(v)
}

fn output_bytes(it: &Interpreter<'_, '_>, k: usize) -> born_std::core::Result<Vec<u8>> {
    Ok(match it.output_def(k)?.dtype {
        DType::F32 => bytemuck::cast_slice(it.output::<f32>(k)?).to_vec(),
        DType::I32 => bytemuck::cast_slice(it.output::<i32>(k)?).to_vec(),
        DType::I8 => bytemuck::cast_slice(it.output::<i8>(k)?).to_vec(),
        DType::U8 => it.output::<u8>(k)?.to_vec(),
    })
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
        DType::U8 => npy::write_npy_u8(path, dims, data)?,
    }
    Ok(())
}
