//! `timeline.svg` (plotters): one lane per partition coloured by its leader, red where it has no
//! leader, hatched lower half while under-replicated; a controller lane; fault windows as
//! shaded bands; throughput and p99 latency of the workload below on the same time axis.
//! Rendered from the events alone, like every report.

use crate::events::{Event, EventKind, TxnOutcome};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::collections::BTreeMap;

struct Segment {
    from: f64,
    to: f64,
    leader: Option<i32>,
    under_replicated: bool,
}

fn broker_colour(id: i32) -> RGBColor {
    const COLOURS: [RGBColor; 8] = [
        RGBColor(31, 119, 180),
        RGBColor(44, 160, 44),
        RGBColor(148, 103, 189),
        RGBColor(255, 127, 14),
        RGBColor(23, 190, 207),
        RGBColor(140, 86, 75),
        RGBColor(188, 189, 34),
        RGBColor(227, 119, 194),
    ];
    COLOURS[(id.unsigned_abs() as usize) % COLOURS.len()]
}

/// A broker's colour in the timeline, for HTML next to it (the live lanes).
pub fn broker_colour_hex(id: i32) -> String {
    let RGBColor(r, g, b) = broker_colour(id);
    format!("#{r:02x}{g:02x}{b:02x}")
}

/// The title and the legend row above the lanes (px).
const HEAD_PX: u32 = 44;

/// Where the lanes' time axis lies on the canvas (px): the chart's margin and lane-name
/// column on the left, its margin on the right.
struct PlotGeometry {
    left: f64,
    width: f64,
    end: f64,
}

impl PlotGeometry {
    fn new(canvas: u32, end: f64) -> Self {
        let left = 8.0 + 110.0;
        Self {
            left,
            width: canvas as f64 - left - 8.0,
            end,
        }
    }
    fn x(&self, t: f64) -> f64 {
        self.left + t / self.end * self.width
    }
}

/// A label's width in px in the 11 px sans-serif the timeline uses (DejaVu Sans averages
/// ~6.3 px a character at that size; taken high so that estimates never overlap).
fn text_width_px(text: &str) -> f64 {
    text.chars().count() as f64 * 6.8
}

/// Each fault label's row in the band above the lanes: the first row where it starts after
/// the previous label there ends (with a gap), so that no two labels overlap.
fn fault_label_rows(
    faults: &[(String, String, f64, Option<f64>)],
    plot: &PlotGeometry,
) -> Vec<usize> {
    let mut row_ends: Vec<f64> = Vec::new();
    faults
        .iter()
        .map(|(_, label, from, _)| {
            let start = plot.x(*from);
            let end = start + text_width_px(label);
            let row = row_ends
                .iter()
                .position(|&e| e + 8.0 <= start)
                .unwrap_or(row_ends.len());
            if row == row_ends.len() {
                row_ends.push(end);
            } else {
                row_ends[row] = end;
            }
            row
        })
        .collect()
}

/// The SVG could not be drawn (plotters' error; its backend writes to a string).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct TimelineError(#[from] DrawingAreaErrorKind<std::io::Error>);

