/**
 * The composing wrapper: `echNoise()` builds an {@link EchNoise} for libp2p's
 * `connectionEncrypters`.
 */
import { EchNoise } from './ech-noise.js'
import type { EchNoiseComponents, EchNoiseInit } from './types.js'

export { EchNoise }

/**
 * A drop-in replacement for `noise()` from `@chainsafe/libp2p-noise`, for
 * `connectionEncrypters`: libp2p calls the returned function with its
 * components and gets an {@link EchNoise}. Every default of `init` is
 * listed on {@link EchNoiseInit}.
 *
 * @param init - options of the encrypter (mode, keys, KEMs, GREASE, policy,
 * monitor, the stock Noise options)
 * @returns the encrypter factory libp2p expects
 *
 * @example
 *
 * ```TypeScript
 * const node = await createLibp2p({
 *   connectionEncrypters: [echNoise({ mode: 'opportunistic' })]
 * })
 * ```
 */
export function echNoise (init: EchNoiseInit = {}): (components: EchNoiseComponents) => EchNoise {
  return (components) => new EchNoise(components, init)
}
