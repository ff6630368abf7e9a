#!/usr/bin/env node
/**
 * The `libp2p-noise-ech` executable; everything else is in `commands.ts`.
 */
import { run } from './commands.js'

process.exitCode = await run(process.argv.slice(2), {
  stdout: text => { process.stdout.write(text) },
  stderr: text => { process.stderr.write(text) }
})
