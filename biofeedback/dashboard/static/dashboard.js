/* biofeedback dashboard: one WebSocket in, uPlot charts and a few DOM panels out.
   Everything it loads comes from this server; every request carries the token. */
"use strict";
(function () {
  const TOKEN = new URLSearchParams(location.search).get("token") || "";
  const q = (id) => document.getElementById(id);
  const wall = () => (performance.timeOrigin + performance.now()) / 1000;
  const fmt = (v, d = 3) => (v === null || v === undefined || !isFinite(v)) ? "n/a" : Number(v).toFixed(d);

  // what tests and the benchmark read (window.__dash)
  const stats = window.__dash = {
    connected: false, messages: 0, frames: 0, traceDraws: 0, windows: 0, spectra: 0,
    windowDelays: [], traceDelays: [], drawTimes: [], est: {}, q: null, cue: null,
    status: null, check: null, meta: null, events: [], warnings: [], ended: false,
  };

  const S = {
    meta: null, t: [], y: [], lastTw: null, dirty: false, pendingWindow: null,
    windowTw: [], lo: {}, hi: {}, traces: null, spectrum: null, specData: null,
    specDirty: false, paused: false, marks: 0, thresholds: {}, target: null,
  };

  // ---------------------------------------------------------------- charts
  function scale() { return Number(q("scale").value); }

  function buildTraces() {
    const m = S.meta, n = m.ch_names.length, el = q("traces");
    el.innerHTML = "";
    const centers = m.ch_names.map((_, i) => -2 * i * scale());
    const width = Math.max(300, el.clientWidth);
    const opts = {
      width, height: Math.max(220, Math.min(520, 58 * n)),
      legend: { show: false }, cursor: { show: false }, pxAlign: 0,
      scales: {
        x: { time: false, range: (u, lo, hi) => [hi - m.trace_seconds, hi] },
        y: { range: () => [-(2 * n - 1) * scale(), scale()] },
      },
      axes: [
        { stroke: "#8391a3", grid: { stroke: "#232c3a" }, ticks: { stroke: "#232c3a" },
          values: (u, v) => v.map((x) => +x.toFixed(1) + " s") },
        { stroke: "#c9d3df", size: 48, grid: { stroke: "#232c3a" }, ticks: { show: false },
          splits: () => m.ch_names.map((_, i) => -2 * i * scale()),
          values: () => m.ch_names },
      ],
      series: [{}].concat(m.ch_names.map((c) => ({ label: c, stroke: "#7fc4ff", width: 1, points: { show: false } }))),
    };
    S.centers = centers;
    S.traces = new uPlot(opts, [[], ...m.ch_names.map(() => [])], el);
  }

  function buildSpectrum() {
    const m = S.meta, el = q("spectrum");
    el.innerHTML = "";
    const palette = ["#7fc4ff", "#ffb86b", "#7ee787", "#ff7b9c", "#d2a8ff", "#f2cc60", "#56d4dd", "#ff9e64"];
    const opts = {
      width: Math.max(300, el.clientWidth), height: 220,
      legend: { show: true, live: false }, cursor: { show: false },
      scales: { x: { time: false } },
      axes: [
        { stroke: "#8391a3", grid: { stroke: "#232c3a" }, values: (u, v) => v.map((x) => x + " Hz") },
        { stroke: "#8391a3", grid: { stroke: "#232c3a" }, size: 44 },
      ],
      series: [{}].concat(m.ch_names.map((c, i) => ({ label: c, stroke: palette[i % palette.length], width: 1, points: { show: false } }))),
      hooks: { draw: [(u) => {
        const x = u.valToPos(m.line_freq, "x", true), ctx = u.ctx;
        if (!isFinite(x)) return;
        ctx.save(); ctx.strokeStyle = "#e5484d"; ctx.setLineDash([4, 4]); ctx.lineWidth = 1;
        ctx.beginPath(); ctx.moveTo(x, u.bbox.top); ctx.lineTo(x, u.bbox.top + u.bbox.height); ctx.stroke();
        ctx.restore();
      }] },
    };
    S.spectrum = new uPlot(opts, [[], ...m.ch_names.map(() => [])], el);
    const leg = el.querySelector(".u-legend");
    if (leg) leg.style.display = "table";
  }

  function buildGauges() {
    const el = q("gauges");
    el.innerHTML = "";
    S.gauges = {};
    for (const name of S.meta.estimates) {
      const row = document.createElement("div");
      row.className = "gauge";
      row.innerHTML = '<span class="name"></span><div class="bar"><div class="fill"></div><div class="thr hidden"></div></div><span class="val mono"></span>';
      row.querySelector(".name").textContent = name;
      el.appendChild(row);
      S.gauges[name] = { row, fill: row.querySelector(".fill"), thr: row.querySelector(".thr"), val: row.querySelector(".val") };
    }
  }

  const SVG = "http://www.w3.org/2000/svg";
  function svg(tag, attrs, parent) {
    const e = document.createElementNS(SVG, tag);
    for (const k in attrs) e.setAttribute(k, attrs[k]);
    if (parent) parent.appendChild(e);
    return e;
  }

  function buildHead() {
    const head = q("head");
    head.innerHTML = "";
    svg("circle", { cx: 0, cy: 0, r: 1, fill: "#1b2330", stroke: "#4a5a70", "stroke-width": 0.02 }, head);
    svg("path", { d: "M -0.12 -0.99 L 0 -1.14 L 0.12 -0.99", fill: "none", stroke: "#4a5a70", "stroke-width": 0.02 }, head);
    svg("path", { d: "M -1 -0.1 q -0.1 0.1 0 0.2 M 1 -0.1 q 0.1 0.1 0 0.2", fill: "none", stroke: "#4a5a70", "stroke-width": 0.02 }, head);
    S.dots = [];
    const off = [];
    // dots as large as the montage's closest pair allows (16 frontal channels crowd)
    const pts = S.meta.positions.filter(Boolean);
    let near = 1;
    for (let i = 0; i < pts.length; i++) for (let j = i + 1; j < pts.length; j++) {
      near = Math.min(near, Math.hypot(pts[i][0] - pts[j][0], pts[i][1] - pts[j][1]));
    }
    const r = Math.max(0.05, Math.min(0.13, 0.48 * near));
    S.meta.ch_names.forEach((name, i) => {
      const p = S.meta.positions[i];
      if (!p) { off.push(i); S.dots.push(null); return; }
      const g = svg("g", { "data-ch": name }, head);
      const c = svg("circle", { cx: p[0], cy: -p[1], r: r, class: "dot q-none", fill: "#3a4558", stroke: "#10141a", "stroke-width": 0.02 }, g);
      const fs = (name.length > 3 ? 0.65 : 0.85) * r;
      const t = svg("text", { x: p[0], y: -p[1] + 0.35 * fs, "text-anchor": "middle", "font-size": fs, fill: "#0c1016", "font-weight": 700 }, g);
      t.textContent = name;
      S.dots.push(c);
    });
    S.offhead = off;
    q("offhead").textContent = "";
  }

  const QCOL = { clean: "#2fbf71", artifact: "#e8b339", noisy: "#e8803a", railed: "#e5484d", flat: "#8e7cc3" };
  function paintHead(classes) {
    if (!S.dots || !classes) return;
    const offText = [];
    classes.forEach((c, i) => {
      const d = S.dots[i];
      if (d) { d.setAttribute("fill", QCOL[c] || "#3a4558"); d.setAttribute("data-q", c); }
      else offText.push(S.meta.ch_names[i] + ": " + c);
    });
    q("offhead").textContent = offText.length ? "not on the 10-20 map: " + offText.join(", ") : "";
  }

  // ---------------------------------------------------------------- messages
  function onMeta(m) {
    S.meta = m; stats.meta = m;
    S.t = []; S.y = m.ch_names.map(() => []);
    const src = m.source && (m.source.name || m.source.kind) ? (m.source.name || m.source.kind) : "";
    q("source").textContent = [m.profile, m.sfreq + " Hz", m.ch_names.length + " ch", src, m.mode].filter(Boolean).join(" · ");
    q("trace-info").textContent = "1-45 Hz causal filters, " + m.display_rate.toFixed(0) + " Hz shown";
    for (const [id, name] of [["btn-pause", "pause"], ["btn-mark", "mark"], ["btn-stop", "stop"]]) {
      q(id).disabled = !m.controls.includes(name);
    }
    buildTraces(); buildSpectrum(); buildGauges(); buildHead();
    q("est-panel").classList.toggle("hidden", !m.estimates.length);
    if (m.mode === "signal check") {  // the check first, then the head map
      const right = q("head-panel").parentNode;
      right.insertBefore(q("check-panel"), right.firstChild);
      right.insertBefore(q("head-panel"), q("check-panel").nextSibling);
    }
  }

  function onTrace(m) {
    if (!S.meta) return;
    const keep = Math.ceil(S.meta.trace_seconds * S.meta.display_rate * 1.05);
    for (const t of m.t) S.t.push(t);
    m.y.forEach((row, i) => { const a = S.y[i]; for (const v of row) a.push(v); });
    if (S.t.length > keep * 1.5) {
      const cut = S.t.length - keep;
      S.t = S.t.slice(cut); S.y = S.y.map((a) => a.slice(cut));
    }
    S.lastTw = m.tw; S.dirty = true;
  }

  function onWindow(m) {
    stats.windows++; stats.est = m.est; stats.q = m.q; stats.lastWindow = m;
    S.pendingWindow = m;
  }

  function renderWindow(m) {
    for (const name in m.est) {
      const g = S.gauges && S.gauges[name];
      if (!g) continue;
      const v = m.est[name];
      if (v === null || !isFinite(v)) { g.val.textContent = "n/a"; g.fill.style.width = "0"; continue; }
      let lo = S.lo[name] = Math.min(S.lo[name] ?? v, v);
      let hi = S.hi[name] = Math.max(S.hi[name] ?? v, v);
      const thr = S.thresholds[name];
      if (thr !== undefined && thr !== null && isFinite(thr)) { lo = Math.min(lo, thr); hi = Math.max(hi, thr); }
      const span = hi - lo > 1e-12 ? hi - lo : 1;
      g.fill.style.width = (100 * (hi - lo > 1e-12 ? (v - lo) / span : 0.5)).toFixed(1) + "%";
      if (thr !== undefined && thr !== null && isFinite(thr)) {
        g.thr.classList.remove("hidden"); g.thr.style.left = (100 * (thr - lo) / span).toFixed(1) + "%";
        g.thr.title = "threshold " + fmt(thr);
      } else g.thr.classList.add("hidden");
      g.row.classList.toggle("target", name === S.target);
      g.val.textContent = fmt(v);
    }
    const gate = q("gate");
    gate.textContent = m.gated ? "gated: artifact" : "clean";
    gate.className = "badge " + (m.gated ? "bad" : "ok");
    paintHead(m.q);
  }

  function onCue(m) {
    stats.cue = m;
    q("cue-panel").classList.remove("hidden");
    S.thresholds = m.thresholds || {};
    if (m.target && isFinite(m.threshold)) S.thresholds[m.target] = m.threshold;
    S.target = m.target;
    q("block").textContent = m.block + " (" + m.kind + (m.target ? ": " + m.target + " " + m.direction : "") + ")";
    q("block-pos").textContent = m.n_blocks ? "block " + (m.block_index + 1) + " of " + m.n_blocks : "";
    q("instructions").textContent = m.instructions || "";
    const left = m.time_left;
    q("time-left").textContent = (left !== null && isFinite(left)) ? Math.round(left) + " s left" : "";
    if (m.duration) q("timebar").style.width = (100 * (1 - left / m.duration)).toFixed(1) + "%";
    const st = q("cue-state");
    const label = { reward: "REWARD", no_reward: "below target", paused: "paused", calibrating: "calibrating", baseline: "baseline" }[m.state] || m.state;
    st.textContent = label; st.className = "badge " + m.state;
    const bar = q("score-bar");
    const s = (m.score !== null && isFinite(m.score)) ? m.score : 0;
    bar.style.width = (100 * s).toFixed(0) + "%";
    bar.className = m.state === "reward" ? "reward" : "";
    q("score").textContent = (m.score !== null && isFinite(m.score)) ? "score " + m.score.toFixed(2) : "";
  }

  function onStatus(m) {
    stats.status = m;
    const e = m.elapsed || 0;
    q("clock").textContent = String(Math.floor(e / 60)).padStart(2, "0") + ":" + String(Math.floor(e % 60)).padStart(2, "0");
    q("c-dropped").textContent = m.dropped ?? "–";
    q("c-rate").textContent = (m.effective_rate && isFinite(m.effective_rate)) ? m.effective_rate.toFixed(2) + " Hz" : "–";
    q("c-windows").textContent = (m.windows ?? "–") + " (" + (m.gated ?? 0) + ")";
    const cl = m.cue_latency_ms || {};
    q("c-cue").textContent = cl.p50 !== undefined ? cl.p50.toFixed(1) + " / " + cl.p99.toFixed(1) + " ms" : "–";
    if (m.paused !== undefined) setPaused(m.paused);
  }

  function onCheck(m) {
    stats.check = m;
    q("check-panel").classList.remove("hidden");
    const v = q("check-verdict");
    v.textContent = m.verdict === "go" ? "GO" : "fix electrodes";
    v.className = "badge " + (m.verdict === "go" ? "go" : "fix");
    const body = q("check").querySelector("tbody");
    body.innerHTML = "";
    const advice = [];
    for (const c of m.channels) {
      const tr = document.createElement("tr");
      const imp = (c.impedance_kohm !== null && c.impedance_kohm !== undefined) ? c.impedance_kohm.toFixed(0) + " kΩ" : "–";
      const cells = [c.name, c.verdict === "go" ? "go" : "fix", fmt(c.rms_uv, 1), fmt(c.line_uv, 1), fmt(c.railed_pct, 0) + "%", fmt(c.drift_uv_s, 1), imp];
      cells.forEach((txt, j) => {
        const td = document.createElement("td");
        if (j === 1) { const b = document.createElement("span"); b.className = "badge " + (c.verdict === "go" ? "go" : "fix"); b.textContent = txt; td.appendChild(b); }
        else td.textContent = txt;
        if (j > 1) td.className = "mono";
        tr.appendChild(td);
      });
      body.appendChild(tr);
      if (c.verdict !== "go") advice.push(c.name + ": " + c.advice);
    }
    q("check-advice").textContent = advice.join(" · ");
    if (m.q) paintHead(m.q);
  }

  function onHistory(m) {
    stats.history = m;
    q("history-panel").classList.remove("hidden");
    q("history-who").textContent = "participant " + m.participant;
    // the session on the page is another participant's: the rows are not theirs
    const other = q("history-other");
    other.textContent = m.other || "";
    other.classList.toggle("hidden", !m.other);
    // whose session the tab shows, for a coach with several open (not when it
    // follows someone else's: the line above the table says whose that is)
    if (stats.baseTitle === undefined) stats.baseTitle = document.title;
    document.title = m.other ? stats.baseTitle : m.participant + " · " + stats.baseTitle;
    const body = q("history").querySelector("tbody");
    body.innerHTML = "";
    const pct = (v) => (v === null || v === undefined || !isFinite(v)) ? "–" : Math.round(100 * v) + "%";
    for (const s of m.sessions.slice().reverse()) {
      const tr = document.createElement("tr");
      if (s.note) {  // still running: no figures yet, and it says so
        const td = document.createElement("td");
        td.colSpan = 6;
        td.className = "running";
        td.textContent = s.note;
        tr.appendChild(td);
        body.appendChild(tr);
        continue;
      }
      const cells = [s.session ?? s.label, (s.started_at || "").slice(0, 16).replace("T", " "),
        s.target ? s.target + (s.direction === "down" ? " ↓" : " ↑") : "–",
        pct(s.time_in_target), fmt(s.regulation, 2), pct(s.artifact_share)];
      cells.forEach((txt, j) => {
        const td = document.createElement("td");
        td.textContent = txt;
        if (j >= 3) td.className = "mono";
        // a session that did not end as planned: its figures cover what it recorded
        if (j === 1 && s.status && s.status !== "complete") {
          const how = document.createElement("div");
          how.className = "muted status";
          how.textContent = s.status.replace("_", " ");
          td.appendChild(how);
        }
        tr.appendChild(td);
      });
      body.appendChild(tr);
    }
    if (!m.sessions.length) {
      const tr = document.createElement("tr"), td = document.createElement("td");
      td.colSpan = 6;
      td.className = "muted";
      const said = m.empty || ("No sessions yet for " + m.participant + ".");
      const at = m.command ? said.indexOf(m.command) : -1;
      if (at < 0) td.textContent = said;
      else {  // the command's words are never cut at their hyphens
        const code = document.createElement("code");
        code.className = "mono";
        m.command.split(" ").forEach((word, i) => {
          if (i) code.appendChild(document.createTextNode(" "));
          const w = document.createElement("span");
          w.className = "nowrap";
          w.textContent = word;
          code.appendChild(w);
        });
        td.append(said.slice(0, at), code, said.slice(at + m.command.length));
      }
      tr.appendChild(td);
      body.appendChild(tr);
    }
    // whether they improve: the slope over their sessions with its 95 % interval
    const trend = q("history-trend");
    trend.textContent = m.trend || "";
    trend.classList.toggle("hidden", !m.trend);
  }

  function onEvent(m) {
    const li = document.createElement("li");
    const t = m.t_rel !== undefined && m.t_rel !== null ? m.t_rel.toFixed(1) + " s  " : "";
    li.textContent = t + m.text;
    const ul = q("events");
    ul.insertBefore(li, ul.firstChild);
    while (ul.children.length > 60) ul.removeChild(ul.lastChild);
    stats.events.push(m.text);
    const kind = m.text.split(" ", 1)[0];
    if (Object.prototype.hasOwnProperty.call(WARNINGS, kind)) {
      showWarning(kind, m.text.slice(kind.length).trim());
      stats.warnings.push(m.text);
    }
  }

  // what the session says once and holds for the rest of it: a banner under the
  // header that stays, one line per kind (the marker's first word)
  const WARNINGS = {
    // a stream in the wrong unit gates every window
    amplitude_warning: said => "The EEG's " + said,
    // a stream sending at another rate than it declares moves every band
    rate_warning: said => said.charAt(0).toUpperCase() + said.slice(1),
    // a channel that stopped giving EEG (NaN, flat, railed, bad): one line each
    channel_warning: said => said.charAt(0).toUpperCase() + said.slice(1),
  };
  // kinds said once per channel, each on a line of its own
  const EACH = {channel_warning: true};

  function showWarning(kind, said) {
    const w = q("warning");
    const key = EACH[kind] ? kind + ":" + said : kind;
    let line = Array.from(w.children).find(d => d.dataset.key === key);
    if (!line) {
      line = document.createElement("div");
      line.dataset.kind = kind;
      line.dataset.key = key;
      w.appendChild(line);
    }
    const text = WARNINGS[kind](said);
    line.textContent = text + (text.endsWith(".") ? "" : ".");
    w.className = "banner";
  }

  function banner(text, kind) {
    const b = q("banner");
    if (!text) { b.classList.add("hidden"); return; }
    b.textContent = text; b.className = "banner" + (kind ? " " + kind : "");
  }

  function onStream(m) {
    if (m.state === "lost") banner(m.text || "The stream was lost; waiting for it to come back.");
    else if (m.state === "waiting") banner(m.text || "Waiting for the stream…", "info");
    else banner("");
    const c = q("conn");
    if (m.state === "lost") { c.textContent = "stream lost"; c.className = "badge bad"; }
    else if (m.state === "ok") { c.textContent = "live"; c.className = "badge ok"; }
  }

  function onEnd(m) {
    stats.ended = true;
    banner(m.text || "The session has ended.", "info");
    const c = q("conn"); c.textContent = "ended"; c.className = "badge wait";
    for (const id of ["btn-pause", "btn-mark", "btn-stop"]) q(id).disabled = true;
  }

  function onControls(m) {  // while the session starts (no meta yet): stop alone
    if (S.meta) return;
    for (const [id, name] of [["btn-pause", "pause"], ["btn-mark", "mark"], ["btn-stop", "stop"]]) {
      q(id).disabled = !m.controls.includes(name);
    }
  }

  const HANDLERS = { meta: onMeta, controls: onControls, trace: onTrace, window: onWindow, cue: onCue, status: onStatus,
    check: onCheck, event: onEvent, history: onHistory, stream: onStream, end: onEnd,
    spectrum: (m) => { S.specData = m; S.specDirty = true; stats.spectra++; } };

  // ---------------------------------------------------------------- drawing
  function drawTraces() {
    const s = scale(), n = S.y.length;
    const data = [S.t];
    for (let i = 0; i < n; i++) {
      const c = -2 * i * s, src = S.y[i], out = new Array(src.length);
      for (let k = 0; k < src.length; k++) {
        const v = src[k];
        out[k] = v === null ? null : c + Math.max(-s, Math.min(s, v));
      }
      data.push(out);
    }
    S.traces.setData(data);
  }

  let fpsCount = 0, fpsT = wall(), pendingTw = null;
  function frame() {
    requestAnimationFrame(frame);
    stats.frames++;
    const now = wall();
    if (pendingTw !== null) {  // the previous frame, with the window in it, has been painted
      stats.windowDelays.push(now - pendingTw);
      if (stats.windowDelays.length > 2000) stats.windowDelays.shift();
      const d = stats.windowDelays.slice(-20).sort((a, b) => a - b);
      q("c-delay").textContent = (1000 * d[Math.floor(d.length / 2)]).toFixed(0) + " ms";
      pendingTw = null;
    }
    if (S.pendingWindow) { renderWindow(S.pendingWindow); pendingTw = S.pendingWindow.tw; S.pendingWindow = null; }
    if (S.dirty && S.traces) {
      drawTraces(); S.dirty = false; stats.traceDraws++; fpsCount++;
      stats.drawTimes.push(now);
      if (stats.drawTimes.length > 2000) stats.drawTimes.shift();
      if (S.lastTw) { stats.traceDelays.push(now - S.lastTw); if (stats.traceDelays.length > 2000) stats.traceDelays.shift(); }
    }
    if (S.specDirty && S.spectrum) {
      S.spectrum.setData([S.specData.f, ...S.specData.p]); S.specDirty = false;
    }
    if (now - fpsT >= 1) {
      stats.fps = fpsCount / (now - fpsT); fpsCount = 0; fpsT = now;
      q("c-fps").textContent = stats.fps.toFixed(0) + " /s";
    }
  }

  // ---------------------------------------------------------------- connection
  let retry = 0;
  function connect() {
    const proto = location.protocol === "https:" ? "wss:" : "ws:";
    const ws = new WebSocket(proto + "//" + location.host + "/ws?token=" + encodeURIComponent(TOKEN));
    ws.onopen = () => {
      stats.connected = true; retry = 0;
      // the server sends its last events first: they replace the list (no twice on a reconnect)
      q("events").innerHTML = ""; stats.events = [];
      const c = q("conn"); c.textContent = "live"; c.className = "badge ok"; banner("");
    };
    ws.onmessage = (ev) => {
      const batch = JSON.parse(ev.data);
      for (const m of (Array.isArray(batch) ? batch : [batch])) {
        stats.messages++;
        const h = HANDLERS[m.type];
        if (h) h(m);
      }
    };
    ws.onclose = () => {
      stats.connected = false;
      if (stats.ended) return;
      const c = q("conn"); c.textContent = "disconnected"; c.className = "badge bad";
      banner("Lost the connection to the dashboard server (did the session end?); retrying…");
      retry = Math.min(retry + 1, 5);
      setTimeout(connect, 500 * retry);
    };
  }

  async function action(name, text) {
    const r = await fetch("api/action/" + name + "?token=" + encodeURIComponent(TOKEN), {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ text: text || "" }),
    });
    return r.json();
  }

  function setPaused(p) {
    S.paused = p;
    const b = q("btn-pause");
    b.textContent = p ? "resume" : "pause"; b.classList.toggle("on", p);
  }

  q("btn-pause").onclick = () => action(S.paused ? "resume" : "pause").then(() => setPaused(!S.paused));
  q("btn-mark").onclick = () => { S.marks++; action("mark", "dashboard_mark n=" + S.marks); };
  q("btn-stop").onclick = () => { if (confirm("End the session now?")) action("stop"); };
  q("scale").onchange = () => { if (S.meta) buildTraces(); S.dirty = true; };
  window.addEventListener("resize", () => {
    if (S.traces) S.traces.setSize({ width: q("traces").clientWidth, height: S.traces.height });
    if (S.spectrum) S.spectrum.setSize({ width: q("spectrum").clientWidth, height: S.spectrum.height });
  });
  window.__dashAction = action;
  connect();
  requestAnimationFrame(frame);
})();
