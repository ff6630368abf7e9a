/**
 * The `/ech` multiaddr component: codec registration, string and binary
 * forms, placement, extraction, the dial target, the announce filter and the
 * rule for storing announced configs.
 */
import { generateKeyPair } from '@libp2p/crypto/keys'
import { defaultLogger } from '@libp2p/logger'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { PeerRecord, RecordEnvelope } from '@libp2p/peer-record'
import { multiaddr, registry } from '@multiformats/multiaddr'
import { expect } from 'aegir/chai'
import { fromString } from 'uint8arrays/from-string'
import { toString } from 'uint8arrays/to-string'
import { PeerConfigStore } from '../../src/config/peer-store.js'
import { nodeProvider } from '../../src/crypto/node.js'
import { ECH_PEER_STORE_KEY, createSignedConfigRecord, generateEchKey } from '../../src/index.js'
import {
  CODE_ECH, decodeEchComponent, echAnnounceFilter, echConfigListFromAddresses, echConfigListFromMultiaddr, echDialTarget,
  encodeEchComponent, isEchAnnounceable, isSecuredByEncrypter, registerEchProtocol, storeAnnouncedEchConfig, storeEchConfigFromMultiaddr, withEchComponent, withoutEchComponent
} from '../../src/multiaddr/index.js'
import { thrown } from '../fixtures/errors.js'
import { memoryPeerStore } from '../fixtures/peer-store.js'
import type { EchKey } from '../../src/index.js'
import type { PeerId, PeerStore, PrivateKey } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

const PEER = '12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA'
const RELAY = '12D3KooWRBy97UB99e3J6hiPesre1MZeuNQvfan4gBziswrRJsNK'

/** Unsigned varint (multiformats) */
const varint = {
  encode (n: number): number[] {
    const out: number[] = []
    while (n >= 0x80) { out.push((n & 0x7f) | 0x80); n = Math.floor(n / 0x80) }
    out.push(n)
    return out
  }
}

