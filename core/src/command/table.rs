//! Attaches handlers to specs and resolves `argv[0]` (and `argv[1]` for container
//! commands such as CONFIG and CLIENT) to a runnable command.

use super::spec::CommandSpec;
use super::specs::ALL;
use super::Handler;
use crate::util::FastMap;

#[derive(Clone, Copy)]
pub struct Entry {
    pub spec: &'static CommandSpec,
    pub handler: Option<Handler>,
}

struct TopLevel {
    entry: Entry,
    subcommands: FastMap<Box<[u8]>, Entry>,
}

pub struct CommandTable {
    commands: FastMap<Box<[u8]>, TopLevel>,
    /// Top-level commands in a stable order (COMMAND, COMMAND LIST).
    order: Vec<Box<[u8]>>,
}

/// The outcome of resolving a request's name.
pub enum Lookup {
    Found(Entry),
    /// No such command.
    Unknown,
    /// The container exists but not this subcommand.
    UnknownSubcommand,
}

/// Longest command or subcommand name we look up (longer ones cannot exist).
const NAME_MAX_BYTES: usize = 64;

fn lowercase(name: &[u8], buf: &mut [u8; NAME_MAX_BYTES]) -> Option<usize> {
    if name.len() > NAME_MAX_BYTES {
        return None;
    }
    for (d, s) in buf.iter_mut().zip(name) {
        *d = s.to_ascii_lowercase();
    }
    Some(name.len())
}

impl CommandTable {
    /// Build the table from `(fullname, handler)` pairs. Panics on a name that has no
    /// Redis spec or is registered twice: both are programming errors.
    pub fn new(handlers: &[(&'static str, Handler)]) -> CommandTable {
        let mut by_name: FastMap<&'static str, Handler> = FastMap::default();
        for (name, h) in handlers {
            assert!(
                by_name.insert(name, *h).is_none(),
                "command {name} registered twice"
            );
        }
        let mut commands = FastMap::default();
        let mut order = Vec::new();
        let mut used = 0;
        for spec in ALL {
            let mut subcommands = FastMap::default();
            for sub in spec.subcommands {
                if let Some(h) = by_name.get(sub.fullname) {
                    used += 1;
                    subcommands.insert(
                        sub.name.as_bytes().into(),
                        Entry {
                            spec: sub,
                            handler: Some(*h),
                        },
                    );
                }
            }
            let handler = by_name.get(spec.fullname).copied();
            if handler.is_some() {
                used += 1;
            }
            if handler.is_none() && subcommands.is_empty() {
                continue;
            }
            assert!(
                handler.is_some() || !spec.subcommands.is_empty(),
                "{} needs a handler",
                spec.fullname
            );
            let name: Box<[u8]> = spec.name.as_bytes().into();
            order.push(name.clone());
            commands.insert(
                name,
                TopLevel {
                    entry: Entry { spec, handler },
                    subcommands,
                },
            );
        }
        assert_eq!(
            used,
            by_name.len(),
            "a handler is registered under a name Redis 7.0 does not have"
        );
        CommandTable { commands, order }
    }

    /// Resolve a request. `args[0]` is the command; `args[1]` the subcommand if any.
    pub fn lookup(&self, name: &[u8], sub: Option<&[u8]>) -> Lookup {
        let mut buf = [0u8; NAME_MAX_BYTES];
        let Some(n) = lowercase(name, &mut buf) else {
            return Lookup::Unknown;
        };
        let Some(top) = self.commands.get(&buf[..n]) else {
            return Lookup::Unknown;
        };
        if top.entry.spec.subcommands.is_empty() {
            return Lookup::Found(top.entry);
        }
        // A container alone resolves to itself, so its arity error is reported.
        let Some(sub) = sub else {
            return Lookup::Found(top.entry);
        };
        let mut sbuf = [0u8; NAME_MAX_BYTES];
        match lowercase(sub, &mut sbuf).and_then(|n| top.subcommands.get(&sbuf[..n])) {
            Some(e) => Lookup::Found(*e),
            None => Lookup::UnknownSubcommand,
        }
    }

    /// Is this name a container command (CONFIG, CLIENT, …)?
    pub fn is_container(&self, name: &[u8]) -> bool {
        let mut buf = [0u8; NAME_MAX_BYTES];
        lowercase(name, &mut buf)
            .and_then(|n| self.commands.get(&buf[..n]))
            .is_some_and(|t| !t.entry.spec.subcommands.is_empty())
    }

    pub fn len(&self) -> usize {
        self.commands.len()
    }

    pub fn is_empty(&self) -> bool {
        self.commands.is_empty()
    }

    /// Top-level commands, each with its implemented subcommands.
    pub fn iter(&self) -> impl Iterator<Item = (Entry, Vec<Entry>)> + '_ {
        self.order.iter().map(move |name| {
            let top = &self.commands[name];
            let mut subs: Vec<Entry> = top.subcommands.values().copied().collect();
            subs.sort_by_key(|e| e.spec.name);
            (top.entry, subs)
        })
    }

    /// Find by full name (`get`, `config|get`), for COMMAND INFO/DOCS.
    pub fn by_fullname(&self, fullname: &[u8]) -> Option<(Entry, Vec<Entry>)> {
        let lower = fullname.to_ascii_lowercase();
        let mut parts = lower.splitn(2, |&c| c == b'|');
        let top = self.commands.get(parts.next()?)?;
        match parts.next() {
            None => {
                let mut subs: Vec<Entry> = top.subcommands.values().copied().collect();
                subs.sort_by_key(|e| e.spec.name);
                Some((top.entry, subs))
            }
            Some(sub) => top.subcommands.get(sub).map(|e| (*e, Vec::new())),
        }
    }
}
