//! SYNC, PSYNC, REPLCONF, ROLE, WAIT: the commands of replication's master side
//! (replication.c's syncCommand, replconfCommand, roleCommand). The state they act
//! on is `server/replication.rs`.

use crate::command::{Ctx, Handler};
use crate::server::replication::{ReplconfOpt, ReplicaState};
use crate::server::BlockOp;
use crate::util::parse_i64;
use crate::Server;

pub const HANDLERS: &[(&str, Handler)] = &[
    ("sync", sync),
    ("psync", sync),
    ("replconf", replconf),
    ("role", role),
    ("wait", wait),
    ("replicaof", replicaof),
    ("slaveof", replicaof),
];

/// Longest REPLCONF ip-address Redis takes (NET_HOST_STR_LEN - 1).
const HOST_STR_MAX: usize = 255;

/// SYNC / PSYNC replid offset.
fn sync(srv: &mut Server, ctx: &mut Ctx<'_>) {
    // Already a replica: ignored, without a reply.
    if srv.is_replica_client(ctx.conn) {
        return;
    }
    let psync = ctx.arg(0).eq_ignore_ascii_case(b"psync");
    if srv.is_replica() && srv.replica.state != Some(crate::server::replica::LinkState::Connected) {
        ctx.reply
            .error("-NOMASTERLINK Can't SYNC while not connected with my master");
        return;
    }
    if psync && ctx.argc() > 3 && ctx.arg(3).eq_ignore_ascii_case(b"failover") {
        srv.log(
            crate::io::LogLevel::Warning,
            format!(
                "Failover request received for replid {}.",
                String::from_utf8_lossy(ctx.arg(1))
            ),
        );
        ctx.reply.error("PSYNC FAILOVER can't be sent to a master.");
        return;
    }
    let pending = !ctx.reply.is_empty()
        || srv
            .client(ctx.conn)
            .is_some_and(|c| !c.reply.is_empty() || !c.held.is_empty());
    if pending {
        ctx.reply
            .error("SYNC and PSYNC are invalid with pending output");
        return;
    }
    let request = if psync {
        let Some(offset) = parse_i64(ctx.arg(2)) else {
            let name = srv.replica_name(ctx.conn);
            srv.log(
                crate::io::LogLevel::Notice,
                format!("Replica {name} asks for synchronization"),
            );
            srv.log(
                crate::io::LogLevel::Warning,
                format!("Replica {name} asks for synchronization but with a wrong offset"),
            );
            ctx.reply.error(super::ERR_NOT_INTEGER);
            return;
        };
        Some((ctx.arg(1).to_vec(), offset))
    } else {
        None
    };
    if let Err(e) = srv.repl_sync(ctx.conn, request) {
        ctx.reply.error(&e);
    }
}

/// REPLCONF <option> <value> ...
fn replconf(srv: &mut Server, ctx: &mut Ctx<'_>) {
    if ctx.argc().is_multiple_of(2) {
        ctx.reply.error(super::ERR_SYNTAX);
        return;
    }
    let mut j = 1;
    while j < ctx.argc() {
        let (opt, value) = (ctx.arg(j), ctx.arg(j + 1));
        let opt_lower = opt.to_ascii_lowercase();
        match opt_lower.as_slice() {
            b"listening-port" => {
                let Some(port) = parse_i64(value) else {
                    ctx.reply.error(super::ERR_NOT_INTEGER);
                    return;
                };
                srv.replconf_set(ctx.conn, ReplconfOpt::ListeningPort(port));
            }
            b"ip-address" => {
                if value.len() > HOST_STR_MAX {
                    ctx.reply.error(&format!(
                        "REPLCONF ip-address provided by replica instance is too long: {} bytes",
                        value.len()
                    ));
                    return;
                }
                let ip = String::from_utf8_lossy(value).into_owned();
                srv.replconf_set(ctx.conn, ReplconfOpt::IpAddress(ip));
            }
            b"capa" => srv.replconf_set(ctx.conn, ReplconfOpt::Capa(value.to_vec())),
            b"ack" => {
                // From replicas only, and never answered.
                if !srv.is_replica_client(ctx.conn) {
                    return;
                }
                if let Some(offset) = parse_i64(value) {
                    srv.replconf_ack(ctx.conn, offset);
                }
                return;
            }
            // Sent by a master to its replicas: our master gets an ACK.
            b"getack" => {
                if srv.is_master_client(ctx.conn) {
                    srv.replica_send_ack();
                }
                return;
            }
            _ => {
                ctx.reply.error(&format!(
                    "Unrecognized REPLCONF option: {}",
                    String::from_utf8_lossy(opt)
                ));
                return;
            }
        }
        j += 2;
    }
    ctx.reply.ok();
}

/// ROLE on a master: ["master", offset, [[ip, port, acked offset], ...]] with the
/// replicas that are online.
fn role(srv: &mut Server, ctx: &mut Ctx<'_>) {
    if srv.is_replica() {
        let (host, port, state, off) = srv.replica_role();
        ctx.reply.array(5);
        ctx.reply.bulk(b"slave");
        ctx.reply.bulk(host.as_bytes());
        ctx.reply.int(port as i64);
        ctx.reply.bulk(state.as_bytes());
        ctx.reply.int(off);
        return;
    }
    let online: Vec<(String, i64, i64)> = srv
        .repl
        .replicas
        .iter()
        .filter(|r| r.state == ReplicaState::Online)
        .filter_map(|r| {
            let c = srv.client(r.conn)?;
            let ip = r
                .announced_ip
                .clone()
                .unwrap_or_else(|| c.peer.ip().to_string());
            Some((ip, r.listening_port, r.ack_off))
        })
        .collect();
    ctx.reply.array(3);
    ctx.reply.bulk(b"master");
    ctx.reply.int(srv.repl.master_repl_offset);
    ctx.reply.array(online.len());
    for (ip, port, off) in online {
        ctx.reply.array(3);
        ctx.reply.bulk(ip.as_bytes());
        ctx.reply.bulk(port.to_string().as_bytes());
        ctx.reply.bulk(off.to_string().as_bytes());
    }
}

