//! Socket layer: a TCP listener whose connections can be cut from inside a handler.
//! That is how `Fault::Drop` closes a connection without answering, and how `shutdown` kills it all.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::extract::connect_info::Connected;
use axum::serve::{IncomingStream, Listener};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

/// Per-connection switch handed to handlers through `ConnectInfo`.
#[derive(Clone, Default)]
pub(crate) struct ConnCtl {
    killed: Arc<AtomicBool>,
    /// Shared by every connection of one simulator; set by `Sim::shutdown`.
    down: Arc<AtomicBool>,
}

impl ConnCtl {
    /// After this the response hyper tries to write fails, so the client sees the socket close.
    pub fn kill(&self) {
        self.killed.store(true, Ordering::SeqCst);
    }

    fn dead(&self) -> bool {
        self.killed.load(Ordering::SeqCst) || self.down.load(Ordering::SeqCst)
    }
}

pub(crate) struct SimListener {
    inner: TcpListener,
    down: Arc<AtomicBool>,
}

impl SimListener {
    pub fn new(inner: TcpListener, down: Arc<AtomicBool>) -> Self {
        SimListener { inner, down }
    }
}

pub(crate) struct SimStream {
    io: TcpStream,
    ctl: ConnCtl,
}

impl Listener for SimListener {
    type Io = SimStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            match self.inner.accept().await {
                Ok((io, addr)) => {
                    let _ = io.set_nodelay(true);
                    let ctl = ConnCtl {
                        killed: Arc::default(),
                        down: self.down.clone(),
                    };
                    return (SimStream { io, ctl }, addr);
                }
                // Like axum's own listener: back off on EMFILE and friends instead of spinning.
                Err(e) => {
                    tracing::warn!("panel-sim accept error: {e}");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                }
            }
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.inner.local_addr()
    }
}

impl Connected<IncomingStream<'_, SimListener>> for ConnCtl {
    fn connect_info(stream: IncomingStream<'_, SimListener>) -> Self {
        stream.io().ctl.clone()
    }
}

fn aborted() -> io::Error {
    io::Error::new(
        io::ErrorKind::ConnectionAborted,
        "panel-sim dropped the connection",
    )
}

impl AsyncRead for SimStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if self.ctl.dead() {
            return Poll::Ready(Ok(())); // EOF
        }
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl AsyncWrite for SimStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if self.ctl.dead() {
            return Poll::Ready(Err(aborted()));
        }
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        if self.ctl.dead() {
            return Poll::Ready(Err(aborted()));
        }
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.ctl.dead() {
            return Poll::Ready(Err(aborted()));
        }
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}
