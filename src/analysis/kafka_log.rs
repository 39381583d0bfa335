//! Kafka's own record of leadership changes, parsed from broker logs. Pure.

/// A leadership change as a broker logged it: "[Broker id=1] Leader orders-0 with topic id …
/// starts at leader epoch 1 …" (kafka.cluster.Partition#makeLeader, ZooKeeper and KRaft modes).
#[derive(Debug, Clone, PartialEq)]
pub struct LoggedLeadership {
    /// Unix ms of the broker's own log timestamp (its log4j layout, UTC in our images).
    pub logged_wall_ms: i64,
    pub topic: String,
    pub partition: i32,
    pub leader_epoch: i32,
    pub line: String,
}

pub fn leadership_lines(log: &str) -> Vec<LoggedLeadership> {
    log.lines().filter_map(parse_leadership_line).collect()
}

fn parse_leadership_line(line: &str) -> Option<LoggedLeadership> {
    let rest = &line[line.find("] Leader ")? + "] Leader ".len()..];
    let (tp, rest) = rest.split_once(' ')?;
    let (topic, partition) = tp.rsplit_once('-')?;
    let epoch_text =
        &rest[rest.find("starts at leader epoch ")? + "starts at leader epoch ".len()..];
    let leader_epoch = epoch_text
        .split(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()?;
    Some(LoggedLeadership {
        logged_wall_ms: parse_log4j_timestamp(line)?,
        topic: topic.to_string(),
        partition: partition.parse().ok()?,
        leader_epoch,
        line: line.to_string(),
    })
}

/// "[2026-11-24 22:03:14,470] …" (Kafka 3, log4j) or "[2026-11-27T11:24:20,068] …" (Kafka 4,
/// log4j2) → Unix ms (UTC).
fn parse_log4j_timestamp(line: &str) -> Option<i64> {
    let stamp = line.strip_prefix('[')?.get(..23)?;
    let (date, time) = stamp.split_once([' ', 'T'])?;
    let mut d = date.split('-').map(|x| x.parse::<i64>());
    let (y, m, day) = (d.next()?.ok()?, d.next()?.ok()?, d.next()?.ok()?);
    let (hms, millis) = time.split_once(',')?;
    let mut t = hms.split(':').map(|x| x.parse::<i64>());
    let (h, min, s) = (t.next()?.ok()?, t.next()?.ok()?, t.next()?.ok()?);
    Some(
        (days_from_civil(y, m, day) * 86_400 + h * 3600 + min * 60 + s) * 1000
            + millis.parse::<i64>().ok()?,
    )
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The Kafka version a broker logged at start-up ("Kafka version: 3.9.1").
pub fn kafka_version(log: &str) -> Option<String> {
    log.lines().find_map(|l| {
        let rest = &l[l.find("Kafka version: ")? + "Kafka version: ".len()..];
        Some(rest.split_whitespace().next()?.to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_leader_line_of_kafka_3_and_4() {
        let line = "[2026-11-24 22:03:14,470] INFO [Broker id=1] Leader orders-0 with topic id Some(qKiQIipIQK-JuTFfJuntCA) starts at leader epoch 1 from offset 161 with partition epoch 1, high watermark 160, ISR [1,3], adding replicas [] and removing replicas [] . Previous leader Some(2) and previous leader epoch was 0. (state.change.logger)";
        let parsed = leadership_lines(&format!("noise\n{line}\n")).remove(0);
        assert_eq!(
            (parsed.topic.as_str(), parsed.partition, parsed.leader_epoch),
            ("orders", 0, 1)
        );
        // 2026-11-24T22:03:14.470Z
        assert_eq!(parsed.logged_wall_ms, 1_795_557_794_470);
        let dashed = line.replace("orders-0", "my-topic-12");
        let parsed = leadership_lines(&dashed).remove(0);
        assert_eq!((parsed.topic.as_str(), parsed.partition), ("my-topic", 12));
    }

    #[test]
    fn parses_kafka_4_log4j2_lines_with_a_t_between_date_and_time() {
        let line = "[2026-11-27T11:24:20,068] INFO [Broker id=2] Leader orders-0 with topic id Some(SJtpIGWMS5GRKJKxlX7WpQ) starts at leader epoch 1 from offset 201 with partition epoch 1, high watermark 200, ISR [2,3], adding replicas [] and removing replicas [] . Previous leader Some(1) and previous leader epoch was 0. (state.change.logger)";
        let parsed = leadership_lines(line).remove(0);
        assert_eq!((parsed.partition, parsed.leader_epoch), (0, 1));
        // 2026-11-27T11:24:20.068Z
        assert_eq!(parsed.logged_wall_ms, 1_795_778_660_068);
    }

    #[test]
    fn follower_lines_are_not_leadership() {
        let line = "[2026-11-24 22:03:21,730] INFO [Broker id=2] Follower orders-0 starts at leader epoch 1 from offset 161 (state.change.logger)";
        assert!(leadership_lines(line).is_empty());
    }
}
