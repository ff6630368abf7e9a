/**
 * The crypto backend the package uses when the application names none: on
 * Node, `node:crypto`. (A bundler for browsers maps this file to its
 * browser twin through package.json, as `@chainsafe/libp2p-noise` selects
 * its crypto.)
 */
export { nodeProvider as defaultProvider } from './node.js'