/// WAIT numreplicas timeout: the replicas that acknowledged this client's last
/// write, once there are `numreplicas` of them or at the timeout (milliseconds on
/// the monotonic clock, 0 for none).
fn wait(srv: &mut Server, ctx: &mut Ctx<'_>) {
    if srv.is_replica() {
        ctx.reply.error("WAIT cannot be used with replica instances. Please also note that since Redis 4.0 if a replica is configured to be writable (which is not the default) writes to replicas are just local and are not propagated.");
        return;
    }
    let Some(numreplicas) = super::arg_i64(ctx, 1) else {
        return;
    };
    let Some(ms) = parse_i64(ctx.arg(2)) else {
        ctx.reply.error("timeout is not an integer or out of range");
        return;
    };
    if ms < 0 {
        ctx.reply.error("timeout is negative");
        return;
    }
    if ms > i64::MAX - srv.wall_ms() {
        ctx.reply.error("timeout is out of range");
        return;
    }
    let offset = srv.client(ctx.conn).map_or(0, |c| c.woff);
    let acks = srv.repl_count_acks(offset) as i64;
    if acks >= numreplicas || ctx.deny_blocking {
        ctx.reply.int(acks);
        return;
    }
    let deadline = (ms > 0).then(|| srv.now.mono.add_ms(ms as u64));
    srv.block_for_keys(
        ctx,
        &[],
        BlockOp::WaitAcks {
            offset,
            numreplicas,
        },
        deadline,
    );
    srv.repl.get_ack = true;
}

/// REPLICAOF host port | NO ONE (replicaofCommand).
fn replicaof(srv: &mut Server, ctx: &mut Ctx<'_>) {
    if ctx.arg(1).eq_ignore_ascii_case(b"no") && ctx.arg(2).eq_ignore_ascii_case(b"one") {
        if srv.is_replica() {
            srv.replica_unset_master();
            let who = requester(srv, ctx);
            srv.log(
                crate::io::LogLevel::Notice,
                format!("MASTER MODE enabled (user request from '{who}')"),
            );
        }
        ctx.reply.ok();
        return;
    }
    if srv.is_replica_client(ctx.conn) {
        ctx.reply
            .error("Command is not valid when client is a replica.");
        return;
    }
    let port = match parse_i64(ctx.arg(2)) {
        Some(p) if (0..=65535).contains(&p) => p as u16,
        _ => {
            ctx.reply.error("Invalid master port");
            return;
        }
    };
    let host = String::from_utf8_lossy(ctx.arg(1)).into_owned();
    if let Some((h, p)) = &srv.config.replicaof {
        if h.eq_ignore_ascii_case(&host) && *p == port {
            srv.log(
                crate::io::LogLevel::Notice,
                "REPLICAOF would result into synchronization with the master we are already connected with. No operation performed.",
            );
            ctx.reply.simple("OK Already connected to specified master");
            return;
        }
    }
    srv.replica_set_master(host.clone(), port);
    let who = requester(srv, ctx);
    srv.log(
        crate::io::LogLevel::Notice,
        format!("REPLICAOF {host}:{port} enabled (user request from '{who}')"),
    );
    ctx.reply.ok();
}

/// The CLIENT LIST line of the client running the command (catClientInfoString).
fn requester(srv: &Server, ctx: &Ctx<'_>) -> String {
    srv.client(ctx.conn)
        .map(|c| super::connection::client_info_line(srv, c, Some(ctx)))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use crate::testing::{Frame, TestServer};

    #[test]
    fn replconf_checks_pairs_and_options() {
        let mut t = TestServer::new();
        assert_eq!(
            t.cmd(&["REPLCONF", "listening-port", "6380"]),
            Frame::Simple("OK".into())
        );
        assert_eq!(
            t.cmd(&["REPLCONF", "capa", "eof", "capa", "psync2"]),
            Frame::Simple("OK".into())
        );
        assert_eq!(
            t.cmd(&["REPLCONF", "listening-port"]),
            Frame::Error("ERR syntax error".into())
        );
        assert_eq!(
            t.cmd(&["REPLCONF", "listening-port", "x"]),
            Frame::Error("ERR value is not an integer or out of range".into())
        );
        assert_eq!(
            t.cmd(&["REPLCONF", "bogus", "1"]),
            Frame::Error("ERR Unrecognized REPLCONF option: bogus".into())
        );
        assert_eq!(t.cmd(&["REPLCONF"]), Frame::Simple("OK".into()));
    }

    #[test]
    fn role_of_a_master_without_replicas() {
        let mut t = TestServer::new();
        assert_eq!(
            t.cmd(&["ROLE"]),
            Frame::Array(vec![
                Frame::Bulk(b"master".to_vec()),
                Frame::Int(0),
                Frame::Array(vec![]),
            ])
        );
    }

    #[test]
    fn psync_failover_and_bad_offsets_are_refused() {
        let mut t = TestServer::new();
        assert_eq!(
            t.cmd(&["PSYNC", "?", "-1", "FAILOVER"]),
            Frame::Error("ERR PSYNC FAILOVER can't be sent to a master.".into())
        );
        assert_eq!(
            t.cmd(&["PSYNC", "?", "x"]),
            Frame::Error("ERR value is not an integer or out of range".into())
        );
    }
}
