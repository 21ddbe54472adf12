//! What each client does: a program of pipelined request batches, full keyspace and
//! element scans, protocol switches and pauses, drawn from the seed. Requests cover
//! the commands the model knows, their options and their error paths, on a small
//! keyspace so that clients collide on the same keys. Each key leans to one family
//! (strings, hashes, lists, sets, sorted sets) but every family sometimes writes to
//! any key, so that WRONGTYPE and STORE over another type happen.
//!
//! A family the core does not implement yet is switched off in [`ENABLED`], so the
//! suite stays green while the model and the generator for it are ready.
//!
//! Absolute expiry times (EXPIREAT, SET PXAT, ...) cannot be drawn in advance: they
//! are [`Arg::WallMsPlus`]/[`Arg::WallSecsPlus`] placeholders, resolved by the client
//! from its own reading of the (jumping) wall clock when it sends the request.
//! Neither can the connection id CLIENT UNBLOCK names: it is an [`Arg::ClientIdOf`]
//! placeholder, resolved from the ids the clients learned with CLIENT ID.

mod bitmaps;
mod blocking;
mod collections;
mod hll;
mod multi;
pub mod notify;
mod pubsub;
mod sort;
mod strings;

use crate::gen::Gen;
use std::time::Duration;

/// The command families (each key leans to one, see [`WorkloadShape::key`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    Strings,
    Hashes,
    Lists,
    Sets,
    Zsets,
}

impl Family {
    const ALL: [Family; 5] = [
        Family::Strings,
        Family::Hashes,
        Family::Lists,
        Family::Sets,
        Family::Zsets,
    ];
}

/// Which families the workload sends. The string and keyspace commands are always
/// on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Families {
    pub hashes: bool,
    pub lists: bool,
    pub sets: bool,
    pub zsets: bool,
    /// The lexicographic sorted-set commands (ZRANGEBYLEX, ZLEXCOUNT, ...), which
    /// also meet sorted sets whose scores differ (where Redis's answers depend on
    /// its range checks and, for a skiplist, on its random levels).
    pub zset_lex: bool,
    /// SORT and SORT_RO (over lists, sets and sorted sets), with the weight keys
    /// their patterns read.
    pub sort: bool,
    /// SCAN's TYPE filter on the full keyspace scans.
    pub scan_type: bool,
    /// MULTI/EXEC/DISCARD and WATCH/UNWATCH.
    pub multi: bool,
    /// The blocking pops of lists and sorted sets.
    pub blocking: bool,
    /// Subscriber clients, PUBLISH and PUBSUB.
    pub pubsub: bool,
    /// SETBIT, GETBIT, BITCOUNT, BITPOS, BITOP.
    pub bitmaps: bool,
    /// PFADD, PFCOUNT, PFMERGE.
    pub hll: bool,
    /// SWAPDB of db 0 with others (and of two others), queued in transactions too.
    pub swapdb: bool,
    /// CLIENT ID first, then now and then CLIENT UNBLOCK of another client (which
    /// may be blocked in a pop), with TIMEOUT or ERROR.
    pub client_unblock: bool,
    /// Batches `SELECT n; ...; SELECT 0` of key commands in another database,
    /// over the same key names as db 0's.
    pub select: bool,
}

impl Families {
    pub fn has(&self, f: Family) -> bool {
        match f {
            Family::Strings => true,
            Family::Hashes => self.hashes,
            Family::Lists => self.lists,
            Family::Sets => self.sets,
            Family::Zsets => self.zsets,
        }
    }
}

/// The families the core implements on this branch (each was switched on once its
/// branch was merged).
pub const ENABLED: Families = Families {
    hashes: true,
    lists: true,
    sets: true,
    zsets: true,
    zset_lex: true,
    sort: true,
    // The core's SCAN now looks every key up before checking TYPE, as Redis 7.0
    // does (an expired key of another type is deleted, TYPE none returns expired
    // keys); seed 4000095288686162183 exercised the difference before.
    scan_type: true,
    multi: true,
    blocking: true,
    pubsub: true,
    bitmaps: true,
    hll: true,
    swapdb: true,
    client_unblock: true,
    select: true,
};

