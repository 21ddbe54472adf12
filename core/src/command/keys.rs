//! Which arguments of a request are keys, with their access flags: Redis's
//! getKeysFromCommandWithSpecs. Key specs decide, except where a command's key flags
//! depend on its options (VARIABLE_FLAGS), where the command's own rule applies.
//! COMMAND GETKEYS uses it now; ACL key checks and propagation will too.

use super::spec::{
    BeginSearch, CommandSpec, FindKeys, KeySpec, KEY_ACCESS, KEY_INCOMPLETE, KEY_NOT_KEY, KEY_OW,
    KEY_RW, KEY_UPDATE, KEY_VARIABLE_FLAGS,
};
use crate::resp::Args;
use crate::util::parse_i64;

/// One key: its argument index and key-spec flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyRef {
    pub pos: usize,
    pub flags: u64,
}

/// Does the command take keys at all (a spec that is not NOT_KEY, or its own rule)?
pub fn has_keys(spec: &CommandSpec) -> bool {
    spec.key_specs.iter().any(|k| k.flags & KEY_NOT_KEY == 0)
        || custom_rule(spec.fullname).is_some()
}

type CustomRule = fn(&Args<'_>) -> Option<Vec<KeyRef>>;

/// Commands whose key flags depend on their arguments (Redis's *GetKeys functions).
fn custom_rule(fullname: &str) -> Option<CustomRule> {
    match fullname {
        "set" => Some(set_keys),
        _ => None,
    }
}

/// SET's key is read too when GET is given.
fn set_keys(args: &Args<'_>) -> Option<Vec<KeyRef>> {
    let get = args.iter().skip(3).any(|a| a.eq_ignore_ascii_case(b"get"));
    let flags = if get {
        KEY_RW | KEY_ACCESS | KEY_UPDATE
    } else {
        KEY_OW | KEY_UPDATE
    };
    Some(vec![KeyRef { pos: 1, flags }])
}

/// The keys of a request (`args[0]` is the command, or the container's name for a
/// subcommand). None when the arguments do not fit the command's key layout.
pub fn command_keys(spec: &CommandSpec, args: &Args<'_>) -> Option<Vec<KeyRef>> {
    let variable = spec
        .key_specs
        .iter()
        .any(|k| k.flags & KEY_VARIABLE_FLAGS != 0);
    let rule = custom_rule(spec.fullname);
    if !variable {
        if let Some(keys) = keys_from_specs(spec, args) {
            return Some(keys);
        }
    }
    match rule {
        Some(rule) => rule(args),
        None if variable => keys_from_specs(spec, args),
        None => None,
    }
}

/// Redis's getKeysUsingKeySpecs without partial results.
fn keys_from_specs(spec: &CommandSpec, args: &Args<'_>) -> Option<Vec<KeyRef>> {
    let argc = args.len() as i64;
    let mut keys = Vec::new();
    for ks in spec.key_specs {
        if ks.flags & KEY_NOT_KEY != 0 {
            continue;
        }
        let first = begin(ks, args, argc)?;
        let Some(first) = first else { continue };
        let (first, last, step) = match ks.find_keys {
            FindKeys::Range {
                lastkey,
                keystep,
                limit,
            } => {
                let last = if lastkey >= 0 {
                    first + lastkey as i64
                } else if limit == 0 {
                    argc + lastkey as i64
                } else {
                    debug_assert_eq!(lastkey, -1);
                    first + ((argc - first) / limit as i64 + lastkey as i64)
                };
                (first, last, keystep as i64)
            }
            FindKeys::Keynum {
                keynumidx,
                firstkey,
                keystep,
            } => {
                if keynumidx as i64 >= argc {
                    return None;
                }
                let idx = first + keynumidx as i64;
                let numkeys = args
                    .try_get(idx as usize)
                    .and_then(parse_i64)
                    .filter(|n| *n >= 0)?;
                let first = first + firstkey as i64;
                (first, first + numkeys - 1, keystep as i64)
            }
            FindKeys::Unknown => return None,
        };
        if last >= argc || last < first || first >= argc {
            return None;
        }
        let mut i = first;
        while i <= last {
            keys.push(KeyRef {
                pos: i as usize,
                flags: ks.flags,
            });
            i += step.max(1);
        }
        if ks.flags & KEY_INCOMPLETE != 0 {
            return None;
        }
    }
    Some(keys)
}

/// Where a spec's keys begin: Some(None) when its keyword is absent (no keys from
/// this spec), None when the spec cannot be used.
fn begin(ks: &KeySpec, args: &Args<'_>, argc: i64) -> Option<Option<i64>> {
    match ks.begin_search {
        BeginSearch::Index(pos) => Some(Some(pos as i64)),
        BeginSearch::Keyword { keyword, startfrom } => {
            let start = if startfrom > 0 {
                startfrom as i64
            } else {
                argc + startfrom as i64
            };
            let end = if startfrom > 0 { argc - 1 } else { 1 };
            // Like Redis, the scan stops before `end` (a keyword there would have no key).
            let mut i = start;
            while i != end {
                if i >= argc || i < 1 {
                    break;
                }
                if args
                    .get(i as usize)
                    .eq_ignore_ascii_case(keyword.as_bytes())
                {
                    return Some(Some(i + 1));
                }
                i += if start <= end { 1 } else { -1 };
            }
            Some(None)
        }
        BeginSearch::Unknown => None,
    }
}
