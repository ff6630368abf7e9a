/**
 * The crypto backend in a browser bundle: package.json's `browser` map
 * replaces `default.js` with this file, as `@chainsafe/libp2p-noise` maps
 * its `crypto/index.js` to `index.browser.js`. No runtime probe decides.
 */
export { browserProvider as defaultProvider } from './browser.js'
