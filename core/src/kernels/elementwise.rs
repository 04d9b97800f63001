//! Placeholder: filled in by the elementwise kernel work.
