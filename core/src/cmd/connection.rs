//! Connection commands (Redis's networking.c and acl.c): PING, ECHO, QUIT, RESET,
//! HELLO, SELECT, AUTH and the CLIENT family.

use super::{ERR_DB_INDEX, ERR_NOT_INTEGER, ERR_SYNTAX};
use crate::client::{Client, ReplyMode};
use crate::command::{Ctx, Handler};
use crate::io::ConnId;
use crate::server::pubsub::SubKind;
use crate::server::{Server, REPLY_CHUNK_BYTES};
use crate::util::parse_i64;

pub const HANDLERS: &[(&str, Handler)] = &[
    ("ping", ping),
    ("echo", echo),
    ("quit", quit),
    ("reset", reset),
    ("hello", hello),
    ("select", select),
    ("auth", auth),
    ("client|id", client_id),
    ("client|setname", client_setname),
    ("client|getname", client_getname),
    ("client|list", client_list),
    ("client|info", client_info),
    ("client|kill", client_kill),
    ("client|no-evict", client_no_evict),
    ("client|reply", client_reply),
    ("client|help", client_help),
];

const ERR_WRONGPASS: &str = "-WRONGPASS invalid username-password pair or user is disabled.";
/// The only user until ACLs arrive.
const DEFAULT_USER: &[u8] = b"default";

fn ping(srv: &mut Server, ctx: &mut Ctx<'_>) {
    if ctx.argc() > 2 {
        ctx.reply
            .error("wrong number of arguments for 'ping' command");
        return;
    }
    let resp2_subscriber = srv
        .client(ctx.conn)
        .is_some_and(|c| c.protocol == 2 && c.is_pubsub());
    if resp2_subscriber {
        // A RESP2 subscriber can only parse arrays: Redis answers ["pong", message].
        ctx.reply.array(2);
        ctx.reply.bulk(b"pong");
        ctx.reply.bulk(ctx.args.try_get(1).unwrap_or(b""));
        return;
    }
    match ctx.args.try_get(1) {
        Some(msg) => ctx.reply.bulk(msg),
        None => ctx.reply.simple("PONG"),
    }
}

fn echo(_srv: &mut Server, ctx: &mut Ctx<'_>) {
    let msg = ctx.arg(1);
    ctx.reply.bulk(msg);
}

fn quit(srv: &mut Server, ctx: &mut Ctx<'_>) {
    ctx.reply.ok();
    if let Some(c) = srv.client_mut(ctx.conn) {
        c.close_after_reply = true;
    }
}

fn this_client<'s>(srv: &'s mut Server, ctx: &Ctx<'_>) -> &'s mut Client {
    srv.clients
        .get_mut(&ctx.conn)
        .expect("the running command's client exists")
}

fn reset(srv: &mut Server, ctx: &mut Ctx<'_>) {
    let needs_auth = srv.config.requirepass.is_some();
    srv.pubsub_unsubscribe_all_silently(ctx.conn);
    srv.discard_transaction(ctx.conn);
    let c = this_client(srv, ctx);
    c.name = None;
    c.protocol = 2;
    c.reply_mode = ReplyMode::On;
    c.authenticated = !needs_auth;
    ctx.db = 0;
    ctx.reply.set_resp3(false);
    ctx.reply.simple("RESET");
}

/// Check credentials for the default user (the only user until ACLs exist).
fn credentials_ok(srv: &Server, username: &[u8], password: &[u8]) -> bool {
    if username != DEFAULT_USER {
        return false;
    }
    match &srv.config.requirepass {
        None => true,
        Some(p) => constant_time_eq(p, password),
    }
}

/// Compare without an early exit, so timing does not reveal how much matched.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let mut diff = a.len() ^ b.len();
    for i in 0..a.len().max(b.len()) {
        diff |= (a.get(i).copied().unwrap_or(0) ^ b.get(i).copied().unwrap_or(0)) as usize;
    }
    diff == 0
}

