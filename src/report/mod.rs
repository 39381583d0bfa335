//! Report exporters: one per format, each returning bytes.
pub mod result;
pub use result::*;
