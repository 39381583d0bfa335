//! Imports point one way: no two sibling modules, at any level of `src/`, depend on each other
//! (directly or round a longer loop). Reads every file of the library (not `main.rs`, which is
//! another crate) and follows every `crate::…`, `super::…` and `self::…` path — in `use`
//! lines, `use` groups and paths written inline — to the module it names. A reference from
//! `a::b::c` to `a::d::e` is an edge `b → d` among the children of `a`; references to a
//! module's own ancestors or descendants are not edges. Test modules count as the file they
//! are in: a cycle through `#[cfg(test)]` code fails too (reported as such). Pure std, no
//! Docker; runs in milliseconds.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// A module path below the crate root (`["kafka", "wire"]`).
type ModPath = Vec<String>;

/// Where an edge was seen (file:line), for the report.
type Evidence = String;

#[test]
fn no_import_cycles_between_sibling_modules() {
    let started = std::time::Instant::now();
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let files = library_files(&src);
    let modules: BTreeSet<ModPath> = files.iter().map(|(m, _)| m.clone()).collect();
    // parent → (from, to) → first evidence; the library's own code, and with its test
    // modules (a cycle only through them is named as such).
    let mut library: BTreeMap<ModPath, BTreeMap<(String, String), Evidence>> = BTreeMap::new();
    let mut with_tests = library.clone();
    for (module, path) in &files {
        let text = std::fs::read_to_string(path).unwrap();
        let shown = path.strip_prefix(src.parent().unwrap()).unwrap().display();
        for r in references(module, &blank_out(&text)) {
            let Some(target) = longest_module(&modules, &r.to) else {
                continue;
            };
            if let Some((parent, a, b)) = sibling_edge(&r.from, &target) {
                let seen = format!("{shown}:{}", r.line);
                for edges in [Some(&mut with_tests), (!r.in_test).then_some(&mut library)]
                    .into_iter()
                    .flatten()
                {
                    edges
                        .entry(parent.clone())
                        .or_default()
                        .entry((a.clone(), b.clone()))
                        .or_insert_with(|| seen.clone());
                }
            }
        }
    }
    let report = describe(&library);
    let test_only: Vec<String> = describe(&with_tests)
        .into_iter()
        .filter(|c| !report.iter().any(|r| r.lines().next() == c.lines().next()))
        .collect();
    println!(
        "import cycles: {} (over {} files, {} levels with imports, {:?})",
        report.len() + test_only.len(),
        files.len(),
        library.len(),
        started.elapsed()
    );
    for r in &report {
        println!("{r}");
    }
    for t in &test_only {
        println!("only through #[cfg(test)] code: {t}");
    }
    assert!(
        report.is_empty() && test_only.is_empty(),
        "modules that import each other (break each cycle: move the shared piece down, or the \
         test to the module above):\n{}",
        report
            .iter()
            .chain(&test_only)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}

/// No process-wide mutable state: a `static` holding a lock, an atomic, a cell or a `static mut`
/// would be state every caller shares unseen (mini-redis and nextest pass state in). The
/// only statics allowed are values computed once from what never changes while the process
/// runs, each named here with why.
#[test]
fn no_process_wide_mutable_state() {
    const COMPUTED_ONCE: &[(&str, &str)] = &[
        // This process's pid, start time and host: fixed for its life.
        ("src/docker/owner.rs", "static THIS: OnceLock<Owner>"),
        // The result.json paths, parsed from a file compiled in.
        (
            "src/experiment/paths.rs",
            "static PATHS: OnceLock<Vec<ResultPath>>",
        ),
    ];
    let mut found = Vec::new();
    for (shown, text) in library_sources() {
        for (i, line) in blank_out(&text).lines().enumerate() {
            let code = line.trim_start();
            let is_static = code.starts_with("static ")
                || code.starts_with("pub static ")
                || code.starts_with("pub(crate) static ");
            let shared = [
                "Mutex", "RwLock", "Atomic", "OnceLock", "OnceCell", "Cell<", "LazyLock",
            ]
            .iter()
            .any(|t| code.contains(t))
                || code.contains("static mut ");
            if is_static && shared {
                let allowed = COMPUTED_ONCE
                    .iter()
                    .any(|(file, decl)| shown == *file && code.contains(decl));
                if !allowed {
                    found.push(format!("{shown}:{}: {code}", i + 1));
                }
            }
        }
    }
    assert!(
        found.is_empty(),
        "process-wide mutable state (pass it in, or own it in the session):\n{}",
        found.join("\n")
    );
}

/// Functions over 80 lines (signature to closing brace, test code aside) are split, or carry
/// a one-line reason in a comment just above them (among their attributes and doc comments)
/// that starts with `// Long:`. Prints each with its reason, longest first, so the list is
/// read at every run; fails on one without a reason.
#[test]
fn long_functions_carry_a_reason() {
    const LIMIT: usize = 80;
    let mut long = Vec::new();
    let mut unexplained = Vec::new();
    for (shown, text) in library_sources() {
        for f in functions(&text) {
            if f.in_test || f.lines <= LIMIT {
                continue;
            }
            let at = format!("{shown}:{} {} ({} lines)", f.line, f.name, f.lines);
            match f.reason {
                Some(reason) => long.push((f.lines, format!("{at}: {reason}"))),
                None => unexplained.push(at),
            }
        }
    }
    long.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    println!(
        "functions over {LIMIT} lines, with their reasons: {}",
        long.len()
    );
    for (_, l) in &long {
        println!("  {l}");
    }
    assert!(
        unexplained.is_empty(),
        "functions over {LIMIT} lines without a `// Long: <reason>` line above them (split \
         them, or say why they are long):\n{}",
        unexplained.join("\n")
    );
}

/// A function of a source file: where it starts, its name, its length in lines, whether it
/// is test code, and the `// Long:` reason above it.
struct Function {
    line: usize,
    name: String,
    lines: usize,
    in_test: bool,
    reason: Option<String>,
}

/// Every `fn` with a body: from its signature to the brace that closes the body (braces
/// counted on the text with comments and literals blanked out).
fn functions(text: &str) -> Vec<Function> {
    let code = blank_out(text);
    let code_lines: Vec<&str> = code.lines().collect();
    let raw_lines: Vec<&str> = text.lines().collect();
    // Line offsets, to map a byte position to its line.
    let starts: Vec<usize> = std::iter::once(0)
        .chain(code.match_indices('\n').map(|(i, _)| i + 1))
        .collect();
    let line_of = |pos: usize| starts.partition_point(|&s| s <= pos);
    let test_from = code_lines
        .iter()
        .position(|l| l.trim_start().starts_with("mod tests"))
        .map(|i| i + 1);
    let bytes = code.as_bytes();
    let mut out = Vec::new();
    for (i, l) in code_lines.iter().enumerate() {
        let t = l.trim_start();
        let Some(at) = t.find("fn ").filter(|&k| {
            let before = &t[..k];
            (k == 0 || before.ends_with(' '))
                && before.split_whitespace().all(|w| {
                    matches!(w, "pub" | "async" | "const" | "unsafe" | "extern")
                        || w.starts_with("pub(")
                })
        }) else {
            continue;
        };
        let name: String = t[at + 3..]
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        // The body: the first `{` after the signature before any `;` (a declaration has none).
        let mut pos = starts[i] + (l.len() - t.len()) + at;
        let (mut depth, mut paren) = (0i32, 0i32);
        let mut open = None;
        while pos < bytes.len() {
            match bytes[pos] {
                b'(' | b'[' => paren += 1,
                b')' | b']' => paren -= 1,
                b';' if paren == 0 && open.is_none() => break,
                b'{' if paren == 0 => {
                    if open.is_none() {
                        open = Some(pos);
                    }
                    depth += 1;
                }
                b'}' if paren == 0 => {
                    depth -= 1;
                    if depth == 0 {
                        break;
                    }
                }
                _ => {}
            }
            pos += 1;
        }
        if open.is_none() {
            continue;
        }
        let end_line = line_of(pos);
        // Attributes, doc comments and plain comments above the signature.
        let mut reason = None;
        let mut k = i;
        while k > 0 {
            let above = raw_lines[k - 1].trim_start();
            if let Some(r) = above.strip_prefix("// Long:") {
                // With the plain comment lines that continue it.
                let more = raw_lines[k..i]
                    .iter()
                    .map(|l| l.trim_start())
                    .take_while(|l| l.starts_with("// ") && !l.starts_with("// Long:"))
                    .map(|l| l.trim_start_matches("//").trim());
                let text: Vec<&str> = std::iter::once(r.trim()).chain(more).collect();
                reason = Some(text.join(" "));
            } else if !(above.starts_with("///")
                || above.starts_with("//")
                || above.starts_with("#["))
            {
                break;
            }
            k -= 1;
        }
        out.push(Function {
            line: i + 1,
            name,
            lines: end_line - i,
            in_test: test_from.is_some_and(|t| i + 1 > t),
            reason,
        });
    }
    out
}

#[test]
fn the_function_scanner_measures_bodies_and_reads_reasons() {
    let text = "fn a() {\n    let s = \"}\";\n}\n\n// Long: a\n// table\n#[allow(x)]\npub(crate) async fn b(\n    x: u8,\n) -> u8 {\n    { x }\n}\ntrait T { fn c(&self); }\nmod tests {\n    fn d() {}\n}\n";
    let f = functions(text);
    let got: Vec<_> = f
        .iter()
        .map(|f| {
            (
                f.name.as_str(),
                f.line,
                f.lines,
                f.in_test,
                f.reason.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("a", 1, 3, false, None),
            ("b", 8, 5, false, Some("a table")),
            ("d", 15, 1, true, None),
        ]
    );
}

/// Each cycle at each level: `crate::a: b → c → b` and the line behind every step.
fn describe(edges: &BTreeMap<ModPath, BTreeMap<(String, String), Evidence>>) -> Vec<String> {
    let mut out = Vec::new();
    for (parent, level) in edges {
        for (cycle, component) in cycles_and_components(level) {
            let name = if parent.is_empty() {
                "crate".to_string()
            } else {
                format!("crate::{}", parent.join("::"))
            };
            let steps: Vec<String> = cycle
                .windows(2)
                .map(|w| {
                    let seen = &level[&(w[0].clone(), w[1].clone())];
                    format!("  {} → {} ({seen})", w[0], w[1])
                })
                .collect();
            let others: Vec<&String> = component.iter().filter(|m| !cycle.contains(m)).collect();
            let also = if others.is_empty() {
                String::new()
            } else {
                let others: Vec<&str> = others.iter().map(|m| m.as_str()).collect();
                format!(" (and, in loops with them: {})", others.join(", "))
            };
            out.push(format!(
                "{name}: {}{also}\n{}",
                cycle.join(" → "),
                steps.join("\n")
            ));
        }
    }
    out
}

/// Every `.rs` file of the library as (`src/…` path, text).
fn library_sources() -> Vec<(String, String)> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    library_files(&src)
        .into_iter()
        .map(|(_, path)| {
            let shown = path.strip_prefix(src.parent().unwrap()).unwrap();
            (
                shown.display().to_string(),
                std::fs::read_to_string(&path).unwrap(),
            )
        })
        .collect()
}

/// Every `.rs` file of the library with its module path.
fn library_files(src: &Path) -> Vec<(ModPath, PathBuf)> {
    let mut out = Vec::new();
    let mut stack = vec![src.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let rel = path.strip_prefix(src).unwrap();
                let mut parts: Vec<String> = rel
                    .iter()
                    .map(|p| p.to_string_lossy().trim_end_matches(".rs").to_string())
                    .collect();
                if parts == ["main"] {
                    continue; // the binary: another crate
                }
                if matches!(parts.last().map(String::as_str), Some("mod" | "lib")) {
                    parts.pop();
                }
                out.push((parts, path));
            }
        }
    }
    out.sort();
    out
}

