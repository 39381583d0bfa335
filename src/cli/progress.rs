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
/// kube's client logs every failed request at ERROR; each error also comes back to us and is
/// reported with its call (a port-forward to a pod on a dead node fails ~20 times a second
/// while clients reconnect), so its own log shows only at -vv.
pub fn log_filter(v: Verbosity) -> &'static str {
    match v {
        Verbosity::Quiet => "error,librdkafka=off,rdkafka=off,client-driver=off,kube_client=off",
        Verbosity::Normal => "warn,librdkafka=off,rdkafka=off,client-driver=off,kube_client=off",
        Verbosity::Verbose => {
            "warn,chaos=debug,librdkafka=off,rdkafka=off,client-driver=off,kube_client=off"
        }
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

    /// A result on stdout (the spinner held while it is written); shown even with --quiet.
    pub fn stdout(&self, text: &str) {
        let text = if text.ends_with('\n') {
            text.to_string()
        } else {
            format!("{text}\n")
        };
        match &self.bar {
            Some(bar) => bar.suspend(|| super::out(&text)),
            None => super::out(&text),
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

/// Which form a command's results take on stdout (progress and logs are always on stderr).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ResultFormat {
    /// Tables, fitted to the terminal's width.
    #[default]
    Text,
    /// One JSON document at the end (the tables go to stderr for whoever watches).
    Json,
    /// Every event of every run as a JSON line as it is recorded (NDJSON); the tables go to
    /// stderr.
    JsonEvents,
}

/// Where a command's results go and how wide its tables may be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Output {
    pub format: ResultFormat,
    /// The terminal's width; `None`: as wide as the content (piped output, `--wide`).
    pub width: Option<usize>,
}

impl Output {
    /// Tables fit the terminal stdout is, unless `wide` or stdout is not a terminal.
    pub fn new(format: ResultFormat, wide: bool) -> Self {
        let width = (!wide && std::io::stdout().is_terminal())
            .then(|| console::Term::stdout().size_checked())
            .flatten()
            .map(|(_, columns)| columns as usize);
        Self { format, width }
    }
}

/// `chaos run`'s terminal: the runner's events as spinner messages and lines (stderr),
/// results as tables or JSON (stdout), and GitHub annotations for unmet expectations when run
/// on GitHub Actions.
pub struct TerminalReporter {
    progress: Progress,
    github: bool,
    output: Output,
    /// What `--json` prints at the end.
    document: std::sync::Mutex<RunsDocument>,
}

/// `chaos run --json` / `observe --json`: every run's result and where its reports are, the
/// comparisons' differences beyond noise, the errors, and the exit code.
#[derive(Debug, Default, serde::Serialize)]
struct RunsDocument {
    runs: Vec<JsonRun>,
    beyond_noise: Vec<String>,
    errors: Vec<String>,
}

#[derive(Debug, serde::Serialize)]
struct JsonRun {
    dir: std::path::PathBuf,
    /// Its report files could not all be written.
    partial_report: bool,
    result: serde_json::Value,
}

impl TerminalReporter {
    pub fn new(verbosity: Verbosity, output: Output) -> Self {
        Self {
            progress: Progress::new(verbosity),
            github: super::github::on_github_actions(),
            output,
            document: Default::default(),
        }
    }

    /// A result: on stdout as text, or beside the progress (stderr) when stdout carries JSON.
    fn result(&self, text: &str) {
        match self.output.format {
            ResultFormat::Text => self.progress.stdout(text),
            ResultFormat::Json | ResultFormat::JsonEvents => self.progress.result(text),
        }
    }

    fn keep(&self, dir: &std::path::Path, result: &crate::model::RunResult, partial: bool) {
        if self.output.format == ResultFormat::Json {
            let result = serde_json::to_value(result).unwrap_or_default();
            self.document
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .runs
                .push(JsonRun {
                    dir: dir.to_path_buf(),
                    partial_report: partial,
                    result,
                });
        }
    }

    /// `--json`: the document of everything reported, with the command's exit code and its
    /// error (if it ended with one); printed on stdout by the caller. `None` in other formats.
    pub fn json_document(
        &self,
        code: crate::exit::ExitCode,
        error: Option<&crate::error::Error>,
    ) -> Option<String> {
        if self.output.format != ResultFormat::Json {
            return None;
        }
        let doc = self.document.lock().unwrap_or_else(|e| e.into_inner());
        let mut errors = doc.errors.clone();
        errors.extend(error.map(|e| e.to_string()));
        let value = serde_json::json!({
            "exit_code": code.code(),
            "status": code.name(),
            "runs": doc.runs,
            "beyond_noise": doc.beyond_noise,
            "errors": errors,
        });
        Some(serde_json::to_string_pretty(&value).unwrap_or_default() + "\n")
    }
}

/// `--json-events`: every recorded event as one JSON line on stdout.
struct StdoutEvents;

impl crate::events::EventTap for StdoutEvents {
    fn begin_run(&self, _run: &str) {}
    fn push(&self, event: &crate::events::Event) {
        if let Ok(line) = serde_json::to_string(event) {
            super::out(&(line + "\n"));
        }
    }
}

impl crate::run::Reporter for TerminalReporter {
    fn report(&self, event: crate::run::RunnerEvent<'_>) {
        use crate::run::RunnerEvent as E;
        let colored = match self.output.format {
            ResultFormat::Text => super::style::stdout_colored(),
            _ => super::style::stderr_colored(),
        };
        let table = |r| {
            super::style::verdicts(
                &crate::report::render_table_within(r, self.output.width),
                colored,
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
                self.result(&table(result));
                self.keep(dir, result, false);
                self.progress.line(&format!("reports: {}", dir.display()));
                if self.github {
                    let text = std::fs::read_to_string(experiment_file).unwrap_or_default();
                    for a in super::github::expectation_annotations(experiment_file, &text, result)
                    {
                        // Workflow commands on stdout, unless stdout carries JSON.
                        match self.output.format {
                            ResultFormat::Text => super::out(&(a + "\n")),
                            _ => eprintln!("{a}"),
                        }
                    }
                }
            }
            E::PartialResult { result, dir } => {
                self.result(&table(result));
                self.keep(dir, result, true);
                self.progress
                    .line(&format!("partial report in {}", dir.display()));
            }
            E::VariantFailed { error } => {
                self.progress.error(&format!("error: {error}"));
                if self.output.format == ResultFormat::Json {
                    let mut doc = self.document.lock().unwrap_or_else(|e| e.into_inner());
                    doc.errors.push(error.to_string());
                }
            }
            E::Comparison {
                table,
                beyond_noise,
            } => {
                self.result(table);
                for d in beyond_noise {
                    self.result(&format!("beyond noise: {d}"));
                }
                if self.output.format == ResultFormat::Json {
                    let mut doc = self.document.lock().unwrap_or_else(|e| e.into_inner());
                    doc.beyond_noise.extend(beyond_noise.iter().cloned());
                }
            }
            E::Warning(m) => self.progress.error(m),
            E::DryRun { text, plan } => match self.output.format {
                ResultFormat::Text => self.progress.stdout(text),
                _ => super::out(&(serde_json::to_string_pretty(plan).unwrap_or_default() + "\n")),
            },
            E::Finished => self.progress.finish(),
        }
    }

    fn event_tap(&self) -> Option<std::sync::Arc<dyn crate::events::EventTap>> {
        (self.output.format == ResultFormat::JsonEvents).then(|| {
            std::sync::Arc::new(StdoutEvents) as std::sync::Arc<dyn crate::events::EventTap>
        })
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
