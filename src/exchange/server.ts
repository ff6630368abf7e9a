/**
 * The serving side of the config exchange: answering a request with this
 * node's signed config record, and recognising the encrypter that signs it.
 * Apart from the fetching side (`fetcher.ts`) because it answers any peer
 * that asks and shares no state with the fetches but the encrypter.
 */
import { serviceCapabilities, setMaxListeners } from '@libp2p/interface'
import { EchNoise } from '../encrypter/ech-noise.js'
import { EchConfigExchangeUnavailableError } from './errors.js'
import { writeConfigRecord } from './protocol.js'
import type { Connection, Logger, Stream } from '@libp2p/interface'

/** What the service needs from the encrypter */
export interface ConfigSource {
  /** False in `disabled` mode or with the kill switch off */
  isEchEnabled(): boolean
  getSignedConfigRecord(): Promise<Uint8Array>
}

/** The capability `EchNoise` declares in `[serviceCapabilities]` */
const ECH_NOISE_CAPABILITY = 'libp2p-noise-ech'

export function isConfigSource (encrypter: unknown): encrypter is ConfigSource {
  if (encrypter instanceof EchNoise) {
    return true
  }
  // another copy of this package (e.g. src and dist side by side) fails
  // `instanceof`; recognise it by its capability and method
  const e = encrypter as (Partial<ConfigSource> & { [serviceCapabilities]?: unknown }) | undefined
  return Array.isArray(e?.[serviceCapabilities]) && e[serviceCapabilities].includes(ECH_NOISE_CAPABILITY) &&
    typeof e.getSignedConfigRecord === 'function'
}

/** Answer one request on the protocol; failures abort the stream and are logged, never thrown */
export async function serveConfigRecord (stream: Stream, connection: Connection, source: ConfigSource | undefined, options: { timeout: number, log: Logger }): Promise<void> {
  const { log } = options
  const signal = AbortSignal.timeout(options.timeout)
  setMaxListeners(Infinity, signal)
  try {
    const record = await currentRecord(source)
    await writeConfigRecord(stream, record, { signal })
    log.trace('served ECH config record to %p', connection.remotePeer)
  } catch (err: any) {
    log.error('could not serve ECH config record to %p - %e', connection.remotePeer, err)
    stream.abort(err)
  }
}

/** The record to serve: the encrypter's (re-signed by it every 24 h and on key changes), unless ECH is off */
async function currentRecord (source: ConfigSource | undefined): Promise<Uint8Array> {
  // a node that would not accept ECH must not invite peers to offer it
  if (source == null || !source.isEchEnabled()) {
    throw new EchConfigExchangeUnavailableError()
  }
  return source.getSignedConfigRecord()
}
