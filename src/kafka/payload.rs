//! Message identity, carried in the payload so a message is recognised after truncation,
//! re-election and offset reuse: magic, producer id, partition, sequence, send time.

pub const HEADER_LEN: usize = 32;
const MAGIC: &[u8; 4] = b"CHS1";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Identity {
    pub producer_id: u64,
    pub partition: i32,
    pub seq: u64,
    pub sent_at_us: u64,
}

/// Writes the identity into the first 32 bytes of `buf` (which is at least that long).
pub fn encode(id: &Identity, buf: &mut [u8]) {
    buf[0..4].copy_from_slice(MAGIC);
    buf[4..12].copy_from_slice(&id.producer_id.to_le_bytes());
    buf[12..16].copy_from_slice(&id.partition.to_le_bytes());
    buf[16..24].copy_from_slice(&id.seq.to_le_bytes());
    buf[24..32].copy_from_slice(&id.sent_at_us.to_le_bytes());
}

pub fn decode(buf: &[u8]) -> Option<Identity> {
    if buf.len() < HEADER_LEN || &buf[0..4] != MAGIC {
        return None;
    }
    let u64_at = |i: usize| u64::from_le_bytes(buf[i..i + 8].try_into().unwrap_or([0; 8]));
    Some(Identity {
        producer_id: u64_at(4),
        partition: i32::from_le_bytes(buf[12..16].try_into().unwrap_or([0; 4])),
        seq: u64_at(16),
        sent_at_us: u64_at(24),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_round_trips_and_foreign_payloads_are_rejected() {
        let id = Identity { producer_id: 7, partition: 2, seq: 123_456, sent_at_us: 99 };
        let mut buf = vec![0u8; 100];
        encode(&id, &mut buf);
        assert_eq!(decode(&buf), Some(id));
        assert_eq!(decode(b"hello"), None);
        assert_eq!(decode(&[0u8; 40]), None);
    }
}
