/**
 * What the `node` command prints: the start-up summary, then one
 * timestamped stdout line per connection outcome, failed handshake, threat
 * and fetched config record. Its own module so the line formats, which
 * operators grep and tests match, sit in one place apart from running the
 * node.
 */
import { oneLine } from './program.js'
import type { EchNoise } from '../encrypter/ech-noise.js'
import type { EchConnectionInfo, EchHandshakeError, EchThreat } from '../encrypter/types.js'
import type { EchConfigExchange } from '../exchange/index.js'

export interface NodeInfo {
  peerId: string
  addresses: string[]
  /** base64 ECHConfigList */
  configList: string
  gatewayUrl?: string
  dashboardUrl?: string
}

export function timestamp (): string {
  return new Date().toISOString()
}

/**
 * libp2p reports listen failures as one multi-line message with stacks:
 * keep the `ADDR: reason` lines, without the stacks.
 */
export function describeListenError (err: any): string {
  const message = String(err?.message ?? err)
  const reasons = message.split('\n')
    .map(line => /^ {2}(\/\S+): (?:[A-Za-z]*Error: )?(.+)$/.exec(line))
    .filter((m): m is RegExpExecArray => m != null)
    .map(m => `${m[1]}: ${m[2].trim()}`)
  if (reasons.length > 0) {
    return `cannot listen on ${reasons.join('; ')}`
  }
  return `cannot start the node: ${oneLine(message)}`
}

/** One line for a secured connection (`ech:outcome`) */
export function formatOutcome (info: EchConnectionInfo): string {
  const parts = [timestamp(), info.direction, info.outcome]
  if (info.remotePeer != null) { parts.push(`peer=${info.remotePeer.toString()}`) }
  if (info.remoteAddr != null) { parts.push(`addr=${info.remoteAddr.toString()}`) }
  if (info.configId != null) { parts.push(`config=${info.configId}`) }
  if (info.reason != null) { parts.push(`reason=${info.reason}`) }
  if (info.retryConfigsLearned === true) { parts.push('retry-configs=learned') }
  if (info.error != null) { parts.push(`error=${info.error}`) }
  parts.push(`${info.durationMs.toFixed(1)}ms`)
  return parts.join(' ')
}

/** One line for a handshake that threw (`ech:error`) */
export function formatError (info: EchHandshakeError): string {
  const parts = [timestamp(), info.direction, info.outcome === 'failed' ? 'failed' : `${info.outcome}-error`]
  if (info.remotePeer != null) { parts.push(`peer=${info.remotePeer.toString()}`) }
  if (info.remoteAddr != null) { parts.push(`addr=${info.remoteAddr.toString()}`) }
  parts.push(`path=${info.path}`, `error=${info.error}`, `${info.durationMs.toFixed(1)}ms`)
  return parts.join(' ')
}

/** One line for a threat (`ech:threat`) */
export function formatThreat (threat: EchThreat): string {
  const parts = [timestamp(), 'threat', threat.kind, `severity=${threat.severity}`]
  if (threat.remotePeer != null) { parts.push(`peer=${threat.remotePeer.toString()}`) }
  if (threat.remoteAddr != null) { parts.push(`addr=${threat.remoteAddr.toString()}`) }
  parts.push(`count=${threat.count}`)
  if (threat.error != null) { parts.push(`error=${threat.error}`) }
  return parts.join(' ')
}

/** One stdout line per connection outcome, failed handshake, threat and fetched config record */
export function logEvents (encrypter: EchNoise, exchange: EchConfigExchange, write: (line: string) => void): void {
  encrypter.addEventListener('ech:outcome', (evt) => { write(formatOutcome(evt.detail)) })
  encrypter.addEventListener('ech:error', (evt) => { write(formatError(evt.detail)) })
  encrypter.addEventListener('ech:threat', (evt) => { write(formatThreat(evt.detail)) })
  exchange.addEventListener('ech:record-stored', (evt) => {
    write(`${timestamp()} config-record stored peer=${evt.detail.remotePeer.toString()} expires=${new Date(evt.detail.expiresAt).toISOString()}`)
  })
  exchange.addEventListener('ech:record-refused', (evt) => {
    write(`${timestamp()} config-record refused peer=${evt.detail.remotePeer.toString()} error=${evt.detail.error}`)
  })
}

/** What is printed once the node is up, before `ready` */
export function startupLines (info: NodeInfo, encrypter: EchNoise, where: { dataDir: string, identityFile?: string }): string[] {
  const policy = encrypter.policy.getState()
  const lines = [`peer id: ${info.peerId}${where.identityFile != null ? ` (new identity in ${where.identityFile})` : ''}`]
  lines.push(...info.addresses.map(address => `listening: ${address}`))
  lines.push(`ech config list: ${info.configList}`)
  lines.push(`ech mode: ${encrypter.mode}${policy.enabled ? '' : ' (kill switch off: stock Noise only)'}, ` +
    `rollout: ${policy.rolloutPercentage}%${policy.source.rolloutPercentage === 'env' ? ' (from ECH_ROLLOUT_PERCENTAGE)' : ''}`)
  lines.push(`data dir: ${where.dataDir}`)
  if (info.gatewayUrl != null) {
    lines.push(`gateway: ${info.gatewayUrl}`, `dashboard: ${info.dashboardUrl ?? ''}`)
  }
  return lines
}
