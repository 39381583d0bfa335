//! Every chart of the reports and the web view, drawn with plotters: the run's `timeline`
//! (lanes, faults, throughput and p99 over time; the live page draws the same), its
//! `latency` by percentile, and here the comparison's bars with their repeat ranges and an
//! experiment's trend over runs. Labels are laid out of the data's way — a legend row and a
//! fault band of their own, names in a column of their own, values right of the longest
//! whisker — and the browser tests measure that no two overlap.

pub mod latency;
pub mod timeline;

use crate::report::repeats::Spread;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// A chart as plotters' SVG backend wrote it. Only the charts here make one, so a page can
/// embed it as markup (`report::html` does): the backend escapes every text and attribute
/// value it writes, and nothing is added to its output.
#[derive(Debug, Clone, PartialEq)]
pub struct Svg(String);

impl Svg {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::ops::Deref for Svg {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl maud::Render for Svg {
    fn render_to(&self, buffer: &mut String) {
        // Trusted: plotters' SVG backend escaped every text and attribute in it (see above).
        maud::PreEscaped(self.0.as_str()).render_to(buffer)
    }
}

/// A chart plotters could not draw, by its title: the page says so in its place.
#[derive(Debug, Clone, PartialEq)]
pub struct NotDrawn(pub String);

const BLUE: RGBColor = RGBColor(31, 119, 180);
const RED_POINT: RGBColor = RGBColor(198, 40, 40);
/// The whiskers' colour: the browser test finds the error bars by it.
pub const WHISKER: RGBColor = RGBColor(34, 34, 34);

/// A value as the tables show it: a duration for milliseconds, a count otherwise.
pub fn shown(unit: &str, v: f64) -> String {
    if unit == "ms" {
        crate::report::format::duration_ms(v)
    } else {
        format!("{v:.0}")
    }
}

/// One bar: its name, and the median with min – max over the repeats (none: no data).
pub struct Bar {
    pub label: String,
    pub spread: Option<Spread>,
}

/// A bar per group for one metric, horizontal: the median, a whisker from min to max when
/// there were repeats, and the values written right of the whisker.
pub fn bar_chart_svg(title: &str, unit: &str, bars: &[Bar]) -> Result<Svg, NotDrawn> {
    let top = bars
        .iter()
        .filter_map(|b| b.spread.as_ref())
        .map(|s| s.max)
        .fold(0.0_f64, f64::max)
        .max(1.0);
    let n = bars.len().max(1);
    let (width, height) = (900u32, 40 + 26 * n as u32 + 24);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (width, height)).into_drawing_area();
        if draw_bars(&root, title, unit, bars, top).is_err() {
            return Err(NotDrawn(title.to_string()));
        }
    }
    Ok(Svg(svg))
}

type DrawResult = Result<(), DrawingAreaErrorKind<std::io::Error>>;

fn draw_bars(
    root: &DrawingArea<SVGBackend<'_>, plotters::coord::Shift>,
    title: &str,
    unit: &str,
    bars: &[Bar],
    top: f64,
) -> DrawResult {
    root.fill(&WHITE)?;
    let n = bars.len().max(1) as f64;
    // Room right of the longest whisker for its values ("6.33 s [6.10 s – 6.58 s] (n=3)").
    let x_end = top * 1.6;
    let mut chart = ChartBuilder::on(root)
        .caption(title, ("sans-serif", 14))
        .margin(6)
        .x_label_area_size(22)
        .y_label_area_size(330)
        .build_cartesian_2d(0f64..x_end, 0f64..n)?;
    chart
        .configure_mesh()
        .disable_y_mesh()
        .y_labels(0)
        .x_labels(5)
        .x_label_formatter(&|x| {
            if *x <= top * 1.05 {
                shown(unit, *x)
            } else {
                String::new()
            }
        })
        .draw()?;
    for (i, bar) in bars.iter().enumerate() {
        let y = n - 1.0 - i as f64;
        let (px, py) = chart.backend_coord(&(0.0, y + 0.5));
        root.draw(&Text::new(
            bar.label.clone(),
            (px - 322, py),
            TextStyle::from(("sans-serif", 12).into_font()).pos(Pos::new(HPos::Left, VPos::Center)),
        ))?;
        let Some(s) = &bar.spread else {
            chart.draw_series(std::iter::once(Text::new(
                "no data".to_string(),
                (0.0, y + 0.5),
                TextStyle::from(("sans-serif", 12).into_font())
                    .pos(Pos::new(HPos::Left, VPos::Center)),
            )))?;
            continue;
        };
        chart.draw_series(std::iter::once(Rectangle::new(
            [(0.0, y + 0.2), (s.median, y + 0.8)],
            BLUE.mix(0.8).filled(),
        )))?;
        if s.n > 1 {
            let whisker =
                |points: Vec<(f64, f64)>| PathElement::new(points, WHISKER.stroke_width(2));
            chart.draw_series([
                whisker(vec![(s.min, y + 0.5), (s.max, y + 0.5)]),
                whisker(vec![(s.min, y + 0.3), (s.min, y + 0.7)]),
                whisker(vec![(s.max, y + 0.3), (s.max, y + 0.7)]),
            ])?;
        }
        let value = if s.n > 1 {
            format!(
                "{} [{} – {}] (n={})",
                shown(unit, s.median),
                shown(unit, s.min),
                shown(unit, s.max),
                s.n
            )
        } else {
            shown(unit, s.median)
        };
        chart.draw_series(std::iter::once(Text::new(
            value,
            (s.max + top * 0.03, y + 0.5),
            TextStyle::from(("sans-serif", 12).into_font()).pos(Pos::new(HPos::Left, VPos::Center)),
        )))?;
    }
    root.present()
}

