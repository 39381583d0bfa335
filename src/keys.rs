//! Message keys of the tracked workload and the partition each key goes to, computed here
//! with Kafka's murmur2 partitioner (the Java client's default for keyed records, and
//! librdkafka's `murmur2_random`). The partition is known before the send, so the message's
//! identity can carry it and verification works per partition as without keys.

use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize};
use std::fmt;

/// `keys:` of a workload: `none`, `{round-robin: N}` or `{random: N}` — read with
/// serde_yaml_ng's `singleton_map` (one-key map form of an enum).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum KeyStrategy {
    /// No key; partitions in turn (an even spread).
    #[default]
    None,
    /// `key-0` … `key-(n-1)` in turn.
    RoundRobin(#[serde(deserialize_with = "key_count")] u32),
    /// One of `key-0` … `key-(n-1)` at random, seeded with the run's seed.
    Random(#[serde(deserialize_with = "key_count")] u32),
}

/// The most distinct keys a workload may use (their partitions are computed up front).
pub const MAX_KEYS: u32 = 10_000_000;

impl fmt::Display for KeyStrategy {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            KeyStrategy::None => f.write_str("none"),
            KeyStrategy::RoundRobin(n) => write!(f, "round-robin over {n} keys"),
            KeyStrategy::Random(n) => write!(f, "random of {n} keys"),
        }
    }
}

/// `{round-robin: N}` / `{random: N}`: N distinct keys, 1 … MAX_KEYS.
fn key_count<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    let n = u32::deserialize(d)?;
    if !(1..=MAX_KEYS).contains(&n) {
        return Err(de::Error::custom(format!(
            "{n} keys: expected 1 … {MAX_KEYS} distinct keys"
        )));
    }
    Ok(n)
}

/// Kafka's murmur2 (org.apache.kafka.common.utils.Utils.murmur2).
pub fn murmur2(data: &[u8]) -> i32 {
    const SEED: u32 = 0x9747_b28c;
    const M: u32 = 0x5bd1_e995;
    const R: u32 = 24;
    let mut h: u32 = SEED ^ data.len() as u32;
    let mut chunks = data.chunks_exact(4);
    for c in &mut chunks {
        let mut k = u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h = h.wrapping_mul(M);
        h ^= k;
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        if rest.len() >= 3 {
            h ^= (rest[2] as u32) << 16;
        }
        if rest.len() >= 2 {
            h ^= (rest[1] as u32) << 8;
        }
        h ^= rest[0] as u32;
        h = h.wrapping_mul(M);
    }
    h ^= h >> 13;
    h = h.wrapping_mul(M);
    h ^= h >> 15;
    h as i32
}

/// The partition Kafka's default partitioner picks for `key`.
pub fn partition_of(key: &[u8], partitions: i32) -> i32 {
    ((murmur2(key) as u32 & 0x7fff_ffff) % partitions.max(1) as u32) as i32
}

/// The key and partition of message number `n`, for every `n` (no state: a send that is
/// retried asks again for the same `n`).
pub struct KeyPlan {
    strategy: KeyStrategy,
    partitions: i32,
    /// Key bytes and partition of every distinct key.
    keys: Vec<(Vec<u8>, i32)>,
    seed: u64,
}

impl KeyPlan {
    pub fn new(strategy: KeyStrategy, partitions: i32, seed: u64) -> Self {
        let distinct = match strategy {
            KeyStrategy::None => 0,
            KeyStrategy::RoundRobin(n) | KeyStrategy::Random(n) => n.min(MAX_KEYS),
        };
        let keys = (0..distinct)
            .map(|i| {
                let key = format!("key-{i}").into_bytes();
                let p = partition_of(&key, partitions);
                (key, p)
            })
            .collect();
        Self {
            strategy,
            partitions: partitions.max(1),
            keys,
            seed,
        }
    }

