//! The loader rejects corrupted `.born` files with the specific [`ModelError`], never a
//! panic. Structural corruptions edit the bytes; semantic ones re-encode one record with
//! postcard and recompute the CRC (see `common`) so that the deeper check is what fires.

#![cfg(feature = "alloc")]

mod common;

use born_core::kernels::conv::Conv2d as Geometry;
use born_core::model::format::{
    Dims, Quant, Role, Section, Storage, TensorDef, CRC_LEN, PREAMBLE_LEN, SECTIONS, VERSION,
};
use born_core::model::graph::{encode_attrs, AlignedBytes};
use born_core::ops::conv2d::{Conv2d as ConvOp, ConvAttrs};
use born_core::ops::fully_connected::FullyConnected;
use born_core::ops::norm::{EpsAttrs, RmsNorm};
use born_core::ops::q_add::{QAdd, QAddAttrs};
use born_core::ops::q_fully_connected::{Clamp, QFullyConnected};
use born_core::ops::q_softmax::{QSoftmax, QSoftmaxAttrs};
use born_core::ops::quantize::Dequantize;
use born_core::ops::Op;
use born_core::{DType, Interpreter, Model, ModelError, Shape};
use common::*;
use proptest::prelude::*;

fn shape(d: &[usize]) -> Shape {
    Shape::new(d).unwrap()
}

/// A valid file and its bytes as a `Vec` to cut or flip.
fn cnn_bytes() -> AlignedBytes {
    let b = encode(&small_cnn_graph(7));
    assert_loads(&b);
    b
}

fn fc_bytes() -> AlignedBytes {
    let b = encode(&fc_graph());
    assert_loads(&b);
    b
}

fn int8_bytes() -> AlignedBytes {
    let b = encode(&int8_graph());
    assert_loads(&b);
    b
}

/// `bytes` changed by `f` on a copy, CRC left as it was.
fn raw_edit(bytes: &[u8], f: impl FnOnce(&mut Vec<u8>)) -> AlignedBytes {
    let mut v = bytes.to_vec();
    f(&mut v);
    AlignedBytes::from_slice(&v)
}

/// `bytes` changed by `f` on a copy, then the CRC recomputed.
fn raw_edit_crc(bytes: &[u8], f: impl FnOnce(&mut Vec<u8>)) -> AlignedBytes {
    raw_edit(bytes, |v| {
        f(v);
        fix_crc(v);
    })
}

// ---------------------------------------------------------------- preamble and framing

#[test]
fn truncated_at_every_section_boundary_names_the_section() {
    let b = cnn_bytes();
    let cut = |n: usize| model_err(&AlignedBytes::from_slice(&b[..n]));
    for n in [0, 1, 4, 12, PREAMBLE_LEN - 1] {
        assert_eq!(
            cut(n),
            ModelError::Truncated {
                section: Section::Preamble,
                needed: PREAMBLE_LEN,
                len: n
            }
        );
    }
    for (s, &section) in SECTIONS.iter().enumerate() {
        let [off, len] = section_range(&b, s);
        assert!(len > 1, "{section:?} is too short in the base model");
        // Cut at the section's first byte, one byte into it and one byte short of its end.
        for n in [off, off + 1, off + len - 1] {
            assert_eq!(
                cut(n),
                ModelError::Truncated {
                    section,
                    needed: off + len,
                    len: n
                },
                "cut at {n}"
            );
        }
    }
    // Everything but (part of) the CRC.
    for n in [b.len() - CRC_LEN, b.len() - 1] {
        assert_eq!(
            cut(n),
            ModelError::Truncated {
                section: Section::Checksum,
                needed: b.len(),
                len: n
            }
        );
    }
}

#[test]
fn truncated_file_with_a_huge_section_length_names_it() {
    // off + len past u32::MAX: must not overflow on 32-bit targets.
    let b = cnn_bytes();
    let mut v = b.to_vec();
    put_u32(&mut v, 16 + 8 * TENSORS, u32::MAX);
    v.truncate(v.len() - 1);
    let e = model_err(&AlignedBytes::from_slice(&v));
    assert!(
        matches!(
            e,
            ModelError::Truncated {
                section: Section::Tensors,
                ..
            }
        ),
        "{e:?}"
    );
}

#[test]
fn truncated_at_random_points_is_rejected() {
    let b = cnn_bytes();
    let mut state = 0x9e37_79b9_u32;
    for _ in 0..500 {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        let n = state as usize % b.len();
        let e = model_err(&AlignedBytes::from_slice(&b[..n]));
        assert!(
            matches!(e, ModelError::Truncated { len, .. } if len == n),
            "cut at {n}: {e:?}"
        );
    }
}

#[test]
fn bad_magic_is_rejected() {
    let b = raw_edit(&fc_bytes(), |v| v[0..4].copy_from_slice(b"BORM"));
    assert_eq!(model_err(&b), ModelError::BadMagic { found: *b"BORM" });
    let b = raw_edit(&fc_bytes(), |v| v[0..4].copy_from_slice(b"\x7fELF"));
    assert_eq!(model_err(&b), ModelError::BadMagic { found: *b"\x7fELF" });
}

#[test]
fn unsupported_version_is_rejected() {
    for v in [0u16, VERSION + 1, u16::MAX] {
        let b = raw_edit(&fc_bytes(), |f| f[4..6].copy_from_slice(&v.to_le_bytes()));
        assert_eq!(
            model_err(&b),
            ModelError::UnsupportedVersion {
                found: v,
                supported: VERSION
            }
        );
    }
}

#[test]
fn nonzero_flags_or_reserved_bytes_are_rejected() {
    let expected = ModelError::Decode {
        section: Section::Preamble,
        index: 0,
    };
    for at in [6, 7, 60, 61, 62, 63] {
        // With and without a matching CRC: the preamble check comes first either way.
        let b = raw_edit(&fc_bytes(), |v| v[at] = 1);
        assert_eq!(model_err(&b), expected, "byte {at}");
        let b = raw_edit_crc(&fc_bytes(), |v| v[at] = 0x80);
        assert_eq!(model_err(&b), expected, "byte {at}");
    }
}

#[test]
fn file_length_mismatch_is_rejected() {
    let base = fc_bytes();
    let n = base.len();
    // Extra bytes after the CRC.
    for extra in [1, 3, 16] {
        let b = raw_edit(&base, |v| v.extend(std::iter::repeat_n(0u8, extra)));
        assert_eq!(
            model_err(&b),
            ModelError::FileLength {
                declared: n,
                actual: n + extra
            }
        );
    }
    // A declared length shorter than the bytes, and one too short for any file.
    for declared in [n - 4, 8, 0] {
        let b = raw_edit(&base, |v| put_u32(v, 8, declared as u32));
        assert_eq!(
            model_err(&b),
            ModelError::FileLength {
                declared,
                actual: n
            }
        );
    }
}

