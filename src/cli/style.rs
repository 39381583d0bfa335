//! Colour for verdicts: on a terminal PASS is green, FAIL red, INCONCLUSIVE / NO DATA yellow;
//! plain when the stream is not a terminal, when `NO_COLOR` is set, or `TERM=dumb`
//! (`CLICOLOR_FORCE` forces it). The decision is anstream's; the styles are anstyle's.

use anstream::ColorChoice;
use anstyle::{AnsiColor, Style};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Pass,
    Fail,
    Inconclusive,
}

impl Verdict {
    fn style(self) -> Style {
        let color = match self {
            Verdict::Pass => AnsiColor::Green,
            Verdict::Fail => AnsiColor::Red,
            Verdict::Inconclusive => AnsiColor::Yellow,
        };
        Style::new().fg_color(Some(color.into())).bold()
    }
}

fn colored(choice: ColorChoice) -> bool {
    !matches!(choice, ColorChoice::Never)
}

/// Whether text written to stderr (progress, the run's tables) gets colour.
pub fn stderr_colored() -> bool {
    colored(anstream::AutoStream::choice(&std::io::stderr()))
}

/// Whether text written to stdout gets colour.
pub fn stdout_colored() -> bool {
    colored(anstream::AutoStream::choice(&std::io::stdout()))
}

/// `word` in the verdict's colour when `color`, else as it is.
pub fn paint(word: &str, verdict: Verdict, color: bool) -> String {
    if color {
        let style = verdict.style();
        format!("{style}{word}{style:#}")
    } else {
        word.to_string()
    }
}

/// Colours the verdicts of a rendered run table: the status on its first line
/// (`name: PASSED  —  …`) and the PASS / FAIL / NO DATA cells of the expectation table.
/// Unchanged without colour.
pub fn verdicts(table: &str, color: bool) -> String {
    if !color {
        return table.to_string();
    }
    let statuses = [
        ("PASSED", Verdict::Pass),
        ("FAILED", Verdict::Fail),
        ("INCONCLUSIVE", Verdict::Inconclusive),
        ("ABORTED", Verdict::Fail),
    ];
    let cells = [
        ("PASS", Verdict::Pass),
        ("FAIL", Verdict::Fail),
        ("NO DATA", Verdict::Inconclusive),
    ];
    let mut out = String::with_capacity(table.len() + 64);
    for line in table.split_inclusive('\n') {
        let mut line = line.to_string();
        if line.contains("  —  ") {
            for (word, v) in statuses {
                let pattern = format!(": {word}");
                if let Some(i) = line.find(&pattern) {
                    line.replace_range(i + 2..i + pattern.len(), &paint(word, v, true));
                    break;
                }
            }
        } else if line.starts_with('│') {
            for (word, v) in cells {
                let pattern = format!("│ {word} ");
                if let Some(i) = line.rfind(&pattern) {
                    let at = i + "│ ".len();
                    line.replace_range(at..at + word.len(), &paint(word, v, true));
                    break;
                }
            }
        }
        out.push_str(&line);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const TABLE: &str = "leader-kill: FAILED  —  zookeeper mode, Kafka 3.9.1; times ± 100 ms\n\
╭──────────┬────────┬─────────╮\n\
│ expectation │ actual │         │\n\
│ a < 1    │ 2      │ FAIL    │\n\
│ b == 0   │ 0      │ PASS    │\n\
│ c < 1    │ —      │ NO DATA │\n\
╰──────────┴────────┴─────────╯\n";

    #[test]
    fn verdicts_are_coloured_only_when_asked() {
        assert_eq!(verdicts(TABLE, false), TABLE);
        let c = verdicts(TABLE, true);
        assert!(
            c.contains("leader-kill: \u{1b}[1m\u{1b}[31mFAILED\u{1b}[0m  —"),
            "{c:?}"
        );
        assert!(
            c.contains("│ \u{1b}[1m\u{1b}[32mPASS\u{1b}[0m    │"),
            "{c:?}"
        );
        assert!(
            c.contains("│ \u{1b}[1m\u{1b}[31mFAIL\u{1b}[0m    │"),
            "{c:?}"
        );
        assert!(c.contains("\u{1b}[33mNO DATA\u{1b}[0m │"), "{c:?}");
        // Stripping the escapes gives the plain table back.
        let plain = anstream::adapter::strip_str(&c).to_string();
        assert_eq!(plain, TABLE);
    }
}
