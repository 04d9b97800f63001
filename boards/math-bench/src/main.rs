//! Calls one f32 function [`CALLS`] times on inputs spread over its usual range and exits;
//! which one is chosen at build time by `BORN_MATH_BENCH` (`<function>.<library>`, e.g.
//! `exp.born`, `exp.micromath`, `exp.libm`; `none` runs the same loop with the identity).
//! Run under `qemu-system-arm -machine mps2-an386 -cpu cortex-m4` with the insncount
//! plugin; `(insns(f) - insns(none)) / CALLS` is what one call costs
//! (`scripts/math_insns.py` does all of them).

#![no_std]
#![no_main]

use core::hint::black_box;

use born_core::kernels::math;
use cortex_m_rt::entry;
use cortex_m_semihosting::debug;
use micromath::F32Ext;

/// Calls per run.
const CALLS: u32 = 1000;

/// A function and the lowest and highest input it is called with.
type Bench = (fn(f32) -> f32, f32, f32);

/// The function `BORN_MATH_BENCH` names and the range its inputs span, or `None`.
fn pick() -> Option<Bench> {
    let f: Bench = match option_env!("BORN_MATH_BENCH").unwrap_or("none") {
        "none" => (|x| x, -10.0, 10.0),
        "exp.born" => (math::exp, -10.0, 10.0),
        "exp.micromath" => (F32Ext::exp, -10.0, 10.0),
        "exp.libm" => (libm::expf, -10.0, 10.0),
        "ln.born" => (math::ln, 0.01, 100.0),
        "ln.micromath" => (F32Ext::ln, 0.01, 100.0),
        "ln.libm" => (libm::logf, 0.01, 100.0),
        "sin.born" => (math::sin, -10.0, 10.0),
        "sin.micromath" => (F32Ext::sin, -10.0, 10.0),
        "sin.libm" => (libm::sinf, -10.0, 10.0),
        "cos.born" => (math::cos, -10.0, 10.0),
        "cos.micromath" => (F32Ext::cos, -10.0, 10.0),
        "cos.libm" => (libm::cosf, -10.0, 10.0),
        "tanh.born" => (math::tanh, -5.0, 5.0),
        "tanh.libm" => (libm::tanhf, -5.0, 5.0),
        "sigmoid.born" => (math::sigmoid, -10.0, 10.0),
        "erf.born" => (math::erf, -3.0, 3.0),
        "erf.libm" => (libm::erff, -3.0, 3.0),
        _ => return None,
    };
    Some(f)
}

#[entry]
fn main() -> ! {
    let ok = match pick() {
        Some((f, lo, hi)) => {
            let f = black_box(f);
            let step = (hi - lo) / CALLS as f32;
            for i in 0..CALLS {
                black_box(f(black_box(lo + step * i as f32)));
            }
            true
        }
        None => false,
    };
    debug::exit(if ok {
        debug::EXIT_SUCCESS
    } else {
        debug::EXIT_FAILURE
    });
    #[allow(clippy::empty_loop)]
    loop {}
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    debug::exit(debug::EXIT_FAILURE);
    #[allow(clippy::empty_loop)]
    loop {}
}
