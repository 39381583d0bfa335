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
    HeaderWriter::new(id.producer_id).write(id, buf);
}

/// One producer's headers: the part that never changes ("CHS1 <producer id> ") made once,
/// so a message costs only its partition, sequence number and send time. By hand, not
/// `write!`: this runs once per message on the send path (the formatting machinery was its
/// largest cost of ours in the profile); the decimal fields eight digits at a time.
#[derive(Debug, Clone, Copy)]
pub struct HeaderWriter {
    producer_id: u64,
    prefix: [u8; 22],
}

impl HeaderWriter {
    pub fn new(producer_id: u64) -> Self {
        let mut prefix = [b' '; 22];
        prefix[..5].copy_from_slice(MAGIC);
        write_hex(&mut prefix[5..21], producer_id);
        HeaderWriter {
            producer_id,
            prefix,
        }
    }

    /// `encode`, for an identity of this writer's producer.
    pub fn write(&self, id: &Identity, buf: &mut [u8]) {
        debug_assert_eq!(
            id.producer_id, self.producer_id,
            "another producer's header"
        );
        let out = &mut buf[..HEADER_LEN];
        out[..22].copy_from_slice(&self.prefix);
        // Partitions are never negative; five digits as before.
        write_decimal(&mut out[22..27], id.partition.max(0) as u64);
        write_decimal(&mut out[28..48], id.seq);
        write_decimal(&mut out[49..69], id.sent_at_us);
        for space in [27, 48, 69] {
            out[space] = b' ';
        }
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

fn write_hex(out: &mut [u8], v: u64) {
    let last = out.len() - 1;
    for (i, b) in out.iter_mut().enumerate() {
        *b = HEX[((v >> (4 * (last - i))) & 0xf) as usize];
    }
}

/// `v`'s low decimal digits right-aligned in `out` (at most 20 wide), zeros before them (as
/// `{:0w}` would print, its highest digits cut if it does not fit). Eight digits at a time
/// in a few word operations, no loop or branch per digit: a message's header costs ≈ 8 ns
/// instead of ≈ 27 ns a digit pair at a time.
fn write_decimal(out: &mut [u8], v: u64) {
    const E8: u64 = 100_000_000;
    let width = out.len();
    debug_assert!(width <= 20, "a u64 has at most 20 digits");
    if width <= 8 {
        out.copy_from_slice(&eight_ascii_digits(v % E8)[8 - width..]);
        return;
    }
    let mut digits = [0u8; 20];
    digits[..4].copy_from_slice(&eight_ascii_digits(v / (E8 * E8))[4..]);
    digits[4..12].copy_from_slice(&eight_ascii_digits(v / E8 % E8));
    digits[12..].copy_from_slice(&eight_ascii_digits(v % E8));
    out.copy_from_slice(&digits[20 - width..]);
}

/// `x` (< 10⁸) as eight ASCII digits, the most significant first: split into two halves of
/// four digits, each into two pairs, each pair into two digits, all lanes of one word at
/// once (divisions by 100 and 10 as multiply-and-shift, exact in these ranges; the reverse
/// of `eight_digits`).
fn eight_ascii_digits(x: u64) -> [u8; 8] {
    debug_assert!(x < 100_000_000);
    // 32-bit lanes: the high four digits, the low four.
    let halves = (x / 10_000) | ((x % 10_000) << 32);
    // Each lane ÷ 100 (x·10486 >> 20 = ⌊x/100⌋ for x < 10⁴).
    let high_pairs = ((halves * 10_486) >> 20) & 0x0000_007F_0000_007F;
    let low_pairs = halves - 100 * high_pairs;
    // 16-bit lanes: the four pairs in order.
    let pairs = (low_pairs << 16) + high_pairs;
    // Each lane ÷ 10 (x·103 >> 10 = ⌊x/10⌋ for x < 100).
    let tens = ((pairs * 103) >> 10) & 0x000F_000F_000F_000F;
    // Bytes: tens then units in each lane.
    let digits = tens + ((pairs - 10 * tens) << 8);
    (digits + 0x3030_3030_3030_3030).to_le_bytes()
}

/// Reads the identity back; `None` for anything that is not exactly our header. Fixed-width
/// fields read by position (this runs once per ack, on the client's callback thread, and
/// once per message of the re-read).
pub fn decode(buf: &[u8]) -> Option<Identity> {
    if buf.len() < HEADER_LEN - 1 || &buf[0..5] != MAGIC {
        return None;
    }
    if [21, 27, 48].iter().any(|at| buf[*at] != b' ') || buf.get(69).is_some_and(|b| *b != b' ') {
        return None;
    }
    let producer_id = buf[5..21].iter().try_fold(0u64, |v, b| {
        let digit = (*b as char).to_digit(16)? as u64;
        Some(v << 4 | digit)
    })?;
    let partition = buf[22..27]
        .iter()
        .try_fold(0u32, |v, b| Some(v * 10 + (*b as char).to_digit(10)?))?;
    Some(Identity {
        producer_id,
        partition: i32::try_from(partition).ok()?,
        seq: twenty_digits(&buf[28..48])?,
        sent_at_us: twenty_digits(&buf[49..69])?,
    })
}

/// Twenty ASCII decimal digits: four, then two blocks of eight read eight at a time; `None`
/// for a non-digit or a value beyond `u64`.
fn twenty_digits(b: &[u8]) -> Option<u64> {
    let high = b[..4].iter().try_fold(0u64, |v, b| {
        Some(v * 10 + (*b as char).to_digit(10)? as u64)
    })?;
    let middle = eight_digits(b[4..12].try_into().ok()?)?;
    let low = eight_digits(b[12..20].try_into().ok()?)?;
    high.checked_mul(10_000_000_000_000_000)?
        .checked_add(middle * 100_000_000 + low)
}

/// Eight ASCII digits, the first the most significant, in a few word operations (SWAR, as
/// fast_float and simdjson parse them); `None` if any byte is not a digit.
fn eight_digits(bytes: [u8; 8]) -> Option<u64> {
    const ZEROS: u64 = 0x3030_3030_3030_3030;
    const HIGH_NIBBLES: u64 = 0xF0F0_F0F0_F0F0_F0F0;
    let v = u64::from_le_bytes(bytes);
    // Every byte 0x30..=0x39: its high nibble is 3, and adding 6 keeps it 3 (no byte carries:
    // one that could already failed the first test).
    let digits =
        v & HIGH_NIBBLES == ZEROS && v.wrapping_add(0x0606_0606_0606_0606) & HIGH_NIBBLES == ZEROS;
    if !digits {
        return None;
    }
    let mut d = v - ZEROS;
    // Pairs: each 16-bit lane's low byte = 10 × first digit + second.
    d = (d * 10) + (d >> 8);
    let pairs = 0x0000_00FF_0000_00FF;
    // Four pairs to one number: (p0·100 + p1)·10⁴ + (p2·100 + p3), by two multiplications.
    d = (((d & pairs).wrapping_mul(100 + (1_000_000 << 32)))
        .wrapping_add(((d >> 16) & pairs).wrapping_mul(1 + (10_000 << 32))))
        >> 32;
    Some(d)
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

    /// The fast encoder and decoder against the formatted encoding and a digit-by-digit parse,
    /// over values of every length (seeded, reproducible).
    #[test]
    fn the_fast_paths_agree_with_the_plain_ones_on_every_digit_count() {
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for i in 0..20_000 {
            let shift = i % 64;
            let id = Identity {
                producer_id: next(),
                partition: (next() % 100_000) as i32,
                seq: next() >> shift,
                sent_at_us: next() >> (63 - shift),
            };
            let mut buf = vec![b'.'; HEADER_LEN];
            encode(&id, &mut buf);
            let expected = format!(
                "CHS1 {:016x} {:05} {:020} {:020} ",
                id.producer_id, id.partition, id.seq, id.sent_at_us
            );
            assert_eq!(std::str::from_utf8(&buf).unwrap(), expected);
            assert_eq!(decode(&buf), Some(id));
        }
        // A value that does not fit its width keeps its low digits, as before.
        let mut five = [0u8; 5];
        write_decimal(&mut five, 1_234_567);
        assert_eq!(&five, b"34567");
    }

    #[test]
    fn a_non_digit_anywhere_or_a_value_beyond_u64_is_not_an_identity() {
        let id = Identity {
            producer_id: 1,
            partition: 1,
            seq: 12_345_678_901_234,
            sent_at_us: 99,
        };
        let mut good = vec![b'.'; HEADER_LEN];
        encode(&id, &mut good);
        for at in (5..69).filter(|at| ![21, 27, 48].contains(at)) {
            for bad in [b'/', b':', b'?', b'a' - 1, 0x3A, 0xFA, 0x00, b' '] {
                let mut buf = good.clone();
                if buf[at] == bad || (at < 21 && bad.is_ascii_hexdigit()) {
                    continue;
                }
                buf[at] = bad;
                assert_eq!(decode(&buf), None, "byte {at} = {bad:#x}");
            }
        }
        let mut max = good.clone();
        max[28..48].copy_from_slice(b"18446744073709551615");
        assert_eq!(decode(&max).map(|id| id.seq), Some(u64::MAX));
        max[28..48].copy_from_slice(b"18446744073709551616");
        assert_eq!(decode(&max), None);
        max[28..48].copy_from_slice(b"99999999999999999999");
        assert_eq!(decode(&max), None);
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
