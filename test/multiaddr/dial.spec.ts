/**
 * `/ech` multiaddrs between real TCP nodes: what libp2p 3 does with an
 * `/ech` address, `dialWithEch`, announcing configs in a node's addresses
 * and learning them from identify, and what a peer without the `/ech` codec
 * makes of such announcements. Connections that come up are checked with a
 * ping and a 1 MiB echo, byte for byte.
 */
import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { multiaddr } from '@multiformats/multiaddr'
import { expect } from 'aegir/chai'
import { pEvent } from 'p-event'
import { ECH_PEER_STORE_KEY, generateEchKey } from '../../src/index.js'
import { dialWithEch, echAddressConfigs, echAnnounceFilter, echConfigListFromMultiaddr, withEchComponent, withoutEchComponent } from '../../src/multiaddr/index.js'
import { assertWorks, createTestNode, nextEchEvent, shareConfig, storedConfig, useNodes } from '../fixtures/nodes.js'
import type { EchNoiseInit } from '../../src/index.js'
import type { TestNode } from '../fixtures/nodes.js'
import type { Multiaddr } from '@multiformats/multiaddr'

interface NodeOptions {
  ech?: EchNoiseInit
  /** Announce this node's configs in its addresses (on this many, default 1) */
  announce?: boolean | number
  /** How many TCP addresses to listen on (default 1) */
  listen?: number
  /** Run the service that stores configs peers announce */
  learn?: boolean
}

/** A test node with the address options this spec needs; `addr` is its plain listen address */
async function createNode (options: NodeOptions = {}): Promise<TestNode> {
  const announce = options.announce === true || typeof options.announce === 'number' ? options.announce : undefined
  const n = await createTestNode({
    encrypter: 'ech',
    ech: options.ech,
    listen: Array(options.listen ?? 1).fill('/ip4/127.0.0.1/tcp/0'),
    announceFilter: announce == null
      ? undefined
      : (ech) => echAnnounceFilter(() => ech()?.getEchConfigList(), { maxAddresses: announce === true ? undefined : announce }),
    services: options.learn === true ? { echAddrs: echAddressConfigs() } : {}
  })
  const plain = n.node.getMultiaddrs().find(ma => echConfigListFromMultiaddr(ma) == null)
  if (plain == null) { throw new Error('no plain listen address') }
  n.addr = plain
  return n
}

