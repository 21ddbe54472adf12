//! Checks a finished run: both ends of every connection agree byte for byte, every
//! request got exactly one reply, and every reply is what the reference model predicts
//! when the server's trace is replayed in the order the server handled it.

use crate::client::ClientLog;
use crate::model::blocking::Moment;
use crate::model::{Dbsize, Limits, Model, Outboxes, Session};
use crate::resp::{self, split_replies, take_request, Request};
use cinnabar_core::{ConnId, MonoNs};
use cinnabar_io_sim::{Trace, TraceEntry};
use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::time::Duration;

/// Requests shown before a failing one, for context.
const HISTORY_LEN: usize = 16;
/// Earlier requests naming one of the failing request's arguments, for context.
const KEY_HISTORY_LEN: usize = 12;
/// Timer lateness tolerated beyond one period: turmoil advances time in 1 ms ticks.
const TIMER_SLACK_NS: u64 = 2_000_000;

/// What a check went through.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CheckStats {
    pub requests: usize,
    pub connections: usize,
    pub timeouts: usize,
    /// Keys left at the end, and how many of them the model was unsure about.
    pub keys: usize,
    pub uncertain_keys: usize,
    /// Replies checked against more than one possible state of a key.
    pub uncertain_checks: usize,
    /// How often the model saw each interesting path (see `Model::events`).
    pub events: BTreeMap<String, usize>,
}

struct ConnState {
    name: String,
    session: Session,
    input: Vec<u8>,
    /// The final checker's DBSIZE must see every expired key gone.
    final_check: bool,
}

