//! Message identity, carried in the payload so a message is recognised after truncation,
//! re-election and offset reuse: producer id, partition, sequence, send time. Printable ASCII,
//! so Kafka's own console consumer (or kcat) can re-read a topic independently:
//! `CHS1 <producer id, 16 hex> <partition, 5> <seq, 20> <sent µs, 20> ` then padding.

pub const HEADER_LEN: usize = 70;
const MAGIC: &[u8; 5] = b"CHS1 ";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Identity {
    pub producer_id: u64,
    pub partition: i32,
    pub seq: u64,
    pub sent_at_us: u64,
}

/// Writes the identity into the first `HEADER_LEN` bytes of `buf` (which is at least that
/// long); the rest of `buf` is left as it is (padding).
pub fn encode(id: &Identity, buf: &mut [u8]) {
    use std::io::Write;
    let mut cursor = std::io::Cursor::new(&mut buf[..HEADER_LEN]);
    let _ = write!(
        cursor,
        "CHS1 {:016x} {:05} {:020} {:020} ",
        id.producer_id, id.partition, id.seq, id.sent_at_us
    );
}

pub fn decode(buf: &[u8]) -> Option<Identity> {
    if buf.len() < HEADER_LEN - 1 || &buf[0..5] != MAGIC {
        return None;
    }
    let text = std::str::from_utf8(&buf[5..HEADER_LEN - 1]).ok()?;
    let mut fields = text.split(' ');
    Some(Identity {
        producer_id: u64::from_str_radix(fields.next()?, 16).ok()?,
        partition: fields.next()?.parse().ok()?,
        seq: fields.next()?.parse().ok()?,
        sent_at_us: fields.next()?.parse().ok()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_round_trips_and_foreign_payloads_are_rejected() {
        let id = Identity {
            producer_id: u64::MAX,
            partition: 2,
            seq: 123_456,
            sent_at_us: 99,
        };
        let mut buf = vec![b'.'; 100];
        encode(&id, &mut buf);
        assert_eq!(decode(&buf), Some(id));
        assert!(buf[..HEADER_LEN - 1].is_ascii());
        let exact = &buf[..HEADER_LEN - 1];
        assert_eq!(decode(exact), Some(id), "the header alone decodes");
        assert_eq!(decode(b"hello"), None);
        assert_eq!(decode(&[0u8; 80]), None);
    }
}
