//! Glob matching for KEYS and SCAN MATCH patterns, written from Redis's documented
//! rules (`*`, `?`, `[abc]`, `[^a]`, `[a-z]`, `\x`), independently of the core's.

/// Does `text` match `pattern`?
pub fn matches(pattern: &[u8], text: &[u8]) -> bool {
    match pattern.split_first() {
        None => text.is_empty(),
        Some((b'*', rest)) => {
            // Collapse runs of stars; then try every split point.
            let mut rest = rest;
            while let Some((b'*', r)) = rest.split_first() {
                rest = r;
            }
            if rest.is_empty() {
                return true;
            }
            (0..=text.len()).any(|i| matches(rest, &text[i..]))
        }
        Some((b'?', rest)) => !text.is_empty() && matches(rest, &text[1..]),
        Some((b'[', rest)) => {
            let Some((&c, text_rest)) = text.split_first() else {
                return false;
            };
            let (hit, after) = class(rest, c);
            hit && matches(after, text_rest)
        }
        Some((b'\\', rest)) if !rest.is_empty() => {
            text.first() == Some(&rest[0]) && matches(&rest[1..], &text[1..])
        }
        Some((&p, rest)) => text.first() == Some(&p) && matches(rest, &text[1..]),
    }
}

/// Match `c` against the class starting after `[`; returns the verdict and the
/// pattern after the closing `]` (an unclosed class runs to the end, as in Redis).
fn class(mut p: &[u8], c: u8) -> (bool, &[u8]) {
    let negate = p.first() == Some(&b'^');
    if negate {
        p = &p[1..];
    }
    let mut hit = false;
    loop {
        match p {
            [] => break,
            [b']', rest @ ..] => {
                p = rest;
                break;
            }
            [b'\\', x, rest @ ..] => {
                hit |= *x == c;
                p = rest;
            }
            [lo, b'-', hi, rest @ ..] if *hi != b']' => {
                let (lo, hi) = if lo <= hi { (*lo, *hi) } else { (*hi, *lo) };
                hit |= (lo..=hi).contains(&c);
                p = rest;
            }
            [x, rest @ ..] => {
                hit |= *x == c;
                p = rest;
            }
        }
    }
    (hit != negate, p)
}

#[cfg(test)]
mod tests {
    use super::matches;

    #[test]
    fn redis_glob_rules() {
        let yes = [
            ("*", ""),
            ("*", "k:1"),
            ("k:?", "k:1"),
            ("k:1*", "k:12"),
            ("k:[0-4]*", "k:3x"),
            ("k:[^1]", "k:2"),
            ("*1", "k:11"),
            ("a\\*b", "a*b"),
            ("[a-c]", "b"),
            ("[c-a]", "b"),
        ];
        let no = [
            ("k:?", "k:12"),
            ("k:[^1]", "k:1"),
            ("k:[0-4]*", "k:5"),
            ("a\\*b", "axb"),
            ("?", ""),
        ];
        for (p, t) in yes {
            assert!(matches(p.as_bytes(), t.as_bytes()), "{p} should match {t}");
        }
        for (p, t) in no {
            assert!(
                !matches(p.as_bytes(), t.as_bytes()),
                "{p} should not match {t}"
            );
        }
    }
}
