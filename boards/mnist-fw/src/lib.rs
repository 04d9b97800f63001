//! The board-independent part of Born's MNIST firmware.
//!
//! A board crate embeds one or more `.born` classifiers, a few MNIST test images (u8 pixels,
//! row-major 28 x 28) with their labels, and the class the host interpreter predicted for
//! each image (all generated at build time by [`gen`], feature `gen`). At run time
//! [`run_case`] loads each model, feeds every image (pixels / 255 as f32) through the
//! interpreter in a caller-owned arena, takes the argmax of the 10 logits, and counts how
//! often it matches the label and the host's prediction. [`run_all`] runs them all and reports
//! through a [`Log`]: [`Text`] over any [`core::fmt::Write`], or `Defmt` (feature `defmt`),
//! which keeps `core::fmt` and the report's strings out of flash. Nothing here panics on bad data: every problem comes
//! back as a [`FwError`].
//!
//! [`stack`] measures the stack high-water mark by painting, and [`StaticArena`] hands out
//! a `static` buffer once, safely.

#![cfg_attr(not(any(test, feature = "std")), no_std)]

pub mod stack;
mod static_arena;

#[cfg(feature = "gen")]
pub mod gen;

use core::fmt;

use born_core::ops::Table;
use born_core::{Interpreter, Model};

pub use static_arena::StaticArena;

/// Pixels of one MNIST image (28 x 28).
pub const IMAGE_PIXELS: usize = 28 * 28;
/// Classes an MNIST classifier scores.
pub const CLASSES: usize = 10;

/// One embedded model and the host's prediction for each test image.
#[derive(Clone, Copy, Debug)]
pub struct Case<'a> {
    /// Short name printed in the report (`mlp.int8`).
    pub name: &'a str,
    /// The `.born` bytes, 16-byte aligned (`born_core::include_model!`).
    pub model: &'a [u8],
    /// The class the host interpreter predicted for each test image, one byte per image.
    pub expected: &'a [u8],
}

/// Test images and their labels.
#[derive(Clone, Copy, Debug)]
pub struct TestSet<'a> {
    /// `labels.len()` images of [`IMAGE_PIXELS`] bytes each, one after the other.
    pub images: &'a [u8],
    /// The digit each image shows.
    pub labels: &'a [u8],
}

impl TestSet<'_> {
    /// Number of images.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether there are no images.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }
}

/// Why a model could not be run.
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum FwError {
    /// The loader rejected the model or the interpreter failed (the `born_core::Error`).
    Model(born_core::Error),
    /// The arena holds fewer bytes than `Interpreter::arena_len` says the model needs on
    /// this CPU.
    ArenaTooSmall {
        /// Bytes the model needs here.
        needed: usize,
        /// Bytes the arena has.
        have: usize,
    },
    /// The model's input or output does not have the element count an MNIST classifier has.
    Io {
        /// `"input"` or `"output"`.
        what: &'static str,
        /// Elements expected ([`IMAGE_PIXELS`] or [`CLASSES`]).
        expected: usize,
        /// Elements the model has.
        got: usize,
    },
    /// The embedded images, labels and expected predictions do not agree in count.
    Data(&'static str),
}

impl From<born_core::Error> for FwError {
    fn from(e: born_core::Error) -> Self {
        FwError::Model(e)
    }
}

impl fmt::Display for FwError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FwError::Model(e) => write!(f, "{e}"),
            FwError::ArenaTooSmall { needed, have } => write!(
                f,
                "arena too small: the model needs {needed} bytes on this CPU, the static arena has {have}"
            ),
            FwError::Io {
                what,
                expected,
                got,
            } => write!(
                f,
                "model {what} has {got} elements, expected {expected}"
            ),
            FwError::Data(what) => write!(f, "embedded test data: {what}"),
        }
    }
}

/// The first image whose prediction differed from the host's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mismatch {
    /// Index of the image.
    pub image: usize,
    /// Class predicted here.
    pub got: u8,
    /// Class the host predicted.
    pub want: u8,
}

/// What [`run_case`] measured for one model.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Report {
    /// Images per pass.
    pub images: usize,
    /// Passes over the images (every pass is checked).
    pub passes: u32,
    /// Predictions of the first pass equal to the label.
    pub correct: usize,
    /// Predictions, over all passes, equal to the host's.
    pub agree: usize,
    /// The first prediction that differed from the host's.
    pub first_mismatch: Option<Mismatch>,
    /// Bytes of arena the model needs on this CPU (`Interpreter::arena_len`).
    pub arena_needed: usize,
    /// Bytes of the arena it ran in.
    pub arena_len: usize,
}

