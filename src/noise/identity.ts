/**
 * Binding the Noise static key to the libp2p identity (libp2p noise spec,
 * "Static Key Authentication"): the payload carries the identity public key
 * and its signature over `"noise-libp2p-static-key:" || s.public`.
 */
import { publicKeyFromProtobuf, publicKeyToProtobuf } from '@libp2p/crypto/keys'
import { UnexpectedPeerError } from '@libp2p/interface'
import { peerIdFromPublicKey } from '@libp2p/peer-id'
import { concat, equalBytes } from '../crypto/bytes.js'
import { encodeHandshakePayload } from './payload.js'
import type { DecodedHandshakePayload, NoiseExtensions, NoiseHandshakePayload } from './payload.js'
import type { PeerId, PrivateKey, PublicKey } from '@libp2p/interface'

const SIGNATURE_PREFIX = new TextEncoder().encode('noise-libp2p-static-key:')

export function signaturePayload (staticPublicKey: Uint8Array): Uint8Array {
  return concat(SIGNATURE_PREFIX, staticPublicKey)
}

interface SignedStatic {
  staticPublicKey: Uint8Array
  identityKey: Uint8Array
  identitySig: Uint8Array
}

// The static key is long-lived and the signature depends only on it and the
// identity key, so it is made once per (identity, static) pair, not per handshake.
const signatures = new WeakMap<PrivateKey, SignedStatic>()

/** The signed identity part of the payload, cached per identity key and static key */
export async function signStaticKey (privateKey: PrivateKey, staticPublicKey: Uint8Array): Promise<NoiseHandshakePayload> {
  let signed = signatures.get(privateKey)
  if (signed == null || !equalBytes(signed.staticPublicKey, staticPublicKey)) {
    signed = {
      staticPublicKey: Uint8Array.from(staticPublicKey),
      identityKey: publicKeyToProtobuf(privateKey.publicKey),
      identitySig: await privateKey.sign(signaturePayload(staticPublicKey))
    }
    signatures.set(privateKey, signed)
  }
  return { identityKey: signed.identityKey, identitySig: signed.identitySig }
}

/** The encoded message-2/3 payload */
export async function createHandshakePayload (privateKey: PrivateKey, staticPublicKey: Uint8Array, extensions: NoiseExtensions, retryRecord?: Uint8Array): Promise<Uint8Array> {
  const signed = await signStaticKey(privateKey, staticPublicKey)
  return encodeHandshakePayload({ ...signed, extensions }, retryRecord)
}

/**
 * Whether `publicKey` is `peer`'s key. Ed25519 and secp256k1 ids inline the
 * key; an RSA id is only a hash of it (`peer.publicKey` is undefined when the
 * id was parsed from a string), so the key's id is derived and compared.
 */
export function isPeer (peer: PeerId, publicKey: PublicKey): boolean {
  return peer.publicKey?.equals(publicKey) ?? peerIdFromPublicKey(publicKey).equals(peer)
}

/**
 * Checks the remote identity against the expected peer (when dialing a
 * known peer) and its signature over the remote static key. Every failure is
 * an `UnexpectedPeerError`, as in stock.
 */
export async function verifyHandshakePayload (payload: DecodedHandshakePayload, remoteStaticKey: Uint8Array, remotePeer?: PeerId): Promise<PublicKey> {
  let publicKey: PublicKey
  try {
    publicKey = publicKeyFromProtobuf(payload.identityKey)
  } catch (err) {
    throw new UnexpectedPeerError(`Invalid identity key: ${(err as Error).message}`)
  }
  if (remotePeer != null && !isPeer(remotePeer, publicKey)) {
    throw new UnexpectedPeerError('Payload identity key does not match the expected remote identity key')
  }
  let valid = false
  try {
    valid = await publicKey.verify(signaturePayload(remoteStaticKey), payload.identitySig)
  } catch {
    // a malformed signature is an invalid one
    valid = false
  }
  if (!valid) {
    throw new UnexpectedPeerError('Invalid payload signature')
  }
  return publicKey
}
