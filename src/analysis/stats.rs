//! Min / median / max of a sample.

use crate::model::Stats;

/// The one median of the project: of an even count, the lower middle value (a measured value,
/// not a mean), so a table and a "beyond noise" line never disagree.
pub fn median_of_sorted(sorted: &[f64]) -> Option<f64> {
    (!sorted.is_empty()).then(|| sorted[(sorted.len() - 1) / 2])
}

pub fn stats(values: &[f64]) -> Stats {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    v.sort_by(|a, b| a.total_cmp(b));
    Stats {
        count: v.len(),
        min: v.first().copied(),
        p50: median_of_sorted(&v),
        max: v.last().copied(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn median_is_a_measured_value() {
        let s = super::stats(&[3.0, 1.0, 2.0, 10.0]);
        assert_eq!(
            (s.count, s.min, s.p50, s.max),
            (4, Some(1.0), Some(2.0), Some(10.0))
        );
        assert_eq!(super::stats(&[]).p50, None);
    }
}
