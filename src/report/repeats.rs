//! Statistics across repeats: median, min/max and a 95 % bootstrap interval of the median
//! (fixed seed, so a report renders the same twice).

use rand::{rngs::StdRng, Rng, SeedableRng};

#[derive(Debug, Clone, PartialEq)]
pub struct Spread {
    pub n: usize,
    pub median: f64,
    pub min: f64,
    pub max: f64,
    /// 95 % bootstrap interval of the median (None for fewer than 3 values).
    pub ci: Option<(f64, f64)>,
}

fn median(sorted: &[f64]) -> f64 {
    crate::analysis::stats::median_of_sorted(sorted).unwrap_or(f64::NAN)
}

pub fn spread(values: &[f64]) -> Option<Spread> {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    let ci = (v.len() >= 3).then(|| {
        let mut rng = StdRng::seed_from_u64(0xC1);
        let mut medians: Vec<f64> = (0..2000)
            .map(|_| {
                let mut sample: Vec<f64> =
                    (0..v.len()).map(|_| v[rng.gen_range(0..v.len())]).collect();
                sample.sort_by(|a, b| a.total_cmp(b));
                median(&sample)
            })
            .collect();
        medians.sort_by(|a, b| a.total_cmp(b));
        (medians[50], medians[1949])
    });
    Some(Spread {
        n: v.len(),
        median: median(&v),
        min: v[0],
        max: v[v.len() - 1],
        ci,
    })
}

impl std::fmt::Display for Spread {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        let d = super::format::duration_ms;
        write!(f, "{} [{} – {}]", d(self.median), d(self.min), d(self.max))?;
        if let Some((lo, hi)) = self.ci {
            write!(f, " 95% CI {} – {}", d(lo), d(hi))?;
        }
        write!(f, " (n={})", self.n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_range_and_interval() {
        let s = spread(&[6100.0, 6300.0, 5900.0, 6200.0, 6000.0]).unwrap();
        assert_eq!((s.n, s.median, s.min, s.max), (5, 6100.0, 5900.0, 6300.0));
        let (lo, hi) = s.ci.unwrap();
        assert!(lo >= 5900.0 && hi <= 6300.0 && lo <= 6100.0 && hi >= 6100.0);
        assert_eq!(spread(&[1.0, 3.0]).unwrap().median, 1.0, "a measured value");
        assert!(spread(&[1.0, 3.0]).unwrap().ci.is_none());
        assert!(spread(&[]).is_none());
        assert_eq!(
            spread(&[5900.0, 6300.0, 6100.0])
                .unwrap()
                .to_string()
                .split(" 95%")
                .next()
                .unwrap(),
            "6.10 s [5.90 s – 6.30 s]"
        );
    }
}
