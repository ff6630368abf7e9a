/**
 * libp2p 3 calls `Promise.withResolvers` (ES2024), which Node 20 lacks. This
 * installs a spec-shaped version only where it is missing, so on Node >= 22
 * the native one is untouched. The package entry point imports this first.
 */

interface Resolvers<T> {
  promise: Promise<T>
  resolve(value: T | PromiseLike<T>): void
  reject(reason?: unknown): void
}

const P = Promise as unknown as { withResolvers?<T>(): Resolvers<T> }

if (typeof P.withResolvers !== 'function') {
  Object.defineProperty(Promise, 'withResolvers', {
    configurable: true,
    writable: true,
    enumerable: false,
    value: function withResolvers<T> (this: PromiseConstructor): Resolvers<T> {
      let resolve!: (value: T | PromiseLike<T>) => void
      let reject!: (reason?: unknown) => void

      const Ctor = this ?? Promise
      const promise = new Ctor<T>((res, rej) => {
        resolve = res
        reject = rej
      })
      return { promise, resolve, reject }
    }
  })
}

export {}
