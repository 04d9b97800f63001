//! PNG plots of training curves: loss on the left panel, train and test accuracy (in %) on
//! the right, one point per epoch.
//!
//! Rendering is pure Rust (plotters' bitmap backend, text through `ab_glyph` with the
//! DejaVu Sans font compiled into the binary, PNG encoding with the `png` crate), so no
//! system font or graphics library is needed. Should the embedded font ever fail to load,
//! the plot is drawn without any text rather than not at all.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

use plotters::backend::RGBPixel;
use plotters::coord::Shift;
use plotters::prelude::*;

use crate::error::{Error, Result};

/// Width and height in pixels of the images [`plot_training`] writes.
pub const DEFAULT_SIZE: (u32, u32) = (1200, 500);

/// Largest accepted width or height in pixels.
pub const MAX_SIDE: u32 = 8192;

/// Most values per series [`plot_training`] draws.
pub const MAX_EPOCHS: usize = 1_000_000;

/// The font family name this module registers the embedded font under (not `sans-serif`,
/// so that no text can silently fall back to plotters' default family).
const FAMILY: &str = "born-dejavu-sans";

/// Registers the embedded font once; `true` when text can be drawn.
fn font_ready() -> bool {
    static READY: OnceLock<bool> = OnceLock::new();
    *READY.get_or_init(|| {
        plotters::style::register_font(FAMILY, FontStyle::Normal, dejavu::sans::regular()).is_ok()
    })
}

/// Writes a PNG of [`DEFAULT_SIZE`] to `path` showing the training curves of a run: `title`
/// on top, `train_loss` on the left panel, `train_accuracy` and `test_accuracy` (fractions
/// in `0..=1`, shown as %) on the right, with axis labels and legends. Value `i` of each
/// slice belongs to epoch `i + 1`; the slices may differ in length (an empty one is simply
/// not drawn), and non-finite values (a diverged loss) are left out of their curve.
///
/// The file is written atomically (temporary file in the same directory, then renamed).
///
/// Errors: [`Error::Invalid`] when all three slices are empty, one is longer than
/// [`MAX_EPOCHS`] or drawing fails,
/// [`Error::Io`] when the file cannot be written.
pub fn plot_training(
    path: &Path,
    title: &str,
    train_loss: &[f32],
    train_accuracy: &[f32],
    test_accuracy: &[f32],
) -> Result<()> {
    plot_training_sized(
        path,
        title,
        train_loss,
        train_accuracy,
        test_accuracy,
        DEFAULT_SIZE,
    )
}

/// [`plot_training`] with an image of `size` = (width, height) pixels, each in
/// `64..=`[`MAX_SIDE`] (else [`Error::Invalid`]).
pub fn plot_training_sized(
    path: &Path,
    title: &str,
    train_loss: &[f32],
    train_accuracy: &[f32],
    test_accuracy: &[f32],
    size: (u32, u32),
) -> Result<()> {
    let font = font_ready().then_some(FAMILY);
    let pixels = render(title, train_loss, train_accuracy, test_accuracy, size, font)?;
    let png = encode_png(&pixels, size)?;
    write_atomic(path, &png)
}

