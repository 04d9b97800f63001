//! Placeholder: filled in by the conv kernel work.
