// SPDX-License-Identifier: Apache-2.0
// The learner's dashboard: polls /history, /status and /config on the
// status port and draws with dygraphs.  Text from the network (actor host
// names, flag values) goes into the page as text, never as markup.
"use strict";
(function () {
  const POLL_MS = 2000;
  // One chart per panel: [id, title, columns, labels, {column: options}].
  const CHARTS = [
    ["return", "Episode return", ["mean_return", "eval_return"],
     ["mean of last 100", "evaluation"], {eval_return: {drawPoints: true, pointSize: 3, strokeWidth: 0}}],
    ["speed", "Throughput", ["frames_per_s", "updates_per_s"],
     ["frames/s", "updates/s (right)"], {updates_per_s: {axis: "y2"}}],
    ["loss", "Loss terms", ["pg_loss", "baseline_loss", "entropy_loss"],
     ["policy", "baseline", "entropy"], {}],
    ["entropy", "Policy entropy", ["entropy"], ["entropy"], {}],
    ["grad", "Gradient norm (before clipping)", ["grad_norm"], ["norm"], {}],
    ["lr", "Learning rate", ["lr"], ["lr"], {}],
    ["lag", "Policy lag (updates)", ["lag_mean", "lag_max"], ["mean", "max"], {}],
    ["store", "Store depth (unrolls)", ["store_depth"], ["depth"], {}],
    ["drops", "Dropped messages by reason", null, null, {}],
  ];
  const H = { instance: null, stride: 0, columns: [], index: {}, rows: [], last: null };
  const charts = {};
  const prevActors = {};
  let prevUptime = null;
  window.impalaDash = { charts: charts, history: H };

  const $ = (id) => document.getElementById(id);
  const fmt = (v, d) => (v === null || v === undefined || !isFinite(v)) ? "–"
    : Math.abs(v) >= 1e6 ? (v / 1e6).toFixed(2) + "M"
    : Math.abs(v) >= 1e4 ? (v / 1e3).toFixed(1) + "k" : (+v).toFixed(d);

  // Axis ticks: k and M for large numbers, 3 significant digits otherwise.
  const axisTick = (v) => v === 0 ? "0" : Math.abs(v) >= 1e4 ? fmt(v, 0)
    : Math.abs(v) < 1e-2 ? v.toExponential(1) : String(+v.toPrecision(3));

  function el(tag, text, cls) {
    const e = document.createElement(tag);
    if (text !== undefined) e.textContent = text;
    if (cls) e.className = cls;
    return e;
  }

  async function getJSON(path) {
    const r = await fetch(path, { cache: "no-store" });
    if (!r.ok) throw new Error(path + ": HTTP " + r.status);
    return r.json();
  }

  // Drops: every reason that has dropped something, else the total.
  function dropColumns() {
    const reasons = H.columns.filter((c) => c.startsWith("dropped_"));
    const rows = H.rows.concat(H.last ? [H.last] : []);
    const seen = reasons.filter((c) => rows.some((r) => r[H.index[c]] > 0));
    return seen.length ? seen : ["dropped"];
  }

  function chartData(cols) {
    const rows = H.rows.slice();
    if (H.last && (!rows.length || H.last[0] > rows[rows.length - 1][0])) rows.push(H.last);
    const fx = H.index.frames;
    return rows.map((r) => [r[fx]].concat(cols.map((c) => r[H.index[c]])));
  }

  function drawChart(spec) {
    const [id, title, fixed, fixedLabels, series] = spec;
    const cols = fixed || dropColumns();
    const labels = ["frames"].concat(fixedLabels || cols.map((c) => c.replace("dropped_", "")));
    const data = chartData(cols);
    if (!data.length) return;
    const c = charts[id];
    if (c && c.cols.join() === cols.join()) {
      c.g.updateOptions({ file: data });
      return;
    }
    if (c) c.g.destroy();
    let box = $("chart-" + id);
    if (!box) {
      box = el("div", undefined, "chart");
      box.id = "chart-" + id;
      box.append(el("h3", title), el("div", undefined, "plot"), el("div", undefined, "legend"));
      $("charts").append(box);
    }
    const opts = { labels: labels, series: {}, connectSeparatedPoints: true,
      legend: "always", labelsDiv: box.querySelector(".legend"),
      axes: { x: { axisLabelFormatter: (v) => fmt(v, 0) },
        y: { axisLabelFormatter: axisTick, axisLabelWidth: 56 } } };
    cols.forEach((col, i) => { if (series[col]) opts.series[labels[i + 1]] = series[col]; });
    if (Object.values(opts.series).some((s) => s.axis === "y2"))
      opts.axes.y2 = { independentTicks: true, axisLabelFormatter: axisTick };
    const g = new Dygraph(box.querySelector(".plot"), data, opts);
    // points(): rows with at least one value drawn (what the browser test
    // waits for; a row of nulls draws nothing).
    const drawn = (r) => cols.some((_, i) => Number.isFinite(g.getValue(r, i + 1)));
    charts[id] = { g: g, cols: cols,
      points: () => Array.from({ length: g.numRows() }, (_, r) => r).filter(drawn).length };
  }

  async function pollHistory() {
    const since = H.rows.length ? H.rows[H.rows.length - 1][0] + 1 : 0;
    const r = await getJSON("/history?since=" + since);
    if (H.instance !== null && (r.instance !== H.instance || r.stride !== H.stride)) {
      // A restarted learner (maybe with other flags), or a history that
      // halved: start again.
      if (r.instance !== H.instance) loadConfig().catch(() => {});
      H.instance = null;
      H.rows = [];
      return pollHistory();
    }
    H.instance = r.instance;
    H.stride = r.stride;
    H.columns = r.columns;
    H.index = {};
    r.columns.forEach((c, i) => { H.index[c] = i; });
    for (const row of r.rows) H.rows.push(row);
    H.last = r.last;
    if (H.rows.length || H.last) {
      const w = $("waiting");
      if (w) w.remove();
      CHARTS.forEach(drawChart);
    }
  }

  function tiles(st) {
    const last = H.rows.concat(H.last ? [H.last] : []).filter((r) => r[H.index.eval_return] !== null).pop();
    const items = [
      ["frames", fmt(st.frames, 0)], ["frames/s", fmt(st.frames_per_s, 0)],
      ["updates", fmt(st.updates, 0)], ["updates/s", fmt(st.updates_per_s, 1)],
      ["episodes", fmt(st.episodes, 0)], ["mean return", fmt(st.mean_return, 2)],
      ["eval return", last ? fmt(last[H.index.eval_return], 2) : "–"],
      ["policy lag", fmt(st.policy_lag.mean, 1) + " / " + fmt(st.policy_lag.max, 0)],
      ["store", st.store.depth + " / " + st.store.capacity],
      ["actors", String(st.actors.length + st.actors_omitted)],
      ["uptime", fmt(st.uptime_s / 60, 1) + " min"],
    ];
    $("tiles").replaceChildren(...items.map(([k, v]) => {
      const t = el("div", undefined, "tile");
      t.append(el("b", v), el("small", k));
      return t;
    }));
  }

  function actors(st) {
    const sorted = st.actors.slice().sort((a, b) => a.id - b.id);
    const rows = sorted.map((a) => {
      const p = prevActors[a.id];
      const dt = prevUptime === null ? 0 : st.uptime_s - prevUptime;
      const fps = p !== undefined && dt > 0 ? (a.frames - p) / dt : null;
      const tr = el("tr");
      tr.append(el("td", String(a.id), "num"), el("td", a.host),
        el("td", fmt(fps, 0), "num"), el("td", fmt(a.last_seen_s, 1) + " s ago", "num"),
        el("td", String(a.lag), "num"));
      return tr;
    });
    for (const k of Object.keys(prevActors)) delete prevActors[k];
    st.actors.forEach((a) => { prevActors[a.id] = a.frames; });
    prevUptime = st.uptime_s;
    $("actors").tBodies[0].replaceChildren(...rows);
    $("nactors").textContent = st.actors_omitted ? "(" + st.actors_omitted + " more not listed)" : "";
  }

  async function pollStatus() {
    const st = await getJSON("/status");
    $("env").textContent = st.env + " · " + st.tag;
    $("run").textContent = "run " + st.run_id + " · OpenBLAS " + st.blas_core;
    tiles(st);
    actors(st);
  }

  async function loadConfig() {
    const cfg = await getJSON("/config");
    $("config").tBodies[0].replaceChildren(...Object.keys(cfg).map((k) => {
      const tr = el("tr");
      tr.append(el("td", k), el("td", cfg[k] === null ? "–" : String(cfg[k])));
      return tr;
    }));
  }

  async function tick() {
    try {
      await Promise.all([pollHistory(), pollStatus()]);
      $("conn").textContent = "";
    } catch (e) {
      $("conn").textContent = "learner unreachable, retrying (" + e.message + ")";
    }
    setTimeout(tick, POLL_MS);
  }

  loadConfig().catch((e) => { $("conn").textContent = "no configuration: " + e.message; });
  tick();
})();
