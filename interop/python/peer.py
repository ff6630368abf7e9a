"""A py-libp2p peer for the libp2p-noise-ech interop matrix.

Stock Noise (only), TCP, yamux, ping, identify and the echo protocol
/noise-ech-test/echo/1.0.0. Prints one JSON object per line on stdout.
"""

import argparse
import json
import logging
import os
import secrets
import signal
import sys
import time
from importlib.metadata import version as pkg_version

import multiaddr
import trio

from libp2p import create_yamux_muxer_option, new_host
from libp2p.crypto.ed25519 import create_new_key_pair
from libp2p.crypto.x25519 import create_new_key_pair as create_new_x25519_key_pair
from libp2p.custom_types import TProtocol
from libp2p.host.ping import PingService
from libp2p.network.stream.exceptions import StreamEOF
from libp2p.peer.peerinfo import info_from_p2p_addr
from libp2p.security.noise.transport import PROTOCOL_ID as NOISE_PROTOCOL_ID
from libp2p.security.noise.transport import Transport as NoiseTransport

ECHO = TProtocol("/noise-ech-test/echo/1.0.0")
VERSION = pkg_version("libp2p")

logging.basicConfig(level=logging.CRITICAL, stream=sys.stderr)


def emit(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


class LoggingNoise(NoiseTransport):
    """The stock Noise transport, reporting what it sees (errors, authenticated peers)."""

    async def secure_inbound(self, conn):
        start = time.monotonic()
        try:
            sc = await super().secure_inbound(conn)
        except BaseException as e:  # noqa: BLE001 - report, then re-raise
            emit({"event": "inbound-error", "stage": "noise", "error": f"{type(e).__name__}: {e}"})
            raise
        emit({"event": "secured", "direction": "inbound", "remotePeer": str(sc.get_remote_peer()),
              "handshakeMs": (time.monotonic() - start) * 1000})
        return sc

    async def secure_outbound(self, conn, peer_id):
        start = time.monotonic()
        try:
            sc = await super().secure_outbound(conn, peer_id)
        except BaseException as e:  # noqa: BLE001
            emit({"event": "outbound-error", "stage": "noise", "error": f"{type(e).__name__}: {e}"})
            raise
        emit({"event": "secured", "direction": "outbound", "remotePeer": str(sc.get_remote_peer()),
              "handshakeMs": (time.monotonic() - start) * 1000})
        return sc


async def echo_handler(stream):
    total = 0
    err = None
    try:
        while True:
            try:
                data = await stream.read(65536)
            except StreamEOF:
                break
            if not data:
                break
            total += len(data)
            await stream.write(data)
    except Exception as e:  # noqa: BLE001
        err = f"{type(e).__name__}: {e}"
    finally:
        try:
            await stream.close()
        except Exception:  # noqa: BLE001
            pass
    emit({"event": "echo-served", "remotePeer": str(stream.muxed_conn.peer_id), "bytes": total, "error": err})


async def report_identify(host, peer_id, delay=1.0):
    """py-libp2p has no identify event: report what its peerstore learned after `delay` s."""
    await trio.sleep(delay)
    try:
        ps = host.get_peerstore()
        # py-multiaddr parses bytes lazily: an address with a code it does not know (/ech, 9849)
        # is stored by identify and only raises when used (str(), protocols())
        addrs, unparseable, parse_error = [], 0, None
        for a in ps.addrs(peer_id):
            try:
                addrs.append(str(a))
            except Exception as e:  # noqa: BLE001
                unparseable += 1
                parse_error = f"{type(e).__name__}: {str(e)[:160]}"
        try:
            protocols = [str(p) for p in ps.get_protocols(peer_id)]
        except Exception:  # noqa: BLE001
            protocols = []
        emit({"event": "identify", "ok": len(protocols) > 0, "remotePeer": str(peer_id), "peerstoreAddrs": addrs,
              "listenAddrs": addrs, "protocols": protocols, "source": "peerstore",
              "unparseableAddrs": unparseable, "parseError": parse_error})
    except Exception as e:  # noqa: BLE001
        emit({"event": "identify", "ok": False, "remotePeer": str(peer_id), "error": f"{type(e).__name__}: {e}"})


async def do_dial(host, ping_service, target, n, timeout):
    start = time.monotonic()
    res = {"event": "dial", "ok": False, "target": target}
    try:
        with trio.fail_after(timeout):
            info = info_from_p2p_addr(multiaddr.Multiaddr(target))
            res["remotePeer"] = str(info.peer_id)
            await host.connect(info)
            res["connectMs"] = (time.monotonic() - start) * 1000
            t = time.monotonic()
            await ping_service.ping(info.peer_id, 1)
            res["pingMs"] = (time.monotonic() - t) * 1000
            data = os.urandom(n)
            stream = await host.new_stream(info.peer_id, [ECHO])
            back = bytearray()

            async def reader():
                while True:
                    try:
                        chunk = await stream.read(65536)
                    except StreamEOF:
                        return
                    if not chunk:
                        return
                    back.extend(chunk)

            async def writer():
                for i in range(0, len(data), 16384):
                    await stream.write(data[i:i + 16384])
                await stream.close_write()

            async with trio.open_nursery() as nursery:
                nursery.start_soon(reader)
                nursery.start_soon(writer)
            res["echoOk"] = bytes(back) == data
            if not res["echoOk"]:
                res["error"] = f"echo mismatch: sent {len(data)} bytes, got {len(back)}"
            res["ok"] = res["echoOk"]
            await report_identify(host, info.peer_id, 0.5)
    except BaseException as e:  # noqa: BLE001 - report every failure as data
        if isinstance(e, trio.Cancelled):
            raise
        res["error"] = f"{type(e).__name__}: {e}"
    res["ms"] = (time.monotonic() - start) * 1000
    emit(res)


async def main(args):
    key_pair = create_new_key_pair(secrets.token_bytes(32))
    noise = LoggingNoise(key_pair, noise_privkey=create_new_x25519_key_pair().private_key)
    host = new_host(key_pair=key_pair, sec_opt={NOISE_PROTOCOL_ID: noise}, muxer_opt=create_yamux_muxer_option())
    listen = [multiaddr.Multiaddr(a) for a in (args.listen or ["/ip4/127.0.0.1/tcp/0"])]

    class Notifee:
        async def opened_stream(self, network, stream):
            pass

        async def closed_stream(self, network, stream):
            pass

        async def connected(self, network, conn):
            emit({"event": "connected", "remotePeer": str(conn.muxed_conn.peer_id)})
            if not args.dial:
                nursery.start_soon(report_identify, host, conn.muxed_conn.peer_id, 1.5)

        async def disconnected(self, network, conn):
            emit({"event": "disconnected", "remotePeer": str(conn.muxed_conn.peer_id)})

        async def listen(self, network, ma):
            pass

        async def listen_close(self, network, ma):
            pass

    async with host.run(listen_addrs=listen), trio.open_nursery() as nursery:
        host.get_network().register_notifee(Notifee())
        host.set_stream_handler(ECHO, echo_handler)
        ping_service = PingService(host)
        peer_id = host.get_id().to_string()
        addrs = [str(a).split("/p2p/")[0] for a in host.get_addrs()]
        emit({"event": "listening", "peerId": peer_id, "addrs": addrs, "implementation": "py-libp2p", "version": VERSION})

        done = trio.Event()

        async def dial_then_maybe_exit():
            await do_dial(host, ping_service, args.dial, args.echo_bytes, args.timeout)
            if args.exit_after_dial:
                done.set()

        async def wait_stdin():
            # a thread: trio has no portable async stdin
            await trio.to_thread.run_sync(lambda: sys.stdin.buffer.read(), abandon_on_cancel=True)
            if not (args.exit_after_dial and args.dial):
                done.set()

        async def wait_signals():
            with trio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as sigs:
                async for _ in sigs:
                    done.set()
                    return

        if args.dial:
            nursery.start_soon(dial_then_maybe_exit)
        nursery.start_soon(wait_stdin)
        nursery.start_soon(wait_signals)
        await done.wait()
        emit({"event": "exit"})
        nursery.cancel_scope.cancel()


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("--listen", action="append")
    p.add_argument("--dial")
    p.add_argument("--echo-bytes", type=int, default=1 << 20)
    p.add_argument("--timeout", type=float, default=20.0)
    p.add_argument("--exit-after-dial", action="store_true")
    trio.run(main, p.parse_args())
    # the stdin reader thread may still be blocked: leave without waiting for it
    sys.stdout.flush()
    os._exit(0)