    /// Message `n`'s key (none without keys) and partition.
    pub fn at(&self, n: u64) -> (Option<&[u8]>, i32) {
        let index = match self.strategy {
            KeyStrategy::None => return (None, (n % self.partitions as u64) as i32),
            KeyStrategy::RoundRobin(_) => n % self.keys.len() as u64,
            KeyStrategy::Random(_) => splitmix64(self.seed ^ n) % self.keys.len() as u64,
        };
        let (key, partition) = &self.keys[index as usize];
        (Some(key), *partition)
    }
}

/// A well-mixed 64-bit hash (SplitMix64's finaliser): a seeded, uniform key choice per message.
fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn murmur2_matches_kafkas_own_test_vectors() {
        // From Kafka's UtilsTest.testMurmur2.
        let cases: [(&[u8], i32); 6] = [
            (b"21", -973932308),
            (b"foobar", -790332482),
            (b"a-little-bit-long-string", -985981536),
            (b"a-little-bit-longer-string", -1486304829),
            (
                b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8",
                -58897971,
            ),
            (b"abc", 479470107),
        ];
        for (data, expected) in cases {
            assert_eq!(murmur2(data), expected, "{}", String::from_utf8_lossy(data));
        }
    }

    #[test]
    fn without_keys_partitions_are_taken_in_turn() {
        let plan = KeyPlan::new(KeyStrategy::None, 3, 1);
        let got: Vec<_> = (0..5).map(|n| plan.at(n)).collect();
        assert_eq!(
            got,
            vec![(None, 0), (None, 1), (None, 2), (None, 0), (None, 1)]
        );
    }

    #[test]
    fn keyed_messages_go_where_kafkas_partitioner_sends_them() {
        let plan = KeyPlan::new(KeyStrategy::RoundRobin(4), 6, 1);
        for i in 0..8 {
            let (key, p) = plan.at(i);
            let key = key.unwrap().to_vec();
            assert_eq!(key, format!("key-{}", i % 4).into_bytes());
            assert_eq!(p, partition_of(&key, 6));
        }
    }

    #[test]
    fn random_keys_are_reproducible_with_the_seed() {
        let take = |seed| {
            let plan = KeyPlan::new(KeyStrategy::Random(100), 3, seed);
            (0..20)
                .map(|n| plan.at(n).0.unwrap().to_vec())
                .collect::<Vec<_>>()
        };
        assert_eq!(take(7), take(7));
        assert_ne!(take(7), take(8));
    }

    #[test]
    fn random_keys_cover_the_key_space_evenly() {
        let plan = KeyPlan::new(KeyStrategy::Random(10), 3, 42);
        let mut counts = [0u32; 10];
        for n in 0..100_000 {
            let key = plan.at(n).0.unwrap();
            let i: usize = std::str::from_utf8(&key[4..]).unwrap().parse().unwrap();
            counts[i] += 1;
        }
        assert!(
            counts.iter().all(|c| (9_000..11_000).contains(c)),
            "{counts:?}"
        );
    }

    #[test]
    fn keys_parse_from_yaml_with_clear_errors() {
        let parse = |s: &str| -> Result<KeyStrategy, serde_yaml_ng::Error> {
            serde_yaml_ng::with::singleton_map::deserialize(serde_yaml_ng::Deserializer::from_str(
                s,
            ))
        };
        assert_eq!(parse("none").unwrap(), KeyStrategy::None);
        assert_eq!(parse("{random: 1000}").unwrap(), KeyStrategy::Random(1000));
        assert_eq!(
            parse("{round-robin: 3}").unwrap(),
            KeyStrategy::RoundRobin(3)
        );
        assert!(parse("{random: 0}")
            .unwrap_err()
            .to_string()
            .contains("1 … 10000000"));
        assert!(parse("{sticky: 3}")
            .unwrap_err()
            .to_string()
            .contains("round-robin"));
        assert!(parse("hashed").is_err());
    }
}
