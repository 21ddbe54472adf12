//! The COMMAND family: introspection of the command table exactly as Redis 7.0
//! reports it (COMMAND, COUNT, INFO, DOCS, LIST, GETKEYS, GETKEYSANDFLAGS, HELP).
//! Only commands cinnabar implements appear.

use super::ERR_SYNTAX;
use crate::command::keys::{command_keys, has_keys};
use crate::command::spec::{
    ArgSpec, BeginSearch, CommandSpec, FindKeys, ACL_CATEGORY_NAMES, ARG_MULTIPLE,
    ARG_MULTIPLE_TOKEN, ARG_OPTIONAL, CMD_FLAG_NAMES, DOC_DEPRECATED, DOC_SYSCMD, KEY_FLAG_NAMES,
};
use crate::command::table::Entry;
use crate::command::{Ctx, Handler, Lookup};
use crate::glob::glob_match;
use crate::resp::ReplyBuf;
use crate::server::Server;

pub const HANDLERS: &[(&str, Handler)] = &[
    ("command", command),
    ("command|count", command_count),
    ("command|info", command_info),
    ("command|docs", command_docs),
    ("command|list", command_list),
    ("command|getkeys", command_getkeys),
    ("command|getkeysandflags", command_getkeysandflags),
    ("command|help", command_help),
];

fn reply_flag_set(r: &mut ReplyBuf, flags: u64, names: &[(u64, &str)]) {
    let present: Vec<&str> = names
        .iter()
        .filter(|(f, _)| flags & f != 0)
        .map(|(_, n)| *n)
        .collect();
    r.set(present.len());
    for n in present {
        r.simple(n);
    }
}

fn reply_key_specs(r: &mut ReplyBuf, spec: &CommandSpec) {
    r.set(spec.key_specs.len());
    for ks in spec.key_specs {
        r.map(3 + ks.notes.is_some() as usize);
        if let Some(notes) = ks.notes {
            r.bulk_str("notes");
            r.bulk_str(notes);
        }
        r.bulk_str("flags");
        reply_flag_set(r, ks.flags, KEY_FLAG_NAMES);
        r.bulk_str("begin_search");
        r.map(2);
        r.bulk_str("type");
        match ks.begin_search {
            BeginSearch::Index(pos) => {
                r.bulk_str("index");
                r.bulk_str("spec");
                r.map(1);
                r.bulk_str("index");
                r.int(pos as i64);
            }
            BeginSearch::Keyword { keyword, startfrom } => {
                r.bulk_str("keyword");
                r.bulk_str("spec");
                r.map(2);
                r.bulk_str("keyword");
                r.bulk_str(keyword);
                r.bulk_str("startfrom");
                r.int(startfrom as i64);
            }
            BeginSearch::Unknown => {
                r.bulk_str("unknown");
                r.bulk_str("spec");
                r.map(0);
            }
        }
        r.bulk_str("find_keys");
        r.map(2);
        r.bulk_str("type");
        match ks.find_keys {
            FindKeys::Range {
                lastkey,
                keystep,
                limit,
            } => {
                r.bulk_str("range");
                r.bulk_str("spec");
                r.map(3);
                r.bulk_str("lastkey");
                r.int(lastkey as i64);
                r.bulk_str("keystep");
                r.int(keystep as i64);
                r.bulk_str("limit");
                r.int(limit as i64);
            }
            FindKeys::Keynum {
                keynumidx,
                firstkey,
                keystep,
            } => {
                r.bulk_str("keynum");
                r.bulk_str("spec");
                r.map(3);
                r.bulk_str("keynumidx");
                r.int(keynumidx as i64);
                r.bulk_str("firstkey");
                r.int(firstkey as i64);
                r.bulk_str("keystep");
                r.int(keystep as i64);
            }
            FindKeys::Unknown => {
                r.bulk_str("unknown");
                r.bulk_str("spec");
                r.map(0);
            }
        }
    }
}

/// One COMMAND INFO entry (Redis's addReplyCommandInfo).
fn reply_info(r: &mut ReplyBuf, entry: Entry, subs: &[Entry]) {
    let spec = entry.spec;
    r.array(10);
    r.bulk_str(spec.fullname);
    r.int(spec.arity as i64);
    reply_flag_set(r, spec.flags, CMD_FLAG_NAMES);
    r.int(spec.first_key as i64);
    r.int(spec.last_key as i64);
    r.int(spec.key_step as i64);
    let cats: Vec<&str> = ACL_CATEGORY_NAMES
        .iter()
        .enumerate()
        .filter(|(i, _)| spec.acl_categories & (1 << i) != 0)
        .map(|(_, n)| *n)
        .collect();
    r.set(cats.len());
    for c in cats {
        r.simple(&format!("@{c}"));
    }
    r.set(spec.tips.len());
    for t in spec.tips {
        r.bulk_str(t);
    }
    reply_key_specs(r, spec);
    if spec.subcommands.is_empty() {
        r.set(0);
    } else {
        r.array(subs.len());
        for s in subs {
            reply_info(r, *s, &[]);
        }
    }
}

