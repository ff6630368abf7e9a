import { multiaddr } from '@multiformats/multiaddr'
import { sha256 } from '@noble/hashes/sha2.js'
import { expect } from 'aegir/chai'
import { toString as uint8ArrayToString } from 'uint8arrays/to-string'
import { EchDecodeError } from '../../src/ech/errors.js'
import { encDigest, ipv6Source, parseIpv6, reasonOf, sourceKey } from '../../src/monitor/source.js'

describe('monitor/source', () => {
  describe('sourceKey', () => {
    const cases: Array<[string, string | undefined, string]> = [
      ['IPv4 without the port', '/ip4/203.0.113.7/tcp/4001', '203.0.113.7'],
      ['IPv4, another port, same source', '/ip4/203.0.113.7/udp/9/quic-v1', '203.0.113.7'],
      ['IPv6 grouped by /64', '/ip6/2001:db8:1:2:aaaa:bbbb:cccc:dddd/tcp/1', '2001:db8:1:2::/64'],
      ['IPv6 other host in the same /64', '/ip6/2001:db8:1:2::99/tcp/2', '2001:db8:1:2::/64'],
      ['IPv4-mapped IPv6 as IPv4', '/ip6/::ffff:198.51.100.1/tcp/1', '198.51.100.1'],
      ['DNS name', '/dns4/example.com/tcp/443', 'example.com'],
      ['relayed: relay IP plus the vouched-for peer', '/ip4/192.0.2.1/tcp/1/p2p/12D3KooWRelay/p2p-circuit/p2p/12D3KooWRemote', '192.0.2.1/p2p-circuit/12D3KooWRemote'],
      ['memory transport: the address text', '/memory/abc', '/memory/abc'],
      ['no address', undefined, 'unknown']
    ]
    for (const [name, addr, key] of cases) {
      it(name, () => {
        expect(sourceKey(addr == null ? undefined : multiaddr(addr), 64)).to.equal(key)
      })
    }

    it('relayed address without peer ids', () => {
      expect(sourceKey(multiaddr('/p2p-circuit'), 64)).to.equal('unknown/p2p-circuit/unknown')
    })

    it('cuts long keys to 128 characters', () => {
      expect(sourceKey(multiaddr(`/memory/${'x'.repeat(300)}`), 64)).to.have.length(128)
    })
  })

  describe('IPv6', () => {
    it('parses the RFC 4291 §2.2 text forms', () => {
      expect(parseIpv6('2001:DB8:0:0:8:800:200C:417A')).to.deep.equal([0x2001, 0xdb8, 0, 0, 8, 0x800, 0x200c, 0x417a])
      expect(parseIpv6('ff01::101')).to.deep.equal([0xff01, 0, 0, 0, 0, 0, 0, 0x101])
      expect(parseIpv6('::')).to.deep.equal([0, 0, 0, 0, 0, 0, 0, 0])
      expect(parseIpv6('1:2:3:4:5:6:7::')).to.deep.equal([1, 2, 3, 4, 5, 6, 7, 0])
      expect(parseIpv6('::13.1.68.3')).to.deep.equal([0, 0, 0, 0, 0, 0, 0x0d01, 0x4403])
      expect(parseIpv6('fe80::1%eth0')).to.deep.equal([0xfe80, 0, 0, 0, 0, 0, 0, 1])
    })

    it('rejects what is not IPv6', () => {
      for (const bad of ['1::2::3', '1:2:3', '1:2:3:4:5:6:7:8:9', '1:2:3:4:5:6:7:8::', 'g::1', '12345::', '::1.2.3', '::1.2.3.256', '::1.2.3.x']) {
        expect(parseIpv6(bad), bad).to.equal(undefined)
      }
    })

    it('masks to the prefix length', () => {
      expect(ipv6Source('2001:db8:abcd:ef01::1', 48)).to.equal('2001:db8:abcd::/48')
      expect(ipv6Source('2001:db8:abcd:ef01::1', 56)).to.equal('2001:db8:abcd:ef00::/56')
      expect(ipv6Source('2001:db8:abcd:ef01::1', 128)).to.equal('2001:db8:abcd:ef01:0:0:0:1')
      expect(ipv6Source('not-an-address', 64)).to.equal('not-an-address')
    })
  })

  describe('encDigest', () => {
    it('is the first 8 bytes of SHA-256 of enc, big endian, as a bigint, and not enc', () => {
      const enc = new Uint8Array(32).fill(7)
      const key = encDigest(enc)
      expect(key).to.equal(BigInt(`0x${uint8ArrayToString(sha256(enc).subarray(0, 8), 'base16')}`))
      expect(key.toString(16)).to.not.include('0707')
      expect(encDigest(enc.slice())).to.equal(key)
      expect(encDigest(new Uint8Array(32).fill(8))).to.not.equal(key)
    })
  })

  describe('reasonOf', () => {
    it('keeps short codes', () => {
      expect(reasonOf('no-config')).to.equal('no-config')
      expect(reasonOf(undefined)).to.equal(undefined)
    })

    it('takes only the name (and bad field) of an error, never its message', () => {
      const err = new Error('secret 0xdeadbeef')
      expect(reasonOf(err)).to.equal('Error')
      expect(reasonOf(new EchDecodeError('padding', 'leaky message'))).to.equal('EchDecodeError:padding')
      expect(reasonOf({})).to.equal('Error')
    })

    it('replaces odd characters and cuts to 64', () => {
      expect(reasonOf('a b\n{c}')).to.equal('a_b__c_')
      expect(reasonOf('x'.repeat(100))).to.have.length(64)
      expect(reasonOf(42)).to.equal('42')
    })
  })
})