/// Check `trace` against the clients' logs. `final_client` is the name of the client
/// whose DBSIZE is the liveness check (active expiry must have removed every key past
/// its deadline by then). `cron_period` is the server's 1/hz: its timers must keep
/// firing at that pace whatever the wall clock does. `limits` are the server's
/// encoding thresholds, `notify_flags` its `notify-keyspace-events` at start.
pub fn check(
    trace: &Trace,
    clients: &[ClientLog],
    final_client: &str,
    cron_period: Duration,
    limits: Limits,
    notify_flags: u32,
) -> Result<CheckStats, String> {
    let mut stats = CheckStats::default();
    check_timer_pace(trace, cron_period)?;
    let by_addr: BTreeMap<SocketAddr, &ClientLog> = clients
        .iter()
        .filter_map(|c| c.local.map(|a| (a, c)))
        .collect();
    for c in clients {
        if !c.finished {
            return Err(format!("{} did not finish its program", c.name));
        }
        if c.requests != c.replies {
            return Err(format!(
                "{} sent {} requests but got {} replies",
                c.name, c.requests, c.replies
            ));
        }
    }

    // Both ends of each connection.
    let mut conns: BTreeMap<ConnId, ConnState> = BTreeMap::new();
    let mut outboxes = Outboxes::default();
    for e in &trace.entries {
        if let TraceEntry::Accepted { conn, peer, .. } = e {
            let client = by_addr
                .get(peer)
                .ok_or_else(|| format!("connection {conn:?} from unknown peer {peer}"))?;
            let received: Vec<u8> = trace
                .entries
                .iter()
                .filter_map(|e| match e {
                    TraceEntry::Received { conn: c, data, .. } if c == conn => Some(data.to_vec()),
                    _ => None,
                })
                .flatten()
                .collect();
            if received != client.written {
                return Err(format!(
                    "{}: the server received {} bytes, the client wrote {}",
                    client.name,
                    received.len(),
                    client.written.len()
                ));
            }
            let sent = trace.sent_to(*conn);
            if sent != client.read {
                return Err(format!(
                    "{}: the server sent {}, the client read {}",
                    client.name,
                    resp::show(&sent),
                    resp::show(&client.read)
                ));
            }
            let replies = split_replies(&sent).map_err(|e| format!("{}: {e}", client.name))?;
            if replies.len() != client.replies + client.messages {
                return Err(format!(
                    "{}: {} replies sent for {} requests",
                    client.name,
                    replies.len(),
                    client.requests
                ));
            }
            outboxes.add(&client.name, replies);
            conns.insert(
                *conn,
                ConnState {
                    name: client.name.clone(),
                    session: Session::new(&client.name),
                    input: Vec::new(),
                    final_check: client.name == final_client,
                },
            );
        }
    }
    if conns.len() != clients.len() {
        return Err(format!(
            "{} clients but {} accepted connections",
            clients.len(),
            conns.len()
        ));
    }
    stats.connections = conns.len();

    // Replay in the server's order.
    let mut model = Model::new(limits);
    model.set_notify_flags(notify_flags);
    let mut history: VecDeque<String> = VecDeque::new();
    let mut by_arg: BTreeMap<Vec<u8>, Vec<String>> = BTreeMap::new();
    let late_ns = 2 * cron_period.as_nanos() as u64 + TIMER_SLACK_NS;
    let is_input = |e: &TraceEntry| {
        matches!(
            e,
            TraceEntry::Received { .. }
                | TraceEntry::Timeout { .. }
                | TraceEntry::Accepted { .. }
                | TraceEntry::Closed { .. }
                | TraceEntry::Signal { .. }
        )
    };
    let entries = &trace.entries;
    // The latest moment of the current group's effects.
    let mut group_mono = 0u64;
    for (i, e) in entries.iter().enumerate() {
        if !is_input(e) {
            continue;
        }
        // The loop handles a group of inputs, then drains the effects of all of
        // them: what the server sent in reaction to this input is among the sends
        // after the group.
        if i == 0 || !is_input(&entries[i - 1]) {
            group_mono = e.now().mono.0;
            let effects = entries[i..].iter().skip_while(|f| is_input(f));
            for f in effects.take_while(|f| !is_input(f)) {
                if let TraceEntry::Send { conn, data, now } = f {
                    if let Some(state) = conns.get(conn) {
                        outboxes.sent(&state.name, data.len());
                    }
                    group_mono = group_mono.max(now.mono.0);
                }
            }
        }
        let group_ends = entries.get(i + 1).is_none_or(|f| !is_input(f));
        let wall_ms = e.now().wall.ms();
        let now = Moment {
            wall_ms,
            mono_ns: e.now().mono.0,
            group_mono_ns: group_mono,
        };
        match e {
            TraceEntry::Received { conn, data, .. } => {
                let state = conns.get_mut(conn).expect("accepted before data");
                state.input.extend_from_slice(data);
                while let Some((request, used)) = take_request(&state.input)? {
                    state.input.drain(..used);
                    let reply = outboxes
                        .peek(&state.name)
                        .map(|r| r.to_vec())
                        .unwrap_or_default();
                    let mode = if state.final_check {
                        Dbsize::ExpiredGone
                    } else {
                        Dbsize::Lenient
                    };
                    stats.requests += 1;
                    let line = describe(&state.session, wall_ms, &request, &reply);
                    if let Err(why) =
                        model.exec_request(&mut state.session, now, &request, &mut outboxes, mode)
                    {
                        let mut report = String::from("model check failed\n  recent requests:\n");
                        for h in &history {
                            report.push_str(&format!("    {h}\n"));
                        }
                        let mut named: Vec<&Vec<u8>> = request.iter().skip(1).collect();
                        named.dedup();
                        // A check that fails on a key the request does not name (a
                        // blocked client served by an EXEC) names it in its reason.
                        for arg in by_arg.keys() {
                            let shown = resp::show(arg);
                            if !named.contains(&arg)
                                && (why.contains(&format!(" on {shown} "))
                                    || why.contains(&format!("model of {shown}:")))
                            {
                                named.push(arg);
                            }
                        }
                        for arg in named {
                            let Some(lines) = by_arg.get(arg) else {
                                continue;
                            };
                            report.push_str(&format!(
                                "  earlier requests naming {}:\n",
                                resp::show(arg)
                            ));
                            for l in lines.iter().rev().take(KEY_HISTORY_LEN).rev() {
                                report.push_str(&format!("    {l}\n"));
                            }
                        }
                        report.push_str(&format!("  failing: {line}\n  {why}"));
                        return Err(report);
                    }
                    let mut named: Vec<&Vec<u8>> = request.iter().skip(1).collect();
                    named.sort();
                    named.dedup();
                    for arg in named {
                        by_arg.entry(arg.clone()).or_default().push(line.clone());
                    }
                    if history.len() == HISTORY_LEN {
                        history.pop_front();
                    }
                    history.push_back(line);
                }
                model.after_input(wall_ms);
            }
            TraceEntry::Timeout { .. } => {
                stats.timeouts += 1;
                model.after_input(wall_ms);
            }
            TraceEntry::Accepted { .. }
            | TraceEntry::Closed { .. }
            | TraceEntry::Signal { .. }
            | TraceEntry::IoDone { .. }
            | TraceEntry::Connected { .. }
            | TraceEntry::ConnectFailed { .. } => {
                model.after_input(wall_ms);
            }
            TraceEntry::Send { .. }
            | TraceEntry::Close { .. }
            | TraceEntry::Log { .. }
            | TraceEntry::Exit { .. }
            | TraceEntry::Io { .. }
            | TraceEntry::Connect { .. } => {}
        }
        if group_ends {
            let end = Moment {
                wall_ms,
                mono_ns: group_mono.max(now.mono_ns),
                group_mono_ns: group_mono,
            };
            // What subscribers were sent beyond the notifications of the step's
            // commands is active expiry's.
            model.notifications_step_end(&mut outboxes);
            if let Err(why) = model.after_step(end, &mut outboxes, late_ns) {
                let mut report = String::from("model check failed\n  recent requests:\n");
                for h in &history {
                    report.push_str(&format!("    {h}\n"));
                }
                report.push_str(&format!("  at the end of a step: {why}"));
                return Err(report);
            }
        }
    }
    if let Some(b) = model.still_blocked() {
        return Err(format!("{b} is still blocked at the end"));
    }
    for state in conns.values() {
        if !state.input.is_empty() {
            return Err(format!(
                "{}: a partial request was left: {}",
                state.name,
                resp::show(&state.input)
            ));
        }
        if outboxes.left(&state.name) > 0 {
            return Err(format!("{}: replies without requests", state.name));
        }
    }
    (stats.keys, stats.uncertain_keys) = model.summary();
    stats.uncertain_checks = model.uncertain_checks;
    stats.events = model.events;
    Ok(stats)
}