fn auth(srv: &mut Server, ctx: &mut Ctx<'_>) {
    if ctx.argc() > 3 {
        ctx.reply.error(ERR_SYNTAX);
        return;
    }
    let (username, password) = if ctx.argc() == 2 {
        if srv.config.requirepass.is_none() {
            ctx.reply.error("AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?");
            return;
        }
        (DEFAULT_USER, ctx.arg(1))
    } else {
        (ctx.arg(1), ctx.arg(2))
    };
    if credentials_ok(srv, username, password) {
        this_client(srv, ctx).authenticated = true;
        ctx.reply.ok();
    } else {
        ctx.reply.error(ERR_WRONGPASS);
    }
}

/// Redis's clientSetName rule: printable ASCII without spaces; empty clears.
fn valid_client_name(name: &[u8]) -> bool {
    name.iter().all(|&c| (b'!'..=b'~').contains(&c))
}

fn set_name_or_reply(srv: &mut Server, ctx: &mut Ctx<'_>, name: &[u8]) -> bool {
    if !valid_client_name(name) {
        ctx.reply
            .error("Client names cannot contain spaces, newlines or special characters.");
        return false;
    }
    this_client(srv, ctx).name = if name.is_empty() {
        None
    } else {
        Some(name.to_vec())
    };
    true
}

fn hello(srv: &mut Server, ctx: &mut Ctx<'_>) {
    let mut version = 0;
    let mut next = 1;
    if ctx.argc() >= 2 {
        let Some(v) = parse_i64(ctx.arg(1)) else {
            ctx.reply
                .error("Protocol version is not an integer or out of range");
            return;
        };
        if !(2..=3).contains(&v) {
            ctx.reply.error("-NOPROTO unsupported protocol version");
            return;
        }
        version = v as u8;
        next = 2;
    }
    let mut j = next;
    while j < ctx.argc() {
        let more = ctx.argc() - 1 - j;
        let opt = ctx.arg(j);
        if opt.eq_ignore_ascii_case(b"AUTH") && more >= 2 {
            if !credentials_ok(srv, ctx.arg(j + 1), ctx.arg(j + 2)) {
                ctx.reply.error(ERR_WRONGPASS);
                return;
            }
            this_client(srv, ctx).authenticated = true;
            j += 3;
        } else if opt.eq_ignore_ascii_case(b"SETNAME") && more >= 1 {
            if !set_name_or_reply(srv, ctx, ctx.arg(j + 1)) {
                return;
            }
            j += 2;
        } else {
            ctx.reply.error(&format!(
                "Syntax error in HELLO option '{}'",
                String::from_utf8_lossy(opt)
            ));
            return;
        }
    }
    let c = this_client(srv, ctx);
    if !c.authenticated {
        ctx.reply.error("-NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time");
        return;
    }
    if version != 0 {
        c.protocol = version;
        ctx.reply.set_resp3(version == 3);
    }
    let (id, proto) = (c.id, c.protocol);
    ctx.reply.map(7);
    ctx.reply.bulk(b"server");
    ctx.reply.bulk(b"redis");
    ctx.reply.bulk(b"version");
    ctx.reply.bulk(crate::REDIS_VERSION.as_bytes());
    ctx.reply.bulk(b"proto");
    ctx.reply.int(proto as i64);
    ctx.reply.bulk(b"id");
    ctx.reply.int(id as i64);
    ctx.reply.bulk(b"mode");
    ctx.reply.bulk(b"standalone");
    ctx.reply.bulk(b"role");
    ctx.reply.bulk(b"master");
    ctx.reply.bulk(b"modules");
    ctx.reply.array(0);
}

fn select(srv: &mut Server, ctx: &mut Ctx<'_>) {
    let Some(id) = parse_i64(ctx.arg(1)) else {
        ctx.reply.error(ERR_NOT_INTEGER);
        return;
    };
    if i32::try_from(id).is_err() {
        ctx.reply.error(&format!(
            "value is out of range, value must between {} and {}",
            i32::MIN,
            i32::MAX
        ));
        return;
    }
    if id < 0 || id as usize >= srv.dbs.len() {
        ctx.reply.error(ERR_DB_INDEX);
        return;
    }
    ctx.db = id as usize;
    ctx.reply.ok();
}