/// One line of the trend: its name, unit, and each run's value (`None`: a gap).
pub struct TrendSeries<'a> {
    pub name: &'a str,
    pub unit: &'a str,
    pub values: Vec<Option<f64>>,
}

/// An experiment's trend over runs: a chart per metric, a point per run (red when the run
/// did not pass), a gap where a run has no value (never a zero).
pub fn trend_chart_svg(series: &[TrendSeries<'_>], passed: &[bool]) -> Result<Svg, NotDrawn> {
    let (width, chart_h) = (900u32, 150u32);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (width, chart_h * series.len().max(1) as u32))
            .into_drawing_area();
        if root.fill(&WHITE).is_err() {
            return Err(NotDrawn("trend".into()));
        }
        let areas = root.split_evenly((series.len().max(1), 1));
        for (area, s) in areas.iter().zip(series) {
            if draw_trend(area, s, passed).is_err() {
                return Err(NotDrawn(s.name.to_string()));
            }
        }
    }
    Ok(Svg(svg))
}

fn draw_trend(
    area: &DrawingArea<SVGBackend<'_>, plotters::coord::Shift>,
    s: &TrendSeries<'_>,
    passed: &[bool],
) -> DrawResult {
    let n = s.values.len().max(1) as f64;
    let unit = s.unit;
    let max = s.values.iter().flatten().copied().fold(0.0, f64::max);
    // An axis of at least 10 ms or 5 (a flat zero line still gets distinct labels).
    let top = max.max(if unit == "ms" { 10.0 } else { 5.0 }) * 1.15;
    let mut chart = ChartBuilder::on(area)
        .caption(
            format!("{} (max {})", s.name, shown(unit, max)),
            ("sans-serif", 13),
        )
        .margin(6)
        .x_label_area_size(20)
        .y_label_area_size(80)
        .build_cartesian_2d(-0.5f64..n - 0.5, 0f64..top)?;
    chart
        .configure_mesh()
        .x_labels(s.values.len().clamp(2, 12))
        .x_label_formatter(&|x| format!("run {}", x.round() as i64 + 1))
        .y_labels(3)
        .y_label_formatter(&|y| shown(unit, *y))
        .draw()?;
    // A run without a value breaks the line: the pieces between gaps are drawn apart.
    let points: Vec<Option<(f64, f64)>> = s
        .values
        .iter()
        .enumerate()
        .map(|(j, v)| v.map(|v| (j as f64, v)))
        .collect();
    for piece in points.split(Option::is_none).filter(|p| !p.is_empty()) {
        chart.draw_series(LineSeries::new(
            piece.iter().flatten().copied(),
            BLUE.stroke_width(2),
        ))?;
    }
    chart.draw_series(points.iter().enumerate().filter_map(|(j, p)| {
        let colour = if passed.get(j).copied().unwrap_or(true) {
            BLUE
        } else {
            RED_POINT
        };
        p.map(|at| Circle::new(at, 4, colour.filled()))
    }))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_trend_line_breaks_where_a_run_has_no_value() {
        let svg = trend_chart_svg(
            &[TrendSeries {
                name: "failover p50",
                unit: "ms",
                values: vec![Some(6000.0), Some(6100.0), None, Some(6500.0), Some(6400.0)],
            }],
            &[true, true, true, true, false],
        )
        .expect("drawn");
        // The data's lines (the axes' ticks are polylines too, in black).
        let lines = svg
            .lines()
            .filter(|l| l.starts_with("<polyline") && l.contains("stroke=\"#1F77B4\""))
            .count();
        assert_eq!(lines, 2, "two pieces around the gap:\n{}", svg.as_str());
        // One point per value; the run that did not pass is red.
        assert_eq!(svg.matches("<circle").count(), 4);
        assert_eq!(svg.matches("#C62828").count(), 1);
    }

    #[test]
    fn bars_carry_whiskers_only_with_repeats_and_say_no_data() {
        let spread = |v: &[f64]| crate::report::repeats::spread(v);
        let svg = bar_chart_svg(
            "failover",
            "ms",
            &[
                Bar {
                    label: "a [x=1]".into(),
                    spread: spread(&[6000.0, 6500.0, 7000.0]),
                },
                Bar {
                    label: "b".into(),
                    spread: spread(&[5000.0]),
                },
                Bar {
                    label: "c".into(),
                    spread: None,
                },
            ],
        )
        .expect("drawn");
        // Three strokes per whisker (the range and its two caps), only for the repeats.
        assert_eq!(
            svg.matches("stroke=\"#222222\"").count(),
            3,
            "{}",
            svg.as_str()
        );
        assert!(svg.contains("(n=3)") && svg.contains("no data") && svg.contains("a [x=1]"));
    }
}
