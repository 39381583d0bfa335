//! What every phase of a run reads: where it runs, the experiment, the event sink.

use crate::clock::EventSink;
use crate::experiment::Experiment;
use crate::platform::Cluster;

pub struct RunContext<'a> {
    /// The engine that runs the cluster; None for a cluster chaos did not start (`observe`):
    /// no faults, no container events, no broker logs.
    pub docker: Option<&'a crate::docker::engines::Engines>,
    pub cluster: &'a Cluster,
    pub experiment: &'a Experiment,
    pub sink: EventSink,
    pub seed: u64,
    pub producer_id: u64,
    pub progress: &'a (dyn Fn(&str) + Sync),
}
