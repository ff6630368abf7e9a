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
    // benchmarks/browser-size/ech.js imports this package by its own name, as an application would
    ignore: ['libp2p-noise-ech'],
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
