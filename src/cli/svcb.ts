/**
 * DNS HTTPS/SVCB records in presentation format (RFC 9460 §2.1), as `dig`
 * prints them or a zone file holds them, for `inspect`: just enough to find
 * the `ech` SvcParam (RFC 9848; key 5) and decode its ECHConfigList.
 *
 * Accepted: a whole record (`example.com. 300 IN HTTPS 1 . alpn="h2" ech=…`,
 * `SVCB` too, owner/TTL/class optional) or only its RDATA (`1 . ech=…`).
 * Character strings follow RFC 1035 §5.1: `"…"` quoting, `\X` and `\DDD`
 * escapes; unquoted `;` starts a comment and `(` `)` group lines. SvcParams
 * are `key`, `key=value` or `key="value"` with no space around `=`; keys are
 * the registered names or `keyNNNNN` (RFC 9460 §2.1), so `key5` is `ech`.
 * Every other key is ignored, but a key given twice is an error (RFC 9460
 * §2.2: SvcParamKeys SHALL NOT repeat), `ech` and `key5` counting as one.
 * `key65535` is reserved as invalid (§14.3.2). `ech` needs a non-empty value:
 * canonical padded base64 (RFC 4648 §4). Generic RDATA (`\# …`) is refused.
 */
import { decodeBase64 } from '../config/base64.js'

/** The input is not a well-formed HTTPS/SVCB record, or it carries no usable `ech` */
export class SvcbParseError extends Error {
  static name = 'SvcbParseError'

  constructor (message = 'Invalid HTTPS/SVCB record', options?: ErrorOptions) {
    super(message, options)
    this.name = 'SvcbParseError'
  }
}

/** RFC 9460 §14.3.2: SvcParamKey 5 is `ech` */
export const ECH_SVCPARAM_KEY = 5

const KEY_NAMES: Record<string, number> = {
  mandatory: 0,
  alpn: 1,
  'no-default-alpn': 2,
  port: 3,
  ipv4hint: 4,
  ech: 5,
  ipv6hint: 6,
  dohpath: 7,
  ohttp: 8,
  'tls-supported-groups': 9
}

export interface SvcbRecord {
  /** `HTTPS` or `SVCB` when the type was given, else undefined (RDATA only) */
  type?: 'HTTPS' | 'SVCB'
  /** Owner name, TTL and class as written, when given */
  owner?: string
  priority: number
  targetName: string
  /** Every SvcParam by key number, values unescaped (latin1: one char per byte); undefined: no value */
  params: Map<number, string | undefined>
}

/** One whitespace-separated token: its text with escapes resolved, and whether any part was quoted */
interface Token {
  text: string
  /** `raw` keeps the escapes and quotes, for telling `ech=` apart from `"ech="` */
  raw: string
  quoted: boolean
}

function isSpace (ch: string): boolean {
  return ch === ' ' || ch === '\t' || ch === '\n' || ch === '\r'
}

/** The character of the escape at `input[i]` (a backslash) and how many characters it spans */
function readEscape (input: string, i: number): [string, number] {
  const next = input[i + 1]
  if (next == null) { throw new SvcbParseError('escape "\\" at the end of the record') }
  if (!/[0-9]/.test(next)) {
    return [next, 2]
  }
  const digits = input.slice(i + 1, i + 4)
  if (!/^[0-9]{3}$/.test(digits)) { throw new SvcbParseError(`bad escape "\\${digits}": \\DDD needs three decimal digits`) }
  const value = Number(digits)
  if (value > 255) { throw new SvcbParseError(`bad escape "\\${digits}": more than 255`) }
  return [String.fromCharCode(value), 4]
}

/**
 * Split presentation-format text into tokens (RFC 1035 §5.1). Escapes are
 * resolved here; `\DDD` must be three decimal digits, at most 255.
 */
function tokenize (input: string): Token[] {
  const tokens: Token[] = []
  let i = skipSeparators(input, 0)
  while (i < input.length) {
    const token = readToken(input, i)
    tokens.push(token)
    i = skipSeparators(input, i + token.raw.length)
  }
  return tokens
}

/** `(` and `)` only let a record span lines: outside quotes they separate tokens like whitespace */
function isParenthesis (ch: string): boolean {
  return ch === '(' || ch === ')'
}

/** Past whitespace, parentheses and `;` comments (to the end of their line), to the next token or the end */
function skipSeparators (input: string, i: number): number {
  while (i < input.length) {
    const ch = input[i]
    if (ch === ';') {
      const newline = input.indexOf('\n', i)
      i = newline < 0 ? input.length : newline
    } else if (isSpace(ch) || isParenthesis(ch)) {
      i++
    } else {
      break
    }
  }
  return i
}

/** The token starting at `input[start]`: up to the first separator outside quotes */
function readToken (input: string, start: number): Token {
  let text = ''
  let quoted = false
  let inQuotes = false
  let i = start
  while (i < input.length && (inQuotes || !endsToken(input[i]))) {
    const c = input[i]
    if (c === '"') {
      inQuotes = !inQuotes
      quoted = true
      i++
    } else if (c === '\\') {
      const [ch, used] = readEscape(input, i)
      text += ch
      i += used
    } else {
      text += c
      i++
    }
  }
  if (inQuotes) { throw new SvcbParseError('unterminated quoted string') }
  return { text, raw: input.slice(start, i), quoted }
}

