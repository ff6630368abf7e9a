/**
 * @packageDocumentation
 *
 * The HTTP gateway of `libp2p-noise-ech` (import `libp2p-noise-ech/gateway`):
 * publishes the node's ECH configs at `/.well-known/libp2p-noise-ech`, and
 * gives operators status, Prometheus metrics, a dashboard and admin
 * controls behind bearer tokens. Started explicitly; not a libp2p service.
 *
 * ```ts
 * const gateway = createEchGateway({ libp2p: node, encrypter, tokens: { read: [readToken] } })
 * await gateway.start()
 * console.log(gateway.url)
 * ```
 */
export { createEchGateway, EchHttpGateway } from './gateway.js'
export { EchGatewayOptionsError } from './errors.js'
export { ENV_ADMIN_TOKENS, ENV_READ_TOKENS } from './auth.js'
export { WELL_KNOWN_PATH } from './well-known.js'
export type { EchGateway, EchGatewayInit, EchGatewayRateLimit, EchGatewayTokens, WellKnownDocument, StatusDocument, KeyStatus, ErrorBody } from './types.js'
