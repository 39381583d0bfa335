//! `chaos`: a chaos-testing harness for real Kafka clusters.
//!
//! Pure core (no Docker or Kafka imports, unit-tested in milliseconds):
//! [`compose`], [`experiment`], [`events`], [`analysis`], [`report`].
//! Effects behind small traits: [`docker`] (bollard), [`kafka`] (kafka-protocol, rdkafka).
//! The orchestration of a run is in [`run`]; the CLI in [`cli`].

pub mod analysis;
#[cfg(feature = "runtime")]
pub mod bench;
pub mod cache;
#[cfg(feature = "runtime")]
pub mod cli;
pub mod clock;
pub mod compose;
#[cfg(feature = "runtime")]
pub mod docker;
pub mod error;
pub mod events;
pub mod exit;
pub mod experiment;
pub mod input;
#[cfg(feature = "runtime")]
pub mod kafka;
pub mod keys;
#[cfg(feature = "runtime")]
pub mod kubernetes;
pub mod model;
pub mod nodes;
#[cfg(feature = "runtime")]
pub mod observe;
pub mod platform;
pub mod report;
#[cfg(feature = "runtime")]
pub mod run;
pub mod security;
#[cfg(feature = "runtime")]
pub mod serve;
