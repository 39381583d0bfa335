//! A cluster from a compose file: plan (pure), lifecycle through the Docker API, readiness.

pub mod lifecycle;
pub mod plan;
pub mod ready;

pub use crate::docker::inventory::{attach, Cluster, RunningService};
pub use lifecycle::{decide_start, down, up, StartDecision, UpOptions};
pub use plan::{Plan, Role, ServicePlan};
