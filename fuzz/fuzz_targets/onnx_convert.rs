//! Fuzz target: the ONNX importer (`born_std::onnx::convert_bytes`) on arbitrary bytes;
//! when a model converts and its constants are small, the converted graph is planned,
//! encoded, loaded back with `Model::from_bytes` and (when its arena is small) run once with
//! zeroed inputs. Any `Err` is fine; a panic or a sanitizer report is a bug.

#![no_main]

use born_core::model::graph::AlignedBytes;
use born_core::{Interpreter, Model};
use libfuzzer_sys::fuzz_target;

/// Largest total of constant bytes a converted graph may hold to be encoded and reloaded.
const MAX_CONST_BYTES: usize = 1 << 20;

/// Largest arena the target allocates; bigger models are only loaded, not run.
const MAX_ARENA: usize = 16 << 20;

fuzz_target!(|data: &[u8]| {
    let Ok(converted) = born_std::onnx::convert_bytes(data, None, &Default::default()) else {
        return;
    };
    let consts: usize = converted
        .graph
        .tensors
        .iter()
        .filter_map(|t| t.data.as_ref().map(Vec::len))
        .fold(0, usize::saturating_add);
    if consts > MAX_CONST_BYTES {
        return;
    }
    let Ok((bytes, _)) = born_std::export::encode_planned(&converted.graph) else {
        return;
    };
    // The graph passed born's own checks when it was built: the file it encodes to must
    // load.
    let bytes = AlignedBytes::from_slice(&bytes);
    let model = match Model::from_bytes(&bytes) {
        Ok(m) => m,
        Err(e) => panic!("a converted graph encodes to a file that does not load: {e}"),
    };
    let Ok(len) = Interpreter::arena_len(&model) else {
        return;
    };
    if len > MAX_ARENA {
        return;
    }
    let mut arena = vec![0u8; len];
    if let Ok(mut interp) = Interpreter::new(&model, &mut arena) {
        let _ = interp.invoke();
    }
});