#[test]
fn flipped_byte_in_each_section_gives_checksum() {
    let base = cnn_bytes();
    let body = base.len() - CRC_LEN;
    let stored = u32::from_le_bytes(base[body..].try_into().unwrap());
    let mut spots: Vec<usize> = (0..6)
        .flat_map(|s| {
            let [off, len] = section_range(&base, s);
            [off, off + len / 2, off + len - 1]
        })
        .collect();
    // The padding before the weights section is covered too.
    let [woff, _] = section_range(&base, WEIGHTS);
    let [ooff, olen] = section_range(&base, OPS);
    if woff > ooff + olen {
        spots.push(woff - 1);
    }
    for at in spots {
        for mask in [0x01u8, 0x80, 0xff] {
            let b = raw_edit(&base, |v| v[at] ^= mask);
            let computed = crc32fast::hash(&b[..body]);
            assert_eq!(
                model_err(&b),
                ModelError::Checksum { stored, computed },
                "byte {at} ^ {mask:#x}"
            );
        }
    }
    // A flipped bit in the CRC itself.
    let b = raw_edit(&base, |v| v[body] ^= 4);
    assert_eq!(
        model_err(&b),
        ModelError::Checksum {
            stored: stored ^ 4,
            computed: stored
        }
    );
}

#[test]
fn section_out_of_bounds_is_rejected() {
    let base = fc_bytes();
    let body = base.len() - CRC_LEN;
    for (s, &section) in SECTIONS.iter().enumerate() {
        let [off, len] = section_range(&base, s);
        // Longer than the file, as long as u32 allows, and an offset near u32::MAX.
        let cases = [
            (off as u32, (body - off + 1) as u32),
            (off as u32, u32::MAX),
            (u32::MAX - 1, len as u32),
        ];
        for (o, l) in cases {
            let b = raw_edit_crc(&base, |v| {
                put_u32(v, 12 + 8 * s, o);
                put_u32(v, 16 + 8 * s, l);
            });
            assert_eq!(
                model_err(&b),
                ModelError::SectionBounds { section },
                "({o}, {l})"
            );
        }
    }
}

#[test]
fn sections_out_of_order_or_overlapping_are_rejected() {
    let base = fc_bytes();
    // Meta and tensor index swapped.
    let b = raw_edit_crc(&base, |v| {
        let (m, t) = (section_range(v, META), section_range(v, TENSOR_INDEX));
        put_u32(v, 12, t[0] as u32);
        put_u32(v, 16, t[1] as u32);
        put_u32(v, 20, m[0] as u32);
        put_u32(v, 24, m[1] as u32);
    });
    assert_eq!(
        model_err(&b),
        ModelError::SectionBounds {
            section: Section::TensorIndex
        }
    );
    // The tensors section starting inside the tensor index.
    let b = raw_edit_crc(&base, |v| {
        let [ioff, _] = section_range(v, TENSOR_INDEX);
        put_u32(v, 12 + 8 * TENSORS, ioff as u32 + 4);
    });
    assert_eq!(
        model_err(&b),
        ModelError::SectionBounds {
            section: Section::Tensors
        }
    );
    // Meta over the preamble.
    let b = raw_edit_crc(&base, |v| put_u32(v, 12, 60));
    assert_eq!(
        model_err(&b),
        ModelError::SectionBounds {
            section: Section::Meta
        }
    );
}

#[test]
fn misaligned_weights_section_is_rejected() {
    let base = fc_bytes();
    let mut p = Parts::parse(&base);
    assert_loads(&p.build());
    for skew in [1, 4, 8, 15] {
        p.weights_skew = skew;
        let b = p.build();
        let [woff, _] = section_range(&b, WEIGHTS);
        assert_eq!(woff % 16, skew);
        assert_eq!(
            model_err(&b),
            ModelError::Misaligned {
                what: "weights section",
                offset: woff
            }
        );
    }
}

#[test]
fn model_bytes_misaligned_in_memory_are_rejected() {
    let base = fc_bytes();
    for shift in [1, 2, 4, 8, 15] {
        let mut v = vec![0u8; shift];
        v.extend_from_slice(&base);
        let buf = AlignedBytes::from_slice(&v);
        let bytes = &buf[shift..];
        assert_eq!(
            model_err(bytes),
            ModelError::Misaligned {
                what: "model bytes in memory",
                offset: bytes.as_ptr() as usize
            }
        );
    }
}

// ---------------------------------------------------------------- meta and index tables

#[test]
fn malformed_meta_record_is_rejected() {
    let base = fc_bytes();
    let expected = ModelError::Decode {
        section: Section::Meta,
        index: 0,
    };
    // A trailing byte after the record.
    let mut p = Parts::parse(&base);
    p.sections[META].push(0);
    assert_eq!(model_err(&p.build()), expected);
    // Cut short.
    let mut p = Parts::parse(&base);
    p.sections[META].pop();
    assert_eq!(model_err(&p.build()), expected);
    // Empty.
    let mut p = Parts::parse(&base);
    p.sections[META].clear();
    assert_eq!(model_err(&p.build()), expected);
    // A name that is not UTF-8 (the name "fc" follows its length byte).
    let mut p = Parts::parse(&base);
    assert_eq!(&p.sections[META][..3], b"\x02fc");
    p.sections[META][1] = 0xff;
    assert_eq!(model_err(&p.build()), expected);
    // A name length running past the section.
    let mut p = Parts::parse(&base);
    p.sections[META][0] = 0x7f;
    assert_eq!(model_err(&p.build()), expected);
}

#[test]
fn index_length_differs_from_record_count() {
    let base = fc_bytes();
    let b = with_meta(&base, |m| m.n_tensors += 1);
    assert_eq!(
        model_err(&b),
        ModelError::Count {
            what: "tensor index entries",
            declared: 6,
            found: 5
        }
    );
    let b = with_meta(&base, |m| m.n_tensors = 0);
    assert_eq!(
        model_err(&b),
        ModelError::Count {
            what: "tensor index entries",
            declared: 0,
            found: 5
        }
    );
    let b = with_meta(&base, |m| m.n_ops = 1);
    assert_eq!(
        model_err(&b),
        ModelError::Count {
            what: "op index entries",
            declared: 1,
            found: 2
        }
    );
    // A count whose index would need more than 4 GiB (4 * n overflows 32 bits).
    let b = with_meta(&base, |m| m.n_tensors = 0x4000_0001);
    assert_eq!(
        model_err(&b),
        ModelError::Count {
            what: "tensor index entries",
            declared: 0x4000_0001,
            found: 5
        }
    );
    // An index whose length is not a multiple of four.
    let mut p = Parts::parse(&base);
    p.sections[OP_INDEX].push(0);
    assert_eq!(
        model_err(&p.build()),
        ModelError::Count {
            what: "op index entries",
            declared: 2,
            found: 2
        }
    );
}

#[test]
fn index_offsets_not_increasing_are_rejected() {
    let base = fc_bytes();
    let p = Parts::parse(&base);
    let starts = |p: &Parts, s: usize| -> Vec<u32> {
        p.sections[s]
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes(c.try_into().unwrap()))
            .collect()
    };
    let set = |p: &mut Parts, s: usize, k: usize, v: u32| put_u32(&mut p.sections[s], 4 * k, v);
    let t = starts(&p, TENSOR_INDEX);
    // Two entries swapped.
    let mut q = p.clone();
    set(&mut q, TENSOR_INDEX, 1, t[2]);
    set(&mut q, TENSOR_INDEX, 2, t[1]);
    assert_eq!(
        model_err(&q.build()),
        ModelError::Decode {
            section: Section::TensorIndex,
            index: 2
        }
    );
    // A repeated entry (an empty record).
    let mut q = p.clone();
    set(&mut q, TENSOR_INDEX, 3, t[2]);
    assert_eq!(
        model_err(&q.build()),
        ModelError::Decode {
            section: Section::TensorIndex,
            index: 3
        }
    );
    // The first record not at 0.
    let mut q = p.clone();
    set(&mut q, TENSOR_INDEX, 0, 1);
    assert_eq!(
        model_err(&q.build()),
        ModelError::Decode {
            section: Section::TensorIndex,
            index: 0
        }
    );
    // Past the end of the data.
    let mut q = p.clone();
    let len = q.sections[OPS].len() as u32;
    set(&mut q, OP_INDEX, 1, len);
    assert_eq!(
        model_err(&q.build()),
        ModelError::Decode {
            section: Section::OpIndex,
            index: 1
        }
    );
    // Pointing inside a record: both halves then fail to decode.
    let mut q = p.clone();
    let o = starts(&q, OP_INDEX);
    set(&mut q, OP_INDEX, 1, o[1] - 1);
    let e = model_err(&q.build());
    assert!(
        matches!(
            e,
            ModelError::Decode {
                section: Section::Ops,
                ..
            }
        ),
        "{e:?}"
    );
}