/// Draws the plot into an RGB buffer of `size`; `font` is the registered family to draw
/// text with, or `None` for a plot without any text.
fn render(
    title: &str,
    train_loss: &[f32],
    train_accuracy: &[f32],
    test_accuracy: &[f32],
    size: (u32, u32),
    font: Option<&str>,
) -> Result<Vec<u8>> {
    let (w, h) = size;
    if !(64..=MAX_SIDE).contains(&w) || !(64..=MAX_SIDE).contains(&h) {
        return Err(Error::Invalid(format!(
            "plot size {w}x{h}: each side must be in 64..={MAX_SIDE}"
        )));
    }
    let epochs = train_loss
        .len()
        .max(train_accuracy.len())
        .max(test_accuracy.len());
    if epochs == 0 {
        return Err(Error::Invalid(
            "plot: no values to draw (all three series are empty)".into(),
        ));
    }
    if epochs > MAX_EPOCHS {
        return Err(Error::Invalid(format!(
            "plot: {epochs} epochs, at most {MAX_EPOCHS} can be drawn"
        )));
    }
    let mut buf = vec![0u8; w as usize * h as usize * 3];
    {
        let backend = BitMapBackend::<RGBPixel>::with_buffer_and_format(&mut buf, size)
            .map_err(|e| Error::Invalid(format!("plot: {e}")))?;
        let root = backend.into_drawing_area();
        root.fill(&WHITE).map_err(draw_err)?;
        let body = match font {
            Some(f) => root.titled(title, (f, 26)).map_err(draw_err)?,
            None => root.margin(30, 0, 0, 0),
        };
        let half = body.dim_in_pixel().0 / 2;
        let (left, right) = body.split_horizontally(half);

        let x_max = epochs.max(2) as u32;
        // Loss axis from 0 (or the lowest value, if negative) to 10 % above the highest.
        let loss_min = finite_min(train_loss).unwrap_or(0.0).min(0.0) * 1.1;
        let loss_max = finite_max(train_loss).unwrap_or(1.0).max(f64::MIN_POSITIVE) * 1.1;
        let loss = [Curve {
            label: "train loss",
            color: RGBColor(214, 39, 40),
            values: train_loss,
            scale: 1.0,
        }];
        let loss_panel = Panel {
            caption: "Loss",
            y_desc: "loss",
            y: loss_min..loss_max,
            curves: &loss,
            legend: SeriesLabelPosition::UpperRight,
        };
        panel(&left, font, x_max, &loss_panel)?;

        let acc_min = finite_min(train_accuracy)
            .into_iter()
            .chain(finite_min(test_accuracy))
            .fold(f64::INFINITY, f64::min);
        let acc_lo = if acc_min.is_finite() {
            // Round down to a multiple of 5 % below the lowest value, so 97-99 % curves
            // are not squashed against the top of a 0-100 axis.
            ((acc_min * 100.0 - 1.0) / 5.0).floor().clamp(0.0, 19.0) * 5.0
        } else {
            0.0
        };
        let acc = [
            Curve {
                label: "train accuracy",
                color: RGBColor(31, 119, 180),
                values: train_accuracy,
                scale: 100.0,
            },
            Curve {
                label: "test accuracy",
                color: RGBColor(44, 160, 44),
                values: test_accuracy,
                scale: 100.0,
            },
        ];
        let acc_panel = Panel {
            caption: "Accuracy",
            y_desc: "accuracy (%)",
            y: acc_lo..100.0,
            curves: &acc,
            legend: SeriesLabelPosition::LowerRight,
        };
        panel(&right, font, x_max, &acc_panel)?;
        root.present().map_err(draw_err)?;
    }
    Ok(buf)
}

/// One line of a panel.
struct Curve<'a> {
    label: &'static str,
    color: RGBColor,
    values: &'a [f32],
    /// Factor applied to each value (100 for fractions shown as %).
    scale: f64,
}

/// One chart: its caption, y-axis label and range, curves and legend corner.
struct Panel<'a> {
    caption: &'a str,
    y_desc: &'a str,
    y: std::ops::Range<f64>,
    curves: &'a [Curve<'a>],
    legend: SeriesLabelPosition,
}

type Area<'a> = DrawingArea<BitMapBackend<'a, RGBPixel>, Shift>;

