/**
 * Small HTTP helpers on `node:http`: the request path as routed, JSON
 * responses with the security headers every answer carries, and a bounded
 * JSON body reader.
 */
import { HttpError } from './errors.js'
import type { ErrorBody } from './types.js'
import type { IncomingMessage, ServerResponse } from 'node:http'

/** On every response; the dashboard replaces the CSP with its own */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Content-Security-Policy': "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
  'Cross-Origin-Resource-Policy': 'same-origin'
})

/**
 * The path to route on: the request target up to `?` or `#`, exactly as
 * sent. Nothing is decoded, collapsed or resolved, so `//ech/status`,
 * `/ech/../metrics`, `/ech/status/` and `%2e%2e` forms match no route (a URL
 * parser would read `//ech/status` as host `ech`, path `/status`). Only
 * origin-form targets (RFC 9112 §3.2.1) are accepted.
 */
export function requestPath (target: string | undefined): string | undefined {
  if (target == null || !target.startsWith('/')) { return undefined }
  const end = target.search(/[?#]/)
  return end === -1 ? target : target.slice(0, end)
}

export function send (res: ServerResponse, status: number, body: string | Uint8Array | undefined, headers: Record<string, string | number> = {}): void {
  if (res.headersSent) {
    res.destroy()
    return
  }
  res.statusCode = status
  for (const [name, value] of Object.entries({ ...SECURITY_HEADERS, 'Cache-Control': 'no-store', ...headers })) {
    res.setHeader(name, value)
  }
  if (body == null) {
    res.end()
    return
  }
  const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body
  res.setHeader('Content-Length', bytes.byteLength)
  // node:http drops the body itself for HEAD
  res.end(bytes)
}

export function sendJson (res: ServerResponse, status: number, body: unknown, headers: Record<string, string | number> = {}): void {
  send(res, status, JSON.stringify(body), { 'Content-Type': 'application/json; charset=utf-8', ...headers })
}

export function sendError (res: ServerResponse, err: HttpError): void {
  const body: ErrorBody = { error: { code: err.code, message: err.message } }
  sendJson(res, err.status, body, { ...err.headers, ...(err.close ? { Connection: 'close' } : {}) })
}

function isJsonType (contentType: string | undefined): boolean {
  if (contentType == null) { return false }
  const [type, ...params] = contentType.split(';').map(s => s.trim().toLowerCase())
  if (type !== 'application/json') { return false }
  // JSON is UTF-8 (RFC 8259 §8.1); refuse a body declared as anything else
  return params.every(p => !p.startsWith('charset=') || p === 'charset=utf-8' || p === 'charset="utf-8"')
}

function hasBody (req: IncomingMessage): boolean {
  return req.headers['transfer-encoding'] != null || (req.headers['content-length'] != null && req.headers['content-length'] !== '0')
}

/**
 * Read a JSON body of at most `maxBytes`. A declared `Content-Length` over
 * the limit is refused before anything is read; a chunked body is counted as
 * it arrives. Both answer 413 and close the connection, since the rest of
 * the body is never read. `optional` lets an absent body through as `undefined`.
 */
export async function readJsonBody (req: IncomingMessage, maxBytes: number, options: { optional?: boolean } = {}): Promise<unknown> {
  if (!hasBody(req)) {
    if (options.optional === true) { return undefined }
    throw new HttpError(400, 'bad-request', 'A JSON body is required')
  }
  if (!isJsonType(req.headers['content-type'])) {
    throw new HttpError(415, 'unsupported-media-type', 'Content-Type must be application/json', { close: true })
  }
  const declared = Number(req.headers['content-length'] ?? 0)
  if (declared > maxBytes) {
    throw new HttpError(413, 'payload-too-large', `Body exceeds ${maxBytes} bytes`, { close: true })
  }
  const bytes = await collect(req, maxBytes)
  let text: string
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes)
  } catch (err) {
    throw new HttpError(400, 'invalid-json', 'Body is not valid UTF-8', { cause: err })
  }
  try {
    return JSON.parse(text)
  } catch (err) {
    throw new HttpError(400, 'invalid-json', 'Body is not valid JSON', { cause: err })
  }
}

async function collect (req: IncomingMessage, maxBytes: number): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let length = 0
    const cleanup = (): void => {
      req.off('data', onData)
      req.off('end', onEnd)
      req.off('close', onClose)
      req.off('error', onClose)
    }
    const onData = (chunk: Buffer): void => {
      length += chunk.byteLength
      if (length > maxBytes) {
        cleanup()
        // stop reading; the 413 goes out with Connection: close
        req.pause()
        reject(new HttpError(413, 'payload-too-large', `Body exceeds ${maxBytes} bytes`, { close: true }))
        return
      }
      chunks.push(chunk)
    }
    const onEnd = (): void => {
      cleanup()
      resolve(Buffer.concat(chunks))
    }
    // the client went away, or the server's requestTimeout ended the request
    const onClose = (): void => {
      cleanup()
      reject(new HttpError(408, 'request-timeout', 'The request body did not arrive in full', { close: true }))
    }
    req.on('data', onData)
    req.on('end', onEnd)
    req.on('close', onClose)
    req.on('error', onClose)
  })
}

/** A JSON object's own fields, refusing any not in `allowed` */
export function jsonObject (body: unknown, allowed: readonly string[]): Record<string, unknown> {
  if (typeof body !== 'object' || body == null || Array.isArray(body)) {
    throw new HttpError(400, 'bad-request', 'Body must be a JSON object')
  }
  const unknown = Object.keys(body).filter(k => !allowed.includes(k))
  if (unknown.length > 0) {
    throw new HttpError(400, 'bad-request', `Unknown field(s); allowed: ${allowed.join(', ')}`)
  }
  return body as Record<string, unknown>
}