#[test]
fn records_must_fill_an_empty_table_exactly() {
    // A model with no tensors and no ops is valid; bytes in its (unused) tables are not.
    let g = born_core::model::graph::Graph::new("empty", "corrupt test");
    let base = AlignedBytes::from_slice(&g.encode(&[], 0).unwrap());
    assert_loads(&base);
    let mut p = Parts::parse(&base);
    p.sections[TENSORS] = vec![0x00, 0x01];
    assert_eq!(
        model_err(&p.build()),
        ModelError::Decode {
            section: Section::Tensors,
            index: 0
        }
    );
    let mut p = Parts::parse(&base);
    p.sections[OPS] = vec![0x05];
    assert_eq!(
        model_err(&p.build()),
        ModelError::Decode {
            section: Section::Ops,
            index: 0
        }
    );
}

// ---------------------------------------------------------------- tensor records

#[test]
fn tensor_record_trailing_bytes_or_undecodable_are_rejected() {
    let base = fc_bytes();
    let expected = |index| ModelError::Decode {
        section: Section::Tensors,
        index,
    };
    // A byte appended to record 1.
    let mut p = Parts::parse(&base);
    let mut recs = p.records(TENSOR_INDEX);
    recs[1].push(0);
    p.set_records(TENSOR_INDEX, &recs);
    assert_eq!(model_err(&p.build()), expected(1));
    // The last record cut short.
    let mut p = Parts::parse(&base);
    let mut recs = p.records(TENSOR_INDEX);
    recs[4].pop();
    p.set_records(TENSOR_INDEX, &recs);
    assert_eq!(model_err(&p.build()), expected(4));
    // An unknown dtype variant (record 1 is "W": length, name, then the dtype).
    let mut p = Parts::parse(&base);
    let mut recs = p.records(TENSOR_INDEX);
    assert_eq!(&recs[1][..2], b"\x01W");
    recs[1][2] = 0x7f;
    p.set_records(TENSOR_INDEX, &recs);
    assert_eq!(model_err(&p.build()), expected(1));
    // A name that is not UTF-8.
    let mut p = Parts::parse(&base);
    let mut recs = p.records(TENSOR_INDEX);
    recs[1][1] = 0xc3;
    p.set_records(TENSOR_INDEX, &recs);
    assert_eq!(model_err(&p.build()), expected(1));
    // An unknown storage variant: re-encode with the storage tag replaced.
    let mut p = Parts::parse(&base);
    let mut recs = p.records(TENSOR_INDEX);
    let t: TensorDef<'_> = postcard::from_bytes(&recs[3]).unwrap();
    let head = postcard::to_allocvec(&(t.name, t.dtype, t.dims)).unwrap();
    assert_eq!(recs[3][..head.len()], head[..]);
    assert_eq!(recs[3][head.len()], 1, "Storage::Arena");
    recs[3][head.len()] = 2;
    p.set_records(TENSOR_INDEX, &recs);
    assert_eq!(model_err(&p.build()), expected(3));
}

#[test]
fn rank_above_six_or_stray_dims_are_rejected() {
    let base = fc_bytes();
    let what = "rank above 6 or stray dimensions";
    let b = with_tensor(&base, 1, |t| t.dims.rank = 7);
    assert_eq!(model_err(&b), ModelError::Tensor { tensor: 1, what });
    let b = with_tensor(&base, 1, |t| t.dims.rank = 255);
    assert_eq!(model_err(&b), ModelError::Tensor { tensor: 1, what });
    let b = with_tensor(&base, 3, |t| t.dims.dims[5] = 1);
    assert_eq!(model_err(&b), ModelError::Tensor { tensor: 3, what });
    let b = with_tensor(&base, 0, |t| t.dims.dims[2] = 4);
    assert_eq!(model_err(&b), ModelError::Tensor { tensor: 0, what });
}

#[test]
fn zero_sized_dimension_is_rejected() {
    let base = fc_bytes();
    let what = "zero-sized dimension";
    let b = with_tensor(&base, 0, |t| t.dims.dims[0] = 0);
    assert_eq!(model_err(&b), ModelError::Tensor { tensor: 0, what });
    let b = with_tensor(&base, 2, |t| t.dims.dims[0] = 0);
    assert_eq!(model_err(&b), ModelError::Tensor { tensor: 2, what });
}

#[test]
fn byte_length_overflow_is_rejected() {
    let b = with_tensor(&fc_bytes(), 0, |t| {
        t.dims = Dims {
            rank: 3,
            dims: [1 << 16, 1 << 16, 4, 0, 0, 0],
        }
    });
    assert_eq!(
        model_err(&b),
        ModelError::Tensor {
            tensor: 0,
            what: "byte length overflows"
        }
    );
}

#[test]
fn constant_out_of_the_weights_section_is_rejected() {
    let base = fc_bytes();
    let wl = section_range(&base, WEIGHTS)[1];
    // W (48 bytes) at 0, b (12 bytes) at the next cache line, 64.
    assert_eq!(wl, 76);
    // b moved to the next aligned offset, past the end.
    let b = with_tensor(&base, 2, |t| {
        t.storage = Storage::Const {
            offset: 80,
            len: 12,
        }
    });
    assert_eq!(
        model_err(&b),
        ModelError::ConstOutOfRange {
            tensor: 2,
            offset: 80,
            len: 12,
            weights_len: wl
        }
    );
    // An offset that would wrap.
    let off = u32::MAX - 15;
    let b = with_tensor(&base, 2, |t| {
        t.storage = Storage::Const {
            offset: off,
            len: 12,
        }
    });
    assert_eq!(
        model_err(&b),
        ModelError::ConstOutOfRange {
            tensor: 2,
            offset: off as usize,
            len: 12,
            weights_len: wl
        }
    );
    // The weights section cut to 72 bytes: b's last bytes fall outside.
    let mut p = Parts::parse(&base);
    p.sections[WEIGHTS].truncate(72);
    assert_eq!(
        model_err(&p.build()),
        ModelError::ConstOutOfRange {
            tensor: 2,
            offset: 64,
            len: 12,
            weights_len: 72
        }
    );
}

#[test]
fn constant_length_not_matching_its_shape_is_rejected() {
    let base = fc_bytes();
    for len in [44, 52, 0] {
        let b = with_tensor(&base, 1, |t| t.storage = Storage::Const { offset: 0, len });
        assert_eq!(
            model_err(&b),
            ModelError::ConstOutOfRange {
                tensor: 1,
                offset: 0,
                len: len as usize,
                weights_len: 76
            }
        );
    }
    // Right length, wrong shape: W as [3, 5].
    let b = with_tensor(&base, 1, |t| t.dims.dims[1] = 5);
    assert_eq!(
        model_err(&b),
        ModelError::ConstOutOfRange {
            tensor: 1,
            offset: 0,
            len: 48,
            weights_len: 76
        }
    );
}

