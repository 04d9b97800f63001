//! The UART protocol against embedded-hal-mock's serial mock, with a small model built here.

use born_core::backend::Cpu;
use born_core::model::graph::{AlignedBytes, Graph};
use born_core::nn::{self, Flatten, Linear, ReLU, Sequential, Softmax};
use born_core::ops::{softmax, Op, ALL};
use born_core::{Error as CoreError, Interpreter, Model, ModelError, Rng};
use embedded_hal_mock::eh1::delay::NoopDelay;
use embedded_hal_mock::eh1::serial::{Mock, Transaction};
use embedded_hal_nb::nb;
use embedded_hal_nb::serial::ErrorKind;
use stm32f4_mnist::{
    encode_error, encode_request, xor, Classifier, Error, Prediction, ANSWER_LEN, MNIST_OPS,
    PIXELS, REQUEST_LEN, SYNC,
};

const TIMEOUT_US: u32 = 3;

fn encode_naive(g: &Graph) -> AlignedBytes {
    let (offsets, len) = g.naive_plan().unwrap();
    AlignedBytes::from_slice(&g.encode(&offsets, len).unwrap())
}

/// 784 -> 16 -> 10 on a [1,1,28,28] input, as the board's MLP is (smaller).
fn mlp_bytes(seed: u64) -> AlignedBytes {
    let mut rng = Rng::seed(seed);
    let net: Sequential<Cpu> = Sequential::new()
        .push(Flatten)
        .push(Linear::new(PIXELS, 16, &Cpu, &mut rng).unwrap())
        .push(ReLU)
        .push(Linear::new(16, 10, &Cpu, &mut rng).unwrap());
    encode_naive(&nn::to_graph(&net, &Cpu, "mlp", &[1, 1, 28, 28]).unwrap())
}

fn image(seed: u32) -> [u8; PIXELS] {
    let mut s = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
    let mut px = [0u8; PIXELS];
    for p in px.iter_mut() {
        s ^= s << 13;
        s ^= s >> 17;
        s ^= s << 5;
        *p = (s >> 24) as u8;
    }
    px
}

/// What the host interpreter says for `px` (pixels / 255, every kernel).
fn host_logits(model: &Model<'_>, px: &[u8; PIXELS]) -> [f32; 10] {
    let mut arena = vec![0u8; Interpreter::arena_len(model).unwrap()];
    let mut it = Interpreter::new(model, &mut arena).unwrap();
    for (x, &p) in it.input_mut::<f32>(0).unwrap().iter_mut().zip(px) {
        *x = f32::from(p) / 255.0;
    }
    it.invoke().unwrap();
    it.output::<f32>(0).unwrap().try_into().unwrap()
}

fn reads(bytes: &[u8]) -> Transaction<u8> {
    Transaction::read_many(bytes)
}

/// The polls after which a read gives up: `TIMEOUT_US` waits, then one more poll.
fn silence() -> Vec<Transaction<u8>> {
    (0..=TIMEOUT_US)
        .map(|_| Transaction::read_error(nb::Error::WouldBlock))
        .collect()
}

/// Serves one request from a mock loaded with `script`; checks every expectation was used.
fn serve(bytes: &AlignedBytes, script: &[Transaction<u8>]) -> Result<Prediction, Error> {
    let model = Model::from_bytes(bytes).unwrap();
    let mut arena = vec![0u8; Interpreter::arena_len(&model).unwrap()];
    let mut c = Classifier::new(&model, &mut arena, MNIST_OPS.table())
        .unwrap()
        .with_timeout_us(TIMEOUT_US);
    let mut rx = Mock::new(script);
    let mut tx = rx.clone();
    let r = c.serve(&mut rx, &mut tx, &mut NoopDelay::new());
    rx.done();
    r
}

