//! Errors in input files, positioned: `file:line:column: field.path: message` and a hint.

use std::fmt;
use std::path::PathBuf;

#[derive(Debug, Clone, PartialEq)]
pub struct InputError {
    pub file: PathBuf,
    pub line: Option<usize>,
    pub column: Option<usize>,
    /// Field path, e.g. `steps[3].wait-for`; empty for the whole file.
    pub path: String,
    pub message: String,
    pub hint: Option<String>,
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
            if let Some(col) = self.column {
                write!(f, ":{col}")?;
            }
        }
        if !self.path.is_empty() && self.path != "." {
            write!(f, ": {}", self.path)?;
        }
        write!(f, ": {}", self.message)?;
        if let Some(hint) = &self.hint {
            write!(f, "\n  hint: {hint}")?;
        }
        Ok(())
    }
}

/// Largest input file accepted.
pub const MAX_FILE_BYTES: usize = 1 << 20;

/// Reads a file as UTF-8 text no larger than `MAX_FILE_BYTES`.
#[allow(clippy::result_large_err)] // once per input file; the callers box it into their own errors
pub fn read_text(path: &std::path::Path, what: &str) -> Result<String, InputError> {
    let err = |line: Option<usize>, message: String, hint: Option<&str>| InputError {
        file: path.to_path_buf(),
        line,
        column: None,
        path: String::new(),
        message,
        hint: hint.map(str::to_string),
    };
    let bytes =
        std::fs::read(path).map_err(|e| err(None, format!("cannot read {what}: {e}"), None))?;
    if bytes.len() > MAX_FILE_BYTES {
        return Err(err(
            None,
            format!(
                "{what} is {} bytes; the limit is {MAX_FILE_BYTES}",
                bytes.len()
            ),
            Some("split it, or check that this is the file you meant"),
        ));
    }
    String::from_utf8(bytes).map_err(|e| {
        let valid = &e.as_bytes()[..e.utf8_error().valid_up_to()];
        let line = valid.iter().filter(|b| **b == b'\n').count() + 1;
        err(
            Some(line),
            format!(
                "{what} is not UTF-8 (invalid byte at offset {})",
                e.utf8_error().valid_up_to()
            ),
            Some("save the file as UTF-8"),
        )
    })
}

/// Turns a serde_yaml_ng error (through serde_path_to_error) into a positioned error.
pub fn from_serde(
    file: &std::path::Path,
    e: serde_path_to_error::Error<serde_yaml_ng::Error>,
) -> InputError {
    let path = e.path().to_string();
    let inner = e.into_inner();
    let location = inner.location();
    let mut message = inner.to_string();
    // The location is printed separately; drop serde_yaml's own " at line X column Y".
    if let Some(i) = message.find(" at line ") {
        message.truncate(i);
    }
    // serde_yaml_ng starts the message of a nested error with the same path: printed once.
    if let Some(rest) = message.strip_prefix(&format!("{path}: ")) {
        message = rest.to_string();
    }
    let hint = hint_for(&message);
    InputError {
        file: file.to_path_buf(),
        line: location.as_ref().map(|l| l.line()),
        column: location.as_ref().map(|l| l.column()),
        path,
        message,
        hint,
    }
}

/// The value a serde "invalid value"/"invalid type" message quotes: `string "60"` → `60`,
/// ``integer `60` `` → `60`.
fn quoted_value(message: &str) -> Option<&str> {
    if let Some(rest) = message.split("string \"").nth(1) {
        return rest.split('"').next();
    }
    for kind in ["integer `", "floating point `"] {
        if let Some(rest) = message.split(kind).nth(1) {
            return rest.split('`').next();
        }
    }
    None
}