fn reply_args(r: &mut ReplyBuf, args: &[ArgSpec]) {
    r.array(args.len());
    for a in args {
        let nested = matches!(
            a.kind,
            crate::command::spec::ArgType::OneOf | crate::command::spec::ArgType::Block
        );
        let len = 2
            + (a.key_spec_index != -1) as usize
            + a.token.is_some() as usize
            + a.summary.is_some() as usize
            + a.since.is_some() as usize
            + a.deprecated_since.is_some() as usize
            + (a.flags != 0) as usize
            + nested as usize;
        r.map(len);
        r.bulk_str("name");
        r.bulk_str(a.name);
        r.bulk_str("type");
        r.bulk_str(a.kind.name());
        if a.key_spec_index != -1 {
            r.bulk_str("key_spec_index");
            r.int(a.key_spec_index as i64);
        }
        if let Some(t) = a.token {
            r.bulk_str("token");
            r.bulk_str(t);
        }
        if let Some(s) = a.summary {
            r.bulk_str("summary");
            r.bulk_str(s);
        }
        if let Some(s) = a.since {
            r.bulk_str("since");
            r.bulk_str(s);
        }
        if let Some(s) = a.deprecated_since {
            r.bulk_str("deprecated_since");
            r.bulk_str(s);
        }
        if a.flags != 0 {
            r.bulk_str("flags");
            let names: &[(u64, &str)] = &[
                (ARG_OPTIONAL as u64, "optional"),
                (ARG_MULTIPLE as u64, "multiple"),
                (ARG_MULTIPLE_TOKEN as u64, "multiple_token"),
            ];
            reply_flag_set(r, a.flags as u64, names);
        }
        if nested {
            r.bulk_str("arguments");
            reply_args(r, a.subargs);
        }
    }
}

/// One COMMAND DOCS entry (Redis's addReplyCommandDocs).
fn reply_docs(r: &mut ReplyBuf, entry: Entry, subs: &[Entry]) {
    let spec = entry.spec;
    let has_subs = !spec.subcommands.is_empty();
    let len = 1
        + spec.summary.is_some() as usize
        + spec.since.is_some() as usize
        + spec.complexity.is_some() as usize
        + (spec.doc_flags != 0) as usize
        + spec.deprecated_since.is_some() as usize
        + spec.replaced_by.is_some() as usize
        + spec.has_history as usize
        + spec.has_args as usize
        + has_subs as usize;
    r.map(len);
    if let Some(s) = spec.summary {
        r.bulk_str("summary");
        r.bulk_str(s);
    }
    if let Some(s) = spec.since {
        r.bulk_str("since");
        r.bulk_str(s);
    }
    r.bulk_str("group");
    r.bulk_str(spec.group);
    if let Some(c) = spec.complexity {
        r.bulk_str("complexity");
        r.bulk_str(c);
    }
    if spec.doc_flags != 0 {
        r.bulk_str("doc_flags");
        reply_flag_set(
            r,
            spec.doc_flags as u64,
            &[
                (DOC_DEPRECATED as u64, "deprecated"),
                (DOC_SYSCMD as u64, "syscmd"),
            ],
        );
    }
    if let Some(d) = spec.deprecated_since {
        r.bulk_str("deprecated_since");
        r.bulk_str(d);
    }
    if let Some(d) = spec.replaced_by {
        r.bulk_str("replaced_by");
        r.bulk_str(d);
    }
    if spec.has_history {
        r.bulk_str("history");
        r.set(spec.history.len());
        for (since, change) in spec.history {
            r.array(2);
            r.bulk_str(since);
            r.bulk_str(change);
        }
    }
    if spec.has_args {
        r.bulk_str("arguments");
        reply_args(r, spec.args);
    }
    if has_subs {
        r.bulk_str("subcommands");
        r.map(subs.len());
        for s in subs {
            r.bulk_str(s.spec.fullname);
            reply_docs(r, *s, &[]);
        }
    }
}

