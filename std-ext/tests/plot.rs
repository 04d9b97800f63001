//! `born_std::plot`: the PNG decodes, has the requested size and shows curves and text.

use std::path::PathBuf;

use born_std::plot::{plot_training, plot_training_sized, DEFAULT_SIZE};
use born_std::Error;

fn out(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("plot");
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

/// (width, height, RGB bytes) of a PNG file.
fn decode(path: &std::path::Path) -> (u32, u32, Vec<u8>) {
    let decoder = png::Decoder::new(std::fs::File::open(path).unwrap());
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    assert_eq!(info.color_type, png::ColorType::Rgb);
    buf.truncate(info.buffer_size());
    (info.width, info.height, buf)
}

fn count_color(px: &[u8], rgb: [u8; 3]) -> usize {
    px.chunks_exact(3).filter(|p| *p == rgb).count()
}

#[test]
fn training_curves_png() {
    let path = out("curves.png");
    let loss = [0.45, 0.21, 0.15, 0.11, 0.09];
    let train = [0.871, 0.938, 0.956, 0.967, 0.973];
    let test = [0.925, 0.949, 0.961, 0.968, 0.970];
    plot_training(&path, "mnist / mlp", &loss, &train, &test).unwrap();
    let (w, h, px) = decode(&path);
    assert_eq!((w, h), DEFAULT_SIZE);
    let non_white = px.chunks_exact(3).filter(|p| *p != [255, 255, 255]).count();
    let total = (w * h) as usize;
    assert!(
        non_white > total / 200,
        "almost blank: {non_white} of {total}"
    );
    assert!(
        non_white < total / 2,
        "mostly filled: {non_white} of {total}"
    );
    // Each curve's colour is there (line + dots + legend sample).
    for rgb in [[214, 39, 40], [31, 119, 180], [44, 160, 44]] {
        assert!(count_color(&px, rgb) > 100, "colour {rgb:?} missing");
    }
    // Text is drawn: anti-aliased glyphs leave grey levels that lines in pure colours do not.
    let grey = px
        .chunks_exact(3)
        .filter(|p| p[0] == p[1] && p[1] == p[2] && p[0] > 30 && p[0] < 200)
        .count();
    assert!(grey > 500, "no text rendered ({grey} grey pixels)");
}

#[test]
fn requested_size_single_epoch_and_odd_values() {
    let path = out("one_epoch.png");
    plot_training_sized(
        &path,
        "one epoch, NaN loss, no test",
        &[f32::NAN],
        &[0.5],
        &[],
        (640, 360),
    )
    .unwrap();
    let (w, h, px) = decode(&path);
    assert_eq!((w, h), (640, 360));
    assert!(count_color(&px, [31, 119, 180]) > 10);
}

#[test]
fn overwrites_and_leaves_no_temp_file() {
    // A folder of its own: the other tests write (and rename) their temporary files
    // concurrently in the shared one.
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("plot-twice");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("twice.png");
    plot_training(&path, "a", &[1.0, 0.5], &[0.5, 0.6], &[0.5, 0.7]).unwrap();
    plot_training(&path, "b", &[1.0, 0.5], &[0.5, 0.6], &[0.5, 0.7]).unwrap();
    let dir = path.parent().unwrap();
    let leftovers: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains(".tmp-"))
        .collect();
    assert!(leftovers.is_empty());
}

#[test]
fn bad_requests() {
    let path = out("bad.png");
    assert!(matches!(
        plot_training(&path, "empty", &[], &[], &[]),
        Err(Error::Invalid(_))
    ));
    assert!(matches!(
        plot_training_sized(&path, "tiny", &[1.0], &[], &[], (10, 10)),
        Err(Error::Invalid(_))
    ));
    let missing_dir = out("no/such/dir/x.png");
    assert!(matches!(
        plot_training(&missing_dir, "t", &[1.0], &[0.5], &[0.5]),
        Err(Error::Io { .. })
    ));
}

#[test]
fn many_epochs() {
    let n = 20_000;
    let loss: Vec<f32> = (0..n).map(|i| 1.0 / (1.0 + i as f32)).collect();
    let acc: Vec<f32> = (0..n).map(|i| 1.0 - 0.5 / (1.0 + i as f32)).collect();
    let path = out("many.png");
    plot_training(&path, "20,000 epochs", &loss, &acc, &acc).unwrap();
    let too_many = vec![0.5; born_std::plot::MAX_EPOCHS + 1];
    assert!(matches!(
        plot_training(&path, "too many", &too_many, &[], &[]),
        Err(Error::Invalid(_))
    ));
}
