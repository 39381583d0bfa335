//! A short, deterministic fuzz run on stable (CI): mutations of the good and bad corpora —
//! byte flips, truncations, spliced lines, repeated keys, odd scalars — through the experiment
//! and compose parsers. No input may panic. Longer coverage-guided runs: fuzz/ (cargo-fuzz).

use rand::{rngs::StdRng, Rng, SeedableRng};
use std::path::Path;

const ITERATIONS: usize = 20_000;
const TOKENS: &[&str] = &[
    "{",
    "}",
    "[",
    "]",
    ": ",
    "- ",
    "&a ",
    "*a",
    "!!str ",
    "~",
    "\t",
    "\"",
    "'",
    "#",
    "\n",
    "  ",
    "99999999999999999999",
    "-1",
    "1e309",
    "null",
    "true",
    "${X:?}",
    "${",
    "$$",
    "orders/",
    "/0",
    "…",
    "\u{0}",
];

fn corpus() -> Vec<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut texts = Vec::new();
    for dir in [
        "experiments",
        "compose",
        "tests/experiments",
        "tests/fixtures/bad/experiments",
        "tests/fixtures/bad/compose",
        "tests/fixtures/good",
    ] {
        for entry in std::fs::read_dir(root.join(dir)).unwrap() {
            if let Ok(text) = std::fs::read_to_string(entry.unwrap().path()) {
                texts.push(text);
            }
        }
    }
    texts
}

fn mutate(rng: &mut StdRng, text: &str) -> String {
    let mut s = text.to_string();
    for _ in 0..rng.gen_range(1..6) {
        let at = if s.is_empty() {
            0
        } else {
            rng.gen_range(0..=s.len())
        };
        let at = (0..=at).rev().find(|i| s.is_char_boundary(*i)).unwrap_or(0);
        match rng.gen_range(0..5) {
            0 => s.insert_str(at, TOKENS[rng.gen_range(0..TOKENS.len())]),
            1 => s.truncate(at),
            2 => {
                let end = (at..=s.len())
                    .find(|i| {
                        s.is_char_boundary(*i) && *i >= at + rng.gen_range(0..40).min(s.len() - at)
                    })
                    .unwrap_or(s.len());
                s.replace_range(at..end, "");
            }
            3 => {
                let line = s
                    .lines()
                    .nth(rng.gen_range(0..s.lines().count().max(1)))
                    .unwrap_or("")
                    .to_string();
                s.insert_str(at, &format!("\n{line}\n"));
            }
            _ => {
                let dup = s[at..].chars().take(30).collect::<String>();
                s.insert_str(at, &dup);
            }
        }
    }
    s
}

#[test]
fn no_mutated_input_makes_a_parser_panic() {
    let corpus = corpus();
    assert!(corpus.len() > 50);
    let mut rng = StdRng::seed_from_u64(0x5eed);
    let started = std::time::Instant::now();
    for i in 0..ITERATIONS {
        let input = mutate(&mut rng, &corpus[i % corpus.len()]);
        let e = std::panic::catch_unwind(|| {
            chaos::experiment::parse(&input, Path::new("m.yaml"))
                .err()
                .map(|e| e.to_string())
        });
        assert!(e.is_ok(), "experiment parser panicked on:\n{input}");
        // Every error of the file (validate): each part read on its own, lines found in the text.
        let all = std::panic::catch_unwind(|| {
            chaos::experiment::parse_all(&input, Path::new("m.yaml"))
                .err()
                .map(|errors| errors.iter().map(|e| e.to_string()).collect::<Vec<_>>())
        });
        assert!(
            all.is_ok(),
            "experiment parser (every error) panicked on:\n{input}"
        );
        if let Ok(Some(messages)) = &all {
            assert!(!messages.is_empty(), "an error without a message:\n{input}");
            for message in messages {
                assert!(
                    message.starts_with("m.yaml"),
                    "every error names the file: {message}"
                );
            }
        }
        let c = std::panic::catch_unwind(|| {
            chaos::compose::parse(&input, Path::new("m.yml"), &|_| None)
                .err()
                .map(|e| e.to_string())
        });
        assert!(c.is_ok(), "compose parser panicked on:\n{input}");
        if let Ok(Some(message)) = e {
            assert!(
                message.starts_with("m.yaml"),
                "every error names the file: {message}"
            );
        }
    }
    eprintln!(
        "{ITERATIONS} mutated inputs through both parsers in {:.1} s",
        started.elapsed().as_secs_f64()
    );
}
