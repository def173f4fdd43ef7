// lorakit dashboard client: plain JS, no dependencies, no network beyond this server's read-only JSON API.
// Draws curves on a <canvas>; every string from the API goes in through textContent (no HTML injection).
'use strict';
(function () {
  var base = location.pathname.replace(/\/?$/, '/').replace(/index\.html\/$/, '');
  var COLORS = ['#2b6cb0', '#c53030', '#2f855a', '#b7791f', '#6b46c1', '#0987a0', '#d53f8c', '#4a5568'];
  var selected = [];
  var seriesCache = {};

  function api(path) {
    return fetch(base + path).then(function (r) {
      if (!r.ok) return r.json().then(function (b) { throw new Error((b.error && b.error.message) || r.statusText); });
      return r.json();
    });
  }
  function el(tag, attrs) {
    var e = document.createElement(tag);
    if (attrs) Object.keys(attrs).forEach(function (k) {
      if (k === 'text') e.textContent = attrs[k];
      else if (k === 'class') e.className = attrs[k];
      else if (k.slice(0, 2) === 'on') e.addEventListener(k.slice(2), attrs[k]);
      else e.setAttribute(k, attrs[k]);
    });
    for (var i = 2; i < arguments.length; i++) {
      var c = arguments[i];
      if (c === null || c === undefined) continue;
      e.appendChild(typeof c === 'string' ? document.createTextNode(c) : c);
    }
    return e;
  }
  function fmt(v) {
    if (v === undefined || v === null) return '';
    if (typeof v !== 'number') return String(v);
    if (!isFinite(v)) return String(v);
    if (Number.isInteger(v)) return String(v);
    var a = Math.abs(v);
    return a !== 0 && (a < 1e-4 || a >= 1e6) ? v.toExponential(3) : String(Number(v.toPrecision(5)));
  }
  function short(fp) { return fp ? fp.slice(0, 12) + '…' : '—'; }
  function colorOf(id) { return COLORS[selected.indexOf(id) % COLORS.length]; }

  // ---------- runs table ----------
  function renderRuns(runs) {
    var tbody = document.querySelector('#runs tbody');
    tbody.textContent = '';
    runs.forEach(function (r) {
      var box = el('input', { type: 'checkbox', 'data-run': r.id });
      box.checked = selected.indexOf(r.id) >= 0;
      box.addEventListener('change', function () {
        if (box.checked) { if (selected.indexOf(r.id) < 0) selected.push(r.id); } else selected = selected.filter(function (x) { return x !== r.id; });
        drawSelected();
      });
      tbody.appendChild(el('tr', { 'data-run': r.id },
        el('td', null, box), el('td', null, el('code', { text: r.id })), el('td', { text: r.kind }), el('td', { text: r.name || '' }),
        el('td', { class: 'status-' + r.status, text: r.status }), el('td', { text: r.startedAt.replace('T', ' ').slice(0, 19) }),
        el('td', { text: fmt(r.final.loss) }), el('td', { text: fmt(r.final.eval_loss) })));
    });
  }

  // ---------- chart ----------
  function loadSeries(id) {
    if (seriesCache[id]) return Promise.resolve(seriesCache[id]);
    return api('api/runs/' + encodeURIComponent(id) + '/metrics?keys=loss,eval_loss').then(function (b) { seriesCache[id] = b.series; return b.series; });
  }
  function drawSelected() {
    return Promise.all(selected.map(loadSeries)).then(function (all) {
      var lines = [];
      all.forEach(function (s, i) {
        if (s.loss) lines.push({ run: selected[i], key: 'loss', pts: s.loss, dash: [] });
        if (s.eval_loss) lines.push({ run: selected[i], key: 'eval_loss', pts: s.eval_loss, dash: [6, 4] });
      });
      drawChart(lines);
    });
  }
  function drawChart(lines) {
    var cv = document.getElementById('chart');
    var ctx = cv.getContext('2d');
    var W = cv.width, H = cv.height, L = 56, R = 12, T = 12, B = 30;
    ctx.fillStyle = '#ffffff';
    ctx.fillRect(0, 0, W, H);
    var xs = [], ys = [];
    lines.forEach(function (l) { l.pts.forEach(function (p) { if (p[1] !== null) { xs.push(p[0]); ys.push(p[1]); } }); });
    var legend = document.getElementById('legend');
    legend.textContent = '';
    if (!xs.length) {
      ctx.fillStyle = '#718096'; ctx.font = '14px system-ui'; ctx.fillText('tick runs with metrics to draw their curves', L, H / 2);
      cv.setAttribute('data-series', '0');
      return;
    }
    var x0 = Math.min.apply(null, xs), x1 = Math.max.apply(null, xs), y0 = Math.min.apply(null, ys), y1 = Math.max.apply(null, ys);
    if (x1 === x0) x1 = x0 + 1;
    if (y1 === y0) { y1 = y0 + 1; y0 = y0 - 1; }
    var pad = (y1 - y0) * 0.05; y0 -= pad; y1 += pad;
    function X(v) { return L + (v - x0) / (x1 - x0) * (W - L - R); }
    function Y(v) { return T + (1 - (v - y0) / (y1 - y0)) * (H - T - B); }
    // grid and axis labels
    ctx.strokeStyle = '#e2e8f0'; ctx.lineWidth = 1; ctx.fillStyle = '#4a5568'; ctx.font = '11px system-ui';
    for (var g = 0; g <= 4; g++) {
      var yv = y0 + (y1 - y0) * g / 4, xv = x0 + (x1 - x0) * g / 4;
      ctx.beginPath(); ctx.moveTo(L, Y(yv)); ctx.lineTo(W - R, Y(yv)); ctx.stroke();
      ctx.fillText(fmt(Number(yv.toPrecision(3))), 4, Y(yv) + 4);
      ctx.fillText(String(Math.round(xv)), X(xv) - 8, H - 10);
    }
    ctx.strokeStyle = '#a0aec0'; ctx.strokeRect(L, T, W - L - R, H - T - B);
    lines.forEach(function (l) {
      ctx.strokeStyle = colorOf(l.run); ctx.lineWidth = 2; ctx.setLineDash(l.dash); ctx.beginPath();
      var pen = false;
      l.pts.forEach(function (p) {
        if (p[1] === null) { pen = false; return; }
        if (pen) ctx.lineTo(X(p[0]), Y(p[1])); else { ctx.moveTo(X(p[0]), Y(p[1])); pen = true; }
      });
      ctx.stroke();
      ctx.setLineDash([]);
      legend.appendChild(el('div', null, el('span', { class: 'swatch', style: 'background:' + colorOf(l.run) }), el('code', { text: l.run }), ' ' + l.key + (l.dash.length ? ' (dashed)' : '')));
    });
    cv.setAttribute('data-series', String(lines.length));
  }

  // ---------- compare ----------
  function renderCompare() {
    var box = document.getElementById('compare');
    if (selected.length < 1) { box.textContent = 'select runs first'; return Promise.resolve(); }
    return api('api/compare?ids=' + selected.map(encodeURIComponent).join(',')).then(function (t) {
      var head = el('tr', null, el('th', { text: 'key' }));
      t.runIds.forEach(function (id) { head.appendChild(el('th', null, el('code', { text: id }))); });
      var table = el('table', { id: 'compare-table' }, el('thead', null, head));
      var body = el('tbody');
      t.rows.forEach(function (r) {
        var tr = el('tr', { class: r.differs ? 'differs' : '' }, el('td', { text: (r.differs ? '* ' : '') + (r.section === 'metric' ? 'final.' : r.section === 'run' ? 'run.' : '') + r.key }));
        r.values.forEach(function (v) { tr.appendChild(el('td', { text: v })); });
        body.appendChild(tr);
      });
      table.appendChild(body);
      box.textContent = '';
      box.appendChild(table);
    });
  }

  // ---------- adapters and lineage ----------
  function renderAdapters(groups) {
    var box = document.getElementById('adapters');
    box.textContent = '';
    if (!groups.length) { box.appendChild(el('p', { class: 'muted', text: 'no models registered yet' })); return; }
    groups.forEach(function (g) {
      var title = (g.base.name || 'unregistered base') + ' — ' + g.base.architecture + (g.base.parameters ? ', ' + g.base.parameters.toLocaleString() + ' params' : '');
      var table = el('table', null, el('thead', null, el('tr', null, el('th', { text: 'version' }), el('th', { text: 'stage' }), el('th', { text: 'aliases' }), el('th', { text: 'tags' }), el('th', { text: 'metrics' }), el('th', { text: 'created' }))));
      var body = el('tbody');
      g.versions.forEach(function (v) {
        var aliases = el('td');
        v.aliases.forEach(function (a) { aliases.appendChild(el('span', { class: 'badge', text: a })); });
        var link = el('a', { class: 'ref', 'data-ref': v.ref, text: v.ref, onclick: function () { showLineage(v.ref); } });
        body.appendChild(el('tr', { 'data-ref': v.ref }, el('td', null, link), el('td', null, v.stage === 'none' ? '' : el('span', { class: 'badge stage', text: v.stage })), aliases,
          el('td', { text: v.tags.join(', ') }), el('td', { text: Object.keys(v.metrics).map(function (k) { return k + '=' + fmt(v.metrics[k]); }).join(' ') }),
          el('td', { text: v.createdAt.replace('T', ' ').slice(0, 19) + ' by ' + v.createdBy })));
      });
      table.appendChild(body);
      box.appendChild(el('div', { class: 'base', 'data-base': g.base.fingerprint }, el('h3', null, title + ' ', el('code', { text: short(g.base.fingerprint) })), table));
    });
  }
  function node(kind, main, sub) {
    return el('div', { class: 'node', 'data-kind': kind }, el('div', { class: 'k', text: kind }), el('div', null, main), sub ? el('div', { class: 'muted' }, sub) : null);
  }
  function showLineage(ref) {
    return api('api/lineage?ref=' + encodeURIComponent(ref)).then(function (l) {
      var chain = el('div', { class: 'chain', id: 'lineage-chain', 'data-ref': l.adapter.ref });
      var arrow = function () { return el('span', { class: 'arrow', text: '→' }); };
      chain.appendChild(node('data', el('code', { text: short(l.dataset) }), 'dataset fingerprint'));
      chain.appendChild(arrow());
      chain.appendChild(node('base', l.base.name || short(l.base.fingerprint), el('code', { text: short(l.base.fingerprint) })));
      chain.appendChild(arrow());
      chain.appendChild(node('run', l.run ? el('code', { text: l.run.id }) : '—', l.run ? l.run.kind + ', ' + l.run.status : 'no tracked run'));
      chain.appendChild(arrow());
      chain.appendChild(node('adapter', l.adapter.ref, 'r=' + (l.adapter.loraConfig.r || '?') + ', stage ' + l.adapter.stage));
      chain.appendChild(arrow());
      var evals = el('div');
      if (!l.evals.length) evals.appendChild(el('span', { class: 'muted', text: 'no eval reports' }));
      l.evals.forEach(function (e) { evals.appendChild(el('div', { class: e.passed ? 'pass' : 'fail', text: e.suite + ': ' + (e.passed ? 'passed' : 'failed') })); });
      chain.appendChild(node('eval', evals));
      chain.appendChild(arrow());
      var al = el('div');
      if (!l.aliases.length) al.appendChild(el('span', { class: 'muted', text: 'no alias' }));
      l.aliases.forEach(function (a) { al.appendChild(el('span', { class: 'badge', text: a })); });
      chain.appendChild(node('alias', al));
      var hist = el('ul');
      l.aliasHistory.forEach(function (h) {
        hist.appendChild(el('li', { text: h.at.replace('T', ' ').slice(0, 19) + ' ' + h.who + ': ' + h.kind + ' ' + h.target + ' ' +
          (h.fromVersion ? 'v' + h.fromVersion : '∅') + ' → ' + (h.toVersion ? 'v' + h.toVersion : '∅') + (h.forced ? ' (forced past the gate)' : '') + (h.why ? ' — ' + h.why : '') }));
      });
      var box = document.getElementById('lineage');
      box.textContent = '';
      box.appendChild(chain);
      if (l.aliasHistory.length) box.appendChild(el('div', null, el('h3', { text: 'alias history of ' + l.adapter.name }), hist));
    });
  }

  document.getElementById('compare-btn').addEventListener('click', renderCompare);
  Promise.all([api('api/runs'), api('api/adapters')]).then(function (res) {
    var runs = res[0].runs;
    // start with the two most recent runs that have a loss, so the chart says something at once
    selected = runs.filter(function (r) { return r.final.loss !== undefined; }).slice(0, 2).map(function (r) { return r.id; });
    renderRuns(runs);
    renderAdapters(res[1].groups);
    document.getElementById('status').textContent = runs.length + ' runs, ' + res[1].groups.reduce(function (n, g) { return n + g.versions.length; }, 0) + ' adapter versions';
    return drawSelected();
  }).then(function () {
    document.body.setAttribute('data-ready', '1');
  }).catch(function (e) {
    document.getElementById('status').textContent = 'error: ' + e.message;
    document.body.setAttribute('data-ready', 'error');
  });
})();
