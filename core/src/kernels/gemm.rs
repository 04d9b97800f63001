//! Placeholder: filled in by the gemm kernel work.
