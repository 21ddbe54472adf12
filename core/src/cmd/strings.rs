//! String commands (Redis's t_string.c).

use crate::command::{Ctx, Handler};
use crate::object::{StrValue, Value, WRONGTYPE};
use crate::server::Server;

pub const HANDLERS: &[(&str, Handler)] = &[("get", get), ("set", set)];

fn get(srv: &mut Server, ctx: &mut Ctx<'_>) {
    match srv.lookup_read(ctx.db, ctx.args.get(1)) {
        None => ctx.reply.null(),
        Some(obj) => match &obj.value {
            Value::Str(s) => ctx.reply.bulk(&s.as_bytes()),
            #[allow(unreachable_patterns)]
            _ => ctx.reply.error(WRONGTYPE),
        },
    }
}

fn set(srv: &mut Server, ctx: &mut Ctx<'_>) {
    let key = ctx.args.get(1);
    let value = StrValue::from_bytes(ctx.args.get(2));
    srv.set_key(ctx.db, key, Value::Str(value), false);
    srv.mark_dirty(1);
    ctx.reply.ok();
}
