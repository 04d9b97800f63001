//! Placeholder: filled in by the activation kernel work.
