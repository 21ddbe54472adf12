//! Reading an AOF file's commands (the command part of Redis's
//! loadSingleAppendOnlyFile): `*<argc>` then `$<len>` bulk arguments, `#` annotation
//! lines skipped, with the offset of the last whole command so a torn tail can be
//! cut back, and MULTI/EXEC blocks kept whole (an unfinished one counts as torn).

/// How a file's command stream ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum End {
    /// At a command boundary.
    Whole,
    /// Mid-command or inside an unfinished MULTI: only `valid_up_to` bytes hold
    /// whole commands (a transaction without its EXEC is not whole).
    Torn { valid_up_to: usize, in_multi: bool },
    /// Not an AOF: Redis's "Bad file format" (`offset` for the refusal).
    BadFormat { offset: usize },
}

/// The commands of one file, ready to run, and how it ended.
#[derive(Debug, Default)]
pub struct Parsed {
    /// Each command's arguments. MULTI and EXEC are included: the caller runs a
    /// block's commands together.
    pub commands: Vec<Vec<Vec<u8>>>,
    pub end: Option<End>,
}

/// The longest annotation line Redis reads (AOF_ANNOTATION_LINE_MAX_LEN).
const ANNOTATION_MAX: usize = 1024;

fn line(data: &[u8], at: usize) -> Option<(&[u8], usize)> {
    let rest = &data[at..];
    let nl = rest.iter().position(|&c| c == b'\n')?;
    Some((&rest[..nl], at + nl + 1))
}

/// C's atoi/strtol on a header: leading digits (and sign), the rest ignored.
fn leading_int(s: &[u8]) -> i64 {
    let mut i = 0;
    let neg = s.first() == Some(&b'-');
    if neg || s.first() == Some(&b'+') {
        i = 1;
    }
    let mut v: i64 = 0;
    while let Some(d) = s.get(i).filter(|c| c.is_ascii_digit()) {
        v = v.saturating_mul(10).saturating_add((d - b'0') as i64);
        i += 1;
    }
    if neg {
        -v
    } else {
        v
    }
}