/// One argument of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Arg {
    Bytes(Vec<u8>),
    /// The client's wall clock in milliseconds, plus this many.
    WallMsPlus(i64),
    /// The client's wall clock in whole seconds, plus this many.
    WallSecsPlus(i64),
    /// The connection id of `client-<n>`, as its CLIENT ID replied; 0 (no
    /// connection's) while it has not asked.
    ClientIdOf(usize),
}

/// The connection ids the clients learned with CLIENT ID, by client number.
pub type ClientIds = std::collections::BTreeMap<usize, i64>;

impl Arg {
    pub fn resolve(&self, wall_ms: i64, ids: &ClientIds) -> Vec<u8> {
        match self {
            Arg::Bytes(b) => b.clone(),
            Arg::WallMsPlus(d) => (wall_ms + d).to_string().into_bytes(),
            Arg::WallSecsPlus(d) => (wall_ms.div_euclid(1000) + d).to_string().into_bytes(),
            Arg::ClientIdOf(n) => ids.get(n).copied().unwrap_or(0).to_string().into_bytes(),
        }
    }
}

pub type Template = Vec<Arg>;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Requests written together (pipelined), then all their replies read. With
    /// `split_permille`, the bytes go out in two writes, cut at that fraction, so that
    /// requests arrive in pieces.
    Batch {
        requests: Vec<Template>,
        split_permille: Option<u32>,
    },
    /// `SCAN` from cursor 0 until the server returns cursor 0, one call at a time.
    ScanAll {
        count: u32,
        pattern: Option<Vec<u8>>,
        /// The TYPE filter, if any.
        type_name: Option<Vec<u8>>,
    },
    /// HSCAN/SSCAN/ZSCAN of one key from cursor 0 until cursor 0 (or an error).
    ScanKey {
        command: &'static str,
        key: Vec<u8>,
        count: u32,
        pattern: Option<Vec<u8>>,
    },
    Sleep(Duration),
    /// Requests of a subscribed connection, then read until `frames` replies came
    /// (confirmations, one per channel or pattern, and plain replies), however many
    /// published messages arrive meanwhile.
    Pubsub {
        requests: Vec<Template>,
        frames: usize,
    },
}

pub type Program = Vec<Step>;

/// Knobs of one run's workload (drawn by the scenario).
#[derive(Debug, Clone)]
pub struct WorkloadShape {
    pub keys: Vec<Vec<u8>>,
    pub patterns: Vec<Vec<u8>>,
    pub requests_per_client: usize,
    pub pipeline_max: usize,
    pub ttl_probability: f64,
    pub long_pause_probability: f64,
    pub long_pause_ms_max: u64,
    pub split_probability: f64,
    /// The families this run sends.
    pub families: Families,
    /// Probability that a client switches to RESP3 before its first request.
    pub resp3_probability: f64,
    /// How many workload clients run (CLIENT UNBLOCK names one of them).
    pub clients: usize,
}

/// How often a request of a family picks a key of another family.
const OTHER_KEY_PROBABILITY: f64 = 0.12;

impl WorkloadShape {
    /// A key for a request of `family`: mostly one leaning to it (key `i` leans to
    /// family `i % 5`), sometimes any.
    pub fn key(&self, g: &mut Gen, family: Family) -> Arg {
        let lean = Family::ALL
            .iter()
            .position(|f| *f == family)
            .expect("a family");
        let own: Vec<&Vec<u8>> = self
            .keys
            .iter()
            .enumerate()
            .filter(|(i, _)| i % Family::ALL.len() == lean)
            .map(|(_, k)| k)
            .collect();
        if own.is_empty() || g.chance(OTHER_KEY_PROBABILITY) {
            return self.any_key(g);
        }
        Arg::Bytes(g.pick(&own).to_vec())
    }

