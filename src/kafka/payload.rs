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
    // By hand, not `write!`: this runs once per message on the send path, and the formatting
    // machinery was its largest cost of ours in the profile (docs/measurements.md, bench).
    let out = &mut buf[..HEADER_LEN];
    out[..5].copy_from_slice(MAGIC);
    let mut at = 5;
    let mut field = |value: u64, width: usize, radix: u64, out: &mut [u8]| {
        let mut v = value;
        for i in (0..width).rev() {
            out[at + i] = b"0123456789abcdef"[(v % radix) as usize];
            v /= radix;
        }
        out[at + width] = b' ';
        at += width + 1;
    };
    field(id.producer_id, 16, 16, out);
    // Partitions are never negative; five digits as before.
    field(id.partition.max(0) as u64, 5, 10, out);
    field(id.seq, 20, 10, out);
    field(id.sent_at_us, 20, 10, out);
}

/// Reads the identity back; `None` for anything that is not exactly our header. Fixed-width
/// fields read by position (this runs once per ack, on librdkafka's callback thread).
pub fn decode(buf: &[u8]) -> Option<Identity> {
    if buf.len() < HEADER_LEN - 1 || &buf[0..5] != MAGIC {
        return None;
    }
    // (start, width) of each field, a space after each.
    let field = |start: usize, width: usize, radix: u64| -> Option<u64> {
        if buf.get(start + width).is_some_and(|b| *b != b' ') {
            return None;
        }
        buf[start..start + width].iter().try_fold(0u64, |v, b| {
            let digit = (*b as char).to_digit(radix as u32)? as u64;
            v.checked_mul(radix)?.checked_add(digit)
        })
    };
    Some(Identity {
        producer_id: field(5, 16, 16)?,
        partition: i32::try_from(field(22, 5, 10)?).ok()?,
        seq: field(28, 20, 10)?,
        sent_at_us: field(49, 20, 10)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hand_written_encoding_is_the_formatted_one() {
        let id = Identity {
            producer_id: 0x00ab_cdef_0123_4567,
            partition: 17,
            seq: u64::MAX,
            sent_at_us: 1_234_567,
        };
        let mut buf = vec![b'.'; HEADER_LEN + 3];
        encode(&id, &mut buf);
        let expected = format!(
            "CHS1 {:016x} {:05} {:020} {:020} ...",
            id.producer_id, id.partition, id.seq, id.sent_at_us
        );
        assert_eq!(String::from_utf8(buf).unwrap(), expected);
    }

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