fn client_id(srv: &mut Server, ctx: &mut Ctx<'_>) {
    let id = this_client(srv, ctx).id;
    ctx.reply.int(id as i64);
}

fn client_setname(srv: &mut Server, ctx: &mut Ctx<'_>) {
    if set_name_or_reply(srv, ctx, ctx.arg(2)) {
        ctx.reply.ok();
    }
}

fn client_getname(srv: &mut Server, ctx: &mut Ctx<'_>) {
    match this_client(srv, ctx).name.clone() {
        Some(n) => ctx.reply.bulk(&n),
        None => ctx.reply.null(),
    }
}

/// Client types as CLIENT LIST TYPE / CLIENT KILL TYPE name them.
#[derive(Clone, Copy, PartialEq, Eq)]
enum ClientType {
    Normal,
    Replica,
    Pubsub,
    Master,
}

/// Redis's getClientType: a subscribed client is a pub/sub client.
fn client_type(c: &Client) -> ClientType {
    if c.is_master {
        ClientType::Master
    } else if c.is_replica {
        ClientType::Replica
    } else if c.is_pubsub() {
        ClientType::Pubsub
    } else {
        ClientType::Normal
    }
}

fn client_type_by_name(name: &[u8]) -> Option<ClientType> {
    match name.to_ascii_lowercase().as_slice() {
        b"normal" => Some(ClientType::Normal),
        b"slave" | b"replica" => Some(ClientType::Replica),
        b"pubsub" => Some(ClientType::Pubsub),
        b"master" => Some(ClientType::Master),
        _ => None,
    }
}

/// One CLIENT LIST line, field by field as Redis 7.0's catClientInfoString.
/// `running` is the client whose command is executing: its buffers are on loan to
/// dispatch, so its figures come from the context.
pub(crate) fn client_info_line(srv: &Server, c: &Client, running: Option<&Ctx<'_>>) -> String {
    let now = srv.now.mono;
    let (db, pending, rbs, resp) = match running {
        // The stand-in buffer holds pushes the running command caused to itself.
        Some(ctx) => (
            ctx.db,
            ctx.reply.len() + c.reply.len() + c.unsent_bytes,
            ctx.reply.capacity(),
            if ctx.reply.is_resp3() { 3 } else { 2 },
        ),
        None => (c.db, c.pending_output(), c.reply.capacity(), c.protocol),
    };
    // Redis's static buffer takes the first 16 KiB, its reply list the rest.
    let obl = pending.min(REPLY_CHUNK_BYTES);
    let omem = pending - obl;
    let oll = omem.div_ceil(REPLY_CHUNK_BYTES);
    let qbuf = c.query.len();
    let qbuf_free = c.query.capacity() - c.query.len();
    let (multi, multi_mem) = match &c.multi {
        Some(m) => (m.count as i64, m.argv_len_sums),
        None => (-1, 0),
    };
    let tot_mem =
        std::mem::size_of::<Client>() + c.query.capacity() + rbs + c.argv_bytes + multi_mem + omem;
    let subs = |kind| c.subs.as_ref().map_or(0, |s| s.count(kind));
    format!(
        "id={} addr={} laddr={} fd={} name={} age={} idle={} flags={} db={} sub={} psub={} ssub={} multi={} qbuf={} qbuf-free={} argv-mem={} multi-mem={} rbs={} rbp={} obl={} oll={} omem={} tot-mem={} events=r cmd={} user=default redir=-1 resp={}",
        c.id,
        c.peer,
        c.local,
        c.fd,
        c.name.as_deref().map(|n| String::from_utf8_lossy(n).into_owned()).unwrap_or_default(),
        now.secs_since(c.created),
        now.secs_since(c.last_interaction),
        c.flag_letters(),
        db,
        subs(SubKind::Channel),
        subs(SubKind::Pattern),
        subs(SubKind::Shard),
        multi,
        qbuf,
        qbuf_free,
        c.argv_bytes,
        multi_mem,
        rbs,
        rbs,
        obl,
        oll,
        omem,
        tot_mem,
        c.last_command.unwrap_or("NULL"),
        resp,
    )
}