/// The text with comments, string and char literals blanked (newlines kept, so lines count).
/// Works on bytes: every byte of the syntax is ASCII, and a blanked range covers whole
/// characters.
fn blank_out(text: &str) -> String {
    let b = text.as_bytes();
    let mut out = b.to_vec();
    let blank = |out: &mut Vec<u8>, from: usize, to: usize| {
        for x in &mut out[from..to.min(b.len())] {
            if *x != b'\n' {
                *x = b' ';
            }
        }
    };
    let mut i = 0;
    while i < b.len() {
        let at = |k: usize| b.get(i + k).copied();
        if b[i] == b'/' && at(1) == Some(b'/') {
            let end = b[i..]
                .iter()
                .position(|&x| x == b'\n')
                .map_or(b.len(), |n| i + n);
            blank(&mut out, i, end);
            i = end;
        } else if b[i] == b'/' && at(1) == Some(b'*') {
            let (mut k, mut depth) = (i, 0);
            while k < b.len() {
                if b[k] == b'/' && b.get(k + 1) == Some(&b'*') {
                    depth += 1;
                    k += 2;
                } else if b[k] == b'*' && b.get(k + 1) == Some(&b'/') {
                    depth -= 1;
                    k += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    k += 1;
                }
            }
            blank(&mut out, i, k);
            i = k;
        } else if (b[i] == b'r' || (b[i] == b'b' && at(1) == Some(b'r')))
            && !(i > 0 && (b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_'))
            && raw_string_start(b, i + usize::from(b[i] == b'b')).is_some()
        {
            let r = i + usize::from(b[i] == b'b');
            let hashes = raw_string_start(b, r).unwrap();
            let body = r + 2 + hashes;
            let mut close = vec![b'"'];
            close.extend(std::iter::repeat_n(b'#', hashes));
            let end = b[body..]
                .windows(close.len())
                .position(|w| w == close.as_slice())
                .map_or(b.len(), |n| body + n + close.len());
            blank(&mut out, i, end);
            i = end;
        } else if b[i] == b'"' {
            let mut k = i + 1;
            while k < b.len() && b[k] != b'"' {
                k += if b[k] == b'\\' { 2 } else { 1 };
            }
            blank(&mut out, i, k + 1);
            i = k + 1;
        } else if b[i] == b'\'' {
            // A char literal ('x', '\n', '\u{..}', 'é'), else a lifetime.
            let end = if at(1) == Some(b'\\') {
                b[i + 2..]
                    .iter()
                    .position(|&x| x == b'\'')
                    .map(|n| i + 2 + n)
            } else {
                let len = text[i + 1..].chars().next().map_or(1, char::len_utf8);
                (b.get(i + 1 + len) == Some(&b'\'')).then_some(i + 1 + len)
            };
            match end {
                Some(end) => {
                    blank(&mut out, i, end + 1);
                    i = end + 1;
                }
                None => i += 1,
            }
        } else {
            i += 1;
        }
    }
    String::from_utf8(out).expect("whole characters blanked")
}

/// `r"`, `r#"`, … at `i`: the number of `#`.
fn raw_string_start(b: &[u8], i: usize) -> Option<usize> {
    if b.get(i) != Some(&b'r') {
        return None;
    }
    let hashes = b[i + 1..].iter().take_while(|x| **x == b'#').count();
    (b.get(i + 1 + hashes) == Some(&b'"')).then_some(hashes)
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Path, // ::
    Open,
    Close,
    Semi,
    Comma,
    Star,
    Other(char),
}

fn tokens(code: &str) -> Vec<(Tok, usize)> {
    let mut out = Vec::new();
    for (n, line) in code.lines().enumerate() {
        let c = line.as_bytes();
        let ident = |x: u8| x.is_ascii_alphanumeric() || x == b'_' || x >= 0x80;
        let mut i = 0;
        while i < c.len() {
            let ch = c[i];
            if ident(ch) && !ch.is_ascii_digit() {
                let start = i;
                while i < c.len() && ident(c[i]) {
                    i += 1;
                }
                out.push((Tok::Ident(line[start..i].to_string()), n + 1));
                continue;
            }
            let tok = match ch {
                b':' if c.get(i + 1) == Some(&b':') => {
                    i += 1;
                    Tok::Path
                }
                b'{' => Tok::Open,
                b'}' => Tok::Close,
                b';' => Tok::Semi,
                b',' => Tok::Comma,
                b'*' => Tok::Star,
                x if x.is_ascii_whitespace() || x.is_ascii_digit() => {
                    i += 1;
                    continue;
                }
                other => Tok::Other(other as char),
            };
            out.push((tok, n + 1));
            i += 1;
        }
    }
    out
}

/// A path a file names that starts at `crate`, `super` or `self`.
#[derive(Debug)]
struct Reference {
    /// The module it is written in.
    from: ModPath,
    /// The path it names, from the crate root.
    to: ModPath,
    line: usize,
    /// Written inside a `#[cfg(test)]` module.
    in_test: bool,
}

/// `#[cfg(test)]` just before token `i`.
fn cfg_test_before(toks: &[(Tok, usize)], i: usize) -> bool {
    let want = [
        Tok::Other('#'),
        Tok::Other('['),
        Tok::Ident("cfg".into()),
        Tok::Other('('),
        Tok::Ident("test".into()),
        Tok::Other(')'),
        Tok::Other(']'),
    ];
    i >= want.len() && toks[i - want.len()..i].iter().map(|t| &t.0).eq(want.iter())
}

fn references(file_module: &ModPath, code: &str) -> Vec<Reference> {
    let toks = tokens(code);
    let mut out = Vec::new();
    // Inline modules (`mod tests { … }`): (path, the brace depth inside it, a test module).
    let mut scopes: Vec<(ModPath, usize, bool)> = vec![(file_module.clone(), 0, false)];
    let mut depth = 0usize;
    let mut i = 0;
    while i < toks.len() {
        let (current, in_test) = {
            let s = scopes.last().unwrap();
            (s.0.clone(), s.2)
        };
        let reference = |to: ModPath, line: usize| Reference {
            from: current.clone(),
            to,
            line,
            in_test,
        };
        match &toks[i].0 {
            Tok::Open => depth += 1,
            Tok::Close => {
                if scopes.len() > 1 && scopes.last().unwrap().1 == depth {
                    scopes.pop();
                }
                depth = depth.saturating_sub(1);
            }
            Tok::Ident(w) if w == "mod" => {
                if let (Some((Tok::Ident(name), _)), Some((Tok::Open, _))) =
                    (toks.get(i + 1), toks.get(i + 2))
                {
                    let mut inner = current.clone();
                    inner.push(name.clone());
                    depth += 1;
                    let test = in_test || cfg_test_before(&toks, i);
                    scopes.push((inner, depth, test));
                    i += 3;
                    continue;
                }
            }
            Tok::Ident(w) if w == "use" => {
                let end = (i..toks.len())
                    .find(|&k| toks[k].0 == Tok::Semi)
                    .unwrap_or(toks.len());
                let line = toks[i].1;
                for path in expand_use(&toks[i + 1..end]) {
                    if let Some(target) = resolve(&current, &path) {
                        out.push(reference(target, line));
                    }
                }
                i = end + 1;
                continue;
            }
            Tok::Ident(w)
                if (w == "crate" || w == "super" || w == "self")
                    && toks.get(i + 1).map(|t| &t.0) == Some(&Tok::Path)
                    && !(i > 0 && toks[i - 1].0 == Tok::Path) =>
            {
                // An inline path: `crate::a::b::f(…)`.
                let mut path = vec![w.clone()];
                let mut k = i + 1;
                while toks.get(k).map(|t| &t.0) == Some(&Tok::Path) {
                    match toks.get(k + 1) {
                        Some((Tok::Ident(seg), _)) => {
                            path.push(seg.clone());
                            k += 2;
                        }
                        _ => break,
                    }
                }
                if let Some(target) = resolve(&current, &path) {
                    out.push(reference(target, toks[i].1));
                }
                i = k;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    out
}

/// The paths of a use tree (`crate::a::{b, c::{d, e}}` → `crate::a::b`, `crate::a::c::d`, …).
fn expand_use(toks: &[(Tok, usize)]) -> Vec<Vec<String>> {
    fn tree(toks: &[(Tok, usize)], i: &mut usize, prefix: Vec<String>, out: &mut Vec<Vec<String>>) {
        let mut path = prefix;
        while *i < toks.len() {
            match &toks[*i].0 {
                Tok::Ident(w) if w == "as" => {
                    *i += 2; // `as name`
                }
                Tok::Ident(w) => {
                    path.push(w.clone());
                    *i += 1;
                }
                Tok::Path => *i += 1,
                Tok::Star => *i += 1,
                Tok::Open => {
                    *i += 1;
                    loop {
                        tree(toks, i, path.clone(), out);
                        match toks.get(*i).map(|t| &t.0) {
                            Some(Tok::Comma) => *i += 1,
                            Some(Tok::Close) => {
                                *i += 1;
                                return;
                            }
                            _ => return,
                        }
                        if toks.get(*i).map(|t| &t.0) == Some(&Tok::Close) {
                            *i += 1;
                            return;
                        }
                    }
                }
                Tok::Comma | Tok::Close => break,
                _ => *i += 1,
            }
        }
        out.push(path);
    }
    let mut out = Vec::new();
    let mut i = 0;
    tree(toks, &mut i, Vec::new(), &mut out);
    out
}

/// A path as written in `current`, from the crate root; None for one outside the crate.
fn resolve(current: &ModPath, path: &[String]) -> Option<ModPath> {
    let mut segs = path.iter().peekable();
    let mut at: ModPath = match segs.peek().map(|s| s.as_str()) {
        Some("crate") => {
            segs.next();
            Vec::new()
        }
        Some("super") | Some("self") => current.clone(),
        // `use std::…`, an external crate, or a name in scope: not followed.
        _ => return None,
    };
    while let Some(seg) = segs.peek() {
        match seg.as_str() {
            "super" => {
                at.pop()?;
                segs.next();
            }
            "self" => {
                segs.next();
            }
            _ => break,
        }
    }
    at.extend(segs.cloned());
    Some(at)
}

/// The module a path names: its longest prefix that is a file module.
fn longest_module(modules: &BTreeSet<ModPath>, path: &ModPath) -> Option<ModPath> {
    (0..=path.len())
        .rev()
        .map(|n| path[..n].to_vec())
        .find(|p| modules.contains(p))
}

/// `a::b::…` referring to `a::d::…`: (`a`, `b`, `d`). None between a module and its own
/// ancestors or descendants.
fn sibling_edge(from: &ModPath, to: &ModPath) -> Option<(ModPath, String, String)> {
    let common = from.iter().zip(to).take_while(|(a, b)| a == b).count();
    match (from.get(common), to.get(common)) {
        (Some(a), Some(b)) => Some((from[..common].to_vec(), a.clone(), b.clone())),
        _ => None,
    }
}

/// One cycle per strongly connected component of more than one module, as a closed walk
/// (`a → b → a`), with the component's other modules (caught in loops with it) after it.
fn cycles(edges: &BTreeMap<(String, String), Evidence>) -> Vec<Vec<String>> {
    cycles_and_components(edges)
        .into_iter()
        .map(|(c, _)| c)
        .collect()
}

fn cycles_and_components(
    edges: &BTreeMap<(String, String), Evidence>,
) -> Vec<(Vec<String>, BTreeSet<String>)> {
    let mut next: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (a, b) in edges.keys() {
        next.entry(a).or_default().push(b);
        next.entry(b).or_default();
    }
    let reach = |from: &str| -> BTreeSet<String> {
        let mut seen = BTreeSet::new();
        let mut stack = vec![from.to_string()];
        while let Some(n) = stack.pop() {
            for m in next.get(n.as_str()).into_iter().flatten() {
                if seen.insert(m.to_string()) {
                    stack.push(m.to_string());
                }
            }
        }
        seen
    };
    let mut done: BTreeSet<String> = BTreeSet::new();
    let mut out = Vec::new();
    for n in next.keys() {
        if done.contains(*n) {
            continue;
        }
        let from_n = reach(n);
        if !from_n.contains(*n) {
            continue;
        }
        let component: BTreeSet<String> = from_n
            .iter()
            .filter(|m| reach(m).contains(*n))
            .cloned()
            .collect();
        done.extend(component.iter().cloned());
        // The shortest way back to `n` (breadth-first inside the component).
        let mut back: BTreeMap<String, String> = BTreeMap::new();
        let mut queue = std::collections::VecDeque::from([n.to_string()]);
        'search: while let Some(m) = queue.pop_front() {
            for k in next.get(m.as_str()).into_iter().flatten() {
                if !component.contains(*k) {
                    continue;
                }
                if *k == *n {
                    // n → … → m, then back to n.
                    let mut walk = vec![m.clone()];
                    while walk.last().unwrap() != *n {
                        let before = back[walk.last().unwrap()].clone();
                        walk.push(before);
                    }
                    walk.reverse();
                    walk.push(n.to_string());
                    out.push((walk, component.clone()));
                    break 'search;
                }
                if !back.contains_key(*k) {
                    back.insert(k.to_string(), m.clone());
                    queue.push_back(k.to_string());
                }
            }
        }
    }
    out
}

#[test]
fn the_checker_sees_use_groups_inline_paths_and_test_modules() {
    let code = blank_out(
        "use crate::a::{b::X, c};\nuse super::d as e;\n// use crate::z;\nfn f() { let s = \"crate::y::q\"; crate::f::g(); }\nmod tests { use super::h::H; }\n",
    );
    let refs: Vec<(String, String)> = references(&vec!["m".into(), "k".into()], &code)
        .into_iter()
        .map(|r| (r.from.join("::"), r.to.join("::")))
        .collect();
    let tests = references(
        &vec!["m".into()],
        &blank_out("#[cfg(test)]\nmod tests { use crate::x; }\nuse crate::y;"),
    );
    assert_eq!(
        tests.iter().map(|r| r.in_test).collect::<Vec<_>>(),
        [true, false]
    );
    let has = |from: &str, to: &str| refs.contains(&(from.to_string(), to.to_string()));
    assert!(has("m::k", "a::b::X") && has("m::k", "a::c"), "{refs:?}");
    assert!(has("m::k", "m::d"), "{refs:?}");
    assert!(has("m::k", "f::g"), "{refs:?}");
    assert!(has("m::k::tests", "m::k::h::H"), "{refs:?}");
    assert!(!refs
        .iter()
        .any(|(_, t)| t.starts_with('z') || t.starts_with('y')));
    let edges = BTreeMap::from([
        (("a".to_string(), "b".to_string()), String::new()),
        (("b".to_string(), "c".to_string()), String::new()),
        (("c".to_string(), "a".to_string()), String::new()),
        (("c".to_string(), "d".to_string()), String::new()),
    ]);
    assert_eq!(cycles(&edges), vec![vec!["a", "b", "c", "a"]]);
    assert_eq!(
        sibling_edge(&vec!["kafka".into(), "wire".into()], &vec!["kafka".into()]),
        None
    );
}