impl Report {
    /// Predictions made: images times passes.
    pub fn predictions(&self) -> usize {
        self.images.saturating_mul(self.passes as usize)
    }

    /// Whether every prediction equalled the host's.
    pub fn all_agree(&self) -> bool {
        self.first_mismatch.is_none() && self.agree == self.predictions()
    }
}

/// Index of the largest value, the first one on ties; NaN never wins (all NaN gives 0).
/// `None` if `v` is empty. The host ([`gen`]) and the firmware use this same function.
pub fn argmax(v: &[f32]) -> Option<usize> {
    let mut best: Option<(usize, f32)> = None;
    for (i, &x) in v.iter().enumerate() {
        match best {
            _ if x.is_nan() => {}
            Some((_, b)) if x <= b => {}
            _ => best = Some((i, x)),
        }
    }
    best.map(|(i, _)| i)
        .or(if v.is_empty() { None } else { Some(0) })
}

/// Writes `pixels / 255` into `input`; both must have [`IMAGE_PIXELS`] elements.
fn fill_input(input: &mut [f32], pixels: &[u8]) -> Result<(), FwError> {
    if input.len() != pixels.len() {
        return Err(FwError::Io {
            what: "input",
            expected: pixels.len(),
            got: input.len(),
        });
    }
    for (x, &p) in input.iter_mut().zip(pixels) {
        *x = f32::from(p) / 255.0;
    }
    Ok(())
}

// Loading, sizing and binding run once per model and have deep, wide frames (validation);
// kept out of line, their stack is given back before the inference loop instead of adding
// to the caller's frame for the whole run.
// Each takes the firmware's resolver table: the loader validates with only those ops' rules
// and the interpreter runs only their kernels, so nothing else is linked.
#[inline(never)]
fn load<'b>(bytes: &'b [u8], ops: Table<'_>) -> Result<Model<'b>, FwError> {
    Ok(Model::from_bytes_with(bytes, ops)?)
}

#[inline(never)]
fn arena_len(model: &Model<'_>, ops: Table<'_>) -> Result<usize, FwError> {
    Ok(Interpreter::arena_len_with(model, ops)?)
}

#[inline(never)]
fn bind<'m, 'a>(
    model: &'m Model<'m>,
    arena: &'a mut [u8],
    ops: Table<'a>,
) -> Result<Interpreter<'m, 'a>, FwError> {
    Ok(Interpreter::with_table(model, arena, ops)?)
}

/// Runs `case` over every image of `set`, `passes` times, in `arena` with the ops `ops`
/// registers (an [`OpResolver`](born_core::OpResolver)'s `table()`), and compares each
/// prediction with the label and with `case.expected`.
///
/// Errors: [`FwError::Data`] if `set` and `case.expected` disagree in image count or
/// `passes` is 0; [`FwError::Model`] if the model does not load (corrupt bytes, bad
/// alignment, an op `ops` lacks: `ModelError::UnknownOp`) or an invoke fails; [`FwError::ArenaTooSmall`]
/// if `arena` is shorter than the model needs here; [`FwError::Io`] if the input does not
/// have [`IMAGE_PIXELS`] f32 elements or the output [`CLASSES`].
#[inline(never)]
pub fn run_case(
    case: &Case<'_>,
    set: &TestSet<'_>,
    arena: &mut [u8],
    ops: Table<'_>,
    passes: u32,
) -> Result<Report, FwError> {
    let n = set.len();
    if set.images.len() != n.saturating_mul(IMAGE_PIXELS) {
        return Err(FwError::Data("image bytes are not 784 per label"));
    }
    if case.expected.len() != n {
        return Err(FwError::Data("expected predictions are not one per label"));
    }
    if passes == 0 {
        return Err(FwError::Data("zero passes"));
    }
    let model = load(case.model, ops)?;
    let arena_needed = arena_len(&model, ops)?;
    let arena_len = arena.len();
    if arena_needed > arena_len {
        return Err(FwError::ArenaTooSmall {
            needed: arena_needed,
            have: arena_len,
        });
    }
    let mut it = bind(&model, arena, ops)?;
    let got = it.input_mut::<f32>(0)?.len();
    if got != IMAGE_PIXELS {
        return Err(FwError::Io {
            what: "input",
            expected: IMAGE_PIXELS,
            got,
        });
    }
    let got = it.output::<f32>(0)?.len();
    if got != CLASSES {
        return Err(FwError::Io {
            what: "output",
            expected: CLASSES,
            got,
        });
    }

    let mut report = Report {
        images: n,
        passes,
        correct: 0,
        agree: 0,
        first_mismatch: None,
        arena_needed,
        arena_len,
    };
    for pass in 0..passes {
        let items = set
            .images
            .chunks_exact(IMAGE_PIXELS)
            .zip(set.labels)
            .zip(case.expected)
            .enumerate();
        for (i, ((pixels, &label), &want)) in items {
            fill_input(it.input_mut::<f32>(0)?, pixels)?;
            it.invoke()?;
            let class = argmax(it.output::<f32>(0)?).unwrap_or(usize::MAX);
            if pass == 0 && class == usize::from(label) {
                report.correct += 1;
            }
            if class == usize::from(want) {
                report.agree += 1;
            } else if report.first_mismatch.is_none() {
                report.first_mismatch = Some(Mismatch {
                    image: i,
                    got: u8::try_from(class).unwrap_or(u8::MAX),
                    want,
                });
            }
        }
    }
    Ok(report)
}

