//! What every phase of a run reads: the cluster, the experiment, the event sink. (Where it
//! runs is the platform the session is given.)

use crate::clock::EventSink;
use crate::experiment::Experiment;
use crate::platform::Cluster;

pub struct RunContext<'a> {
    pub cluster: &'a Cluster,
    pub experiment: &'a Experiment,
    pub sink: EventSink,
    pub seed: u64,
    pub producer_id: u64,
    pub progress: &'a (dyn Fn(&str) + Sync),
    /// The tracked producer's client library, resolved (a Java client's version known).
    pub client: crate::kafka::producer::ClientLibrary,
    /// How every client of the run connects (the experiment's `client-security`, else the
    /// environment's).
    pub profile: crate::kafka::connect::Profile,
}
