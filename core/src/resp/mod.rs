//! RESP: the request parser (multibulk and inline) and the reply encoder (RESP2/RESP3).

pub mod parse;
pub mod reply;
pub mod splitargs;

pub use parse::{Args, Parse, ParseLimits, RequestParser};
pub use reply::ReplyBuf;
