//! The model checksum: the 1 KB-table CRC-32 equals crc32fast's IEEE CRC-32.

use born_core::model::format::{crc32, crc32_bytewise};
use proptest::prelude::*;

#[test]
fn known_values() {
    assert_eq!(crc32_bytewise(b""), 0);
    assert_eq!(crc32_bytewise(b"123456789"), 0xCBF4_3926);
    assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    /// Random byte strings of every length up to 4 KB (tails of the slicing code included).
    #[test]
    fn bytewise_equals_crc32fast(bytes in proptest::collection::vec(any::<u8>(), 0..4096)) {
        prop_assert_eq!(crc32_bytewise(&bytes), crc32fast::hash(&bytes));
        prop_assert_eq!(crc32(&bytes), crc32fast::hash(&bytes));
    }
}
