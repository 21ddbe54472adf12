//! What the fault scenarios share: a seeded generator for their workloads and a
//! RESP connection to a simulated host.

use cinnabar_core::testing::{decode, encode_command, Frame};
use cinnabar_io_sim::SERVER_PORT;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use turmoil::net::TcpStream;

/// xorshift64*: the workload is a function of the seed.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
}

/// A client connection to the server on `host`, reading whole frames.
pub struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Conn {
    pub async fn connect(host: &str) -> std::io::Result<Conn> {
        Ok(Conn {
            stream: TcpStream::connect((host, SERVER_PORT)).await?,
            buf: Vec::new(),
        })
    }

    /// Send `commands` in one write (a pipeline).
    pub async fn send(&mut self, commands: &[Vec<&[u8]>]) -> std::io::Result<()> {
        let mut out = Vec::new();
        for c in commands {
            out.extend_from_slice(&encode_command(c));
        }
        self.stream.write_all(&out).await
    }

    pub async fn read(&mut self) -> std::io::Result<Frame> {
        loop {
            if let Some((frame, used)) = decode(&self.buf) {
                self.buf.drain(..used);
                return Ok(frame);
            }
            let mut chunk = [0u8; 4096];
            let n = self.stream.read(&mut chunk).await?;
            if n == 0 {
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    pub async fn cmd(&mut self, args: &[&[u8]]) -> std::io::Result<Frame> {
        self.send(&[args.to_vec()]).await?;
        self.read().await
    }
}
