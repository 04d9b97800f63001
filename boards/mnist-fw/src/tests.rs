//! Host tests with small models built here.

use born_core::kernels::activation::Activation as Act;
use born_core::model::graph::{AlignedBytes, Graph};
use born_core::ops::activation::Activation;
use born_core::ops::fully_connected::{FcAttrs, FullyConnected};
use born_core::ops::Op;
use born_core::{DType, Error, ModelError, OpResolver};

use super::stack::{self, StackRegion, PATTERN};
use super::*;

/// `x [1,784]` -> FullyConnected(W [10,784]) -> ReLU -> logits [1,10] where logit `c` is
/// pixel `c` / 255: the predicted class is the brightest of the first ten pixels.
fn pick_graph(inputs: usize) -> Graph {
    let mut g = Graph::new("pick", "mnist-fw test");
    let x = g.add_input("image", DType::F32, &[1, inputs]).unwrap();
    let mut w = vec![0.0f32; CLASSES * inputs];
    for c in 0..CLASSES.min(inputs) {
        w[c * inputs + c] = 1.0;
    }
    let w = g.add_const("W", &[CLASSES, inputs], &w).unwrap();
    let y = g
        .add_op::<FullyConnected>(FcAttrs { act: None }, &[x, w], "y")
        .unwrap();
    let z = g.add_op::<Activation>(Act::Relu, &[y], "logits").unwrap();
    g.mark_output(z).unwrap();
    g
}

fn encode(g: &Graph) -> AlignedBytes {
    let (offsets, len) = g.naive_plan().unwrap();
    AlignedBytes::from_slice(&g.encode(&offsets, len).unwrap())
}

/// `n` images; image `i` has its brightest early pixel at `i % 10` (so class `i % 10`),
/// labelled `label(i)`.
fn images(n: usize, label: impl Fn(usize) -> u8) -> (Vec<u8>, Vec<u8>) {
    let mut px = vec![0u8; n * IMAGE_PIXELS];
    for i in 0..n {
        let img = &mut px[i * IMAGE_PIXELS..(i + 1) * IMAGE_PIXELS];
        for (p, v) in img.iter_mut().enumerate() {
            *v = ((p * 7 + i * 13) % 100) as u8; // background below the peak
        }
        img[i % 10] = 200 + (i % 50) as u8;
    }
    let labels = (0..n).map(label).collect();
    (px, labels)
}

static OPS: OpResolver<2> = OpResolver::new()
    .with::<FullyConnected>()
    .with::<Activation>();

#[test]
fn counts_accuracy_and_host_agreement() {
    let bytes = encode(&pick_graph(IMAGE_PIXELS));
    // Labels right for 3 of every 4 images.
    let (px, labels) = images(20, |i| if i % 4 == 3 { 0 } else { (i % 10) as u8 });
    let expected: Vec<u8> = (0..20).map(|i| (i % 10) as u8).collect();
    let case = Case {
        name: "pick",
        model: &bytes,
        expected: &expected,
    };
    let set = TestSet {
        images: &px,
        labels: &labels,
    };
    let mut arena = vec![0u8; 64 * 1024];
    let r = run_case(&case, &set, &mut arena, OPS.table(), 2).unwrap();
    assert_eq!(r.images, 20);
    assert_eq!(r.passes, 2);
    // i % 4 == 3 with i % 10 == 0 never happens for i < 20, so those 5 are wrong.
    assert_eq!(r.correct, 15);
    assert_eq!(r.agree, 40);
    assert!(r.all_agree());
    assert_eq!(r.first_mismatch, None);
    assert_eq!(r.arena_len, 64 * 1024);
    let model = Model::from_bytes(&bytes).unwrap();
    assert_eq!(r.arena_needed, Interpreter::arena_len(&model).unwrap());
}

