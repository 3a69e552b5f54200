//! An established connection: frames over any byte stream, whole or split
//! into a [`Reader`] and a [`Writer`] for two tasks.

use std::sync::Arc;
use std::time::Duration;

use tokio::io::{
    AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _, ReadHalf, WriteHalf,
};

use super::frame::{Decoder, Encoder};
use super::handshake::Established;
use super::identity::Peer;
use super::{NetError, Options};

/// An authenticated, encrypted connection to a [`Peer`], after
/// [`connect`](super::connect) or [`accept`](super::accept).
///
/// Frames are byte strings of up to [`Options::max_frame`] bytes, delivered
/// whole, in order, exactly once, or not at all: any alteration of the
/// stream ends the connection with [`NetError::Decrypt`]. After any error
/// but [`NetError::ReadTimeout`] and [`NetError::SendTooLarge`], the
/// direction that failed is dead and answers [`NetError::Broken`].
pub struct Connection<S> {
    io: S,
    peer: Peer,
    encoder: Encoder,
    decoder: Decoder,
    read_timeout: Option<Duration>,
}

impl<S> std::fmt::Debug for Connection<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("peer", &self.peer)
            .finish_non_exhaustive()
    }
}

impl<S> Connection<S> {
    pub(crate) fn new(io: S, established: Established, options: &Options) -> Connection<S> {
        let transport = Arc::new(established.transport);
        Connection {
            io,
            peer: established.peer,
            encoder: Encoder::new(Arc::clone(&transport), options.max_frame),
            decoder: Decoder::new(transport, options.max_frame),
            read_timeout: options.read_timeout,
        }
    }

    /// The authenticated node on the other end.
    pub fn peer(&self) -> &Peer {
        &self.peer
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> Connection<S> {
    /// Sends one frame. Not cancel-safe: a send abandoned half-way leaves
    /// the peer with part of a frame, and later sends fail with
    /// [`NetError::Broken`].
    pub async fn send(&mut self, frame: &[u8]) -> Result<(), NetError> {
        send(&mut self.io, &mut self.encoder, frame).await
    }

    /// The next frame, or `Ok(None)` when the peer closed the connection
    /// between frames. Cancel-safe: the bytes of a frame that has begun to
    /// arrive stay buffered for the next call.
    pub async fn recv(&mut self) -> Result<Option<Vec<u8>>, NetError> {
        recv(&mut self.io, &mut self.decoder, self.read_timeout).await
    }

    /// Closes our direction (the peer's `recv` then returns `Ok(None)`);
    /// frames from the peer can still be received.
    pub async fn close(&mut self) -> Result<(), NetError> {
        Ok(self.io.shutdown().await?)
    }

    /// Splits the connection so that one task can receive while another
    /// sends.
    pub fn into_split(self) -> (Reader<ReadHalf<S>>, Writer<WriteHalf<S>>) {
        let (read, write) = tokio::io::split(self.io);
        (
            Reader {
                io: read,
                peer: self.peer,
                decoder: self.decoder,
                read_timeout: self.read_timeout,
            },
            Writer {
                io: write,
                peer: self.peer,
                encoder: self.encoder,
            },
        )
    }
}

/// The receiving half of a split [`Connection`].
pub struct Reader<R> {
    io: R,
    peer: Peer,
    decoder: Decoder,
    read_timeout: Option<Duration>,
}

impl<R> std::fmt::Debug for Reader<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reader")
            .field("peer", &self.peer)
            .finish_non_exhaustive()
    }
}

impl<R: AsyncRead + Unpin> Reader<R> {
    /// The authenticated node on the other end.
    pub fn peer(&self) -> &Peer {
        &self.peer
    }

    /// As [`Connection::recv`].
    pub async fn recv(&mut self) -> Result<Option<Vec<u8>>, NetError> {
        recv(&mut self.io, &mut self.decoder, self.read_timeout).await
    }
}

/// The sending half of a split [`Connection`].
pub struct Writer<W> {
    io: W,
    peer: Peer,
    encoder: Encoder,
}

impl<W> std::fmt::Debug for Writer<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Writer")
            .field("peer", &self.peer)
            .finish_non_exhaustive()
    }
}

impl<W: AsyncWrite + Unpin> Writer<W> {
    /// The authenticated node on the other end.
    pub fn peer(&self) -> &Peer {
        &self.peer
    }

    /// As [`Connection::send`].
    pub async fn send(&mut self, frame: &[u8]) -> Result<(), NetError> {
        send(&mut self.io, &mut self.encoder, frame).await
    }

    /// As [`Connection::close`]. With `tokio::io::split` halves, the stream
    /// itself closes only when both halves are dropped; this sends the end
    /// of stream now.
    pub async fn close(&mut self) -> Result<(), NetError> {
        Ok(self.io.shutdown().await?)
    }
}

async fn send<W: AsyncWrite + Unpin>(
    io: &mut W,
    encoder: &mut Encoder,
    frame: &[u8],
) -> Result<(), NetError> {
    let wire = encoder.encode(frame)?;
    // One write for the whole frame: its chunks leave together.
    io.write_all(wire).await?;
    io.flush().await?;
    encoder.sent();
    Ok(())
}

async fn recv<R: AsyncRead + Unpin>(
    io: &mut R,
    decoder: &mut Decoder,
    timeout: Option<Duration>,
) -> Result<Option<Vec<u8>>, NetError> {
    match timeout {
        None => recv_frame(io, decoder).await,
        // recv_frame is cancel-safe, so the timeout loses no bytes.
        Some(after) => tokio::time::timeout(after, recv_frame(io, decoder))
            .await
            .unwrap_or(Err(NetError::ReadTimeout { after })),
    }
}

async fn recv_frame<R: AsyncRead + Unpin>(
    io: &mut R,
    decoder: &mut Decoder,
) -> Result<Option<Vec<u8>>, NetError> {
    loop {
        if let Some(frame) = decoder.decode()? {
            return Ok(Some(frame));
        }
        let spare = decoder.spare();
        if spare.is_empty() {
            decoder.fail();
            return Err(NetError::Internal(
                "the read buffer is full without a complete chunk".into(),
            ));
        }
        // `read` is cancel-safe: the bytes it returns are in the decoder's
        // buffer before the next await.
        let n = match io.read(spare).await {
            Ok(n) => n,
            Err(e) => {
                decoder.fail();
                return Err(e.into());
            }
        };
        if n == 0 {
            if decoder.at_boundary() {
                return Ok(None);
            }
            decoder.fail();
            return Err(NetError::Truncated);
        }
        decoder.filled(n);
    }
}
