//! How numbers read in every report: times with their unit and error bar.

pub fn duration_ms(ms: f64) -> String {
    if !ms.is_finite() {
        "—".into()
    } else if ms.abs() >= 10_000.0 {
        format!("{:.1} s", ms / 1000.0)
    } else if ms.abs() >= 1000.0 {
        format!("{:.2} s", ms / 1000.0)
    } else {
        format!("{ms:.0} ms")
    }
}

pub fn opt_ms(ms: Option<f64>) -> String {
    ms.map(duration_ms).unwrap_or_else(|| "—".into())
}

/// A metadata-derived time with the observer's poll period as its error bar.
pub fn measured(ms: Option<f64>, error_bar_ms: f64) -> String {
    match ms {
        Some(v) => format!("{} ± {}", duration_ms(v), duration_ms(error_bar_ms)),
        None => "—".into(),
    }
}

pub fn count(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// "longest silence 9.55 s on orders/0", or nothing without a silence.
pub fn consumer_silence(c: &super::ConsumerResult, lead: &str) -> String {
    c.longest_gap
        .as_ref()
        .map(|g| {
            format!(
                "{lead}longest silence {} on {}/{}",
                duration_ms(g.ms),
                g.topic,
                g.partition
            )
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_follow_magnitude() {
        assert_eq!(duration_ms(850.2), "850 ms");
        assert_eq!(duration_ms(6292.3), "6.29 s");
        assert_eq!(duration_ms(18_260.0), "18.3 s");
        assert_eq!(measured(Some(6292.3), 100.0), "6.29 s ± 100 ms");
        assert_eq!(count(1_234_567), "1,234,567");
    }
}
