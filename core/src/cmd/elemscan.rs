//! HSCAN, SSCAN and ZSCAN share Redis's scanGenericCommand: the options after the
//! cursor (COUNT, MATCH; no TYPE), a cursor walk over the hash table of a big encoding,
//! or everything at once with cursor 0 for a compact one, then MATCH filtering on the
//! member (and dropping its value with it, for hashes and sorted sets).

use super::{arg_i64, ERR_SYNTAX};
use crate::command::Ctx;
use crate::glob::glob_match;
use crate::util::eq_ic;

pub struct ElementScan<'a> {
    pub count: usize,
    pub pattern: Option<&'a [u8]>,
}

/// Parse the options starting at argument 3 (after key and cursor).
pub fn parse_options<'a>(ctx: &mut Ctx<'a>) -> Option<ElementScan<'a>> {
    let mut scan = ElementScan {
        count: 10,
        pattern: None,
    };
    let mut i = 3;
    while i < ctx.argc() {
        let left = ctx.argc() - i;
        let opt = ctx.arg(i);
        if eq_ic(opt, "count") && left >= 2 {
            let n = arg_i64(ctx, i + 1)?;
            if n < 1 {
                ctx.reply.error(ERR_SYNTAX);
                return None;
            }
            scan.count = usize::try_from(n).unwrap_or(usize::MAX);
        } else if eq_ic(opt, "match") && left >= 2 {
            let p = ctx.arg(i + 1);
            scan.pattern = if p == b"*" { None } else { Some(p) };
        } else {
            ctx.reply.error(ERR_SYNTAX);
            return None;
        }
        i += 2;
    }
    Some(scan)
}

/// Reply `[cursor, [items…]]`, keeping only members that match the pattern. With
/// `pairs`, items alternate member and value and a value goes with its member.
pub fn reply(
    ctx: &mut Ctx<'_>,
    cursor: u64,
    items: Vec<Vec<u8>>,
    pairs: bool,
    pattern: Option<&[u8]>,
) {
    let kept: Vec<Vec<u8>> = match pattern {
        None => items,
        Some(p) => {
            let step = if pairs { 2 } else { 1 };
            let mut kept = Vec::with_capacity(items.len());
            let mut it = items.into_iter();
            while let Some(member) = it.next() {
                let value = if pairs { it.next() } else { None };
                if glob_match(p, &member, false) {
                    kept.push(member);
                    kept.extend(value);
                }
            }
            debug_assert_eq!(kept.len() % step, 0);
            kept
        }
    };
    ctx.reply.array(2);
    ctx.reply.bulk(cursor.to_string().as_bytes());
    ctx.reply.array(kept.len());
    for item in &kept {
        ctx.reply.bulk(item);
    }
}

/// The reply for a missing key: cursor 0, no elements.
pub fn reply_empty(ctx: &mut Ctx<'_>) {
    ctx.reply.array(2);
    ctx.reply.bulk(b"0");
    ctx.reply.array(0);
}
