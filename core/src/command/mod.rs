//! The command table: Redis 7.0's metadata for every command (generated `specs.rs`),
//! the handlers cinnabar implements (one module per family under `cmd/`), and the
//! lookup that dispatch, COMMAND, arity checks and (later) ACL and propagation share.
//!
//! A command is in the table only if it has a handler: COMMAND COUNT and COMMAND INFO
//! report what actually works.

pub mod keys;
pub mod spec;
pub mod specs;
pub mod table;

use crate::io::ConnId;
use crate::resp::{Args, ReplyBuf};
use crate::server::propagate::PropCtl;
use crate::server::Server;
pub use spec::CommandSpec;
pub use table::{CommandTable, Lookup};

/// Everything a command handler needs besides the server itself.
pub struct Ctx<'a> {
    pub conn: ConnId,
    pub args: Args<'a>,
    pub reply: &'a mut ReplyBuf,
    /// The client's selected database; SELECT changes it here and dispatch stores it.
    pub db: usize,
    pub spec: &'static CommandSpec,
    /// The command may not block (Redis's CLIENT_DENY_BLOCKING): set for commands run
    /// by EXEC, which must reply at once as if their timeout had passed.
    pub deny_blocking: bool,
    /// Someone listens to propagation (AOF on, replicas): rewrites are recorded only
    /// then, so a server without them builds no argument vectors.
    pub propagating: bool,
    /// What `call()` propagates for this command (see `server/propagate.rs`).
    pub prop: PropCtl,
}

impl<'a> Ctx<'a> {
    pub fn argc(&self) -> usize {
        self.args.len()
    }

    /// Argument `i`; borrowed from the request, not from the context, so it can be
    /// held while replying.
    pub fn arg(&self, i: usize) -> &'a [u8] {
        self.args.get(i)
    }

    /// The request's arguments, owned.
    pub fn request_argv(&self) -> Vec<Vec<u8>> {
        self.args.iter().map(|a| a.to_vec()).collect()
    }

    /// Propagate `argv` instead of the request (rewriteClientCommandVector).
    pub fn rewrite_argv(&mut self, argv: Vec<Vec<u8>>) {
        if self.propagating {
            self.prop.argv = Some(argv);
        }
    }

    /// Propagate the argv built by `f`, built only if someone listens.
    pub fn rewrite_argv_with(&mut self, f: impl FnOnce(&Ctx<'a>) -> Vec<Vec<u8>>) {
        if self.propagating {
            let argv = f(self);
            self.prop.argv = Some(argv);
        }
    }

    /// Replace argument `i` of the vector to propagate, or append it when `i` is its
    /// length (rewriteClientCommandArgument).
    pub fn rewrite_arg(&mut self, i: usize, value: &[u8]) {
        if !self.propagating {
            return;
        }
        let mut argv = match self.prop.argv.take() {
            Some(argv) => argv,
            None => self.request_argv(),
        };
        debug_assert!(i <= argv.len());
        if i == argv.len() {
            argv.push(value.to_vec());
        } else {
            argv[i] = value.to_vec();
        }
        self.prop.argv = Some(argv);
    }

    /// Propagate nothing for this command itself (preventCommandPropagation): it
    /// queued what it wants with `Server::also_propagate`.
    pub fn prevent_propagation(&mut self) {
        self.prop.prevent = true;
    }

    /// Propagate to `target` even if the dataset did not change
    /// (forceCommandPropagation).
    pub fn force_propagation(&mut self, target: u8) {
        self.prop.force |= target;
    }
}

pub type Handler = fn(&mut Server, &mut Ctx<'_>);
