//! Placeholder: filled in by the reduce kernel work.
