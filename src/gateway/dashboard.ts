/**
 * `GET /ech/dashboard`: one self-contained page (inline CSS and script, no
 * external resources: operators' hosts often have no route out). It holds
 * no data, so it is served without auth; its calls to `/ech/status` carry
 * the pasted token. The CSP allows exactly the inline script and style by
 * hash, talking only to this origin, and no framing.
 */
import { createHash } from 'node:crypto'
import { DASHBOARD_SCRIPT } from './dashboard-script.js'

export const DASHBOARD_PATH = '/ech/dashboard'

const STYLE = `
:root { color-scheme: light; font-family: system-ui, -apple-system, "Segoe UI", sans-serif; color: #1f2933; background: #f3f5f7; }
body { margin: 0; }
header { display: flex; align-items: center; gap: 12px; padding: 14px 24px; background: #16324f; color: #fff; }
header h1 { font-size: 18px; margin: 0; font-weight: 600; }
.pill { font-size: 12px; padding: 2px 10px; border-radius: 10px; background: #6b7b8c; }
.pill.ok { background: #2e9e5b; } .pill.bad { background: #d64545; } .pill.idle { background: #6b7b8c; }
#updated { margin-left: auto; font-size: 12px; opacity: .8; }
main { padding: 16px 24px; display: grid; gap: 16px; }
form { display: flex; gap: 8px; align-items: center; padding: 12px 24px; background: #fff; border-bottom: 1px solid #d5dbe1; }
input { font: inherit; padding: 4px 8px; width: 320px; border: 1px solid #b8c2cc; border-radius: 4px; }
button { font: inherit; padding: 4px 12px; border: 1px solid #16324f; background: #16324f; color: #fff; border-radius: 4px; cursor: pointer; }
button.secondary { background: #fff; color: #16324f; }
#message { color: #b3261e; font-size: 13px; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(160px, 1fr)); gap: 12px; }
.card, section.panel { background: #fff; border: 1px solid #d5dbe1; border-radius: 6px; padding: 12px 14px; }
.card h2, section.panel h2 { font-size: 12px; text-transform: uppercase; letter-spacing: .05em; color: #5b6670; margin: 0 0 6px; }
.card p { margin: 0; font-size: 20px; font-weight: 600; overflow-wrap: anywhere; }
tr.empty td { color: #8a96a3; font-style: italic; }
.card p.sub { font-size: 12px; font-weight: 400; color: #5b6670; margin-top: 4px; }
.card.wide { grid-column: span 2; }
.mono, #peer-id { font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size: 13px !important; word-break: break-all; }
.grid2 { display: grid; grid-template-columns: repeat(auto-fit, minmax(280px, 1fr)); gap: 16px; }
table { border-collapse: collapse; width: 100%; font-size: 13px; }
th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid #eef1f4; }
th { color: #5b6670; font-weight: 500; }
#chart { width: 100%; height: auto; display: block; }
#legend { display: flex; flex-wrap: wrap; gap: 14px; font-size: 12px; margin-top: 6px; }
.legend-item { display: inline-flex; align-items: center; gap: 4px; }
`

const BODY = `
<header><h1>libp2p-noise-ech</h1><span id="conn-state" class="pill idle">no token</span><span id="updated"></span></header>
<form id="token-form" autocomplete="off">
  <label for="token">Read or admin token</label>
  <input id="token" name="token" type="password" autocomplete="off" spellcheck="false" placeholder="paste a bearer token">
  <button type="submit">Use token</button>
  <button type="button" id="forget" class="secondary">Forget</button>
  <span id="message" role="status"></span>
</form>
<main>
  <div class="cards">
    <div class="card wide"><h2>Peer id</h2><p id="peer-id">-</p><p class="sub" id="next-rotation"></p></div>
    <div class="card"><h2>Mode</h2><p id="mode">-</p><p class="sub" id="mode-detail"></p></div>
    <div class="card"><h2>ECH enabled</h2><p id="enabled">-</p><p class="sub" id="enabled-detail"></p></div>
    <div class="card"><h2>Rollout</h2><p id="rollout">-</p><p class="sub" id="rollout-detail"></p></div>
    <div class="card"><h2>Handshakes</h2><p id="handshakes-total">-</p></div>
    <div class="card"><h2>Open breakers</h2><p id="breakers">-</p></div>
    <div class="card"><h2>Threats</h2><p id="threats-total">-</p></div>
  </div>
  <section class="panel"><h2>Handshake outcomes over time</h2>
    <svg id="chart" viewBox="0 0 800 240" role="img" aria-label="Handshakes per poll interval by outcome"></svg>
    <div id="legend"></div>
  </section>
  <div class="grid2">
    <section class="panel"><h2>Outcomes (total)</h2><table><tbody id="outcomes"></tbody></table></section>
    <section class="panel"><h2>Fallbacks by reason</h2><table><tbody id="fallbacks"></tbody></table></section>
    <section class="panel"><h2>Threats by kind</h2><table><tbody id="threat-counts"></tbody></table></section>
  </div>
  <section class="panel"><h2>Live keys</h2><table>
    <thead><tr><th>Config id</th><th>KEM</th><th>Public name</th><th>State</th><th>Age</th><th>Expires</th></tr></thead>
    <tbody id="keys"></tbody></table></section>
  <section class="panel"><h2>Open breakers</h2><table>
    <thead><tr><th>Peer</th><th>State</th><th>Failures</th><th>Open until</th></tr></thead>
    <tbody id="breaker-peers"></tbody></table></section>
  <section class="panel"><h2>Recent threats</h2><table>
    <thead><tr><th>Time</th><th>Kind</th><th>Severity</th><th>Source</th><th>Count</th></tr></thead>
    <tbody id="recent-threats"></tbody></table></section>
</main>
`

function sha256Source (text: string): string {
  return `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`
}

export const DASHBOARD_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>libp2p-noise-ech gateway</title>
<link rel="icon" href="data:,">
<style>${STYLE}</style>
</head>
<body>${BODY}<script>${DASHBOARD_SCRIPT}</script>
</body>
</html>
`

/** Only the page's own script and style (by hash), fetches to this origin, no framing, no HTML sinks */
export const DASHBOARD_CSP = [
  "default-src 'none'",
  `script-src ${sha256Source(DASHBOARD_SCRIPT)}`,
  `style-src ${sha256Source(STYLE)}`,
  "connect-src 'self'",
  // only the empty data: favicon, which stops the browser asking for /favicon.ico
  'img-src data:',
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
  "require-trusted-types-for 'script'",
  "trusted-types 'none'"
].join('; ')
