/* eslint-disable no-console */
/**
 * The matrix's results: each row checked against interop/expectations.ts
 * as it is recorded, printed as a table at the end and written with
 * `--json FILE` as an array of `{ implementation, version, row, direction,
 * outcome, ok, ms, expected, pass, detail }`, and with `--markdown FILE` as
 * the table docs/INTEROP.md shows.
 */
import { writeFileSync } from 'node:fs'
import { expectationFor } from '../expectations.js'
import { round } from './js-node.js'
import type { Expectation } from '../expectations.js'
import type { JsNode, JsNodeOptions } from './js-node.js'

export interface RowResult {
  implementation: string
  version: string
  row: string
  direction: string
  /** What our side recorded (ECH outcome, error name, a sequence of them) or the probe's result */
  outcome: string
  /** The connection worked (ping + echo), or the probe's handshake went on */
  ok: boolean
  /** Handshake (connection establishment) time, ms, when there was one */
  ms: number | null
  expected?: Expectation
  /** The result matches the expectation */
  pass: boolean
  detail?: Record<string, unknown>
}

export type NewRow = Omit<RowResult, 'pass' | 'expected'>

/** What the row functions get from the runner */
export interface Harness {
  echoBytes: number
  jsNode(opts: JsNodeOptions): Promise<JsNode>
  stopJs(n: JsNode): Promise<void>
  /** `extraPass`: a check of the row's own beyond the expectation table */
  record(r: NewRow, extraPass?: boolean): void
  /** Whether `--rows` selects this row */
  wantRow(row: string): boolean
}

/** Where a result differs from its expectation (empty: it matches) */
function differences (r: NewRow, expected: Expectation | undefined): string[] {
  // a row nobody wrote an expectation for cannot pass: it would pass whatever it shows
  if (expected == null) { return ['no expectation'] }
  const out: string[] = []
  if (expected.ok !== r.ok) { out.push('ok') }
  if (expected.outcome != null && expected.outcome !== r.outcome) { out.push('outcome') }
  if (expected.dialsUntilSuccess !== undefined && expected.dialsUntilSuccess !== (r.detail?.dialsUntilSuccess ?? null)) { out.push('dialsUntilSuccess') }
  if (expected.failedDials !== undefined && expected.failedDials !== r.detail?.failedDials) { out.push('failedDials') }
  return out
}

export class Results {
  readonly rows: RowResult[] = []

  record (r: NewRow, extraPass = true): void {
    const expected = expectationFor(r.row, r.implementation)
    const differs = differences(r, expected)
    const pass = extraPass && differs.length === 0
    this.rows.push({ ...r, expected, pass })
    const mark = pass ? 'pass' : 'FAIL'
    const why = pass ? '' : ` differs=${differs.join(',') || 'row check'} expected=${JSON.stringify(expected)} detail=${JSON.stringify(r.detail)?.slice(0, 600)}`
    process.stderr.write(`[${mark}] ${r.implementation} ${r.row} ${r.direction}: ok=${r.ok} outcome=${r.outcome} ms=${r.ms ?? '-'}${why}\n`)
  }

  get allPass (): boolean {
    return this.rows.every(r => r.pass)
  }

  print (startedAt: number, unhandled: string[]): void {
    const cols = ['implementation', 'version', 'row', 'direction', 'outcome', 'ok', 'ms', 'expected', 'pass'] as const
    const rows = this.rows.map(r => [r.implementation, r.version, r.row, r.direction, r.outcome, String(r.ok), r.ms == null ? '-' : String(r.ms),
      r.expected == null ? '-' : describe(r.expected), r.pass ? 'pass' : 'FAIL'])
    const widths = cols.map((c, i) => Math.min(60, Math.max(c.length, ...rows.map(r => r[i].length))))
    const fmt = (cells: string[]): string => cells.map((c, i) => c.length > widths[i] ? c.slice(0, widths[i] - 1) + '…' : c.padEnd(widths[i])).join(' | ')
    console.log(fmt([...cols]))
    console.log(widths.map(w => '-'.repeat(w)).join('-|-'))
    for (const r of rows) { console.log(fmt(r)) }
    const failed = this.rows.filter(r => !r.pass)
    console.log(`\n${this.rows.length - failed.length} passed, ${failed.length} failed (matrix ran in ${round((Date.now() - startedAt) / 1000)} s)`)
    if (unhandled.length > 0) { console.log(`unhandled errors during the run: ${unhandled.length}\n${unhandled.slice(0, 3).join('\n')}`) }
  }

  writeMarkdown (file: string): void {
    const lines = [
      '| implementation | version | row | direction | outcome | ok | handshake ms | dials until success / failed | matches expectation |',
      '| --- | --- | --- | --- | --- | --- | --- | --- | --- |'
    ]
    for (const r of this.rows) {
      const dials = r.detail?.failedDials === undefined ? '–' : `${String(r.detail.dialsUntilSuccess ?? 'none')} / ${String(r.detail.failedDials)}`
      const cells = [r.implementation, r.version, r.row, r.direction, `\`${r.outcome}\``, String(r.ok), r.ms == null ? '–' : String(r.ms), dials, r.pass ? 'yes' : '**no**']
      lines.push(`| ${cells.map(cell).join(' | ')} |`)
    }
    writeFileSync(file, lines.join('\n') + '\n')
  }

  writeJson (file: string): void {
    writeFileSync(file, JSON.stringify(this.rows.map(r => ({
      implementation: r.implementation, version: r.version, row: r.row, direction: r.direction, outcome: r.outcome, ok: r.ok, ms: r.ms, expected: r.expected, pass: r.pass, detail: r.detail
    })), null, 2))
  }
}

/** A Markdown table cell: pipes escaped, sequences kept on one line */
function cell (s: string): string {
  return s.replaceAll('|', '\\|')
}

function describe (e: Expectation): string {
  return `ok=${e.ok}${e.outcome != null ? ` ${e.outcome}` : ''}${e.dialsUntilSuccess !== undefined ? ` n=${e.dialsUntilSuccess}` : ''}${e.failedDials !== undefined ? ` failed=${e.failedDials}` : ''}`
}