    pub fn any_key(&self, g: &mut Gen) -> Arg {
        Arg::Bytes(g.pick(&self.keys).clone())
    }
}

/// Values the workload stores: integers (with the i64 limits for overflow errors),
/// strings that only look numeric, floats that INCRBYFLOAT accepts, and words.
const VALUES: &[&str] = &[
    "0",
    "1",
    "-3",
    "42",
    "100",
    "007",
    "1.5",
    "-2.75",
    "foo",
    "bar",
    "",
    "hello world",
    "9223372036854775807",
    "-9223372036854775808",
    "a value long enough that Redis keeps it raw rather than embedded",
];
/// Suffixes for APPEND and SETRANGE: no digits, so that every string INCRBYFLOAT may
/// read stays a multiple of 1/4 (see `numbers`).
const SUFFIXES: &[&str] = &["z", "", "-", "foo", " ", "ab"];
const INCREMENTS: &[&str] = &[
    "1",
    "-1",
    "5",
    "-7",
    "100",
    "9223372036854775807",
    "-9223372036854775808",
    "abc",
    "",
];
const FLOAT_INCREMENTS: &[&str] = &["0.25", "-1.5", "2", "10.75", "inf", "-inf", "abc", "3e0"];
const EXPIRE_OPTIONS: &[&[&str]] = &[
    &[],
    &[],
    &[],
    &["NX"],
    &["XX"],
    &["GT"],
    &["LT"],
    &["xx", "gt"],
    &["NX", "XX"],
    &["GT", "LT"],
    &["bogus"],
];

/// Member names for the collections: short and long words, integers (small, big,
/// negative) and strings that only look numeric, and the empty string.
pub(super) const MEMBERS: &[&str] = &[
    "a",
    "b",
    "c",
    "d",
    "e",
    "f",
    "1",
    "2",
    "3",
    "10",
    "-7",
    "300",
    "99999999999",
    "007",
    "x y",
    "",
    "hello",
    "a member name long enough to pass every small limit",
];
/// SCAN's TYPE filters: every type, in any case, and names of no type (`none` lets
/// through the keys the type check found expired and deleted, see the model).
const SCAN_TYPES: &[&str] = &[
    "string", "list", "set", "zset", "hash", "STRING", "Hash", "bogus", "none",
];
/// MATCH patterns for element scans.
const MEMBER_PATTERNS: &[&str] = &["*", "a*", "?", "[0-9]*", "*e*", "x*"];

fn bytes<S: AsRef<[u8]> + ?Sized>(s: &S) -> Arg {
    Arg::Bytes(s.as_ref().to_vec())
}

fn num(n: i64) -> Arg {
    Arg::Bytes(n.to_string().into_bytes())
}

