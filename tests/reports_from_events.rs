//! Every report renders from a saved events.jsonl alone (a real leader-kill run on the seed
//! cluster, session timeout 6 s), with the numbers the events imply.

fn result() -> (Vec<chaos::events::Event>, chaos::report::RunResult) {
    let text = include_bytes!("fixtures/events/leader-kill.jsonl");
    let events = chaos::events::read_events(&text[..]).unwrap();
    let mut r = chaos::analysis::analyze(&events);
    r.expectations = chaos::experiment::expr::evaluate_all(
        &[
            "failover.metadata.max < 12s".into(),
            "partitions[orders/0].preferred_restored_ms < 30s".into(),
        ],
        &serde_json::to_value(&r).unwrap(),
    );
    chaos::analysis::conclude(&mut r);
    (events, r)
}

#[test]
fn the_analysis_finds_the_failover_of_the_killed_leader() {
    let (_, r) = result();
    assert_eq!(r.experiment, "leader-kill-fast");
    let failover = r
        .partitions
        .iter()
        .find(|p| p.partition == 0)
        .unwrap()
        .failover_ms
        .unwrap();
    assert!((6000.0..7000.0).contains(&failover), "{failover}");
    assert_eq!(
        r.failover.metadata_ms.count, 1,
        "only orders/0 was led by the killed broker"
    );
    assert_eq!(r.faults[0].resolved, vec!["kafka-3"]);
    assert_eq!(
        r.expectations[1].passed, None,
        "leadership never went back to the preferred replica: no data, never a pass"
    );
    assert_eq!(r.status, chaos::report::Status::Inconclusive);
}

#[test]
fn table_markdown_junit_json_and_timeline_render() {
    let (events, r) = result();
    let table = chaos::report::render_table(&r);
    assert!(
        table.contains("6.39 s ± 100 ms")
            && table.contains("orders/0")
            && table.contains("NO DATA"),
        "{table}"
    );
    let md = chaos::report::render_markdown(&r);
    assert!(
        md.contains("| orders/0 |") && md.contains("⚠️ no data"),
        "{md}"
    );
    let junit =
        String::from_utf8(chaos::report::render_junit(std::slice::from_ref(&r)).unwrap()).unwrap();
    assert!(
        junit.contains("<testcase")
            && junit.contains("<error")
            && junit.contains("leader-kill-fast"),
        "{junit}"
    );
    let json: serde_json::Value = serde_json::from_slice(&chaos::report::render_json(&r)).unwrap();
    assert_eq!(json["status"], "inconclusive");
    let svg = chaos::report::timeline::render_timeline_svg(&events).unwrap();
    assert!(svg.contains("kill kafka-3"));
}
