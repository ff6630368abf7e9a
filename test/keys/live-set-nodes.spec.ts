/**
 * The bounded live set on the wire (review "Hardening", item 8): an X-Wing
 * listener rotated 60 times inside one grace period. Unbounded, its config
 * list passed 65535 bytes after ~53 rotations, the signed retry record could
 * not be made, and every inbound ECH handshake failed with it. Capped, a
 * dialer holding the first (long evicted) config is rejected with retry
 * configs that fit in message 2, and accepted on its next dial.
 */
import { expect } from 'aegir/chai'
import { MAX_CONFIG_LIST_BYTES } from '../../src/keys/live-set.js'
import { nextEchEvent, pingOver, shareConfig, useNodes } from '../fixtures/nodes.js'
import { DAY } from './fixtures.js'

describe('keys/manager live set over TCP', function () {
  this.timeout(60_000)
  const nodes = useNodes()

  it('an X-Wing listener rotated 60 times in one grace period still hands out retry configs, and they work', async () => {
    const listener = await nodes.create({
      encrypter: 'ech',
      identify: false,
      ech: { keyManager: { generate: { kem: 'x-wing' }, gracePeriod: 365 * DAY, maxLiveKeys: 255 } }
    })
    const dialer = await nodes.create({ encrypter: 'ech', identify: false })
    const ech = listener.ech!
    await shareConfig(dialer, listener)
    const first = ech.keys.getKeys()[0]
    for (let i = 0; i < 60; i++) {
      await ech.keys.rotate()
    }
    // by the key itself: its config_id is free again once it is gone, and a later key may draw it
    expect(ech.keys.getKeys(), 'the first key fell to the cap').to.not.include(first)
    expect(ech.getEchConfigList().byteLength).to.be.at.most(MAX_CONFIG_LIST_BYTES)
    const current = ech.keys.getKeys()[0].config.configId

    const rejected = nextEchEvent(dialer.ech!, 'ech:outcome')
    await pingOver(await dialer.node.dial(listener.addr, { force: true }))
    expect(await rejected).to.include({ outcome: 'rejected', retryConfigsLearned: true })

    const accepted = nextEchEvent(dialer.ech!, 'ech:outcome')
    await pingOver(await dialer.node.dial(listener.addr, { force: true }))
    expect(await accepted).to.include({ outcome: 'accepted', configId: current })
    expect([listener, dialer].flatMap(n => n.failures)).to.deep.equal([])
  })
})