describe('multiaddr: /ech component', () => {
  let x25519: EchKey
  let xwing: EchKey

  before(async () => {
    x25519 = await generateEchKey()
    xwing = await generateEchKey({ kem: 'x-wing' })
  })

  describe('codec', () => {
    it('is registered under code 9849 (multiformats protocols.csv), variable size', () => {
      const codec = registry.getProtocol('ech')
      expect(codec.code).to.equal(CODE_ECH).and.to.equal(9849)
      expect(codec.size).to.equal(-1)
      expect(registry.getProtocol(9849).name).to.equal('ech')
      // idempotent
      registerEchProtocol()
      expect(registry.getProtocol('ech')).to.equal(codec)
    })

    it('string form: multibase base64url with the u prefix, no padding, of the list with its u16 length', () => {
      const value = encodeEchComponent(x25519.configList)
      expect(value[0]).to.equal('u')
      expect(value).to.not.match(/[=+/]/)
      expect(fromString(value.slice(1), 'base64url')).to.equalBytes(x25519.configList)
      expect(decodeEchComponent(value)).to.equalBytes(x25519.configList)
    })

    for (const [name, key] of [['X25519', () => x25519], ['X-Wing (a 1.2 KB list, 2-byte varint length)', () => xwing]] as const) {
      it(`binary form is varint(9849) varint(length) list, and string <-> bytes round-trips (${name})`, () => {
        const list = key().configList
        const ma = multiaddr(`/ip4/192.0.2.1/tcp/4001/noise/ech/${encodeEchComponent(list)}/p2p/${PEER}`)
        const head = multiaddr('/ip4/192.0.2.1/tcp/4001/noise').bytes
        const tail = multiaddr(`/p2p/${PEER}`).bytes
        const expected = new Uint8Array([...head, ...varint.encode(CODE_ECH), ...varint.encode(list.byteLength), ...list, ...tail])
        expect(ma.bytes).to.equalBytes(expected)
        const back = multiaddr(ma.bytes)
        expect(back.toString()).to.equal(ma.toString())
        expect(echConfigListFromMultiaddr(back)).to.equalBytes(list)
      })
    }

    it('reads other multibases (base16, base58btc, padded base64url) to the same bytes', () => {
      const list = x25519.configList
      for (const value of [
        `f${toString(list, 'base16')}`,
        `F${toString(list, 'base16upper')}`,
        `z${toString(list, 'base58btc')}`,
        `U${toString(list, 'base64urlpad')}`,
        `b${toString(list, 'base32')}`
      ]) {
        const ma = multiaddr(`/ip4/192.0.2.1/tcp/4001/ech/${value}`)
        expect(echConfigListFromMultiaddr(ma), value[0]).to.equalBytes(list)
        // written back as base64url
        expect(multiaddr(ma.bytes).toString()).to.equal(`/ip4/192.0.2.1/tcp/4001/ech/${encodeEchComponent(list)}`)
      }
    })

    const bad: Array<[string, string]> = [
      ['no multibase prefix', toString(new Uint8Array([0, 2, 1, 2]), 'base64url')],
      ['unknown multibase prefix', 'Q' + toString(new Uint8Array([0, 2, 1, 2]), 'base64url')],
      ['not base64url', 'u!!!!'],
      ['list length does not match', `u${toString(Uint8Array.of(0, 9, 1, 2), 'base64url')}`],
      ['too short', 'u']
    ]
    for (const [name, value] of bad) {
      it(`refuses a bad value: ${name}`, () => {
        expect(() => multiaddr(`/ip4/192.0.2.1/tcp/4001/ech/${value}`)).to.throw()
      })
    }

    it('refuses bad binary values too (validation runs on parsed bytes)', () => {
      const junk = Uint8Array.of(0, 9, 1, 2)
      const bytes = new Uint8Array([...multiaddr('/ip4/192.0.2.1/tcp/4001').bytes, ...varint.encode(CODE_ECH), ...varint.encode(junk.byteLength), ...junk])
      expect(() => multiaddr(bytes)).to.throw().with.property('name', 'InvalidEchComponentError')
    })

    it('encodeEchComponent refuses a list without its u16 length', () => {
      expect(() => encodeEchComponent(x25519.configList.subarray(2))).to.throw().with.property('name', 'InvalidParametersError')
    })

    it('without the codec, @multiformats/multiaddr 13 cannot parse an /ech address, nor a signed peer record holding one', async () => {
      const privateKey = await generateKeyPair('Ed25519')
      const ma = withEchComponent(multiaddr('/ip4/192.0.2.1/tcp/4001'), x25519.configList)
      const envelope = await RecordEnvelope.seal(new PeerRecord({ peerId: peerIdFromPrivateKey(privateKey), multiaddrs: [ma] }), privateKey)
      const record = envelope.marshal()
      const bytes = ma.bytes
      const text = ma.toString()
      registry.removeProtocol(CODE_ECH)
      try {
        expect(() => multiaddr(bytes)).to.throw().with.property('name', 'UnknownProtocolError')
        expect(() => multiaddr(text)).to.throw().with.property('name', 'UnknownProtocolError')
        // what @libp2p/identify's consumeIdentifyMessage does with the signed record
        const opened = await RecordEnvelope.openAndCertify(record, PeerRecord.DOMAIN)
        expect(() => PeerRecord.createFromProtobuf(opened.payload)).to.throw().with.property('name', 'UnknownProtocolError')
      } finally {
        registerEchProtocol()
      }
      expect(multiaddr(bytes).toString()).to.equal(text)
    })
  })

  describe('placement and extraction', () => {
    let value: string

    before(() => { value = encodeEchComponent(x25519.configList) })

    const cases: Array<[string, string, string]> = [
      ['after the transport, as /noise/ech, before a trailing /p2p', `/ip4/192.0.2.1/tcp/4001/p2p/${PEER}`, `/ip4/192.0.2.1/tcp/4001/noise/ech/V/p2p/${PEER}`],
      ['at the end without /p2p', '/ip4/192.0.2.1/tcp/4001', '/ip4/192.0.2.1/tcp/4001/noise/ech/V'],
      ['after /tls/ws (Noise runs inside the secure WebSocket)', `/dns4/example.com/tcp/443/tls/ws/p2p/${PEER}`, `/dns4/example.com/tcp/443/tls/ws/noise/ech/V/p2p/${PEER}`],
      ['for the final peer of a relayed address', `/ip4/192.0.2.1/tcp/4001/p2p/${RELAY}/p2p-circuit/p2p/${PEER}`, `/ip4/192.0.2.1/tcp/4001/p2p/${RELAY}/p2p-circuit/noise/ech/V/p2p/${PEER}`]
    ]
    cases.forEach(([name, input, expected]) => {
      it(`withEchComponent: ${name}`, () => {
        const out = withEchComponent(multiaddr(input), x25519.configList)
        expect(out.toString()).to.equal(expected.replace('/V', `/${value}`))
        expect(echConfigListFromMultiaddr(out)).to.equalBytes(x25519.configList)
        expect(withoutEchComponent(out).toString()).to.equal(input)
      })
    })

    it('withEchComponent: directly after a /noise the address already names', () => {
      const out = withEchComponent(multiaddr(`/ip4/192.0.2.1/tcp/4001/noise/p2p/${PEER}`), x25519.configList)
      expect(out.toString()).to.equal(`/ip4/192.0.2.1/tcp/4001/noise/ech/${value}/p2p/${PEER}`)
      expect(echConfigListFromMultiaddr(out)).to.equalBytes(x25519.configList)
    })

    it('withEchComponent replaces the config already there, in either placement', () => {
      const once = withEchComponent(multiaddr(`/ip4/192.0.2.1/tcp/4001/p2p/${PEER}`), x25519.configList)
      const twice = withEchComponent(once, xwing.configList)
      expect(twice.getComponents().filter(c => c.code === CODE_ECH)).to.have.lengthOf(1)
      expect(echConfigListFromMultiaddr(twice)).to.equalBytes(xwing.configList)
      const legacy = multiaddr(`/ip4/192.0.2.1/tcp/4001/ech/${value}/p2p/${PEER}`)
      expect(withEchComponent(legacy, xwing.configList).toString()).to.equal(`/ip4/192.0.2.1/tcp/4001/noise/ech/${encodeEchComponent(xwing.configList)}/p2p/${PEER}`)
    })

    it('reads the earlier placement (/ech before /p2p, no /noise) too', () => {
      const legacy = multiaddr(`/ip4/192.0.2.1/tcp/4001/ech/${value}/p2p/${PEER}`)
      expect(echConfigListFromMultiaddr(legacy)).to.equalBytes(x25519.configList)
      expect(withoutEchComponent(legacy).toString()).to.equal(`/ip4/192.0.2.1/tcp/4001/p2p/${PEER}`)
      expect(echDialTarget(legacy).configList).to.equalBytes(x25519.configList)
    })

    it('an /ech directly after /tls or /quic-v1 is a TLS ECHConfigList (protocols/ech.md), never taken as a Noise config', () => {
      const tlsEch = `/dns4/example.com/tcp/443/tls/ech/${value}/ws/p2p/${PEER}`
      expect(echConfigListFromMultiaddr(multiaddr(tlsEch))).to.be.undefined()
      expect(echConfigListFromMultiaddr(multiaddr(`/ip4/192.0.2.1/udp/4001/quic-v1/ech/${value}/p2p/${PEER}`))).to.be.undefined()
      // both in one address: the TLS one stays where it is, ours is read and replaced
      const both = withEchComponent(multiaddr(tlsEch), xwing.configList)
      expect(both.toString()).to.equal(`/dns4/example.com/tcp/443/tls/ech/${value}/ws/noise/ech/${encodeEchComponent(xwing.configList)}/p2p/${PEER}`)
      expect(echConfigListFromMultiaddr(both)).to.equalBytes(xwing.configList)
      expect(echConfigListFromMultiaddr(withEchComponent(both, x25519.configList))).to.equalBytes(x25519.configList)
    })

    it('withEchComponent refuses an address whose final hop secures itself (QUIC, WebTransport, WebRTC): no Noise runs there', () => {
      const list = x25519.configList
      for (const ma of [`/ip4/192.0.2.1/udp/4001/quic-v1/p2p/${PEER}`, `/ip4/192.0.2.1/udp/4001/quic-v1/webtransport/p2p/${PEER}`, `/ip4/192.0.2.1/udp/4001/webrtc-direct/p2p/${PEER}`]) {
        expect(thrown(() => withEchComponent(multiaddr(ma), list)), ma).to.have.property('name', 'InvalidParametersError')
      }
      // a relayed connection is secured end to end by the encrypter, whatever carries it to the relay
      const relayed = withEchComponent(multiaddr(`/ip4/192.0.2.1/udp/4001/quic-v1/p2p/${RELAY}/p2p-circuit/p2p/${PEER}`), x25519.configList)
      expect(echConfigListFromMultiaddr(relayed)).to.equalBytes(x25519.configList)
    })

    it('echConfigListFromMultiaddr: none -> undefined; a relay\'s /ech is not the final peer\'s', () => {
      expect(echConfigListFromMultiaddr(multiaddr(`/ip4/192.0.2.1/tcp/4001/p2p/${PEER}`))).to.be.undefined()
      const relayOnly = multiaddr(`/ip4/192.0.2.1/tcp/4001/ech/${value}/p2p/${RELAY}/p2p-circuit/p2p/${PEER}`)
      expect(echConfigListFromMultiaddr(relayOnly)).to.be.undefined()
      // withoutEchComponent strips every /ech, the relay's too
      expect(withoutEchComponent(relayOnly).toString()).to.equal(`/ip4/192.0.2.1/tcp/4001/p2p/${RELAY}/p2p-circuit/p2p/${PEER}`)
    })

    it('echConfigListFromMultiaddr: two /ech for one peer is an error', () => {
      const ma = multiaddr(`/ip4/192.0.2.1/tcp/4001/ech/${value}/ech/${value}/p2p/${PEER}`)
      expect(() => echConfigListFromMultiaddr(ma)).to.throw().with.property('name', 'InvalidEchComponentError')
    })

    it('withoutEchComponent returns an address without /ech unchanged', () => {
      const ma = multiaddr(`/ip4/192.0.2.1/tcp/4001/p2p/${PEER}`)
      expect(withoutEchComponent(ma)).to.equal(ma)
    })
  })

  describe('dial target', () => {
    it('splits off the config and the peer; plain addresses pass through', () => {
      const ma = withEchComponent(multiaddr(`/ip4/192.0.2.1/tcp/4001/p2p/${PEER}`), xwing.configList)
      const target = echDialTarget(ma)
      expect(target.multiaddr.toString()).to.equal(`/ip4/192.0.2.1/tcp/4001/p2p/${PEER}`)
      expect(target.peer?.toString()).to.equal(PEER)
      expect(target.configList).to.equalBytes(xwing.configList)
      const plain = echDialTarget(multiaddr('/ip4/192.0.2.1/tcp/4001'))
      expect(plain.configList).to.be.undefined()
      expect(plain.peer).to.be.undefined()
    })

    it('needs /p2p to know whose config it is', () => {
      const ma = withEchComponent(multiaddr('/ip4/192.0.2.1/tcp/4001'), x25519.configList)
      expect(() => echDialTarget(ma)).to.throw().with.property('name', 'InvalidParametersError')
    })

    it('a well-framed but malformed list is refused with EchConfigError before anything is stored', () => {
      // framing right (u16 length matches), contents not an ECHConfig
      const junk = Uint8Array.of(0, 4, 0xfe, 0x0d, 0, 9)
      const ma = multiaddr(`/ip4/192.0.2.1/tcp/4001/ech/${encodeEchComponent(junk)}/p2p/${PEER}`)
      expect(() => echDialTarget(ma)).to.throw().with.property('name', 'EchConfigError')
    })

    it('storeEchConfigFromMultiaddr merges the list under ECH_PEER_STORE_KEY, keeping other metadata', async () => {
      const store = await memoryPeerStore()
      const ma = withEchComponent(multiaddr(`/ip4/192.0.2.1/tcp/4001/p2p/${PEER}`), x25519.configList)
      const target = echDialTarget(ma)
      await store.merge(target.peer!, { metadata: { app: Uint8Array.of(7) } })
      await storeEchConfigFromMultiaddr(store, ma)
      const peer = await store.get(target.peer!)
      expect(peer.metadata.get(ECH_PEER_STORE_KEY)).to.equalBytes(x25519.configList)
      expect(peer.metadata.get('app')).to.equalBytes(Uint8Array.of(7))
    })
  })

  describe('storing a dialled address\'s list', () => {
    let privateKey: PrivateKey
    let remote: PeerId
    let store: PeerStore
    let ma: Multiaddr

    beforeEach(async () => {
      privateKey = await generateKeyPair('Ed25519')
      remote = peerIdFromPrivateKey(privateKey)
      store = await memoryPeerStore()
      ma = withEchComponent(multiaddr(`/ip4/192.0.2.1/tcp/4001/p2p/${remote}`), x25519.configList)
    })
    const stored = async (): Promise<Uint8Array | undefined> => (await store.get(remote)).metadata.get(ECH_PEER_STORE_KEY)

    it('keeps a signed config record that verifies: the address\'s list is unsigned', async () => {
      const record = await createSignedConfigRecord(privateKey, xwing.configList)
      await store.merge(remote, { metadata: { [ECH_PEER_STORE_KEY]: record } })
      const target = await storeEchConfigFromMultiaddr(store, ma)
      expect(await stored()).to.equalBytes(record)
      expect(target.stored).to.equal('kept-signed-record')
      // the dial goes ahead, to the address without /ech
      expect(target.multiaddr.toString()).to.equal(`/ip4/192.0.2.1/tcp/4001/p2p/${remote}`)
    })

    it('replaces an expired record, an unusable value, or another unsigned list', async () => {
      const expired = await createSignedConfigRecord(privateKey, xwing.configList, { now: Date.now() - 2 * 3600_000, ttlSeconds: 60 })
      for (const before of [expired, Uint8Array.of(9, 9, 9), xwing.configList]) {
        await store.merge(remote, { metadata: { [ECH_PEER_STORE_KEY]: before } })
        expect((await storeEchConfigFromMultiaddr(store, ma)).stored).to.equal('stored')
        expect(await stored()).to.equalBytes(x25519.configList)
      }
      expect((await storeEchConfigFromMultiaddr(store, ma)).stored).to.equal('unchanged')
    })
  })

  describe('announce filter', () => {
    const plain = [
      multiaddr(`/ip4/192.0.2.1/tcp/4001/p2p/${PEER}`),
      multiaddr(`/ip4/192.0.2.1/udp/4001/quic-v1/p2p/${PEER}`),
      multiaddr(`/dns4/example.com/tcp/443/tls/ws/p2p/${PEER}`)
    ]

    it('adds an /ech twin to each address the encrypter secures (not QUIC), keeping the plain one', () => {
      const out = echAnnounceFilter(() => x25519.configList, { maxAddresses: 3 })(plain).map(String)
      expect(out).to.deep.equal([
        plain[0].toString(),
        withEchComponent(plain[0], x25519.configList).toString(),
        plain[1].toString(),
        plain[2].toString(),
        withEchComponent(plain[2], x25519.configList).toString()
      ])
      expect(isSecuredByEncrypter(plain[1])).to.be.false()
      expect(isEchAnnounceable(plain[1])).to.be.false()
      // secure WebSockets run Noise inside TLS; /noise/ech after /ws cannot be read as TLS's /tls/ech
      expect(isSecuredByEncrypter(plain[2])).to.be.true()
      expect(isEchAnnounceable(plain[2])).to.be.true()
      // a custom filter cannot put a Noise config on an address Noise does not run on
      expect(echAnnounceFilter(() => x25519.configList, { filter: () => true, maxAddresses: 3 })(plain).map(String)).to.deep.equal(out)
    })

    it('one /ech twin by default (the configs belong to the peer); maxAddresses raises it', () => {
      const tcp = [4001, 4002, 4003].map(port => multiaddr(`/ip4/192.0.2.1/tcp/${port}/p2p/${PEER}`))
      const count = (addrs: Array<ReturnType<typeof multiaddr>>): number => addrs.filter(ma => echConfigListFromMultiaddr(ma) != null).length
      expect(count(echAnnounceFilter(() => x25519.configList)(tcp))).to.equal(1)
      expect(count(echAnnounceFilter(() => x25519.configList, { maxAddresses: 2 })(tcp))).to.equal(2)
      expect(count(echAnnounceFilter(() => x25519.configList, { maxAddresses: Infinity })(tcp))).to.equal(3)
    })

    it('keepPlain: false, a custom filter, the next filter, and the live list on every call', () => {
      let list: Uint8Array | undefined = x25519.configList
      const filter = echAnnounceFilter(() => list, { keepPlain: false, maxAddresses: 5, filter: ma => ma.toString().includes('/tcp/4001'), next: addrs => addrs.slice(0, 2) })
      expect(filter(plain).map(String)).to.deep.equal([withEchComponent(plain[0], x25519.configList).toString(), plain[1].toString()])
      list = xwing.configList
      expect(echConfigListFromMultiaddr(filter(plain)[0])).to.equalBytes(xwing.configList)
      list = undefined
      expect(filter(plain).map(String)).to.deep.equal(plain.slice(0, 2).map(String))
      // libp2p calls the filter before the encrypter starts and after it stops
      const throwing = echAnnounceFilter(() => { throw new Error('EchKeyManagerNotStartedError') })
      expect(throwing(plain).map(String)).to.deep.equal(plain.map(String))
    })
  })

  describe('storing announced configs', () => {
    let privateKey: PrivateKey
    let remote: PeerId
    let store: PeerStore

    beforeEach(async () => {
      privateKey = await generateKeyPair('Ed25519')
      remote = peerIdFromPrivateKey(privateKey)
      store = await memoryPeerStore()
    })

    const addrs = (list: Uint8Array): ReturnType<typeof multiaddr>[] => [
      multiaddr('/ip4/192.0.2.1/tcp/4001'),
      withEchComponent(multiaddr('/ip4/192.0.2.1/tcp/4001'), list)
    ]
    const stored = async (): Promise<Uint8Array | undefined> => (await store.get(remote)).metadata.get(ECH_PEER_STORE_KEY)

    it('picks the first /ech among the addresses; none -> nothing stored', async () => {
      expect(echConfigListFromAddresses([multiaddr('/ip4/192.0.2.1/tcp/4001'), ...addrs(xwing.configList), ...addrs(x25519.configList)])).to.equalBytes(xwing.configList)
      expect(await storeAnnouncedEchConfig(store, remote, [multiaddr('/ip4/192.0.2.1/tcp/4001')])).to.equal('no-config')
    })

    it('stores when nothing is stored, leaves the same list alone, replaces a different list', async () => {
      expect(await storeAnnouncedEchConfig(store, remote, addrs(x25519.configList))).to.equal('stored')
      expect(await stored()).to.equalBytes(x25519.configList)
      expect(await storeAnnouncedEchConfig(store, remote, addrs(x25519.configList))).to.equal('unchanged')
      expect(await storeAnnouncedEchConfig(store, remote, addrs(xwing.configList))).to.equal('stored')
      expect(await stored()).to.equalBytes(xwing.configList)
    })

    describe('announced lists expire 48 h after they were last announced', () => {
      const T = Date.UTC(2025, 0, 1)
      const H = 3600_000
      const lookup = async (at: number): Promise<string> => {
        const configs = new PeerConfigStore({ peerStore: store, provider: nodeProvider, log: defaultLogger().forComponent('test:ech'), now: () => at })
        const result = await configs.lookup(remote)
        return result.offer != null ? 'offer' : result.reason
      }

      it('the encrypter\'s lookup sees an announced list expire', async () => {
        await storeAnnouncedEchConfig(store, remote, addrs(x25519.configList), { now: T })
        expect(await lookup(T + 47 * H)).to.equal('offer')
        expect(await lookup(T + 48 * H)).to.equal('expired-config')
        // the stored value itself stays a plain wire-form list (DESIGN: the peer-store contract)
        expect(await stored()).to.equalBytes(x25519.configList)
      })

      it('announcing the same list again extends it', async () => {
        await storeAnnouncedEchConfig(store, remote, addrs(x25519.configList), { now: T })
        expect(await storeAnnouncedEchConfig(store, remote, addrs(x25519.configList), { now: T + 40 * H })).to.equal('unchanged')
        expect(await lookup(T + 50 * H)).to.equal('offer')
        expect(await lookup(T + 88 * H)).to.equal('expired-config')
      })

      it('a list the application stores afterwards does not expire', async () => {
        await storeAnnouncedEchConfig(store, remote, addrs(x25519.configList), { now: T })
        await store.merge(remote, { metadata: { [ECH_PEER_STORE_KEY]: xwing.configList } })
        expect(await lookup(T + 49 * H)).to.equal('offer')
        await storeAnnouncedEchConfig(store, remote, addrs(x25519.configList), { now: T })
        await storeEchConfigFromMultiaddr(store, withEchComponent(multiaddr(`/ip4/192.0.2.1/tcp/4001/p2p/${remote}`), xwing.configList))
        expect(await lookup(T + 49 * H)).to.equal('offer')
      })
    })

    it('keeps a signed config record that verifies; replaces one that has expired', async () => {
      const record = await createSignedConfigRecord(privateKey, x25519.configList, { ttlSeconds: 60 })
      await store.merge(remote, { metadata: { [ECH_PEER_STORE_KEY]: record } })
      expect(await storeAnnouncedEchConfig(store, remote, addrs(xwing.configList))).to.equal('kept-signed-record')
      expect(await stored()).to.equalBytes(record)
      expect(await storeAnnouncedEchConfig(store, remote, addrs(xwing.configList), { now: Date.now() + 120_000 })).to.equal('stored')
      expect(await stored()).to.equalBytes(xwing.configList)
    })
  })
})