#[test]
fn misaligned_constant_is_rejected() {
    let base = fc_bytes();
    for offset in [1u32, 4, 8, 44] {
        let b = with_tensor(&base, 2, |t| t.storage = Storage::Const { offset, len: 12 });
        assert_eq!(
            model_err(&b),
            ModelError::Misaligned {
                what: "constant",
                offset: offset as usize
            }
        );
    }
}

#[test]
fn arena_tensor_out_of_the_arena_is_rejected() {
    let base = fc_bytes();
    let m = Model::from_bytes(&base).unwrap();
    assert_eq!(m.arena_len(), 96);
    let relocate = |offset: u32| {
        with_tensor(&base, 4, |t| {
            if let Storage::Arena { offset: o, .. } = &mut t.storage {
                *o = offset;
            }
        })
    };
    for offset in [80u32, 96, 1 << 20, u32::MAX - 15] {
        assert_eq!(
            model_err(&relocate(offset)),
            ModelError::ArenaOutOfRange {
                tensor: 4,
                offset: offset as usize,
                len: 24,
                arena_len: 96
            }
        );
    }
    assert_eq!(
        model_err(&relocate(72)),
        ModelError::Misaligned {
            what: "arena offset",
            offset: 72
        }
    );
    // A smaller arena than the plan needs.
    let b = with_meta(&base, |m| m.arena_len = 80);
    assert_eq!(
        model_err(&b),
        ModelError::ArenaOutOfRange {
            tensor: 4,
            offset: 64,
            len: 24,
            arena_len: 80
        }
    );
    let b = with_meta(&base, |m| m.arena_len = 90);
    assert_eq!(
        model_err(&b),
        ModelError::Misaligned {
            what: "arena length",
            offset: 90
        }
    );
}

// ---------------------------------------------------------------- op records

#[test]
fn op_tensor_id_out_of_range_is_rejected() {
    let base = fc_bytes();
    let b = with_op(&base, 0, |d| d.inputs[1] = 99);
    assert_eq!(
        model_err(&b),
        ModelError::OperandIndex {
            op: 0,
            operand: 1,
            tensor: 99,
            n_tensors: 5
        }
    );
    let b = with_op(&base, 1, |d| d.inputs[0] = u32::MAX - 1);
    assert_eq!(
        model_err(&b),
        ModelError::OperandIndex {
            op: 1,
            operand: 0,
            tensor: (u32::MAX - 1) as usize,
            n_tensors: 5
        }
    );
    // An absent (u32::MAX) required input is an arity error naming the op.
    let b = with_op(&base, 1, |d| d.inputs[0] = u32::MAX);
    assert_eq!(
        model_err(&b),
        ModelError::Arity {
            op: 1,
            kind: "Activation",
            min: 1,
            max: 1,
            got: 1
        }
    );
    let b = with_op(&base, 1, |d| d.outputs[0] = 5);
    assert_eq!(
        model_err(&b),
        ModelError::OperandIndex {
            op: 1,
            operand: 1,
            tensor: 5,
            n_tensors: 5
        }
    );
}

#[test]
fn op_record_with_stray_inputs_is_rejected() {
    let base = fc_bytes();
    let expected = ModelError::Decode {
        section: Section::Ops,
        index: 1,
    };
    // An operand list that is not whole u32s: the record's input bytes cut to 3.
    let mut p = Parts::parse(&base);
    let mut recs = p.records(OP_INDEX);
    // Record layout: op id varint (6 -> 1 byte), attrs len + bytes, inputs len + bytes, ...
    let attrs_len = usize::from(recs[1][1]);
    let at = 2 + attrs_len;
    assert_eq!(recs[1][at], 4, "one input of 4 bytes");
    recs[1][at] = 3;
    recs[1].remove(at + 4);
    p.set_records(OP_INDEX, &recs);
    assert_eq!(model_err(&p.build()), expected);
    // Attributes that do not decode as the op's record: ReLU's attribute byte made an
    // unknown activation variant.
    let b = with_op(&base, 1, |d| d.attrs = vec![0x7f]);
    assert_eq!(
        model_err(&b),
        ModelError::Attribute {
            op: 1,
            what: "attribute record does not decode"
        }
    );
    // Trailing attribute bytes.
    let b = with_op(&base, 1, |d| d.attrs.push(0));
    assert_eq!(
        model_err(&b),
        ModelError::Attribute {
            op: 1,
            what: "attribute record does not decode"
        }
    );
    // An op id no op has.
    let b = with_op(&base, 1, |d| d.op = 9999);
    assert_eq!(model_err(&b), ModelError::UnknownOp { op: 1, id: 9999 });
}

#[test]
fn wrong_arity_is_rejected() {
    let base = fc_bytes();
    // FullyConnected with only x.
    let b = with_op(&base, 0, |d| d.inputs.truncate(1));
    assert_eq!(
        model_err(&b),
        ModelError::Arity {
            op: 0,
            kind: kind(FullyConnected::ID),
            min: 2,
            max: 3,
            got: 1
        }
    );
    // FullyConnected with a fourth input.
    let b = with_op(&base, 0, |d| d.inputs.push(2));
    assert_eq!(
        model_err(&b),
        ModelError::Arity {
            op: 0,
            kind: "FullyConnected",
            min: 2,
            max: 3,
            got: 4
        }
    );
    // ReLU with two inputs.
    let b = with_op(&base, 1, |d| d.inputs.push(1));
    assert_eq!(
        model_err(&b),
        ModelError::Arity {
            op: 1,
            kind: "Activation",
            min: 1,
            max: 1,
            got: 2
        }
    );
    // ReLU with two outputs, and with none.
    let b = with_op(&base, 1, |d| d.outputs.push(3));
    assert_eq!(
        model_err(&b),
        ModelError::Outputs {
            op: 1,
            kind: "Activation",
            min: 1,
            max: 1,
            got: 2
        }
    );
    let b = with_op(&base, 1, |d| d.outputs.clear());
    assert_eq!(
        model_err(&b),
        ModelError::Outputs {
            op: 1,
            kind: "Activation",
            min: 1,
            max: 1,
            got: 0
        }
    );
}

#[test]
fn wrong_dtype_is_rejected() {
    let base = fc_bytes();
    // An i32 weight (same size) to FullyConnected.
    let b = with_tensor(&base, 1, |t| t.dtype = DType::I32);
    assert_eq!(
        model_err(&b),
        ModelError::DType {
            op: 0,
            operand: 1,
            expected: DType::F32,
            got: DType::I32
        }
    );
    // An i32 output of an f32 op.
    let b = with_tensor(&base, 4, |t| t.dtype = DType::I32);
    assert_eq!(
        model_err(&b),
        ModelError::DType {
            op: 1,
            operand: 1,
            expected: DType::F32,
            got: DType::I32
        }
    );
    // An op swapped for one with other element types: Dequantize needs int8.
    let b = with_op(&base, 1, |d| {
        d.op = Dequantize::ID;
        d.attrs = encode_attrs(&()).unwrap();
    });
    assert_eq!(
        model_err(&b),
        ModelError::DType {
            op: 1,
            operand: 0,
            expected: DType::I8,
            got: DType::F32
        }
    );
}