fn clients_by_id(srv: &Server) -> Vec<&Client> {
    let mut all: Vec<&Client> = srv.clients.values().filter(|c| !c.close_asap).collect();
    all.sort_by_key(|c| c.id);
    all
}

fn client_list(srv: &mut Server, ctx: &mut Ctx<'_>) {
    let mut ids: Option<Vec<u64>> = None;
    let mut only_type = None;
    if ctx.argc() == 4 && ctx.arg(2).eq_ignore_ascii_case(b"type") {
        match client_type_by_name(ctx.arg(3)) {
            Some(t) => only_type = Some(t),
            None => {
                ctx.reply.error(&format!(
                    "Unknown client type '{}'",
                    String::from_utf8_lossy(ctx.arg(3))
                ));
                return;
            }
        }
    } else if ctx.argc() > 3 && ctx.arg(2).eq_ignore_ascii_case(b"id") {
        let mut list = Vec::new();
        for j in 3..ctx.argc() {
            match parse_i64(ctx.arg(j)) {
                Some(id) => list.push(id as u64),
                None => {
                    ctx.reply.error("Invalid client ID");
                    return;
                }
            }
        }
        ids = Some(list);
    } else if ctx.argc() != 2 {
        ctx.reply.error(ERR_SYNTAX);
        return;
    }
    let mut out = String::new();
    match ids {
        Some(ids) => {
            for id in ids {
                if let Some(c) = srv.clients.values().find(|c| c.id == id && !c.close_asap) {
                    let running = (c.conn == ctx.conn).then_some(&*ctx);
                    out.push_str(&client_info_line(srv, c, running));
                    out.push('\n');
                }
            }
        }
        None => {
            for c in clients_by_id(srv) {
                if only_type.is_some_and(|t| t != client_type(c)) {
                    continue;
                }
                let running = (c.conn == ctx.conn).then_some(&*ctx);
                out.push_str(&client_info_line(srv, c, running));
                out.push('\n');
            }
        }
    }
    ctx.reply.verbatim(out.as_bytes(), "txt");
}

fn client_info(srv: &mut Server, ctx: &mut Ctx<'_>) {
    let c = srv.clients.get(&ctx.conn).expect("running client exists");
    let mut line = client_info_line(srv, c, Some(ctx));
    line.push('\n');
    ctx.reply.verbatim(line.as_bytes(), "txt");
}

