//! Fuzz target: `Model::from_bytes` on arbitrary bytes, then (when they load) an
//! interpreter run with zeroed inputs. Any `Err` is fine; a panic or a sanitizer report is
//! a bug.

#![no_main]

use born_core::model::graph::AlignedBytes;
use born_core::{Interpreter, Model};
use libfuzzer_sys::fuzz_target;

/// Largest arena the target allocates; bigger models are only loaded, not run.
const MAX_ARENA: usize = 64 << 20;

fuzz_target!(|data: &[u8]| {
    // The loader needs 16-byte aligned bytes; libFuzzer's buffer promises no alignment.
    check(&AlignedBytes::from_slice(data));
    // The same bytes with a correct trailing CRC, so that mutations reach the checks behind
    // the checksum (records, shapes, lifetimes, the plan) instead of stopping at it.
    if let Some(body) = data.len().checked_sub(4) {
        let mut fixed = data.to_vec();
        let crc = crc32fast::hash(&fixed[..body]);
        fixed[body..].copy_from_slice(&crc.to_le_bytes());
        check(&AlignedBytes::from_slice(&fixed));
    }
});

/// Loads `bytes`; when they load, exercises the accessors and runs the model.
fn check(bytes: &[u8]) {
    let Ok(model) = Model::from_bytes(bytes) else {
        return;
    };
    // Every accessor of a loaded model must work without panicking.
    for id in 0..model.n_tensors() {
        if let Ok(t) = model.tensor(id) {
            let _ = model.const_bytes(&t);
            let _ = model.channel_scales(&t);
            let _ = model.shape(&t);
        }
    }
    let Ok(len) = Interpreter::arena_len(&model) else {
        return;
    };
    if len > MAX_ARENA {
        return;
    }
    let mut arena = vec![0u8; len];
    if let Ok(mut interp) = Interpreter::new(&model, &mut arena) {
        let _ = interp.invoke();
        for k in 0..model.outputs().len() {
            let _ = interp.output::<f32>(k);
        }
    }
}
