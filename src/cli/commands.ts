/**
 * The `libp2p-noise-ech` command line: `keygen` and `inspect` here, `node`
 * (node.ts) loaded on demand. All of it sits behind `run(argv, io)`, so tests
 * drive it without a process; `bin.ts` only wires it to the real streams.
 *
 * Conventions: stdout carries the result (a base64 ECHConfigList, a report,
 * or PEM only when asked for with `--pem`); a failure is exactly one line on
 * stderr, `libp2p-noise-ech: <what is wrong>`, and exit code 1.
 */
import { open, readFile } from 'node:fs/promises'
import { parseArgs } from 'node:util'
import { echConfigListToBase64 } from '../config/base64.js'
import { supportedKems } from '../hpke/registry.js'
import { DEFAULT_KEM, DEFAULT_PUBLIC_NAME, generateEchKey } from '../keys/generate.js'
import { echKeyToPem } from '../keys/pem.js'
import { formatReport, inspectConfigList, readInspectInput } from './inspect.js'
import { CliUsageError, PROGRAM } from './program.js'
import type { CliIo } from './program.js'

export const HELP = `Usage: ${PROGRAM} <command> [options]

Commands:
  keygen     Make an ECH key: writes a PEM file (PRIVATE KEY + ECHCONFIG,
             mode 0600) and prints its ECHConfigList in base64
  inspect    Show the configs of an ECHConfigList and why any is unusable
  node       Run a libp2p node with ECH-Noise, the config exchange,
             metrics and (optionally) the HTTP gateway

keygen options:
  --public-name NAME   ECHConfig public_name (default ${DEFAULT_PUBLIC_NAME})
  --kem NAME           HPKE KEM: ${supportedKems().map(k => k.name).join(', ')} (default ${DEFAULT_KEM})
  --config-id N        config_id 0..255 (default: random)
  --out FILE           write the key file here (refuses to overwrite)
  --force              overwrite FILE if it exists
  --pem                print the key file (private key included) on stdout
                       instead of the base64 list; only without --out

inspect FILE|BASE64|RECORD [--json]
  FILE is a PEM key file, a binary ECHConfigList, a text file with base64 or
  a DNS HTTPS/SVCB record; anything that is not a file is read as an
  HTTPS/SVCB record in presentation format (e.g. '1 . alpn="h2" ech=AEX+...'
  or a whole 'example.com. 300 IN HTTPS 1 . ech=...' line: its ech= value)
  or else as base64. Private keys are never shown.
  --json               machine-readable output

node --listen MULTIADDR --key FILE [options]
  Runs until SIGINT/SIGTERM (a second one exits at once); prints the peer id,
  addresses and ECHConfigList, then one line per connection and threat.
  --listen MULTIADDR   TCP address to listen on, e.g. /ip4/0.0.0.0/tcp/4001
                       (repeatable, at least one)
  --key FILE           the ECH key: a PEM file written by keygen --out
  --data-dir DIR       peer store, breaker state and identity
                       (default ./libp2p-noise-ech-data, made mode 0700)
  --identity FILE      libp2p identity key (default DIR/identity.key;
                       made, mode 0600, when missing)
  --gateway HOST:PORT  serve the HTTP gateway (well-known configs, status,
                       metrics, dashboard) here; its tokens come from
                       ECH_GATEWAY_READ_TOKENS / ECH_GATEWAY_ADMIN_TOKENS
  --mode MODE          opportunistic (default), require or disabled
  --rollout N          share of peers offered ECH, 0..100 (default 100;
                       ECH_ROLLOUT_PERCENTAGE wins)
  --peer MULTIADDR     dial this peer at start (repeatable)

  -h, --help           show this help
  -v, --version        show the version
`

/** This package's version, from the package.json above this file (src/ or dist/src/) */
async function packageVersion (): Promise<string> {
  let dir = new URL('.', import.meta.url)
  for (let i = 0; i < 5; i++) {
    try {
      const pkg = JSON.parse(await readFile(new URL('package.json', dir), 'utf8'))
      if (pkg.name === PROGRAM) { return pkg.version }
    } catch {
      // no package.json at this level; keep walking up
    }
    dir = new URL('..', dir)
  }
  /* c8 ignore next */
  return 'unknown'
}