fn client_kill(srv: &mut Server, ctx: &mut Ctx<'_>) {
    let mut addr: Option<&[u8]> = None;
    let mut laddr: Option<&[u8]> = None;
    let mut only_type = None;
    let mut id: Option<u64> = None;
    let mut skip_me = true;
    if ctx.argc() == 3 {
        addr = Some(ctx.arg(2));
        skip_me = false; // with the old form you can kill yourself
    } else {
        let mut i = 2;
        while i < ctx.argc() {
            let more = ctx.argc() > i + 1;
            let opt = ctx.arg(i).to_ascii_lowercase();
            if !more {
                ctx.reply.error(ERR_SYNTAX);
                return;
            }
            let value = ctx.arg(i + 1);
            match opt.as_slice() {
                b"id" => match parse_i64(value) {
                    Some(n) if n >= 1 => id = Some(n as u64),
                    _ => {
                        ctx.reply.error("client-id should be greater than 0");
                        return;
                    }
                },
                b"type" => match client_type_by_name(value) {
                    Some(t) => only_type = Some(t),
                    None => {
                        ctx.reply.error(&format!(
                            "Unknown client type '{}'",
                            String::from_utf8_lossy(value)
                        ));
                        return;
                    }
                },
                b"addr" => addr = Some(value),
                b"laddr" => laddr = Some(value),
                b"user" => {
                    if value != DEFAULT_USER {
                        ctx.reply.error(&format!(
                            "No such user '{}'",
                            String::from_utf8_lossy(value)
                        ));
                        return;
                    }
                }
                b"skipme" => {
                    if value.eq_ignore_ascii_case(b"yes") {
                        skip_me = true;
                    } else if value.eq_ignore_ascii_case(b"no") {
                        skip_me = false;
                    } else {
                        ctx.reply.error(ERR_SYNTAX);
                        return;
                    }
                }
                _ => {
                    ctx.reply.error(ERR_SYNTAX);
                    return;
                }
            }
            i += 2;
        }
    }
    let mut victims: Vec<ConnId> = Vec::new();
    let mut kill_self = false;
    for c in clients_by_id(srv) {
        if addr.is_some_and(|a| a != c.peer.to_string().as_bytes()) {
            continue;
        }
        if laddr.is_some_and(|a| a != c.local.to_string().as_bytes()) {
            continue;
        }
        if only_type.is_some_and(|t| t != client_type(c)) {
            continue;
        }
        if id.is_some_and(|id| id != c.id) {
            continue;
        }
        if c.conn == ctx.conn {
            if skip_me {
                continue;
            }
            kill_self = true;
        } else {
            victims.push(c.conn);
        }
    }
    let killed = victims.len() + kill_self as usize;
    for conn in victims {
        srv.close_client_asap(conn);
    }
    if ctx.argc() == 3 {
        if killed == 0 {
            ctx.reply.error("No such client");
        } else {
            ctx.reply.ok();
        }
    } else {
        ctx.reply.int(killed as i64);
    }
    if kill_self {
        this_client(srv, ctx).close_after_reply = true;
    }
}

fn client_no_evict(srv: &mut Server, ctx: &mut Ctx<'_>) {
    let v = ctx.arg(2);
    let on = if v.eq_ignore_ascii_case(b"on") {
        true
    } else if v.eq_ignore_ascii_case(b"off") {
        false
    } else {
        ctx.reply.error(ERR_SYNTAX);
        return;
    };
    this_client(srv, ctx).no_evict = on;
    ctx.reply.ok();
}

fn client_reply(srv: &mut Server, ctx: &mut Ctx<'_>) {
    let v = ctx.arg(2);
    let c = this_client(srv, ctx);
    if v.eq_ignore_ascii_case(b"on") {
        c.reply_mode = ReplyMode::On;
        ctx.reply.ok();
    } else if v.eq_ignore_ascii_case(b"off") {
        c.reply_mode = ReplyMode::Off;
    } else if v.eq_ignore_ascii_case(b"skip") {
        if c.reply_mode != ReplyMode::Off {
            c.reply_mode = ReplyMode::SkipNext;
        }
    } else {
        ctx.reply.error(ERR_SYNTAX);
    }
}

fn client_help(_srv: &mut Server, ctx: &mut Ctx<'_>) {
    // Redis's help text, limited to the subcommands cinnabar implements.
    ctx.reply.help(
        "CLIENT",
        &[
            "GETNAME",
            "    Return the name of the current connection.",
            "ID",
            "    Return the ID of the current connection.",
            "INFO",
            "    Return information about the current client connection.",
            "KILL <ip:port>",
            "    Kill connection made from <ip:port>.",
            "KILL <option> <value> [<option> <value> [...]]",
            "    Kill connections. Options are:",
            "    * ADDR (<ip:port>|<unixsocket>:0)",
            "      Kill connections made from the specified address",
            "    * LADDR (<ip:port>|<unixsocket>:0)",
            "      Kill connections made to specified local address",
            "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
            "      Kill connections by type.",
            "    * USER <username>",
            "      Kill connections authenticated by <username>.",
            "    * SKIPME (YES|NO)",
            "      Skip killing current connection (default: yes).",
            "LIST [options ...]",
            "    Return information about client connections. Options:",
            "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
            "      Return clients of specified type.",
            "REPLY (ON|OFF|SKIP)",
            "    Control the replies sent to the current connection.",
            "SETNAME <name>",
            "    Assign the name <name> to the current connection.",
            "UNBLOCK <clientid> [TIMEOUT|ERROR]",
            "    Unblock the specified blocked client.",
            "NO-EVICT (ON|OFF)",
            "    Protect current client connection from eviction.",
        ],
    );
}

