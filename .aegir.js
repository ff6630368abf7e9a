/** @type {import('aegir').PartialOptions} */
export default {
  build: {
    bundle: false
  },
  test: {
    // the libp2p interface compliance suite needs generous timeouts
    timeout: 60000
  },
  dependencyCheck: {
    // examples and benchmarks are run from the checkout with dev dependencies
    productionIgnorePatterns: [
      '/benchmarks',
      '/examples',
      '/dist',
      '/test',
      '/scripts',
      '.aegir.js',
      '/interop'
    ]
  }
}
