//! Compose variable interpolation, as the compose specification documents it: `${VAR}`,
//! `$VAR`, `${VAR:-default}`, `${VAR-default}`, `${VAR:?error}`, `${VAR?error}`,
//! `${VAR:+replacement}`, `${VAR+replacement}` and `$$` for a literal `$`. The word after an
//! operator may itself hold references (`${A:-${B:-c}}`); it is parsed whole (so a syntax error
//! in it is reported even when it is not needed) but only evaluated when it is used, as a shell
//! does. Done line by line on the text, so every later error keeps its line number. Comment
//! lines are left alone.

/// What is wrong with a reference.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InterpolationErrorKind {
    #[error("variable {name} is required: {message}")]
    Required { name: String, message: String },
    #[error("unclosed `${{` in `{text}`")]
    Unclosed { text: String },
    #[error("`{reference}` has no valid variable name")]
    BadName { reference: String },
    #[error("unsupported operator `{operator}` in `{reference}`")]
    BadOperator { reference: String, operator: String },
    #[error("references nested more than {limit} deep")]
    TooDeep { limit: usize },
}

impl InterpolationErrorKind {
    /// What to do about it, for the error's hint line.
    pub fn hint(&self) -> String {
        match self {
            Self::Required { name, .. } => {
                format!("set {name} in the environment or in the .env file beside the compose file")
            }
            Self::Unclosed { .. } => {
                "each `${` needs its `}`, nested ones too: ${A:-${B:-c}}; write $$ for a literal $"
                    .into()
            }
            Self::BadName { .. } => {
                "a variable name is letters, digits and `_`, not starting with a digit: ${NAME}"
                    .into()
            }
            Self::TooDeep { .. } => "a default rarely needs more than two levels: \
                ${A:-${B:-c}}"
                .into(),
            Self::BadOperator { .. } => "supported: ${VAR}, ${VAR:-default}, ${VAR-default}, \
                ${VAR:?error}, ${VAR?error}, ${VAR:+replacement}, ${VAR+replacement}; \
                $$ for a literal $"
                .into(),
        }
    }
}

/// A reference that could not be expanded, at a 1-based line and column (of its `$`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}, column {column}: {kind}")]
pub struct InterpolationError {
    pub line: usize,
    pub column: usize,
    #[source]
    pub kind: InterpolationErrorKind,
}

/// Returns the interpolated text, or the first reference that is malformed or required and
/// missing.
pub fn interpolate(
    text: &str,
    vars: &dyn Fn(&str) -> Option<String>,
) -> Result<String, InterpolationError> {
    let mut out = String::with_capacity(text.len());
    for (i, line) in text.split_inclusive('\n').enumerate() {
        if line.trim_start().starts_with('#') {
            out.push_str(line);
            continue;
        }
        let located = |(at, kind): (usize, InterpolationErrorKind)| InterpolationError {
            line: i + 1,
            column: line[..at].chars().count() + 1,
            kind,
        };
        let (pieces, _) = parse_word(line, 0, None, 0).map_err(located)?;
        eval(&pieces, vars, &mut out).map_err(located)?;
    }
    Ok(out)
}

/// The six operators of `${NAME<op>word}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    /// `:-` default when unset or empty.
    DefaultUnsetOrEmpty,
    /// `-` default when unset.
    DefaultUnset,
    /// `:?` error when unset or empty.
    RequireNonEmpty,
    /// `?` error when unset.
    RequireSet,
    /// `:+` replacement when set and not empty.
    AltNonEmpty,
    /// `+` replacement when set.
    AltSet,
}

#[derive(Debug, Clone, PartialEq)]
enum Piece<'a> {
    Text(&'a str),
    Var {
        name: &'a str,
        /// Byte offset of the `$`, for errors found while evaluating.
        at: usize,
        op: Option<(Op, Vec<Piece<'a>>)>,
    },
}

type Located = (usize, InterpolationErrorKind);

/// Nesting limit: parsing and evaluation recurse once per level, and a 1 MiB line of `${A:-`
/// must be an error, not a stack overflow.
const MAX_DEPTH: usize = 16;

fn is_name_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_'
}