function parseConfigId (value: string | undefined): number | undefined {
  if (value == null) { return undefined }
  if (!/^\d{1,3}$/.test(value) || Number(value) > 255) {
    throw new CliUsageError(`--config-id must be an integer 0..255, got "${value}"`)
  }
  return Number(value)
}

/** Write a secret file readable by its owner only; `wx` refuses to clobber an existing key */
async function writeSecretFile (path: string, text: string, force: boolean): Promise<void> {
  let handle
  try {
    handle = await open(path, force ? 'w' : 'wx', 0o600)
  } catch (err: any) {
    if (err?.code === 'EEXIST') {
      throw new CliUsageError(`${path} exists (use --force to overwrite)`)
    }
    throw new CliUsageError(`cannot write ${path}: ${err?.code ?? err?.message}`)
  }
  try {
    // an existing file keeps its old mode on open; tighten it
    await handle.chmod(0o600)
    await handle.writeFile(text, 'utf8')
  } finally {
    await handle.close()
  }
}

async function keygen (args: string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      'public-name': { type: 'string' },
      kem: { type: 'string' },
      'config-id': { type: 'string' },
      out: { type: 'string' },
      force: { type: 'boolean' },
      pem: { type: 'boolean' }
    },
    strict: true,
    allowPositionals: false
  })
  if (values.out == null && values.pem !== true) {
    throw new CliUsageError('keygen needs --out FILE (or --pem to print the private key): the key would be lost')
  }
  if (values.out != null && values.pem === true) {
    throw new CliUsageError('use either --out or --pem, not both')
  }
  const key = await generateEchKey({
    publicName: values['public-name'],
    kem: values.kem,
    configId: parseConfigId(values['config-id'])
  })
  try {
    const pem = echKeyToPem(key)
    if (values.out != null) {
      await writeSecretFile(values.out, pem, values.force === true)
      io.stdout(echConfigListToBase64(key.configList) + '\n')
    } else {
      io.stdout(pem)
    }
  } finally {
    key.privateKey.destroy()
  }
  return 0
}

async function inspect (args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: { json: { type: 'boolean' } },
    strict: true,
    allowPositionals: true
  })
  if (positionals.length !== 1) {
    throw new CliUsageError('inspect takes exactly one FILE, BASE64 or RECORD argument (quote a record)')
  }
  const report = inspectConfigList(await readInspectInput(positionals[0]))
  io.stdout(values.json === true ? JSON.stringify(report, null, 2) + '\n' : formatReport(report))
  return 0
}

/** One line, naming the bad field for config errors, never a stack */
function describeError (err: any): string {
  let message = String(err?.message ?? err)
  if (err?.name === 'EchConfigError' && typeof err.field === 'string') {
    message = `invalid ECH config (${err.field}): ${message}`
  }
  return message.replace(/\s*\n\s*/g, ' ')
}

/** Run the CLI; returns the exit code */
export async function run (argv: string[], io: CliIo): Promise<number> {
  try {
    const [command, ...rest] = argv
    switch (command) {
      case 'keygen':
        return await keygen(rest, io)
      case 'inspect':
        return await inspect(rest, io)
      case 'node': {
        // loaded on demand: keygen and inspect do not pay for libp2p
        const { nodeCommand } = await import('./node.js')
        return await nodeCommand(rest, io)
      }
      case '-h':
      case '--help':
      case 'help':
        io.stdout(HELP)
        return 0
      case '-v':
      case '--version':
        io.stdout(`${await packageVersion()}\n`)
        return 0
      case undefined:
        throw new CliUsageError('missing command (try --help)')
      default:
        throw new CliUsageError(`unknown command "${command}" (try --help)`)
    }
  } catch (err: any) {
    io.stderr(`${PROGRAM}: ${describeError(err)}\n`)
    return 1
  }
}
