//! `born-pi` end to end: a small model and inputs written to a temporary folder, the binary
//! run on them, its classes and logits checked against the library interpreter. Under
//! `cargo test --target aarch64-unknown-linux-gnu` (qemu-user, no binfmt) the binary is run
//! through `qemu-aarch64` when the kernel cannot exec it directly.

use born_core::backend::Cpu;
use born_core::nn::{Flatten, Linear, ReLU, Sequential};
use born_core::{Interpreter, Model, Rng, Tensor};
use born_pi::argmax;
use born_std::export::{export, read_model, write_model};
use born_std::npy;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

const PIXELS: usize = 784;

/// A fresh folder for one test.
fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("born-pi-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// 784 -> 32 -> 10 with input `dims` (batch first).
fn write_mlp(dir: &Path, name: &str, dims: &[usize], seed: u64) -> PathBuf {
    let mut rng = Rng::seed(seed);
    let net: Sequential<Cpu> = Sequential::new()
        .push(Flatten)
        .push(Linear::new(PIXELS, 32, &Cpu, &mut rng).unwrap())
        .push(ReLU)
        .push(Linear::new(32, 10, &Cpu, &mut rng).unwrap());
    let (bytes, _) = export(&net, &Cpu, "mlp", dims).unwrap();
    let path = dir.join(name);
    write_model(&path, &bytes).unwrap();
    path
}

/// `n` images of pseudo-random u8 pixels.
fn pixels(n: usize, seed: u64) -> Vec<u8> {
    let t = Tensor::uniform(&[n * PIXELS], 0.0, 256.0, &mut Rng::seed(seed)).unwrap();
    t.data()
        .iter()
        .map(|&x| x.clamp(0.0, 255.0) as u8)
        .collect()
}

/// Logits of each image from the library interpreter, one image per invoke with batch 1.
fn expected(model: &Path, images: &[f32]) -> Vec<Vec<f32>> {
    let bytes = read_model(model).unwrap();
    let m = Model::from_bytes(&bytes).unwrap();
    let batch = m.shape(&m.tensor(m.inputs()[0] as usize).unwrap()).dims()[0];
    let mut arena = vec![0u8; Interpreter::arena_len(&m).unwrap()];
    let mut it = Interpreter::new(&m, &mut arena).unwrap();
    let mut all = Vec::new();
    for chunk in images.chunks(PIXELS * batch) {
        let input = it.input_mut::<f32>(0).unwrap();
        input.fill(0.0);
        input[..chunk.len()].copy_from_slice(chunk);
        it.invoke().unwrap();
        let out = it.output::<f32>(0).unwrap();
        all.extend(
            out.chunks(10)
                .take(chunk.len() / PIXELS)
                .map(<[f32]>::to_vec),
        );
    }
    all
}

/// How to start the binary: directly, or through qemu-aarch64 when this is an emulated
/// aarch64 test process on a host without binfmt (there the exec fails: an error, or exit
/// status 127 from the shell fallback of posix_spawn). `BORN_PI_RUNNER` overrides.
fn launcher() -> &'static [String] {
    static L: OnceLock<Vec<String>> = OnceLock::new();
    L.get_or_init(|| {
        if let Ok(r) = std::env::var("BORN_PI_RUNNER") {
            return r.split_whitespace().map(String::from).collect();
        }
        let direct = Command::new(env!("CARGO_BIN_EXE_born-pi"))
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success() && o.stdout.starts_with(b"born-pi"));
        if direct || !cfg!(target_arch = "aarch64") {
            Vec::new()
        } else {
            ["qemu-aarch64", "-L", "/usr/aarch64-linux-gnu"]
                .map(String::from)
                .to_vec()
        }
    })
}

fn born_pi(args: &[&str], stdin: Option<&[u8]>) -> Output {
    let exe = env!("CARGO_BIN_EXE_born-pi");
    let l = launcher();
    let mut cmd = match l.split_first() {
        Some((prog, pre)) => {
            let mut c = Command::new(prog);
            c.args(pre).arg(exe);
            c
        }
        None => Command::new(exe),
    };
    cmd.args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("start born-pi");
    if let Some(bytes) = stdin {
        child.stdin.take().unwrap().write_all(bytes).unwrap();
    }
    child.wait_with_output().unwrap()
}

