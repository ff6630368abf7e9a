/**
 * The crypto backend the package uses when the application names none: on
 * Node, `node:crypto`. A bundler for browsers maps this file to
 * `default.browser.js` (`browserProvider`) through package.json's `browser`
 * field, as `@chainsafe/libp2p-noise` selects its crypto; nothing probes the
 * runtime.
 */
export { nodeProvider as defaultProvider } from './node.js'
