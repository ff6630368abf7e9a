/**
 * The command-line tool's testable core (the executable is `bin.ts`).
 */
export { run, HELP, PROGRAM, CliUsageError } from './commands.js'
export type { CliIo } from './commands.js'
export { inspectConfigList, formatReport, readInspectInput, CliInputError } from './inspect.js'
export type { InspectInput, InspectReport, InspectedConfig } from './inspect.js'