#[test]
fn weight_not_matching_input_features_gives_operand_shape() {
    let base = fc_bytes();
    // W [3,4] read as [4,3] (same bytes): in_features 3 != 4.
    let b = with_tensor(&base, 1, |t| t.dims.dims[..2].copy_from_slice(&[4, 3]));
    assert_eq!(
        model_err(&b),
        ModelError::OperandShape {
            op: 0,
            operand: 0,
            what: "last axis must equal the weight's in_features"
        }
    );
    // W as a vector [12].
    let b = with_tensor(&base, 1, |t| {
        t.dims = Dims {
            rank: 1,
            dims: [12, 0, 0, 0, 0, 0],
        }
    });
    assert_eq!(
        model_err(&b),
        ModelError::OperandShape {
            op: 0,
            operand: 1,
            what: "weight must be [out_features, in_features]"
        }
    );
    // A bias of the wrong length: b [3] read as [1, 3].
    let b = with_tensor(&base, 2, |t| {
        t.dims = Dims {
            rank: 2,
            dims: [1, 3, 0, 0, 0, 0],
        }
    });
    assert_eq!(
        model_err(&b),
        ModelError::OperandShape {
            op: 0,
            operand: 2,
            what: "must be a vector of one value per channel"
        }
    );
}

#[test]
fn wrong_output_shape_is_rejected() {
    let base = fc_bytes();
    // y [2,3] stored as [3,2] (same bytes).
    let b = with_tensor(&base, 3, |t| t.dims.dims[..2].copy_from_slice(&[3, 2]));
    assert_eq!(
        model_err(&b),
        ModelError::OutputShape {
            op: 0,
            expected: shape(&[2, 3]),
            got: shape(&[3, 2])
        }
    );
    // z [2,3] stored as [6].
    let b = with_tensor(&base, 4, |t| {
        t.dims = Dims {
            rank: 1,
            dims: [6, 0, 0, 0, 0, 0],
        }
    });
    assert_eq!(
        model_err(&b),
        ModelError::OutputShape {
            op: 1,
            expected: shape(&[2, 3]),
            got: shape(&[6])
        }
    );
}

#[test]
fn bad_conv_attributes_are_rejected() {
    let base = encode(&conv_graph());
    assert_loads(&base);
    let with_conv = |f: fn(&mut Geometry)| {
        with_op(&base, 0, |d| {
            assert_eq!(d.op, ConvOp::ID);
            let mut a: ConvAttrs = postcard::from_bytes(&d.attrs).unwrap();
            f(&mut a.conv);
            d.attrs = encode_attrs(&a).unwrap();
        })
    };
    type Edit = fn(&mut Geometry);
    let cases: [(Edit, &str); 5] = [
        (|c| c.stride[0] = 0, "stride must be at least 1"),
        (|c| c.dilation[1] = 0, "dilation must be at least 1"),
        (|c| c.groups = 0, "groups must be at least 1"),
        (|c| c.groups = 3, "groups must divide the input channels"),
        (|c| c.groups = 2, "weight input channels (c_in / groups)"),
    ];
    for (f, what) in cases {
        assert_eq!(
            model_err(&with_conv(f)),
            ModelError::Attribute { op: 0, what },
            "{what}"
        );
    }
    // A dilated kernel wider than the input: no output positions.
    let e = model_err(&with_conv(|c| c.dilation = [3, 3]));
    assert!(matches!(e, ModelError::Attribute { op: 0, .. }), "{e:?}");
}

#[test]
fn bad_attributes_of_other_ops_are_rejected() {
    let base = fc_bytes();
    // ReLU turned into an RMS norm (gamma = b): its eps must be finite and non-negative.
    let rms = |eps| {
        with_op(&base, 1, |d| {
            d.op = RmsNorm::ID;
            d.attrs = encode_attrs(&EpsAttrs { eps }).unwrap();
            d.inputs.push(2);
        })
    };
    assert_loads(&rms(1e-5));
    for eps in [f32::NAN, -1.0, f32::INFINITY] {
        let b = rms(eps);
        assert_eq!(
            model_err(&b),
            ModelError::Attribute {
                op: 1,
                what: "eps must be finite and non-negative"
            }
        );
    }
    // An int8 clamp with its minimum above its maximum.
    let b = with_op(&int8_bytes(), 1, |d| {
        assert_eq!(d.op, QFullyConnected::ID);
        d.attrs = encode_attrs(&Clamp {
            act_min: 5,
            act_max: -5,
        })
        .unwrap();
    });
    assert_eq!(
        model_err(&b),
        ModelError::Attribute {
            op: 1,
            what: "output clamp minimum above maximum"
        }
    );
}

// ---------------------------------------------------------------- lifetimes and the plan

fn set_life(t: &mut TensorDef<'_>, first: Option<u32>, last: Option<u32>) {
    if let Storage::Arena {
        first: f, last: l, ..
    } = &mut t.storage
    {
        if let Some(v) = first {
            *f = v;
        }
        if let Some(v) = last {
            *l = v;
        }
    }
}

#[test]
fn input_read_after_its_last_use_is_rejected() {
    let base = fc_bytes();
    // y is read by op 1 (position 2) but planned to die at position 1.
    let b = with_tensor(&base, 3, |t| set_life(t, None, Some(1)));
    assert_eq!(
        model_err(&b),
        ModelError::Lifetime {
            tensor: 3,
            op: 1,
            what: "read after its last planned use"
        }
    );
    // The graph input dead before op 0.
    let b = with_tensor(&base, 0, |t| set_life(t, None, Some(0)));
    assert_eq!(
        model_err(&b),
        ModelError::Lifetime {
            tensor: 0,
            op: 0,
            what: "read after its last planned use"
        }
    );
}

#[test]
fn tensor_read_before_it_is_written_is_rejected() {
    let base = fc_bytes();
    // Op 0 reads z, which op 1 writes.
    let b = with_op(&base, 0, |d| d.inputs[0] = 4);
    assert_eq!(
        model_err(&b),
        ModelError::Lifetime {
            tensor: 4,
            op: 0,
            what: "read before it is written"
        }
    );
    // Op 1 reads its own output.
    let b = with_op(&base, 1, |d| d.inputs[0] = 4);
    assert_eq!(
        model_err(&b),
        ModelError::Lifetime {
            tensor: 4,
            op: 1,
            what: "read before it is written"
        }
    );
}

#[test]
fn output_not_written_by_the_op_its_lifetime_names_is_rejected() {
    let base = fc_bytes();
    // y planned to be written at position 2 (op 1) but op 0 writes it.
    let b = with_tensor(&base, 3, |t| set_life(t, Some(2), Some(2)));
    assert_eq!(
        model_err(&b),
        ModelError::Lifetime {
            tensor: 3,
            op: 0,
            what: "output is not planned to be written by this op"
        }
    );
    // Op 1 writes a constant.
    let b = with_op(&base, 1, |d| d.outputs[0] = 2);
    assert_eq!(
        model_err(&b),
        ModelError::Lifetime {
            tensor: 2,
            op: 1,
            what: "output is not planned to be written by this op"
        }
    );
    // A ghost tensor claims op 0 writes it: checked after the ops.
    let mut p = Parts::parse(&base);
    let ghost = TensorDef {
        name: "ghost",
        dtype: DType::F32,
        dims: Dims {
            rank: 1,
            dims: [4, 0, 0, 0, 0, 0],
        },
        storage: Storage::Arena {
            offset: 80,
            first: 1,
            last: 1,
        },
        role: Role::Internal,
        quant: Quant::None,
    };
    p.push_tensor(&ghost);
    assert_eq!(
        model_err(&p.build()),
        ModelError::Lifetime {
            tensor: 5,
            op: 0,
            what: "never written by the op its lifetime names"
        }
    );
}

