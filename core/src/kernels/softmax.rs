//! Placeholder: filled in by the softmax kernel work.
