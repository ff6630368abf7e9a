/**
 * Command-line options of the benchmark scripts: each `--name VALUE`, also
 * settable as env `BENCH_<NAME>` (dashes as underscores), with a default and
 * a help line; `--help` prints them and exits.
 */
import { parseArgs } from 'node:util'

export type OptionTable = Record<string, { default: string, help: string }>

export interface Options<K extends string> {
  /** The value given on the command line or in the environment, or undefined */
  given(name: K): string | undefined
  /** The value given, or the default */
  option(name: K): string
  /** An integer of at least `min` */
  count(name: K, min: number): number
  /** A comma-separated list, empty items dropped */
  list(name: K): string[]
}

/** Parse `process.argv` against `table`; `usage` is the first line `--help` prints */
export function parseOptions<T extends OptionTable> (usage: string, table: T): Options<keyof T & string> {
  type K = keyof T & string
  const { values } = parseArgs({
    options: {
      ...Object.fromEntries(Object.keys(table).map(k => [k, { type: 'string' as const }])),
      help: { type: 'boolean', short: 'h' }
    }
  })
  if (values.help === true) {
    const width = Math.max(...Object.keys(table).map(k => k.length)) + 2
    process.stdout.write(`${usage}   (each option also as env BENCH_<NAME>, e.g. BENCH_${Object.keys(table)[0].toUpperCase().replace(/-/g, '_')})\n`)
    for (const [name, { default: value, help }] of Object.entries(table)) {
      process.stdout.write(`  --${name.padEnd(width)} ${help}${value === '' ? '' : ` (default ${value})`}\n`)
    }
    process.exit(0)
  }
  const given = (name: K): string | undefined => (values[name] as string | undefined) ?? process.env[`BENCH_${name.toUpperCase().replace(/-/g, '_')}`]
  const option = (name: K): string => given(name) ?? table[name].default
  return {
    given,
    option,
    count: (name, min) => {
      const n = Number(option(name))
      if (!Number.isInteger(n) || n < min) { throw new Error(`--${name} must be an integer >= ${min}`) }
      return n
    },
    list: (name) => option(name).split(',').map(v => v.trim()).filter(v => v !== '')
  }
}