#[test]
fn reports_the_first_prediction_that_differs_from_the_host() {
    let bytes = encode(&pick_graph(IMAGE_PIXELS));
    let (px, labels) = images(12, |i| (i % 10) as u8);
    let mut expected: Vec<u8> = (0..12).map(|i| (i % 10) as u8).collect();
    expected[5] = 9;
    expected[7] = 1;
    let case = Case {
        name: "pick",
        model: &bytes,
        expected: &expected,
    };
    let set = TestSet {
        images: &px,
        labels: &labels,
    };
    let mut arena = vec![0u8; 64 * 1024];
    let r = run_case(&case, &set, &mut arena, OPS.table(), 1).unwrap();
    assert_eq!(r.correct, 12);
    assert_eq!(r.agree, 10);
    assert!(!r.all_agree());
    assert_eq!(
        r.first_mismatch,
        Some(Mismatch {
            image: 5,
            got: 5,
            want: 9
        })
    );
    let mut s = String::new();
    write_report(&mut s, "pick", &r, Some(1234)).unwrap();
    assert!(
        s.contains("pick: 12 images x 1 pass(es), accuracy 100.00% (12/12)"),
        "{s}"
    );
    assert!(s.contains("host agreement 10/12"), "{s}");
    assert!(s.contains("stack 1234 bytes"), "{s}");
    assert!(
        s.contains("pick: MISMATCH image 5: predicted 5, host predicted 9"),
        "{s}"
    );
}

#[test]
fn corrupted_model_is_a_load_error_with_the_loaders_message() {
    let bytes = encode(&pick_graph(IMAGE_PIXELS));
    let (px, labels) = images(3, |i| i as u8);
    let expected = [0u8, 1, 2];
    let set = TestSet {
        images: &px,
        labels: &labels,
    };
    for at in [0, 5, bytes.len() / 2, bytes.len() - 1] {
        let mut bad = bytes.to_vec();
        bad[at] = !bad[at];
        let bad = AlignedBytes::from_slice(&bad);
        let case = Case {
            name: "bad",
            model: &bad,
            expected: &expected,
        };
        let mut arena = vec![0u8; 64 * 1024];
        let e = run_case(&case, &set, &mut arena, OPS.table(), 1).unwrap_err();
        let FwError::Model(Error::Model(m)) = &e else {
            panic!("byte {at}: {e:?}");
        };
        // The firmware prints born_core's own message.
        assert_eq!(e.to_string(), Error::Model(*m).to_string());
        assert!(e.to_string().starts_with("model: "), "{e}");
    }
    let e = run_case(
        &Case {
            name: "bad",
            model: &bytes[..bytes.len() - 16],
            expected: &expected,
        },
        &set,
        &mut [0u8; 1024],
        OPS.table(),
        1,
    )
    .unwrap_err();
    assert!(
        matches!(
            e,
            FwError::Model(Error::Model(ModelError::FileLength { .. }))
        ) || matches!(e, FwError::Model(Error::Model(_))),
        "{e:?}"
    );
}

#[test]
fn small_arena_missing_kernel_and_bad_data_are_errors() {
    let bytes = encode(&pick_graph(IMAGE_PIXELS));
    let model = Model::from_bytes(&bytes).unwrap();
    let need = Interpreter::arena_len(&model).unwrap();
    let (px, labels) = images(2, |i| i as u8);
    let expected = [0u8, 1];
    let case = Case {
        name: "pick",
        model: &bytes,
        expected: &expected,
    };
    let set = TestSet {
        images: &px,
        labels: &labels,
    };
    let mut arena = vec![0u8; need - 1];
    assert_eq!(
        run_case(&case, &set, &mut arena, OPS.table(), 1),
        Err(FwError::ArenaTooSmall {
            needed: need,
            have: need - 1
        })
    );
    let mut arena = vec![0u8; need];
    assert!(run_case(&case, &set, &mut arena, OPS.table(), 1).is_ok());
    // A resolver without the model's second op: the loader rejects the model, naming the
    // op record and its id.
    let only_fc: OpResolver<1> = OpResolver::new().with::<FullyConnected>();
    let e = run_case(&case, &set, &mut arena, only_fc.table(), 1).unwrap_err();
    assert_eq!(
        e,
        FwError::Model(Error::Model(ModelError::UnknownOp {
            op: 1,
            id: Activation::ID
        }))
    );
    let msg = format!("model: op 1: op id {} ", Activation::ID);
    assert!(e.to_string().starts_with(&msg), "{e}");
    assert!(matches!(
        run_case(&case, &set, &mut arena, OPS.table(), 0),
        Err(FwError::Data(_))
    ));
    let short = TestSet {
        images: &px[1..],
        labels: &labels,
    };
    assert!(matches!(
        run_case(&case, &short, &mut arena, OPS.table(), 1),
        Err(FwError::Data(_))
    ));
    let one = Case {
        expected: &expected[..1],
        ..case
    };
    assert!(matches!(
        run_case(&one, &set, &mut arena, OPS.table(), 1),
        Err(FwError::Data(_))
    ));
}

