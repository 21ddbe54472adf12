//! Pub/sub, as Redis 7.0's `pubsub.c` and the subscribed-mode check of
//! `processCommand`: SUBSCRIBE, UNSUBSCRIBE, PSUBSCRIBE, PUNSUBSCRIBE, PUBLISH,
//! PUBSUB NUMSUB/NUMPAT/CHANNELS, and PING's subscribed-mode reply.
//!
//! Each connection's channels (a dict in Redis: UNSUBSCRIBE without arguments walks
//! them in an order the model leaves open) and patterns (a list: PUNSUBSCRIBE walks
//! them in subscription order). A (un)subscription confirmation carries the
//! connection's count of channels and patterns after it, a null channel when there
//! was nothing to unsubscribe from. PUBLISH counts one receiver per subscribed
//! connection and one per matching pattern of each connection; each receiver must
//! find, among the frames the server had sent it by the end of the PUBLISH's group
//! of inputs, the `message` first, then one `pmessage` per matching pattern (in the
//! order of Redis's pattern dict: open), in its protocol of the moment (RESP2
//! arrays, RESP3 pushes). Nothing else may arrive: every frame a subscriber reads
//! is a reply or a message the model expected.
//!
//! Shard channels (SSUBSCRIBE, SUNSUBSCRIBE, SPUBLISH, PUBSUB SHARDCHANNELS and
//! SHARDNUMSUB) are a third, separate dict per connection: their confirmations
//! count only the shard channels, SPUBLISH reaches only their subscribers with an
//! `smessage` (patterns never match it), while subscribed mode (the RESP2
//! restrictions, PING's reply) lasts as long as any of the three is not empty.

use super::{expect_exact, Model, Outboxes, Session};
use crate::glob;
use crate::resp::{self, take_reply, Proto, Reply};
use std::collections::BTreeSet;

/// The commands that reply one frame per channel or pattern.
pub(crate) const SUBSCRIBING: &[&str] = &[
    "subscribe",
    "unsubscribe",
    "psubscribe",
    "punsubscribe",
    "ssubscribe",
    "sunsubscribe",
];

/// One connection's subscriptions.
#[derive(Debug, Clone, Default)]
pub(crate) struct Subs {
    pub(crate) channels: BTreeSet<Vec<u8>>,
    pub(crate) patterns: Vec<Vec<u8>>,
    /// Shard channels (a dict too).
    pub(crate) shard: BTreeSet<Vec<u8>>,
    pub(crate) proto: Proto,
}

impl Subs {
    /// clientSubscriptionsCount: what SUBSCRIBE/PSUBSCRIBE confirmations count.
    pub(crate) fn count(&self) -> i64 {
        (self.channels.len() + self.patterns.len()) as i64
    }

    /// clientTotalPubSubSubscriptionCount: subscribed mode lasts while it is not 0.
    fn total(&self) -> i64 {
        self.count() + self.shard.len() as i64
    }
}

/// Messages a PUBLISH sent one connection: the `message` (if subscribed to the
/// channel) then the `pmessage`s, in any order.
#[derive(Debug, Clone)]
pub(crate) struct Delivery {
    session: String,
    message: Option<Vec<u8>>,
    pmessages: Vec<Vec<u8>>,
}

pub(crate) fn frame(p: Proto, parts: &[&[u8]], last: Option<i64>) -> Vec<u8> {
    let n = parts.len() + usize::from(last.is_some());
    let mut out = match p {
        Proto::Resp2 => resp::array_header(n),
        Proto::Resp3 => format!(">{n}\r\n").into_bytes(),
    };
    for part in parts {
        out.extend(resp::bulk(part));
    }
    if let Some(c) = last {
        out.extend(resp::int(c));
    }
    out
}

/// A confirmation with no channel (UNSUBSCRIBE with nothing subscribed).
fn null_confirmation(p: Proto, kind: &[u8], count: i64) -> Vec<u8> {
    let mut out = match p {
        Proto::Resp2 => resp::array_header(3),
        Proto::Resp3 => b">3\r\n".to_vec(),
    };
    out.extend(resp::bulk(kind));
    out.extend(p.nil());
    out.extend(resp::int(count));
    out
}

/// Whether a frame is a published message (what a subscriber reads unasked).
pub fn is_message(r: &Reply) -> bool {
    let (Reply::Array(items) | Reply::Push(items)) = r else {
        return false;
    };
    matches!(items.first(), Some(Reply::Bulk(k))
        if k == b"message" || k == b"pmessage" || k == b"smessage")
}

/// Frames a subscribing command replies for a connection with `subs`.
pub(crate) fn frames_for(name: &str, request: &[Vec<u8>], subs: Option<&Subs>) -> usize {
    if request.len() > 1 {
        return request.len() - 1;
    }
    let n = match (name, subs) {
        ("unsubscribe", Some(s)) => s.channels.len(),
        ("punsubscribe", Some(s)) => s.patterns.len(),
        ("sunsubscribe", Some(s)) => s.shard.len(),
        _ => 0,
    };
    n.max(1)
}