#[cfg(test)]
mod tests {
    use crate::testing::{Frame, TestServer};
    use crate::Config;

    fn bulk(s: &str) -> Frame {
        Frame::bulk(s)
    }

    #[test]
    fn ping_echo_quit() {
        let mut t = TestServer::new();
        let c = t.connect();
        assert_eq!(t.cmd_on(c, &["PING", "hi"]), bulk("hi"));
        assert_eq!(
            t.cmd_on(c, &["PING", "a", "b"]),
            Frame::err("ERR wrong number of arguments for 'ping' command")
        );
        assert_eq!(t.cmd_on(c, &["ECHO", "x"]), bulk("x"));
        assert_eq!(t.cmd_on(c, &["QUIT"]), Frame::ok());
        assert_eq!(t.closed, vec![c]);
    }

    #[test]
    fn hello_switches_protocol() {
        let mut t = TestServer::new();
        let c = t.connect();
        let Frame::Map(fields) = (match t.cmd_on(c, &["HELLO", "3"]) {
            f @ Frame::Map(_) => f,
            other => panic!("{other:?}"),
        }) else {
            unreachable!()
        };
        assert_eq!(fields[0], (bulk("server"), bulk("redis")));
        assert_eq!(fields[1], (bulk("version"), bulk("7.0.15")));
        assert_eq!(fields[2], (bulk("proto"), Frame::Int(3)));
        assert_eq!(fields[3], (bulk("id"), Frame::Int(1)));
        assert_eq!(fields[6], (bulk("modules"), Frame::Array(vec![])));
        assert_eq!(t.cmd_on(c, &["GET", "nope"]), Frame::Null);
        t.send_raw(c, b"GET nope\r\n");
        assert_eq!(t.take_output(c), b"_\r\n");
        assert!(matches!(t.cmd_on(c, &["HELLO", "2"]), Frame::Array(v) if v.len() == 14));
        t.send_raw(c, b"GET nope\r\n");
        assert_eq!(t.take_output(c), b"$-1\r\n");
        assert_eq!(
            t.cmd_on(c, &["HELLO", "4"]),
            Frame::err("NOPROTO unsupported protocol version")
        );
        assert_eq!(
            t.cmd_on(c, &["HELLO", "x"]),
            Frame::err("ERR Protocol version is not an integer or out of range")
        );
        assert_eq!(
            t.cmd_on(c, &["HELLO", "3", "FOO"]),
            Frame::err("ERR Syntax error in HELLO option 'FOO'")
        );
        assert!(matches!(
            t.cmd_on(c, &["HELLO", "2", "SETNAME", "app"]),
            Frame::Array(_)
        ));
        assert_eq!(t.cmd_on(c, &["CLIENT", "GETNAME"]), bulk("app"));
    }

