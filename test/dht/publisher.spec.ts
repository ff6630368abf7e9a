/**
 * The publisher's count of DHT servers that took the record, against a
 * scripted kad-dht `put`: a server counts only when it echoed the very
 * record (kad-dht reports a QUERY_ERROR "Value not put correctly" for one
 * that did not, after the response).
 */
import { defaultLogger } from '@libp2p/logger'
import { expect } from 'aegir/chai'
import { DhtPublisher } from '../../src/dht/publisher.js'
import type { EchDhtPublishedDetail, EchDhtQueryEvent } from '../../src/index.js'

const log = defaultLogger().forComponent('test:dht-publisher')

/** A publisher whose puts yield `events` */
function publisher (events: (record: Uint8Array) => EchDhtQueryEvent[], record: Uint8Array): DhtPublisher {
  return new DhtPublisher({
    put: async function * (_key, value) { yield * events(value) },
    key: new Uint8Array([1]),
    record: async () => record,
    enabled: () => true,
    interval: 60_000,
    retryInterval: 60_000,
    log,
    report: () => {}
  })
}

function putResponse (value?: Uint8Array): EchDhtQueryEvent {
  return { name: 'PEER_RESPONSE', messageName: 'PUT_VALUE', record: value == null ? null : { value } }
}

describe('dht: publishing the record', () => {
  it('counts a server only if it echoed the record it was sent', async () => {
    const record = new Uint8Array([1, 2, 3])
    const other = new Uint8Array([1, 2, 4])
    const p = publisher(value => [
      putResponse(value),
      putResponse(value),
      putResponse(other),
      { name: 'QUERY_ERROR', error: Object.assign(new Error('Value not put correctly'), { name: 'QueryError' }) },
      putResponse()
    ], record)
    try {
      const detail: EchDhtPublishedDetail = await p.publish()
      expect(detail).to.deep.include({ stored: 2, errors: 1, firstError: 'QueryError' })
    } finally {
      p.stop()
    }
  })
})
