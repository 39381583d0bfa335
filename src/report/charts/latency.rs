//! The ack latency's distribution as HdrHistogram plots it: latency against percentile on a
//! scale that opens up the tail (each step right is ten times rarer: 90 %, 99 %, 99.9 %, …),
//! so p50, p99 and the worst acks of a failover are read off one line.

use crate::model::{PercentileMs, WorkloadResult};
use plotters::prelude::*;

/// Position on the spectrum's x axis: log10(1 / (1 − p)): 0 at 0 %, 1 at 90 %, 2 at 99 %.
fn x_of(percentile: f64) -> f64 {
    let rest = (1.0 - percentile / 100.0).max(1e-7);
    -rest.log10()
}

/// The axis label at a whole step: 0 %, 90 %, 99 %, 99.9 %, …
fn label_at(x: f64) -> String {
    let steps = x.round() as i32;
    if steps == 0 {
        return "0%".into();
    }
    let nines = "9".repeat((steps - 2).max(0) as usize);
    match steps {
        1 => "90%".into(),
        2 => "99%".into(),
        _ => format!("99.{nines}%"),
    }
}

/// The plot (SVG), or `None` when the run has no latency histogram. 100 % (the maximum) is
/// not a point on this scale: it is the dashed line, labelled.
pub fn render_latency_spectrum_svg(w: &WorkloadResult) -> Option<super::Svg> {
    let points: Vec<&PercentileMs> = w
        .latency_spectrum_ms
        .iter()
        .filter(|p| p.percentile < 100.0)
        .collect();
    if points.len() < 2 {
        return None;
    }
    let max_ms = w
        .latency_spectrum_ms
        .iter()
        .map(|p| p.ms)
        .fold(w.latency_ms.max, f64::max);
    let x_end = points
        .iter()
        .map(|p| x_of(p.percentile))
        .fold(2.0f64, f64::max)
        .ceil();
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (1000, 260)).into_drawing_area();
        root.fill(&WHITE).ok()?;
        let mut chart = ChartBuilder::on(&root)
            .caption(
                format!("ack latency by percentile (acks={})", w.acks),
                ("sans-serif", 15),
            )
            .margin(10)
            .margin_right(40) // room for the last percentile's label
            .x_label_area_size(30)
            .y_label_area_size(70)
            .build_cartesian_2d(0f64..x_end, 0f64..(max_ms * 1.08).max(1.0))
            .ok()?;
        chart
            .configure_mesh()
            .x_labels(x_end as usize + 1)
            .x_label_formatter(&|x| label_at(*x))
            .y_desc("ms")
            .y_label_formatter(&|y| format!("{y:.0}"))
            .draw()
            .ok()?;
        chart
            .draw_series(LineSeries::new(
                points.iter().map(|p| (x_of(p.percentile), p.ms)),
                RGBColor(31, 119, 180).stroke_width(2),
            ))
            .ok()?;
        chart
            .draw_series(DashedLineSeries::new(
                [(0.0, max_ms), (x_end, max_ms)],
                6,
                4,
                RGBColor(200, 40, 40).into(),
            ))
            .ok()?;
        chart
            .draw_series(std::iter::once(Text::new(
                format!("max {}", crate::report::format::duration_ms(max_ms)),
                (0.05, max_ms * 1.06),
                ("sans-serif", 12).into_font().color(&RGBColor(200, 40, 40)),
            )))
            .ok()?;
        let marks = [
            (50.0, w.latency_ms.p50),
            (99.0, w.latency_ms.p99),
            (99.9, w.latency_ms.p999),
        ];
        let inside = marks
            .into_iter()
            .map(|(p, ms)| (x_of(p), ms))
            .filter(|(x, _)| *x <= x_end);
        chart
            .draw_series(inside.map(|at| Circle::new(at, 3, RGBColor(31, 119, 180).filled())))
            .ok()?;
        root.present().ok()?;
    }
    Some(super::Svg(svg))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_axis_opens_the_tail_in_nines() {
        assert_eq!(x_of(0.0), 0.0);
        assert!((x_of(90.0) - 1.0).abs() < 1e-9);
        assert!((x_of(99.9) - 3.0).abs() < 1e-9);
        assert_eq!(
            [0.0, 1.0, 2.0, 3.0, 4.0].map(label_at),
            ["0%", "90%", "99%", "99.9%", "99.99%"]
        );
    }

    #[test]
    fn a_run_with_a_histogram_gets_a_plot_and_one_without_none() {
        let events = crate::events::read_events(
            &include_bytes!("../../../tests/fixtures/events/leader-kill.jsonl")[..],
        )
        .unwrap();
        let r = crate::analysis::analyze(&events);
        let w = r.workload.expect("a workload");
        assert!(
            w.latency_spectrum_ms.len() > 10,
            "{:?}",
            w.latency_spectrum_ms
        );
        // Percentiles rise, and so does the latency.
        assert!(w
            .latency_spectrum_ms
            .windows(2)
            .all(|p| p[0].percentile < p[1].percentile && p[0].ms <= p[1].ms));
        assert_eq!(w.latency_spectrum_ms.last().unwrap().percentile, 100.0);
        let svg = render_latency_spectrum_svg(&w).expect("a plot");
        assert!(svg.contains("<svg") && svg.contains("99%") && svg.contains("max"));
        let empty = WorkloadResult {
            latency_spectrum_ms: vec![],
            ..w
        };
        assert!(render_latency_spectrum_svg(&empty).is_none());
    }
}
