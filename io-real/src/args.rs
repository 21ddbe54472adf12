//! redis-server's command line: `[config-file] [--name value ...] [-]`, turned into
//! redis.conf text (file first, then stdin, then the options, last one wins) exactly as
//! Redis's main() does, plus `--version` and `--help`.

/// What the command line asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Invocation {
    Version,
    Help,
    Run {
        config_file: Option<String>,
        config_from_stdin: bool,
        options: String,
    },
}

/// Redis's `sdscatrepr`: a quoted, escaped representation of an argument.
fn quote_arg(arg: &str) -> String {
    let mut s = String::from("\"");
    for b in arg.bytes() {
        match b {
            b'\\' => s.push_str("\\\\"),
            b'"' => s.push_str("\\\""),
            b'\n' => s.push_str("\\n"),
            b'\r' => s.push_str("\\r"),
            b'\t' => s.push_str("\\t"),
            0x07 => s.push_str("\\a"),
            0x08 => s.push_str("\\b"),
            c if c.is_ascii_graphic() || c == b' ' => s.push(c as char),
            c => s.push_str(&format!("\\x{c:02x}")),
        }
    }
    s.push('"');
    s
}

pub fn parse(argv: &[String]) -> Invocation {
    if argv.len() == 2 {
        match argv[1].as_str() {
            "-v" | "--version" => return Invocation::Version,
            "-h" | "--help" => return Invocation::Help,
            _ => {}
        }
    }
    let mut j = 1;
    let mut config_file = None;
    if argv.len() > 1 && !argv[1].starts_with('-') {
        config_file = Some(argv[1].clone());
        j = 2;
    }
    let mut options = String::new();
    let mut config_from_stdin = false;
    let mut last_had_arg = true;
    let last = argv.len().saturating_sub(1);
    while j < argv.len() {
        let arg = &argv[j];
        if arg == "-" && (j == 1 || j == last) {
            config_from_stdin = true;
        } else if last_had_arg && arg.starts_with("--") {
            if !options.is_empty() {
                options.push('\n');
            }
            options.push_str(&arg[2..]);
            options.push(' ');
            let words =
                cinnabar_core::resp::splitargs::split_args(arg.as_bytes()).map_or(0, |w| w.len());
            if words == 1 {
                last_had_arg = false;
                let next_is_option = j != last && argv[j + 1].starts_with("--");
                if arg.eq_ignore_ascii_case("--save") && (next_is_option || j == last) {
                    // `--save` with no value means "no save points", as in Redis 7.0.
                    options.push_str("\"\"");
                    last_had_arg = next_is_option;
                }
            } else {
                last_had_arg = true;
            }
        } else {
            options.push_str(&quote_arg(arg));
            options.push(' ');
            last_had_arg = true;
        }
        j += 1;
    }
    Invocation::Run {
        config_file,
        config_from_stdin,
        options,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(a: &[&str]) -> Vec<String> {
        std::iter::once("cinnabar-server")
            .chain(a.iter().copied())
            .map(String::from)
            .collect()
    }

    #[test]
    fn options_become_config_lines() {
        assert_eq!(
            parse(&args(&["--port", "7000", "--bind", "127.0.0.1", "::1"])),
            Invocation::Run {
                config_file: None,
                config_from_stdin: false,
                options: "port \"7000\" \nbind \"127.0.0.1\" \"::1\" ".into()
            }
        );
        assert_eq!(
            parse(&args(&["redis.conf", "--hz 20"])),
            Invocation::Run {
                config_file: Some("redis.conf".into()),
                config_from_stdin: false,
                options: "hz 20 ".into()
            }
        );
        assert_eq!(parse(&args(&["--version"])), Invocation::Version);
        let Invocation::Run { options, .. } = parse(&args(&["--save", "--port", "1"])) else {
            panic!()
        };
        assert_eq!(options, "save \"\"\nport \"1\" ");
    }
}
