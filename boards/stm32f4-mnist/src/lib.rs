//! MNIST over a UART: the frame protocol and the classifier of the STM32F411 firmware, generic
//! over the embedded-hal traits the HAL implements (`embedded_hal_nb::serial::{Read, Write}`
//! for the byte stream, `embedded_hal::delay::DelayNs` for timeouts), so the same code runs
//! in host tests against mocks.
//!
//! # Frames
//! Request (host to board), [`REQUEST_LEN`] bytes:
//! `0xB0 0x27`, 784 pixel bytes (28x28 u8, row-major, 0 = black), checksum.
//!
//! Answer (board to host), [`ANSWER_LEN`] bytes:
//! `0xB0 0x27`, class (0..=9), the 10 logits as f32 little-endian (40 bytes), checksum.
//!
//! Error answer, [`ERROR_ANSWER_LEN`] bytes: `0xB0 0x27`, `0xFF`, [`Error::code`], checksum.
//!
//! The checksum is the XOR of every byte between the sync bytes and the checksum itself.
//! Pixels reach the model as `byte / 255.0` in its f32 input (784 elements, e.g. `[1,1,28,28]`
//! or `[1,784]`); the model's output must be 10 f32 logits.
//!
//! Nothing here panics on any input: line errors, timeouts, bad sync bytes and bad checksums
//! are [`Error`]s.
#![no_std]
#![deny(missing_docs)]

use born_core::ops::Table;
use born_core::{DType, Interpreter, Model};
use core::fmt;
use embedded_hal::delay::DelayNs;
use embedded_hal_nb::nb;
use embedded_hal_nb::serial::{self, Read, Write};

mod ops;
pub use ops::MNIST_OPS;

/// The two bytes that start every frame.
pub const SYNC: [u8; 2] = [0xB0, 0x27];
/// Pixels of one image (28 x 28).
pub const PIXELS: usize = 28 * 28;
/// Classes (digits), i.e. logits the model must produce.
pub const CLASSES: usize = 10;
/// Bytes of a request frame: sync, pixels, checksum.
pub const REQUEST_LEN: usize = SYNC.len() + PIXELS + 1;
/// Bytes of an answer frame: sync, class, `CLASSES` f32 logits, checksum.
pub const ANSWER_LEN: usize = SYNC.len() + 1 + 4 * CLASSES + 1;
/// Bytes of an error answer: sync, `0xFF`, error code, checksum.
pub const ERROR_ANSWER_LEN: usize = SYNC.len() + 3;
/// The class byte of an error answer.
pub const ERROR_MARK: u8 = 0xFF;
/// Default per-byte timeout in microseconds (about 115 byte times at 115200 baud).
pub const DEFAULT_TIMEOUT_US: u32 = 10_000;

/// What went wrong with a frame or the model.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Error {
    /// The line stayed quiet longer than the timeout; `received` bytes of the frame (sync
    /// included) had arrived. `received == 0` is an idle line, not a fault.
    Timeout {
        /// Bytes of the current frame received before the timeout.
        received: usize,
    },
    /// The UART did not take a byte of the answer (or finish sending it) within the timeout.
    WriteTimeout,
    /// A byte where a sync byte belongs. The byte is consumed, so the next read resynchronises.
    Sync {
        /// Index in the frame (0 or 1).
        at: usize,
        /// The byte that came.
        got: u8,
    },
    /// The checksum byte does not match the XOR of the pixels.
    Checksum {
        /// XOR of the pixels received.
        computed: u8,
        /// The checksum byte received.
        received: u8,
    },
    /// The UART reported an error (overrun, framing, parity, noise).
    Serial(serial::ErrorKind),
    /// The model does not fit the protocol, or the interpreter failed.
    Model(born_core::Error),
}

