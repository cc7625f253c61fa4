/* Top products: a hand-drawn SVG bar chart of the newest window, redrawn on each snapshot. */
(function () {
  "use strict";
  const KINDS = { tumbling_1m: "1m", hopping_5m: "5m" };
  const $ = function (id) { return document.getElementById(id); };
  const NS = "http://www.w3.org/2000/svg";

  function el(name, attrs, text) {
    const node = document.createElementNS(NS, name);
    Object.keys(attrs).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function draw(body) {
    const svg = $("chart");
    svg.replaceChildren();
    const by = body.by;
    const value = function (r) { return Number(by === "units" ? r.units : r.revenue); };
    const series = [["ordered (demand)", body.demand, "demand"], ["sold (completed)", body.sales, "sales"]];
    const max = Math.max(1, ...series.flatMap(function (s) { return s[1].map(value); }));
    series.forEach(function (s, col) {
      const x0 = col * 380;
      svg.append(el("text", { x: x0 + 4, y: 16, class: "title" }, s[0] + " by " + by));
      s[1].slice(0, 10).forEach(function (r, i) {
        const y = 28 + i * 28;
        const w = Math.round((value(r) / max) * 230);
        svg.append(el("text", { x: x0 + 4, y: y + 15, class: "label" }, r.productId));
        svg.append(el("rect", { x: x0 + 80, y: y, width: Math.max(w, 1), height: 20, class: "bar " + s[2] }));
        svg.append(el("text", { x: x0 + 86 + w, y: y + 15, class: "value" }, String(value(r))));
      });
    });
    const w = body.window;
    $("window-info").textContent = w
      ? w.kind + " " + w.start.slice(11, 19) + "–" + w.end.slice(11, 19) + " UTC · published " +
        w.publishedAt.slice(11, 19) + " · late events " + w.lateEvents
      : "waiting for the first snapshot…";
  }

  async function snapshot() {
    draw(await Live.getJson("/api/analytics/top-products?limit=10&window=" + $("window").value + "&by=" + $("by").value));
  }

  function change(msg) {
    const shown = $("window").value;
    if ((msg.topProducts || []).some(function (k) { return KINDS[k] === shown; })) snapshot();
  }

  $("window").onchange = snapshot;
  $("by").onchange = snapshot;
  Live.start({ snapshot: snapshot, change: change });
})();