fn name_len(s: &str) -> usize {
    if !s.starts_with(is_name_start) {
        return 0;
    }
    s.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(s.len())
}

/// Parses `line[pos..]` up to its end, or, inside `${…}` opened at `opened`, up to the `}`
/// closing it, `depth` levels deep. Returns the pieces and the offset just past what was
/// consumed.
fn parse_word(
    line: &str,
    mut pos: usize,
    opened: Option<usize>,
    depth: usize,
) -> Result<(Vec<Piece<'_>>, usize), Located> {
    let mut pieces = Vec::new();
    let mut text_start = pos;
    loop {
        let rest = &line[pos..];
        let next = match opened {
            Some(_) => rest.find(['$', '}']),
            None => rest.find('$'),
        };
        let Some(off) = next else {
            if let Some(open) = opened {
                return Err((
                    open,
                    InterpolationErrorKind::Unclosed {
                        text: line.trim().to_string(),
                    },
                ));
            }
            if text_start < line.len() {
                pieces.push(Piece::Text(&line[text_start..]));
            }
            return Ok((pieces, line.len()));
        };
        let at = pos + off;
        if line[at..].starts_with('}') {
            if at > text_start {
                pieces.push(Piece::Text(&line[text_start..at]));
            }
            return Ok((pieces, at + 1));
        }
        // A `$`.
        let after = &line[at + 1..];
        if after.starts_with('$') {
            pieces.push(Piece::Text(&line[text_start..at + 1]));
            pos = at + 2;
            text_start = pos;
        } else if after.starts_with('{') {
            if at > text_start {
                pieces.push(Piece::Text(&line[text_start..at]));
            }
            if depth >= MAX_DEPTH {
                return Err((at, InterpolationErrorKind::TooDeep { limit: MAX_DEPTH }));
            }
            let (piece, end) = parse_braced(line, at, depth + 1)?;
            pieces.push(piece);
            pos = end;
            text_start = pos;
        } else if name_len(after) > 0 {
            if at > text_start {
                pieces.push(Piece::Text(&line[text_start..at]));
            }
            let n = name_len(after);
            pieces.push(Piece::Var {
                name: &after[..n],
                at,
                op: None,
            });
            pos = at + 1 + n;
            text_start = pos;
        } else {
            // Compose keeps a `$` that starts no reference (`$1`, `a $ b`) as it is.
            pos = at + 1;
        }
    }
}

// Long: one arm per interpolation form (${V}, ${V:-d}, ${V-d}, ${V:?e}, ${V?e}, ${V:+r}, ${V+r})
/// Parses the `${…}` whose `$` is at `at`.
fn parse_braced(line: &str, at: usize, depth: usize) -> Result<(Piece<'_>, usize), Located> {
    let inner = &line[at + 2..];
    let n = name_len(inner);
    // The reference as written, for messages: up to its closing brace when there is one.
    let reference = || {
        let tail = &line[at..];
        tail.find('}')
            .map_or(tail.trim_end(), |e| &tail[..=e])
            .to_string()
    };
    if n == 0 {
        if !inner.contains('}') {
            return Err((
                at,
                InterpolationErrorKind::Unclosed {
                    text: line.trim().to_string(),
                },
            ));
        }
        return Err((
            at,
            InterpolationErrorKind::BadName {
                reference: reference(),
            },
        ));
    }
    let name = &inner[..n];
    let after_name = at + 2 + n;
    let rest = &line[after_name..];
    let op = [
        (":-", Op::DefaultUnsetOrEmpty),
        ("-", Op::DefaultUnset),
        (":?", Op::RequireNonEmpty),
        ("?", Op::RequireSet),
        (":+", Op::AltNonEmpty),
        ("+", Op::AltSet),
    ]
    .into_iter()
    .find(|(token, _)| rest.starts_with(token));
    match op {
        _ if rest.starts_with('}') => Ok((Piece::Var { name, at, op: None }, after_name + 1)),
        Some((token, op)) => {
            let (word, end) = parse_word(line, after_name + token.len(), Some(at), depth)?;
            Ok((
                Piece::Var {
                    name,
                    at,
                    op: Some((op, word)),
                },
                end,
            ))
        }
        None if rest.is_empty() || rest == "\n" || rest == "\r\n" => Err((
            at,
            InterpolationErrorKind::Unclosed {
                text: line.trim().to_string(),
            },
        )),
        None => {
            let operator: String = rest
                .chars()
                .take_while(|c| !c.is_ascii_alphanumeric() && *c != '}' && *c != '\n')
                .collect();
            // `${A B}` or `${A.b}`: a bad name rather than an operator.
            if operator.is_empty() || operator.starts_with(|c: char| c.is_whitespace() || c == '.')
            {
                return Err((
                    at,
                    InterpolationErrorKind::BadName {
                        reference: reference(),
                    },
                ));
            }
            Err((
                at,
                InterpolationErrorKind::BadOperator {
                    reference: reference(),
                    operator,
                },
            ))
        }
    }
}