/// `num / den` in hundredths of a percent, rounded half up (0 when `den` is 0).
fn hundredths(num: usize, den: usize) -> u64 {
    (num as u64 * 10_000 + den as u64 / 2) / den.max(1) as u64
}

/// `num / den` as a percentage with two decimals, in integer arithmetic (no float
/// formatting code in the firmware).
pub struct Percent {
    /// Numerator.
    pub num: usize,
    /// Denominator (0 prints `n/a`).
    pub den: usize,
}

impl fmt::Display for Percent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.den == 0 {
            return f.write_str("n/a");
        }
        let h = hundredths(self.num, self.den);
        write!(f, "{}.{:02}%", h / 100, h % 100)
    }
}

/// Prints one line for model `name`:
/// `mlp.int8: 300 images x 1 pass(es), accuracy 97.67% (293/300), host agreement 300/300,
/// arena 4016 bytes (static 4096), stack 1200 bytes`, then a `MISMATCH` line if a
/// prediction differed from the host's. `stack` is the high-water mark in bytes, if
/// measured.
pub fn write_report<W: fmt::Write>(
    w: &mut W,
    name: &str,
    r: &Report,
    stack: Option<usize>,
) -> fmt::Result {
    write!(
        w,
        "{name}: {} images x {} pass(es), accuracy {} ({}/{}), host agreement {}/{}, arena {} bytes (static {})",
        r.images,
        r.passes,
        Percent {
            num: r.correct,
            den: r.images
        },
        r.correct,
        r.images,
        r.agree,
        r.predictions(),
        r.arena_needed,
        r.arena_len,
    )?;
    if let Some(s) = stack {
        write!(w, ", stack {s} bytes")?;
    }
    writeln!(w)?;
    if let Some(m) = r.first_mismatch {
        writeln!(
            w,
            "{name}: MISMATCH image {}: predicted {}, host predicted {}",
            m.image, m.got, m.want
        )?;
    }
    Ok(())
}

/// What [`run_all`] saw over every model.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    /// Models run.
    pub models: usize,
    /// Models that failed to load or run.
    pub errors: usize,
    /// Models with at least one prediction different from the host's.
    pub disagreements: usize,
}

impl Summary {
    /// Whether every model loaded, ran, and matched the host on every image.
    pub fn ok(&self) -> bool {
        self.models > 0 && self.errors == 0 && self.disagreements == 0
    }
}

/// What a firmware says about itself before the first model: the first line of its report.
#[derive(Clone, Copy, Debug)]
pub struct Banner<'a> {
    /// The target triple it was built for.
    pub target: &'a str,
    /// Embedded test images.
    pub images: usize,
    /// Passes over them.
    pub passes: u32,
    /// Bytes of the static arena.
    pub arena: usize,
    /// Bytes of the stack region.
    pub stack: usize,
}

/// Where [`run_all`] reports: [`Text`] through any `core::fmt::Write`, or `Defmt`
/// (feature `defmt`) as defmt frames, whose format strings stay out of flash and which
/// link no `core::fmt`.
pub trait Log {
    /// Prints `born mnist firmware: <target>, <n> test images, <p> pass(es), static arena
    /// <a> bytes, stack region <s> bytes` (a board calls it first).
    fn banner(&mut self, b: &Banner<'_>);
    /// Called after each model with its result and stack high-water mark in bytes.
    fn case(&mut self, name: &str, r: &Result<Report, FwError>, stack: Option<usize>);
    /// Called once after the last model.
    fn summary(&mut self, s: &Summary);
}

/// The plain-text report: per model [`write_report`]'s line, or `<name>: error: <message>`
/// with born-core's `Display` of the error; then `summary: ...` and `result: OK` or
/// `result: FAIL`. Print errors are ignored (the [`Summary`] carries the outcome).
pub struct Text<W>(pub W);

impl<W: fmt::Write> Log for Text<W> {
    fn banner(&mut self, b: &Banner<'_>) {
        let _ = writeln!(
            self.0,
            "born mnist firmware: {}, {} test images, {} pass(es), static arena {} bytes, stack region {} bytes",
            b.target, b.images, b.passes, b.arena, b.stack
        );
    }

