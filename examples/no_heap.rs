//! born-core without a heap: buffers come from an [`Arena`] over a byte array, and a GEMM
//! runs on them. The same code builds for microcontrollers.
//!
//! Run: `cargo run --release -p born-examples --example no_heap`

use born_core::kernels::gemm::{self, Gemm};
use born_core::Arena;

fn main() -> born_core::Result<()> {
    // In firmware this buffer is a static (e.g. from cortex_m::singleton!).
    let mut buffer = [0u8; 4096];
    let arena = Arena::new(&mut buffer);
    let a = arena.alloc::<f32>(4 * 8)?; // aligned and zeroed; Error::ArenaTooSmall says
    let b = arena.alloc::<f32>(8 * 4)?; // how many bytes were needed and how many were free
    let c = arena.alloc::<f32>(4 * 4)?;
    a.fill(1.0);
    b.fill(0.5);
    let g = Gemm::new(4, 4, 8); // C[4x4] = A[4x8] * B[8x4]
    let scratch = arena.alloc::<f32>(gemm::scratch_len(&g))?;
    gemm::sgemm(&g, a, 8, b, 4, c, 4, scratch)?;
    assert!(c.iter().all(|&v| v == 4.0));
    println!("C = A * B = {c:?} (every entry 8 * 1.0 * 0.5 = 4)");
    println!("arena used {} of {} bytes", arena.used(), arena.capacity());

    // Asking for more than is left is an error that says how much was missing.
    match arena.alloc::<f32>(10_000) {
        Err(e) => println!("as expected: {e}"),
        Ok(_) => println!("unexpected: allocation succeeded"),
    }
    Ok(())
}
