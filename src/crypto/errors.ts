/**
 * Crypto backend failures that are not about the bytes: a backend used where
 * its platform is absent.
 */

/**
 * `nodeProvider` was used in a browser bundle. The package's `browser` map
 * (package.json) replaces `crypto/node.js` with `node.browser.js` so no
 * `node:crypto` import reaches a browser; the export stays, and every
 * operation of it throws this. Use the default backend (`browserProvider`).
 */
export class NodeCryptoUnavailableError extends Error {
  static name = 'NodeCryptoUnavailableError'

  constructor (message = 'nodeProvider needs node:crypto, which this platform lacks: leave EchNoiseInit.provider unset (browserProvider is the default in browsers)', options?: ErrorOptions) {
    super(message, options)
    this.name = 'NodeCryptoUnavailableError'
  }
}
