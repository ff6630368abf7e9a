import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { expect } from 'aegir/chai'
import { run } from '../../src/cli/commands.js'
import { decodeBase64 } from '../../src/config/base64.js'
import { parseEchConfigList, encodeEchConfigList } from '../../src/config/codec.js'
import { createEchConfig } from '../../src/config/create.js'
import { encodeEchPem } from '../../src/config/pem.js'
import { serializeEchConfig } from '../../src/config/serialize.js'
import { generateEchKey } from '../../src/keys/generate.js'
import { echKeyFromPem, echKeyToPem } from '../../src/keys/pem.js'

interface Result { code: number, stdout: string, stderr: string }

async function cli (...argv: string[]): Promise<Result> {
  let stdout = ''
  let stderr = ''
  const code = await run(argv, { stdout: t => { stdout += t }, stderr: t => { stderr += t } })
  return { code, stdout, stderr }
}

/** Bad input: exit 1, nothing on stdout, exactly one prefixed line on stderr */
function expectUsageFailure (result: Result): void {
  expect(result.code).to.equal(1)
  expect(result.stdout).to.equal('')
  expect(result.stderr).to.match(/^libp2p-noise-ech: [^\n]+\n$/)
}

/** A list of one usable config and three unusable ones, one per skip reason */
function mixedList (): Uint8Array {
  const usable = createEchConfig({ configId: 1, kemId: 0x20, publicKey: new Uint8Array(32).fill(1), cipherSuites: [{ kdfId: 1, aeadId: 1 }], publicName: 'ok.example' })
  const unknownKem = createEchConfig({ configId: 2, kemId: 0x11, publicKey: new Uint8Array(97).fill(2), cipherSuites: [{ kdfId: 2, aeadId: 2 }], publicName: 'p384.example' })
  const mandatory = createEchConfig({
    configId: 3,
    kemId: 0x20,
    publicKey: new Uint8Array(32).fill(3),
    cipherSuites: [{ kdfId: 1, aeadId: 3 }],
    publicName: 'ext.example',
    extensions: [{ type: 0xfe01, data: Uint8Array.of(0xab) }, { type: 0x0002, data: new Uint8Array(0) }]
  })
  // public_name with an escape character: the wire format carries it, clients must skip it
  const hostileName = serializeEchConfig({ configId: 4, kemId: 0x20, publicKey: new Uint8Array(32).fill(4), cipherSuites: [{ kdfId: 1, aeadId: 1 }], publicName: 'a\x1b[31mb\\' })
  // RFC 9849 §4: an unknown version is skipped by its length
  const futureVersion = Uint8Array.of(0xfe, 0x0e, 0x00, 0x02, 0xaa, 0xbb)
  const body = new Uint8Array([...encodeEchConfigList([usable, unknownKem, mandatory]).subarray(2), ...hostileName, ...futureVersion])
  return new Uint8Array([body.length >> 8, body.length & 0xff, ...body])
}

