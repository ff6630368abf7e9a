/**
 * Gateway test fixtures: a real libp2p node with `echNoise` and Prometheus
 * metrics in its own registry, a gateway on 127.0.0.1:0 with a recording
 * logger, an HTTP client that keeps a transcript of everything the gateway
 * answered (for the leak checks), and a raw-socket client for requests
 * `fetch` will not send.
 */
import '../../src/polyfill.js'
import { randomBytes } from 'node:crypto'
import { connect } from 'node:net'
import { identify } from '@libp2p/identify'
import { ping } from '@libp2p/ping'
import { prometheusMetrics } from '@libp2p/prometheus-metrics'
import { tcp } from '@libp2p/tcp'
import { yamux } from '@libp2p/yamux'
import { MemoryDatastore } from 'datastore-core'
import { createLibp2p } from 'libp2p'
import { Registry } from 'prom-client'
import { createEchGateway } from '../../src/gateway/index.js'
import { echNoise } from '../../src/index.js'
import type { EchGateway, EchGatewayInit } from '../../src/gateway/index.js'
import type { EchNoise, EchNoiseInit } from '../../src/index.js'
import type { ComponentLogger, Libp2p, Logger } from '@libp2p/interface'

export const READ_TOKEN = `read-${randomBytes(16).toString('hex')}`
export const ADMIN_TOKEN = `admin-${randomBytes(16).toString('hex')}`
export const OTHER_TOKEN = `wrong-${randomBytes(16).toString('hex')}`

export interface LogLine { component: string, text: string }

/** A ComponentLogger keeping every line, formatted, as an operator would see it */
export function recordingLogger (): { logger: ComponentLogger, lines: LogLine[] } {
  const lines: LogLine[] = []
  const show = (a: unknown): string => {
    if (a instanceof Uint8Array) { return Buffer.from(a).toString('hex') }
    if (a instanceof Error) { return `${a.name}: ${a.message} ${String(a.stack)}` }
    return typeof a === 'object' ? JSON.stringify(a) : String(a)
  }
  // printf-style, as debug formats it: %s %d %o %p %e %a take one argument each
  const format = ([first, ...rest]: unknown[]): string => {
    const text = String(first).replace(/%[sdoOjpeab]/g, () => rest.length > 0 ? show(rest.shift()) : '')
    return [text, ...rest.map(show)].join(' ')
  }
  const make = (component: string): Logger => {
    const log = ((...args: unknown[]) => { lines.push({ component, text: format(args) }) }) as Logger
    log.error = (...args: unknown[]) => { lines.push({ component, text: format(args) }) }
    log.trace = (...args: unknown[]) => { lines.push({ component, text: format(args) }) }
    log.enabled = true
    log.newScope = (name: string) => make(`${component}:${name}`)
    return log
  }
  return { logger: { forComponent: make }, lines }
}

export interface Exchange {
  status: number
  headers: Headers
  text: string
  json(): any
}

export interface Harness {
  node: Libp2p
  ech: EchNoise
  registry: Registry
  gateway: EchGateway
  url: string
  lines: LogLine[]
  /** Every status line, header and body the gateway answered with */
  transcript: string[]
  request(path: string, init?: RequestOptions): Promise<Exchange>
  stop(): Promise<void>
}

export interface RequestOptions {
  method?: string
  token?: string
  /** Sent as JSON unless a string */
  body?: unknown
  headers?: Record<string, string>
}

export interface HarnessOptions {
  ech?: EchNoiseInit
  gateway?: Partial<Omit<EchGatewayInit, 'libp2p' | 'encrypter'>>
}

export async function createEchNode (init: EchNoiseInit = {}, registry?: Registry): Promise<{ node: Libp2p, ech: EchNoise }> {
  let ech: EchNoise | undefined
  const node = await createLibp2p({
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [(components: any) => {
      ech = echNoise(init)(components)
      return ech
    }],
    streamMuxers: [yamux()],
    datastore: new MemoryDatastore(),
    services: { ping: ping(), identify: identify() },
    ...(registry != null ? { metrics: prometheusMetrics({ registry, collectDefaultMetrics: false }) } : {})
  })
  if (ech == null) { throw new Error('echNoise was not instantiated') }
  return { node, ech }
}

