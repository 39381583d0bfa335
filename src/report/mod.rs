//! Report exporters (TEMPORARY stand-in until merge).
pub mod result;
pub mod timeline;
pub use result::*;
pub fn render_table(r: &RunResult) -> String { format!("{:#?}", r) }
pub fn render_json(r: &RunResult) -> Vec<u8> { serde_json::to_vec_pretty(r).unwrap_or_default() }
pub fn render_markdown(r: &RunResult) -> String { format!("{:?}", r.status) }
pub fn render_junit(_r: &[RunResult]) -> Result<Vec<u8>, String> { Ok(vec![]) }
pub fn render_comparison(_r: &[RunResult]) -> String { String::new() }
pub fn write_atomically(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> { std::fs::write(path, bytes) }