impl Model {
    /// Messages go out in the connection's protocol of the moment (HELLO).
    pub(crate) fn note_proto(&mut self, session: &Session) {
        if let Some(s) = self.subs.get_mut(&session.name) {
            s.proto = session.proto;
        }
    }

    pub(crate) fn subscribed(&self, session: &str) -> bool {
        self.subs.get(session).is_some_and(|s| s.total() > 0)
    }

    pub(crate) fn subs_of(&self, session: &str) -> Option<&Subs> {
        self.subs.get(session)
    }

    /// The RESP2 subscribed-mode refusal, if `name` is not allowed now.
    pub(crate) fn refused_while_subscribed(
        &self,
        session: &Session,
        name: &str,
    ) -> Option<Vec<u8>> {
        let allowed = SUBSCRIBING.contains(&name) || matches!(name, "ping" | "quit" | "reset");
        (session.proto == Proto::Resp2 && self.subscribed(&session.name) && !allowed).then(|| {
            resp::err(&format!(
                "Can't execute '{name}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / \
                 RESET are allowed in this context"
            ))
        })
    }

    /// SUBSCRIBE, UNSUBSCRIBE, PSUBSCRIBE, PUNSUBSCRIBE, SSUBSCRIBE, SUNSUBSCRIBE:
    /// one confirmation frame per channel or pattern.
    pub(crate) fn subscribing(
        &mut self,
        session: &Session,
        name: &str,
        request: &[Vec<u8>],
        frames: &[Vec<u8>],
    ) -> Result<(), String> {
        let p = session.proto;
        let subs = self.subs.entry(session.name.clone()).or_default();
        subs.proto = p;
        let kind = name.as_bytes();
        let mismatch = |got: &[u8], want: &[u8]| {
            format!(
                "{}: expected {}, got {}",
                name.to_ascii_uppercase(),
                resp::show(want),
                resp::show(got)
            )
        };
        if name == "ssubscribe" || name == "sunsubscribe" {
            return self.shard_subscribing(session, name, request, frames);
        }
        match name {
            "subscribe" | "psubscribe" => {
                for (arg, got) in request[1..].iter().zip(frames) {
                    if name == "subscribe" {
                        subs.channels.insert(arg.clone());
                    } else if !subs.patterns.contains(arg) {
                        subs.patterns.push(arg.clone());
                    }
                    let want = frame(p, &[kind, arg], Some(subs.count()));
                    if got != &want {
                        return Err(mismatch(got, &want));
                    }
                }
                self.note(format!("pubsub: {name}"));
            }
            _ if request.len() > 1 => {
                for (arg, got) in request[1..].iter().zip(frames) {
                    if name == "unsubscribe" {
                        subs.channels.remove(arg);
                    } else {
                        subs.patterns.retain(|x| x != arg);
                    }
                    let want = frame(p, &[kind, arg], Some(subs.count()));
                    if got != &want {
                        return Err(mismatch(got, &want));
                    }
                }
            }
            "punsubscribe" if subs.patterns.is_empty() => {
                let want = null_confirmation(p, kind, subs.count());
                if frames[0] != want {
                    return Err(mismatch(&frames[0], &want));
                }
            }
            "punsubscribe" => {
                for got in frames {
                    let pattern = subs.patterns.remove(0);
                    let want = frame(p, &[kind, &pattern], Some(subs.count()));
                    if got != &want {
                        return Err(mismatch(got, &want));
                    }
                }
            }
            _ if subs.channels.is_empty() => {
                let want = null_confirmation(p, kind, subs.count());
                if frames[0] != want {
                    return Err(mismatch(&frames[0], &want));
                }
            }
            _ => {
                // The channels dict's order is open: each frame names one still
                // subscribed, with the count after it.
                for got in frames {
                    let channel = match take_reply(got) {
                        Ok(Some((Reply::Array(items) | Reply::Push(items), _))) => {
                            match items.get(1) {
                                Some(Reply::Bulk(c)) => c.clone(),
                                _ => Vec::new(),
                            }
                        }
                        _ => Vec::new(),
                    };
                    if !subs.channels.remove(&channel) {
                        return Err(format!(
                            "UNSUBSCRIBE: {} names no channel still subscribed",
                            resp::show(got)
                        ));
                    }
                    let want = frame(p, &[kind, &channel], Some(subs.count()));
                    if got != &want {
                        return Err(mismatch(got, &want));
                    }
                }
                self.note("pubsub: unsubscribe from every channel".into());
            }
        }
        Ok(())
    }

