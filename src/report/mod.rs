//! Report exporters: one per format, each returning bytes or text from a `RunResult` (and the
//! events, for pictures).

#[cfg(test)]
mod analysed;
pub mod charts;
mod compare;
mod files;
mod format;
pub mod html;
mod junit;
mod markdown;
mod noise;
pub mod repeats;
mod table;
pub mod trend;

/// The result model lives in `crate::model`; re-exported for the renderers' callers.
pub use crate::model::*;
pub use compare::{render_comparison, render_comparison_within};
pub use files::write_atomically;
pub use format::{
    duration_ms as format_duration_ms, opt_ms as format_duration_opt, unverified_suffix,
};
pub use html::{render_html, render_matrix_html};
pub use junit::{render_junit, run_label};
pub use markdown::render_markdown;
pub use noise::{differences_beyond_noise, differences_beyond_noise_across};
pub use table::{render_table, render_table_within};

/// Settings as the reports print them: `key=value`, separated by `sep` (the one format of
/// the table, the markdown and the dry-run plan).
pub fn key_values<'a>(
    pairs: impl IntoIterator<Item = (&'a String, &'a String)>,
    sep: &str,
) -> String {
    pairs
        .into_iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(sep)
}

pub fn render_json(r: &RunResult) -> Vec<u8> {
    let mut bytes = serde_json::to_vec_pretty(r).unwrap_or_default();
    bytes.push(b'\n');
    bytes
}
