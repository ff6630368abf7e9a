/**
 * Gateway errors. `EchGatewayOptionsError` is public (thrown by
 * `createEchGateway`); `HttpError` is internal: a request that ends with an
 * error status, turned into `{ error: { code, message } }` by the server.
 */

/** An option or token variable given to the gateway is invalid */
export class EchGatewayOptionsError extends Error {
  static name = 'EchGatewayOptionsError'

  constructor (message = 'Invalid ECH gateway options', options?: ErrorOptions) {
    super(message, options)
    this.name = 'EchGatewayOptionsError'
  }
}

/** Machine-readable error codes of the gateway's JSON error bodies */
export type HttpErrorCode =
  | 'bad-request'
  | 'invalid-json'
  | 'unauthorized'
  | 'forbidden'
  | 'disabled'
  | 'not-found'
  | 'method-not-allowed'
  | 'request-timeout'
  | 'payload-too-large'
  | 'unsupported-media-type'
  | 'rate-limited'
  | 'internal'
  | 'not-ready'

export class HttpError extends Error {
  static name = 'HttpError'
  readonly status: number
  readonly code: HttpErrorCode
  readonly headers: Record<string, string>
  /** Close the connection after answering (the request body was not read to its end) */
  readonly close: boolean

  constructor (status: number, code: HttpErrorCode, message: string, options: { headers?: Record<string, string>, close?: boolean, cause?: unknown } = {}) {
    super(message, { cause: options.cause })
    this.name = 'HttpError'
    this.status = status
    this.code = code
    this.headers = options.headers ?? {}
    this.close = options.close ?? false
  }
}