/// serverCron reschedules itself one period after each run, on the monotonic clock: a
/// longer silence means a timer was lost or tied to the wall clock.
fn check_timer_pace(trace: &Trace, cron_period: Duration) -> Result<(), String> {
    let allowed_ns = 2 * cron_period.as_nanos() as u64 + TIMER_SLACK_NS;
    let mut last: Option<MonoNs> = None;
    for e in &trace.entries {
        let mono = e.now().mono;
        if let Some(before) = last {
            let gap = mono.0 - before.0;
            if gap > allowed_ns {
                return Err(format!(
                    "no timer ran for {}ms (from mono {}ms to {}ms), cron period {}ms",
                    gap / 1_000_000,
                    before.0 / 1_000_000,
                    mono.0 / 1_000_000,
                    cron_period.as_millis()
                ));
            }
        }
        if let TraceEntry::Timeout { .. } = e {
            last = Some(mono);
        }
    }
    if last.is_none() {
        return Err("the server's timers never ran".into());
    }
    Ok(())
}

fn describe(session: &Session, wall_ms: i64, request: &Request, reply: &[u8]) -> String {
    let proto = match session.proto {
        resp::Proto::Resp2 => "",
        resp::Proto::Resp3 => " (resp3)",
    };
    format!(
        "{}{proto} @{wall_ms}ms: {} -> {}",
        session.name,
        resp::show_request(request),
        resp::show(reply)
    )
}