/// Parse `data` (the file after any RDB preamble, `base` its offset in the file).
pub fn parse(data: &[u8], base: usize) -> Parsed {
    let mut out = Parsed::default();
    let mut pos = 0usize;
    let mut valid_up_to = 0usize;
    let mut valid_before_multi = 0usize;
    let mut multi_start: Option<usize> = None;
    // Torn inside a transaction: back to before its MULTI, and none of its commands
    // run. (Redis cuts at the last whole command and reverts the dangling MULTI on
    // the next load; cutting it at once leaves a file that ends whole.)
    let mut multi_index = 0usize;
    let torn = |out: &mut Parsed,
                valid: usize,
                before_multi: usize,
                multi_index: usize,
                in_multi: bool| {
        if in_multi {
            out.commands.truncate(multi_index);
        }
        End::Torn {
            valid_up_to: base + if in_multi { before_multi } else { valid },
            in_multi,
        }
    };
    // Every way the data can end mid-command: cut back and stop.
    macro_rules! return_torn {
        () => {{
            out.end = Some(torn(
                &mut out,
                valid_up_to,
                valid_before_multi,
                multi_index,
                multi_start.is_some(),
            ));
            return out;
        }};
    }
    loop {
        if pos >= data.len() {
            break;
        }
        if data[pos] == b'#' {
            // An annotation: skipped (fgets reads at most the line's first 1023 bytes,
            // the rest would then be read as a command).
            match line(data, pos) {
                Some((l, next)) if l.len() < ANNOTATION_MAX - 1 => {
                    pos = next;
                    continue;
                }
                Some(_) => {
                    out.end = Some(End::BadFormat { offset: base + pos });
                    return out;
                }
                None => {
                    return_torn!();
                }
            }
        }
        let start = pos;
        if data[pos] != b'*' {
            out.end = Some(End::BadFormat { offset: base + pos });
            return out;
        }
        let Some((head, next)) = line(data, pos) else {
            return_torn!();
        };
        let argc = leading_int(&head[1..]);
        if argc < 1 {
            out.end = Some(End::BadFormat { offset: base + pos });
            return out;
        }
        pos = next;
        let mut argv = Vec::new();
        for _ in 0..argc {
            if pos >= data.len() {
                return_torn!();
            }
            if data[pos] != b'$' {
                out.end = Some(End::BadFormat { offset: base + pos });
                return out;
            }
            let Some((h, next)) = line(data, pos) else {
                return_torn!();
            };
            let len = leading_int(&h[1..]);
            let Ok(len) = usize::try_from(len) else {
                out.end = Some(End::BadFormat { offset: base + pos });
                return out;
            };
            if data.len() - next < len.saturating_add(2) {
                return_torn!();
            }
            argv.push(data[next..next + len].to_vec());
            pos = next + len + 2;
        }
        let name = argv[0].to_ascii_lowercase();
        if name == b"multi" {
            valid_before_multi = valid_up_to;
            multi_start = Some(start);
            multi_index = out.commands.len();
        } else if name == b"exec" {
            multi_start = None;
        }
        out.commands.push(argv);
        valid_up_to = pos;
    }
    if multi_start.is_some() {
        // "Revert incomplete MULTI/EXEC transaction": cut back to before the MULTI.
        out.end = Some(torn(
            &mut out,
            valid_up_to,
            valid_before_multi,
            multi_index,
            true,
        ));
        return out;
    }
    out.end = Some(End::Whole);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmd(words: &[&str]) -> Vec<u8> {
        let argv: Vec<Vec<u8>> = words.iter().map(|w| w.as_bytes().to_vec()).collect();
        let mut out = Vec::new();
        crate::server::propagate::encode_argv(&argv, &mut out);
        out
    }

    #[test]
    fn whole_files_annotations_and_transactions() {
        let mut data = b"#TS:1700000000\r\n".to_vec();
        data.extend(cmd(&["SELECT", "0"]));
        data.extend(cmd(&["MULTI"]));
        data.extend(cmd(&["SET", "a", "1"]));
        data.extend(cmd(&["EXEC"]));
        let p = parse(&data, 0);
        assert_eq!(p.end, Some(End::Whole));
        assert_eq!(p.commands.len(), 4);
        assert_eq!(
            p.commands[2],
            vec![b"SET".to_vec(), b"a".to_vec(), b"1".to_vec()]
        );
    }

    #[test]
    fn torn_tails_are_cut_back_to_the_last_whole_command() {
        let mut data = cmd(&["SET", "a", "1"]);
        let whole = data.len();
        let next = cmd(&["SET", "b", "2"]);
        for cut in 1..next.len() {
            let mut d = data.clone();
            d.extend_from_slice(&next[..cut]);
            let p = parse(&d, 100);
            assert_eq!(
                p.end,
                Some(End::Torn {
                    valid_up_to: 100 + whole,
                    in_multi: false
                }),
                "cut at {cut}"
            );
            assert_eq!(p.commands.len(), 1);
        }
        // A transaction without its EXEC goes back to before the MULTI.
        data.extend(cmd(&["MULTI"]));
        data.extend(cmd(&["SET", "b", "2"]));
        let p = parse(&data, 0);
        assert_eq!(
            p.end,
            Some(End::Torn {
                valid_up_to: whole,
                in_multi: true
            })
        );
        assert_eq!(
            p.commands.len(),
            1,
            "the unfinished transaction does not run"
        );
        data.extend_from_slice(b"*2\r\n$3\r\nDEL");
        let p = parse(&data, 0);
        assert_eq!(p.commands.len(), 1);
        assert_eq!(
            p.end,
            Some(End::Torn {
                valid_up_to: whole,
                in_multi: true
            })
        );
    }

    #[test]
    fn garbage_is_a_bad_format() {
        let mut data = cmd(&["SET", "a", "1"]);
        let at = data.len();
        data.extend_from_slice(b"hello\r\n");
        assert_eq!(parse(&data, 0).end, Some(End::BadFormat { offset: at }));
        assert_eq!(parse(b"*0\r\n", 0).end, Some(End::BadFormat { offset: 0 }));
        assert_eq!(
            parse(b"*1\r\nx\r\n", 0).end,
            Some(End::BadFormat { offset: 4 })
        );
    }
}
