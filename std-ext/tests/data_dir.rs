//! `born_std::data::data_dir`: its own test binary, because it changes the process
//! environment.

use born_std::data::{data_dir, load_mnist, DataError, Split, DATA_ENV};
use std::path::PathBuf;

#[test]
fn env_var_wins_and_missing_files_are_named() {
    std::env::remove_var(DATA_ENV);
    let found = data_dir();
    if let Some(dir) = &found {
        assert!(dir.is_dir(), "{}", dir.display());
    }
    let elsewhere = PathBuf::from("/nonexistent-born-data");
    std::env::set_var(DATA_ENV, &elsewhere);
    assert_eq!(data_dir(), Some(elsewhere.clone()));
    let err = load_mnist(&elsewhere, Split::Test).unwrap_err();
    assert!(
        matches!(&err, DataError::Missing { dir, .. } if *dir == elsewhere.join("mnist")),
        "{err}"
    );
    assert!(err.to_string().contains("BORN_DATA"), "{err}");
    std::env::remove_var(DATA_ENV);
    assert_eq!(data_dir(), found);
}