fn command(srv: &mut Server, ctx: &mut Ctx<'_>) {
    let all: Vec<(Entry, Vec<Entry>)> = srv.commands.iter().collect();
    ctx.reply.array(all.len());
    for (e, subs) in all {
        reply_info(ctx.reply, e, &subs);
    }
}

fn command_count(srv: &mut Server, ctx: &mut Ctx<'_>) {
    ctx.reply.int(srv.commands.len() as i64);
}

fn command_info(srv: &mut Server, ctx: &mut Ctx<'_>) {
    if ctx.argc() == 2 {
        return command(srv, ctx);
    }
    ctx.reply.array(ctx.argc() - 2);
    for i in 2..ctx.argc() {
        match srv.commands.by_fullname(ctx.arg(i)) {
            Some((e, subs)) => reply_info(ctx.reply, e, &subs),
            None => ctx.reply.null(),
        }
    }
}

fn command_docs(srv: &mut Server, ctx: &mut Ctx<'_>) {
    let found: Vec<(Entry, Vec<Entry>)> = if ctx.argc() == 2 {
        srv.commands.iter().collect()
    } else {
        (2..ctx.argc())
            .filter_map(|i| srv.commands.by_fullname(ctx.arg(i)))
            .collect()
    };
    ctx.reply.map(found.len());
    for (e, subs) in found {
        ctx.reply.bulk_str(e.spec.fullname);
        reply_docs(ctx.reply, e, &subs);
    }
}

enum Filter<'a> {
    None,
    Module,
    AclCat(u64),
    Pattern(&'a [u8]),
}

fn command_list(srv: &mut Server, ctx: &mut Ctx<'_>) {
    let mut filter = Filter::None;
    let mut i = 2;
    while i < ctx.argc() {
        let more = ctx.argc() - 1 - i;
        if ctx.arg(i).eq_ignore_ascii_case(b"filterby") && more == 2 {
            let kind = ctx.arg(i + 1).to_ascii_lowercase();
            let value = ctx.arg(i + 2);
            filter = match kind.as_slice() {
                b"module" => Filter::Module,
                b"aclcat" => {
                    let lower = value.to_ascii_lowercase();
                    let bit = ACL_CATEGORY_NAMES
                        .iter()
                        .position(|n| n.as_bytes() == lower.as_slice());
                    Filter::AclCat(bit.map_or(0, |b| 1u64 << b))
                }
                b"pattern" => Filter::Pattern(value),
                _ => {
                    ctx.reply.error(ERR_SYNTAX);
                    return;
                }
            };
            i += 3;
        } else {
            ctx.reply.error(ERR_SYNTAX);
            return;
        }
    }
    let keep = |spec: &CommandSpec| match filter {
        Filter::None => true,
        // cinnabar has no modules: no command belongs to one.
        Filter::Module => false,
        Filter::AclCat(bit) => bit != 0 && spec.acl_categories & bit != 0,
        Filter::Pattern(p) => glob_match(p, spec.fullname.as_bytes(), true),
    };
    let mut names = Vec::new();
    for (e, subs) in srv.commands.iter() {
        if keep(e.spec) {
            names.push(e.spec.fullname);
        }
        for s in subs {
            if keep(s.spec) {
                names.push(s.spec.fullname);
            }
        }
    }
    ctx.reply.array(names.len());
    for n in names {
        ctx.reply.bulk_str(n);
    }
}

fn getkeys(srv: &mut Server, ctx: &mut Ctx<'_>, with_flags: bool) {
    let target = ctx.args.skip(2);
    let entry = match srv.commands.lookup(target.get(0), target.try_get(1)) {
        Lookup::Found(e) => e,
        _ => {
            ctx.reply.error("Invalid command specified");
            return;
        }
    };
    if !has_keys(entry.spec) {
        ctx.reply.error("The command has no key arguments");
        return;
    }
    if !entry.spec.arity_ok(target.len()) {
        ctx.reply
            .error("Invalid number of arguments specified for command");
        return;
    }
    let keys = command_keys(entry.spec, &target);
    let Some(keys) = keys else {
        if entry.spec.has(crate::command::spec::CMD_NO_MANDATORY_KEYS) {
            ctx.reply.array(0);
        } else {
            ctx.reply.error("Invalid arguments specified for command");
        }
        return;
    };
    ctx.reply.array(keys.len());
    for k in keys {
        let key = target.get(k.pos);
        if with_flags {
            ctx.reply.array(2);
            ctx.reply.bulk(key);
            reply_flag_set(ctx.reply, k.flags, KEY_FLAG_NAMES);
        } else {
            ctx.reply.bulk(key);
        }
    }
}

