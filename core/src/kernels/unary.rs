//! Element-wise unary math (the ONNX unary set beyond the activations).
