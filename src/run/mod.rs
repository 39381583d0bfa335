//! Orchestration of a run.
use crate::error::Error;
use std::path::{Path, PathBuf};

#[derive(Debug, clap::Args)]
pub struct RunArgs {
    pub files: Vec<PathBuf>,
}

pub async fn run_cli(_args: RunArgs) -> Result<i32, Error> {
    Ok(0)
}

pub fn rerender(_dir: &Path) -> Result<i32, Error> {
    Ok(0)
}
