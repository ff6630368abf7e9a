/**
 * The dashboard's browser script, as text (it runs in the page, not in
 * Node). It polls `/ech/status` with the pasted token, keeps a rolling
 * series of handshakes per poll interval by outcome, and draws it as SVG.
 * Every value from the server goes in through `textContent` or an SVG
 * attribute, never as markup; the page's CSP forbids other scripts and
 * Trusted Types forbid HTML sinks.
 */
export const DASHBOARD_SCRIPT = String.raw`
'use strict';
(function () {
  var TOKEN_KEY = 'libp2p-noise-ech-gateway-token';
  var POINTS = 60;
  var OUTCOMES = ['accepted', 'rejected', 'grease', 'not-offered', 'fallback', 'failed'];
  var COLORS = { accepted: '#2e9e5b', rejected: '#d9822b', grease: '#8a63d2', 'not-offered': '#4a90d9', fallback: '#7a8794', failed: '#d64545' };
  var SVG = 'http://www.w3.org/2000/svg';
  var params = new URLSearchParams(location.search);
  var interval = Math.max(1000, Number(params.get('interval')) || 3000);
  var series = [];
  var last = null;
  var timer = null;

  function $(id) { return document.getElementById(id); }
  function text(id, value) { $(id).textContent = value; }
  function token() { return sessionStorage.getItem(TOKEN_KEY) || ''; }
  function setState(label, kind) {
    var el = $('conn-state');
    el.textContent = label;
    el.className = 'pill ' + kind;
  }

  function row(cells) {
    var tr = document.createElement('tr');
    cells.forEach(function (c) {
      var td = document.createElement('td');
      td.textContent = c == null ? '' : String(c);
      tr.appendChild(td);
    });
    return tr;
  }

  function fill(id, rows) {
    var body = $(id);
    var cols = body.parentNode.querySelectorAll('th').length || 2;
    var empty = row(['none']);
    empty.className = 'empty';
    empty.firstChild.colSpan = cols;
    body.replaceChildren.apply(body, rows.length ? rows.map(row) : [empty]);
  }

  function age(seconds) {
    if (seconds < 120) return seconds + ' s';
    if (seconds < 7200) return Math.floor(seconds / 60) + ' min';
    if (seconds < 172800) return Math.floor(seconds / 3600) + ' h';
    return Math.floor(seconds / 86400) + ' d';
  }

  function sum(obj) {
    return Object.keys(obj).reduce(function (n, k) { return n + obj[k]; }, 0);
  }

  function render(s) {
    text('peer-id', s.peerId);
    text('mode', s.effectiveMode);
    text('mode-detail', s.effectiveMode === s.mode ? 'configured: ' + s.mode : 'configured: ' + s.mode + ' (kill switch off)');
    text('enabled', s.enabled.value ? 'on' : 'off');
    text('enabled-detail', 'source: ' + s.enabled.source);
    text('rollout', s.rollout.percentage + ' %');
    text('rollout-detail', 'source: ' + s.rollout.source);
    text('handshakes-total', String(s.handshakes.total));
    text('breakers', String(s.breakers.open));
    text('threats-total', String(sum(s.threats)));
    text('next-rotation', s.nextRotation ? 'next rotation ' + s.nextRotation : '');
    fill('keys', s.keys.map(function (k) {
      return [k.configId, k.kem, k.publicName, k.current ? 'current' : 'retired ' + (k.retiredAt || ''), age(k.ageSeconds), k.expiresAt || (k.current ? '' : 'unknown')];
    }));
    fill('outcomes', OUTCOMES.map(function (o) { return [o, s.handshakes.byOutcome[o] || 0]; }));
    fill('fallbacks', Object.keys(s.fallbacks).filter(function (k) { return s.fallbacks[k] > 0; }).map(function (k) { return [k, s.fallbacks[k]]; }));
    fill('threat-counts', Object.keys(s.threats).filter(function (k) { return s.threats[k] > 0; }).map(function (k) { return [k, s.threats[k]]; }));
    fill('recent-threats', s.recentThreats.map(function (t) { return [t.time, t.kind, t.severity, t.remoteAddr || t.remotePeer || '', t.count]; }));
    fill('breaker-peers', s.breakers.peers.map(function (b) { return [b.peer, b.state, b.failures, new Date(b.openUntil).toISOString()]; }));
    text('updated', 'updated ' + new Date().toLocaleTimeString());
  }

  function record(s) {
    var point = { t: Date.now() };
    OUTCOMES.forEach(function (o) {
      var now = s.handshakes.byOutcome[o] || 0;
      point[o] = last == null ? 0 : Math.max(0, now - (last[o] || 0));
    });
    last = {};
    OUTCOMES.forEach(function (o) { last[o] = s.handshakes.byOutcome[o] || 0; });
    series.push(point);
    if (series.length > POINTS) series.shift();
  }

  function el(name, attrs) {
    var node = document.createElementNS(SVG, name);
    Object.keys(attrs).forEach(function (k) { node.setAttribute(k, String(attrs[k])); });
    return node;
  }

  /** A round upper bound for the y axis, divisible into 4 whole steps */
  function ceiling(max) {
    var steps = [4, 8, 20, 40, 80, 200, 400, 800, 2000, 4000, 8000, 20000];
    for (var i = 0; i < steps.length; i++) if (max <= steps[i]) return steps[i];
    return Math.ceil(max / 4000) * 4000;
  }

  /** Stacked bars: one per poll interval, one segment per outcome */
  function draw() {
    var svg = $('chart');
    var W = 800, H = 240, L = 44, R = 10, T = 10, B = 24;
    var plotH = H - T - B;
    var max = 0;
    series.forEach(function (p) {
      var total = OUTCOMES.reduce(function (n, o) { return n + p[o]; }, 0);
      if (total > max) max = total;
    });
    max = ceiling(max);
    var nodes = [el('rect', { x: L, y: T, width: W - L - R, height: plotH, fill: '#fbfcfd', stroke: '#d5dbe1' })];
    for (var i = 0; i <= 4; i++) {
      var y = T + plotH * i / 4;
      nodes.push(el('line', { x1: L, x2: W - R, y1: y, y2: y, stroke: '#e6eaee' }));
      var label = el('text', { x: L - 6, y: y + 4, 'text-anchor': 'end', 'font-size': 11, fill: '#5b6670' });
      label.textContent = String(max * (4 - i) / 4);
      nodes.push(label);
    }
    var axis = el('text', { x: W - R, y: H - 6, 'text-anchor': 'end', 'font-size': 11, fill: '#5b6670' });
    axis.textContent = 'handshakes per ' + (interval / 1000) + ' s interval, last ' + Math.round(POINTS * interval / 60000) + ' min';
    nodes.push(axis);
    var slot = (W - L - R) / POINTS;
    var x0 = W - R - slot * series.length;
    series.forEach(function (p, n) {
      var base = T + plotH;
      OUTCOMES.forEach(function (o) {
        if (p[o] <= 0) return;
        var h = plotH * p[o] / max;
        base -= h;
        nodes.push(el('rect', { x: (x0 + slot * n + slot * 0.1).toFixed(1), y: base.toFixed(1), width: (slot * 0.8).toFixed(1), height: h.toFixed(1), fill: COLORS[o], 'data-outcome': o }));
      });
    });
    svg.replaceChildren.apply(svg, nodes);
  }

  function legend() {
    var box = $('legend');
    box.replaceChildren.apply(box, OUTCOMES.map(function (o) {
      var item = document.createElement('span');
      item.className = 'legend-item';
      var swatch = el('svg', { width: 12, height: 12 });
      swatch.appendChild(el('rect', { width: 12, height: 12, rx: 2, fill: COLORS[o] }));
      item.appendChild(swatch);
      item.appendChild(document.createTextNode(' ' + o));
      return item;
    }));
  }

  async function poll() {
    if (!token()) {
      setState('no token', 'idle');
      return;
    }
    try {
      var res = await fetch('/ech/status', { headers: { Authorization: 'Bearer ' + token() }, cache: 'no-store' });
      if (!res.ok) {
        var body = await res.json().catch(function () { return null; });
        text('message', body && body.error ? body.error.message : 'HTTP ' + res.status);
        if (res.status === 401 || res.status === 403) {
          // stop: retrying a refused token would count as failed attempts and
          // get every client on this host rate-limited
          setState('token refused', 'bad');
          stop();
        } else if (res.status === 429) {
          setState('rate-limited', 'bad');
          stop();
          var wait = Number(res.headers.get('Retry-After')) || 60;
          setTimeout(start, wait * 1000);
        } else {
          setState('error ' + res.status, 'bad');
        }
        return;
      }
      var status = await res.json();
      text('message', '');
      setState('live', 'ok');
      record(status);
      render(status);
      draw();
    } catch (err) {
      setState('unreachable', 'bad');
      text('message', 'Gateway unreachable');
    }
  }

  function stop() {
    if (timer != null) clearInterval(timer);
    timer = null;
  }

  function start() {
    stop();
    poll();
    timer = setInterval(poll, interval);
  }

  function restart() {
    series = [];
    last = null;
    draw();
    start();
  }

  $('token-form').addEventListener('submit', function (evt) {
    evt.preventDefault();
    var value = $('token').value.trim();
    $('token').value = '';
    if (value) sessionStorage.setItem(TOKEN_KEY, value);
    restart();
  });
  $('forget').addEventListener('click', function () {
    sessionStorage.removeItem(TOKEN_KEY);
    restart();
  });
  legend();
  restart();
})();
`
