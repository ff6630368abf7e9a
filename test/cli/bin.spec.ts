import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { expect } from 'aegir/chai'
import { decodeBase64 } from '../../src/config/base64.js'
import { parseEchConfigList } from '../../src/config/codec.js'

// run from test/ via tsx, or from dist/test/ after `aegir build`
const here = fileURLToPath(new URL('../..', import.meta.url))
const tsBin = join(here, 'src', 'cli', 'bin.ts')
const root = existsSync(tsBin) ? here : join(here, '..')
const command = existsSync(tsBin) ? ['--import', 'tsx', tsBin] : [join(here, 'src', 'cli', 'bin.js')]

interface Result { code: number, stdout: string, stderr: string }

/** The real executable: through tsx from source, or the built file */
async function spawnCli (...args: string[]): Promise<Result> {
  return new Promise(resolve => {
    execFile(process.execPath, [...command, ...args], { cwd: root, timeout: 30_000 }, (err: any, stdout, stderr) => {
      resolve({ code: err == null ? 0 : err.code, stdout, stderr })
    })
  })
}

describe('cli/bin (spawned)', function () {
  this.timeout(60_000)
  let dir: string

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'noise-ech-bin-'))
  })

  after(async () => {
    await rm(dir, { recursive: true, force: true })
  })

  it('keygen then inspect', async () => {
    const out = join(dir, 'node.pem')
    const keygen = await spawnCli('keygen', '--public-name', 'bin.example.com', '--out', out)
    expect(keygen.code).to.equal(0, keygen.stderr)
    expect(keygen.stderr).to.equal('')
    expect((await stat(out)).mode & 0o777).to.equal(0o600)
    const [config] = parseEchConfigList(decodeBase64(keygen.stdout)).usable

    const inspect = await spawnCli('inspect', out, '--json')
    expect(inspect.code).to.equal(0, inspect.stderr)
    const report = JSON.parse(inspect.stdout)
    expect(report.configs[0].configId).to.equal(config.configId)
    expect(report.configs[0].publicName).to.equal('bin.example.com')
    expect(report.privateKey.present).to.be.true()
  })

  it('bad input: exit 1, one stderr line, no stack', async () => {
    const result = await spawnCli('inspect', 'AAEC')
    expect(result.code).to.equal(1)
    expect(result.stdout).to.equal('')
    expect(result.stderr).to.match(/^libp2p-noise-ech: [^\n]+\n$/)
    expect(result.stderr).to.not.match(/\bat .+:\d+:\d+/)
  })
})
