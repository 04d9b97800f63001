//! Checks on calibration data before it chooses int8 ranges.
//!
//! Calibration takes each tensor's range from the values it sees, so a few corrupt inputs
//! decide the ranges of the whole model: a NaN or an infinity reaches every activation, and
//! one pixel of 1e30 among pixels in `[0, 1]` widens the input range so far that every real
//! pixel quantizes to the zero point. [`check`] looks at the data first:
//!
//! - A non-finite value (NaN, +inf, -inf) is an error, [`CalibrationError::NonFinite`],
//!   naming the input, the row (the sample's index along the leading axis) and the element.
//! - An *outlier* is a value whose magnitude exceeds [`OUTLIER_FACTOR`] times the data's
//!   typical magnitude, the [`TYPICAL_PERCENTILE`]th percentile of the nonzero magnitudes.
//!   Zeros (padding, black pixels) are left out because they say nothing about the scale. A
//!   rank statistic moves only when more than 1% of the nonzero values are corrupt, so a few
//!   huge values cannot raise the bound that is meant to catch them; and the factor leaves
//!   ordinary data alone (the largest of a million normal samples is about 2x their 99th
//!   percentile, of Laplace samples about 3x).
//!
//! The [`Report`] lists the outliers; [`Report::clip`] clamps them to the range of the other
//! values (the inliers), so that they no longer stretch any range. `born quantize` clips and
//! warns unless `--keep-outliers` is given.

/// The percentile of the nonzero magnitudes taken as the data's typical magnitude.
pub const TYPICAL_PERCENTILE: f64 = 99.0;

/// How many times the typical magnitude a value may reach before it is an outlier.
pub const OUTLIER_FACTOR: f32 = 100.0;

/// Calibration data that cannot be used.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum CalibrationError {
    /// A NaN or infinite value.
    #[error(
        "calibration data for input `{input}`: row {row} holds {value} at element {element}; \
         calibration values must be finite"
    )]
    NonFinite {
        /// The graph input the data is for.
        input: String,
        /// The sample (index along the leading axis, from 0).
        row: usize,
        /// The element within the row (row-major, from 0).
        element: usize,
        /// The value found.
        value: f32,
    },
    /// The data is not a whole number of rows.
    #[error(
        "calibration data for input `{input}`: {values} values are not a whole number of rows \
         of {row_len}"
    )]
    Ragged {
        /// The graph input the data is for.
        input: String,
        /// Values given.
        values: usize,
        /// Values in one row.
        row_len: usize,
    },
}

/// What [`check`] found in data whose values are all finite.
#[derive(Clone, Debug, PartialEq)]
pub struct Report {
    /// Rows (samples) checked.
    pub rows: usize,
    /// The typical magnitude: the [`TYPICAL_PERCENTILE`]th percentile of the nonzero
    /// magnitudes (0 when every value is 0).
    pub typical: f32,
    /// Values with a larger magnitude are outliers: [`OUTLIER_FACTOR`] times `typical`.
    pub bound: f32,
    /// The number of outliers.
    pub outliers: usize,
    /// The rows holding outliers, ascending, each once.
    pub outlier_rows: Vec<usize>,
    /// The largest outlier magnitude (0 when there are none).
    pub largest: f32,
    /// The smallest and largest value that is not an outlier (`(0, 0)` for empty data).
    pub inlier_range: (f32, f32),
}

impl Report {
    /// Clamps every outlier in `data` (the data that was checked) to
    /// [`inlier_range`](Report::inlier_range); returns how many values changed.
    pub fn clip(&self, data: &mut [f32]) -> usize {
        let (lo, hi) = self.inlier_range;
        let mut changed = 0;
        for x in data.iter_mut().filter(|x| x.abs() > self.bound) {
            *x = x.clamp(lo, hi);
            changed += 1;
        }
        changed
    }
}