fn eval(
    pieces: &[Piece<'_>],
    vars: &dyn Fn(&str) -> Option<String>,
    out: &mut String,
) -> Result<(), Located> {
    for piece in pieces {
        match piece {
            Piece::Text(t) => out.push_str(t),
            Piece::Var { name, at, op } => {
                let value = vars(name);
                let non_empty = value.as_deref().is_some_and(|v| !v.is_empty());
                let word = |out: &mut String| match op {
                    Some((_, w)) => eval(w, vars, out),
                    None => Ok(()),
                };
                match op.as_ref().map(|(op, _)| *op) {
                    None => out.push_str(value.as_deref().unwrap_or_default()),
                    Some(Op::DefaultUnsetOrEmpty) if !non_empty => word(out)?,
                    Some(Op::DefaultUnset) if value.is_none() => word(out)?,
                    Some(Op::RequireNonEmpty) if !non_empty => {
                        return Err(required(name, *at, op, vars))
                    }
                    Some(Op::RequireSet) if value.is_none() => {
                        return Err(required(name, *at, op, vars))
                    }
                    Some(Op::AltNonEmpty) => {
                        if non_empty {
                            word(out)?
                        }
                    }
                    Some(Op::AltSet) => {
                        if value.is_some() {
                            word(out)?
                        }
                    }
                    Some(_) => out.push_str(value.as_deref().unwrap_or_default()),
                }
            }
        }
    }
    Ok(())
}

fn required(
    name: &str,
    at: usize,
    op: &Option<(Op, Vec<Piece<'_>>)>,
    vars: &dyn Fn(&str) -> Option<String>,
) -> Located {
    let mut message = String::new();
    if let Some((_, word)) = op {
        if let Err(e) = eval(word, vars, &mut message) {
            return e;
        }
    }
    if message.trim().is_empty() {
        message = "it is not set".into();
    }
    (
        at,
        InterpolationErrorKind::Required {
            name: name.to_string(),
            message,
        },
    )
}

/// A `.env` file that could not be read as `KEY=value` lines.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct DotenvError {
    /// 1-based line, when the parser's report identifies it.
    pub line: Option<usize>,
    pub message: String,
    #[source]
    pub source: dotenvy::Error,
}

/// Parses a `.env` file with `dotenvy` (the usual dotenv rules: `#` comments, `export `
/// prefix, single quotes literal, double quotes with `\n` `\"` `\\` `\$` escapes, multi-line
/// quoted values, `$VAR` / `${VAR}` expansion from the process environment and earlier lines).
pub fn parse_dotenv(text: &str) -> Result<Vec<(String, String)>, DotenvError> {
    dotenvy::from_read_iter(text.as_bytes())
        .map(|item| {
            item.map_err(|source| {
                let line = match &source {
                    // dotenvy gives the offending text (a line, or the value part of it), not
                    // its number: find the first non-comment line holding it.
                    dotenvy::Error::LineParse(fragment, _) => {
                        let first = fragment.lines().next().unwrap_or_default().trim();
                        (!first.is_empty())
                            .then(|| {
                                text.lines().position(|l| {
                                    !l.trim_start().starts_with('#') && l.contains(first)
                                })
                            })
                            .flatten()
                            .map(|i| i + 1)
                    }
                    _ => None,
                };
                let message = match &source {
                    dotenvy::Error::LineParse(fragment, index) => format!(
                        "cannot parse `{}` (at character {})",
                        fragment.trim_end(),
                        index + 1
                    ),
                    other => other.to_string(),
                };
                DotenvError {
                    line,
                    message,
                    source,
                }
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(name: &str) -> Option<String> {
        match name {
            "IMAGE" => Some("cp/kafka:7".into()),
            "B" => Some("bee".into()),
            "EMPTY" => Some(String::new()),
            _ => None,
        }
    }

    fn one(text: &str) -> String {
        interpolate(text, &vars).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    fn kind(text: &str) -> InterpolationErrorKind {
        interpolate(text, &vars).unwrap_err().kind
    }

    #[test]
    fn every_form_expands() {
        let t = interpolate("a: ${IMAGE}\nb: ${MISSING:-dflt}\nc: ${EMPTY:-x}\nd: ${EMPTY-x}\ne: $IMAGE!\nf: $$HOME\n# ${NOPE:?not here}\n", &vars).unwrap();
        assert_eq!(
            t,
            "a: cp/kafka:7\nb: dflt\nc: x\nd: \ne: cp/kafka:7!\nf: $HOME\n# ${NOPE:?not here}\n"
        );
    }

    #[test]
    fn default_forms_distinguish_unset_from_empty() {
        assert_eq!(one("${MISSING-d}|${EMPTY-d}|${B-d}"), "d||bee");
        assert_eq!(one("${MISSING:-d}|${EMPTY:-d}|${B:-d}"), "d|d|bee");
        // An empty default is allowed.
        assert_eq!(one("[${MISSING:-}]"), "[]");
    }

    #[test]
    fn replacement_forms_apply_only_when_set() {
        assert_eq!(one("${MISSING:+r}|${EMPTY:+r}|${B:+r}"), "||r");
        assert_eq!(one("${MISSING+r}|${EMPTY+r}|${B+r}"), "|r|r");
        assert_eq!(one("${B:+<$B>}"), "<bee>");
    }

    #[test]
    fn required_forms_distinguish_unset_from_empty() {
        assert_eq!(one("${EMPTY?must}|${B:?must}"), "|bee");
        assert_eq!(
            kind("${EMPTY:?must not be empty}"),
            InterpolationErrorKind::Required {
                name: "EMPTY".into(),
                message: "must not be empty".into()
            }
        );
        assert_eq!(
            kind("${MISSING?}"),
            InterpolationErrorKind::Required {
                name: "MISSING".into(),
                message: "it is not set".into()
            }
        );
        // The message is interpolated too.
        assert!(kind("${MISSING:?use $B}").to_string().ends_with("use bee"));
    }

    /// `${A:-${B}}` used to end at the first `}`: the default was the text `${B` followed by a
    /// stray `}`, silently.
    #[test]
    fn nested_defaults_are_parsed_to_their_own_closing_brace() {
        assert_eq!(one("x: ${MISSING:-${B}}\n"), "x: bee\n");
        assert_eq!(one("x: ${MISSING:-${ALSO_MISSING:-c}}!"), "x: c!");
        assert_eq!(one("${MISSING:-${ALSO_MISSING:-${B}}}"), "bee");
        assert_eq!(one("${IMAGE:-${B}}"), "cp/kafka:7");
        assert_eq!(one("${MISSING:-a$$b}"), "a$b");
        // A plain `{` in a default does not count; the first `}` closes.
        assert_eq!(one("${MISSING:-{x}"), "{x");
    }

    #[test]
    fn an_unused_word_is_not_evaluated_but_is_parsed() {
        assert_eq!(one("${B:-${MISSING:?never}}"), "bee");
        assert!(matches!(
            kind("${B:-${MISSING:=x}}"),
            InterpolationErrorKind::BadOperator { .. }
        ));
    }

    #[test]
    fn a_dollar_that_starts_no_reference_is_kept() {
        assert_eq!(one("a $ b $1 $-x 100$"), "a $ b $1 $-x 100$");
    }

    #[test]
    fn malformed_references_name_line_column_and_kind() {
        let e = interpolate("a: 1\nb: x ${NEED:?set NEED}\n", &vars).unwrap_err();
        assert_eq!((e.line, e.column), (2, 6));
        assert!(matches!(e.kind, InterpolationErrorKind::Required { .. }));

        let e = interpolate("a: ${OPEN\n", &vars).unwrap_err();
        assert_eq!((e.line, e.column), (1, 4));
        assert!(matches!(e.kind, InterpolationErrorKind::Unclosed { .. }));
        // The nested form missing its outer brace.
        assert!(matches!(
            kind("${MISSING:-${B}"),
            InterpolationErrorKind::Unclosed { .. }
        ));
        assert!(matches!(
            kind("${MISSING:-${B"),
            InterpolationErrorKind::Unclosed { .. }
        ));
        assert_eq!(
            kind("v: ${A:=x}"),
            InterpolationErrorKind::BadOperator {
                reference: "${A:=x}".into(),
                operator: ":=".into()
            }
        );
        assert!(matches!(
            kind("${}"),
            InterpolationErrorKind::BadName { .. }
        ));
        assert!(matches!(
            kind("${1A}"),
            InterpolationErrorKind::BadName { .. }
        ));
        assert!(matches!(
            kind("${A B}"),
            InterpolationErrorKind::BadName { .. }
        ));
        // Every kind has a hint.
        assert!(kind("${A:=x}").hint().contains("${VAR:+replacement}"));
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_stack_overflow() {
        let deep = format!("{}x{}", "${A:-".repeat(200_000), "}".repeat(200_000));
        assert_eq!(
            kind(&deep),
            InterpolationErrorKind::TooDeep { limit: MAX_DEPTH }
        );
        let ok = format!("{}x{}", "${A:-".repeat(MAX_DEPTH), "}".repeat(MAX_DEPTH));
        assert_eq!(one(&ok), "x");
    }

    #[test]
    fn columns_count_characters_not_bytes() {
        let e = interpolate("é: ${X:=1}\n", &vars).unwrap_err();
        assert_eq!(e.column, 4);
    }

    #[test]
    fn dotenv_quoting_escapes_comments_and_export() {
        let parsed = parse_dotenv(concat!(
            "# c\n",
            "A=1\n",
            "export B=\"two\"\n",
            "\n",
            "C='3 $A \\n'\n",
            "D=\"line\\none \\\"q\\\" \\$A\"\n",
            "E=plain # trailing comment\n",
            "F=\"multi\nline\"\n",
            "G=${A}x\n",
        ))
        .unwrap();
        let get = |k: &str| {
            parsed
                .iter()
                .find(|(key, _)| key == k)
                .map(|(_, v)| v.as_str())
        };
        assert_eq!(get("A"), Some("1"));
        assert_eq!(get("B"), Some("two"));
        // Single quotes: literal.
        assert_eq!(get("C"), Some("3 $A \\n"));
        // Double quotes: escapes.
        assert_eq!(get("D"), Some("line\none \"q\" $A"));
        assert_eq!(get("E"), Some("plain"));
        assert_eq!(get("F"), Some("multi\nline"));
        // Earlier lines expand in later ones.
        assert_eq!(get("G"), Some("1x"));
    }

    #[test]
    fn a_malformed_dotenv_line_is_an_error_with_its_line() {
        let e = parse_dotenv("A=1\n# ok\nB=two words\n").unwrap_err();
        assert_eq!(e.line, Some(3), "{e}");
        assert!(e.message.contains("two words"), "{e}");
        let e = parse_dotenv("A=1\n1BAD=x\n").unwrap_err();
        assert_eq!(e.line, Some(2), "{e}");
        assert!(parse_dotenv("A=\"never closed\n").is_err());
    }
}
