/**
 * The `node` command's state on disk, turned into `CliUsageError`s that name
 * the file and the reason: the data directory (0700), the libp2p identity
 * (`identity.key`, protobuf-encoded private key, 0600) so the peer id
 * survives restarts, the ECH key file, and the LevelDB datastore (peer
 * store, the policy's circuit breakers). Secret files open to other users
 * are warned about, never refused.
 */
import { mkdir, open, readFile, stat } from 'node:fs/promises'
import { CliUsageError, PROGRAM, errorCode, oneLine } from './program.js'
import type { CliIo } from './program.js'
import type { EchKey } from '../keys/generate.js'
import type { PrivateKey } from '@libp2p/interface'

export const IDENTITY_FILE = 'identity.key'
export const DATASTORE_DIR = 'datastore'

/** The data directory, made 0700 when it does not exist */
export async function prepareDataDir (dir: string, io: CliIo): Promise<void> {
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 })
    const info = await stat(dir)
    if (!info.isDirectory()) {
      throw new CliUsageError(`--data-dir ${dir} is not a directory`)
    }
    if ((info.mode & 0o077) !== 0 && process.platform !== 'win32') {
      io.stderr(`${PROGRAM}: warning: data directory ${dir} is accessible to other users (mode ${(info.mode & 0o777).toString(8)}); chmod 700 it\n`)
    }
  } catch (err: any) {
    if (err instanceof CliUsageError) { throw err }
    throw new CliUsageError(`cannot create data directory ${dir}: ${errorCode(err)}`)
  }
}

/**
 * The node's identity: read from `file`, or made (Ed25519) and written there
 * with mode 0600 when the file does not exist.
 */
export async function loadOrCreateIdentity (file: string, io: CliIo): Promise<{ privateKey: PrivateKey, created: boolean }> {
  const { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } = await import('@libp2p/crypto/keys')
  let bytes: Uint8Array | undefined
  try {
    bytes = await readFile(file)
  } catch (err: any) {
    if (err?.code !== 'ENOENT') {
      throw new CliUsageError(`cannot read identity file ${file}: ${errorCode(err)}`)
    }
  }
  if (bytes != null) {
    try {
      const privateKey = privateKeyFromProtobuf(bytes)
      await warnIfExposed(file, 'identity file', io)
      return { privateKey, created: false }
    } catch (err: any) {
      throw new CliUsageError(`invalid identity file ${file}: ${oneLine(err?.message ?? err)}`)
    } finally {
      bytes.fill(0)
    }
  }
  const privateKey = await generateKeyPair('Ed25519')
  const encoded = privateKeyToProtobuf(privateKey)
  let handle
  try {
    // `wx`: never clobber an identity another process just wrote
    handle = await open(file, 'wx', 0o600)
    await handle.chmod(0o600)
    await handle.writeFile(encoded)
  } catch (err: any) {
    throw new CliUsageError(`cannot write identity file ${file}: ${errorCode(err)}`)
  } finally {
    encoded.fill(0)
    await handle?.close()
  }
  return { privateKey, created: true }
}

/** Warn (never fail) when a secret file is open to the group or others */
async function warnIfExposed (file: string, what: string, io: CliIo): Promise<void> {
  if (process.platform === 'win32') { return }
  const mode = (await stat(file).catch(() => undefined))?.mode
  if (mode != null && (mode & 0o077) !== 0) {
    io.stderr(`${PROGRAM}: warning: ${what} ${file} is readable by other users (mode ${(mode & 0o777).toString(8)}); chmod 600 it\n`)
  }
}

export async function loadEchKey (file: string, io: CliIo): Promise<EchKey> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (err: any) {
    throw new CliUsageError(`cannot read key file ${file}: ${errorCode(err)}`)
  }
  const { loadEchKeyFromPem } = await import('../keys/pem.js')
  let key
  try {
    key = await loadEchKeyFromPem(text)
  } catch (err: any) {
    const cause = err?.cause?.message != null ? ` (${oneLine(err.cause.message)})` : ''
    throw new CliUsageError(`invalid key file ${file}: ${oneLine(err?.message ?? err)}${cause}`)
  }
  // only for a key that is worth protecting: bad input stays one line
  await warnIfExposed(file, 'key file', io)
  return key
}

/** Open the LevelDB datastore, telling a locked directory apart from other failures */
export async function openDatastore<T extends { db: { open(): Promise<void> } }> (datastore: T, dataDir: string): Promise<T> {
  try {
    // the Level instance itself: `LevelDatastore.open()` flattens the error and loses its cause
    await datastore.db.open()
  } catch (err: any) {
    throw new CliUsageError(err?.cause?.code === 'LEVEL_LOCKED'
      ? `data directory ${dataDir} is in use by another node`
      : `cannot open the datastore in ${dataDir}: ${oneLine(err?.cause?.message ?? err?.message ?? err)}`)
  }
  return datastore
}
