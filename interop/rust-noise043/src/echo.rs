//! The echo protocol `/noise-ech-test/echo/1.0.0` on a `OneShotHandler`:
//! the responder copies every byte back until the remote closes its write
//! side; the initiator sends its bytes, closes, and reads everything back.

use std::collections::VecDeque;
use std::task::{Context, Poll};
use std::time::Duration;

use futures::future::BoxFuture;
use futures::{AsyncReadExt, AsyncWriteExt, FutureExt};
use libp2p::core::upgrade::{InboundUpgrade, OutboundUpgrade, UpgradeInfo};
use libp2p::core::Endpoint;
use libp2p::swarm::handler::{OneShotHandler, OneShotHandlerConfig};
use libp2p::swarm::{
    ConnectionDenied, PollParameters, ConnectionId, FromSwarm, NetworkBehaviour, NotifyHandler, Stream, StreamProtocol, SubstreamProtocol, THandler, THandlerInEvent,
    THandlerOutEvent, ToSwarm,
};
use libp2p::{Multiaddr, PeerId};

pub const PROTOCOL: StreamProtocol = StreamProtocol::new("/noise-ech-test/echo/1.0.0");
const LIMIT: usize = 64 << 20;

#[derive(Debug, Clone, Default)]
pub struct Inbound;

#[derive(Debug)]
pub struct Outbound(pub Vec<u8>);

#[derive(Debug)]
pub enum HandlerEvent {
    Served { bytes: u64, error: Option<String> },
    Echoed((Vec<u8>, bool)),
}

impl From<(u64, Option<String>)> for HandlerEvent {
    fn from((bytes, error): (u64, Option<String>)) -> Self {
        HandlerEvent::Served { bytes, error }
    }
}
impl From<(Vec<u8>, bool)> for HandlerEvent {
    fn from(v: (Vec<u8>, bool)) -> Self {
        HandlerEvent::Echoed(v)
    }
}

impl UpgradeInfo for Inbound {
    type Info = StreamProtocol;
    type InfoIter = std::iter::Once<StreamProtocol>;
    fn protocol_info(&self) -> Self::InfoIter {
        std::iter::once(PROTOCOL)
    }
}
impl UpgradeInfo for Outbound {
    type Info = StreamProtocol;
    type InfoIter = std::iter::Once<StreamProtocol>;
    fn protocol_info(&self) -> Self::InfoIter {
        std::iter::once(PROTOCOL)
    }
}

impl InboundUpgrade<Stream> for Inbound {
    type Output = (u64, Option<String>);
    type Error = std::io::Error;
    type Future = BoxFuture<'static, Result<Self::Output, Self::Error>>;
    fn upgrade_inbound(self, stream: Stream, _: StreamProtocol) -> Self::Future {
        async move {
            let (mut r, mut w) = stream.split();
            let res = futures::io::copy(&mut r, &mut w).await;
            let _ = w.close().await;
            Ok(match res {
                Ok(n) => (n, None),
                Err(e) => (0, Some(e.to_string())),
            })
        }
        .boxed()
    }
}

/// The initiator reads exactly as many bytes as it sent, then waits up to 2 s
/// for the remote's end of stream (reported as `eof`, not required: js-libp2p
/// 3's yamux FIN is not seen by rust-yamux 0.12, see the interop README)
impl OutboundUpgrade<Stream> for Outbound {
    type Output = (Vec<u8>, bool);
    type Error = std::io::Error;
    type Future = BoxFuture<'static, Result<Self::Output, Self::Error>>;
    fn upgrade_outbound(self, stream: Stream, _: StreamProtocol) -> Self::Future {
        async move {
            let (mut r, mut w) = stream.split();
            let data = self.0;
            let n = data.len();
            let write = async move {
                w.write_all(&data).await?;
                w.close().await
            };
            let read = async move {
                let mut back = vec![0u8; n];
                r.read_exact(&mut back).await?;
                let mut extra = Vec::new();
                let eof = match tokio::time::timeout(Duration::from_secs(2), (&mut r).take(LIMIT as u64).read_to_end(&mut extra)).await {
                    Ok(Ok(_)) => true,
                    _ => false,
                };
                back.extend_from_slice(&extra);
                Ok::<_, std::io::Error>((back, eof))
            };
            let (wr, rd) = futures::join!(write, read);
            wr?;
            rd
        }
        .boxed()
    }
}

#[derive(Debug)]
pub enum Event {
    Served { peer: PeerId, bytes: u64, error: Option<String> },
    Response { connection: ConnectionId, result: Result<(Vec<u8>, bool), String> },
}

#[derive(Default)]
pub struct Behaviour {
    queue: VecDeque<ToSwarm<Event, Outbound>>,
}

impl Behaviour {
    pub fn send(&mut self, peer: PeerId, connection: ConnectionId, data: Vec<u8>) {
        self.queue.push_back(ToSwarm::NotifyHandler { peer_id: peer, handler: NotifyHandler::One(connection), event: Outbound(data) });
    }
    fn handler() -> OneShotHandler<Inbound, Outbound, HandlerEvent> {
        OneShotHandler::new(
            SubstreamProtocol::new(Inbound, ()).with_timeout(Duration::from_secs(30)),
            #[allow(deprecated)]
            OneShotHandlerConfig { outbound_substream_timeout: Duration::from_secs(30), ..Default::default() },
        )
    }
}

impl NetworkBehaviour for Behaviour {
    type ConnectionHandler = OneShotHandler<Inbound, Outbound, HandlerEvent>;
    type ToSwarm = Event;

    fn handle_established_inbound_connection(&mut self, _: ConnectionId, _: PeerId, _: &Multiaddr, _: &Multiaddr) -> Result<THandler<Self>, ConnectionDenied> {
        Ok(Self::handler())
    }
    fn handle_established_outbound_connection(&mut self, _: ConnectionId, _: PeerId, _: &Multiaddr, _: Endpoint) -> Result<THandler<Self>, ConnectionDenied> {
        Ok(Self::handler())
    }
    fn on_swarm_event(&mut self, _: FromSwarm<Self::ConnectionHandler>) {}
    fn on_connection_handler_event(&mut self, peer: PeerId, connection: ConnectionId, event: THandlerOutEvent<Self>) {
        // 0.52's OneShotHandler closes the connection on an upgrade error
        // instead of reporting it: the dial then fails on ConnectionClosed
        let ev = match event {
            HandlerEvent::Served { bytes, error } => Event::Served { peer, bytes, error },
            HandlerEvent::Echoed(back) => Event::Response { connection, result: Ok(back) },
        };
        self.queue.push_back(ToSwarm::GenerateEvent(ev));
    }
    fn poll(&mut self, _: &mut Context<'_>, _: &mut impl PollParameters) -> Poll<ToSwarm<Self::ToSwarm, THandlerInEvent<Self>>> {
        match self.queue.pop_front() {
            Some(e) => Poll::Ready(e),
            None => Poll::Pending,
        }
    }
}
