#!/usr/bin/env python3
"""Generate core/src/command/specs.rs from Redis 7.0's per-command JSON files.

The JSON files are Redis's single source of truth for command metadata (arity, flags,
key specs, ACL categories, documentation). We read them for facts only and emit a Rust
table; the handlers are ours and are attached at runtime by name.

Usage: tools/gen_command_specs.py <redis-7.0-src/commands dir> > core/src/command/specs.rs

Where cinnabar follows a newer Redis for one feature (ZRANK/ZREVRANK WITHSCORE comes
from Redis 7.2), `tools/command-overrides/*.json` holds our own statement of those
facts: `{"ZRANK": {"arity": -3, ...}}` replaces the named top-level fields of that
command's 7.0 entry and leaves the rest as 7.0 has it. Keys starting with `_` are
comments. An override naming a command or subcommand 7.0 lacks is an error.
"""
import glob
import json
import os
import sys

CMD_FLAGS = [
    "WRITE", "READONLY", "DENYOOM", "MODULE", "ADMIN", "PUBSUB", "NOSCRIPT", "BLOCKING",
    "LOADING", "STALE", "SKIP_MONITOR", "SKIP_SLOWLOG", "ASKING", "FAST", "NO_AUTH",
    "MAY_REPLICATE", "SENTINEL", "ONLY_SENTINEL", "NO_MANDATORY_KEYS", "PROTECTED",
    "MODULE_GETKEYS", "MODULE_NO_CLUSTER", "NO_ASYNC_LOADING", "NO_MULTI", "MOVABLE_KEYS",
    "ALLOW_BUSY", "MODULE_GETCHANNELS", "TOUCHES_ARBITRARY_KEYS",
]
ACL_CATS = [
    "KEYSPACE", "READ", "WRITE", "SET", "SORTEDSET", "LIST", "HASH", "STRING", "BITMAP",
    "HYPERLOGLOG", "GEO", "STREAM", "PUBSUB", "ADMIN", "FAST", "SLOW", "BLOCKING",
    "DANGEROUS", "CONNECTION", "TRANSACTION", "SCRIPTING",
]
KEY_FLAGS = [
    "RO", "RW", "OW", "RM", "ACCESS", "UPDATE", "INSERT", "DELETE", "NOT_KEY", "INCOMPLETE",
    "VARIABLE_FLAGS",
]
ARG_TYPES = {
    "string": "String", "integer": "Integer", "double": "Double", "key": "Key",
    "pattern": "Pattern", "unix-time": "UnixTime", "pure-token": "PureToken",
    "oneof": "OneOf", "block": "Block",
}


def rs_str(s):
    if s is None:
        return "None"
    return "Some(" + json.dumps(s, ensure_ascii=False) + ")"


def lit(s):
    return json.dumps(s, ensure_ascii=False)


def bits(names, table, prefix):
    out = []
    for n in names:
        if n not in table:
            raise SystemExit(f"unknown {prefix} flag {n}")
        out.append(f"{prefix}{n}")
    return " | ".join(out) if out else "0"


def implicit_acl(flags, cats):
    cats = set(cats)
    if "WRITE" in flags:
        cats.add("WRITE")
    if "READONLY" in flags and "SCRIPTING" not in cats:
        cats.add("READ")
    if "ADMIN" in flags:
        cats |= {"ADMIN", "DANGEROUS"}
    if "PUBSUB" in flags:
        cats.add("PUBSUB")
    if "FAST" in flags:
        cats.add("FAST")
    if "BLOCKING" in flags:
        cats.add("BLOCKING")
    if "FAST" not in cats:
        cats.add("SLOW")
    return [c for c in ACL_CATS if c in cats]


