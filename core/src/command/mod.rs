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
}

pub type Handler = fn(&mut Server, &mut Ctx<'_>);
