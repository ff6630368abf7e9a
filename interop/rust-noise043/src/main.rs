//! A rust-libp2p peer for the libp2p-noise-ech interop matrix: stock Noise,
//! TCP and yamux, ping, identify and the echo protocol
//! `/noise-ech-test/echo/1.0.0`. Prints one JSON object per line on stdout.
//!
//! This copy is built against libp2p 0.52.4 / libp2p-noise 0.43.2 and differs
//! from `interop/rust/src/main.rs` only where the swarm API did (identify
//! events, signed peer records, OneShotHandler errors closing the connection).

mod echo;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use futures::StreamExt;
use libp2p::core::ConnectedPoint;
use libp2p::swarm::{dial_opts::DialOpts, ConnectionId, NetworkBehaviour, SwarmEvent};
use libp2p::{identify, noise, ping, tcp, yamux, Multiaddr, PeerId};
use serde_json::{json, Value};
use tokio::io::AsyncReadExt;

const IMPLEMENTATION: &str = "rust-libp2p";
const VERSION: &str = "libp2p 0.52.4 (libp2p-noise 0.43.2)";

#[derive(NetworkBehaviour)]
struct Behaviour {
    ping: ping::Behaviour,
    identify: identify::Behaviour,
    echo: echo::Behaviour,
}

fn emit(v: Value) {
    println!("{}", v);
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

struct Args {
    listen: Vec<Multiaddr>,
    dial: Option<Multiaddr>,
    echo_bytes: usize,
    timeout: Duration,
    exit_after_dial: bool,
    /// identify agent version to announce instead of the default `rust-libp2p/<libp2p-identify version>`
    agent: Option<String>,
}

fn parse_args() -> Args {
    let mut args = Args { listen: vec![], dial: None, echo_bytes: 1 << 20, timeout: Duration::from_secs(20), exit_after_dial: false, agent: None };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--listen" => args.listen.push(it.next().expect("--listen value").parse().expect("listen multiaddr")),
            "--dial" => args.dial = Some(it.next().expect("--dial value").parse().expect("dial multiaddr")),
            "--echo-bytes" => args.echo_bytes = it.next().expect("--echo-bytes value").parse().expect("number"),
            "--timeout-ms" => args.timeout = Duration::from_millis(it.next().expect("--timeout-ms value").parse().expect("number")),
            "--exit-after-dial" => args.exit_after_dial = true,
            "--agent" => args.agent = Some(it.next().expect("--agent value")),
            other => panic!("unknown argument {other}"),
        }
    }
    if args.listen.is_empty() {
        args.listen.push("/ip4/127.0.0.1/tcp/0".parse().unwrap());
    }
    args
}