#[test]
fn model_with_the_wrong_input_size_is_an_io_error() {
    let bytes = encode(&pick_graph(100));
    let (px, labels) = images(1, |_| 0);
    let case = Case {
        name: "small",
        model: &bytes,
        expected: &[0],
    };
    let set = TestSet {
        images: &px,
        labels: &labels,
    };
    let mut arena = vec![0u8; 16 * 1024];
    let e = run_case(&case, &set, &mut arena, OPS.table(), 1).unwrap_err();
    assert_eq!(
        e,
        FwError::Io {
            what: "input",
            expected: IMAGE_PIXELS,
            got: 100
        }
    );
    assert_eq!(e.to_string(), "model input has 100 elements, expected 784");
}

#[test]
fn argmax_takes_the_first_maximum_and_skips_nan() {
    assert_eq!(argmax(&[]), None);
    assert_eq!(argmax(&[1.0]), Some(0));
    assert_eq!(argmax(&[1.0, 3.0, 3.0, 2.0]), Some(1));
    assert_eq!(argmax(&[f32::NAN, -1.0, -2.0]), Some(1));
    assert_eq!(argmax(&[f32::NAN, f32::NAN]), Some(0));
    assert_eq!(argmax(&[f32::NEG_INFINITY, -1e30]), Some(1));
}

#[test]
fn percent_is_rounded_to_hundredths() {
    let p = |num, den| Percent { num, den }.to_string();
    assert_eq!(p(293, 300), "97.67%");
    assert_eq!(p(300, 300), "100.00%");
    assert_eq!(p(0, 7), "0.00%");
    assert_eq!(p(1, 3), "33.33%");
    assert_eq!(p(2, 3), "66.67%");
    assert_eq!(p(1, 0), "n/a");
}

#[test]
fn painted_words_show_the_lowest_write() {
    let mut words = [0u32; 64];
    stack::paint_words(&mut words);
    assert!(words.iter().all(|&w| w == PATTERN));
    assert_eq!(stack::first_used(&words), 64);
    words[40] = 0;
    assert_eq!(stack::first_used(&words), 40);
    words[17] = 1;
    assert_eq!(stack::first_used(&words), 17);
    assert_eq!(stack::first_used(&[]), 0);
}

#[test]
fn painting_a_region_the_stack_pointer_is_not_in_does_nothing() {
    let buf = vec![7u32; 256];
    let lo = buf.as_ptr() as usize;
    // SAFETY: the region is a heap buffer, not the stack: the stack pointer is outside it,
    // which `paint` detects (the test checks it writes nothing).
    let region = unsafe { StackRegion::new(lo, lo + 1024) };
    let p = region.paint();
    assert!(p.is_empty());
    assert!(buf.iter().all(|&w| w == 7));
    assert_eq!(region.size(), 1024);
}

#[test]
fn static_arena_is_handed_out_once() {
    static ARENA: StaticArena<100> = StaticArena::new();
    let a = ARENA.take().unwrap();
    assert_eq!(a.len(), 100);
    assert_eq!(a.as_ptr() as usize % 16, 0);
    assert!(a.iter().all(|&b| b == 0));
    assert!(ARENA.take().is_none());
}

