// --dht-server: run go-libp2p-kad-dht in server mode on the peer, as the
// servers of the public IPFS DHT do (protocol /ipfs/kad/1.0.0, the default
// "pk" and "ipns" record validators and nothing else), so the js side can
// check what such a server does with an ECH config record under a namespace
// of its own and with /ech addresses (benchmarks/fleet/go-dht-check.ts).
package main

import (
	dht "github.com/libp2p/go-libp2p-kad-dht"
	"github.com/libp2p/go-libp2p/core/host"
)

func startDHTServer(h host.Host) (*dht.IpfsDHT, error) {
	// no bootstrap peers: the js nodes dial it; loopback peers are kept
	// (the LAN/WAN address filters belong to the dual DHT, not this one)
	d, err := dht.New(h, dht.Mode(dht.ModeServer), dht.BootstrapPeers())
	if err != nil {
		return nil, err
	}
	emit(map[string]any{"event": "dht", "mode": "server", "protocols": []string{string(dht.ProtocolDHT)}})
	return d, nil
}