    /// SSUBSCRIBE and SUNSUBSCRIBE, counting the shard channels only.
    fn shard_subscribing(
        &mut self,
        session: &Session,
        name: &str,
        request: &[Vec<u8>],
        frames: &[Vec<u8>],
    ) -> Result<(), String> {
        let p = session.proto;
        let subs = self.subs.entry(session.name.clone()).or_default();
        subs.proto = p;
        let kind = name.as_bytes();
        let mismatch = |got: &[u8], want: &[u8]| {
            format!(
                "{}: expected {}, got {}",
                name.to_ascii_uppercase(),
                resp::show(want),
                resp::show(got)
            )
        };
        if name == "ssubscribe" || request.len() > 1 {
            for (arg, got) in request[1..].iter().zip(frames) {
                if name == "ssubscribe" {
                    subs.shard.insert(arg.clone());
                } else {
                    subs.shard.remove(arg);
                }
                let want = frame(p, &[kind, arg], Some(subs.shard.len() as i64));
                if got != &want {
                    return Err(mismatch(got, &want));
                }
            }
            self.note(format!("pubsub: {name}"));
            return Ok(());
        }
        if subs.shard.is_empty() {
            let want = null_confirmation(p, kind, 0);
            return match frames[0] == want {
                true => Ok(()),
                false => Err(mismatch(&frames[0], &want)),
            };
        }
        // The client's shard dict's order is open, as for UNSUBSCRIBE.
        for got in frames {
            let channel = match take_reply(got) {
                Ok(Some((Reply::Array(items) | Reply::Push(items), _))) => match items.get(1) {
                    Some(Reply::Bulk(c)) => c.clone(),
                    _ => Vec::new(),
                },
                _ => Vec::new(),
            };
            if !subs.shard.remove(&channel) {
                return Err(format!(
                    "SUNSUBSCRIBE: {} names no shard channel still subscribed",
                    resp::show(got)
                ));
            }
            let want = frame(p, &[kind, &channel], Some(subs.shard.len() as i64));
            if got != &want {
                return Err(mismatch(got, &want));
            }
        }
        self.note("pubsub: sunsubscribe from every shard channel".into());
        Ok(())
    }

    /// SPUBLISH shardchannel message: one `smessage` per subscriber of the shard
    /// channel, no pattern.
    pub(crate) fn spublish(&mut self, request: &[Vec<u8>], actual: &[u8]) -> Result<(), String> {
        let (channel, message) = (&request[1], &request[2]);
        let deliveries: Vec<Delivery> = self
            .subs
            .iter()
            .filter(|(_, s)| s.shard.contains(channel))
            .map(|(name, s)| Delivery {
                session: name.clone(),
                message: Some(frame(s.proto, &[b"smessage", channel, message], None)),
                pmessages: Vec::new(),
            })
            .collect();
        expect_exact(actual, &resp::int(deliveries.len() as i64))?;
        if !deliveries.is_empty() {
            self.note("pubsub: a shard message published to subscribers".into());
        }
        self.deliveries.extend(deliveries);
        Ok(())
    }

    /// PING: `+PONG` (or the argument), `["pong", arg]` in RESP2 subscribed mode.
    pub(crate) fn ping(
        &mut self,
        session: &Session,
        request: &[Vec<u8>],
        actual: &[u8],
    ) -> Result<(), String> {
        if request.len() > 2 {
            return expect_exact(
                actual,
                &resp::err("wrong number of arguments for 'ping' command"),
            );
        }
        let arg = request.get(1).map_or(&[][..], |a| a.as_slice());
        let want = if session.proto == Proto::Resp2 && self.subscribed(&session.name) {
            self.note("pubsub: PING in subscribed mode".into());
            let mut out = resp::array_header(2);
            out.extend(resp::bulk(b"pong"));
            out.extend(resp::bulk(arg));
            out
        } else if request.len() == 2 {
            resp::bulk(arg)
        } else {
            resp::simple("PONG")
        };
        expect_exact(actual, &want)
    }

    /// PUBLISH channel message: the receivers, and what each must be sent.
    pub(crate) fn publish(&mut self, request: &[Vec<u8>], actual: &[u8]) -> Result<(), String> {
        let (channel, message) = (&request[1], &request[2]);
        let mut receivers = 0;
        let mut deliveries = Vec::new();
        for (name, subs) in &self.subs {
            let mut d = Delivery {
                session: name.clone(),
                message: None,
                pmessages: Vec::new(),
            };
            if subs.channels.contains(channel) {
                d.message = Some(frame(subs.proto, &[b"message", channel, message], None));
                receivers += 1;
            }
            for pat in &subs.patterns {
                if glob::matches(pat, channel) {
                    d.pmessages.push(frame(
                        subs.proto,
                        &[b"pmessage", pat, channel, message],
                        None,
                    ));
                    receivers += 1;
                }
            }
            if d.message.is_some() || !d.pmessages.is_empty() {
                deliveries.push(d);
            }
        }
        expect_exact(actual, &resp::int(receivers))?;
        if receivers > 0 {
            self.note("pubsub: a message published to subscribers".into());
        }
        self.deliveries.extend(deliveries);
        Ok(())
    }

