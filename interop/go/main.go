// A go-libp2p peer for the libp2p-noise-ech interop matrix: stock Noise, TCP
// and yamux, ping, identify and the echo protocol /noise-ech-test/echo/1.0.0.
// It prints one JSON object per line on stdout (see ../README.md).
package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/libp2p/go-libp2p"
	ic "github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/event"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	"github.com/libp2p/go-libp2p/core/sec"
	"github.com/libp2p/go-libp2p/p2p/muxer/yamux"
	tptu "github.com/libp2p/go-libp2p/p2p/net/upgrader"
	"github.com/libp2p/go-libp2p/p2p/protocol/ping"
	"github.com/libp2p/go-libp2p/p2p/security/noise"
	noisepb "github.com/libp2p/go-libp2p/p2p/security/noise/pb"
	"github.com/libp2p/go-libp2p/p2p/transport/tcp"
	ma "github.com/multiformats/go-multiaddr"
	"google.golang.org/protobuf/proto"
)

const echoProtocol = protocol.ID("/noise-ech-test/echo/1.0.0")

var (
	outMu   sync.Mutex
	version = "unknown"
)

func emit(fields map[string]any) {
	outMu.Lock()
	defer outMu.Unlock()
	b, _ := json.Marshal(fields)
	os.Stdout.Write(append(b, '\n'))
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// loggingNoise wraps the stock Noise transport only to report what it sees:
// every handshake error and every authenticated remote peer.
type loggingNoise struct{ inner *noise.Transport }

func (l *loggingNoise) ID() protocol.ID { return l.inner.ID() }

func (l *loggingNoise) SecureInbound(ctx context.Context, conn net.Conn, p peer.ID) (sec.SecureConn, error) {
	start := time.Now()
	c, err := l.inner.SecureInbound(ctx, conn, p)
	if err != nil {
		emit(map[string]any{"event": "inbound-error", "stage": "noise", "error": err.Error(), "remoteAddr": conn.RemoteAddr().String()})
		return nil, err
	}
	emit(map[string]any{"event": "secured", "direction": "inbound", "remotePeer": c.RemotePeer().String(), "handshakeMs": ms(time.Since(start))})
	return c, nil
}

func (l *loggingNoise) SecureOutbound(ctx context.Context, conn net.Conn, p peer.ID) (sec.SecureConn, error) {
	start := time.Now()
	c, err := l.inner.SecureOutbound(ctx, conn, p)
	if err != nil {
		emit(map[string]any{"event": "outbound-error", "stage": "noise", "error": err.Error(), "remotePeer": p.String()})
		return nil, err
	}
	emit(map[string]any{"event": "secured", "direction": "outbound", "remotePeer": c.RemotePeer().String(), "handshakeMs": ms(time.Since(start))})
	return c, nil
}

func newLoggingNoise(id protocol.ID, pk ic.PrivKey, muxers []tptu.StreamMuxer) (sec.SecureTransport, error) {
	t, err := noise.New(id, pk, muxers)
	if err != nil {
		return nil, err
	}
	return &loggingNoise{inner: t}, nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

func main() {
	var listen stringList
	flag.Var(&listen, "listen", "multiaddr to listen on (repeatable)")
	dial := flag.String("dial", "", "multiaddr with /p2p/<id> to dial")
	echoBytes := flag.Int("echo-bytes", 1<<20, "bytes to send on the echo protocol when dialing")
	timeout := flag.Duration("timeout", 20*time.Second, "timeout of the dial (connect + ping + echo)")
	exitAfterDial := flag.Bool("exit-after-dial", false, "exit after the dial instead of waiting for stdin to close")
	probePayload := flag.String("probe-payload", "", "hex bytes: unmarshal them with go-libp2p's Noise payload type, print the result and exit")
	// go-libp2p's default identify agent is the main module's path@version
	// (p2p/protocol/identify/internal/user-agent), here our interop module's;
	// applications built on go-libp2p set their own (kubo/…). This lets the
	// matrix present the agent of go-libp2p itself.
	userAgent := flag.String("user-agent", "", "identify agent version to announce (default: go-libp2p's, the main module path@version)")
	dhtServer := flag.Bool("dht-server", false, "run go-libp2p-kad-dht in server mode (default validators only: pk, ipns)")
	flag.Parse()

	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if d.Path == "github.com/libp2p/go-libp2p" {
				version = d.Version
			}
		}
	}

	if *probePayload != "" {
		probe(*probePayload)
		return
	}
	if len(listen) == 0 {
		listen = stringList{"/ip4/127.0.0.1/tcp/0"}
	}

	opts := []libp2p.Option{
		libp2p.ListenAddrStrings(listen...),
		libp2p.Transport(tcp.NewTCPTransport),
		libp2p.Security(noise.ID, newLoggingNoise),
		libp2p.Muxer(yamux.ID, yamux.DefaultTransport),
		libp2p.Ping(true),
		libp2p.DisableRelay(),
		libp2p.DisableMetrics(),
		libp2p.ResourceManager(&network.NullResourceManager{}),
	}
	if *userAgent != "" {
		opts = append(opts, libp2p.UserAgent(*userAgent))
	}
	h, err := libp2p.New(opts...)
	if err != nil {
		emit(map[string]any{"event": "fatal", "error": err.Error()})
		os.Exit(2)
	}

	h.SetStreamHandler(echoProtocol, func(s network.Stream) {
		defer s.Close()
		n, err := io.Copy(s, s)
		_ = s.CloseWrite()
		emit(map[string]any{"event": "echo-served", "remotePeer": s.Conn().RemotePeer().String(), "bytes": n, "error": errString(err)})
	})

	h.Network().Notify(&network.NotifyBundle{
		ConnectedF: func(_ network.Network, c network.Conn) {
			emit(map[string]any{"event": "connected", "direction": c.Stat().Direction.String(), "remotePeer": c.RemotePeer().String(), "remoteAddr": c.RemoteMultiaddr().String()})
		},
		DisconnectedF: func(_ network.Network, c network.Conn) {
			emit(map[string]any{"event": "disconnected", "remotePeer": c.RemotePeer().String()})
		},
	})
	watchIdentify(h)
	if *dhtServer {
		d, err := startDHTServer(h)
		if err != nil {
			emit(map[string]any{"event": "fatal", "error": err.Error()})
			os.Exit(2)
		}
		defer d.Close()
	}

	addrs := []string{}
	for _, a := range h.Addrs() {
		addrs = append(addrs, a.String())
	}
	emit(map[string]any{"event": "listening", "peerId": h.ID().String(), "addrs": addrs, "implementation": "go-libp2p", "version": version})

	done := make(chan struct{}, 1)
	if *dial != "" {
		go func() {
			doDial(h, *dial, *echoBytes, *timeout)
			if *exitAfterDial {
				done <- struct{}{}
			}
		}()
	}

	go func() {
		// stay up until stdin closes
		_, _ = io.Copy(io.Discard, bufio.NewReader(os.Stdin))
		if !*exitAfterDial || *dial == "" {
			done <- struct{}{}
		}
	}()
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	select {
	case <-done:
	case <-sigs:
	}
	_ = h.Close()
	emit(map[string]any{"event": "exit"})
}

