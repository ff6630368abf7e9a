/**
 * What every command of the `libp2p-noise-ech` command line shares: the
 * program name that prefixes each error line, the output streams, and the
 * error that means "bad input, say it in one line". It has a module of its
 * own so that `commands.ts` (which loads `node.ts` on demand) and the `node`
 * command's files never import each other.
 */

export const PROGRAM = 'libp2p-noise-ech'

export interface CliIo {
  stdout(text: string): void
  stderr(text: string): void
}

/** A problem with the user's input: reported as one line, no stack */
export class CliUsageError extends Error {
  static name = 'CliUsageError'

  constructor (message = 'Invalid command line', options?: ErrorOptions) {
    super(message, options)
    this.name = 'CliUsageError'
  }
}

/** The first line of a message: libp2p and node errors can carry stacks or multi-line details */
export function oneLine (text: unknown): string {
  return String(text).split('\n')[0].trim()
}

/** A file system or socket error's code (`ENOENT`, `EACCES`, …), else the first line of its message */
export function errorCode (err: any): string {
  return err?.code ?? oneLine(err?.message ?? err)
}