/// Generate one client's program.
pub fn program(g: &mut Gen, shape: &WorkloadShape) -> Program {
    let mut steps = Vec::new();
    let mut remaining = shape.requests_per_client;
    if g.chance(shape.resp3_probability) {
        steps.push(Step::Batch {
            requests: vec![vec![command_name(g, "HELLO"), bytes("3")]],
            split_permille: None,
        });
    }
    if shape.families.pubsub && g.chance(0.2) {
        steps.extend(pubsub::subscriber(g, shape));
        return steps;
    }
    if shape.families.client_unblock {
        steps.push(Step::Batch {
            requests: vec![vec![command_name(g, "CLIENT"), bytes("ID")]],
            split_permille: None,
        });
        remaining = remaining.saturating_sub(1);
    }
    let scannable: Vec<(Family, &'static str)> = [
        (Family::Hashes, "HSCAN"),
        (Family::Sets, "SSCAN"),
        (Family::Zsets, "ZSCAN"),
    ]
    .into_iter()
    .filter(|(f, _)| shape.families.has(*f))
    .collect();
    while remaining > 0 {
        if g.chance(0.03) {
            steps.push(Step::ScanAll {
                count: *g.pick(&[1, 3, 10, 100]),
                pattern: g.chance(0.5).then(|| g.pick(&shape.patterns).clone()),
                type_name: (shape.families.scan_type && g.chance(0.35))
                    .then(|| g.pick(SCAN_TYPES).as_bytes().to_vec()),
            });
            remaining -= 1;
            continue;
        }
        if !scannable.is_empty() && g.chance(0.03) {
            let (family, command) = *g.pick(&scannable);
            let key = match shape.key(g, family) {
                Arg::Bytes(k) => k,
                _ => unreachable!("keys are bytes"),
            };
            steps.push(Step::ScanKey {
                command,
                key,
                count: *g.pick(&[1, 2, 5, 100]),
                pattern: g
                    .chance(0.3)
                    .then(|| g.pick(MEMBER_PATTERNS).as_bytes().to_vec()),
            });
            remaining -= 1;
            continue;
        }
        if shape.families.select && g.chance(0.03) {
            let requests = select_batch(g, shape);
            remaining = remaining.saturating_sub(requests.len());
            steps.push(Step::Batch {
                requests,
                split_permille: None,
            });
            continue;
        }
        if shape.families.multi && g.chance(0.04) {
            let (mut more, sent) = multi::transaction(g, shape);
            steps.append(&mut more);
            remaining = remaining.saturating_sub(sent);
            continue;
        }
        let n = (g.range(1, shape.pipeline_max as u64) as usize).min(remaining);
        let mut requests: Vec<Template> = (0..n).map(|_| request(g, shape)).collect();
        if shape.families.blocking
            && (shape.families.lists || shape.families.zsets)
            && g.chance(0.06)
        {
            // Last in its batch: a blocked client reads nothing more.
            *requests.last_mut().expect("n >= 1") = blocking::request(g, shape);
        }
        let split_permille = g
            .chance(shape.split_probability)
            .then(|| g.range(1, 999) as u32);
        steps.push(Step::Batch {
            requests,
            split_permille,
        });
        remaining -= n;
        if g.chance(shape.long_pause_probability) {
            steps.push(Step::Sleep(Duration::from_millis(
                g.range(100, shape.long_pause_ms_max),
            )));
        } else if g.chance(0.3) {
            steps.push(Step::Sleep(Duration::from_millis(g.range(1, 20))));
        }
    }
    steps
}

/// Spell a command name as Redis users do: mostly upper case, sometimes not.
fn command_name(g: &mut Gen, name: &str) -> Arg {
    match g.below(10) {
        0 => bytes(&name.to_ascii_lowercase()),
        1 => Arg::Bytes(
            name.bytes()
                .enumerate()
                .map(|(i, c)| {
                    if i % 2 == 0 {
                        c
                    } else {
                        c.to_ascii_lowercase()
                    }
                })
                .collect(),
        ),
        _ => bytes(name),
    }
}

/// One of two commands, `a` with probability `p`.
fn either(g: &mut Gen, p: f64, a: &str, b: &str) -> Arg {
    let name = if g.chance(p) { a } else { b };
    command_name(g, name)
}

/// A random expire argument for SET/GETEX-style options: `(option, value)`.
fn ttl_option(g: &mut Gen) -> [Arg; 2] {
    let invalid = g.chance(0.05);
    match g.below(4) {
        0 => [
            bytes("EX"),
            if invalid {
                bytes(g.pick(&["0", "-5", "abc"]))
            } else {
                num(g.range_i64(1, 5))
            },
        ],
        1 => [
            bytes("PX"),
            if invalid {
                bytes(g.pick(&["0", "-1", "1.5"]))
            } else {
                num(g.range_i64(1, 3000))
            },
        ],
        2 => [bytes("EXAT"), Arg::WallSecsPlus(g.range_i64(-1, 5))],
        _ => [bytes("PXAT"), Arg::WallMsPlus(g.range_i64(-50, 3000))],
    }
}

