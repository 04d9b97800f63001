//! Placeholder: filled in by the math kernel work.