    #[test]
    fn auth_and_requirepass() {
        let mut t = TestServer::new();
        assert_eq!(
            t.cmd(&["AUTH", "x"]),
            Frame::err("ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?")
        );
        assert_eq!(t.cmd(&["AUTH", "default", "anything"]), Frame::ok());
        assert_eq!(
            t.cmd(&["AUTH", "bob", "x"]),
            Frame::err("WRONGPASS invalid username-password pair or user is disabled.")
        );
        assert_eq!(
            t.cmd(&["AUTH", "a", "b", "c"]),
            Frame::err("ERR syntax error")
        );

        let config = Config {
            requirepass: Some(b"secret".to_vec()),
            ..Default::default()
        };
        let mut t = TestServer::with_config(config);
        let c = t.connect();
        assert_eq!(
            t.cmd_on(c, &["GET", "k"]),
            Frame::err("NOAUTH Authentication required.")
        );
        assert_eq!(
            t.cmd_on(c, &["PING"]),
            Frame::err("NOAUTH Authentication required.")
        );
        assert_eq!(t.cmd_on(c, &["HELLO", "3"]).as_str(), "NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time");
        assert_eq!(
            t.cmd_on(c, &["AUTH", "wrong"]),
            Frame::err("WRONGPASS invalid username-password pair or user is disabled.")
        );
        assert_eq!(t.cmd_on(c, &["AUTH", "secret"]), Frame::ok());
        assert_eq!(t.cmd_on(c, &["GET", "k"]), Frame::Null);
        assert_eq!(t.cmd_on(c, &["RESET"]), Frame::Simple("RESET".into()));
        assert_eq!(
            t.cmd_on(c, &["GET", "k"]),
            Frame::err("NOAUTH Authentication required.")
        );
        assert!(matches!(
            t.cmd_on(c, &["HELLO", "3", "AUTH", "default", "secret"]),
            Frame::Map(_)
        ));
        assert_eq!(t.cmd_on(c, &["GET", "k"]), Frame::Null);
        // Unauthenticated clients get Redis's tighter protocol limits.
        let d = t.connect();
        t.send_raw(d, b"*20\r\n");
        assert_eq!(
            t.take_output(d),
            b"-ERR Protocol error: unauthenticated multibulk length\r\n"
        );
    }

    #[test]
    fn select_and_reset() {
        let mut t = TestServer::new();
        let c = t.connect();
        assert_eq!(t.cmd_on(c, &["SELECT", "3"]), Frame::ok());
        t.cmd_on(c, &["SET", "k", "v"]);
        assert_eq!(t.server.dbs[3].len(), 1);
        assert_eq!(
            t.cmd_on(c, &["SELECT", "16"]),
            Frame::err("ERR DB index is out of range")
        );
        assert_eq!(
            t.cmd_on(c, &["SELECT", "x"]),
            Frame::err("ERR value is not an integer or out of range")
        );
        t.cmd_on(c, &["CLIENT", "SETNAME", "n"]);
        t.cmd_on(c, &["HELLO", "3"]);
        assert_eq!(t.cmd_on(c, &["RESET"]), Frame::Simple("RESET".into()));
        assert_eq!(t.cmd_on(c, &["GET", "k"]), Frame::Null);
        assert_eq!(t.cmd_on(c, &["CLIENT", "GETNAME"]), Frame::Null);
        t.send_raw(c, b"GET k\r\n");
        assert_eq!(t.take_output(c), b"$-1\r\n");
    }

