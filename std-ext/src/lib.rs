//! born-std: what needs an operating system.