// Long: a renderer: the timeline's layers in drawing order (axes, lanes, faults, legend) on one
// plotters canvas, each a short block
pub fn render_timeline_svg(events: &[Event]) -> Result<super::Svg, TimelineError> {
    let mut events: Vec<&Event> = events.iter().collect();
    events.sort_by_key(|e| e.at_us);
    let secs = |us: u64| us as f64 / 1e6;
    let end = events.last().map(|e| secs(e.at_us)).unwrap_or(1.0).max(1.0);
    let mut title = String::from("chaos run");
    let mut lanes: BTreeMap<String, Vec<Segment>> = BTreeMap::new();
    let mut controller: Vec<Segment> = Vec::new();
    let mut faults: Vec<(String, String, f64, Option<f64>)> = Vec::new();
    let mut throughput: Vec<(f64, f64)> = Vec::new();
    // A second with no ack has no latency: a gap in the line, not a zero.
    let mut p99: Vec<Option<(f64, f64)>> = Vec::new();
    let mut brokers_seen: Vec<i32> = Vec::new();
    // service -> broker id (the run's start says it), for the brokers' process lane.
    let mut broker_of: Vec<(String, i32)> = Vec::new();
    // Each broker process's end (kill, die, stop, oom) and start, as the platform saw it: a
    // lane of its own when there were any (a kubelet's restarts, a node's reboot).
    let mut processes: Vec<(f64, i32, bool)> = Vec::new();
    // The consumer group's lag, once a second (a lane of its own when the run had a group).
    let mut lag: Vec<(f64, f64)> = Vec::new();
    // Each transaction's end (commit, abort, unknown): a chart of its own when there were any.
    let mut txn_ends: Vec<(f64, TxnOutcome)> = Vec::new();
    // What the observer could not see, as the analysis decided it (one rule, not two).
    let blind: Vec<(f64, Option<f64>)> = crate::analysis::blind_spans(&events)
        .into_iter()
        .map(|(from, to)| (secs(from), to.map(secs)))
        .collect();
    for e in &events {
        let t = secs(e.at_us);
        match &e.kind {
            EventKind::RunStarted {
                experiment,
                variant,
                cluster_mode,
                kafka_version,
                attached_project,
                kubernetes,
                nodes,
                brokers,
                ..
            } => {
                broker_of = brokers.clone();
                // Where it ran, as the reports' headers say it: the picture travels alone.
                let origin = match (attached_project, kubernetes) {
                    (Some(p), _) => format!(", attached to {p}"),
                    (None, Some(k)) => format!(", on Kubernetes ({k})"),
                    (None, None) if nodes.len() > 1 => format!(", on {} hosts", nodes.len()),
                    (None, None) => String::new(),
                };
                title = format!(
                    "{experiment}{} — {cluster_mode}, Kafka {kafka_version}{origin}",
                    variant
                        .as_ref()
                        .map(|v| format!(" [{v}]"))
                        .unwrap_or_default()
                );
            }
            EventKind::Observed { snapshot, .. } => {
                // A blind observer publishes an empty view: not a state of the cluster.
                if snapshot.brokers.is_empty() && snapshot.partitions.is_empty() {
                    continue;
                }
                let close = |segments: &mut Vec<Segment>, leader: Option<i32>, under: bool| {
                    if let Some(last) = segments.last_mut() {
                        if last.leader == leader && last.under_replicated == under {
                            return;
                        }
                        last.to = t;
                    }
                    segments.push(Segment {
                        from: t,
                        to: end,
                        leader,
                        under_replicated: under,
                    });
                };
                close(&mut controller, snapshot.controller, false);
                // The legend names every broker drawn: leaders and controllers.
                if let Some(c) = snapshot.controller {
                    if !brokers_seen.contains(&c) {
                        brokers_seen.push(c);
                    }
                }
                for p in &snapshot.partitions {
                    if let Some(l) = p.leader {
                        if !brokers_seen.contains(&l) {
                            brokers_seen.push(l);
                        }
                    }
                    close(
                        lanes.entry(p.key()).or_default(),
                        p.leader,
                        p.isr.len() < p.replicas.len(),
                    );
                }
            }
            EventKind::FaultInjected {
                id, kind, resolved, ..
            } => faults.push((
                id.clone(),
                format!("{kind} {}", resolved.join(",")),
                t,
                None,
            )),
            EventKind::FaultReverted { id, .. } => {
                if let Some(f) = faults
                    .iter_mut()
                    .rev()
                    .find(|f| f.3.is_none() && &f.0 == id)
                {
                    f.3 = Some(t);
                }
            }
            EventKind::Container { service, action } => {
                use crate::events::ProcessChange;
                // A freeze and its thaw are the fault band's, not a process ending or starting.
                let ended = match action.process_change() {
                    ProcessChange::Ended => true,
                    ProcessChange::Started => false,
                    ProcessChange::Frozen | ProcessChange::Thawed => continue,
                };
                if let Some((_, id)) = broker_of.iter().find(|(s, _)| s == service) {
                    processes.push((t, *id, ended));
                }
            }
            EventKind::GroupTick { lag: Some(l), .. } => lag.push((t, *l as f64)),
            EventKind::TransactionEnded { outcome, .. } => txn_ends.push((t, *outcome)),
            EventKind::WorkloadTick { acked, p99_us, .. } => {
                throughput.push((t, *acked as f64));
                p99.push((*acked > 0).then(|| (t, *p99_us as f64 / 1000.0)));
            }
            _ => {}
        }
    }
    brokers_seen.sort_unstable();
    let lane_names: Vec<String> = std::iter::once("controller".to_string())
        .chain(lanes.keys().cloned())
        .chain((!processes.is_empty()).then(|| "broker processes".to_string()))
        .collect();
    let lane_height = 28u32;
    let width = 1200u32;
    // Fault labels go in a band of their own above the lanes, in as many rows as they need
    // not to overlap; the legend in a row of its own under the title. Nothing is drawn over
    // the lanes but the fault windows' shade and the observer's blind spans.
    let plot = PlotGeometry::new(width, end);
    let label_rows = fault_label_rows(&faults, &plot);
    let band_rows = label_rows.iter().copied().max().map_or(0, |r| r + 1);
    let band_units = 0.5 * band_rows as f64; // a row is 14 px, half a lane
    let lanes_px = HEAD_PX + 36 + lane_height * lane_names.len() as u32 + 14 * band_rows as u32;
    let extra_charts = u32::from(!lag.is_empty()) + u32::from(!txn_ends.is_empty());
    let charts_px = 300u32 + 150 * extra_charts;
    let mut svg = String::new();
    {
        let root =
            SVGBackend::with_string(&mut svg, (width, lanes_px + charts_px)).into_drawing_area();
        let err = TimelineError::from;
        root.fill(&WHITE).map_err(err)?;
        let (top, bottom) = root.split_vertically(lanes_px);
        let (head, lanes_area) = top.split_vertically(HEAD_PX);
        head.draw(&Text::new(
            title.clone(),
            (width as i32 / 2, 4),
            TextStyle::from(("sans-serif", 18).into_font()).pos(Pos::new(HPos::Center, VPos::Top)),
        ))
        .map_err(err)?;
        let mut legend: Vec<(String, RGBColor)> = brokers_seen
            .iter()
            .map(|b| (format!("■ broker {b}"), broker_colour(*b)))
            .collect();
        legend.push(("■ offline".into(), RED));
        legend.push(("■ under-replicated".into(), RGBColor(255, 160, 0)));
        if !blind.is_empty() {
            legend.push(("■ unknown (observer blind)".into(), RGBColor(120, 120, 120)));
        }
        if !faults.is_empty() {
            legend.push(("■ fault in force".into(), RGBColor(220, 120, 120)));
        }
        if !processes.is_empty() {
            legend.push(("✕ process ended  ▲ started".into(), RGBColor(60, 60, 60)));
        }
        let mut x = plot.left as i32;
        for (text, colour) in legend {
            let advance = text_width_px(&text) as i32 + 12;
            head.draw(&Text::new(
                text,
                (x, 28),
                ("sans-serif", 11).into_font().color(&colour),
            ))
            .map_err(err)?;
            x += advance;
        }
        let n = lane_names.len() as f64;
        let mut chart = ChartBuilder::on(&lanes_area)
            .margin(8)
            .x_label_area_size(20)
            .y_label_area_size(110)
            .build_cartesian_2d(0f64..end, 0f64..n + band_units)
            .map_err(err)?;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .y_labels(0)
            .x_label_formatter(&|x| format!("{x:.0}s"))
            .draw()
            .map_err(err)?;
        for (i, name) in lane_names.iter().enumerate() {
            let (px, py) = chart.backend_coord(&(0.0, n - 0.5 - i as f64));
            // backend_coord is on the whole canvas, as `top` is.
            top.draw(&Text::new(
                name.clone(),
                (px - 100, py - 6),
                ("sans-serif", 12),
            ))
            .map_err(err)?;
        }
        // Fault windows behind everything, their labels in the band above the lanes.
        for ((_, label, from, to), row) in faults.iter().zip(&label_rows) {
            let to = to.unwrap_or(end);
            chart
                .draw_series(std::iter::once(Rectangle::new(
                    [(*from, 0.0), (to, n + band_units)],
                    RGBColor(220, 50, 47).mix(0.12).filled(),
                )))
                .map_err(err)?;
            chart
                .draw_series(std::iter::once(Text::new(
                    label.clone(),
                    (*from, n + band_units - 0.5 * *row as f64 - 0.05),
                    ("sans-serif", 11).into_font().color(&RGBColor(160, 30, 30)),
                )))
                .map_err(err)?;
        }
        let lane_y = |i: usize| n - 1.0 - i as f64;
        let mut draw_lane = |i: usize, segments: &[Segment]| -> Result<(), TimelineError> {
            let y = lane_y(i);
            for s in segments {
                let colour = match s.leader {
                    Some(l) => broker_colour(l).mix(0.85),
                    None => RGBColor(220, 20, 20).mix(1.0),
                };
                chart
                    .draw_series(std::iter::once(Rectangle::new(
                        [(s.from, y + 0.15), (s.to, y + 0.85)],
                        colour.filled(),
                    )))
                    .map_err(err)?;
                if s.under_replicated {
                    chart
                        .draw_series(std::iter::once(Rectangle::new(
                            [(s.from, y + 0.15), (s.to, y + 0.4)],
                            RGBColor(255, 193, 7).filled(),
                        )))
                        .map_err(err)?;
                }
                if let (Some(l), true) = (s.leader, s.to - s.from > end / 60.0) {
                    chart
                        .draw_series(std::iter::once(Text::new(
                            l.to_string(),
                            (s.from + end / 400.0, y + 0.75),
                            ("sans-serif", 11).into_font().color(&WHITE),
                        )))
                        .map_err(err)?;
                }
            }
            Ok(())
        };
        draw_lane(0, &controller)?;
        for (i, segments) in lanes.values().enumerate() {
            draw_lane(i + 1, segments)?;
        }
        // The brokers' processes: a cross where one ended, a triangle where one started, in
        // the broker's colour, on the last lane.
        let y = lane_y(lane_names.len() - 1) + 0.5;
        chart
            .draw_series(processes.iter().map(|(t, id, ended)| {
                let colour = broker_colour(*id).stroke_width(2);
                if *ended {
                    Cross::new((*t, y), 5, colour).into_dyn()
                } else {
                    TriangleMarker::new((*t, y), 5, colour.filled()).into_dyn()
                }
            }))
            .map_err(err)?;
        // What the observer could not see is grey over every lane: unknown, not offline.
        for (from, to) in &blind {
            chart
                .draw_series(std::iter::once(Rectangle::new(
                    [(*from, 0.0), (to.unwrap_or(end), n)],
                    RGBColor(150, 150, 150).mix(0.9).filled(),
                )))
                .map_err(err)?;
        }

        // Throughput, latency, then the group's lag and the transactions when there are any,
        // each 150 px.
        let (tp_area, rest) = bottom.split_vertically(150);
        let (lat_area, rest) = rest.split_vertically(150);
        let (lag_area, txn_area) = match (lag.is_empty(), txn_ends.is_empty()) {
            (true, true) => (None, None),
            (false, true) => (Some(rest), None),
            (true, false) => (None, Some(rest)),
            (false, false) => {
                let (lag, txns) = rest.split_vertically(150);
                (Some(lag), Some(txns))
            }
        };
        let max_tp = throughput.iter().map(|(_, v)| *v).fold(1.0, f64::max) * 1.1;
        let mut tp = ChartBuilder::on(&tp_area)
            .margin(8)
            .x_label_area_size(18)
            .y_label_area_size(110)
            .build_cartesian_2d(0f64..end, 0f64..max_tp)
            .map_err(err)?;
        tp.configure_mesh()
            .y_desc("acked/s")
            .x_label_formatter(&|x| format!("{x:.0}s"))
            .draw()
            .map_err(err)?;
        // The faults' bands across the charts below too: what the workload saw, when.
        let fault_bands = |top: f64| {
            faults.iter().map(move |(_, _, from, to)| {
                Rectangle::new(
                    [(*from, 0.0), (to.unwrap_or(end), top)],
                    RGBColor(220, 50, 47).mix(0.10).filled(),
                )
            })
        };
        tp.draw_series(fault_bands(max_tp)).map_err(err)?;
        tp.draw_series(
            AreaSeries::new(
                throughput.iter().copied(),
                0.0,
                RGBColor(31, 119, 180).mix(0.3),
            )
            .border_style(RGBColor(31, 119, 180)),
        )
        .map_err(err)?;
        let max_lat = p99.iter().flatten().map(|(_, v)| *v).fold(1.0, f64::max) * 1.1;
        let mut lat = ChartBuilder::on(&lat_area)
            .margin(8)
            .x_label_area_size(18)
            .y_label_area_size(110)
            .build_cartesian_2d(0f64..end, 0f64..max_lat)
            .map_err(err)?;
        lat.configure_mesh()
            .y_desc("p99 ms")
            .x_label_formatter(&|x| format!("{x:.0}s"))
            .draw()
            .map_err(err)?;
        lat.draw_series(fault_bands(max_lat)).map_err(err)?;
        for run in p99.split(Option::is_none).filter(|run| !run.is_empty()) {
            lat.draw_series(LineSeries::new(
                run.iter().flatten().copied(),
                RGBColor(214, 39, 40).stroke_width(2),
            ))
            .map_err(err)?;
        }
        if let Some(area) = lag_area {
            let max_lag = lag.iter().map(|(_, v)| *v).fold(1.0, f64::max) * 1.1;
            let mut chart = ChartBuilder::on(&area)
                .margin(8)
                .x_label_area_size(18)
                .y_label_area_size(110)
                .build_cartesian_2d(0f64..end, 0f64..max_lag)
                .map_err(err)?;
            chart
                .configure_mesh()
                .y_desc("group lag")
                .x_label_formatter(&|x| format!("{x:.0}s"))
                .draw()
                .map_err(err)?;
            chart
                .draw_series(LineSeries::new(
                    lag.iter().copied(),
                    RGBColor(148, 103, 189).stroke_width(2),
                ))
                .map_err(err)?;
        }
        if let Some(area) = txn_area {
            // One tick per transaction end: committed full height (green), aborted half
            // (orange), unknown full height (dark red): the gaps are when nothing committed.
            let mut chart = ChartBuilder::on(&area)
                .margin(8)
                .x_label_area_size(18)
                .y_label_area_size(110)
                .build_cartesian_2d(0f64..end, 0f64..1.1)
                .map_err(err)?;
            chart
                .configure_mesh()
                .y_desc("transactions")
                .y_labels(0)
                .x_label_formatter(&|x| format!("{x:.0}s"))
                .draw()
                .map_err(err)?;
            chart
                .draw_series(txn_ends.iter().map(|(t, outcome)| {
                    let (height, colour) = match outcome {
                        TxnOutcome::Committed => (1.0, RGBColor(44, 160, 44)),
                        TxnOutcome::Aborted => (0.5, RGBColor(255, 127, 14)),
                        TxnOutcome::Unknown => (1.0, RGBColor(148, 0, 0)),
                    };
                    PathElement::new(vec![(*t, 0.0), (*t, height)], colour.stroke_width(2))
                }))
                .map_err(err)?;
        }
        root.present().map_err(err)?;
    }
    Ok(super::Svg(svg))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::{ClusterSnapshot, PartitionState};

    fn ev(at_ms: u64, kind: EventKind) -> Event {
        Event {
            at_us: at_ms * 1000,
            wall_ms: 0,
            kind,
        }
    }

    fn snap(leader: Option<i32>, isr: &[i32]) -> EventKind {
        EventKind::Observed {
            snapshot: ClusterSnapshot {
                controller: Some(1),
                brokers: vec![1, 2, 3],
                partitions: vec![PartitionState {
                    topic: "orders".into(),
                    partition: 0,
                    leader,
                    leader_epoch: 0,
                    replicas: vec![1, 2, 3],
                    isr: isr.to_vec(),
                    offline_replicas: vec![],
                }],
            },
            previous_view_us: None,
        }
    }

    #[test]
    fn a_brokers_process_ending_and_starting_is_drawn_on_a_lane_of_its_own() {
        let container = |at: u64, action| {
            ev(
                at,
                EventKind::Container {
                    service: "kafka-2".into(),
                    action,
                },
            )
        };
        let run = |extra: Vec<Event>| {
            let mut events = crate::events::testing::run_on(vec![], vec![snap(Some(1), &[1])]);
            if let EventKind::RunStarted { brokers, .. } = &mut events[0].kind {
                *brokers = vec![("kafka-2".into(), 2)];
            }
            events.extend(extra);
            render_timeline_svg(&events).unwrap()
        };
        use crate::events::ContainerAction as A;
        let svg = run(vec![
            container(2000, A::Kill),
            container(2001, A::Die),
            container(9000, A::Start),
            // A ZooKeeper or a paused broker is not a process ending or starting.
            container(3000, A::Pause),
        ]);
        assert!(svg.contains("broker processes"), "the lane");
        assert!(svg.contains("✕ process ended  ▲ started"), "the legend");
        // Two crosses (two lines each) and a triangle, in broker 2's colour.
        let colour = {
            let c = broker_colour(2);
            format!("#{:02X}{:02X}{:02X}", c.0, c.1, c.2)
        };
        let quiet = run(vec![container(3000, A::Pause)]);
        assert!(
            !quiet.contains("broker processes"),
            "no lane without a process event"
        );
        assert!(
            svg.matches(&colour).count() >= quiet.matches(&colour).count() + 3,
            "three markers in broker 2's colour"
        );
    }

    #[test]
    fn the_title_says_where_the_run_was() {
        let run = |kubernetes: Option<&str>| {
            let mut events = crate::events::testing::run_on(vec![], vec![snap(Some(1), &[1])]);
            if let EventKind::RunStarted { kubernetes: k, .. } = &mut events[0].kind {
                *k = kubernetes.map(str::to_string);
            }
            render_timeline_svg(&events).unwrap()
        };
        let svg = run(Some("chaos/seed"));
        assert!(
            svg.contains("on Kubernetes (chaos/seed)"),
            "{}",
            &svg[..400.min(svg.len())]
        );
        assert!(!run(None).contains("Kubernetes"));
    }

    #[test]
    fn the_timeline_has_lanes_fault_bands_and_workload_charts() {
        let events = vec![
            ev(0, snap(Some(1), &[1, 2, 3])),
            ev(
                1000,
                EventKind::FaultInjected {
                    id: "k".into(),
                    kind: crate::events::FaultKind::Kill,
                    target: "leader-of orders/0".into(),
                    resolved: vec!["kafka-1".into()],
                    broker_ids: vec![1],
                    source: crate::events::TimeSource::DockerEvent,
                    unreachable: false,
                },
            ),
            ev(
                1000,
                EventKind::WorkloadTick {
                    acked: 200,
                    failed: 0,
                    p99_us: 9000,
                },
            ),
            ev(7000, snap(None, &[1])),
            ev(7500, snap(Some(2), &[2, 3])),
            ev(
                9000,
                EventKind::FaultReverted {
                    id: "k".into(),
                    kind: crate::events::FaultKind::Kill,
                    resolved: vec!["kafka-1".into()],
                    source: crate::events::TimeSource::DockerEvent,
                },
            ),
            ev(
                9000,
                EventKind::WorkloadTick {
                    acked: 150,
                    failed: 0,
                    p99_us: 40000,
                },
            ),
        ];
        let svg = render_timeline_svg(&events).unwrap();
        assert!(svg.starts_with("<svg"));
        let text: String = svg.split('\n').map(str::trim).collect();
        assert!(
            text.contains(">orders/0<") && text.contains(">controller<"),
            "lane labels"
        );
        assert!(svg.contains("kill kafka-1"), "fault band label");
        assert!(
            svg.contains("acked/s") && svg.contains("p99 ms"),
            "workload charts"
        );
        assert!(
            svg.to_uppercase().contains("#DC1414"),
            "an offline span in red"
        );
        assert!(!svg.contains("group lag"), "no group, no lag lane");
        assert!(!svg.contains("transactions"), "no transactions, no chart");
        let mut with_group = events.clone();
        with_group.push(ev(
            8000,
            EventKind::GroupTick {
                processed: 10,
                lag: Some(420),
            },
        ));
        let svg = render_timeline_svg(&with_group).unwrap();
        assert!(svg.contains("group lag"), "the group's lag lane");
        // Transactions: one tick per end, coloured by outcome, below the lag.
        let mut with_txns = with_group.clone();
        for (at_ms, outcome) in [
            (1_000, TxnOutcome::Committed),
            (1_300, TxnOutcome::Aborted),
            (6_000, TxnOutcome::Unknown),
        ] {
            with_txns.push(ev(
                at_ms,
                EventKind::TransactionEnded { id: at_ms, outcome },
            ));
        }
        let svg = render_timeline_svg(&with_txns).unwrap();
        assert!(svg.contains("transactions") && svg.contains("group lag"));
        for colour in ["#2CA02C", "#FF7F0E", "#940000"] {
            assert!(svg.to_uppercase().contains(colour), "{colour} tick");
        }
        let height = |s: &str| {
            s.split("height=\"")
                .nth(1)
                .and_then(|h| h.split('"').next())
                .map(str::to_string)
        };
        assert_ne!(
            height(&svg),
            height(&render_timeline_svg(&with_group).unwrap())
        );
    }

    #[test]
    fn no_events_still_render() {
        assert!(render_timeline_svg(&[]).unwrap().contains("<svg"));
    }
}
