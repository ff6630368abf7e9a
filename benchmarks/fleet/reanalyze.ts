/**
 * The fleet's analysis again, from a run's raw reports (`npm run fleet --
 * --raw FILE`): for changing the analysis without running the fleet again.
 *
 * Run: `npx tsx benchmarks/fleet/reanalyze.ts --raw raw.json [--out summary.json]`.
 */
/* eslint-disable no-console */
import { readFileSync, writeFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { analyze } from './lib/analyze.js'
import type { RunData } from './lib/analyze.js'

const { values } = parseArgs({ options: { raw: { type: 'string' }, out: { type: 'string' } } })
if (values.raw == null) { throw new Error('usage: reanalyze --raw raw.json [--out summary.json]') }
const raw = JSON.parse(readFileSync(values.raw, 'utf8'))
// raw files of runs before the queries were collected have none
const data: RunData = { queries: [], ...raw, peerIndex: new Map(raw.peerIndex), ipIndex: new Map(raw.ipIndex) }
const { series, ...summary } = analyze(data)
const text = JSON.stringify(summary, null, 2)
if (values.out != null) { writeFileSync(values.out, text + '\n') } else { console.log(text) }
