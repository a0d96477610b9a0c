// The balancer dashboard: one EventSource, hand-drawn SVG, no framework, no network beyond the
// balancer's admin port. Every string from the balancer goes through textContent (never innerHTML).
'use strict';
(function () {
  var PALETTE = ['#5aa9ff', '#2ecc71', '#f5b041', '#c08cff', '#ff7eb6', '#3fd0c9', '#e6e36b', '#ff8a5b'];
  var SVG = 'http://www.w3.org/2000/svg';
  var samples = [];
  var entriesByDeploy = {};
  var meta = { intervalMs: 1000, historySamples: 300 };
  var last = null;
  var versionsSeen = {};

  function $(id) { return document.getElementById(id); }
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function svg(tag, attrs, text) {
    var e = document.createElementNS(SVG, tag);
    for (var k in attrs) e.setAttribute(k, attrs[k]);
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); }
  function fmt(n) { return n >= 10000 ? Math.round(n).toLocaleString('en-US') : String(n); }
  function ago(t, now) {
    if (t === null || t === undefined) return '–';
    var s = Math.max(0, Math.round((now - t) / 1000));
    return s < 1 ? 'just now' : s + ' s ago';
  }
  function versions() {
    return Object.keys(versionsSeen).sort(function (a, b) {
      if (a === 'unknown') return 1;
      if (b === 'unknown') return -1;
      return a.localeCompare(b, 'en', { numeric: true });
    });
  }
  function color(v) {
    if (v === 'unknown') return '#6b7785';
    return PALETTE[versions().filter(function (x) { return x !== 'unknown'; }).indexOf(v) % PALETTE.length];
  }

  function connect() {
    var es = new EventSource('/dashboard/events');
    es.addEventListener('open', function () { setConn('live', 'live'); });
    es.addEventListener('state', function (ev) { onState(JSON.parse(ev.data)); });
    es.addEventListener('full', function () { setConn('down', 'the balancer serves too many dashboards; retrying'); });
    es.addEventListener('error', function () { setConn('down', 'reconnecting…'); });
  }
  function setConn(cls, text) { var c = $('conn'); c.className = 'conn ' + cls; c.textContent = text; }

  function onState(s) {
    meta.intervalMs = s.intervalMs || meta.intervalMs;
    meta.historySamples = s.historySamples || meta.historySamples;
    for (var i = 0; i < s.samples.length; i++) {
      samples.push(s.samples[i]);
      for (var v in s.samples[i].byVersion) versionsSeen[v] = true;
    }
    if (samples.length > meta.historySamples) samples.splice(0, samples.length - meta.historySamples);
    s.upstreams.forEach(function (u) { versionsSeen[u.version || 'unknown'] = true; });
    s.deploys.forEach(function (d) { if (d.entries) entriesByDeploy[d.id] = d.entries; });
    last = s;
    render(s);
  }

  function render(s) {
    renderFailed(s);
    renderSplit(s);
    renderDeploy(s);
    renderChart(s);
    renderUpstreams(s);
    renderTimeline(s);
  }

  function renderFailed(s) {
    var card = $('failed-card');
    card.className = 'card failed ' + (s.totals.failed === 0 ? 'zero' : 'nonzero');
    $('failed').textContent = fmt(s.totals.failed);
    $('failed-sub').textContent = 'of ' + fmt(s.totals.requests) + ' requests answered · client aborts (not failures): ' + fmt(s.totals.clientAborts);
  }

  function groupVersion(s, group) {
    var vs = {};
    s.upstreams.forEach(function (u) { if (u.group === group) vs[u.version || 'unknown'] = true; });
    var list = Object.keys(vs);
    return list.length === 1 ? list[0] : null;
  }

  function renderSplit(s) {
    var box = $('split');
    clear(box);
    var entries = s.split;
    var sub = $('split-sub');
    if (!entries || entries.length === 0) {
      // No split: traffic goes by weight to everything in rotation; show the share by version.
      var byV = {};
      var total = 0;
      s.upstreams.forEach(function (u) {
        if (u.state !== 'healthy') return;
        var v = u.version || 'unknown';
        byV[v] = (byV[v] || 0) + u.weight;
        total += u.weight;
      });
      entries = Object.keys(byV).map(function (v) { return { group: v, weight: byV[v], isVersion: true }; });
      sub.textContent = 'no split set: round-robin by weight over every healthy upstream (shown by version)';
    } else {
      sub.textContent = entries.map(function (e) { return e.group + ' ' + e.weight; }).join(' · ') + '  (PUT /split)';
    }
    var sum = entries.reduce(function (a, e) { return a + e.weight; }, 0) || 1;
    var bar = el('div', 'bar');
    entries.forEach(function (e) {
      var v = e.isVersion ? e.group : groupVersion(s, e.group);
      var pct = Math.round((e.weight / sum) * 100);
      var seg = el('div', 'seg', pct >= 8 ? e.group + (v && !e.isVersion ? ' (' + v + ')' : '') + ' ' + pct + '%' : '');
      seg.style.flexGrow = String(e.weight);
      seg.style.background = v ? color(v) : '#8494a6';
      seg.title = e.group + ': ' + pct + '%';
      bar.appendChild(seg);
    });
    box.appendChild(bar);
  }

  function currentDeploy(s) { return s.deploys && s.deploys.length ? s.deploys[0] : null; }

  function renderDeploy(s) {
    var head = $('deploy-head');
    var sub = $('deploy-sub');
    clear(head);
    var d = currentDeploy(s);
    if (!d) { head.textContent = 'no deploy posted yet'; sub.textContent = 'the deployer posts its steps here as it goes'; return; }
    head.appendChild(el('span', null, d.strategy + ' ' + (d.from ? d.from + ' → ' : '') + (d.to || '')));
    head.appendChild(el('span', 'badge ' + d.status, d.status));
    var end = d.endedAt || s.now;
    var parts = ['started ' + new Date(d.startedAt).toLocaleTimeString(), ((end - d.startedAt) / 1000).toFixed(1) + ' s'];
    if (d.current) parts.push('now: ' + d.current.slot + ' ' + d.current.step + ' (' + ((s.now - d.current.since) / 1000).toFixed(1) + ' s)');
    parts.push(d.failedDuring + ' failed of ' + fmt(d.requestsDuring) + ' during it');
    if (d.reason) parts.push(d.reason);
    sub.textContent = parts.join(' · ');
  }

  function renderChart(s) {
    var box = $('chart');
    clear(box);
    var W = 1000, H = 260, L = 44, R = 8, T = 10, B = 22;
    // The time axis grows with the history (at least 30 s, at most what the balancer keeps).
    var full = meta.intervalMs * meta.historySamples;
    var now = s.now;
    var have = samples.length ? now - samples[0].t : 0;
    var span = Math.min(full, Math.max(30000, Math.ceil(have / 15000) * 15000));
    var x = function (t) { return L + ((t - (now - span)) / span) * (W - L - R); };
    var vs = versions();
    var max = 1;
    samples.forEach(function (p) {
      var tot = 0;
      for (var v in p.byVersion) tot += p.byVersion[v];
      if (tot + p.failed > max) max = tot + p.failed;
    });
    var step = niceStep(max / 4);
    var top = Math.ceil(max / step) * step;
    var y = function (n) { return H - B - (n / top) * (H - T - B); };
    for (var g = 0; g <= top + 1e-9; g += step) {
      box.appendChild(svg('line', { x1: L, x2: W - R, y1: y(g), y2: y(g), stroke: '#26313d', 'stroke-width': 1 }));
      box.appendChild(svg('text', { x: L - 6, y: y(g) + 4, 'text-anchor': 'end' }, fmt(Math.round(g))));
    }
    var tick = span <= 60000 ? 10000 : span <= 180000 ? 30000 : 60000;
    for (var m = 0; m * tick <= span; m++) {
      var t = now - m * tick;
      var label = m === 0 ? 'now' : '−' + (tick < 60000 ? (m * tick) / 1000 + ' s' : (m * tick) / 60000 + ' min');
      box.appendChild(svg('text', { x: Math.max(L + 14, Math.min(W - R - 2, x(t))), y: H - 6, 'text-anchor': m === 0 ? 'end' : 'middle' }, label));
    }
    $('chart-span').textContent = '(last ' + (span < 120000 ? span / 1000 + ' s' : Math.round(span / 60000) + ' min') + ', stacked)';
    // Stacked areas, split where samples are missing (nobody watched), newest version on top.
    var runs = [];
    var run = [];
    samples.forEach(function (p, i) {
      if (i > 0 && p.t - samples[i - 1].t > 3 * meta.intervalMs) { runs.push(run); run = []; }
      run.push(p);
    });
    if (run.length) runs.push(run);
    runs.forEach(function (r) {
      var base = r.map(function () { return 0; });
      vs.forEach(function (v) {
        var topLine = r.map(function (p, i) { return base[i] + (p.byVersion[v] || 0); });
        if (topLine.every(function (n, i) { return n === base[i]; })) return;
        var pts = r.map(function (p, i) { return x(p.t).toFixed(1) + ',' + y(topLine[i]).toFixed(1); });
        for (var i = r.length - 1; i >= 0; i--) pts.push(x(r[i].t).toFixed(1) + ',' + y(base[i]).toFixed(1));
        box.appendChild(svg('polygon', { points: pts.join(' '), fill: color(v), 'fill-opacity': 0.85, stroke: color(v), 'stroke-width': 1 }));
        base = topLine;
      });
      if (r.some(function (p) { return p.failed > 0; })) {
        var fl = r.map(function (p) { return x(p.t).toFixed(1) + ',' + y(p.failed).toFixed(1); });
        box.appendChild(svg('polyline', { points: fl.join(' '), fill: 'none', stroke: '#ff5c5c', 'stroke-width': 2 }));
      }
    });
    // Legend with the latest share of each version.
    var legend = $('legend');
    clear(legend);
    var lastP = samples[samples.length - 1];
    var lastTot = 0;
    if (lastP) for (var lv in lastP.byVersion) lastTot += lastP.byVersion[lv];
    var shown = vs.filter(function (v) {
      return samples.some(function (p) { return (p.byVersion[v] || 0) > 0; }) || (v !== 'unknown' && s.upstreams.some(function (u) { return u.version === v; }));
    });
    shown.forEach(function (v) {
      var item = el('span');
      var sw = el('span', 'sw');
      sw.style.background = color(v);
      item.appendChild(sw);
      var share = lastP && lastTot > 0 ? Math.round(((lastP.byVersion[v] || 0) / lastTot) * 100) + '%' : '–';
      var rps = lastP ? lastP.byVersion[v] || 0 : 0;
      item.appendChild(el('span', null, v + '  ' + share + ' (' + rps + '/s)'));
      item.dataset.version = v;
      item.dataset.share = share;
      legend.appendChild(item);
    });
    var fItem = el('span');
    var fsw = el('span', 'sw');
    fsw.style.background = '#ff5c5c';
    fItem.appendChild(fsw);
    fItem.appendChild(el('span', null, 'failed/s'));
    legend.appendChild(fItem);
  }

  function niceStep(raw) {
    if (raw <= 0) return 1;
    var p = Math.pow(10, Math.floor(Math.log10(raw)));
    var f = raw / p;
    return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * p;
  }

  function renderUpstreams(s) {
    var box = $('upstreams');
    clear(box);
    s.upstreams.forEach(function (u) {
      var card = el('div', 'up ' + u.state);
      card.dataset.upstream = u.name;
      var name = el('div', 'name');
      name.appendChild(el('span', null, u.name));
      var ver = el('span', 'ver', u.version || 'version ?');
      ver.style.background = color(u.version || 'unknown');
      name.appendChild(ver);
      card.appendChild(name);
      card.appendChild(el('div', 'meta', u.url));
      card.appendChild(el('div', 'meta', 'group ' + u.group + ' · weight ' + u.weight));
      var dl = el('dl');
      var add = function (k, v, cls) { dl.appendChild(el('dt', null, k)); dl.appendChild(el('dd', cls, v)); };
      add('state', u.state, 'state ' + u.state);
      add('req/s', u.rps);
      add('in flight', u.inFlight);
      add('requests', fmt(u.requests));
      add('5xx', u.errors);
      add('conn. fail', u.connectionFailures);
      add('retries', u.retries);
      add('checked', ago(u.lastCheck.at, s.now));
      card.appendChild(dl);
      card.appendChild(el('div', 'meta', 'last check: ' + (u.lastCheck.ok ? 'ok' : 'failed') + ' (' + u.lastCheck.reason + ')'));
      box.appendChild(card);
    });
    if (s.upstreams.length === 0) box.appendChild(el('div', 'card dim', 'no upstream registered'));
  }

  function renderTimeline(s) {
    var list = $('timeline');
    clear(list);
    var d = currentDeploy(s);
    if (!d) { list.appendChild(el('li', 'msg', 'nothing yet')); return; }
    var entries = entriesByDeploy[d.id] || [];
    if (d.dropped) list.appendChild(el('li', 'msg', '… ' + d.dropped + ' earlier entries not kept'));
    entries.forEach(function (e) {
      var at = '+' + ((e.at - d.startedAt) / 1000).toFixed(1) + 's';
      if (e.step === undefined) {
        var li = el('li', 'msg');
        li.appendChild(el('span', null, at));
        li.appendChild(el('span', null, e.text || ''));
        list.appendChild(li);
        return;
      }
      var row = el('li');
      row.appendChild(el('span', null, at));
      row.appendChild(el('span', null, e.slot || ''));
      row.appendChild(el('span', null, e.step));
      row.appendChild(el('span', e.ok ? 'ok' : 'bad', (e.ok ? 'ok ' : 'FAILED ') + (e.ms !== undefined ? e.ms + ' ms' : '')));
      row.appendChild(el('span', null, e.detail || ''));
      list.appendChild(row);
    });
    if (d.current) {
      var cur = el('li', 'now');
      cur.appendChild(el('span', null, '+' + ((d.current.since - d.startedAt) / 1000).toFixed(1) + 's'));
      cur.appendChild(el('span', null, d.current.slot));
      cur.appendChild(el('span', null, d.current.step));
      cur.appendChild(el('span', null, '…'));
      cur.appendChild(el('span', null, 'in progress'));
      list.appendChild(cur);
    }
    if (d.status === 'interrupted') list.appendChild(el('li', 'msg bad', 'INTERRUPTED: ' + (d.reason || 'the deployer stopped posting')));
    list.scrollTop = list.scrollHeight;
  }

  connect();
})();
