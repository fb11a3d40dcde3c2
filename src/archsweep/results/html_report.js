// archsweep interactive report: vanilla JS + SVG, no network. Reads the JSON in #archsweep-data.
"use strict";
(function () {
  const D = JSON.parse(document.getElementById("archsweep-data").textContent);
  const NS = "http://www.w3.org/2000/svg";
  const R = D.rows, N = R.candidate_id.length;
  const tip = document.getElementById("tip");
  const PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];
  const fmt = (v) => (typeof v === "number" ? (Number.isInteger(v) ? String(v) : v.toPrecision(4)) : String(v));
  const el = (tag, attrs, parent) => {
    const e = document.createElementNS(NS, tag);
    for (const k in attrs) e.setAttribute(k, attrs[k]);
    if (parent) parent.appendChild(e);
    return e;
  };
  const numericCols = Object.keys(R).filter((c) => typeof R[c].find((v) => v !== null) === "number");

  function describe(i) {
    const lines = [`<b>${R.candidate_id[i]}</b> &middot; ${R.workload[i]}` + (R.scenario ? ` &middot; ${R.scenario[i]}` : "")];
    lines.push(D.objectives.map((o) => `${o.column} = ${fmt(R[o.column][i])}`).join("<br>"));
    lines.push("<i>design</i>: " + D.params.map((p) => `${p}=${fmt(R[p][i])}`).join(", "));
    lines.push("<i>mapping</i>: " + D.mapping.map((p) => `${p}=${fmt(R[p][i])}`).join(", "));
    const total = D.parts.reduce((s, p) => s + (R[p][i] || 0), 0);
    lines.push("<i>step time</i>: " + D.parts.filter((p) => R[p][i] > 0)
      .map((p) => `${p.replace(/_s$/, "")} ${fmt(R[p][i])} s (${Math.round((100 * R[p][i]) / total)}%)`).join(", "));
    return lines.join("<br>");
  }
  function show(evt, i) {
    tip.innerHTML = describe(i);
    tip.style.display = "block";
    tip.style.left = evt.pageX + 12 + "px";
    tip.style.top = evt.pageY + 12 + "px";
  }
  const hide = () => { tip.style.display = "none"; };

  function selected() {
    const w = document.getElementById("workload").value;
    const s = document.getElementById("scenario").value;
    const out = [];
    for (let i = 0; i < N; i++) {
      if ((w === "*" || R.workload[i] === w) && (!R.scenario || s === "*" || R.scenario[i] === s)) out.push(i);
    }
    return out;
  }
  function scale(values, lo, hi) {
    let mn = Math.min(...values), mx = Math.max(...values);
    if (!(mx > mn)) { mn -= 1; mx += 1; }
    return (v) => lo + ((v - mn) / (mx - mn)) * (hi - lo);
  }
  function axisLabels(svg, xs, ys, xName, yName, W, H) {
    el("line", { x1: 60, y1: H - 40, x2: W - 10, y2: H - 40, stroke: "#333" }, svg);
    el("line", { x1: 60, y1: 10, x2: 60, y2: H - 40, stroke: "#333" }, svg);
    el("text", { x: W / 2, y: H - 8, "text-anchor": "middle", "font-size": 12 }, svg).textContent = xName;
    el("text", { x: 14, y: H / 2, "text-anchor": "middle", "font-size": 12, transform: `rotate(-90 14 ${H / 2})` }, svg).textContent = yName;
    [[xs, true], [ys, false]].forEach(([v, isX]) => {
      const mn = Math.min(...v), mx = Math.max(...v);
      [mn, mx].forEach((t, k) => {
        const a = isX ? { x: k ? W - 10 : 60, y: H - 26, "text-anchor": k ? "end" : "start" } : { x: 56, y: k ? 20 : H - 42, "text-anchor": "end" };
        el("text", Object.assign({ "font-size": 10 }, a), svg).textContent = fmt(t);
      });
    });
  }

  function scatter() {
    const svg = document.getElementById("scatter");
    svg.innerHTML = "";
    const W = 760, H = 460, x = document.getElementById("xcol").value, y = document.getElementById("ycol").value;
    const frontOnly = document.getElementById("frontonly").checked;
    const rows = selected().filter((i) => (!frontOnly || R.front[i]) && R[x][i] !== null && R[y][i] !== null);
    if (!rows.length) { el("text", { x: W / 2, y: H / 2, "text-anchor": "middle" }, svg).textContent = "no feasible design"; return; }
    const xs = rows.map((i) => R[x][i]), ys = rows.map((i) => R[y][i]);
    const sx = scale(xs, 64, W - 14), sy = scale(ys, H - 44, 14);
    axisLabels(svg, xs, ys, x, y, W, H);
    const groups = D.workloads;
    rows.sort((a, b) => R.front[a] - R.front[b]).forEach((i) => {
      const c = el("circle", { cx: sx(R[x][i]), cy: sy(R[y][i]), r: R.front[i] ? 4 : 2,
        fill: R.front[i] ? PALETTE[groups.indexOf(R.workload[i]) % 10] : "#bbb", "fill-opacity": R.front[i] ? 0.9 : 0.5,
        class: R.front[i] ? "front" : "background" }, svg);
      c.addEventListener("mousemove", (e) => show(e, i));
      c.addEventListener("mouseleave", hide);
    });
  }

  function parallel() {
    const svg = document.getElementById("parallel");
    svg.innerHTML = "";
    const axes = D.objectives.map((o) => o.column).concat(D.params.filter((p) => numericCols.includes(p)));
    const rows = selected().filter((i) => R.front[i]);
    const W = 960, H = 380, dx = (W - 80) / Math.max(axes.length - 1, 1);
    const scales = axes.map((a) => scale(rows.length ? rows.map((i) => R[a][i]) : [0], H - 40, 30));
    axes.forEach((a, k) => {
      const X = 40 + k * dx;
      el("line", { x1: X, y1: 30, x2: X, y2: H - 40, stroke: "#444" }, svg);
      el("text", { x: X, y: H - 22 + (k % 2) * 12, "text-anchor": "middle", "font-size": 10 }, svg).textContent = a;
    });
    rows.forEach((i) => {
      const pts = axes.map((a, k) => `${40 + k * dx},${scales[k](R[a][i])}`).join(" ");
      const line = el("polyline", { points: pts, fill: "none", stroke: PALETTE[D.workloads.indexOf(R.workload[i]) % 10],
        "stroke-opacity": 0.45, "stroke-width": 1.5, class: "pc-line" }, svg);
      line.addEventListener("mousemove", (e) => { line.setAttribute("stroke-width", 4); show(e, i); });
      line.addEventListener("mouseleave", () => { line.setAttribute("stroke-width", 1.5); hide(); });
    });
  }

  function breakdown() {
    const svg = document.getElementById("breakdown");
    svg.innerHTML = "";
    const first = D.objectives[0], sign = first.direction === "maximize" ? -1 : 1;
    const rows = selected().filter((i) => R.front[i]).sort((a, b) => sign * (R[first.column][a] - R[first.column][b])).slice(0, 30);
    const W = 960, H = 40 + rows.length * 16 + 30;
    svg.setAttribute("height", H);
    const totals = rows.map((i) => D.parts.reduce((s, p) => s + (R[p][i] || 0), 0));
    const sx = (v) => 200 + (v / Math.max(...totals, 1e-30)) * (W - 360);
    rows.forEach((i, k) => {
      let acc = 0;
      el("text", { x: 195, y: 42 + k * 16, "text-anchor": "end", "font-size": 10 }, svg).textContent = `${R.candidate_id[i]} ${R.workload[i]}`;
      D.parts.forEach((p, j) => {
        const v = R[p][i] || 0;
        if (v <= 0) return;
        const r = el("rect", { x: sx(acc), y: 32 + k * 16, width: Math.max(sx(acc + v) - sx(acc), 0.5), height: 12, fill: PALETTE[j % 10], class: "bar" }, svg);
        r.addEventListener("mousemove", (e) => show(e, i));
        r.addEventListener("mouseleave", hide);
        acc += v;
      });
    });
    D.parts.forEach((p, j) => {
      el("rect", { x: W - 150, y: 10 + j * 14, width: 10, height: 10, fill: PALETTE[j % 10] }, svg);
      el("text", { x: W - 136, y: 19 + j * 14, "font-size": 10 }, svg).textContent = p;
    });
    el("text", { x: 200, y: 20, "font-size": 11 }, svg).textContent = `seconds per step, front members by ${first.column} (best first)`;
  }

  function history() {
    const svg = document.getElementById("history");
    if (!svg) return;
    const h = D.history, W = 760, H = 300;
    const xs = h.map((r) => r[0]), ys = h.map((r) => r[1]);
    const sx = scale(xs, 64, W - 14), sy = scale(ys, H - 44, 14);
    axisLabels(svg, xs, ys, "trial number", "hypervolume", W, H);
    el("polyline", { points: h.map((r) => `${sx(r[0])},${sy(r[1])}`).join(" "), fill: "none", stroke: "#1f77b4", class: "hv" }, svg);
  }

  function fill(id, values, all) {
    const s = document.getElementById(id);
    (all ? ["*"] : []).concat(values).forEach((v) => { const o = document.createElement("option"); o.value = v; o.textContent = v === "*" ? "all" : v; s.appendChild(o); });
  }
  fill("workload", D.workloads, true);
  fill("scenario", D.scenarios, true);
  if (!D.scenarios.length) document.getElementById("scenario-box").style.display = "none";
  if (D.workloads.length > 1) document.getElementById("workload").value = D.workloads[0];  // one workload: comparable scales
  const axes = D.objectives.map((o) => o.column).concat(numericCols.filter((c) => !D.objectives.some((o) => o.column === c) && c !== "front"));
  fill("xcol", axes, false);
  fill("ycol", axes, false);
  document.getElementById("ycol").value = axes[Math.min(1, axes.length - 1)];
  const redraw = () => { scatter(); parallel(); breakdown(); };
  ["workload", "scenario", "xcol", "ycol", "frontonly"].forEach((id) => document.getElementById(id).addEventListener("change", redraw));
  redraw();
  history();
  document.body.setAttribute("data-rendered", "yes");
})();