def legacy_range(specs, flags):
    """Mirror of Redis's populateCommandLegacyRangeSpec: (first, last, step, movable)."""
    movable = False
    if not specs:
        return 0, 0, 0, movable

    def is_range(s):
        return "index" in s["begin_search"] and "range" in s["find_keys"]

    if len(specs) == 1 and is_range(specs[0]):
        s = specs[0]
        if "INCOMPLETE" in s.get("flags", []):
            movable = True
        first = s["begin_search"]["index"]["pos"]
        last = s["find_keys"]["range"]["lastkey"]
        if last >= 0:
            last += first
        return first, last, s["find_keys"]["range"]["step"], movable
    first, last, prev_last = None, 0, 0
    for s in specs:
        if not is_range(s):
            movable = True
            continue
        pos = s["begin_search"]["index"]["pos"]
        rng = s["find_keys"]["range"]
        if rng["step"] != 1 or (prev_last and prev_last != pos - 1):
            movable = True
            continue
        if "INCOMPLETE" in s.get("flags", []):
            movable = True
        first = pos if first is None else min(first, pos)
        abs_last = rng["lastkey"]
        if abs_last >= 0:
            abs_last += pos
        # Redis compares as unsigned, so a negative lastkey wins.
        if (last & 0xFFFFFFFF) < (abs_last & 0xFFFFFFFF):
            last = abs_last
        prev_last = last
    if first is None:
        return 0, 0, 0, True
    rel = last if last < 0 else last - first
    abs_last = rel + first if rel >= 0 else rel
    return first, abs_last, 1, movable


def key_spec(s):
    bs = s["begin_search"]
    if "index" in bs:
        b = f"BeginSearch::Index({bs['index']['pos']})"
    elif "keyword" in bs:
        b = f"BeginSearch::Keyword {{ keyword: {lit(bs['keyword']['keyword'])}, startfrom: {bs['keyword']['startfrom']} }}"
    else:
        b = "BeginSearch::Unknown"
    fk = s["find_keys"]
    if "range" in fk:
        r = fk["range"]
        f = f"FindKeys::Range {{ lastkey: {r['lastkey']}, keystep: {r['step']}, limit: {r['limit']} }}"
    elif "keynum" in fk:
        k = fk["keynum"]
        f = f"FindKeys::Keynum {{ keynumidx: {k['keynumidx']}, firstkey: {k['firstkey']}, keystep: {k['step']} }}"
    else:
        f = "FindKeys::Unknown"
    return (f"KeySpec {{ notes: {rs_str(s.get('notes'))}, flags: {bits(s.get('flags', []), KEY_FLAGS, 'KEY_')}, "
            f"begin_search: {b}, find_keys: {f} }}")


def arg(a, ind):
    flags = []
    if a.get("optional"):
        flags.append("ARG_OPTIONAL")
    if a.get("multiple"):
        flags.append("ARG_MULTIPLE")
    if a.get("multiple_token"):
        flags.append("ARG_MULTIPLE_TOKEN")
    sub = args(a.get("arguments", []), ind + 4)
    pad = " " * ind
    return (f"{pad}ArgSpec {{ name: {lit(a['name'])}, kind: ArgType::{ARG_TYPES[a['type']]}, "
            f"key_spec_index: {a.get('key_spec_index', -1)}, token: {rs_str(a.get('token').upper() if a.get('token') else None)}, "
            f"summary: {rs_str(a.get('summary'))}, since: {rs_str(a.get('since'))}, "
            f"deprecated_since: {rs_str(a.get('deprecated_since'))}, "
            f"flags: {' | '.join(flags) if flags else '0'}, subargs: {sub} }}")


def args(lst, ind):
    if not lst:
        return "&[]"
    return "&[\n" + ",\n".join(arg(a, ind) for a in lst) + ",\n" + " " * (ind - 4) + "]"