/// Checks calibration data for graph input `input`: `data` holds rows of `row_len` values
/// back to back.
///
/// Errors: [`CalibrationError::Ragged`] when `row_len` is 0 or does not divide `data.len()`,
/// [`CalibrationError::NonFinite`] for the first NaN or infinite value. Outliers are not an
/// error; the [`Report`] lists them.
pub fn check(input: &str, data: &[f32], row_len: usize) -> Result<Report, CalibrationError> {
    if row_len == 0 || data.len() % row_len != 0 {
        return Err(CalibrationError::Ragged {
            input: input.to_string(),
            values: data.len(),
            row_len,
        });
    }
    if let Some(i) = data.iter().position(|x| !x.is_finite()) {
        return Err(CalibrationError::NonFinite {
            input: input.to_string(),
            row: i / row_len,
            element: i % row_len,
            value: data[i],
        });
    }
    let mut magnitudes: Vec<f32> = data.iter().map(|x| x.abs()).filter(|&m| m > 0.0).collect();
    let typical = if magnitudes.is_empty() {
        0.0
    } else {
        let k = ((magnitudes.len() - 1) as f64 * TYPICAL_PERCENTILE / 100.0).round() as usize;
        *magnitudes.select_nth_unstable_by(k, f32::total_cmp).1
    };
    drop(magnitudes);
    let bound = typical * OUTLIER_FACTOR;
    let mut report = Report {
        rows: data.len() / row_len,
        typical,
        bound,
        outliers: 0,
        outlier_rows: Vec::new(),
        largest: 0.0,
        inlier_range: (f32::INFINITY, f32::NEG_INFINITY),
    };
    for (i, &x) in data.iter().enumerate() {
        if x.abs() > bound {
            report.outliers += 1;
            report.largest = report.largest.max(x.abs());
            if report.outlier_rows.last() != Some(&(i / row_len)) {
                report.outlier_rows.push(i / row_len);
            }
        } else {
            let (lo, hi) = &mut report.inlier_range;
            *lo = lo.min(x);
            *hi = hi.max(x);
        }
    }
    if report.inlier_range.0 > report.inlier_range.1 {
        report.inlier_range = (0.0, 0.0);
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_finite_values_name_row_and_element() {
        let mut data = vec![0.5f32; 12];
        data[7] = f32::NAN;
        let e = check("image", &data, 4).unwrap_err();
        assert!(
            matches!(e, CalibrationError::NonFinite { row: 1, element: 3, ref input, .. } if input == "image"),
            "{e:?}"
        );
        data[7] = f32::NEG_INFINITY;
        assert!(check("image", &data, 4)
            .unwrap_err()
            .to_string()
            .contains("row 1 holds -inf at element 3"));
    }

    #[test]
    fn outliers_are_found_and_clipped_to_the_inliers() {
        let mut data: Vec<f32> = (0..1000).map(|i| (i % 10) as f32 / 10.0).collect();
        data[503] = 1e30;
        data[20] = -5e9;
        let r = check("x", &data, 100).unwrap();
        assert_eq!(
            (r.rows, r.outliers, r.outlier_rows.clone()),
            (10, 2, vec![0, 5])
        );
        assert_eq!(
            (r.typical, r.inlier_range, r.largest),
            (0.9, (0.0, 0.9), 1e30)
        );
        assert_eq!(r.clip(&mut data), 2);
        assert_eq!((data[503], data[20]), (0.9, 0.0));
        let again = check("x", &data, 100).unwrap();
        assert_eq!(again.outliers, 0);
    }

    #[test]
    fn ordinary_and_empty_data_have_no_outliers() {
        let mut rng = born_core::Rng::seed(1);
        let t = born_core::Tensor::randn(&[100, 784], &mut rng).unwrap();
        assert_eq!(check("x", t.data(), 784).unwrap().outliers, 0);
        let zeros = check("x", &[0.0; 8], 4).unwrap();
        assert_eq!(
            (zeros.outliers, zeros.typical, zeros.inlier_range),
            (0, 0.0, (0.0, 0.0))
        );
        assert_eq!(check("x", &[], 4).unwrap().rows, 0);
        assert!(matches!(
            check("x", &[1.0; 6], 4),
            Err(CalibrationError::Ragged {
                values: 6,
                row_len: 4,
                ..
            })
        ));
    }
}