struct DialState {
    target: Multiaddr,
    peer: PeerId,
    start: Instant,
    connection: Option<ConnectionId>,
    connect_ms: Option<f64>,
    ping_ms: Option<f64>,
    echo_data: Option<Vec<u8>>,
    eof: Option<bool>,
    done: bool,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = parse_args();
    let mut swarm = libp2p::SwarmBuilder::with_new_identity()
        .with_tokio()
        .with_tcp(tcp::Config::default().nodelay(true), noise::Config::new, yamux::Config::default)?
        .with_behaviour(|key| {
            let mut config = identify::Config::new("/ipfs/id/1.0.0".to_string(), key.public());
            // --agent: present another version of rust-libp2p than the one that runs (the matrix's
            // misidentified-peer row: what a wrong agent costs the GREASE rule)
            if let Some(agent) = args.agent.clone() {
                config = config.with_agent_version(agent);
            }
            Behaviour { ping: ping::Behaviour::new(ping::Config::new()), identify: identify::Behaviour::new(config), echo: echo::Behaviour::default() }
        })?
        .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(60)))
        .build();

    for l in &args.listen {
        swarm.listen_on(l.clone())?;
    }
    // collect the listen addresses before announcing
    let mut addrs: Vec<String> = vec![];
    while addrs.len() < args.listen.len() {
        if let SwarmEvent::NewListenAddr { address, .. } = swarm.select_next_some().await {
            addrs.push(address.to_string());
        }
    }
    emit(json!({"event": "listening", "peerId": swarm.local_peer_id().to_string(), "addrs": addrs,
        "implementation": IMPLEMENTATION, "version": VERSION}));

    let (stdin_tx, mut stdin_rx) = tokio::sync::mpsc::channel::<()>(1);
    tokio::spawn(async move {
        let mut buf = [0u8; 1024];
        let mut stdin = tokio::io::stdin();
        loop {
            match stdin.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
        }
        let _ = stdin_tx.send(()).await;
    });
    let mut sigterm = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;

    let mut dial: Option<DialState> = None;
    if let Some(target) = args.dial.clone() {
        let peer = match target.iter().last() {
            Some(libp2p::multiaddr::Protocol::P2p(p)) => p,
            _ => panic!("--dial needs a /p2p/ address"),
        };
        let start = Instant::now();
        if let Err(e) = swarm.dial(DialOpts::peer_id(peer).addresses(vec![target.clone()]).build()) {
            emit(json!({"event": "dial", "ok": false, "error": e.to_string(), "target": target.to_string(), "ms": 0.0}));
        } else {
            dial = Some(DialState { target, peer, start, connection: None, connect_ms: None, ping_ms: None, echo_data: None, eof: None, done: false });
        }
    }
    let deadline = tokio::time::sleep(args.timeout);
    tokio::pin!(deadline);
    let mut connections: HashMap<ConnectionId, PeerId> = HashMap::new();
    let mut stdin_closed = false;

    loop {
        let finish = |d: &mut DialState, ok: bool, error: Option<String>| {
            if d.done {
                return;
            }
            d.done = true;
            emit(json!({"event": "dial", "ok": ok, "error": error, "target": d.target.to_string(), "remotePeer": d.peer.to_string(),
                "connectMs": d.connect_ms, "pingMs": d.ping_ms, "echoOk": ok, "eof": d.eof, "ms": ms(d.start.elapsed())}));
        };
        if let Some(d) = dial.as_ref() {
            if d.done && args.exit_after_dial {
                break;
            }
        }
        tokio::select! {
            _ = stdin_rx.recv(), if !stdin_closed => {
                stdin_closed = true;
                if !(args.exit_after_dial && dial.as_ref().map(|d| !d.done).unwrap_or(false)) {
                    break;
                }
            }
            _ = sigterm.recv() => break,
            _ = &mut deadline, if dial.as_ref().map(|d| !d.done).unwrap_or(false) => {
                if let Some(d) = dial.as_mut() { finish(d, false, Some("timeout".into())); }
            }
            event = swarm.select_next_some() => match event {
                SwarmEvent::ConnectionEstablished { peer_id, connection_id, endpoint, established_in, .. } => {
                    connections.insert(connection_id, peer_id);
                    let direction = match endpoint { ConnectedPoint::Dialer { .. } => "outbound", ConnectedPoint::Listener { .. } => "inbound" };
                    emit(json!({"event": "connected", "direction": direction, "remotePeer": peer_id.to_string(),
                        "remoteAddr": endpoint.get_remote_address().to_string(), "handshakeMs": ms(established_in)}));
                    if let Some(d) = dial.as_mut() {
                        if d.peer == peer_id && d.connection.is_none() && direction == "outbound" {
                            d.connection = Some(connection_id);
                            d.connect_ms = Some(ms(d.start.elapsed()));
                        }
                    }
                }
                SwarmEvent::ConnectionClosed { peer_id, connection_id, cause, .. } => {
                    connections.remove(&connection_id);
                    emit(json!({"event": "disconnected", "remotePeer": peer_id.to_string(), "cause": cause.map(|c| c.to_string())}));
                    if let Some(d) = dial.as_mut() {
                        if d.connection == Some(connection_id) {
                            finish(d, false, Some("connection closed before the dial finished".into()));
                        }
                    }
                }
                SwarmEvent::IncomingConnectionError { error, send_back_addr, .. } => {
                    emit(json!({"event": "inbound-error", "error": format!("{}", error), "debug": format!("{:?}", error), "remoteAddr": send_back_addr.to_string()}));
                }
                SwarmEvent::OutgoingConnectionError { error, peer_id, .. } => {
                    emit(json!({"event": "outbound-error", "error": format!("{}", error), "debug": format!("{:?}", error)}));
                    if let Some(d) = dial.as_mut() {
                        if peer_id == Some(d.peer) && d.connection.is_none() {
                            finish(d, false, Some(format!("{:?}", error)));
                        }
                    }
                }
                SwarmEvent::Behaviour(BehaviourEvent::Ping(ping::Event { peer, connection, result })) => {
                    if let Some(d) = dial.as_mut() {
                        if d.connection == Some(connection) && d.ping_ms.is_none() && !d.done {
                            match result {
                                Ok(rtt) => {
                                    d.ping_ms = Some(ms(rtt));
                                    let mut data = vec![0u8; args.echo_bytes];
                                    rand::RngCore::fill_bytes(&mut rand::thread_rng(), &mut data);
                                    d.echo_data = Some(data.clone());
                                    swarm.behaviour_mut().echo.send(peer, connection, data);
                                }
                                Err(e) => finish(d, false, Some(format!("ping: {e}"))),
                            }
                        }
                    }
                }
                SwarmEvent::Behaviour(BehaviourEvent::Echo(ev)) => match ev {
                    echo::Event::Served { peer, bytes, error } => {
                        emit(json!({"event": "echo-served", "remotePeer": peer.to_string(), "bytes": bytes, "error": error}));
                    }
                    echo::Event::Response { connection, result, .. } => {
                        if let Some(d) = dial.as_mut() {
                            if d.connection == Some(connection) {
                                match result {
                                    Ok((back, eof)) => {
                                        d.eof = Some(eof);
                                        let ok = d.echo_data.as_deref() == Some(&back[..]);
                                        let err = if ok { None } else { Some(format!("echo mismatch: got {} bytes", back.len())) };
                                        finish(d, ok, err);
                                    }
                                    Err(e) => finish(d, false, Some(format!("echo: {e}"))),
                                }
                            }
                        }
                    }
                },
                SwarmEvent::Behaviour(BehaviourEvent::Identify(ev)) => match ev {
                    identify::Event::Received { peer_id, info } => {
                        emit(json!({"event": "identify", "ok": true, "remotePeer": peer_id.to_string(),
                            "listenAddrs": info.listen_addrs.iter().map(|a| a.to_string()).collect::<Vec<_>>(),
                            "protocols": info.protocols.iter().map(|p| p.to_string()).collect::<Vec<_>>(),
                            "agentVersion": info.agent_version}));
                    }
                    identify::Event::Error { peer_id, error } => {
                        emit(json!({"event": "identify", "ok": false, "remotePeer": peer_id.to_string(), "error": format!("{error}"), "debug": format!("{error:?}")}));
                    }
                    _ => {}
                },
                _ => {}
            }
        }
    }
    emit(json!({"event": "exit"}));
    Ok(())
}
