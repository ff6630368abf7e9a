/**
 * The handshake engine: Noise XX (`Noise_XX_25519_ChaChaPoly_SHA256`) with
 * the ECH outer hello, staged I/O for both roles, and the secure channel.
 */
export { performInitiatorHandshake, performResponderHandshake, extractOuterHello } from './perform.js'
export { MAX_FRAME, noiseFrames } from './framing.js'
export { toMessageStream } from './channel.js'
export type { ChannelMetrics } from './channel.js'
export { EchDecodeError, EchRejectedError, EchRequiredError, EchConfigUnusableError, ProtobufDecodeError, MessageTooLargeError } from './errors.js'
export { PROTOCOL_NAME } from './xx.js'
export { FIELD_ECH_OUTER_HELLO, FIELD_ECH_RETRY_RECORD } from './payload.js'
export type { NoiseExtensions, NoiseHandshakePayload } from './payload.js'
export type { EchOuterHello, InnerHello } from './outer-hello.js'
export type { EchKeyEntry, EchRejectReason } from './ech.js'
export type { EchOffer, EchOutcome, HandshakeInit, HandshakeResult, InitiatorInit, ResponderInit } from './types.js'
