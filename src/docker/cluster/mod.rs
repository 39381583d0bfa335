//! A cluster from a compose file: plan (pure), lifecycle through the Docker API, readiness.

pub mod lifecycle;
pub mod plan;
pub mod ready;

pub use lifecycle::{
    attach, decide_start, down, up, Cluster, RunningService, StartDecision, UpOptions,
};
pub use plan::{Plan, Role, ServicePlan};