def command(name, c, parent, subs, ind):
    flags = list(c.get("command_flags", []))
    specs = c.get("key_specs", [])
    first, last, step, movable = legacy_range(specs, flags)
    if movable and "MOVABLE_KEYS" not in flags:
        flags.append("MOVABLE_KEYS")
    cats = implicit_acl(flags, c.get("acl_categories", []))
    lname = name.lower()
    fullname = f"{parent.lower()}|{lname}" if parent else lname
    doc_flags = [f"DOC_{f}" for f in c.get("doc_flags", [])]
    history = ", ".join(f"({lit(h[0])}, {lit(h[1])})" for h in c.get("history", []) or [])
    tips = ", ".join(lit(t.lower()) for t in c.get("command_tips", []))
    pad = " " * ind
    sub_txt = "&[]"
    if subs:
        sub_txt = "&[\n" + ",\n".join(command(sn, sc, name, [], ind + 4) for sn, sc in subs) + ",\n" + pad + "]"
    ks = "&[]" if not specs else "&[" + ", ".join(key_spec(s) for s in specs) + "]"
    return (f"{pad}CommandSpec {{\n"
            f"{pad}    name: {lit(lname)},\n"
            f"{pad}    fullname: {lit(fullname)},\n"
            f"{pad}    summary: {rs_str(c.get('summary'))},\n"
            f"{pad}    since: {rs_str(c.get('since'))},\n"
            f"{pad}    group: {lit(c['group'])},\n"
            f"{pad}    complexity: {rs_str(c.get('complexity'))},\n"
            f"{pad}    doc_flags: {' | '.join(doc_flags) if doc_flags else '0'},\n"
            f"{pad}    deprecated_since: {rs_str(c.get('deprecated_since'))},\n"
            f"{pad}    replaced_by: {rs_str(c.get('replaced_by'))},\n"
            f"{pad}    history: {'&[]' if 'history' not in c else '&[' + history + ']'},\n"
            f"{pad}    has_history: {'true' if 'history' in c else 'false'},\n"
            f"{pad}    tips: &[{tips}],\n"
            f"{pad}    arity: {c['arity']},\n"
            f"{pad}    flags: {bits(flags, CMD_FLAGS, 'CMD_')},\n"
            f"{pad}    acl_categories: {bits(cats, ACL_CATS, 'ACL_')},\n"
            f"{pad}    first_key: {first},\n"
            f"{pad}    last_key: {last},\n"
            f"{pad}    key_step: {step},\n"
            f"{pad}    key_specs: {ks},\n"
            f"{pad}    args: {args(c.get('arguments', []), ind + 8)},\n"
            f"{pad}    has_args: {'true' if 'arguments' in c else 'false'},\n"
            f"{pad}    subcommands: {sub_txt},\n"
            f"{pad}}}")


OVERRIDES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "command-overrides")


def load_overrides():
    """{command name: {field: value}} from the overrides directory."""
    out = {}
    for path in sorted(glob.glob(os.path.join(OVERRIDES, "*.json"))):
        with open(path) as fh:
            for name, fields in json.load(fh).items():
                if name.startswith("_"):
                    continue
                if name in out:
                    raise SystemExit(f"{path}: {name} is overridden twice")
                out[name] = {k: v for k, v in fields.items() if not k.startswith("_")}
    return out


def main():
    src = sys.argv[1]
    overrides = load_overrides()
    top, subs = {}, {}
    for path in sorted(glob.glob(os.path.join(src, "*.json"))):
        with open(path) as fh:
            for name, c in json.load(fh).items():
                if "ONLY_SENTINEL" in c.get("command_flags", []):
                    continue
                if name in overrides:
                    c = {**c, **overrides.pop(name)}
                if "container" in c:
                    subs.setdefault(c["container"], []).append((name, c))
                else:
                    top[name] = c
    if overrides:
        raise SystemExit(f"overrides for commands Redis 7.0 lacks: {sorted(overrides)}")
    print("// @generated by tools/gen_command_specs.py from Redis 7.0.15 src/commands/*.json")
    print("// and tools/command-overrides/*.json.")
    print("// Command metadata (names, arity, flags, key specs, documentation) are facts of the")
    print("// Redis interface; the JSON they come from is Copyright (c) Redis Ltd., BSD-3-Clause.")
    print("// Do not edit by hand: change the generator and regenerate.")
    print("//! Redis 7.0's command metadata, one entry per command (subcommands nested).")
    print("#![allow(clippy::all)]")
    print("use super::spec::*;")
    print()
    print("pub static ALL: &[CommandSpec] = &[")
    for name in sorted(top):
        print(command(name, top[name], None, sorted(subs.get(name, [])), 4) + ",")
    print("];")


if __name__ == "__main__":
    main()
