//! Listening sockets for the `bind` and `port` settings, with Redis's rules: `*` is
//! every IPv4 address, `::*` every IPv6 address (IPv6-only socket), and a leading `-`
//! makes an address optional (failure to bind it is not fatal).

use crate::driver::Incoming;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::os::fd::AsRawFd;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

/// One `bind` entry resolved to a socket address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BindAddr {
    pub addr: SocketAddr,
    pub optional: bool,
    /// As written in the config, for messages.
    pub shown: String,
}

pub fn resolve(bind: &[String], port: u16) -> Result<Vec<BindAddr>, String> {
    let mut out = Vec::new();
    for entry in bind {
        let (optional, name) = match entry.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, entry.as_str()),
        };
        let ip: IpAddr = match name {
            "*" => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            "::*" => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
            other => other
                .parse()
                .map_err(|_| format!("Invalid bind address '{other}'"))?,
        };
        out.push(BindAddr {
            addr: SocketAddr::new(ip, port),
            optional,
            shown: name.to_string(),
        });
    }
    Ok(out)
}

/// Bind and listen with the given backlog; IPv6 sockets are IPv6-only, as Redis sets.
pub fn listen(addr: SocketAddr, backlog: i32) -> std::io::Result<TcpListener> {
    let domain = socket2::Domain::for_address(addr);
    let socket = socket2::Socket::new(domain, socket2::Type::STREAM, Some(socket2::Protocol::TCP))?;
    if addr.is_ipv6() {
        socket.set_only_v6(true)?;
    }
    socket.set_reuse_address(true)?;
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    socket.listen(backlog)?;
    TcpListener::from_std(socket.into())
}

/// Accept forever on `listener`, configuring each socket as Redis does (TCP_NODELAY,
/// keepalive), and hand connections to the loop.
pub async fn accept_loop(
    listener: TcpListener,
    keepalive_secs: u64,
    tx: mpsc::Sender<Incoming<TcpStream>>,
) {
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(s) => s,
            Err(_) => {
                // Out of file descriptors or a transient error: back off briefly.
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        if keepalive_secs > 0 {
            let sock = socket2::SockRef::from(&stream);
            let ka = socket2::TcpKeepalive::new()
                .with_time(Duration::from_secs(keepalive_secs))
                .with_interval(Duration::from_secs((keepalive_secs / 3).max(1)));
            let _ = sock.set_tcp_keepalive(&ka);
        }
        let local = stream.local_addr().unwrap_or(peer);
        let fd = stream.as_raw_fd() as i64;
        if tx
            .send(Incoming {
                stream,
                peer,
                local,
                fd,
            })
            .await
            .is_err()
        {
            return;
        }
    }
}

/// Outbound TCP connections for the core (`Effect::Connect`: a replica's link to its
/// master), with TCP_NODELAY as Redis sets on every socket.
pub struct TcpConnector;

impl crate::driver::Connector<TcpStream> for TcpConnector {
    fn connect(&mut self, host: String, port: u16) -> crate::driver::ConnectFuture<TcpStream> {
        Box::pin(async move {
            let stream = TcpStream::connect((host.as_str(), port)).await?;
            let _ = stream.set_nodelay(true);
            let peer = stream.peer_addr()?;
            let local = stream.local_addr()?;
            Ok(crate::driver::Outgoing {
                stream,
                peer,
                local,
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_redis_bind_syntax() {
        let got = resolve(&["*".into(), "-::*".into(), "127.0.0.1".into()], 6379).unwrap();
        assert_eq!(got[0].addr, "0.0.0.0:6379".parse().unwrap());
        assert!(!got[0].optional);
        assert_eq!(got[1].addr, "[::]:6379".parse().unwrap());
        assert!(got[1].optional);
        assert_eq!(got[2].addr, "127.0.0.1:6379".parse().unwrap());
        assert!(resolve(&["nope".into()], 1).is_err());
    }
}