fn ok_stdout(o: &Output) -> String {
    assert!(
        o.status.success(),
        "born-pi failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout.clone()).unwrap()
}

fn err_text(o: &Output) -> String {
    let e = String::from_utf8_lossy(&o.stderr).to_string();
    assert_eq!(o.status.code(), Some(1), "stderr: {e}");
    assert!(!e.contains("panicked"), "{e}");
    assert!(e.starts_with("born-pi: "), "{e}");
    e
}

/// Lines of `CLASS L0 .. L9`: checks the class is the arg-max and the logits equal `want`
/// bit for bit.
fn check_logits(stdout: &str, want: &[Vec<f32>]) {
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), want.len());
    for (line, w) in lines.iter().zip(want) {
        let mut f = line.split(' ');
        let class: usize = f.next().unwrap().parse().unwrap();
        let got: Vec<f32> = f.map(|x| x.parse().unwrap()).collect();
        assert_eq!(got.len(), 10);
        for (a, b) in got.iter().zip(w) {
            assert_eq!(a.to_bits(), b.to_bits(), "{line}");
        }
        assert_eq!(class, argmax(w));
    }
}

fn classes(want: &[Vec<f32>]) -> String {
    want.iter().map(|l| format!("{}\n", argmax(l))).collect()
}

#[test]
fn npy_and_raw_inputs_match_the_interpreter() {
    let dir = temp_dir("formats");
    let model = write_mlp(&dir, "m.born", &[1, 1, 28, 28], 1);
    let n = 7;
    let px = pixels(n, 2);
    let scaled: Vec<f32> = px.iter().map(|&p| f32::from(p) / 255.0).collect();
    let want = expected(&model, &scaled);
    let m = model.to_str().unwrap();

    let f32_4d = dir.join("x4.npy");
    npy::write_npy_f32(&f32_4d, &[n, 1, 28, 28], &scaled).unwrap();
    let f32_2d = dir.join("x2.npy");
    npy::write_npy_f32(&f32_2d, &[n, PIXELS], &scaled).unwrap();
    let u8_3d = dir.join("u8.npy");
    npy::write_npy_u8(&u8_3d, &[n, 28, 28], &px).unwrap();
    let raw = dir.join("x.u8");
    std::fs::write(&raw, &px).unwrap();

    for input in [&f32_4d, &f32_2d, &u8_3d, &raw] {
        let o = born_pi(&[m, input.to_str().unwrap(), "--logits"], None);
        check_logits(&ok_stdout(&o), &want);
        let o = born_pi(&[m, input.to_str().unwrap()], None);
        assert_eq!(ok_stdout(&o), classes(&want));
    }
    // Standard input, raw and .npy, with `-` and with no argument.
    check_logits(
        &ok_stdout(&born_pi(&[m, "-", "--logits"], Some(&px))),
        &want,
    );
    let npy_bytes = std::fs::read(&u8_3d).unwrap();
    assert_eq!(ok_stdout(&born_pi(&[m], Some(&npy_bytes))), classes(&want));
    // The untrained model still spreads its answers.
    let mut c: Vec<usize> = want.iter().map(|l| argmax(l)).collect();
    c.sort_unstable();
    c.dedup();
    assert!(c.len() > 1, "{c:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_single_image_array_is_one_image() {
    let dir = temp_dir("single");
    let model = write_mlp(&dir, "m.born", &[1, PIXELS], 3);
    let px = pixels(1, 4);
    let scaled: Vec<f32> = px.iter().map(|&p| f32::from(p) / 255.0).collect();
    let want = expected(&model, &scaled);
    let x = dir.join("one.npy");
    npy::write_npy_f32(&x, &[28, 28], &scaled).unwrap();
    let o = born_pi(
        &[model.to_str().unwrap(), x.to_str().unwrap(), "--logits"],
        None,
    );
    check_logits(&ok_stdout(&o), &want);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_batched_model_runs_in_chunks_with_a_padded_tail() {
    let dir = temp_dir("batch");
    // The same weights exported with batch 4 and batch 1.
    let m4 = write_mlp(&dir, "b4.born", &[4, 1, 28, 28], 5);
    let m1 = write_mlp(&dir, "b1.born", &[1, 1, 28, 28], 5);
    let n = 10;
    let px = pixels(n, 6);
    let raw = dir.join("x.u8");
    std::fs::write(&raw, &px).unwrap();
    let scaled: Vec<f32> = px.iter().map(|&p| f32::from(p) / 255.0).collect();
    let want = expected(&m4, &scaled);
    assert_eq!(want.len(), n);
    let o = born_pi(
        &[m4.to_str().unwrap(), raw.to_str().unwrap(), "--logits"],
        None,
    );
    check_logits(&ok_stdout(&o), &want);
    let o1 = born_pi(&[m1.to_str().unwrap(), raw.to_str().unwrap()], None);
    assert_eq!(ok_stdout(&o1), classes(&want));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bench_prints_latency_after_the_classes() {
    let dir = temp_dir("bench");
    let model = write_mlp(&dir, "m.born", &[1, 1, 28, 28], 7);
    let px = pixels(3, 8);
    let o = born_pi(&[model.to_str().unwrap(), "--bench", "5"], Some(&px));
    assert_eq!(ok_stdout(&o).lines().count(), 3);
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(e.contains("bench: 5 invokes of batch 1: mean"), "{e}");
    assert!(e.contains("images/s"), "{e}");
    let o = born_pi(&[model.to_str().unwrap(), "--bench", "0"], Some(&px));
    assert!(err_text(&o).contains("--bench"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bad_inputs_give_clear_errors() {
    let dir = temp_dir("errors");
    let model = write_mlp(&dir, "m.born", &[1, 1, 28, 28], 9);
    let m = model.to_str().unwrap();
    let path = |name: &str| dir.join(name).to_str().unwrap().to_string();

    // Raw bytes that are not whole images.
    let e = err_text(&born_pi(&[m, "-"], Some(&[0u8; 1000])));
    assert!(e.contains("1000 bytes") && e.contains("784"), "{e}");
    // No bytes at all.
    let e = err_text(&born_pi(&[m], Some(&[])));
    assert!(e.contains("no images"), "{e}");
    // An array of the wrong image size.
    npy::write_npy_f32(&dir.join("s.npy"), &[3, 100], &[0.5; 300]).unwrap();
    let e = err_text(&born_pi(&[m, &path("s.npy")], None));
    assert!(
        e.contains("[3, 100]") && e.contains("[1, 1, 28, 28]"),
        "{e}"
    );
    // An element type other than f32 / u8.
    npy::write_npy_i32(&dir.join("i.npy"), &[1, PIXELS], &[1; PIXELS]).unwrap();
    let e = err_text(&born_pi(&[m, &path("i.npy")], None));
    assert!(e.contains("<i4") && e.contains("float32"), "{e}");
    // A zero-image array.
    npy::write_npy_f32(&dir.join("z.npy"), &[0, PIXELS], &[]).unwrap();
    let e = err_text(&born_pi(&[m, &path("z.npy")], None));
    assert!(e.contains("no images"), "{e}");
    // A truncated .npy.
    let good = std::fs::read(dir.join("s.npy")).unwrap();
    std::fs::write(dir.join("t.npy"), &good[..good.len() - 7]).unwrap();
    let e = err_text(&born_pi(&[m, &path("t.npy")], None));
    assert!(e.contains("t.npy"), "{e}");
    // Missing files.
    let e = err_text(&born_pi(&[m, &path("missing.u8")], None));
    assert!(e.contains("missing.u8"), "{e}");
    let e = err_text(&born_pi(&[&path("missing.born"), "-"], Some(&[0u8; 784])));
    assert!(e.contains("missing.born"), "{e}");
    // Not a model; a damaged model.
    std::fs::write(dir.join("x.born"), b"hello").unwrap();
    let e = err_text(&born_pi(&[&path("x.born"), "-"], Some(&[0u8; 784])));
    assert!(e.contains("not a valid .born model"), "{e}");
    let mut bytes = std::fs::read(&model).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x55;
    std::fs::write(dir.join("bad.born"), &bytes).unwrap();
    let e = err_text(&born_pi(&[&path("bad.born"), "-"], Some(&[0u8; 784])));
    assert!(e.contains("bad.born"), "{e}");
    // A model whose input is not an image of 784.
    let mut rng = Rng::seed(1);
    let small: Sequential<Cpu> =
        Sequential::new().push(Linear::new(100, 10, &Cpu, &mut rng).unwrap());
    let (b, _) = export(&small, &Cpu, "small", &[1, 100]).unwrap();
    write_model(&dir.join("small.born"), &b).unwrap();
    let e = err_text(&born_pi(&[&path("small.born"), "-"], Some(&[0u8; 784])));
    assert!(
        e.contains("784 bytes") && e.contains("100 u8 pixels"),
        "{e}"
    );
    // Usage errors come from the argument parser (exit code 2).
    let o = born_pi(&[], None);
    assert_eq!(o.status.code(), Some(2));
    let o = born_pi(&[m, "--bench", "x"], None);
    assert_eq!(o.status.code(), Some(2));
    let _ = std::fs::remove_dir_all(&dir);
}
