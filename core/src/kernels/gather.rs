//! Placeholder: filled in by the gather kernel work.
