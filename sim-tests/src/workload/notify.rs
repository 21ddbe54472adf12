//! Keyspace notifications: the `notify-keyspace-events` a run uses (sometimes none,
//! sometimes a random mix of every class letter), and notification subscribers:
//! connections that (P)SUBSCRIBE to `__keyspace@0__:*`, `__keyevent@0__:*`,
//! `__key*@*__:*`, single keys and single events (sometimes an ordinary channel
//! too, so that PUBLISH messages interleave), then only read, with an occasional
//! PING, and end by unsubscribing from everything.

use super::{bytes, command_name, Step, Template, WorkloadShape};
use crate::gen::Gen;
use std::time::Duration;

/// Every class letter of `notify-keyspace-events`.
const CLASSES: &[u8] = b"g$lshzxetmdnA";
/// Events whose keyevent channel a subscriber may pick alone.
const EVENTS: &[&str] = &[
    "set",
    "del",
    "expired",
    "new",
    "keymiss",
    "lpush",
    "rpop",
    "hset",
    "sadd",
    "zadd",
    "expire",
    "rename_to",
    "incrby",
    "sortstore",
    "zpopmin",
    "lpop",
];

/// A `notify-keyspace-events` value: empty a fifth of the time.
pub fn classes(g: &mut Gen) -> String {
    if g.chance(0.2) {
        return String::new();
    }
    let mut out = String::new();
    match g.below(4) {
        0 => out.push('K'),
        1 => out.push('E'),
        _ => out.push_str("KE"),
    }
    if g.chance(0.4) {
        out.push('A');
    }
    for &c in CLASSES {
        if g.chance(0.4) {
            out.push(c as char);
        }
    }
    if out.len() <= 2 {
        out.push(*g.pick(&['A', 'g', '$', 'x']));
    }
    out
}

/// One channel (`false`) or pattern (`true`) of notifications.
fn channel(g: &mut Gen, shape: &WorkloadShape) -> (bool, Vec<u8>) {
    let key = |g: &mut Gen| g.pick(&shape.keys).clone();
    match g.below(10) {
        0 | 1 => (true, b"__keyspace@0__:*".to_vec()),
        2 | 3 => (true, b"__keyevent@0__:*".to_vec()),
        4 => (true, b"__key*@*__:*".to_vec()),
        5 => (true, b"__keyspace@0__:k:*".to_vec()),
        6 => {
            let mut c = b"__keyspace@0__:".to_vec();
            c.extend(key(g));
            (false, c)
        }
        7 => {
            let mut c = b"__keyevent@0__:".to_vec();
            c.extend(g.pick(EVENTS).as_bytes());
            (false, c)
        }
        8 => (false, b"news".to_vec()),
        _ => (true, b"ch:*".to_vec()),
    }
}

/// The (P)SUBSCRIBE requests for a random set of notification channels, and the
/// channels and patterns subscribed.
pub fn subscriptions(g: &mut Gen, shape: &WorkloadShape) -> Vec<(bool, Vec<u8>)> {
    let mut subs: Vec<(bool, Vec<u8>)> = Vec::new();
    for _ in 0..g.range(1, 3) {
        let c = channel(g, shape);
        if !subs.contains(&c) {
            subs.push(c);
        }
    }
    subs
}

fn subscribe(g: &mut Gen, subs: &[(bool, Vec<u8>)]) -> Vec<Step> {
    let mut steps = Vec::new();
    for pattern in [false, true] {
        let of_kind: Vec<&Vec<u8>> = subs
            .iter()
            .filter(|(p, _)| *p == pattern)
            .map(|(_, c)| c)
            .collect();
        if of_kind.is_empty() {
            continue;
        }
        let mut r: Template = vec![command_name(
            g,
            if pattern { "PSUBSCRIBE" } else { "SUBSCRIBE" },
        )];
        r.extend(of_kind.iter().map(|c| bytes(c.as_slice())));
        steps.push(Step::Pubsub {
            frames: r.len() - 1,
            requests: vec![r],
        });
    }
    steps
}

/// A notification subscriber's program (after its optional HELLO 3).
pub fn subscriber(g: &mut Gen, shape: &WorkloadShape, duration: Duration) -> Vec<Step> {
    let mut subs = subscriptions(g, shape);
    let mut steps = subscribe(g, &subs);
    let mut left = duration;
    while !left.is_zero() {
        let pause = Duration::from_millis(g.range(5, 200)).min(left);
        steps.push(Step::Sleep(pause));
        left -= pause;
        match g.below(10) {
            0..=5 => {
                let mut r = vec![command_name(g, "PING")];
                if g.chance(0.3) {
                    r.push(bytes("notify"));
                }
                steps.push(Step::Pubsub {
                    requests: vec![r],
                    frames: 1,
                });
            }
            6 => {
                let more = subscriptions(g, shape);
                let new: Vec<(bool, Vec<u8>)> =
                    more.into_iter().filter(|c| !subs.contains(c)).collect();
                steps.extend(subscribe(g, &new));
                subs.extend(new);
            }
            _ => {}
        }
    }
    let channels = subs.iter().filter(|(p, _)| !p).count();
    let patterns = subs.len() - channels;
    steps.push(Step::Pubsub {
        requests: vec![vec![command_name(g, "UNSUBSCRIBE")]],
        frames: channels.max(1),
    });
    steps.push(Step::Pubsub {
        requests: vec![vec![command_name(g, "PUNSUBSCRIBE")]],
        frames: patterns.max(1),
    });
    steps
}

/// A CONFIG SET of `notify-keyspace-events`, for a client to send during the run.
pub fn config_set(g: &mut Gen) -> Step {
    Step::Batch {
        requests: vec![vec![
            command_name(g, "CONFIG"),
            bytes("SET"),
            bytes("notify-keyspace-events"),
            bytes(&classes(g)),
        ]],
        split_permille: None,
    }
}