/// Draws one chart: epochs `1..=x_max` across, `y` up, each curve as a line (with a dot per
/// epoch up to 60 epochs), and (with a font) caption, axis labels and a legend.
fn panel(area: &Area<'_>, font: Option<&str>, x_max: u32, p: &Panel<'_>) -> Result<()> {
    let Panel {
        caption,
        y_desc,
        ref y,
        curves,
        ref legend,
    } = *p;
    let mut builder = ChartBuilder::on(area);
    builder.margin(12);
    if let Some(f) = font {
        builder
            .caption(caption, (f, 20))
            .x_label_area_size(45)
            .y_label_area_size(60);
    } else {
        builder.x_label_area_size(10).y_label_area_size(10);
    }
    let mut chart = builder
        .build_cartesian_2d(1u32..x_max, y.clone())
        .map_err(draw_err)?;
    match font {
        Some(f) => {
            chart
                .configure_mesh()
                .light_line_style(RGBColor(235, 235, 235))
                .x_desc("epoch")
                .y_desc(y_desc)
                .x_labels(x_max.min(12) as usize)
                .y_labels(8)
                .label_style((f, 14))
                .axis_desc_style((f, 16))
                .draw()
                .map_err(draw_err)?;
        }
        None => {
            // The mesh draws tick labels (text); without a font only a frame is drawn.
            chart
                .draw_series(std::iter::once(Rectangle::new(
                    [(1, y.start), (x_max, y.end)],
                    BLACK.stroke_width(1),
                )))
                .map_err(draw_err)?;
        }
    }
    let mut labelled = false;
    for c in curves {
        let points: Vec<(u32, f64)> = c
            .values
            .iter()
            .enumerate()
            .filter(|(_, v)| v.is_finite())
            .map(|(i, &v)| (i as u32 + 1, f64::from(v) * c.scale))
            .collect();
        if points.is_empty() {
            continue;
        }
        let color = c.color;
        let series = chart
            .draw_series(LineSeries::new(points.clone(), color.stroke_width(2)))
            .map_err(draw_err)?;
        if font.is_some() {
            labelled = true;
            series.label(c.label).legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 24, y)], color.stroke_width(2))
            });
        }
        // A dot per epoch while the dots stay apart.
        if x_max <= 60 {
            let dots = points
                .into_iter()
                .map(|p| Circle::new(p, 3, color.filled()));
            chart.draw_series(dots).map_err(draw_err)?;
        }
    }
    if let (Some(f), true) = (font, labelled) {
        chart
            .configure_series_labels()
            .label_font((f, 14))
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .position(legend.clone())
            .draw()
            .map_err(draw_err)?;
    }
    Ok(())
}

fn draw_err<E: std::fmt::Display>(e: E) -> Error {
    Error::Invalid(format!("plot: drawing failed: {e}"))
}

fn finite_max(v: &[f32]) -> Option<f64> {
    v.iter()
        .filter(|x| x.is_finite())
        .map(|&x| f64::from(x))
        .reduce(f64::max)
}

fn finite_min(v: &[f32]) -> Option<f64> {
    v.iter()
        .filter(|x| x.is_finite())
        .map(|&x| f64::from(x))
        .reduce(f64::min)
}

/// An 8-bit RGB PNG of `pixels` (row-major, 3 bytes a pixel).
fn encode_png(pixels: &[u8], (w, h): (u32, u32)) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, w, h);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        let mut writer = enc
            .write_header()
            .map_err(|e| Error::Invalid(format!("plot: PNG encoding: {e}")))?;
        writer
            .write_image_data(pixels)
            .map_err(|e| Error::Invalid(format!("plot: PNG encoding: {e}")))?;
        writer
            .finish()
            .map_err(|e| Error::Invalid(format!("plot: PNG encoding: {e}")))?;
    }
    Ok(out)
}

/// Writes `bytes` to a temporary file beside `path`, then renames it over `path`.
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let io_err = |p: &Path, source: io::Error| Error::Io {
        path: p.to_path_buf(),
        source,
    };
    let Some(file_name) = path.file_name() else {
        return Err(io_err(
            path,
            io::Error::new(io::ErrorKind::InvalidInput, "the path names no file"),
        ));
    };
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(file_name);
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    tmp_name.push(format!(
        ".tmp-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let tmp = dir.join(tmp_name);
    let written = fs::File::create(&tmp).and_then(|mut f| f.write_all(bytes));
    if let Err(e) = written {
        let _ = fs::remove_file(&tmp);
        return Err(io_err(path, e));
    }
    fs::rename(&tmp, path).map_err(|e| {
        let _ = fs::remove_file(&tmp);
        io_err(path, e)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_without_a_font() {
        // No text at all: nothing may reach for a font family (none named here is registered).
        let px = render(
            "untitled",
            &[2.0, 1.0, 0.5],
            &[0.8, 0.9, 0.95],
            &[0.82, 0.91, 0.94],
            (300, 200),
            None,
        )
        .unwrap();
        assert_eq!(px.len(), 300 * 200 * 3);
        assert!(px.iter().any(|&b| b != 255));
    }

    #[test]
    fn missing_font_family_is_an_error_not_a_panic() {
        let r = render(
            "t",
            &[1.0],
            &[0.5],
            &[0.5],
            (300, 200),
            Some("no-such-font"),
        );
        assert!(matches!(r, Err(Error::Invalid(_))));
    }
}