/// One request of a family drawn with the run's weights.
fn request(g: &mut Gen, shape: &WorkloadShape) -> Template {
    // Weights: the string and keyspace commands, each collection family, and the
    // commands that look at any key's type and encoding.
    const OTHER: usize = Family::ALL.len();
    const SORT: usize = OTHER + 1;
    const WEIGHT_KEYS: usize = OTHER + 2;
    const PUBSUB: usize = OTHER + 3;
    let sort_weight = if shape.families.sort { 8 } else { 0 };
    let pubsub_weight = if shape.families.pubsub { 6 } else { 0 };
    const BITMAPS: usize = OTHER + 4;
    let bitmaps_weight = if shape.families.bitmaps { 10 } else { 0 };
    const HLL: usize = OTHER + 5;
    let hll_weight = if shape.families.hll { 8 } else { 0 };
    let weights: Vec<u32> = Family::ALL
        .iter()
        .map(|f| match f {
            Family::Strings => 45,
            _ if shape.families.has(*f) => 30,
            _ => 0,
        })
        .chain([
            6,
            sort_weight,
            sort_weight,
            pubsub_weight,
            bitmaps_weight,
            hll_weight,
        ])
        .collect();
    match g.weighted(&weights) {
        0 => strings::request(g, shape),
        1 => collections::hash_request(g, shape),
        2 => collections::list_request(g, shape),
        3 => collections::set_request(g, shape),
        4 => collections::zset_request(g, shape),
        SORT => sort::sort_request(g, shape),
        WEIGHT_KEYS => sort::weight_request(g, shape),
        PUBSUB => pubsub::request(g),
        BITMAPS => bitmaps::request(g, shape),
        HLL => hll::request(g, shape),
        i => {
            debug_assert_eq!(i, OTHER);
            if shape.families.swapdb && g.chance(0.08) {
                return swapdb_request(g);
            }
            if shape.families.client_unblock && g.chance(0.4) {
                return client_unblock_request(g, shape);
            }
            match g.below(10) {
                0..=5 => vec![
                    command_name(g, "OBJECT"),
                    bytes(*g.pick(&["ENCODING", "encoding"])),
                    shape.any_key(g),
                ],
                6..=8 => vec![command_name(g, "TYPE"), shape.any_key(g)],
                _ => vec![
                    command_name(g, "HELLO"),
                    bytes(*g.pick(&["2", "3", "3", "4", "x"])),
                ],
            }
        }
    }
}

/// SWAPDB: mostly db 0 with db 1 and back (so that keys come back), sometimes with
/// db 2, two other databases, a database with itself, and bad indexes.
fn swapdb_request(g: &mut Gen) -> Template {
    let (a, b) = match g.below(20) {
        0..=11 => *g.pick(&[("0", "1"), ("1", "0")]),
        12..=14 => *g.pick(&[("0", "2"), ("2", "0")]),
        15 => ("1", "2"),
        16 => ("0", "0"),
        _ => *g.pick(&[
            ("x", "1"),
            ("0", "16"),
            ("-1", "0"),
            ("0", "2147483648"),
            ("0", ""),
        ]),
    };
    vec![command_name(g, "SWAPDB"), bytes(a), bytes(b)]
}

/// Commands a SELECT batch leaves out: those that reach beyond the selected
/// database (FLUSHALL, SWAPDB), name other connections, or publish.
const NOT_IN_SELECT_BATCHES: &[&str] = &[
    "FLUSHALL", "SWAPDB", "CLIENT", "PUBLISH", "SPUBLISH", "PUBSUB",
];