#[test]
fn a_good_frame_gives_the_host_interpreters_class_and_logits() {
    let bytes = mlp_bytes(1);
    let model = Model::from_bytes(&bytes).unwrap();
    let mut classes = Vec::new();
    for seed in 0..8 {
        let px = image(seed);
        let want = Prediction::from_logits(host_logits(&model, &px));
        let answer = want.encode();
        let got = serve(
            &bytes,
            &[
                reads(&encode_request(&px)),
                Transaction::write_many(answer),
                Transaction::flush(),
            ],
        )
        .unwrap();
        assert_eq!(got.class, want.class);
        for (a, b) in got.logits.iter().zip(&want.logits) {
            assert_eq!(a.to_bits(), b.to_bits());
        }
        classes.push(got.class);
    }
    // The images differ enough that the untrained model does not answer one class only.
    classes.dedup();
    assert!(classes.len() > 1, "{classes:?}");
}

#[test]
fn the_answer_frame_layout() {
    let mut logits = [0f32; 10];
    logits[7] = 2.5;
    logits[3] = -1.0;
    let a = Prediction::from_logits(logits).encode();
    assert_eq!(a.len(), ANSWER_LEN);
    assert_eq!(a[..2], SYNC);
    assert_eq!(a[2], 7);
    assert_eq!(a[3 + 4 * 7..3 + 4 * 8], 2.5f32.to_le_bytes());
    assert_eq!(a[3 + 4 * 3..3 + 4 * 4], (-1.0f32).to_le_bytes());
    assert_eq!(a[ANSWER_LEN - 1], xor(&a[2..ANSWER_LEN - 1]));
    let r = encode_request(&image(3));
    assert_eq!(r.len(), REQUEST_LEN);
    assert_eq!(r[REQUEST_LEN - 1], xor(&r[2..REQUEST_LEN - 1]));
}

#[test]
fn argmax_takes_the_first_maximum_and_skips_nan() {
    let mut l = [0f32; 10];
    l[2] = 1.0;
    l[5] = 1.0;
    assert_eq!(Prediction::from_logits(l).class, 2);
    l[0] = f32::NAN;
    assert_eq!(Prediction::from_logits(l).class, 2);
    assert_eq!(Prediction::from_logits([f32::NAN; 10]).class, 0);
}

#[test]
fn classify_matches_the_host_interpreter() {
    let bytes = mlp_bytes(2);
    let model = Model::from_bytes(&bytes).unwrap();
    let mut arena = vec![0u8; Interpreter::arena_len(&model).unwrap()];
    let mut c = Classifier::new(&model, &mut arena, MNIST_OPS.table()).unwrap();
    let px = image(9);
    assert_eq!(
        c.classify(&px).unwrap(),
        Prediction::from_logits(host_logits(&model, &px))
    );
}

#[test]
fn a_bad_checksum_is_reported_and_nothing_is_written() {
    let bytes = mlp_bytes(1);
    let px = image(1);
    let mut frame = encode_request(&px);
    let good = frame[REQUEST_LEN - 1];
    frame[REQUEST_LEN - 1] ^= 0x40;
    let e = serve(&bytes, &[reads(&frame)]).unwrap_err();
    assert_eq!(
        e,
        Error::Checksum {
            computed: good,
            received: good ^ 0x40
        }
    );
    // A flipped pixel is caught the same way.
    let mut frame = encode_request(&px);
    frame[100] ^= 1;
    assert!(matches!(
        serve(&bytes, &[reads(&frame)]),
        Err(Error::Checksum { .. })
    ));
}

#[test]
fn bad_sync_bytes_are_reported_and_consumed() {
    let bytes = mlp_bytes(1);
    let e = serve(&bytes, &[reads(&[0x00])]).unwrap_err();
    assert_eq!(e, Error::Sync { at: 0, got: 0x00 });
    let e = serve(&bytes, &[reads(&[0xB0, 0x28])]).unwrap_err();
    assert_eq!(e, Error::Sync { at: 1, got: 0x28 });
    // The second sync byte alone is not a frame start.
    let e = serve(&bytes, &[reads(&[0x27])]).unwrap_err();
    assert_eq!(e, Error::Sync { at: 0, got: 0x27 });
}

