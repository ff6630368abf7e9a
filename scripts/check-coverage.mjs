/* eslint-disable no-console */
/**
 * Reads the c8 (istanbul JSON) report that `aegir test --cov` writes to
 * .coverage/, prints line coverage per src/ folder, and fails when the
 * config, HPKE or key code falls below the gate.
 */
import fs from 'node:fs'
import path from 'node:path'

const GATE = 95
const GATED = ['config', 'hpke', 'keys']
const report = path.resolve('.coverage', 'coverage-final.json')

if (!fs.existsSync(report)) {
  console.error(`check-coverage: no coverage report at ${report}`)
  process.exit(1)
}

const data = JSON.parse(fs.readFileSync(report, 'utf8'))
const folders = new Map()

for (const [file, cov] of Object.entries(data)) {
  const rel = path.relative(process.cwd(), file).split(path.sep).join('/')
  const match = rel.match(/^(?:dist\/)?src\/(?:([^/]+)\/)?[^/]+\.(?:ts|js)$/)
  if (match == null) { continue }
  const folder = match[1] ?? '.'
  // a line counts as covered when every statement starting on it ran
  const lines = new Map()
  for (const [id, loc] of Object.entries(cov.statementMap)) {
    const line = loc.start.line
    const hit = cov.s[id] > 0
    lines.set(line, (lines.get(line) ?? true) && hit)
  }
  const entry = folders.get(folder) ?? { total: 0, covered: 0, files: [] }
  const total = lines.size
  const covered = [...lines.values()].filter(Boolean).length
  entry.total += total
  entry.covered += covered
  entry.files.push({ rel, total, covered })
  folders.set(folder, entry)
}

let failed = false
console.log('\nline coverage of src/ by folder')
for (const [folder, { total, covered }] of [...folders].sort()) {
  const pct = total === 0 ? 100 : (100 * covered) / total
  const gated = GATED.includes(folder)
  const ok = !gated || pct >= GATE
  if (!ok) { failed = true }
  console.log(`  ${folder.padEnd(12)} ${pct.toFixed(1).padStart(6)} %  (${covered}/${total} lines)${gated ? `  gate ${GATE} % ${ok ? 'ok' : 'FAILED'}` : ''}`)
}
for (const folder of GATED) {
  if (!folders.has(folder)) {
    console.log(`  ${folder}: no files in the report`)
    failed = true
  }
}
if (failed) {
  for (const folder of GATED) {
    for (const f of folders.get(folder)?.files ?? []) {
      if (f.covered < f.total) { console.log(`    ${f.rel}: ${f.covered}/${f.total}`) }
    }
  }
  console.error(`check-coverage: config, HPKE and key code must each have >= ${GATE} % line coverage`)
  process.exit(1)
}
