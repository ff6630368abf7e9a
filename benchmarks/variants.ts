/**
 * The encrypter pairs the in-process benchmarks compare, one handshake over
 * an in-memory pair, and the checks that a variant really took its path.
 *
 * - `stock`: `noise()` on both sides.
 * - `ech-no-config`: `echNoise()` on both sides, no config for the responder
 * in the initiator's peer store: stock Noise both ways behind the wrapper.
 * - `ech-accepted`: `echNoise()` on both sides, the responder's config list
 * in the initiator's peer store under `ECH_PEER_STORE_KEY`.
 * - `ech-xwing`: as `ech-accepted`, the responder's one key an X-Wing key
 * (HPKE KEM 0x647a) instead of DHKEM(X25519).
 * - `before-no-config`, `before-accepted`: the same two with `echNoise` from
 * another checkout (`--baseline DIR` loads `DIR/src/index.ts`), measured in
 * the same run for a before/after comparison.
 */
import { noise } from '@chainsafe/libp2p-noise'
import * as current from '../src/index.js'
import { pair, startedComponents } from './setup.js'
import type { Identity } from './setup.js'
import type { EchConnectionInfo, EchNoise } from '../src/index.js'
import type { ConnectionEncrypter, MessageStream, SecuredConnection } from '@libp2p/interface'

export type VariantName = 'stock' | 'ech-no-config' | 'ech-accepted' | 'ech-xwing' | 'before-no-config' | 'before-accepted'

export const ALL_VARIANTS: readonly VariantName[] = ['stock', 'ech-no-config', 'ech-accepted', 'ech-xwing', 'before-no-config', 'before-accepted']

export interface Variant {
  name: VariantName
  label: string
  initiator: ConnectionEncrypter
  responder: ConnectionEncrypter
  /** Expected outcome per side, checked through `getConnectionInfo` (ECH variants) */
  expect?: { outbound: string, inbound: string }
}

/** What a variant needs from the package: the factory and the peer-store key */
export interface EchModule {
  echNoise: typeof current.echNoise
  ECH_PEER_STORE_KEY: string
}

/**
 * Every handshake comes from one address: the responder's per-source limits
 * (SECURITY.md §4.4 and §7: 8 handshakes in flight, a budget of HPKE opens)
 * are lifted so it neither refuses a concurrent handshake nor answers an
 * outer hello as unopenable
 */
export const ONE_SOURCE = { maxPendingPerSource: 1e9, openBudget: { burst: 1e9, perSecond: 1e9 } }

export interface Peers { A: Identity, B: Identity }

async function ech (module: EchModule, id: Identity, kem?: string): Promise<{ encrypter: EchNoise, components: Awaited<ReturnType<typeof startedComponents>> }> {
  const components = await startedComponents(id)
  const keys = kem == null ? undefined : [await current.generateEchKey({ kem })]
  const encrypter = module.echNoise({ ...ONE_SOURCE, keys })(components)
  await encrypter.start()
  return { encrypter, components }
}

async function echPair (module: EchModule, peers: Peers, withConfig: boolean, kem?: string): Promise<Pick<Variant, 'initiator' | 'responder' | 'expect'>> {
  const initiator = await ech(module, peers.A)
  const responder = await ech(module, peers.B, kem)
  if (withConfig) {
    // as the application (or a retry config) would: the responder's list under the key
    await initiator.components.peerStore.merge(peers.B.peerId, {
      metadata: { [module.ECH_PEER_STORE_KEY]: responder.encrypter.getEchConfigList() }
    })
  }
  return {
    initiator: initiator.encrypter,
    responder: responder.encrypter,
    expect: withConfig ? { outbound: 'accepted', inbound: 'accepted' } : { outbound: 'fallback', inbound: 'not-offered' }
  }
}

/** The selected variants (stock always first) */
export async function makeVariants (peers: Peers, names: ReadonlySet<VariantName>, baseline?: EchModule): Promise<Variant[]> {
  const out: Variant[] = [{
    name: 'stock',
    label: 'stock noise()',
    initiator: noise()(await startedComponents(peers.A)),
    responder: noise()(await startedComponents(peers.B))
  }]
  const add = async (name: VariantName, label: string, module: EchModule | undefined, withConfig: boolean, kem?: string): Promise<void> => {
    if (!names.has(name)) { return }
    if (module == null) { throw new Error(`variant ${name} needs --baseline`) }
    out.push({ name, label, ...await echPair(module, peers, withConfig, kem) })
  }
  await add('ech-no-config', 'echNoise, no config', current, false)
  await add('ech-accepted', 'echNoise, ECH accepted', current, true)
  await add('ech-xwing', 'echNoise, ECH X-Wing', current, true, 'x-wing')
  await add('before-no-config', 'before: echNoise, no config', baseline, false)
  await add('before-accepted', 'before: echNoise, ECH accepted', baseline, true)
  return out
}

export interface Secured {
  ms: number
  cpuMs: number
  a: MessageStream
  b: MessageStream
  outbound: SecuredConnection
  inbound: SecuredConnection
}

/** One handshake, both roles, timed from the calls until both resolve */
export async function handshake (variant: Variant, peers: Peers, capacity: number): Promise<Secured> {
  const [a, b] = pair(capacity)
  // the libp2p upgrader always passes a per-connection deadline
  const signal = AbortSignal.timeout(30_000)
  const cpu = process.cpuUsage()
  const start = performance.now()
  const [outbound, inbound] = await Promise.all([
    variant.initiator.secureOutbound(a, { remotePeer: peers.B.peerId, signal }),
    variant.responder.secureInbound(b, { signal })
  ])
  const ms = performance.now() - start
  const used = process.cpuUsage(cpu)
  if (!outbound.remotePeer.equals(peers.B.peerId) || !inbound.remotePeer.equals(peers.A.peerId)) {
    throw new Error(`${variant.name}: handshake authenticated the wrong peers`)
  }
  return { ms, cpuMs: (used.user + used.system) / 1000, a, b, outbound, inbound }
}

/** Throws unless both sides recorded the variant's expected ECH outcome for this pair */
export function check (variant: Variant, a: MessageStream, b: MessageStream): void {
  if (variant.expect == null) { return }
  const outbound: EchConnectionInfo | undefined = (variant.initiator as EchNoise).getConnectionInfo(a)
  const inbound: EchConnectionInfo | undefined = (variant.responder as EchNoise).getConnectionInfo(b)
  if (outbound?.outcome !== variant.expect.outbound || inbound?.outcome !== variant.expect.inbound) {
    throw new Error(`${variant.name}: expected ECH ${variant.expect.outbound}/${variant.expect.inbound}, got ${outbound?.outcome}/${inbound?.outcome}`)
  }
}

/** Abort both ends and let the aborts settle before the next timed section */
export async function dispose (...streams: MessageStream[]): Promise<void> {
  const done = new Error('benchmark done')
  for (const s of streams) { s.abort(done) }
  await new Promise(resolve => setImmediate(resolve))
}

export async function stopAll (variants: Variant[]): Promise<void> {
  for (const v of variants) {
    await (v.initiator as Partial<EchNoise>).stop?.()
    await (v.responder as Partial<EchNoise>).stop?.()
  }
}