#[test]
fn a_repeated_first_sync_byte_is_skipped() {
    let bytes = mlp_bytes(1);
    let model = Model::from_bytes(&bytes).unwrap();
    let px = image(4);
    let answer = Prediction::from_logits(host_logits(&model, &px)).encode();
    let got = serve(
        &bytes,
        &[
            reads(&[0xB0, 0xB0]),
            reads(&encode_request(&px)[1..]),
            Transaction::write_many(answer),
            Transaction::flush(),
        ],
    );
    assert!(got.is_ok(), "{got:?}");
}

#[test]
fn a_short_frame_times_out_with_the_count_received() {
    let bytes = mlp_bytes(1);
    let frame = encode_request(&image(2));
    for n in [1usize, 2, 3, 500, REQUEST_LEN - 1] {
        let mut script = vec![reads(&frame[..n])];
        script.extend(silence());
        let e = serve(&bytes, &script).unwrap_err();
        assert_eq!(e, Error::Timeout { received: n }, "{n} bytes");
    }
}

#[test]
fn an_idle_line_times_out_with_nothing_received() {
    let e = serve(&mlp_bytes(1), &silence()).unwrap_err();
    assert_eq!(e, Error::Timeout { received: 0 });
}

#[test]
fn a_slow_line_within_the_timeout_is_fine() {
    let bytes = mlp_bytes(1);
    let model = Model::from_bytes(&bytes).unwrap();
    let px = image(5);
    let frame = encode_request(&px);
    let mut script = Vec::new();
    for (i, &b) in frame.iter().enumerate() {
        // Up to TIMEOUT_US empty polls before each byte.
        for _ in 0..(i as u32 % (TIMEOUT_US + 1)) {
            script.push(Transaction::read_error(nb::Error::WouldBlock));
        }
        script.push(Transaction::read(b));
    }
    script.push(Transaction::write_many(
        Prediction::from_logits(host_logits(&model, &px)).encode(),
    ));
    script.push(Transaction::flush());
    assert!(serve(&bytes, &script).is_ok());
}

#[test]
fn uart_errors_are_reported() {
    let bytes = mlp_bytes(1);
    let frame = encode_request(&image(2));
    let e = serve(
        &bytes,
        &[
            reads(&frame[..10]),
            Transaction::read_error(nb::Error::Other(ErrorKind::Overrun)),
        ],
    )
    .unwrap_err();
    assert_eq!(e, Error::Serial(ErrorKind::Overrun));
    // A failing write of the answer.
    let e = serve(
        &bytes,
        &[
            reads(&frame),
            Transaction::write_error(SYNC[0], nb::Error::Other(ErrorKind::FrameFormat)),
        ],
    )
    .unwrap_err();
    assert_eq!(e, Error::Serial(ErrorKind::FrameFormat));
    // A transmitter that never takes the answer.
    let mut script = vec![reads(&frame)];
    for _ in 0..=TIMEOUT_US {
        script.push(Transaction::write_error(SYNC[0], nb::Error::WouldBlock));
    }
    assert_eq!(serve(&bytes, &script).unwrap_err(), Error::WriteTimeout);
}

#[test]
fn error_answers_carry_the_code() {
    let e = Error::Checksum {
        computed: 1,
        received: 2,
    };
    let f = encode_error(&e);
    assert_eq!(f, [0xB0, 0x27, 0xFF, 3, 0xFF ^ 3]);
    assert_eq!(f[4], xor(&f[2..4]));
    let bytes = mlp_bytes(1);
    let model = Model::from_bytes(&bytes).unwrap();
    let mut arena = vec![0u8; Interpreter::arena_len(&model).unwrap()];
    let c = Classifier::new(&model, &mut arena, MNIST_OPS.table()).unwrap();
    let mut tx = Mock::new(&[Transaction::write_many(f), Transaction::flush()]);
    c.answer_error(&mut tx, &mut NoopDelay::new(), &e).unwrap();
    tx.done();
    assert!(!format!("{e}").is_empty());
}