describe('cli/commands', () => {
  let dir: string

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'noise-ech-cli-'))
  })

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true })
  })

  it('prints help and version', async () => {
    for (const flag of ['--help', '-h', 'help']) {
      const help = await cli(flag)
      expect(help.code).to.equal(0)
      expect(help.stdout).to.include('keygen').and.include('inspect')
      expect(help.stderr).to.equal('')
    }
    // ../../ from test/cli, ../../../ from dist/test/cli
    const pkgText = await readFile(new URL('../../package.json', import.meta.url), 'utf8')
      .catch(async () => readFile(new URL('../../../package.json', import.meta.url), 'utf8'))
    const pkg = JSON.parse(pkgText)
    for (const flag of ['--version', '-v']) {
      expect(await cli(flag)).to.deep.equal({ code: 0, stdout: `${pkg.version}\n`, stderr: '' })
    }
  })

  it('fails on a missing or unknown command', async () => {
    expectUsageFailure(await cli())
    expectUsageFailure(await cli('frobnicate'))
  })

  it('keygen writes a 0600 PEM file and prints the base64 config list', async () => {
    const out = join(dir, 'key.pem')
    const result = await cli('keygen', '--public-name', 'cli.example.com', '--config-id', '42', '--out', out)
    expect(result.code).to.equal(0)
    expect(result.stderr).to.equal('')
    expect((await stat(out)).mode & 0o777).to.equal(0o600)
    const pem = await readFile(out, 'utf8')
    const key = echKeyFromPem(pem)
    expect(key.config.configId).to.equal(42)
    expect(key.config.publicName).to.equal('cli.example.com')
    expect(decodeBase64(result.stdout)).to.equalBytes(key.configList)
    expect(result.stdout).to.not.include('PRIVATE')
  })

  it('keygen refuses to overwrite a key unless --force', async () => {
    const out = join(dir, 'key.pem')
    await writeFile(out, 'old', { mode: 0o644 })
    expectUsageFailure(await cli('keygen', '--out', out))
    expect(await readFile(out, 'utf8')).to.equal('old')
    const forced = await cli('keygen', '--out', out, '--force')
    expect(forced.code).to.equal(0)
    expect((await stat(out)).mode & 0o777).to.equal(0o600)
    expect(echKeyFromPem(await readFile(out, 'utf8')).config.publicName).to.equal('libp2p.invalid')
  })

  it('keygen --pem prints the key file on stdout', async () => {
    const result = await cli('keygen', '--pem', '--kem', 'x25519')
    expect(result.code).to.equal(0)
    expect(result.stdout).to.match(/^-----BEGIN PRIVATE KEY-----/)
    expect(echKeyFromPem(result.stdout).config.kemId).to.equal(0x20)
  })

  it('keygen --kem x-wing writes a usable key file that inspect reads', async () => {
    const out = join(dir, 'pq.pem')
    const result = await cli('keygen', '--kem', 'x-wing', '--config-id', '42', '--out', out)
    expect(result.code).to.equal(0, result.stderr)
    expect((await stat(out)).mode & 0o777).to.equal(0o600)
    const list = parseEchConfigList(decodeBase64(result.stdout.trim()))
    expect(list.usable).to.have.lengthOf(1)
    expect(list.usable[0]).to.deep.include({ configId: 42, kemId: 0x647a })
    expect(list.usable[0].publicKey).to.have.lengthOf(1216)

    const key = echKeyFromPem(await readFile(out, 'utf8'))
    expect(key.config.kemId).to.equal(0x647a)
    expect(key.configList).to.equalBytes(decodeBase64(result.stdout.trim()))

    const text = await cli('inspect', out)
    expect(text.code).to.equal(0, text.stderr)
    expect(text.stdout).to.include('1 config, 1 usable')
    expect(text.stdout).to.include('private key: present (X-Wing, algorithm 1.3.6.1.4.1.62253.25722), not shown')
    expect(text.stdout).to.include('kem: x-wing (0x647a)')
    expect(text.stdout).to.include(Buffer.from(key.config.publicKey).toString('hex'))
    const secret = key.privateKey.exportSecret()
    expect(text.stdout).to.not.include(Buffer.from(secret).toString('hex'))

    const json = JSON.parse((await cli('inspect', '--json', out)).stdout)
    expect(json.privateKey).to.deep.equal({ present: true, algorithm: '1.3.6.1.4.1.62253.25722', name: 'X-Wing' })
    expect(json.configs[0].kem).to.deep.equal({ id: '0x647a', name: 'x-wing' })
  })

  it('inspect names only the key algorithms it knows', async () => {
    const key = await generateEchKey()
    // an Ed25519 PKCS#8 key (RFC 8410 §10.3): not an ECH KEM key
    const ed25519 = Uint8Array.from([
      0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
      ...new Uint8Array(32).fill(1)
    ])
    const out = join(dir, 'ed.pem')
    await writeFile(out, encodeEchPem({ privateKeyPkcs8: ed25519, configList: key.configList }))
    expect((await cli('inspect', out)).stdout).to.include('private key: present (algorithm 1.3.101.112), not shown')
    expect(JSON.parse((await cli('inspect', '--json', out)).stdout).privateKey).to.deep.equal({ present: true, algorithm: '1.3.101.112' })
    await writeFile(join(dir, 'x.pem'), echKeyToPem(key))
    expect((await cli('inspect', join(dir, 'x.pem'))).stdout).to.include('private key: present (X25519, algorithm 1.3.101.110), not shown')
  })

  it('keygen --kem x-wing --pem prints an X-Wing key file; help lists the KEMs', async () => {
    const result = await cli('keygen', '--pem', '--kem', 'x-wing')
    expect(result.code).to.equal(0, result.stderr)
    expect(echKeyFromPem(result.stdout).config.kemId).to.equal(0x647a)
    expect((await cli('--help')).stdout).to.include('--kem NAME           HPKE KEM: x25519, x-wing (default x25519)')
  })

  it('keygen refuses bad input with one line', async () => {
    const cases = [
      ['keygen'],
      ['keygen', '--pem', '--out', join(dir, 'x.pem')],
      ['keygen', '--pem', '--config-id', '256'],
      ['keygen', '--pem', '--config-id', '-1'],
      ['keygen', '--pem', '--config-id', 'abc'],
      ['keygen', '--pem', '--kem', 'p-256-nope'],
      ['keygen', '--pem', '--public-name', '10.0.0.1'],
      ['keygen', '--pem', '--bogus'],
      ['keygen', '--pem', 'extra'],
      ['keygen', '--out', join(dir, 'missing', 'dir', 'key.pem')]
    ]
    for (const argv of cases) {
      const result = await cli(...argv)
      expectUsageFailure(result)
    }
  })

  it('inspect reads PEM, binary, base64 files and base64 arguments alike', async () => {
    const key = await generateEchKey({ publicName: 'inspect.example.com', configId: 9 })
    const pem = echKeyToPem(key)
    const b64 = Buffer.from(key.configList).toString('base64')
    await writeFile(join(dir, 'k.pem'), pem)
    await writeFile(join(dir, 'k.bin'), key.configList)
    await writeFile(join(dir, 'k.txt'), `${b64}\n`)
    const outputs: Record<string, string> = {}
    for (const arg of [join(dir, 'k.pem'), join(dir, 'k.bin'), join(dir, 'k.txt'), b64]) {
      const result = await cli('inspect', arg)
      expect(result.code).to.equal(0, result.stderr)
      expect(result.stdout).to.include('config_id: 9')
      expect(result.stdout).to.include('public_name: inspect.example.com')
      expect(result.stdout).to.include(Buffer.from(key.config.publicKey).toString('hex'))
      expect(result.stdout).to.include('HKDF-SHA256/AES-128-GCM (0x0001,0x0001)')
      outputs[arg] = result.stdout
    }
    expect(outputs[join(dir, 'k.pem')]).to.include('private key: present')
    expect(outputs[join(dir, 'k.bin')]).to.include('(binary, ')
    expect(outputs[b64]).to.include('(base64, ')
    // the secret appears nowhere, in any encoding we could print
    const secret = key.privateKey.exportSecret()
    for (const text of Object.values(outputs)) {
      expect(text).to.not.include(Buffer.from(secret).toString('hex'))
      expect(text).to.not.include(Buffer.from(secret).toString('base64').slice(0, 20))
    }
  })

  it('inspect --json reports every config and why any is unusable', async () => {
    const list = mixedList()
    await writeFile(join(dir, 'mixed.bin'), list)
    const result = await cli('inspect', '--json', join(dir, 'mixed.bin'))
    expect(result.code).to.equal(0, result.stderr)
    const report = JSON.parse(result.stdout)
    expect(report.source).to.equal('binary')
    expect(report.length).to.equal(list.length)
    expect(report.usable).to.equal(1)
    expect(report.privateKey).to.be.undefined()
    expect(report.configs.map((c: any) => c.skipReason?.code)).to.deep.equal([
      undefined, 'unsupported-kem', 'mandatory-extension', 'invalid-public-name', 'unsupported-version'
    ])
    expect(report.configs[0]).to.deep.include({ configId: 1, version: '0xfe0d', usable: true, publicName: 'ok.example', maximumNameLength: 0, extensions: [] })
    expect(report.configs[0].kem).to.deep.equal({ id: '0x0020', name: 'x25519' })
    expect(report.configs[1].kem).to.deep.equal({ id: '0x0011', name: 'DHKEM(P-384, HKDF-SHA384)' })
    expect(report.configs[1].cipherSuites).to.deep.equal([{ kdf: { id: '0x0002', name: 'HKDF-SHA384' }, aead: { id: '0x0002', name: 'AES-256-GCM' } }])
    expect(report.configs[2].extensions).to.deep.equal([
      { type: '0xfe01', mandatory: true, data: 'ab' }, { type: '0x0002', mandatory: false, data: '' }
    ])
    expect(report.configs[4]).to.deep.equal({
      index: 4, version: '0xfe0e', length: 2, usable: false, skipReason: report.configs[4].skipReason
    })
    expect(parseEchConfigList(list).entries).to.have.lengthOf(5)
  })

  it('inspect explains unusable configs in text and escapes hostile names', async () => {
    const b64 = Buffer.from(mixedList()).toString('base64')
    const result = await cli('inspect', b64)
    expect(result.code).to.equal(0)
    expect(result.stdout).to.include('5 configs, 1 usable')
    expect(result.stdout).to.include('config 1: unusable: unsupported-kem')
    expect(result.stdout).to.include('config 4: unusable: unsupported-version')
    expect(result.stdout).to.include('0xfe01 (mandatory): ab')
    expect(result.stdout).to.include('0x0002: (empty)')
    expect(result.stdout).to.include('public_name: a\\x1b[31mb\\\\')
    // eslint-disable-next-line no-control-regex
    expect(result.stdout).to.not.match(/\x1b/)
  })

  it('inspect refuses bad input with one line', async () => {
    await writeFile(join(dir, 'bad.pem'), '-----BEGIN ECHCONFIG-----\nAAA=\n-----END ECHCONFIG-----\n')
    await writeFile(join(dir, 'bad.txt'), 'not base64 at all!\n')
    const cases = [
      ['inspect'],
      ['inspect', 'a', 'b'],
      ['inspect', 'not base64!'],
      ['inspect', 'x'.repeat(100) + '!'],
      ['inspect', 'AAEC'],
      ['inspect', join(dir, 'bad.pem')],
      ['inspect', join(dir, 'bad.txt')],
      ['inspect', '--yaml', 'AAEC']
    ]
    for (const argv of cases) {
      expectUsageFailure(await cli(...argv))
    }
    const named = await cli('inspect', 'AAEC')
    expect(named.stderr).to.include('(ECHConfigList.length)')
  })
})