impl Error {
    /// The code an error answer carries: 1 timeout, 2 sync, 3 checksum, 4 UART, 5 model,
    /// 6 write timeout.
    pub fn code(&self) -> u8 {
        match self {
            Error::Timeout { .. } => 1,
            Error::Sync { .. } => 2,
            Error::Checksum { .. } => 3,
            Error::Serial(_) => 4,
            Error::Model(_) => 5,
            Error::WriteTimeout => 6,
        }
    }
}

impl From<born_core::Error> for Error {
    fn from(e: born_core::Error) -> Self {
        Error::Model(e)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Timeout { received } => {
                write!(f, "timeout after {received} of {REQUEST_LEN} bytes")
            }
            Error::Sync { at, got } => write!(
                f,
                "sync byte {at} is {got:#04x}, expected {:#04x}",
                SYNC.get(*at).copied().unwrap_or(0)
            ),
            Error::Checksum { computed, received } => write!(
                f,
                "checksum {received:#04x} received, {computed:#04x} computed"
            ),
            Error::WriteTimeout => write!(f, "timeout writing the answer"),
            Error::Serial(kind) => write!(f, "UART error: {kind:?}"),
            Error::Model(e) => write!(f, "model: {e}"),
        }
    }
}

/// One answer: the arg-max class and the logits.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Prediction {
    /// Index of the largest logit (the first one on ties; NaN never wins).
    pub class: u8,
    /// The model's output.
    pub logits: [f32; CLASSES],
}

impl Prediction {
    /// The prediction for `logits`.
    pub fn from_logits(logits: [f32; CLASSES]) -> Prediction {
        let mut class = 0u8;
        let mut best = f32::NEG_INFINITY;
        for (i, &l) in (0u8..).zip(logits.iter()) {
            if l > best {
                best = l;
                class = i;
            }
        }
        Prediction { class, logits }
    }

    /// The answer frame.
    pub fn encode(&self) -> [u8; ANSWER_LEN] {
        let mut out = [0u8; ANSWER_LEN];
        let (head, body) = out.split_at_mut(SYNC.len());
        head.copy_from_slice(&SYNC);
        let (payload, check) = body.split_at_mut(1 + 4 * CLASSES);
        let (class, logits) = payload.split_at_mut(1);
        class[0] = self.class;
        for (dst, l) in logits.chunks_exact_mut(4).zip(self.logits.iter()) {
            dst.copy_from_slice(&l.to_le_bytes());
        }
        check[0] = xor(payload);
        out
    }
}

/// The error answer for `e`.
pub fn encode_error(e: &Error) -> [u8; ERROR_ANSWER_LEN] {
    let code = e.code();
    [SYNC[0], SYNC[1], ERROR_MARK, code, ERROR_MARK ^ code]
}

/// XOR of `bytes` (the frame checksum).
pub fn xor(bytes: &[u8]) -> u8 {
    bytes.iter().fold(0, |a, &b| a ^ b)
}

/// A request frame for `pixels` (what a host sends).
pub fn encode_request(pixels: &[u8; PIXELS]) -> [u8; REQUEST_LEN] {
    let mut out = [0u8; REQUEST_LEN];
    let (head, body) = out.split_at_mut(SYNC.len());
    head.copy_from_slice(&SYNC);
    let (px, check) = body.split_at_mut(PIXELS);
    px.copy_from_slice(pixels);
    check[0] = xor(pixels);
    out
}

/// Polls `rx` for one byte, waiting 1 µs between polls, for at most `timeout_us` µs of waits.
/// `received` is only reported back in [`Error::Timeout`].
fn read_byte<R, D>(rx: &mut R, delay: &mut D, timeout_us: u32, received: usize) -> Result<u8, Error>
where
    R: Read<u8>,
    D: DelayNs,
{
    let mut waited = 0u32;
    loop {
        match rx.read() {
            Ok(b) => return Ok(b),
            Err(nb::Error::Other(e)) => return Err(Error::Serial(serial::Error::kind(&e))),
            Err(nb::Error::WouldBlock) => {
                if waited >= timeout_us {
                    return Err(Error::Timeout { received });
                }
                delay.delay_us(1);
                waited += 1;
            }
        }
    }
}

