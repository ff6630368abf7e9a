/**
 * GREASE outer hellos (cf. RFC 9849 §6.2): what an initiator without a
 * config sends so that real offers are not the only outer hellos on the wire.
 */
import { getKem } from '../hpke/registry.js'
import { OUTER_HELLO_VERSION, encodeOuterHello, innerHelloLength } from './outer-hello.js'

/** AEAD tag length of every HPKE AEAD this package speaks (RFC 9180 §7.3) */
const HPKE_TAG_LENGTH = 16
/** The GREASE suite and KEM: DHKEM(X25519), HKDF-SHA256, ChaCha20Poly1305 */
const GREASE_SUITE = { kemId: 0x0020, kdfId: 0x0001, aeadId: 0x0003 }
/** An Ed25519 PeerId multihash (identity, 36-byte protobuf key) is 38 bytes; its inner hello pads to 64 */
const GREASE_TARGET_PEER_LENGTH = 38

export type RandomBytes = (length: number) => Uint8Array

/**
 * A GREASE outer hello (cf. RFC 9849 §6.2): a random config_id, a real suite,
 * a random `enc` of the KEM's size and a random payload the size of a real
 * sealed inner hello. Its shape is always `GREASE_SUITE`'s (X25519 `enc`,
 * ChaCha20Poly1305), so it matches only offers to configs of that shape: not
 * offers to default keys (AES-128-GCM first) nor to X-Wing keys (1120-byte
 * `enc`); and the responder's retry record makes message 2 larger than after
 * an accepted offer (docs/PROTOCOL.md §4.7).
 */
export function greaseOuterHello (randomBytes: RandomBytes): Uint8Array {
  const kem = getKem(GREASE_SUITE.kemId)
  const encLength = kem?.encLength ?? 32
  const payloadLength = innerHelloLength(GREASE_TARGET_PEER_LENGTH) + HPKE_TAG_LENGTH
  return encodeOuterHello({
    version: OUTER_HELLO_VERSION,
    kdfId: GREASE_SUITE.kdfId,
    aeadId: GREASE_SUITE.aeadId,
    configId: randomBytes(1)[0],
    enc: randomBytes(encLength),
    payload: randomBytes(payloadLength)
  })
}