fn command_getkeys(srv: &mut Server, ctx: &mut Ctx<'_>) {
    getkeys(srv, ctx, false);
}

fn command_getkeysandflags(srv: &mut Server, ctx: &mut Ctx<'_>) {
    getkeys(srv, ctx, true);
}

fn command_help(_srv: &mut Server, ctx: &mut Ctx<'_>) {
    ctx.reply.help(
        "COMMAND",
        &[
            "(no subcommand)",
            "    Return details about all Redis commands.",
            "COUNT",
            "    Return the total number of commands in this Redis server.",
            "LIST",
            "    Return a list of all commands in this Redis server.",
            "INFO [<command-name> ...]",
            "    Return details about multiple Redis commands.",
            "    If no command names are given, documentation details for all",
            "    commands are returned.",
            "DOCS [<command-name> ...]",
            "    Return documentation details about multiple Redis commands.",
            "    If no command names are given, documentation details for all",
            "    commands are returned.",
            "GETKEYS <full-command>",
            "    Return the keys from a full Redis command.",
            "GETKEYSANDFLAGS <full-command>",
            "    Return the keys and the access flags from a full Redis command.",
        ],
    );
}

#[cfg(test)]
mod tests {
    use crate::testing::{Frame, TestServer};

    #[test]
    fn count_info_docs_list() {
        let mut t = TestServer::new();
        let count = t.server.commands.len() as i64;
        assert_eq!(t.cmd(&["COMMAND", "COUNT"]), Frame::Int(count));
        let Frame::Array(all) = t.cmd(&["COMMAND"]) else {
            panic!()
        };
        assert_eq!(all.len() as i64, count);
        let Frame::Array(info) = t.cmd(&["COMMAND", "INFO", "get", "nosuch"]) else {
            panic!()
        };
        assert_eq!(info[1], Frame::Null);
        let Frame::Array(get) = &info[0] else {
            panic!()
        };
        assert_eq!(get[0], Frame::bulk("get"));
        assert_eq!(get[1], Frame::Int(2));
        assert_eq!(get[3..6], [Frame::Int(1), Frame::Int(1), Frame::Int(1)]);
        // Containers list their implemented subcommands.
        let Frame::Array(config) = t.cmd(&["COMMAND", "INFO", "config"]) else {
            panic!()
        };
        let Frame::Array(fields) = &config[0] else {
            panic!()
        };
        let Frame::Array(subs) = &fields[9] else {
            panic!()
        };
        assert_eq!(subs.len(), 4);
        let Frame::Array(docs) = t.cmd(&["COMMAND", "DOCS", "get"]) else {
            panic!()
        };
        assert_eq!(docs[0], Frame::bulk("get"));
        let Frame::Array(list) = t.cmd(&["COMMAND", "LIST", "FILTERBY", "PATTERN", "client|*"])
        else {
            panic!()
        };
        assert!(list.contains(&Frame::bulk("client|list")));
        let Frame::Array(list) = t.cmd(&["COMMAND", "LIST", "FILTERBY", "ACLCAT", "string"]) else {
            panic!()
        };
        assert!(list.contains(&Frame::bulk("incrbyfloat")));
        assert!(!list.contains(&Frame::bulk("del")));
    }

    #[test]
    fn getkeys() {
        let mut t = TestServer::new();
        assert_eq!(
            t.cmd(&["COMMAND", "GETKEYS", "mset", "a", "1", "b", "2"]),
            Frame::array_of_bulks(&["a", "b"])
        );
        assert_eq!(
            t.cmd(&["COMMAND", "GETKEYSANDFLAGS", "set", "k", "v", "get"]),
            Frame::Array(vec![Frame::Array(vec![
                Frame::bulk("k"),
                Frame::Array(vec![
                    Frame::Simple("RW".into()),
                    Frame::Simple("access".into()),
                    Frame::Simple("update".into())
                ])
            ])])
        );
        assert_eq!(
            t.cmd(&["COMMAND", "GETKEYS", "ping", "x"]),
            Frame::err("ERR The command has no key arguments")
        );
        assert_eq!(
            t.cmd(&["COMMAND", "GETKEYS", "nosuch", "x"]),
            Frame::err("ERR Invalid command specified")
        );
        assert_eq!(
            t.cmd(&["COMMAND", "GETKEYS", "get", "a", "b"]),
            Frame::err("ERR Invalid number of arguments specified for command")
        );
    }
}