func watchIdentify(h host.Host) {
	sub, err := h.EventBus().Subscribe([]any{new(event.EvtPeerIdentificationCompleted), new(event.EvtPeerIdentificationFailed)})
	if err != nil {
		emit(map[string]any{"event": "fatal", "error": err.Error()})
		return
	}
	go func() {
		for e := range sub.Out() {
			switch ev := e.(type) {
			case event.EvtPeerIdentificationCompleted:
				addrs := []string{}
				for _, a := range ev.ListenAddrs {
					addrs = append(addrs, a.String())
				}
				stored := []string{}
				for _, a := range h.Peerstore().Addrs(ev.Peer) {
					stored = append(stored, a.String())
				}
				protos := []string{}
				for _, p := range ev.Protocols {
					protos = append(protos, string(p))
				}
				emit(map[string]any{"event": "identify", "ok": true, "remotePeer": ev.Peer.String(), "listenAddrs": addrs, "peerstoreAddrs": stored,
					"protocols": protos, "agentVersion": ev.AgentVersion, "signedPeerRecord": ev.SignedPeerRecord != nil})
			case event.EvtPeerIdentificationFailed:
				emit(map[string]any{"event": "identify", "ok": false, "remotePeer": ev.Peer.String(), "error": errString(ev.Reason)})
			}
		}
	}()
}