#[cfg(feature = "gen")]
#[test]
fn host_predictions_match_the_firmware_loop() {
    let bytes = encode(&pick_graph(IMAGE_PIXELS));
    let model = Model::from_bytes(&bytes).unwrap();
    let (px, labels) = images(30, |i| (i % 10) as u8);
    let expected = gen::host_predictions(&model, &px).unwrap();
    assert_eq!(expected, labels);
    let case = Case {
        name: "pick",
        model: &bytes,
        expected: &expected,
    };
    let set = TestSet {
        images: &px,
        labels: &labels,
    };
    let mut arena = vec![0u8; 64 * 1024];
    assert!(run_case(&case, &set, &mut arena, OPS.table(), 1)
        .unwrap()
        .all_agree());
}

#[cfg(feature = "gen")]
#[test]
fn the_generators_op_table_agrees_with_born_core() {
    let all = born_core::ops::ALL.table();
    assert!(!all.overflowed());
    for (i, &(id, name, path)) in gen::OP_PATHS.iter().enumerate() {
        let (_, reg) = all
            .find(id)
            .unwrap_or_else(|| panic!("op id {id} ({name})"));
        assert_eq!(reg.name, name, "op id {id}");
        assert_eq!(gen::op_path(id).unwrap(), (name, path));
        assert!(path.starts_with("born_core::ops::"), "{path}");
        assert!(path.ends_with(&format!("::{name}")), "{path}");
        assert!(
            gen::OP_PATHS[..i].iter().all(|&(other, _, _)| other != id),
            "op id {id} twice"
        );
    }
    // Everything the board models use (the MLP and CNN, f32 and int8) is there.
    use born_core::ops::{conv2d, pool, q_conv2d, q_fully_connected, q_pool, quantize, reshape};
    for id in [
        FullyConnected::ID,
        Activation::ID,
        conv2d::Conv2d::ID,
        pool::MaxPool2d::ID,
        reshape::Reshape::ID,
        quantize::Quantize::ID,
        quantize::Dequantize::ID,
        q_fully_connected::QFullyConnected::ID,
        q_conv2d::QConv2d::ID,
        q_pool::QMaxPool2d::ID,
    ] {
        assert!(gen::op_path(id).is_ok(), "op id {id}");
    }
    let e = gen::op_path(u16::MAX).unwrap_err();
    assert!(e.contains("op id 65535 (unknown to born-core)"), "{e}");
}

#[cfg(feature = "gen")]
#[test]
fn the_generated_resolver_registers_each_used_op_once_in_id_order() {
    use born_core::ops::q_fully_connected::QFullyConnected;
    use born_core::ops::quantize::Quantize;
    let (src, names) = gen::resolver_source(&[
        QFullyConnected::ID,
        Quantize::ID,
        QFullyConnected::ID,
        FullyConnected::ID,
    ])
    .unwrap();
    assert_eq!(names, ["FullyConnected", "Quantize", "QFullyConnected"]);
    assert_eq!(
        src,
        "born_core::OpResolver::new()\n    \
         .with::<born_core::ops::fully_connected::FullyConnected>()\n    \
         .with::<born_core::ops::quantize::Quantize>()\n    \
         .with::<born_core::ops::q_fully_connected::QFullyConnected>()"
    );
    let (src, names) = gen::resolver_source(&[]).unwrap();
    assert_eq!(src, "born_core::OpResolver::new()");
    assert!(names.is_empty());
}