#[test]
fn lifetimes_out_of_order_or_inconsistent_with_roles_are_rejected() {
    let base = fc_bytes();
    let life = |tensor, op, what| ModelError::Lifetime { tensor, op, what };
    let b = with_tensor(&base, 3, |t| set_life(t, Some(2), Some(1)));
    assert_eq!(
        model_err(&b),
        life(3, 2, "lifetime out of order or past the last op")
    );
    let b = with_tensor(&base, 3, |t| set_life(t, None, Some(4)));
    assert_eq!(
        model_err(&b),
        life(3, 1, "lifetime out of order or past the last op")
    );
    let b = with_tensor(&base, 0, |t| set_life(t, Some(1), None));
    assert_eq!(
        model_err(&b),
        life(0, 1, "graph input not live from the start")
    );
    let b = with_tensor(&base, 4, |t| set_life(t, None, Some(2)));
    assert_eq!(
        model_err(&b),
        life(4, 2, "graph output not live to the end")
    );
    let b = with_tensor(&base, 3, |t| set_life(t, Some(0), None));
    assert_eq!(
        model_err(&b),
        life(3, 0, "live from the start but not a graph input")
    );
}

#[test]
fn overlapping_arena_plan_is_rejected() {
    let base = fc_bytes();
    let place = |bytes: &[u8], id: usize, offset: u32| {
        with_tensor(bytes, id, |t| {
            if let Storage::Arena { offset: o, .. } = &mut t.storage {
                *o = offset;
            }
        })
    };
    // y over x while op 0 reads x and writes y (FullyConnected is not in place).
    assert_eq!(
        model_err(&place(&base, 3, 0)),
        ModelError::ArenaOverlap { a: 0, b: 3 }
    );
    // y half over x.
    assert_eq!(
        model_err(&place(&base, 3, 16)),
        ModelError::ArenaOverlap { a: 0, b: 3 }
    );
    // z over y is the ReLU working in place: allowed.
    assert_loads(&place(&base, 4, 32));
    // z over y but y still read after ReLU (its lifetime extended): rejected.
    let b = with_tensor(&place(&base, 4, 32), 3, |t| set_life(t, None, Some(3)));
    assert_eq!(model_err(&b), ModelError::ArenaOverlap { a: 3, b: 4 });
    // z over x: x is dead by position 2.
    assert_loads(&place(&base, 4, 0));
    // ... unless x is kept alive to the end.
    let b = with_tensor(&place(&base, 4, 0), 0, |t| set_life(t, None, Some(3)));
    assert_eq!(model_err(&b), ModelError::ArenaOverlap { a: 0, b: 4 });
}

// ---------------------------------------------------------------- graph inputs and outputs

#[test]
fn graph_input_count_mismatch_is_rejected() {
    let base = fc_bytes();
    let b = with_meta(&base, |m| m.n_inputs = 2);
    assert_eq!(
        model_err(&b),
        ModelError::Count {
            what: "graph inputs",
            declared: 2,
            found: 1
        }
    );
    let b = with_meta(&base, |m| m.n_inputs = 0);
    assert_eq!(
        model_err(&b),
        ModelError::Count {
            what: "graph inputs",
            declared: 0,
            found: 1
        }
    );
    let b = with_meta(&base, |m| m.n_outputs = 3);
    assert_eq!(
        model_err(&b),
        ModelError::Count {
            what: "graph outputs",
            declared: 3,
            found: 1
        }
    );
    let b = with_meta(&base, |m| m.n_inputs = 9);
    assert_eq!(
        model_err(&b),
        ModelError::Count {
            what: "graph inputs or outputs (at most 8 each)",
            declared: 9,
            found: 8
        }
    );
    // Input slot past the declared count.
    let b = with_tensor(&base, 0, |t| t.role = Role::Input(5));
    assert_eq!(
        model_err(&b),
        ModelError::Count {
            what: "graph inputs",
            declared: 1,
            found: 6
        }
    );
}

#[test]
fn duplicate_graph_input_slot_is_rejected() {
    let base = encode(&add_graph());
    assert_loads(&base);
    let b = with_tensor(&base, 1, |t| t.role = Role::Input(0));
    assert_eq!(
        model_err(&b),
        ModelError::Count {
            what: "graph inputs",
            declared: 2,
            found: 1
        }
    );
    // An internal tensor marked as output 0 too: not live to the end...
    let b = with_tensor(&fc_bytes(), 3, |t| t.role = Role::Output(0));
    assert_eq!(
        model_err(&b),
        ModelError::Lifetime {
            tensor: 3,
            op: 1,
            what: "graph output not live to the end"
        }
    );
    // ... and with its lifetime extended, the slot is taken twice.
    let b = with_tensor(&fc_bytes(), 3, |t| {
        t.role = Role::Output(0);
        set_life(t, None, Some(3));
    });
    assert_eq!(
        model_err(&b),
        ModelError::Count {
            what: "graph outputs",
            declared: 1,
            found: 1
        }
    );
}

#[test]
fn constant_marked_as_graph_input_or_output_is_rejected() {
    let base = fc_bytes();
    let what = "a constant cannot be a graph input or output";
    let mut p = Parts::parse(&base);
    p.edit_tensor(1, |t| t.role = Role::Input(1));
    p.edit_meta(|m| m.n_inputs = 2);
    assert_eq!(
        model_err(&p.build()),
        ModelError::Tensor { tensor: 1, what }
    );
    let b = with_tensor(&base, 2, |t| t.role = Role::Output(0));
    assert_eq!(model_err(&b), ModelError::Tensor { tensor: 2, what });
}

// ---------------------------------------------------------------- quantization

#[test]
fn bad_quantization_scale_is_rejected() {
    let base = int8_bytes();
    let what = "quantization scale must be finite and positive";
    for scale in [0.0, -0.5, f32::NAN, f32::INFINITY, -0.0] {
        let b = with_tensor(&base, 1, |t| {
            t.quant = Quant::PerTensor {
                scale,
                zero_point: 0,
            }
        });
        assert_eq!(
            model_err(&b),
            ModelError::Tensor { tensor: 1, what },
            "{scale}"
        );
    }
}

#[test]
fn zero_point_out_of_range_is_rejected() {
    let base = int8_bytes();
    let what = "zero point outside the element type's range";
    for zero_point in [128, -129, 1000, i32::MIN] {
        let b = with_tensor(&base, 6, |t| {
            t.quant = Quant::PerTensor {
                scale: 0.1,
                zero_point,
            }
        });
        assert_eq!(model_err(&b), ModelError::Tensor { tensor: 6, what });
    }
    // i32 tensors (biases) are symmetric.
    let b = with_tensor(&base, 3, |t| {
        t.quant = Quant::PerTensor {
            scale: 0.1,
            zero_point: 1,
        }
    });
    assert_eq!(model_err(&b), ModelError::Tensor { tensor: 3, what });
}

