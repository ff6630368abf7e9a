import { spawn } from 'node:child_process'
import { EventEmitter } from 'node:events'
import { existsSync } from 'node:fs'
import { chmod, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { expect } from 'aegir/chai'
import { run } from '../../src/cli/commands.js'
import { parseNodeArgs } from '../../src/cli/node-options.js'
import { describeListenError } from '../../src/cli/node-output.js'
import { nodeCommand, runNode } from '../../src/cli/node.js'
import { ECH_PEER_STORE_KEY } from '../../src/config/peer-store.js'
import { createTestNode, nextEchEvent, stopAll } from '../fixtures/nodes.js'
import type { NodeInfo } from '../../src/cli/node-output.js'
import type { NodeProcess } from '../../src/cli/node.js'
import type { TestNode } from '../fixtures/nodes.js'
import type { Server } from 'node:net'

interface Result { code: number, stdout: string, stderr: string }

async function cli (...argv: string[]): Promise<Result> {
  let stdout = ''
  let stderr = ''
  const code = await run(argv, { stdout: t => { stdout += t }, stderr: t => { stderr += t } })
  return { code, stdout, stderr }
}

/** Bad input: exit 1, exactly one prefixed line on stderr, nothing started */
function expectUsageFailure (result: Result, pattern?: RegExp): void {
  expect(result.code).to.equal(1, result.stdout)
  expect(result.stdout).to.equal('')
  expect(result.stderr).to.match(/^libp2p-noise-ech: [^\n]+\n$/)
  if (pattern != null) {
    expect(result.stderr).to.match(pattern)
  }
}

interface RunningNode {
  info: NodeInfo
  stdout(): string
  stderr(): string
  /** Abort and wait for the exit code */
  stop(): Promise<number>
  /** Resolves when a stdout line matches */
  waitFor(pattern: RegExp, timeout?: number): Promise<string>
}

/** `runNode` in-process; the environment is empty so the host's ECH_* variables do not leak in */
async function startNode (args: string[], env: Record<string, string | undefined> = {}): Promise<RunningNode> {
  let stdout = ''
  let stderr = ''
  const lines = new EventEmitter()
  const controller = new AbortController()
  let ready!: (info: NodeInfo) => void
  const readyPromise = new Promise<NodeInfo>(resolve => { ready = resolve })
  const done = runNode({ ...parseNodeArgs(args), env }, {
    stdout: t => { stdout += t; lines.emit('line') },
    stderr: t => { stderr += t }
  }, { signal: controller.signal, onReady: ready })
  const info = await Promise.race([readyPromise, done.then(code => { throw new Error(`node exited with ${code}: ${stderr}`) })])
  return {
    info,
    stdout: () => stdout,
    stderr: () => stderr,
    stop: async () => {
      controller.abort()
      return done
    },
    waitFor: async (pattern, timeout = 10_000) => new Promise((resolve, reject) => {
      const check = (): void => {
        const line = stdout.split('\n').find(l => pattern.test(l))
        if (line != null) {
          clearTimeout(timer)
          lines.off('line', check)
          resolve(line)
        }
      }
      const timer = setTimeout(() => {
        lines.off('line', check)
        reject(new Error(`no line matching ${pattern} in:\n${stdout}`))
      }, timeout)
      lines.on('line', check)
      check()
    })
  }
}

/** A TCP port that is taken until the server is closed */
async function occupyPort (): Promise<{ server: Server, port: number }> {
  const server = createServer()
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  if (address == null || typeof address === 'string') { throw new Error('no port') }
  return { server, port: address.port }
}

describe('cli/node', function () {
  this.timeout(60_000)
  let dir: string
  let pem: string
  let configList: string
  let testNode: TestNode | undefined

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'noise-ech-node-'))
    pem = join(dir, 'ech.pem')
    const keygen = await cli('keygen', '--public-name', 'node.example.com', '--out', pem)
    expect(keygen.code).to.equal(0, keygen.stderr)
    configList = keygen.stdout.trim()
  })

  afterEach(async () => {
    await stopAll(testNode)
    testNode = undefined
  })

  after(async () => {
    await rm(dir, { recursive: true, force: true })
  })

  it('serves the PEM\'s configs, accepts ECH, keeps its peer id across restarts', async () => {
    const dataDir = join(dir, 'data-main')
    const args = ['--listen', '/ip4/127.0.0.1/tcp/0', '--key', pem, '--data-dir', dataDir, '--gateway', '127.0.0.1:0']
    const node = await startNode(args)
    let stopped = false
    try {
      const { info } = node
      const out = node.stdout()
      expect(out).to.include(`peer id: ${info.peerId}`)
      expect(peerIdFromString(info.peerId).type).to.equal('Ed25519')
      expect(info.addresses).to.have.lengthOf(1)
      expect(info.addresses[0]).to.match(new RegExp(`^/ip4/127\\.0\\.0\\.1/tcp/\\d+/p2p/${info.peerId}$`))
      expect(out).to.include(`listening: ${info.addresses[0]}`)
      expect(info.configList).to.equal(configList)
      expect(out).to.include(`ech config list: ${configList}`)
      expect(info.gatewayUrl).to.match(/^http:\/\/127\.0\.0\.1:\d+$/)
      expect(out).to.include(`gateway: ${info.gatewayUrl}`)
      expect(out).to.include(`dashboard: ${info.gatewayUrl}/ech/dashboard`)
      expect(node.stderr()).to.equal('')

      // state on disk: 0700 directory, 0600 identity
      expect((await stat(dataDir)).mode & 0o777).to.equal(0o700)
      expect((await stat(join(dataDir, 'identity.key'))).mode & 0o777).to.equal(0o600)

      // the gateway publishes the PEM's config list
      const res = await fetch(`${info.gatewayUrl}/.well-known/libp2p-noise-ech`)
      expect(res.status).to.equal(200)
      const doc = await res.json()
      expect(doc.peerId).to.equal(info.peerId)
      expect(doc.configList).to.equal(configList)

      // a node holding that config dials in with ECH
      testNode = await createTestNode({ encrypter: 'ech' })
      const remote = multiaddr(info.addresses[0])
      const remotePeer = peerIdFromString(info.peerId)
      await testNode.node.peerStore.merge(remotePeer, { metadata: { [ECH_PEER_STORE_KEY]: Uint8Array.from(Buffer.from(doc.configList, 'base64')) } })
      const outcome = nextEchEvent(testNode.ech!)
      await testNode.node.dial(remote)
      expect((await outcome).outcome).to.equal('accepted')
      const line = await node.waitFor(/ inbound accepted /)
      expect(line).to.include(`peer=${testNode.node.peerId.toString()}`)
      expect(line).to.match(/ config=\d+ /)

      expect(await node.stop()).to.equal(0)
      stopped = true
      expect(node.stdout()).to.match(/shutting down\nstopped\n$/)
    } finally {
      if (!stopped) { await node.stop() }
    }

    // same data dir: same identity, datastore reopened (it was closed)
    const again = await startNode(args)
    try {
      expect(again.info.peerId).to.equal(node.info.peerId)
      expect(again.stdout()).to.not.include('new identity')
    } finally {
      expect(await again.stop()).to.equal(0)
    }
  })

  it('uses --identity, dials --peer, learns its config record and logs dial failures', async () => {
    const a = await startNode(['--listen', '/ip4/127.0.0.1/tcp/0', '--key', pem, '--data-dir', join(dir, 'data-a')])
    const closed = await occupyPort()
    await new Promise<void>(resolve => closed.server.close(() => { resolve() }))
    const keyB = join(dir, 'b.pem')
    expect((await cli('keygen', '--out', keyB)).code).to.equal(0)
    const identity = join(dir, 'b-identity.key')
    let b: RunningNode | undefined
    try {
      b = await startNode([
        '--listen', '/ip4/127.0.0.1/tcp/0', '--key', keyB, '--data-dir', join(dir, 'data-b'), '--identity', identity,
        '--peer', a.info.addresses[0], '--peer', `/ip4/127.0.0.1/tcp/${closed.port}`
      ])
      expect((await stat(identity)).mode & 0o777).to.equal(0o600)
      expect(existsSync(join(dir, 'data-b', 'identity.key'))).to.be.false()
      expect(b.stdout()).to.include(`new identity in ${identity}`)

      await b.waitFor(new RegExp(`dialed ${a.info.addresses[0]} peer=${a.info.peerId}`))
      // the first connection has no config: stock Noise; then the exchange fetches A's record
      await b.waitFor(new RegExp(`outbound fallback peer=${a.info.peerId} .*reason=no-config`))
      await b.waitFor(new RegExp(`config-record stored peer=${a.info.peerId}`))
      await a.waitFor(/ inbound not-offered /)

      const deadline = Date.now() + 10_000
      while (!b.stderr().includes('could not dial') && Date.now() < deadline) {
        await new Promise(resolve => setTimeout(resolve, 50))
      }
      expect(b.stderr()).to.match(new RegExp(`^libp2p-noise-ech: warning: could not dial /ip4/127\\.0\\.0\\.1/tcp/${closed.port}: [^\\n]+\\n$`))
    } finally {
      expect(await b?.stop()).to.equal(0)
      expect(await a.stop()).to.equal(0)
    }

    // the identity file, not the data dir, decides the peer id
    const b2 = await startNode(['--listen', '/ip4/127.0.0.1/tcp/0', '--key', keyB, '--data-dir', join(dir, 'data-b2'), '--identity', identity])
    try {
      expect(b2.info.peerId).to.equal(b?.info.peerId)
    } finally {
      await b2.stop()
    }
  })

  it('warns about a key file others can read, and runs', async () => {
    const exposed = join(dir, 'exposed.pem')
    await writeFile(exposed, await readFile(pem, 'utf8'), { mode: 0o644 })
    await chmod(exposed, 0o644)
    const node = await startNode(['--listen', '/ip4/127.0.0.1/tcp/0', '--key', exposed, '--data-dir', join(dir, 'd-exposed')])
    try {
      expect(node.stderr()).to.equal(`libp2p-noise-ech: warning: key file ${exposed} is readable by other users (mode 644); chmod 600 it\n`)
      expect(node.info.configList).to.equal(configList)
    } finally {
      expect(await node.stop()).to.equal(0)
    }
  })

  describe('bad input: one stderr line, exit 1', () => {
    const listen = ['--listen', '/ip4/127.0.0.1/tcp/0']

    it('missing --key or --listen', async () => {
      expectUsageFailure(await cli('node', ...listen), /needs --key FILE/)
      expectUsageFailure(await cli('node', '--key', pem), /needs at least one --listen/)
    })

    it('unknown or malformed options', async () => {
      expectUsageFailure(await cli('node', ...listen, '--key', pem, '--bogus'))
      expectUsageFailure(await cli('node', ...listen, '--key', pem, '--mode', 'sometimes'), /--mode must be one of/)
      expectUsageFailure(await cli('node', ...listen, '--key', pem, '--rollout', '101'), /--rollout/)
      expectUsageFailure(await cli('node', ...listen, '--key', pem, '--rollout', '-1'))
      expectUsageFailure(await cli('node', ...listen, '--key', pem, '--gateway', '8080'), /--gateway must be HOST:PORT/)
      expectUsageFailure(await cli('node', ...listen, '--key', pem, '--gateway', 'localhost:70000'), /--gateway/)
    })

    it('bad multiaddrs', async () => {
      expectUsageFailure(await cli('node', '--listen', '/ip4/not-an-ip/tcp/1', '--key', pem), /invalid --listen multiaddr "\/ip4\/not-an-ip\/tcp\/1"/)
      expectUsageFailure(await cli('node', ...listen, '--key', pem, '--peer', 'nonsense'), /invalid --peer multiaddr/)
    })

    it('unreadable or invalid PEM', async () => {
      expectUsageFailure(await cli('node', ...listen, '--key', join(dir, 'missing.pem'), '--data-dir', join(dir, 'd1')), /cannot read key file .*ENOENT/)
      const junk = join(dir, 'junk.pem')
      await writeFile(junk, '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n')
      expectUsageFailure(await cli('node', ...listen, '--key', junk, '--data-dir', join(dir, 'd1')), /invalid key file/)
      expect(existsSync(join(dir, 'd1')), 'nothing created before the key is read').to.be.false()
    })

    it('invalid identity file', async () => {
      const bad = join(dir, 'bad-identity.key')
      await writeFile(bad, 'not a key')
      expectUsageFailure(await cli('node', ...listen, '--key', pem, '--data-dir', join(dir, 'd2'), '--identity', bad), /invalid identity file/)
    })

    it('listen port in use, then the same data dir starts fine', async () => {
      const taken = await occupyPort()
      const dataDir = join(dir, 'd3')
      try {
        expectUsageFailure(
          await cli('node', '--listen', `/ip4/127.0.0.1/tcp/${taken.port}`, '--key', pem, '--data-dir', dataDir),
          new RegExp(`cannot listen on /ip4/127\\.0\\.0\\.1/tcp/${taken.port}: .*EADDRINUSE`)
        )
        expectUsageFailure(
          await cli('node', ...listen, '--key', pem, '--data-dir', dataDir, '--gateway', `127.0.0.1:${taken.port}`),
          /cannot start the gateway on 127\.0\.0\.1:\d+: EADDRINUSE/
        )
      } finally {
        taken.server.close()
      }
      // the failed runs closed the datastore and stopped the node
      const node = await startNode([...listen, '--key', pem, '--data-dir', dataDir])
      expect(await node.stop()).to.equal(0)
    })

    it('a data dir in use by a running node', async () => {
      const dataDir = join(dir, 'd4')
      const node = await startNode([...listen, '--key', pem, '--data-dir', dataDir])
      try {
        expectUsageFailure(await cli('node', ...listen, '--key', pem, '--data-dir', dataDir), /in use by another node/)
      } finally {
        await node.stop()
      }
    })
  })

  it('listen errors from libp2p become one line without stacks', () => {
    const err = new Error('Some configured addresses failed to be listened on, you may need to remove one:\n\n' +
      '  /ip4/127.0.0.1/tcp/1: Error: listen EADDRINUSE: address already in use 127.0.0.1:1\n      at Server.setupListenHandle (node:net:1908:16)\n' +
      '  /ip4/1.2.3.4/udp/1/quic-v1: UnsupportedListenAddressError: No transport was configured to listen on this address\n      at x (y.ts:1:1)\n')
    expect(describeListenError(err)).to.equal('cannot listen on /ip4/127.0.0.1/tcp/1: listen EADDRINUSE: address already in use 127.0.0.1:1; ' +
      '/ip4/1.2.3.4/udp/1/quic-v1: No transport was configured to listen on this address')
    expect(describeListenError(new Error('boom\n  at x'))).to.equal('cannot start the node: boom')
  })

  it('nodeCommand: the first signal stops cleanly, a second one exits 1', async () => {
    const proc = Object.assign(new EventEmitter(), { exits: [] as number[], exit (code: number) { this.exits.push(code) } })
    let stdout = ''
    let stderr = ''
    const done = nodeCommand(['--listen', '/ip4/127.0.0.1/tcp/0', '--key', pem, '--data-dir', join(dir, 'd5')], {
      stdout: t => { stdout += t },
      stderr: t => { stderr += t }
    }, proc as unknown as NodeProcess)
    const deadline = Date.now() + 20_000
    while (!stdout.includes('ready\n') && Date.now() < deadline) {
      await new Promise(resolve => setTimeout(resolve, 20))
    }
    expect(stdout).to.include('ready\n')
    proc.emit('SIGTERM', 'SIGTERM')
    proc.emit('SIGINT', 'SIGINT')
    expect(await done).to.equal(0)
    expect(proc.exits).to.deep.equal([1])
    expect(stdout).to.include('received SIGTERM, stopping')
    expect(stderr).to.equal('libp2p-noise-ech: received SIGINT again, exiting without a clean shutdown\n')
    expect(proc.listenerCount('SIGINT') + proc.listenerCount('SIGTERM'), 'handlers removed').to.equal(0)
  })

  describe('spawned bin', () => {
    // run from test/ via tsx, or from dist/test/ after `aegir build`
    const here = fileURLToPath(new URL('../..', import.meta.url))
    const tsBin = join(here, 'src', 'cli', 'bin.ts')
    const root = existsSync(tsBin) ? here : join(here, '..')
    const command = existsSync(tsBin) ? ['--import', 'tsx', tsBin] : [join(here, 'src', 'cli', 'bin.js')]

    function spawnCli (args: string[]): { child: ReturnType<typeof spawn>, result: Promise<Result & { signal: string | null }>, stdout(): string } {
      const child = spawn(process.execPath, [...command, ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] })
      let stdout = ''
      let stderr = ''
      child.stdout.setEncoding('utf8').on('data', (t: string) => { stdout += t })
      child.stderr.setEncoding('utf8').on('data', (t: string) => { stderr += t })
      const timer = setTimeout(() => { child.kill('SIGKILL') }, 45_000)
      const result = new Promise<Result & { signal: string | null }>(resolve => {
        child.on('close', (code, signal) => {
          clearTimeout(timer)
          resolve({ code: code ?? -1, signal, stdout, stderr })
        })
      })
      return { child, result, stdout: () => stdout }
    }

    it('starts, stops on SIGTERM with exit 0 and no stack', async () => {
      const { child, result, stdout } = spawnCli(['node', '--listen', '/ip4/127.0.0.1/tcp/0', '--key', pem, '--data-dir', join(dir, 'spawned'), '--gateway', '127.0.0.1:0'])
      const deadline = Date.now() + 40_000
      while (!stdout().includes('ready\n') && child.exitCode == null && Date.now() < deadline) {
        await new Promise(resolve => setTimeout(resolve, 50))
      }
      expect(stdout()).to.include('ready\n')
      expect(stdout()).to.match(/^peer id: 12D3Koo\w+/)
      expect(stdout()).to.include(`ech config list: ${configList}\n`)
      child.kill('SIGTERM')
      const { code, signal, stdout: out, stderr } = await result
      expect(signal).to.equal(null)
      expect(code).to.equal(0, stderr)
      expect(out).to.match(/received SIGTERM, stopping .*\nshutting down\nstopped\n$/)
      expect(stderr).to.not.match(/\bat .+:\d+:\d+/)
    })

    it('bad --listen: exit 1, one stderr line', async () => {
      const { code, stdout, stderr } = await spawnCli(['node', '--listen', 'tcp/4001', '--key', pem, '--data-dir', join(dir, 'spawned-bad')]).result
      expect(code).to.equal(1)
      expect(stdout).to.equal('')
      expect(stderr).to.match(/^libp2p-noise-ech: invalid --listen multiaddr "tcp\/4001": [^\n]+\n$/)
    })
  })
})