    /// PUBSUB NUMSUB / NUMPAT / CHANNELS.
    pub(crate) fn pubsub_command(
        &mut self,
        request: &[Vec<u8>],
        actual: &[u8],
    ) -> Result<(), String> {
        let sub = String::from_utf8_lossy(&request[1]).to_ascii_lowercase();
        match sub.as_str() {
            "numsub" => {
                let mut want = resp::array_header(2 * (request.len() - 2));
                for ch in &request[2..] {
                    let n = self
                        .subs
                        .values()
                        .filter(|s| s.channels.contains(ch))
                        .count();
                    want.extend(resp::bulk(ch));
                    want.extend(resp::int(n as i64));
                }
                expect_exact(actual, &want)
            }
            "numpat" if request.len() == 2 => {
                let patterns: BTreeSet<&Vec<u8>> =
                    self.subs.values().flat_map(|s| s.patterns.iter()).collect();
                expect_exact(actual, &resp::int(patterns.len() as i64))
            }
            "shardnumsub" => {
                let mut want = resp::array_header(2 * (request.len() - 2));
                for ch in &request[2..] {
                    let n = self.subs.values().filter(|s| s.shard.contains(ch)).count();
                    want.extend(resp::bulk(ch));
                    want.extend(resp::int(n as i64));
                }
                expect_exact(actual, &want)
            }
            "channels" | "shardchannels" if request.len() <= 3 => {
                let shard = sub == "shardchannels";
                let channels: BTreeSet<&Vec<u8>> = self
                    .subs
                    .values()
                    .flat_map(|s| if shard { &s.shard } else { &s.channels }.iter())
                    .filter(|c| request.get(2).is_none_or(|p| glob::matches(p, c)))
                    .collect();
                let got = match take_reply(actual) {
                    Ok(Some((Reply::Array(items), _))) => items,
                    _ => return Err(format!("PUBSUB {sub} replied {}", resp::show(actual))),
                };
                let got: Vec<Vec<u8>> = got
                    .into_iter()
                    .filter_map(|r| match r {
                        Reply::Bulk(b) => Some(b),
                        _ => None,
                    })
                    .collect();
                let distinct: BTreeSet<&Vec<u8>> = got.iter().collect();
                if distinct != channels || distinct.len() != got.len() {
                    return Err(format!(
                        "PUBSUB {sub}: expected {:?} in any order, got {}",
                        channels.iter().map(|c| resp::show(c)).collect::<Vec<_>>(),
                        resp::show(actual)
                    ));
                }
                Ok(())
            }
            _ => Err(format!("model limitation: PUBSUB {sub}")),
        }
    }

    /// The messages queued by the PUBLISHes just replayed must be in their
    /// receivers' outboxes now.
    pub(crate) fn deliver(&mut self, out: &mut Outboxes) -> Result<(), String> {
        for d in std::mem::take(&mut self.deliveries) {
            // Active expiry may have run between the commands of one step: its
            // `expired` frames come before the message.
            self.read_owed(&d.session, out);
            let n = usize::from(d.message.is_some()) + d.pmessages.len();
            let mut got = Vec::with_capacity(n);
            for _ in 0..n {
                got.push(out.take(&d.session).ok_or_else(|| {
                    format!(
                        "{} was not sent the message{} published to it: expected {}",
                        d.session,
                        if n > 1 { "s" } else { "" },
                        resp::show(d.message.as_ref().unwrap_or(&d.pmessages[0]))
                    )
                })?);
            }
            let mut rest = got.as_slice();
            if let Some(m) = &d.message {
                if &got[0] != m {
                    return Err(format!(
                        "{}: expected the message {}, got {}",
                        d.session,
                        resp::show(m),
                        resp::show(&got[0])
                    ));
                }
                rest = &got[1..];
            }
            let mut want = d.pmessages.clone();
            let mut have = rest.to_vec();
            want.sort();
            have.sort();
            if want != have {
                return Err(format!(
                    "{}: expected the pattern messages {:?} in any order, got {:?}",
                    d.session,
                    want.iter().map(|m| resp::show(m)).collect::<Vec<_>>(),
                    have.iter().map(|m| resp::show(m)).collect::<Vec<_>>()
                ));
            }
            self.note("pubsub: a message delivered".into());
            if !d.pmessages.is_empty() {
                self.note("pubsub: a pattern message delivered".into());
            }
            if got[0].starts_with(b">") {
                self.note("pubsub: a RESP3 push delivered".into());
            }
        }
        Ok(())
    }
}