/// Writes one byte with the same timeout rule as [`read_byte`].
fn write_byte<W, D>(tx: &mut W, delay: &mut D, timeout_us: u32, byte: u8) -> Result<(), Error>
where
    W: Write<u8>,
    D: DelayNs,
{
    let mut waited = 0u32;
    loop {
        match tx.write(byte) {
            Ok(()) => return Ok(()),
            Err(nb::Error::Other(e)) => return Err(Error::Serial(serial::Error::kind(&e))),
            Err(nb::Error::WouldBlock) => {
                if waited >= timeout_us {
                    return Err(Error::WriteTimeout);
                }
                delay.delay_us(1);
                waited += 1;
            }
        }
    }
}

/// Writes `bytes` and flushes, each byte and the flush within `timeout_us`.
pub fn write_all<W, D>(
    tx: &mut W,
    delay: &mut D,
    timeout_us: u32,
    bytes: &[u8],
) -> Result<(), Error>
where
    W: Write<u8>,
    D: DelayNs,
{
    for &b in bytes {
        write_byte(tx, delay, timeout_us, b)?;
    }
    let mut waited = 0u32;
    loop {
        match tx.flush() {
            Ok(()) => return Ok(()),
            Err(nb::Error::Other(e)) => return Err(Error::Serial(serial::Error::kind(&e))),
            Err(nb::Error::WouldBlock) => {
                if waited >= timeout_us {
                    return Err(Error::WriteTimeout);
                }
                delay.delay_us(1);
                waited += 1;
            }
        }
    }
}

/// Reads the sync bytes of a frame. A stray `0xB0` before the real one is skipped (so a host
/// that restarts mid-frame is found again); any other wrong byte is [`Error::Sync`].
fn read_sync<R, D>(rx: &mut R, delay: &mut D, timeout_us: u32) -> Result<(), Error>
where
    R: Read<u8>,
    D: DelayNs,
{
    let first = read_byte(rx, delay, timeout_us, 0)?;
    if first != SYNC[0] {
        return Err(Error::Sync { at: 0, got: first });
    }
    loop {
        let second = read_byte(rx, delay, timeout_us, 1)?;
        if second == SYNC[1] {
            return Ok(());
        }
        if second != SYNC[0] {
            return Err(Error::Sync { at: 1, got: second });
        }
    }
}

/// Reads one request frame, handing each pixel to `put(index, byte)` as it arrives.
fn read_frame<R, D, F>(rx: &mut R, delay: &mut D, timeout_us: u32, mut put: F) -> Result<(), Error>
where
    R: Read<u8>,
    D: DelayNs,
    F: FnMut(usize, u8),
{
    read_sync(rx, delay, timeout_us)?;
    let mut check = 0u8;
    for i in 0..PIXELS {
        let p = read_byte(rx, delay, timeout_us, SYNC.len() + i)?;
        check ^= p;
        put(i, p);
    }
    let received = read_byte(rx, delay, timeout_us, REQUEST_LEN - 1)?;
    if received != check {
        return Err(Error::Checksum {
            computed: check,
            received,
        });
    }
    Ok(())
}

/// Reads one request frame into `pixels`; on an error `pixels` holds what arrived.
pub fn read_request<R, D>(
    rx: &mut R,
    delay: &mut D,
    timeout_us: u32,
    pixels: &mut [u8; PIXELS],
) -> Result<(), Error>
where
    R: Read<u8>,
    D: DelayNs,
{
    read_frame(rx, delay, timeout_us, |i, p| {
        if let Some(x) = pixels.get_mut(i) {
            *x = p;
        }
    })
}

/// The model bound to its arena, and the protocol around it.
pub struct Classifier<'m, 'a> {
    it: Interpreter<'m, 'a>,
    timeout_us: u32,
}

