//! Progress display: a spinner on a terminal, plain timestamped lines otherwise (CI logs).
//! `--quiet` keeps only results (the final tables and status lines) and errors; `-v` adds
//! debug logging (see [`log_filter`]).

use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::time::{Duration, Instant};

/// How much the CLI says, from `--quiet` / `-v`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Verbosity {
    /// Only results and errors.
    Quiet = 0,
    Normal = 1,
    /// Progress plus debug logging.
    Verbose = 2,
    /// Also the Kafka client's own logging.
    VeryVerbose = 3,
}

impl Verbosity {
    pub fn from_flags(quiet: bool, verbose: u8) -> Self {
        match (quiet, verbose) {
            (true, _) => Verbosity::Quiet,
            (false, 0) => Verbosity::Normal,
            (false, 1) => Verbosity::Verbose,
            (false, _) => Verbosity::VeryVerbose,
        }
    }
}

/// The tracing filter for a verbosity (`CHAOS_LOG` overrides it). librdkafka reports every
/// refused connection during a fault as an error: expected here, and the run records what
/// matters, so it is silent unless asked for with -vv.
pub fn log_filter(v: Verbosity) -> &'static str {
    match v {
        Verbosity::Quiet => "error,librdkafka=off,rdkafka=off,client-driver=off",
        Verbosity::Normal => "warn,librdkafka=off,rdkafka=off,client-driver=off",
        Verbosity::Verbose => "warn,chaos=debug,librdkafka=off,rdkafka=off,client-driver=off",
        Verbosity::VeryVerbose => "debug,librdkafka=info,rdkafka=info,client-driver=info",
    }
}

pub struct Progress {
    bar: Option<ProgressBar>,
    started: Instant,
    quiet: bool,
}

impl Progress {
    pub fn new(verbosity: Verbosity) -> Self {
        let quiet = verbosity == Verbosity::Quiet;
        let bar = (!quiet && std::io::stderr().is_terminal()).then(|| {
            let bar = ProgressBar::new_spinner();
            bar.set_style(
                ProgressStyle::with_template("{spinner} [{elapsed:>4}] {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        });
        Self {
            bar,
            started: Instant::now(),
            quiet,
        }
    }

    pub fn say(&self, message: &str) {
        if self.quiet {
            return;
        }
        match &self.bar {
            Some(bar) => bar.set_message(message.to_string()),
            None => eprintln!("[{:>6.1}s] {message}", self.started.elapsed().as_secs_f64()),
        }
    }

    /// A line that stays (above the spinner on a terminal); not shown with --quiet.
    pub fn line(&self, message: &str) {
        if self.quiet {
            return;
        }
        self.always(message);
    }

    /// A result (a run's table, a comparison): shown even with --quiet, without a timestamp.
    pub fn result(&self, message: &str) {
        match &self.bar {
            Some(bar) => bar.println(message),
            None => eprintln!("{message}"),
        }
    }

    /// An error: always shown.
    pub fn error(&self, message: &str) {
        self.always(message);
    }

    fn always(&self, message: &str) {
        match &self.bar {
            Some(bar) => bar.println(message),
            None => eprintln!("[{:>6.1}s] {message}", self.started.elapsed().as_secs_f64()),
        }
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

/// `chaos run`'s terminal: the runner's events as spinner messages, lines and tables, and
/// GitHub annotations for unmet expectations when run on GitHub Actions.
pub struct TerminalReporter {
    progress: Progress,
    github: bool,
}

impl TerminalReporter {
    pub fn new(verbosity: Verbosity) -> Self {
        Self {
            progress: Progress::new(verbosity),
            github: super::github::on_github_actions(),
        }
    }
}

impl crate::run::Reporter for TerminalReporter {
    fn report(&self, event: crate::run::RunnerEvent<'_>) {
        use crate::run::RunnerEvent as E;
        let table = |r| {
            super::style::verdicts(
                &crate::report::render_table(r),
                super::style::stderr_colored(),
            )
        };
        match event {
            E::Status(m) => self.progress.say(m),
            E::Line(m) => self.progress.line(m),
            E::VariantFinished {
                result,
                dir,
                experiment_file,
            } => {
                self.progress.result(&table(result));
                self.progress.line(&format!("reports: {}", dir.display()));
                if self.github {
                    let text = std::fs::read_to_string(experiment_file).unwrap_or_default();
                    for a in super::github::expectation_annotations(experiment_file, &text, result)
                    {
                        println!("{a}");
                    }
                }
            }
            E::PartialResult { result, dir } => {
                self.progress.result(&table(result));
                self.progress
                    .line(&format!("partial report in {}", dir.display()));
            }
            E::VariantFailed { error } => self.progress.error(&format!("error: {error}")),
            E::Comparison {
                table,
                beyond_noise,
            } => {
                self.progress.result(table);
                for d in beyond_noise {
                    self.progress.result(&format!("beyond noise: {d}"));
                }
            }
            E::Warning(m) => self.progress.error(m),
            E::Output(text) => super::out(text),
            E::Finished => self.progress.finish(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_map_to_verbosity_and_log_filters() {
        assert_eq!(Verbosity::from_flags(true, 2), Verbosity::Quiet);
        assert_eq!(Verbosity::from_flags(false, 0), Verbosity::Normal);
        assert_eq!(Verbosity::from_flags(false, 1), Verbosity::Verbose);
        assert_eq!(Verbosity::from_flags(false, 5), Verbosity::VeryVerbose);
        assert!(log_filter(Verbosity::Verbose).contains("chaos=debug"));
        assert!(log_filter(Verbosity::Quiet).starts_with("error"));
        for v in [
            Verbosity::Quiet,
            Verbosity::Normal,
            Verbosity::Verbose,
            Verbosity::VeryVerbose,
        ] {
            tracing_subscriber::EnvFilter::try_new(log_filter(v)).expect("a valid filter");
        }
    }
}