    fn case(&mut self, name: &str, r: &Result<Report, FwError>, stack: Option<usize>) {
        let _ = match r {
            Ok(rep) => write_report(&mut self.0, name, rep, stack),
            Err(e) => writeln!(self.0, "{name}: error: {e}"),
        };
    }

    fn summary(&mut self, s: &Summary) {
        let _ = writeln!(
            self.0,
            "summary: {} model(s), {} error(s), {} with predictions different from the host's",
            s.models, s.errors, s.disagreements
        );
        let _ = writeln!(self.0, "result: {}", if s.ok() { "OK" } else { "FAIL" });
    }
}

/// The report as defmt frames (`defmt::println!`), the same lines as [`Text`] except that
/// an error is printed as its derived `defmt::Format` (`Model(Model(Checksum { .. }))`)
/// and the accuracy as `97.67%` from integer digits. Decode with `defmt-print -e ELF`.
#[cfg(feature = "defmt")]
pub struct Defmt;

#[cfg(feature = "defmt")]
impl Log for Defmt {
    fn banner(&mut self, b: &Banner<'_>) {
        defmt::println!(
            "born mnist firmware: {=str}, {=usize} test images, {=u32} pass(es), static arena {=usize} bytes, stack region {=usize} bytes",
            b.target,
            b.images,
            b.passes,
            b.arena,
            b.stack
        );
    }

    fn case(&mut self, name: &str, r: &Result<Report, FwError>, stack: Option<usize>) {
        match r {
            Ok(r) => {
                let h = hundredths(r.correct, r.images);
                defmt::println!(
                    "{=str}: {=usize} images x {=u32} pass(es), accuracy {=u64}.{=u64}{=u64}% ({=usize}/{=usize}), host agreement {=usize}/{=usize}, arena {=usize} bytes (static {=usize}), stack {=usize} bytes",
                    name,
                    r.images,
                    r.passes,
                    h / 100,
                    h / 10 % 10,
                    h % 10,
                    r.correct,
                    r.images,
                    r.agree,
                    r.predictions(),
                    r.arena_needed,
                    r.arena_len,
                    stack.unwrap_or(0)
                );
                if let Some(m) = r.first_mismatch {
                    defmt::println!(
                        "{=str}: MISMATCH image {=usize}: predicted {=u8}, host predicted {=u8}",
                        name,
                        m.image,
                        m.got,
                        m.want
                    );
                }
            }
            Err(e) => defmt::println!("{=str}: error: {}", name, e),
        }
    }

    fn summary(&mut self, s: &Summary) {
        defmt::println!(
            "summary: {=usize} model(s), {=usize} error(s), {=usize} with predictions different from the host's",
            s.models,
            s.errors,
            s.disagreements
        );
        defmt::println!("result: {=str}", if s.ok() { "OK" } else { "FAIL" });
    }
}

/// What a board passes to [`run_all`].
pub struct Board<'a, 'b> {
    /// The embedded models.
    pub cases: &'b [Case<'a>],
    /// The embedded images.
    pub set: TestSet<'a>,
    /// The static arena every model runs in, one after the other.
    pub arena: &'b mut [u8],
    /// The ops the firmware links (its `OpResolver`'s `table()`).
    pub ops: Table<'b>,
    /// Passes over the images.
    pub passes: u32,
    /// The stack, to measure each model's high-water mark (`None`: not measured).
    pub stack: Option<stack::StackRegion>,
}

/// Runs every model of `board` ([`run_case`]), measuring the stack high-water mark of each
/// (painted just before it), reports each result and then the [`Summary`] to `log`, and
/// returns the summary.
pub fn run_all<L: Log + ?Sized>(board: Board<'_, '_>, log: &mut L) -> Summary {
    let mut sum = Summary::default();
    for case in board.cases {
        let painted = board.stack.as_ref().map(stack::StackRegion::paint);
        let r = run_case(case, &board.set, board.arena, board.ops, board.passes);
        let used = match (board.stack.as_ref(), painted.as_ref()) {
            (Some(s), Some(p)) => Some(s.high_water(p)),
            _ => None,
        };
        sum.models += 1;
        match &r {
            Ok(rep) if !rep.all_agree() => sum.disagreements += 1,
            Ok(_) => {}
            Err(_) => sum.errors += 1,
        }
        log.case(case.name, &r, used);
    }
    log.summary(&sum);
    sum
}

#[cfg(test)]
mod tests;
