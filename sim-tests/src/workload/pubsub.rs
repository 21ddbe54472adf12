//! Pub/sub: subscriber programs (SUBSCRIBE, PSUBSCRIBE, UNSUBSCRIBE, PUNSUBSCRIBE
//! with and without arguments, PING, and a command RESP2 refuses in subscribed mode
//! or RESP3 runs, between pauses in which the others publish), and the publishers'
//! requests (PUBLISH, PUBSUB NUMSUB/NUMPAT/CHANNELS) that any client sends; the
//! same for shard channels (SSUBSCRIBE, SUNSUBSCRIBE, SPUBLISH, PUBSUB
//! SHARDCHANNELS/SHARDNUMSUB), on the same channel names so that a PUBLISH and an
//! SPUBLISH to one name reach different subscribers. A subscriber ends by
//! unsubscribing from everything, so that nothing arrives after its last
//! confirmation.

use super::{bytes, command_name, Step, Template, WorkloadShape};
use crate::gen::Gen;
use std::collections::BTreeSet;
use std::time::Duration;

const CHANNELS: &[&str] = &["news", "chat", "ch:1", "ch:2", "ch:10"];
const PATTERNS: &[&str] = &["ch:*", "*", "n?ws", "ch:[12]", "chat"];
const MESSAGES: &[&str] = &["hello", "", "42", "a longer message with spaces"];

/// A publisher's request.
pub(super) fn request(g: &mut Gen) -> Template {
    match g.below(26) {
        20..=23 => vec![
            command_name(g, "SPUBLISH"),
            bytes(*g.pick(CHANNELS)),
            bytes(*g.pick(MESSAGES)),
        ],
        24 => {
            let mut r = vec![command_name(g, "PUBSUB"), bytes("SHARDNUMSUB")];
            for _ in 0..g.below(3) {
                r.push(bytes(*g.pick(CHANNELS)));
            }
            r
        }
        25 => {
            let mut r = vec![command_name(g, "PUBSUB"), bytes("shardchannels")];
            if g.chance(0.5) {
                r.push(bytes(*g.pick(PATTERNS)));
            }
            r
        }
        0..=14 => vec![
            command_name(g, "PUBLISH"),
            bytes(*g.pick(CHANNELS)),
            bytes(*g.pick(MESSAGES)),
        ],
        15 | 16 => {
            let mut r = vec![command_name(g, "PUBSUB"), bytes("NUMSUB")];
            for _ in 0..g.below(3) {
                r.push(bytes(*g.pick(CHANNELS)));
            }
            r
        }
        17 => vec![command_name(g, "PUBSUB"), bytes("numpat")],
        18 => {
            let mut r = vec![command_name(g, "PUBSUB"), bytes("CHANNELS")];
            if g.chance(0.5) {
                r.push(bytes(*g.pick(PATTERNS)));
            }
            r
        }
        _ => {
            let mut r = vec![command_name(g, "PING")];
            if g.chance(0.5) {
                r.push(bytes(*g.pick(MESSAGES)));
            }
            r
        }
    }
}

/// A subscriber's program after its optional HELLO 3.
pub(super) fn subscriber(g: &mut Gen, shape: &WorkloadShape) -> Vec<Step> {
    let mut steps = Vec::new();
    let mut channels: BTreeSet<&str> = BTreeSet::new();
    let mut patterns: Vec<&str> = Vec::new();
    let mut shard: BTreeSet<&str> = BTreeSet::new();
    let step = |requests: Vec<Template>, frames: usize| Step::Pubsub { requests, frames };
    for _ in 0..g.range(6, 20) {
        let mut r: Template = Vec::new();
        let frames;
        match g.below(15) {
            12 | 13 => {
                r.push(command_name(g, "SSUBSCRIBE"));
                for _ in 0..g.range(1, 3) {
                    let c = *g.pick(CHANNELS);
                    shard.insert(c);
                    r.push(bytes(c));
                }
                frames = r.len() - 1;
            }
            14 => {
                r.push(command_name(g, "SUNSUBSCRIBE"));
                if g.chance(0.5) {
                    frames = shard.len().max(1);
                    shard.clear();
                } else {
                    let c = *g.pick(CHANNELS);
                    shard.remove(c);
                    r.push(bytes(c));
                    frames = 1;
                }
            }
            0..=3 => {
                r.push(command_name(g, "SUBSCRIBE"));
                for _ in 0..g.range(1, 3) {
                    let c = *g.pick(CHANNELS);
                    channels.insert(c);
                    r.push(bytes(c));
                }
                frames = r.len() - 1;
            }
            4 | 5 => {
                r.push(command_name(g, "PSUBSCRIBE"));
                for _ in 0..g.range(1, 2) {
                    let p = *g.pick(PATTERNS);
                    if !patterns.contains(&p) {
                        patterns.push(p);
                    }
                    r.push(bytes(p));
                }
                frames = r.len() - 1;
            }
            6 => {
                r.push(command_name(g, "UNSUBSCRIBE"));
                if g.chance(0.5) {
                    frames = channels.len().max(1);
                    channels.clear();
                } else {
                    let c = *g.pick(CHANNELS);
                    channels.remove(c);
                    r.push(bytes(c));
                    frames = 1;
                }
            }
            7 => {
                r.push(command_name(g, "PUNSUBSCRIBE"));
                if g.chance(0.5) {
                    frames = patterns.len().max(1);
                    patterns.clear();
                } else {
                    let p = *g.pick(PATTERNS);
                    patterns.retain(|x| *x != p);
                    r.push(bytes(p));
                    frames = 1;
                }
            }
            8 => {
                r.push(command_name(g, "PING"));
                if g.chance(0.5) {
                    r.push(bytes(*g.pick(MESSAGES)));
                }
                frames = 1;
            }
            9 => {
                // Refused in RESP2 subscribed mode, run in RESP3.
                r = vec![command_name(g, "GET"), shape.any_key(g)];
                frames = 1;
            }
            _ => {
                steps.push(Step::Sleep(Duration::from_millis(g.range(5, 150))));
                continue;
            }
        }
        steps.push(step(vec![r], frames));
    }
    steps.push(Step::Sleep(Duration::from_millis(g.range(5, 150))));
    let end_channels = channels.len().max(1);
    let end_patterns = patterns.len().max(1);
    let end_shard = shard.len().max(1);
    steps.push(step(
        vec![vec![command_name(g, "UNSUBSCRIBE")]],
        end_channels,
    ));
    steps.push(step(
        vec![vec![command_name(g, "PUNSUBSCRIBE")]],
        end_patterns,
    ));
    steps.push(step(vec![vec![command_name(g, "SUNSUBSCRIBE")]], end_shard));
    steps
}
