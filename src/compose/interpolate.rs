//! Compose variable interpolation: `${VAR}`, `${VAR:-default}`, `${VAR-default}`,
//! `${VAR:?message}`, `$VAR`, and `$$` for a literal `$`. Done line by line on the text, so
//! every later error keeps its line number. Comment lines are left alone.

/// Returns the interpolated text, or (line, message) for a missing required variable or a
/// malformed reference.
pub fn interpolate(
    text: &str,
    vars: &dyn Fn(&str) -> Option<String>,
) -> Result<String, (usize, String)> {
    let mut out = String::with_capacity(text.len());
    for (i, line) in text.split_inclusive('\n').enumerate() {
        if line.trim_start().starts_with('#') {
            out.push_str(line);
            continue;
        }
        out.push_str(&interpolate_line(line, vars).map_err(|m| (i + 1, m))?);
    }
    Ok(out)
}

fn interpolate_line(line: &str, vars: &dyn Fn(&str) -> Option<String>) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = line;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        if let Some(tail) = after.strip_prefix('$') {
            out.push('$');
            rest = tail;
        } else if let Some(inner_start) = after.strip_prefix('{') {
            let end = inner_start
                .find('}')
                .ok_or_else(|| format!("unclosed `${{` in `{}`", line.trim()))?;
            let inner = &inner_start[..end];
            out.push_str(&expand(inner, vars)?);
            rest = &inner_start[end + 1..];
        } else {
            let name_len = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(after.len());
            if name_len == 0 {
                out.push('$');
                rest = after;
            } else {
                out.push_str(&vars(&after[..name_len]).unwrap_or_default());
                rest = &after[name_len..];
            }
        }
    }
    out.push_str(rest);
    Ok(out)
}

fn expand(inner: &str, vars: &dyn Fn(&str) -> Option<String>) -> Result<String, String> {
    let name_len = inner
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(inner.len());
    let (name, modifier) = inner.split_at(name_len);
    if name.is_empty() {
        return Err(format!("`${{{inner}}}` has no variable name"));
    }
    let value = vars(name);
    Ok(match modifier {
        "" => value.unwrap_or_default(),
        m if m.starts_with(":-") => value
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| m[2..].to_string()),
        m if m.starts_with('-') => value.unwrap_or_else(|| m[1..].to_string()),
        m if m.starts_with(":?") => value
            .filter(|v| !v.is_empty())
            .ok_or_else(|| format!("variable {name} is required: {}", &m[2..]))?,
        m if m.starts_with('?') => {
            value.ok_or_else(|| format!("variable {name} is required: {}", &m[1..]))?
        }
        m => return Err(format!("unsupported modifier `{m}` in `${{{inner}}}`")),
    })
}

/// Parses a `.env` file: `KEY=value` lines, `#` comments, optional quotes.
pub fn parse_dotenv(text: &str) -> Vec<(String, String)> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| {
            let (k, v) = l.strip_prefix("export ").unwrap_or(l).split_once('=')?;
            let v = v.trim();
            let v = v
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .or_else(|| v.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')))
                .unwrap_or(v);
            Some((k.trim().to_string(), v.to_string()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(name: &str) -> Option<String> {
        match name {
            "IMAGE" => Some("cp/kafka:7".into()),
            "EMPTY" => Some(String::new()),
            _ => None,
        }
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
    fn required_and_malformed_references_name_the_line() {
        assert_eq!(
            interpolate("a: 1\nb: ${NEED:?set NEED}\n", &vars)
                .unwrap_err()
                .0,
            2
        );
        assert!(interpolate("a: ${OPEN\n", &vars)
            .unwrap_err()
            .1
            .contains("unclosed"));
    }

    #[test]
    fn dotenv_lines() {
        assert_eq!(
            parse_dotenv("# c\nA=1\nexport B=\"two\"\n\nC='3'\n"),
            vec![
                ("A".into(), "1".into()),
                ("B".into(), "two".into()),
                ("C".into(), "3".into())
            ]
        );
    }
}
