/**
 * `inspect` with DNS HTTPS/SVCB records in presentation format (RFC 9460
 * §2.1) and the small SvcParams parser behind it (src/cli/svcb.ts).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { expect } from 'aegir/chai'
import { run } from '../../src/cli/commands.js'
import { echConfigListFromSvcb, looksLikeSvcb, parseSvcbRecord } from '../../src/cli/svcb.js'
import { encodeBase64 } from '../../src/config/base64.js'
import { generateEchKey } from '../../src/keys/generate.js'
import type { EchKey } from '../../src/keys/generate.js'

interface Result { code: number, stdout: string, stderr: string }

async function cli (...argv: string[]): Promise<Result> {
  let stdout = ''
  let stderr = ''
  const code = await run(argv, { stdout: t => { stdout += t }, stderr: t => { stderr += t } })
  return { code, stdout, stderr }
}

/** `\DDD` for every character of `text` matching `which` */
function escapeDecimal (text: string, which: RegExp): string {
  return text.replace(which, ch => `\\${ch.charCodeAt(0).toString().padStart(3, '0')}`)
}

describe('cli/svcb: inspect reads HTTPS/SVCB records', () => {
  let key: EchKey
  let xwing: EchKey
  let b64: string
  let dir: string

  before(async () => {
    key = await generateEchKey({ publicName: 'svcb.example', configId: 42 })
    xwing = await generateEchKey({ kem: 'x-wing', configId: 7 })
    b64 = encodeBase64(key.configList)
    // the cases below need a '+' or '/' to escape and 'A' to start with
    expect(b64.startsWith('AE')).to.be.true()
  })

  beforeEach(async () => { dir = await mkdtemp(join(tmpdir(), 'noise-ech-svcb-')) })
  afterEach(async () => { await rm(dir, { recursive: true, force: true }) })

  const good: Array<{ name: string, record(): string }> = [
    { name: 'a dig line: owner, TTL, class, HTTPS, alpn, quoted ech', record: () => `example.com. 300 IN HTTPS 1 . alpn="h2" ech="${b64}"` },
    { name: 'RDATA only, unquoted ech', record: () => `1 . ech=${b64}` },
    { name: 'SVCB with a target name, port and no-default-alpn', record: () => `_8443._wss.api.example. 7200 IN SVCB 1 svc.example.net. no-default-alpn port=8443 ech=${b64}` },
    { name: 'lower-case type, tabs between fields', record: () => `example.com.\t300\tIN\thttps\t1\t.\tech=${b64}` },
    { name: 'generic key form: key5 is ech', record: () => `1 . key5=${b64}` },
    { name: 'a private-use key (key65284) is ignored, ech still found', record: () => `1 . key65284=abc ech=${b64} key65000` },
    { name: 'mandatory, ipv4hint, ipv6hint, dohpath, ohttp are ignored', record: () => `1 . mandatory=alpn,ech alpn=h2,h3 ipv4hint=192.0.2.1,192.0.2.2 ipv6hint=2001:db8::1 dohpath=/dns-query{?dns} ohttp ech=${b64}` },
    { name: '\\DDD escapes inside the ech value', record: () => `1 . ech=${escapeDecimal(b64, /[A+/=]/g)}` },
    { name: '\\DDD and \\X escapes inside a quoted ech value', record: () => `1 . ech="${escapeDecimal(b64.slice(0, 10), /./g)}\\${b64.slice(10, 11)}${b64.slice(11)}"` },
    { name: 'escaped comma and a space inside a quoted alpn', record: () => `1 . alpn="h2\\,h3,my proto" ech="${b64}"` },
    { name: 'a zone-file record over lines: parentheses and comments', record: () => `example.com. 3600 IN HTTPS ( 1 . ; ServiceMode\n  alpn=h2 ; protocols\n  ech=${b64} )` },
    { name: 'a quoted semicolon is not a comment', record: () => `1 . alpn="a;b" ech=${b64}` }
  ]

  good.forEach(c => {
    it(`reads: ${c.name}`, async () => {
      const record = c.record()
      expect(echConfigListFromSvcb(record)).to.equalBytes(key.configList)
      const result = await cli('inspect', record)
      expect(result.stderr).to.equal('')
      expect(result.code).to.equal(0)
      expect(result.stdout).to.include('ECHConfigList (svcb, ').and.include('config_id: 42').and.include('public_name: svcb.example')
    })
  })

  it('reads an X-Wing list (1.2 KB of base64) and --json says where it came from', async () => {
    const result = await cli('inspect', '--json', `example.net. 60 IN HTTPS 1 . ech=${encodeBase64(xwing.configList)}`)
    expect(result.code).to.equal(0)
    const report = JSON.parse(result.stdout)
    expect(report).to.include({ source: 'svcb', usable: 1 })
    expect(report.configs[0]).to.include({ configId: 7 })
    expect(report.configs[0].kem.name).to.match(/x-?wing/i)
  })

  it('reads a record from a file', async () => {
    const file = join(dir, 'zone.txt')
    await writeFile(file, `; from a zone file\nexample.com. 300 IN HTTPS 1 . alpn="h2" ech="${b64}"\n`)
    const result = await cli('inspect', file)
    expect(result.code).to.equal(0)
    expect(result.stdout).to.include('ECHConfigList (svcb, ')
  })

  it('parseSvcbRecord: type, owner, priority, target, and every SvcParam by number', () => {
    const record = parseSvcbRecord(`example.com. 300 IN HTTPS 1 svc.example. alpn="h2,h3" port=443 no-default-alpn key65284="x y" ech=${b64}`)
    expect(record).to.include({ type: 'HTTPS', owner: 'example.com. 300 IN', priority: 1, targetName: 'svc.example.' })
    expect([...record.params.keys()]).to.deep.equal([1, 3, 2, 65284, 5])
    expect(record.params.get(1)).to.equal('h2,h3')
    expect(record.params.get(2)).to.be.undefined()
    expect(record.params.get(65284)).to.equal('x y')
    expect(record.params.get(5)).to.equal(b64)
  })

  it('looksLikeSvcb tells records from base64', () => {
    expect(looksLikeSvcb(`1 . ech=${b64}`)).to.be.true()
    expect(looksLikeSvcb(`example.com. 300 IN HTTPS 1 . ech=${b64}`)).to.be.true()
    expect(looksLikeSvcb(b64)).to.be.false()
    expect(looksLikeSvcb(`${b64.slice(0, 64)}\n${b64.slice(64)}`)).to.be.false()
    expect(looksLikeSvcb('not base64!')).to.be.false()
  })

  const bad: Array<{ name: string, record(): string, says: RegExp }> = [
    { name: 'duplicate ech', record: () => `1 . ech=${b64} ech=${b64}`, says: /ech appears more than once/ },
    { name: 'ech and key5 (the same key twice)', record: () => `1 . ech=${b64} key5=${b64}`, says: /ech appears more than once/ },
    { name: 'another key twice', record: () => `1 . alpn=h2 alpn=h3 ech=${b64}`, says: /alpn appears more than once/ },
    { name: 'no ech', record: () => 'example.com. 300 IN HTTPS 1 . alpn="h2"', says: /no ech SvcParam/ },
    { name: 'ech without a value', record: () => '1 . ech', says: /ech SvcParam needs a value/ },
    { name: 'ech with an empty value', record: () => '1 . ech=""', says: /ech SvcParam needs a value/ },
    { name: 'ech not base64', record: () => '1 . ech=AEX!', says: /invalid ECH config \(ech\)/ },
    { name: 'ech base64 but not an ECHConfigList', record: () => '1 . ech=AAEC', says: /ECHConfigList\.length/ },
    { name: 'unterminated quote', record: () => `1 . ech="${b64}`, says: /unterminated quoted string/ },
    { name: '\\DDD above 255', record: () => `1 . ech=\\256${b64}`, says: /more than 255/ },
    { name: '\\DDD with two digits', record: () => `1 . ech=\\06x${b64}`, says: /three decimal digits/ },
    { name: 'a backslash at the end', record: () => `1 . ech=${b64}\\`, says: /escape .* at the end/ },
    { name: 'key65535 (reserved as invalid)', record: () => `1 . key65535=x ech=${b64}`, says: /key65535 is reserved/ },
    { name: 'a key number out of range', record: () => `1 . key70000=x ech=${b64}`, says: /out of range/ },
    { name: 'an unknown key name', record: () => `1 . foo=bar ech=${b64}`, says: /unknown SvcParamKey "foo"/ },
    { name: 'an upper-case key', record: () => `1 . ECH=${b64}`, says: /malformed SvcParam/ },
    { name: 'a quoted key', record: () => `1 . "ech=${b64}"`, says: /malformed SvcParam/ },
    { name: 'AliasMode with SvcParams', record: () => `0 example.net. ech=${b64}`, says: /AliasMode .* cannot have SvcParams/ },
    { name: 'AliasMode without SvcParams', record: () => 'example.com. 300 IN HTTPS 0 example.net.', says: /AliasMode .* carries no ech/ },
    { name: 'SvcPriority out of range', record: () => `example.com. IN HTTPS 70000 . ech=${b64}`, says: /SvcPriority must be an integer/ },
    { name: 'no TargetName', record: () => 'example.com. IN HTTPS 1', says: /needs SvcPriority and TargetName/ },
    { name: 'generic RDATA', record: () => 'example.com. IN HTTPS \\# 4 00010000', says: /generic RDATA/ }
  ]

  bad.forEach(c => {
    it(`refuses with one line, exit 1: ${c.name}`, async () => {
      const result = await cli('inspect', c.record())
      expect(result.code).to.equal(1)
      expect(result.stdout).to.equal('')
      expect(result.stderr).to.match(/^libp2p-noise-ech: [^\n]+\n$/)
      expect(result.stderr).to.match(c.says)
    })
  })
})