/// `SELECT n`, a few key commands on the same key names as db 0's, `SELECT 0`:
/// mostly the databases SWAPDB also uses (so that what is written there comes
/// back), sometimes another one, an index out of range or no index at all (then
/// the commands run on db 0).
fn select_batch(g: &mut Gen, shape: &WorkloadShape) -> Vec<Template> {
    let mut select = vec![command_name(g, "SELECT")];
    match g.below(20) {
        0..=8 => select.push(bytes("1")),
        9..=13 => select.push(bytes("2")),
        14..=16 => select.push(num(g.range_i64(3, 15))),
        17 => select.push(bytes(*g.pick(&["16", "-1", "2147483648"]))),
        18 => select.push(bytes(*g.pick(&["x", "", "007", "1.0", " 1"]))),
        _ => {
            if g.chance(0.5) {
                select.extend([bytes("1"), bytes("2")]);
            }
        }
    }
    let mut requests = vec![select];
    for _ in 0..g.range(1, shape.pipeline_max.max(1) as u64) {
        let r = loop {
            let r = request(g, shape);
            let name = match &r[0] {
                Arg::Bytes(b) => String::from_utf8_lossy(b).to_ascii_uppercase(),
                _ => unreachable!("command names are bytes"),
            };
            if !NOT_IN_SELECT_BATCHES.contains(&name.as_str()) {
                break r;
            }
        };
        requests.push(r);
    }
    requests.push(vec![command_name(g, "SELECT"), bytes("0")]);
    requests
}

/// CLIENT UNBLOCK of a workload client (itself too, and ids nobody has), mostly
/// with a good reason, sometimes with a bad one, a bad id or one argument too many.
fn client_unblock_request(g: &mut Gen, shape: &WorkloadShape) -> Template {
    let mut r = vec![
        command_name(g, "CLIENT"),
        bytes(*g.pick(&["UNBLOCK", "unblock"])),
    ];
    r.push(match g.below(20) {
        0 => bytes(*g.pick(&["x", "-1", "1.5", "999999"])),
        _ => Arg::ClientIdOf(g.below(shape.clients.max(1) as u64) as usize),
    });
    match g.below(20) {
        0..=6 => {}
        7..=11 => r.push(bytes(*g.pick(&["TIMEOUT", "timeout"]))),
        12..=17 => r.push(bytes(*g.pick(&["ERROR", "error"]))),
        18 => r.push(bytes("bogus")),
        _ => r.extend([bytes("TIMEOUT"), bytes("x")]),
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape() -> WorkloadShape {
        WorkloadShape {
            keys: vec![b"k:1".to_vec(), b"k:2".to_vec()],
            patterns: vec![b"*".to_vec()],
            requests_per_client: 200,
            pipeline_max: 4,
            ttl_probability: 0.5,
            long_pause_probability: 0.05,
            long_pause_ms_max: 500,
            split_probability: 0.1,
            // Transactions make batches of their own size.
            families: Families {
                multi: false,
                pubsub: false,
                select: false,
                ..ENABLED
            },
            resp3_probability: 0.0,
            clients: 3,
        }
    }

    #[test]
    fn programs_are_a_function_of_the_seed() {
        let a = program(&mut Gen::new(3), &shape());
        let b = program(&mut Gen::new(3), &shape());
        assert_eq!(a, b);
        assert_ne!(a, program(&mut Gen::new(4), &shape()));
    }

    #[test]
    fn programs_have_the_requested_size() {
        let p = program(&mut Gen::new(9), &shape());
        let requests: usize = p
            .iter()
            .map(|s| match s {
                Step::Batch { requests, .. } => {
                    assert!((1..=4).contains(&requests.len()));
                    requests.len()
                }
                Step::ScanAll { .. } | Step::ScanKey { .. } | Step::Pubsub { .. } => 1,
                Step::Sleep(_) => 0,
            })
            .sum();
        assert_eq!(requests, 200);
    }

    #[test]
    fn placeholders_follow_the_wall_clock() {
        let ids = ClientIds::from([(2, 7)]);
        assert_eq!(Arg::WallMsPlus(-5).resolve(1_000, &ids), b"995");
        assert_eq!(Arg::WallSecsPlus(2).resolve(1_999, &ids), b"3");
        assert_eq!(Arg::WallSecsPlus(0).resolve(-1, &ids), b"-1");
        assert_eq!(Arg::ClientIdOf(2).resolve(0, &ids), b"7");
        assert_eq!(Arg::ClientIdOf(1).resolve(0, &ids), b"0");
    }
}
