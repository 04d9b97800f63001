//! Batched, broadcasting matrix multiplication of two tensors (either may be an activation).
