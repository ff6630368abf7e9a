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
    ignore: []
  }
}
