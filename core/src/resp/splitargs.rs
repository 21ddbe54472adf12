//! Redis's `sdssplitargs`: split a line into arguments honouring "double quotes" with
//! C escapes (`\n`, `\xff`, …) and 'single quotes'. Used for inline requests and for
//! redis.conf lines.

fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

fn hex_val(c: u8) -> Option<u8> {
    (c as char).to_digit(16).map(|d| d as u8)
}

/// Split `line` into arguments appended to `out` (each as a `(start, end)` span into
/// `data`). Returns false on unbalanced quotes, leaving `data`/`out` partially filled.
pub fn split_args_into(line: &[u8], data: &mut Vec<u8>, out: &mut Vec<(usize, usize)>) -> bool {
    // The C implementation works on a NUL-terminated string: a NUL ends the line.
    let line = match line.iter().position(|&c| c == 0) {
        Some(nul) => &line[..nul],
        None => line,
    };
    let at = |i: usize| -> u8 { line.get(i).copied().unwrap_or(0) };
    let mut p = 0;
    loop {
        while p < line.len() && is_space(line[p]) {
            p += 1;
        }
        if p >= line.len() {
            return true;
        }
        let start = data.len();
        let (mut in_dq, mut in_sq, mut done) = (false, false, false);
        while !done {
            let c = at(p);
            if in_dq {
                if c == b'\\'
                    && at(p + 1) == b'x'
                    && hex_val(at(p + 2)).is_some()
                    && hex_val(at(p + 3)).is_some()
                {
                    let byte = hex_val(at(p + 2)).expect("checked") * 16
                        + hex_val(at(p + 3)).expect("checked");
                    data.push(byte);
                    p += 3;
                } else if c == b'\\' && at(p + 1) != 0 {
                    p += 1;
                    data.push(match at(p) {
                        b'n' => b'\n',
                        b'r' => b'\r',
                        b't' => b'\t',
                        b'b' => 0x08,
                        b'a' => 0x07,
                        other => other,
                    });
                } else if c == b'"' {
                    // A closing quote must be followed by a space or the end.
                    if at(p + 1) != 0 && !is_space(at(p + 1)) {
                        return false;
                    }
                    done = true;
                } else if c == 0 {
                    return false;
                } else {
                    data.push(c);
                }
            } else if in_sq {
                if c == b'\\' && at(p + 1) == b'\'' {
                    p += 1;
                    data.push(b'\'');
                } else if c == b'\'' {
                    if at(p + 1) != 0 && !is_space(at(p + 1)) {
                        return false;
                    }
                    done = true;
                } else if c == 0 {
                    return false;
                } else {
                    data.push(c);
                }
            } else {
                match c {
                    b' ' | b'\n' | b'\r' | b'\t' | 0 => done = true,
                    b'"' => in_dq = true,
                    b'\'' => in_sq = true,
                    other => data.push(other),
                }
            }
            if at(p) != 0 {
                p += 1;
            }
        }
        out.push((start, data.len()));
    }
}

/// Convenience form returning owned arguments, or None on unbalanced quotes.
pub fn split_args(line: &[u8]) -> Option<Vec<Vec<u8>>> {
    let mut data = Vec::new();
    let mut spans = Vec::new();
    if !split_args_into(line, &mut data, &mut spans) {
        return None;
    }
    Some(
        spans
            .into_iter()
            .map(|(s, e)| data[s..e].to_vec())
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::split_args;

    fn split(s: &str) -> Option<Vec<String>> {
        split_args(s.as_bytes()).map(|v| {
            v.into_iter()
                .map(|a| String::from_utf8_lossy(&a).into_owned())
                .collect()
        })
    }

    #[test]
    fn splits_like_sdssplitargs() {
        assert_eq!(
            split("set a b"),
            Some(vec!["set".into(), "a".into(), "b".into()])
        );
        assert_eq!(split("  set   a  "), Some(vec!["set".into(), "a".into()]));
        assert_eq!(
            split("set \"a b\" 'c d'"),
            Some(vec!["set".into(), "a b".into(), "c d".into()])
        );
        assert_eq!(split("\"\\x41\\n\""), Some(vec!["A\n".into()]));
        assert_eq!(split("'it\\'s'"), Some(vec!["it's".into()]));
        assert_eq!(split("\"abc"), None);
        assert_eq!(split("\"abc\"def"), None);
        assert_eq!(split("'abc"), None);
        assert_eq!(split(""), Some(vec![]));
        assert_eq!(split("a\"b\""), Some(vec!["ab".into()]));
    }
}
