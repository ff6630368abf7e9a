/**
 * Which address the failed-attempt limit is keyed on: the socket peer
 * unless it is a trusted proxy, then the right-most untrusted entry of the
 * one configured forwarding header (X-Forwarded-For or RFC 7239 Forwarded).
 */
import { expect } from 'aegir/chai'
import { ClientAddress, forwardedHops, parseNode, xForwardedForHops } from '../../src/gateway/client-address.js'

describe('gateway client address', () => {
  it('reads an address out of the node forms proxies write', () => {
    const cases: Array<[string, string | undefined]> = [
      ['192.0.2.7', '192.0.2.7'],
      [' 192.0.2.7 ', '192.0.2.7'],
      ['192.0.2.7:4711', '192.0.2.7'],
      ['2001:DB8::1', '2001:db8::1'],
      ['[2001:db8::1]', '2001:db8::1'],
      ['[2001:db8::1]:4711', '2001:db8::1'],
      ['fe80::1%eth0', 'fe80::1'],
      ['::ffff:192.0.2.7', '192.0.2.7'],
      ['unknown', undefined],
      ['_hidden', undefined],
      ['', undefined],
      ['192.0.2.256', undefined],
      ['example.com', undefined],
      ['[192.0.2.7', undefined]
    ]
    for (const [text, address] of cases) {
      expect(parseNode(text), text).to.equal(address)
    }
  })

  it('parses X-Forwarded-For field lines in order, left to right', () => {
    expect(xForwardedForHops(['203.0.113.1, 198.51.100.2', '10.0.0.1'])).to.deep.equal(['203.0.113.1', '198.51.100.2', '10.0.0.1'])
    expect(xForwardedForHops(['garbage,,192.0.2.1:80'])).to.deep.equal([undefined, undefined, '192.0.2.1'])
  })

  it('parses RFC 7239 Forwarded: quoted values, IPv6 with port, parameters in any order, commas inside quotes', () => {
    expect(forwardedHops([
      'for=192.0.2.60;proto=http;by=203.0.113.43',
      'For="[2001:db8:cafe::17]:4711", proto=https;for=198.51.100.17',
      'by=10.0.0.1;host="a,b";for=unknown, for=_gazonk, proto=http'
    ])).to.deep.equal(['192.0.2.60', '2001:db8:cafe::17', '198.51.100.17', undefined, undefined, undefined])
  })

  it('without trustProxy, the socket peer whatever the header says', () => {
    const c = new ClientAddress()
    expect(c.resolve('127.0.0.1', ['198.51.100.1'])).to.equal('127.0.0.1')
    expect(c.resolve('::ffff:127.0.0.1', undefined)).to.equal('127.0.0.1')
    expect(c.resolve(undefined, ['198.51.100.1'])).to.be.undefined()
  })

  it('with trustProxy, the right-most untrusted address; the client\'s own entries are ignored', () => {
    const c = new ClientAddress({ trustProxy: ['10.0.0.0/8', '2001:db8:ffff::/48', '127.0.0.1'] })
    // an untrusted peer: its header proves nothing
    expect(c.resolve('192.0.2.9', ['198.51.100.1'])).to.equal('192.0.2.9')
    // two trusted hops, then the client
    expect(c.resolve('127.0.0.1', ['6.6.6.6, 198.51.100.1, 10.1.2.3'])).to.equal('198.51.100.1')
    expect(c.resolve('::ffff:127.0.0.1', ['[2001:db8::5]:1234, 2001:db8:ffff::1'])).to.equal('2001:db8::5')
    // every entry trusted: the left-most
    expect(c.resolve('127.0.0.1', ['10.0.0.7, 10.0.0.8'])).to.equal('10.0.0.7')
    // no header: the proxy itself
    expect(c.resolve('127.0.0.1', undefined)).to.equal('127.0.0.1')
    // a hop that is not an address: keyed on the trusted proxy that wrote it
    expect(c.resolve('127.0.0.1', ['198.51.100.1, unknown, 10.0.0.8'])).to.equal('10.0.0.8')
    expect(c.resolve('127.0.0.1', ['198.51.100.1, garbage'])).to.equal('127.0.0.1')
  })

  it('reads only the configured header', () => {
    const c = new ClientAddress({ trustProxy: ['127.0.0.1'], forwardedHeader: 'forwarded' })
    expect(c.headerName).to.equal('forwarded')
    expect(c.resolve('127.0.0.1', ['for=198.51.100.1;proto=https, for="[2001:db8::1]"'])).to.equal('2001:db8::1')
    expect(new ClientAddress({ trustProxy: [] }).resolve('127.0.0.1', ['198.51.100.1'])).to.equal('127.0.0.1')
  })

  it('refuses trust entries that are not addresses or ranges, and unknown headers', () => {
    const bad: unknown[] = [['localhost'], ['10.0.0.0/33'], ['fd00::/129'], ['10.0.0.0/8/1'], ['10.0.0.0/x'], [7], 'x', ['']]
    for (const trustProxy of bad) {
      expect(() => new ClientAddress({ trustProxy: trustProxy as string[] }), JSON.stringify(trustProxy)).to.throw().with.property('name', 'EchGatewayOptionsError')
    }
    expect(() => new ClientAddress({ forwardedHeader: 'x-real-ip' as any })).to.throw().with.property('name', 'EchGatewayOptionsError')
  })
})