/// The hint for a serde message (also for errors found without the text's positions).
pub fn hint_for(message: &str) -> Option<String> {
    if message.contains("expected a duration") {
        // `timeout: 60`: a bare number; say which unit was probably meant.
        return Some(match quoted_value(message) {
            Some(v) if v.trim().parse::<u64>().is_ok() => {
                format!("durations need a unit: {}s", v.trim())
            }
            // humantime takes whole numbers only: 1.5 → 1500ms.
            Some(v)
                if v.trim()
                    .parse::<f64>()
                    .is_ok_and(|f| f.is_finite() && f >= 0.0) =>
            {
                let ms = v.trim().parse::<f64>().unwrap_or_default() * 1000.0;
                format!("durations need a unit: {}ms", ms.round())
            }
            _ => "durations look like 500ms, 30s, 2m, 1h".into(),
        });
    }
    if message.contains("unknown field") {
        Some("check the spelling; keys are kebab-case (e.g. replication-factor, wait-for)".into())
    } else if message.contains("time unit")
        || message.contains("expected number") && message.contains("duration")
        || message.contains("invalid duration")
    {
        Some("durations look like 500ms, 30s, 2m, 1h".into())
    } else if message.contains("unknown variant") {
        Some("use one of the values listed".into())
    } else if message.contains("missing field") {
        Some("add the field; see experiments/ for complete examples".into())
    } else if [
        "expected i32",
        "expected u32",
        "expected u64",
        "expected usize",
        "expected i64",
    ]
    .iter()
    .any(|t| message.contains(t))
    {
        Some(match quoted_value(message) {
            Some(v) if v.trim().parse::<f64>().is_ok() => {
                format!(
                    "a whole number, without quotes or decimals: e.g. {}",
                    v.trim().split('.').next().unwrap_or("3")
                )
            }
            _ => "a whole number, e.g. 3".into(),
        })
    } else if message.contains("expected f64") {
        Some("a number, e.g. 2.5".into())
    } else if message.contains("expected a boolean") {
        Some("true or false (without quotes)".into())
    } else if message.contains("expected a sequence") {
        Some("a list: [a, b], or one `- item` per line".into())
    } else if message.contains("expected struct") || message.contains("expected a map") {
        Some("a map: {key: value}, or one `key: value` per line, indented".into())
    } else if message.contains("recursion limit") || message.contains("repetition limit") {
        Some("the file nests or repeats aliases too deeply to be an experiment".into())
    } else {
        None
    }
}

/// 1-based line of the `index`-th item of the top-level list `key` (e.g. steps[3]).
pub fn line_of_item(text: &str, key: &str, index: usize) -> Option<usize> {
    let lines: Vec<&str> = text.lines().collect();
    let start = lines
        .iter()
        .position(|l| l.trim_end() == format!("{key}:") || l.starts_with(&format!("{key}: ")))?;
    // Flow style, `key: [a, b]` (over one line or several; the `[` may be on the next line).
    let offset: usize = lines[..start].iter().map(|l| l.len() + 1).sum();
    let after_key = offset + key.len() + 1;
    if let Some(rest) = text.get(after_key..) {
        let skipped = rest.len() - rest.trim_start().len();
        if rest.trim_start().starts_with('[') {
            return flow_item_line(text, after_key + skipped, index);
        }
    }
    let mut item_indent: Option<usize> = None;
    let mut seen = 0;
    for (i, line) in lines.iter().enumerate().skip(start + 1) {
        let trimmed = line.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let indent = line.len() - trimmed.len();
        if indent == 0 && !trimmed.starts_with('-') {
            break;
        }
        if trimmed.starts_with("- ") || trimmed == "-" {
            if item_indent.is_none() {
                item_indent = Some(indent);
            }
            if Some(indent) == item_indent {
                if seen == index {
                    return Some(i + 1);
                }
                seen += 1;
            }
        }
    }
    None
}

/// 1-based line of the `index`-th item of the flow sequence whose `[` is at byte `open`.
fn flow_item_line(text: &str, open: usize, index: usize) -> Option<usize> {
    let line_at = |byte: usize| text[..byte].matches('\n').count() + 1;
    let mut depth = 0usize;
    let mut quote: Option<char> = None;
    let mut seen = 0;
    // Waiting for the first character of the next item.
    let mut item_starts = true;
    let mut comment = false;
    for (i, c) in text[open..].char_indices() {
        let at = open + i;
        if comment {
            comment = c != '\n';
            continue;
        }
        if let Some(q) = quote {
            if c == q {
                quote = None;
            }
            continue;
        }
        match c {
            '[' | '{' if depth == 0 && i == 0 => {
                depth = 1;
                continue;
            }
            '#' if item_starts || text[..at].ends_with([' ', '\t']) => {
                comment = true;
                continue;
            }
            c if c.is_whitespace() => continue,
            _ => {}
        }
        if item_starts && depth == 1 && c != ']' && c != ',' {
            if seen == index {
                return Some(line_at(at));
            }
            seen += 1;
            item_starts = false;
        }
        match c {
            '"' | '\'' => quote = Some(c),
            '[' | '{' => depth += 1,
            ']' | '}' => {
                depth -= 1;
                if depth == 0 {
                    return None;
                }
            }
            ',' if depth == 1 => item_starts = true,
            _ => {}
        }
    }
    None
}

/// 1-based line of a top-level key.
pub fn line_of_key(text: &str, key: &str) -> Option<usize> {
    text.lines()
        .position(|l| l.starts_with(&format!("{key}:")))
        .map(|i| i + 1)
}