#[test]
fn models_that_do_not_fit_the_protocol_are_rejected() {
    let mut rng = Rng::seed(7);
    // 100 inputs instead of 784.
    let small: Sequential<Cpu> =
        Sequential::new().push(Linear::new(100, 10, &Cpu, &mut rng).unwrap());
    let bytes = encode_naive(&nn::to_graph(&small, &Cpu, "m", &[1, 100]).unwrap());
    let model = Model::from_bytes(&bytes).unwrap();
    let mut arena = vec![0u8; Interpreter::arena_len(&model).unwrap()];
    assert!(matches!(
        Classifier::new(&model, &mut arena, MNIST_OPS.table()),
        Err(Error::Model(born_core::Error::InvalidArgument { .. }))
    ));
    // 784 -> 5 classes.
    let five: Sequential<Cpu> =
        Sequential::new().push(Linear::new(PIXELS, 5, &Cpu, &mut rng).unwrap());
    let bytes = encode_naive(&nn::to_graph(&five, &Cpu, "m", &[1, PIXELS]).unwrap());
    let model = Model::from_bytes(&bytes).unwrap();
    let mut arena = vec![0u8; Interpreter::arena_len(&model).unwrap()];
    assert!(matches!(
        Classifier::new(&model, &mut arena, MNIST_OPS.table()),
        Err(Error::Model(born_core::Error::InvalidArgument { .. }))
    ));
}

#[test]
fn ops_the_firmware_does_not_link_and_small_arenas_are_rejected() {
    let mut rng = Rng::seed(8);
    let net: Sequential<Cpu> = Sequential::new()
        .push(Linear::new(PIXELS, 10, &Cpu, &mut rng).unwrap())
        .push(Softmax::new(1));
    let bytes = encode_naive(&nn::to_graph(&net, &Cpu, "m", &[1, PIXELS]).unwrap());
    let model = Model::from_bytes(&bytes).unwrap();
    let n = Interpreter::arena_len(&model).unwrap();
    let mut arena = vec![0u8; n];
    // The Softmax record (op 1) names an op id the firmware's resolver lacks.
    let unknown = CoreError::Model(ModelError::UnknownOp {
        op: 1,
        id: softmax::Softmax::ID,
    });
    assert_eq!(
        Classifier::new(&model, &mut arena, MNIST_OPS.table()).err(),
        Some(Error::Model(unknown))
    );
    assert_eq!(
        Model::from_bytes_with(&bytes, MNIST_OPS.table()).err(),
        Some(unknown)
    );
    assert!(Classifier::new(&model, &mut arena, ALL.table()).is_ok());
    let mut short = vec![0u8; n - 16];
    assert!(matches!(
        Classifier::new(&model, &mut short, ALL.table()),
        Err(Error::Model(born_core::Error::ArenaTooSmall { .. }))
    ));
}

/// The models `scripts/board-models.sh` writes, when they are there, load with the kernels
/// the firmware links (build.rs makes the same check for the embedded one).
#[test]
fn board_models_load_with_the_firmware_kernels() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/board-models");
    let mut seen = 0;
    for name in ["mlp", "mlp.int8", "cnn", "cnn.int8"] {
        let Ok(raw) = std::fs::read(dir.join(format!("{name}.born"))) else {
            continue;
        };
        let bytes = AlignedBytes::from_slice(&raw);
        // As the firmware loads it: only the ops it links.
        let model = Model::from_bytes_with(&bytes, MNIST_OPS.table()).unwrap();
        let n = Interpreter::arena_len_with(&model, MNIST_OPS.table()).unwrap();
        let mut arena = vec![0u8; n];
        let mut c = Classifier::new(&model, &mut arena, MNIST_OPS.table()).unwrap();
        let p = c.classify(&[0u8; PIXELS]).unwrap();
        assert!(p.class < 10);
        seen += 1;
    }
    if seen == 0 {
        eprintln!(
            "no models in {}: run scripts/board-models.sh",
            dir.display()
        );
    }
}