export async function startHarness (options: HarnessOptions = {}): Promise<Harness> {
  const registry = new Registry()
  const { node, ech } = await createEchNode(options.ech, registry)
  const { logger, lines } = recordingLogger()
  const gateway = createEchGateway({
    libp2p: node,
    encrypter: ech,
    tokens: { read: [READ_TOKEN], admin: [ADMIN_TOKEN] },
    metrics: { registry },
    logger,
    env: {},
    // the matrix tests fail on purpose; the rate limit has its own tests
    rateLimit: { maxFailures: 10_000 },
    ...options.gateway
  })
  await gateway.start()
  const transcript: string[] = []
  const harness: Harness = {
    node,
    ech,
    registry,
    gateway,
    url: gateway.url,
    lines,
    transcript,
    request: async (path, init = {}) => {
      const exchange = await request(harness.url, path, init)
      transcript.push(`${exchange.status} ${[...exchange.headers].map(([k, v]) => `${k}: ${v}`).join('\n')}\n${exchange.text}`)
      return exchange
    },
    stop: async () => {
      await gateway.stop()
      await node.stop()
    }
  }
  return harness
}

export async function request (base: string, path: string, init: RequestOptions = {}): Promise<Exchange> {
  const headers: Record<string, string> = { ...init.headers }
  if (init.token != null) { headers.authorization = `Bearer ${init.token}` }
  let body: string | undefined
  if (init.body !== undefined) {
    body = typeof init.body === 'string' ? init.body : JSON.stringify(init.body)
    headers['content-type'] ??= 'application/json'
  }
  const res = await fetch(base + path, { method: init.method ?? 'GET', headers, body, signal: AbortSignal.timeout(10_000) })
  const text = await res.text()
  return { status: res.status, headers: res.headers, text, json: () => JSON.parse(text) }
}

export interface RawResponse {
  /** Everything received, as latin1 text */
  text: string
  /** Status code of the first response, 0 when none came */
  status: number
  /** Whether the server closed the connection before `timeout` */
  closed: boolean
  elapsedMs: number
}

export type RawStep = string | Buffer | { delay: number }

/**
 * Open a TCP connection to the gateway, write `steps` (with pauses), and
 * collect what comes back until the server closes or `timeout` ms pass.
 */
export async function rawRequest (url: string, steps: RawStep[], timeout = 5000): Promise<RawResponse> {
  const { hostname, port } = new URL(url)
  const socket = connect({ host: hostname, port: Number(port) })
  const start = performance.now()
  const chunks: Buffer[] = []
  let closed = false
  socket.on('data', (chunk: Buffer) => { chunks.push(chunk) })
  const done = new Promise<void>(resolve => {
    const timer = setTimeout(resolve, timeout)
    socket.once('close', () => { closed = true; clearTimeout(timer); resolve() })
  })
  socket.on('error', () => {})
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve)
    socket.once('error', reject)
  })
  for (const step of steps) {
    if (closed) { break }
    if (typeof step === 'object' && !Buffer.isBuffer(step)) {
      let timer: ReturnType<typeof setTimeout> | undefined
      await Promise.race([new Promise(resolve => { timer = setTimeout(resolve, step.delay) }), done])
      clearTimeout(timer)
    } else {
      socket.write(step)
    }
  }
  await done
  const elapsedMs = performance.now() - start
  socket.destroy()
  const text = Buffer.concat(chunks).toString('latin1')
  const match = /^HTTP\/1\.1 (\d{3})/.exec(text)
  return { text, status: match != null ? Number(match[1]) : 0, closed, elapsedMs }
}

/** The JSON body of a raw response (after the blank line) */
export function rawJson (response: RawResponse): any {
  const start = response.text.indexOf('\r\n\r\n')
  return JSON.parse(response.text.slice(start + 4))
}

/** Each way a secret could show up in text: hex, base64, base64url and the raw token */
export function secretForms (secret: Uint8Array | string): string[] {
  if (typeof secret === 'string') { return [secret] }
  const buf = Buffer.from(secret)
  return [buf.toString('hex'), buf.toString('base64').replace(/[=]+$/, ''), buf.toString('base64url')]
}