    #[test]
    fn client_subcommands() {
        let mut t = TestServer::new();
        let a = t.connect();
        let b = t.connect();
        assert_eq!(t.cmd_on(a, &["CLIENT", "ID"]), Frame::Int(1));
        assert_eq!(t.cmd_on(b, &["CLIENT", "ID"]), Frame::Int(2));
        assert_eq!(
            t.cmd_on(a, &["CLIENT", "SETNAME", "has space"]),
            Frame::err("ERR Client names cannot contain spaces, newlines or special characters.")
        );
        assert_eq!(t.cmd_on(a, &["CLIENT", "SETNAME", "alpha"]), Frame::ok());
        assert_eq!(t.cmd_on(a, &["CLIENT", "GETNAME"]), bulk("alpha"));
        let list = t.cmd_on(a, &["CLIENT", "LIST"]).as_str();
        let lines: Vec<&str> = list.lines().collect();
        assert_eq!(lines.len(), 2);
        assert!(lines[0].starts_with("id=1 addr=127.0.0.1:40001 laddr=127.0.0.1:6379 fd=8 name=alpha age=0 idle=0 flags=N db=0 sub=0 psub=0 ssub=0 multi=-1 qbuf="), "{}", lines[0]);
        assert!(
            lines[0].ends_with("events=r cmd=client|list user=default redir=-1 resp=2"),
            "{}",
            lines[0]
        );
        assert!(lines[1].contains("cmd=client|id"), "{}", lines[1]);
        let info = t.cmd_on(b, &["CLIENT", "INFO"]).as_str();
        assert!(
            info.starts_with("id=2 ")
                && info.ends_with("cmd=client|info user=default redir=-1 resp=2\n"),
            "{info}"
        );
        let by_id = t.cmd_on(a, &["CLIENT", "LIST", "ID", "2", "99"]).as_str();
        assert_eq!(by_id.lines().count(), 1);
        assert_eq!(
            t.cmd_on(a, &["CLIENT", "LIST", "ID", "x"]),
            Frame::err("ERR Invalid client ID")
        );
        assert_eq!(
            t.cmd_on(a, &["CLIENT", "LIST", "TYPE", "foo"]),
            Frame::err("ERR Unknown client type 'foo'")
        );
        assert_eq!(t.cmd_on(a, &["CLIENT", "LIST", "TYPE", "pubsub"]), bulk(""));
        assert_eq!(
            t.cmd_on(a, &["CLIENT", "LIST", "FOO"]),
            Frame::err("ERR syntax error")
        );
        assert_eq!(t.cmd_on(a, &["CLIENT", "NO-EVICT", "on"]), Frame::ok());
        assert!(t
            .cmd_on(a, &["CLIENT", "INFO"])
            .as_str()
            .contains("flags=e"));
        assert_eq!(
            t.cmd_on(a, &["CLIENT", "NO-EVICT", "maybe"]),
            Frame::err("ERR syntax error")
        );
        // Kill by address (old form) and by id (new form).
        assert_eq!(
            t.cmd_on(a, &["CLIENT", "KILL", "1.2.3.4:5"]),
            Frame::err("ERR No such client")
        );
        assert_eq!(
            t.cmd_on(a, &["CLIENT", "KILL", "ID", "0"]),
            Frame::err("ERR client-id should be greater than 0")
        );
        assert_eq!(
            t.cmd_on(a, &["CLIENT", "KILL", "USER", "bob"]),
            Frame::err("ERR No such user 'bob'")
        );
        assert_eq!(
            t.cmd_on(a, &["CLIENT", "KILL", "SKIPME", "maybe"]),
            Frame::err("ERR syntax error")
        );
        assert_eq!(t.cmd_on(a, &["CLIENT", "KILL", "ID", "2"]), Frame::Int(1));
        assert!(t.closed.contains(&b));
        assert_eq!(
            t.cmd_on(a, &["CLIENT", "KILL", "TYPE", "normal"]),
            Frame::Int(0),
            "SKIPME defaults to yes"
        );
        assert_eq!(
            t.cmd_on(a, &["CLIENT", "KILL", "127.0.0.1:40001"]),
            Frame::ok()
        );
        assert!(t.closed.contains(&a));
    }

    #[test]
    fn client_reply_modes() {
        let mut t = TestServer::new();
        let c = t.connect();
        t.send_raw(
            c,
            b"CLIENT REPLY OFF\r\nPING\r\nSET k v\r\nCLIENT REPLY ON\r\nGET k\r\n",
        );
        assert_eq!(t.take_output(c), b"+OK\r\n$1\r\nv\r\n");
        t.send_raw(c, b"CLIENT REPLY SKIP\r\nPING\r\nPING\r\n");
        assert_eq!(t.take_output(c), b"+PONG\r\n");
        assert_eq!(
            t.cmd_on(c, &["CLIENT", "REPLY", "MAYBE"]),
            Frame::err("ERR syntax error")
        );
        assert_eq!(
            t.cmd_on(c, &["CLIENT", "NOPE"]),
            Frame::err("ERR unknown subcommand 'NOPE'. Try CLIENT HELP.")
        );
        assert!(matches!(t.cmd_on(c, &["CLIENT", "HELP"]), Frame::Array(_)));
    }
}
