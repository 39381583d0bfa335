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

/// A distribution-free interval for the median: the `k`-th smallest and `k`-th largest of the
/// sample, `k` the largest that still covers the median with at least 95 % (each value is
/// above or below the true median with even odds, so how many fall below is Binomial(n, ½)).
/// Needs no assumption about the noise's shape, which a benchmark's rounds do not follow.
/// (low, high, confidence); None under 6 values (even min … max covers only 94 % at 5).
pub fn median_interval(values: &[f64]) -> Option<(f64, f64, f64)> {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    // P(B ≤ j) for B ~ Binomial(n, ½), cumulated term by term (n stays small).
    let mut term = 0.5f64.powi(n as i32);
    let mut below = 0.0;
    let mut best = None;
    for k in 1..=n / 2 {
        below += term; // now P(B ≤ k − 1)
        term *= (n - (k - 1)) as f64 / k as f64;
        if 2.0 * below <= 0.05 {
            best = Some((v[k - 1], v[n - k], 1.0 - 2.0 * below));
        } else {
            break;
        }
    }
    best
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_median_interval_is_exact_order_statistics() {
        // n = 6: min … max covers 1 − 2/64 = 96.9 %.
        let (lo, hi, c) = super::median_interval(&[6.0, 1.0, 5.0, 2.0, 4.0, 3.0]).unwrap();
        assert_eq!((lo, hi), (1.0, 6.0));
        assert!((c - (1.0 - 2.0 / 64.0)).abs() < 1e-12, "{c}");
        // n = 9: the 2nd and 8th, 1 − 2·10/512 = 96.1 % (the 3rd and 7th would be 82 %).
        let nine: Vec<f64> = (1..=9).map(f64::from).collect();
        let (lo, hi, c) = super::median_interval(&nine).unwrap();
        assert_eq!((lo, hi), (2.0, 8.0));
        assert!((c - (1.0 - 20.0 / 512.0)).abs() < 1e-12, "{c}");
        // n = 15: the 4th and 12th (P(B ≤ 3) = 576/32768).
        let fifteen: Vec<f64> = (1..=15).map(f64::from).collect();
        let (lo, hi, _) = super::median_interval(&fifteen).unwrap();
        assert_eq!((lo, hi), (4.0, 12.0));
        assert!(super::median_interval(&[1.0, 2.0, 3.0, 4.0, 5.0]).is_none());
        assert!(super::median_interval(&[]).is_none());
    }

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