#[test]
fn f32_tensor_with_quantization_parameters_is_rejected() {
    let base = int8_bytes();
    let b = with_tensor(&base, 0, |t| {
        t.quant = Quant::PerTensor {
            scale: 0.1,
            zero_point: 0,
        }
    });
    assert_eq!(
        model_err(&b),
        ModelError::Tensor {
            tensor: 0,
            what: "quantization parameters on a non-quantizable type"
        }
    );
    let b = with_tensor(&base, 7, |t| {
        t.quant = Quant::PerChannel { axis: 0, scales: 0 }
    });
    assert_eq!(
        model_err(&b),
        ModelError::Tensor {
            tensor: 7,
            what: "per-channel quantization needs int8"
        }
    );
}

#[test]
fn bad_per_channel_quantization_is_rejected() {
    let base = int8_bytes();
    let m = Model::from_bytes(&base).unwrap();
    let w = m.tensor(2).unwrap();
    let Quant::PerChannel { scales, .. } = w.quant else {
        panic!("W is per-channel: {:?}", w.quant);
    };
    let wl = m.weights().len();
    let b = with_tensor(&base, 2, |t| {
        t.quant = Quant::PerChannel { axis: 2, scales };
    });
    assert_eq!(
        model_err(&b),
        ModelError::Tensor {
            tensor: 2,
            what: "per-channel axis out of range"
        }
    );
    // Axis 1 (4 channels) reads 4 scales: 16 bytes from `scales` overrun the section?
    let b = with_tensor(&base, 2, |t| {
        t.quant = Quant::PerChannel {
            axis: 0,
            scales: wl as u32,
        };
    });
    assert_eq!(
        model_err(&b),
        ModelError::ConstOutOfRange {
            tensor: 2,
            offset: wl,
            len: 12,
            weights_len: wl
        }
    );
    let b = with_tensor(&base, 2, |t| {
        t.quant = Quant::PerChannel {
            axis: 0,
            scales: scales + 2,
        };
    });
    assert_eq!(
        model_err(&b),
        ModelError::Misaligned {
            what: "channel scales",
            offset: scales as usize + 2
        }
    );
    // A scale that is zero, negative or NaN in the weights section.
    for bad in [0.0f32, -1.0, f32::NAN] {
        let mut p = Parts::parse(&base);
        let at = scales as usize + 4;
        p.sections[WEIGHTS][at..at + 4].copy_from_slice(&bad.to_le_bytes());
        assert_eq!(
            model_err(&p.build()),
            ModelError::Tensor {
                tensor: 2,
                what: "channel scale must be finite and positive"
            }
        );
    }
    // Per-channel weights on axis 1 are not what QFullyConnected takes.
    let mut p = Parts::parse(&base);
    p.edit_tensor(2, |t| t.quant = Quant::PerChannel { axis: 1, scales });
    // Four scales: make sure the fourth is positive (bytes after the three).
    let at = scales as usize + 12;
    if p.sections[WEIGHTS].len() < at + 4 {
        p.sections[WEIGHTS].resize(at + 4, 0);
    }
    p.sections[WEIGHTS][at..at + 4].copy_from_slice(&1.0f32.to_le_bytes());
    let e = model_err(&p.build());
    assert_eq!(
        e,
        ModelError::Quantization {
            op: 1,
            operand: 1,
            what: "weights need symmetric scales (per output channel or per tensor)"
        }
    );
}

#[test]
fn int8_op_without_its_quantization_is_rejected() {
    let base = int8_bytes();
    let needs = "needs per-tensor scale and zero point";
    // Quantize's output.
    let b = with_tensor(&base, 1, |t| t.quant = Quant::None);
    assert_eq!(
        model_err(&b),
        ModelError::Quantization {
            op: 0,
            operand: 1,
            what: needs
        }
    );
    // QFullyConnected's output.
    let b = with_tensor(&base, 6, |t| t.quant = Quant::None);
    assert_eq!(
        model_err(&b),
        ModelError::Quantization {
            op: 1,
            operand: 5,
            what: needs
        }
    );
    // Asymmetric per-tensor weights.
    let b = with_tensor(&base, 2, |t| {
        t.quant = Quant::PerTensor {
            scale: 0.1,
            zero_point: 4,
        }
    });
    assert_eq!(
        model_err(&b),
        ModelError::Quantization {
            op: 1,
            operand: 1,
            what: "weights need symmetric scales (per output channel or per tensor)"
        }
    );
}

#[test]
fn bad_requantization_tables_are_rejected() {
    let base = int8_bytes();
    let m = Model::from_bytes(&base).unwrap();
    let off = |id: usize| match m.tensor(id).unwrap().storage {
        Storage::Const { offset, .. } => offset as usize,
        s => panic!("{s:?}"),
    };
    let (mult, shift) = (off(4), off(5));
    let mut p = Parts::parse(&base);
    p.sections[WEIGHTS][mult + 4..mult + 8].copy_from_slice(&(-1i32).to_le_bytes());
    assert_eq!(
        model_err(&p.build()),
        ModelError::Quantization {
            op: 1,
            operand: 3,
            what: "multiplier must not be negative"
        }
    );
    for bad in [31i32, -32, i32::MAX] {
        let mut p = Parts::parse(&base);
        p.sections[WEIGHTS][shift..shift + 4].copy_from_slice(&bad.to_le_bytes());
        assert_eq!(
            model_err(&p.build()),
            ModelError::Quantization {
                op: 1,
                operand: 4,
                what: "shift outside -31..=30"
            }
        );
    }
}

/// The int8 chain loads and runs (the base of the attribute tests below).
fn int8_ops_bytes() -> AlignedBytes {
    let b = encode(&int8_ops_graph());
    let m = Model::from_bytes(&b).unwrap();
    let mut arena = vec![0u8; Interpreter::arena_len(&m).unwrap()];
    let mut it = Interpreter::new(&m, &mut arena).unwrap();
    it.input_mut::<f32>(0).unwrap().fill(0.3);
    it.invoke().unwrap();
    b
}

#[test]
fn int8_add_attributes_out_of_kernel_range_are_rejected_at_load() {
    let base = int8_ops_bytes();
    fn edit_add(d: &mut OwnedOp, f: impl FnOnce(&mut QAddAttrs)) {
        assert_eq!(d.op, QAdd::ID);
        let mut a: QAddAttrs = postcard::from_bytes(&d.attrs).unwrap();
        f(&mut a);
        d.attrs = encode_attrs(&a).unwrap();
    }
    let with_add = |f: fn(&mut QAddAttrs)| with_op(&base, 4, |d| edit_add(d, f));
    type Edit = fn(&mut QAddAttrs);
    let cases: [(Edit, &str); 6] = [
        (|a| a.left_shift = 21, "add left shift outside 0..=20"),
        (|a| a.left_shift = -1, "add left shift outside 0..=20"),
        (|a| a.input1_shift = 1, "add shifts outside -31..=0"),
        (|a| a.input2_shift = -32, "add shifts outside -31..=0"),
        (|a| a.output_shift = i32::MIN, "add shifts outside -31..=0"),
        (|a| a.act_min = 5, "output clamp minimum above maximum"),
    ];
    for (f, what) in cases {
        let b = with_add(f);
        let b = if what.starts_with("output clamp") {
            with_op(&b, 4, |d| edit_add(d, |a| a.act_max = 4))
        } else {
            b
        };
        assert_eq!(
            model_err(&b),
            ModelError::Attribute { op: 4, what },
            "{what}"
        );
    }
}