describe('multiaddr: /ech over TCP', function () {
  this.timeout(30_000)

  const nodes = useNodes(createNode)
  const node = nodes.create

  it('libp2p 3 cannot dial an /ech address as it is, nor one naming /noise (the TCP transport matches whole addresses)', async () => {
    const listener = await node()
    const dialer = await node()
    const ma = withEchComponent(listener.addr, listener.ech!.getEchConfigList())
    await expect(dialer.node.dial(ma)).to.eventually.be.rejected().with.property('name', 'NoValidAddressesError')
    const noise = multiaddr(listener.addr.toString().replace('/p2p/', '/noise/p2p/'))
    await expect(dialer.node.dial(noise)).to.eventually.be.rejected().with.property('name', 'NoValidAddressesError')
    // what dialWithEch dials instead: the address without /noise/ech
    expect(withoutEchComponent(ma).toString()).to.equal(listener.addr.toString())
  })

  it('dialWithEch: an X-Wing config in the address is used for the dial (accepted on both sides), and kept for the peer', async () => {
    const key = await generateEchKey({ kem: 'x-wing' })
    const listener = await node({ ech: { keys: [key] } })
    const dialer = await node()
    await dialer.node.peerStore.merge(listener.node.peerId, { metadata: { app: Uint8Array.of(1, 2) } })
    const ma = withEchComponent(listener.addr, listener.ech!.getEchConfigList())
    expect(ma.toString()).to.match(/\/tcp\/\d+\/noise\/ech\/u[\w-]+\/p2p\/12D3Koo/)

    const out = nextEchEvent(dialer.ech!)
    const inb = nextEchEvent(listener.ech!)
    const conn = await dialWithEch(dialer.node, ma)
    const [outInfo, inInfo] = await Promise.all([out, inb])
    expect(outInfo).to.include({ outcome: 'accepted', configId: key.config.configId })
    expect(inInfo).to.include({ outcome: 'accepted', configId: key.config.configId })
    expect(conn.remoteAddr.toString()).to.equal(withoutEchComponent(ma).toString())
    await assertWorks(dialer, listener, conn)

    const peer = await dialer.node.peerStore.get(listener.node.peerId)
    expect(peer.metadata.get(ECH_PEER_STORE_KEY)).to.equalBytes(key.configList)
    expect(peer.metadata.get('app')).to.equalBytes(Uint8Array.of(1, 2))
  })

  it('dialWithEch replaces a stale stored config with the one in the address', async () => {
    const listener = await node()
    const dialer = await node()
    const stale = await generateEchKey()
    await shareConfig(dialer, listener, stale.configList)
    const out = nextEchEvent(dialer.ech!)
    const conn = await dialWithEch(dialer.node, withEchComponent(listener.addr, listener.ech!.getEchConfigList()))
    expect(await out).to.include({ outcome: 'accepted', configId: listener.ech!.keys.getKeys()[0].config.configId })
    await assertWorks(dialer, listener, conn)
  })

  it('dialWithEch keeps the signed record the dialer holds over the unsigned list in the address, and the dial uses the record', async () => {
    const listener = await node()
    const dialer = await node()
    const record = await listener.ech!.getSignedConfigRecord()
    await dialer.ech!.importSignedConfigRecord(listener.node.peerId, record)
    // an address carrying a list the listener does not hold (stale, or planted by whoever handed out the address)
    const planted = await generateEchKey()
    const out = nextEchEvent(dialer.ech!)
    const conn = await dialWithEch(dialer.node, withEchComponent(listener.addr, planted.configList))
    expect(await out).to.include({ outcome: 'accepted', configId: listener.ech!.keys.getKeys()[0].config.configId })
    expect(await storedConfig(dialer, listener.node.peerId)).to.equalBytes(record)
    await assertWorks(dialer, listener, conn)
  })

  it('dialWithEch refuses an /ech address without /p2p, and dials plain addresses as node.dial does', async () => {
    const listener = await node()
    const dialer = await node()
    const noPeer = withEchComponent(listener.addr.decapsulateCode(421), listener.ech!.getEchConfigList())
    await expect(dialWithEch(dialer.node, noPeer)).to.eventually.be.rejected().with.property('name', 'InvalidParametersError')
    const out = nextEchEvent(dialer.ech!)
    const conn = await dialWithEch(dialer.node, listener.addr)
    expect(await out).to.include({ outcome: 'fallback', reason: 'no-config' })
    await assertWorks(dialer, listener, conn)
  })

  it('announce + identify: the listener announces /ech addresses, the dialer learns its configs, the next connection is accepted', async () => {
    const listener = await node({ announce: true, ech: { keys: [await generateEchKey({ kem: 'x-wing' }), await generateEchKey()] } })
    const dialer = await node({ learn: true })

    // the listener's own addresses: plain + /ech twin carrying its live list
    const announced = listener.node.getMultiaddrs()
    expect(announced).to.have.lengthOf(2)
    expect(echConfigListFromMultiaddr(announced[1])).to.equalBytes(listener.ech!.getEchConfigList())

    // first contact: no config yet, stock Noise; identify brings the configs
    const identified = pEvent(dialer.node, 'peer:identify')
    const first = nextEchEvent(dialer.ech!)
    const conn1 = await dialer.node.dial(listener.addr)
    expect(await first).to.include({ outcome: 'fallback', reason: 'no-config' })
    await identified
    const deadline = Date.now() + 2000
    while (await storedConfig(dialer, listener.node.peerId) == null && Date.now() < deadline) {
      await new Promise(resolve => setTimeout(resolve, 20))
    }
    expect(await storedConfig(dialer, listener.node.peerId)).to.equalBytes(listener.ech!.getEchConfigList())
    // the peer store keeps both addresses; dialing by peer id uses the plain one
    const addrs = (await dialer.node.peerStore.get(listener.node.peerId)).addresses.map(a => a.multiaddr)
    expect(addrs.some((a: Multiaddr) => echConfigListFromMultiaddr(a) != null)).to.be.true()
    await assertWorks(dialer, listener, conn1)

    // a new connection by peer id: ECH with the learned configs (server preference: X-Wing first)
    await dialer.node.hangUp(listener.node.peerId)
    const second = nextEchEvent(dialer.ech!)
    const secondIn = nextEchEvent(listener.ech!)
    const conn2 = await dialer.node.dial(listener.node.peerId)
    const expectedId = listener.ech!.keys.getKeys()[0].config.configId
    expect(await second).to.include({ outcome: 'accepted', configId: expectedId })
    expect(await secondIn).to.include({ outcome: 'accepted', configId: expectedId })
    await assertWorks(dialer, listener, conn2)
  })

  it('the announced /ech addresses go straight into dialWithEch', async () => {
    const listener = await node({ announce: true })
    const dialer = await node()
    const withEch = listener.node.getMultiaddrs().find(ma => echConfigListFromMultiaddr(ma) != null)
    expect(withEch).to.exist()
    const out = nextEchEvent(dialer.ech!)
    const conn = await dialWithEch(dialer.node, withEch!)
    expect(await out).to.include({ outcome: 'accepted' })
    await assertWorks(dialer, listener, conn)
  })

  it('identify size: with an X-Wing + X25519 list on three addresses identify breaks (8 KiB limit); the default one /ech address keeps it working', async () => {
    const keys = [await generateEchKey({ kem: 'x-wing' }), await generateEchKey()]
    const learned = async (announce: number | true): Promise<{ identified: boolean, stored?: Uint8Array, list: Uint8Array }> => {
      const listener = await node({ ech: { keys }, announce, listen: 3 })
      const dialer = await node({ learn: true })
      const identified = pEvent(dialer.node, 'peer:identify', { signal: AbortSignal.timeout(3000) }).then(() => true, () => false)
      await dialer.node.dial(listener.addr)
      const ok = await identified
      await new Promise(resolve => setTimeout(resolve, 100))
      return { identified: ok, stored: await storedConfig(dialer, listener.node.peerId), list: listener.ech!.getEchConfigList() }
    }
    const all = await learned(3)
    expect(all.identified).to.be.false()
    expect(all.stored).to.be.undefined()
    const one = await learned(true)
    expect(one.identified).to.be.true()
    expect(one.list.byteLength).to.be.greaterThan(1300)
    expect(one.stored).to.equalBytes(one.list)
  })

  it('a stock js-libp2p 3 peer without the /ech codec: identify works with plain addresses, fails silently once /ech is announced', async function () {
    // the peer script sits beside this file: .ts from source, .js once built into dist/
    const script = fileURLToPath(new URL(`./stock-peer${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url))
    const run = async (target: TestNode): Promise<{ echKnown: boolean, identified?: string[], storedAddresses: string[] }> => {
      const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', script, target.addr.toString()], { encoding: 'utf8', timeout: 20_000 })
      return JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}')
    }

    const plain = await node()
    const control = await run(plain)
    expect(control.echKnown).to.be.false()
    expect(control.identified).to.deep.equal([plain.addr.decapsulateCode(421).toString()])

    const announcing = await node({ announce: true })
    const result = await run(announcing)
    expect(result.echKnown).to.be.false()
    // the signed peer record holds an address it cannot parse: consumeIdentifyMessage throws, nothing is learned
    expect(result.identified).to.be.undefined()
    expect(result.storedAddresses).to.deep.equal([announcing.addr.decapsulateCode(421).toString()])
  })
})