/// The line (1-based) of `key` inside the top-level `section` (block or flow style); the
/// section's own line when the key is not on a line of its own.
pub fn line_of_nested_key(text: &str, section: &str, key: &str) -> Option<usize> {
    let start = line_of_key(text, section)?;
    let own_line = format!("{key}:");
    text.lines()
        .enumerate()
        .skip(start)
        .take_while(|(_, l)| l.is_empty() || l.starts_with(' ') || l.starts_with('#'))
        .find(|(_, l)| l.trim_start().starts_with(&own_line))
        .map(|(i, _)| i + 1)
        .or(Some(start))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_keys_inside_a_section() {
        let text = "name: x\ncluster:\n  compose: c.yml\n  attach:\n    project: p\nsteps: []\nattach: 1\n";
        assert_eq!(line_of_nested_key(text, "cluster", "attach"), Some(4));
        assert_eq!(line_of_nested_key(text, "cluster", "project"), Some(5));
        assert_eq!(line_of_nested_key(text, "cluster", "reuse"), Some(2));
        assert_eq!(line_of_nested_key(text, "matrix", "reuse"), None);
    }

    #[test]
    fn finds_list_items_and_keys() {
        let text = "name: x\nsteps:\n  # warm-up\n  - wait: 1s\n  - name: a\n    fault: {kind: kill}\n  - heal: a\nexpect:\n  - a < 1\n";
        assert_eq!(line_of_item(text, "steps", 0), Some(4));
        assert_eq!(line_of_item(text, "steps", 2), Some(7));
        assert_eq!(line_of_item(text, "steps", 3), None);
        assert_eq!(line_of_item(text, "expect", 0), Some(9));
        assert_eq!(line_of_key(text, "expect"), Some(8));
    }

    #[test]
    fn finds_flow_style_items_over_one_line_or_several() {
        let text = "name: x\nexpect: [a == 1, b < 2s]\nsteps: [{wait: 5s}, {heal: all}]\n";
        assert_eq!(line_of_item(text, "expect", 0), Some(2));
        assert_eq!(line_of_item(text, "expect", 1), Some(2));
        assert_eq!(line_of_item(text, "expect", 2), None);
        assert_eq!(line_of_item(text, "steps", 1), Some(3));
        let text = "name: x\nsteps: [\n  {wait: 5s},  # first\n  {fault: {kind: kill, target: [a, b]}},\n  'x, y', \"p]\",\n  {heal: all}\n]\nexpect:\n  [\n   a == 1,\n   b < 2s]\n";
        assert_eq!(line_of_item(text, "steps", 0), Some(3));
        assert_eq!(line_of_item(text, "steps", 1), Some(4));
        assert_eq!(line_of_item(text, "steps", 2), Some(5));
        assert_eq!(line_of_item(text, "steps", 3), Some(5));
        assert_eq!(line_of_item(text, "steps", 4), Some(6));
        assert_eq!(line_of_item(text, "steps", 5), None);
        assert_eq!(line_of_item(text, "expect", 0), Some(10));
        assert_eq!(line_of_item(text, "expect", 1), Some(11));
        assert_eq!(line_of_item("expect: []\n", "expect", 0), None);
    }

    #[test]
    fn common_type_errors_get_a_hint() {
        let hint = |m: &str| hint_for(m).unwrap_or_default();
        assert_eq!(
            hint("invalid value: string \"60\", expected a duration"),
            "durations need a unit: 60s"
        );
        assert_eq!(
            hint("invalid type: integer `60`, expected a duration"),
            "durations need a unit: 60s"
        );
        assert!(hint("invalid type: string \"three\", expected i32").contains("a whole number"));
        assert!(hint("invalid type: floating point `2.5`, expected u32").contains("e.g. 2"));
        assert!(
            hint("invalid type: string \"yes please\", expected a boolean")
                .contains("true or false")
        );
        assert!(hint("invalid type: string \"x\", expected a sequence").contains("a list"));
        assert!(hint("invalid type: string \"x\", expected struct ClusterSpec").contains("a map"));
    }

    #[test]
    fn display_names_file_line_column_path_and_hint() {
        let e = InputError {
            file: "x.yaml".into(),
            line: Some(3),
            column: Some(5),
            path: "steps[0].wait".into(),
            message: "bad".into(),
            hint: Some("do this".into()),
        };
        assert_eq!(
            e.to_string(),
            "x.yaml:3:5: steps[0].wait: bad\n  hint: do this"
        );
    }
}