#[test]
fn int8_softmax_attributes_out_of_kernel_range_are_rejected_at_load() {
    let base = int8_ops_bytes();
    let with_sm = |shift: i32, diff: i32| {
        with_op(&base, 5, |d| {
            assert_eq!(d.op, QSoftmax::ID);
            let mut a: QSoftmaxAttrs = postcard::from_bytes(&d.attrs).unwrap();
            a.beta_left_shift = shift;
            a.diff_min = diff;
            d.attrs = encode_attrs(&a).unwrap();
        })
    };
    for shift in [-1, 31, i32::MIN, i32::MAX] {
        assert_eq!(
            model_err(&with_sm(shift, -100)),
            ModelError::Attribute {
                op: 5,
                what: "softmax left shift outside 0..=30"
            }
        );
    }
    assert_eq!(
        model_err(&with_sm(20, 1)),
        ModelError::Attribute {
            op: 5,
            what: "softmax diff_min must not be positive"
        }
    );
    // Output quantization other than 1/256, -128.
    let b = with_tensor(&base, 10, |t| {
        t.quant = Quant::PerTensor {
            scale: 1.0 / 128.0,
            zero_point: -128,
        }
    });
    assert_eq!(
        model_err(&b),
        ModelError::Quantization {
            op: 5,
            operand: 1,
            what: "softmax output must have scale 1/256 and zero point -128"
        }
    );
}

#[test]
fn int8_pool_changing_quantization_is_rejected() {
    let b = with_tensor(&int8_ops_bytes(), 7, |t| {
        t.quant = Quant::PerTensor {
            scale: 0.1,
            zero_point: 2,
        }
    });
    assert_eq!(
        model_err(&b),
        ModelError::Quantization {
            op: 2,
            operand: 1,
            what: "pooling keeps the input's scale and zero point"
        }
    );
}

// ---------------------------------------------------------------- no panic, ever

/// Loads `bytes` (any result is fine) and, when they load, runs them with zeroed inputs.
fn load_and_run(bytes: &[u8]) {
    let buf = AlignedBytes::from_slice(bytes);
    if let Ok(m) = Model::from_bytes(&buf) {
        if let Ok(n) = Interpreter::arena_len(&m) {
            if n <= 1 << 24 {
                let mut arena = vec![0u8; n];
                if let Ok(mut it) = Interpreter::new(&m, &mut arena) {
                    let _ = it.invoke();
                }
            }
        }
    }
}

fn seeds() -> Vec<Vec<u8>> {
    [
        encode(&fc_graph()),
        encode(&conv_graph()),
        encode(&add_graph()),
        encode(&int8_graph()),
        encode(&small_mlp_graph(3)),
        encode(&int8_ops_graph()),
    ]
    .iter()
    .map(|b| b.to_vec())
    .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn random_byte_flips_never_panic(
        which in 0usize..6,
        flips in proptest::collection::vec((any::<u32>(), any::<u8>()), 1..8),
        fix in any::<bool>(),
    ) {
        let mut v = seeds().swap_remove(which);
        let n = v.len();
        for (at, x) in flips {
            v[at as usize % n] ^= x.max(1);
        }
        if fix {
            fix_crc(&mut v);
        }
        load_and_run(&v);
    }

    #[test]
    fn random_truncations_never_panic(which in 0usize..6, cut in any::<u32>(), fix in any::<bool>()) {
        let mut v = seeds().swap_remove(which);
        let n = cut as usize % (v.len() + 1);
        v.truncate(n);
        if fix && n >= CRC_LEN {
            fix_crc(&mut v);
        }
        let buf = AlignedBytes::from_slice(&v);
        let loaded = Model::from_bytes(&buf).is_ok();
        prop_assert!(!loaded || n == seeds()[which].len());
        load_and_run(&v);
    }

    #[test]
    fn random_bytes_never_panic(
        mut v in proptest::collection::vec(any::<u8>(), 0..512),
        magic in any::<bool>(),
    ) {
        if magic && v.len() >= 8 {
            v[0..4].copy_from_slice(b"BORN");
            v[4..6].copy_from_slice(&VERSION.to_le_bytes());
            v[6..8].copy_from_slice(&[0, 0]);
        }
        load_and_run(&v);
    }

    /// Semantic corruption: a random tensor or op record field rewritten, CRC fixed.
    #[test]
    fn random_record_edits_never_panic(
        which in 0usize..6,
        id in any::<u32>(),
        field in 0u8..8,
        value in any::<u32>(),
    ) {
        let base = AlignedBytes::from_slice(&seeds().swap_remove(which));
        let p = Parts::parse(&base);
        let nt = p.records(TENSOR_INDEX).len();
        let no = p.records(OP_INDEX).len();
        let b = if field < 5 {
            with_tensor(&base, id as usize % nt, |t| match field {
                0 => t.dims.dims[value as usize % 6] = value >> 8,
                1 => t.dims.rank = value as u8,
                2 => if let Storage::Arena { offset, first, last } = &mut t.storage {
                    match value % 3 { 0 => *offset = value & !15, 1 => *first = value % 8, _ => *last = value % 8 }
                },
                3 => if let Storage::Const { offset, len } = &mut t.storage {
                    if value % 2 == 0 { *offset = value & !15 } else { *len = value % 4096 }
                },
                _ => t.role = match value % 3 { 0 => Role::Internal, 1 => Role::Input(value as u8 % 9), _ => Role::Output(value as u8 % 9) },
            })
        } else {
            with_op(&base, id as usize % no.max(1), |d| match field {
                5 => {
                    let n = d.inputs.len().max(1);
                    if let Some(x) = d.inputs.get_mut(value as usize % n) {
                        *x = value >> 16;
                    }
                }
                6 => {
                    d.inputs.resize(value as usize % 8, value >> 20);
                    let at = (value >> 3) as usize % d.attrs.len().max(1);
                    if let Some(a) = d.attrs.get_mut(at) {
                        *a ^= (value >> 24) as u8;
                    }
                }
                _ => {
                    if let Some(o) = d.outputs.first_mut() {
                        *o = value % 16;
                    }
                }
            })
        };
        load_and_run(&b);
    }
}

// ---------------------------------------------------------------- fuzz seed corpus

/// The fuzz target's seed corpus (`fuzz/corpus/model_from_bytes/seed-*.born`): valid small
/// models. `BORN_WRITE_FUZZ_SEEDS=1 cargo test -p born-core --features std --test corrupt
/// fuzz_seeds` rewrites them; every run checks that the committed ones still load.
#[test]
fn fuzz_seeds_load() {
    let dir =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/model_from_bytes");
    let named = [
        ("fc", encode(&fc_graph())),
        ("conv", encode(&conv_graph())),
        ("add", encode(&add_graph())),
        ("int8", encode(&int8_graph())),
        ("mlp", encode(&small_mlp_graph(3))),
        ("cnn", encode(&small_cnn_graph(7))),
        ("int8-ops", encode(&int8_ops_graph())),
    ];
    if std::env::var_os("BORN_WRITE_FUZZ_SEEDS").is_some() {
        std::fs::create_dir_all(&dir).unwrap();
        for (name, bytes) in &named {
            std::fs::write(dir.join(format!("seed-{name}.born")), &bytes[..]).unwrap();
        }
    }
    let mut total = 0;
    for (name, _) in &named {
        let path = dir.join(format!("seed-{name}.born"));
        let Ok(v) = std::fs::read(&path) else {
            // The fuzz folder is not part of every checkout (e.g. a packaged crate).
            continue;
        };
        total += v.len();
        assert_loads(&AlignedBytes::from_slice(&v));
    }
    assert!(total < 100 * 1024, "seed corpus is {total} bytes");
}
