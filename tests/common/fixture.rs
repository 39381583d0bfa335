//! The saved events of a real leader-kill run (tests/fixtures/events/leader-kill.jsonl) and
//! its result, judged against the given expectations. Pure: no Docker, no Kafka.

pub fn fixture_result(expect: &[&str]) -> (Vec<chaos::events::Event>, chaos::report::RunResult) {
    let text = include_bytes!("../fixtures/events/leader-kill.jsonl");
    let events = chaos::events::read_events(&text[..]).unwrap();
    let mut r = chaos::analysis::analyze(&events);
    let expect: Vec<String> = expect.iter().map(|e| e.to_string()).collect();
    r.expectations =
        chaos::experiment::expr::evaluate_all(&expect, &serde_json::to_value(&r).unwrap());
    chaos::analysis::conclude(&mut r);
    (events, r)
}