function endsToken (ch: string): boolean {
  return isSpace(ch) || ch === ';' || isParenthesis(ch)
}

/** The key number of a SvcParamKey name (RFC 9460 §2.1: registered names or keyNNNNN) */
function keyNumber (name: string): number {
  const registered = KEY_NAMES[name]
  if (registered != null) { return registered }
  const generic = /^key(0|[1-9][0-9]{0,4})$/.exec(name)
  if (generic == null) {
    throw new SvcbParseError(`unknown SvcParamKey "${name}"`)
  }
  const n = Number(generic[1])
  if (n > 65535) { throw new SvcbParseError(`SvcParamKey "${name}" is out of range`) }
  if (n === 65535) { throw new SvcbParseError('SvcParamKey key65535 is reserved as invalid') }
  return n
}

function keyName (key: number): string {
  return Object.entries(KEY_NAMES).find(([, n]) => n === key)?.[0] ?? `key${key}`
}

const TYPES = new Set(['HTTPS', 'SVCB', 'TYPE64', 'TYPE65'])

/**
 * Whether `text` looks like an HTTPS/SVCB record or its RDATA rather than
 * base64: it names the type, or it starts with a priority and has an `ech`
 * (or `key5`) SvcParam, or at least a priority and a target name.
 */
export function looksLikeSvcb (text: string): boolean {
  const words = text.trim().split(/\s+/)
  if (words.length < 2) { return false }
  if (words.some(w => TYPES.has(w.toUpperCase()))) { return true }
  return /^[0-9]{1,5}$/.test(words[0])
}

/** Parse one HTTPS/SVCB record (or its RDATA) in presentation format */
export function parseSvcbRecord (input: string): SvcbRecord {
  const { type, owner, rdata } = splitAtType(tokenize(input))
  if (rdata[0]?.raw === '\\#') {
    throw new SvcbParseError('generic RDATA (\\#) is not supported: give the record in presentation format')
  }
  if (rdata.length < 2) {
    throw new SvcbParseError('an HTTPS/SVCB record needs SvcPriority and TargetName')
  }
  const [priorityToken, targetToken, ...paramTokens] = rdata
  const priority = parsePriority(priorityToken)
  if (priority === 0 && paramTokens.length > 0) {
    throw new SvcbParseError('an AliasMode record (SvcPriority 0) cannot have SvcParams')
  }
  return { type, owner, priority, targetName: targetToken.text, params: parseParams(paramTokens) }
}

/**
 * The record type and what precedes it (owner, TTL, class), when the type is
 * given, and the RDATA tokens; without a type every token is RDATA.
 */
function splitAtType (tokens: Token[]): { type?: SvcbRecord['type'], owner?: string, rdata: Token[] } {
  const at = tokens.findIndex(t => !t.quoted && TYPES.has(t.text.toUpperCase()))
  if (at < 0) {
    return { type: undefined, owner: undefined, rdata: tokens }
  }
  const name = tokens[at].text.toUpperCase()
  return {
    type: name === 'SVCB' || name === 'TYPE64' ? 'SVCB' : 'HTTPS',
    owner: at > 0 ? tokens.slice(0, at).map(t => t.raw).join(' ') : undefined,
    rdata: tokens.slice(at + 1)
  }
}

function parsePriority (token: Token): number {
  if (!/^[0-9]{1,5}$/.test(token.raw) || Number(token.raw) > 65535) {
    throw new SvcbParseError(`SvcPriority must be an integer 0..65535, got "${token.raw}"`)
  }
  return Number(token.raw)
}

/** SvcParams by key number; a key may appear once, whatever name it is given by */
function parseParams (tokens: Token[]): Map<number, string | undefined> {
  const params = new Map<number, string | undefined>()
  for (const token of tokens) {
    const { key, value } = splitParam(token)
    if (params.has(key)) {
      throw new SvcbParseError(`SvcParamKey ${keyName(key)} appears more than once`)
    }
    params.set(key, value == null ? undefined : tokenize(value.length === 0 ? '""' : value).map(t => t.text).join(''))
  }
  return params
}

/** A `key`, `key=value` or `key="value"` token: the key number and the value as written (undefined: no `=`) */
function splitParam (token: Token): { key: number, value?: string } {
  // the key is never quoted or escaped: RFC 9460 §2.1, SvcParamKey = 1*63(ALPHA / DIGIT / "-")
  const match = /^([a-z0-9-]{1,63})(?:=(.*))?$/s.exec(token.raw)
  if (match == null) {
    throw new SvcbParseError(`malformed SvcParam "${token.raw.length > 40 ? token.raw.slice(0, 40) + '...' : token.raw}"`)
  }
  return { key: keyNumber(match[1]), value: match[2] }
}

/** The ECHConfigList (wire form) in a record's `ech` SvcParam; throws SvcbParseError or EchConfigError */
export function echConfigListFromSvcb (input: string): Uint8Array {
  const record = parseSvcbRecord(input)
  if (!record.params.has(ECH_SVCPARAM_KEY)) {
    throw new SvcbParseError(record.priority === 0 ? 'an AliasMode record (SvcPriority 0) carries no ech' : 'the record has no ech SvcParam')
  }
  const value = record.params.get(ECH_SVCPARAM_KEY)
  if (value == null || value === '') {
    throw new SvcbParseError('the ech SvcParam needs a value (base64 ECHConfigList)')
  }
  return decodeBase64(value, 'ech')
}
