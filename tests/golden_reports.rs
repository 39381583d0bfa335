//! Golden files: the JUnit, markdown, table and comparison renderings of a saved real run
//! (tests/fixtures/events/leader-kill.jsonl) must not change unnoticed. Review a change with
//! `cargo insta review` (or INSTA_UPDATE=always), then commit the snapshot.

#[path = "common/fixture.rs"]
mod fixture;

fn result() -> chaos::report::RunResult {
    fixture::fixture_result(&[
        "failover.metadata.max < 12s",
        "verification.lost_acked == 0",
        "failover.metadata.max < 5s",
    ])
    .1
}

#[test]
fn junit() {
    let junit = String::from_utf8(chaos::report::render_junit(&[result()]).unwrap()).unwrap();
    insta::assert_snapshot!(junit);
}

#[test]
fn markdown_summary() {
    insta::assert_snapshot!(chaos::report::render_markdown(&result()));
}

#[test]
fn terminal_table() {
    insta::assert_snapshot!(chaos::report::render_table(&result()));
}

/// Two variants × two repeats made from the fixture: the slower variant's failovers are
/// shifted by 3 s, well beyond the 100 ms error bar.
#[test]
fn comparison_table_and_differences_beyond_noise() {
    let mut runs = Vec::new();
    for (variant, shift_ms) in [("session=6000", 0.0), ("session=12000", 3_000.0)] {
        for jitter_ms in [0.0, 250.0] {
            let mut r = result();
            r.variant = Some(variant.into());
            for p in &mut r.partitions {
                p.failover_ms = p.failover_ms.map(|f| f + shift_ms + jitter_ms);
            }
            let m = &mut r.failover.metadata_ms;
            for v in [&mut m.min, &mut m.p50, &mut m.max].into_iter().flatten() {
                *v += shift_ms + jitter_ms;
            }
            runs.push(r);
        }
    }
    let mut out = chaos::report::render_comparison(&runs);
    out.push('\n');
    for d in chaos::report::differences_beyond_noise(&runs) {
        out.push_str(&format!("beyond noise: {d}\n"));
    }
    insta::assert_snapshot!(out);
}