func doDial(h host.Host, target string, n int, timeout time.Duration) {
	start := time.Now()
	res := map[string]any{"event": "dial", "ok": false, "target": target}
	defer func() {
		res["ms"] = ms(time.Since(start))
		emit(res)
	}()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	addr, err := ma.NewMultiaddr(target)
	if err != nil {
		res["error"] = err.Error()
		return
	}
	info, err := peer.AddrInfoFromP2pAddr(addr)
	if err != nil {
		res["error"] = err.Error()
		return
	}
	if err := h.Connect(ctx, *info); err != nil {
		res["error"] = err.Error()
		return
	}
	res["connectMs"] = ms(time.Since(start))
	res["remotePeer"] = info.ID.String()

	pingStart := time.Now()
	r := <-ping.Ping(ctx, h, info.ID)
	if r.Error != nil {
		res["error"] = "ping: " + r.Error.Error()
		return
	}
	res["pingMs"] = ms(r.RTT)
	_ = pingStart

	echoOk, err := echo(ctx, h, info.ID, n)
	res["echoOk"] = echoOk
	if err != nil {
		res["error"] = "echo: " + err.Error()
		return
	}
	res["ok"] = echoOk
}

func echo(ctx context.Context, h host.Host, p peer.ID, n int) (bool, error) {
	s, err := h.NewStream(network.WithAllowLimitedConn(ctx, "echo"), p, echoProtocol)
	if err != nil {
		return false, err
	}
	defer s.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = s.SetDeadline(dl)
	}
	data := make([]byte, n)
	_, _ = rand.Read(data)
	writeErr := make(chan error, 1)
	go func() {
		_, err := s.Write(data)
		if err == nil {
			err = s.CloseWrite()
		}
		writeErr <- err
	}()
	back, err := io.ReadAll(s)
	if err != nil {
		return false, err
	}
	if err := <-writeErr; err != nil {
		return false, err
	}
	if !bytes.Equal(back, data) {
		return false, fmt.Errorf("echo mismatch: sent %d bytes, got %d", len(data), len(back))
	}
	return true, nil
}

// probe decodes hex bytes as go-libp2p's NoiseHandshakePayload, the way its
// handshake does (proto.Unmarshal), and reports known fields and the bytes
// kept as unknown fields.
func probe(hexPayload string) {
	raw, err := hex.DecodeString(hexPayload)
	if err != nil {
		emit(map[string]any{"event": "probe", "ok": false, "error": err.Error()})
		return
	}
	var pb noisepb.NoiseHandshakePayload
	err = proto.Unmarshal(raw, &pb)
	if err != nil {
		emit(map[string]any{"event": "probe", "ok": false, "error": err.Error()})
		return
	}
	re, _ := proto.Marshal(&pb)
	emit(map[string]any{"event": "probe", "ok": true, "implementation": "go-libp2p", "version": version,
		"identityKeyLen": len(pb.IdentityKey), "identitySigLen": len(pb.IdentitySig), "hasExtensions": pb.Extensions != nil,
		"unknownHex": hex.EncodeToString(pb.ProtoReflect().GetUnknown()), "remarshalEqual": bytes.Equal(re, raw)})
}
