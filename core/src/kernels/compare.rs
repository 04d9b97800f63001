//! Comparisons (producing bool as `u8` 0/1) and logical ops on bool tensors.