/// A scratch directory in the system temp directory, emptied first.
#[cfg(feature = "gen")]
fn scratch_dir(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("mnist-fw-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[cfg(feature = "gen")]
#[test]
fn generate_embeds_the_models_with_a_resolver_of_exactly_their_ops() {
    let dir = scratch_dir("models");
    let out = scratch_dir("out");
    let bytes = encode(&pick_graph(IMAGE_PIXELS));
    std::fs::write(dir.join("pick.born"), &bytes[..]).unwrap();
    let (px, labels) = images(12, |i| (i % 10) as u8);
    std::fs::write(dir.join("t10k-images.u8"), &px).unwrap();
    std::fs::write(dir.join("t10k-labels.u8"), &labels).unwrap();
    let cfg = gen::Config {
        out: out.clone(),
        dir: dir.clone(),
        names: vec!["pick".into()],
        images: 10,
        passes: 2,
        corrupt: Some(0),
    };
    let g = gen::generate_with(&cfg).unwrap();
    assert_eq!(g.ops, ["FullyConnected", "Activation"]);
    assert_eq!(g.images, 10);
    let model = Model::from_bytes(&bytes).unwrap();
    assert_eq!(g.arena_len, Interpreter::arena_len(&model).unwrap());
    let src = std::fs::read_to_string(&g.source).unwrap();
    assert!(
        src.contains(
            "pub static OPS: born_core::OpResolver<2> = born_core::OpResolver::new()\n    \
             .with::<born_core::ops::fully_connected::FullyConnected>()\n    \
             .with::<born_core::ops::activation::Activation>();\n"
        ),
        "{src}"
    );
    assert!(src.contains("pub const PASSES: u32 = 2;"), "{src}");
    assert!(src.contains(&format!("pub const ARENA_LEN: usize = {};", g.arena_len)));
    // The host's predictions come from the intact model; the embedded one has byte 0
    // inverted.
    assert_eq!(
        std::fs::read(out.join("pick.expected")).unwrap(),
        &labels[..10]
    );
    let embedded = std::fs::read(out.join("pick.born")).unwrap();
    assert_eq!(embedded[0], !bytes[0]);
    assert_eq!(embedded[1..], bytes[1..]);
    assert_eq!(
        std::fs::read(out.join("images.u8")).unwrap(),
        &px[..10 * IMAGE_PIXELS]
    );

    let too_many = gen::Config {
        images: 13,
        ..cfg.clone()
    };
    assert!(gen::generate_with(&too_many).is_err());
    let missing = gen::Config {
        names: vec!["nothere".into()],
        ..cfg
    };
    let e = gen::generate_with(&missing).unwrap_err();
    assert!(e.contains("nothere.born"), "{e}");
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn run_all_reports_each_model_and_fails_on_an_error() {
    let good = encode(&pick_graph(IMAGE_PIXELS));
    let mut bad = good.to_vec();
    bad[0] = b'X';
    let bad = AlignedBytes::from_slice(&bad);
    let (px, labels) = images(10, |i| i as u8);
    let expected: Vec<u8> = (0..10).collect();
    let cases = [
        Case {
            name: "good",
            model: &good,
            expected: &expected,
        },
        Case {
            name: "bad",
            model: &bad,
            expected: &expected,
        },
    ];
    let mut arena = vec![0u8; 64 * 1024];
    /// The text report, and which models succeeded.
    struct Seen(Text<String>, Vec<(String, bool)>);
    impl Log for Seen {
        fn banner(&mut self, b: &Banner<'_>) {
            self.0.banner(b);
        }
        fn case(&mut self, name: &str, r: &Result<Report, FwError>, stack: Option<usize>) {
            self.1.push((name.to_string(), r.is_ok()));
            self.0.case(name, r, stack);
        }
        fn summary(&mut self, s: &Summary) {
            self.0.summary(s);
        }
    }
    let mut log = Seen(Text(String::new()), Vec::new());
    let board = Board {
        cases: &cases,
        set: TestSet {
            images: &px,
            labels: &labels,
        },
        arena: &mut arena,
        ops: OPS.table(),
        passes: 1,
        stack: None,
    };
    log.banner(&Banner {
        target: "host",
        images: 10,
        passes: 1,
        arena: 65536,
        stack: 0,
    });
    let sum = run_all(board, &mut log);
    let Seen(Text(out), seen) = log;
    assert_eq!(
        sum,
        Summary {
            models: 2,
            errors: 1,
            disagreements: 0
        }
    );
    assert!(!sum.ok());
    assert_eq!(
        seen,
        [("good".to_string(), true), ("bad".to_string(), false)]
    );
    assert!(
        out.contains(
            "good: 10 images x 1 pass(es), accuracy 100.00% (10/10), host agreement 10/10"
        ),
        "{out}"
    );
    assert!(out.contains("bad: error: model: "), "{out}");
    assert!(
        out.starts_with(
            "born mnist firmware: host, 10 test images, 1 pass(es), static arena 65536 bytes, stack region 0 bytes\n"
        ),
        "{out}"
    );
    assert!(out.ends_with("result: FAIL\n"), "{out}");
}