impl<'m, 'a> Classifier<'m, 'a> {
    /// Binds `model` to `arena` with the ops `ops` registers (the firmware passes
    /// `MNIST_OPS.table()`, see [`MNIST_OPS`]). [`Error::Model`] if the arena is too small
    /// ([`Interpreter::arena_len_with`] says how much is needed), if the model has an op
    /// `ops` lacks (`ModelError::UnknownOp`), or if its first input is not 784 f32 or its
    /// first output not 10 f32.
    pub fn new(model: &'m Model<'m>, arena: &'a mut [u8], ops: Table<'a>) -> Result<Self, Error> {
        let it = Interpreter::with_table(model, arena, ops)?;
        check_tensor(model, &it.input_def(0)?, PIXELS, "input: 784 f32 (28x28)")?;
        check_tensor(model, &it.output_def(0)?, CLASSES, "output: 10 f32 logits")?;
        Ok(Classifier {
            it,
            timeout_us: DEFAULT_TIMEOUT_US,
        })
    }

    /// Sets the per-byte timeout in microseconds (default [`DEFAULT_TIMEOUT_US`]).
    pub fn with_timeout_us(mut self, timeout_us: u32) -> Self {
        self.timeout_us = timeout_us;
        self
    }

    /// The per-byte timeout in microseconds.
    pub fn timeout_us(&self) -> u32 {
        self.timeout_us
    }

    /// Runs the model on one image (pixels scaled by 1/255).
    pub fn classify(&mut self, pixels: &[u8; PIXELS]) -> Result<Prediction, Error> {
        let input = self.it.input_mut::<f32>(0)?;
        for (x, &p) in input.iter_mut().zip(pixels.iter()) {
            *x = f32::from(p) / 255.0;
        }
        self.run()
    }

    fn run(&mut self) -> Result<Prediction, Error> {
        self.it.invoke()?;
        let out: &[f32] = self.it.output(0)?;
        let mut logits = [0f32; CLASSES];
        for (l, &o) in logits.iter_mut().zip(out.iter()) {
            *l = o;
        }
        Ok(Prediction::from_logits(logits))
    }

    /// Serves one request: reads a frame from `rx` into the model's input as it arrives (no
    /// separate pixel buffer), runs the model, and writes the answer to `tx`. On a frame
    /// error nothing is written and the error is returned; the caller decides whether to
    /// answer with [`encode_error`] (the firmware does, except for an idle line and for sync
    /// bytes, which it skips silently).
    pub fn serve<R, W, D>(
        &mut self,
        rx: &mut R,
        tx: &mut W,
        delay: &mut D,
    ) -> Result<Prediction, Error>
    where
        R: Read<u8>,
        W: Write<u8>,
        D: DelayNs,
    {
        let t = self.timeout_us;
        let input = self.it.input_mut::<f32>(0)?;
        read_frame(rx, delay, t, |i, p| {
            if let Some(x) = input.get_mut(i) {
                *x = f32::from(p) / 255.0;
            }
        })?;
        let p = self.run()?;
        write_all(tx, delay, t, &p.encode())?;
        Ok(p)
    }

    /// Writes the error answer for `e` to `tx`.
    pub fn answer_error<W, D>(&self, tx: &mut W, delay: &mut D, e: &Error) -> Result<(), Error>
    where
        W: Write<u8>,
        D: DelayNs,
    {
        write_all(tx, delay, self.timeout_us, &encode_error(e))
    }
}

fn check_tensor(
    model: &Model<'_>,
    def: &born_core::model::TensorDef<'_>,
    elems: usize,
    what: &'static str,
) -> Result<(), Error> {
    if def.dtype != DType::F32 || model.shape(def).numel() != elems {
        return Err(Error::Model(born_core::Error::InvalidArgument {
            op: "stm32f4-mnist",
            what,
        }));
    }
    Ok(())
}
