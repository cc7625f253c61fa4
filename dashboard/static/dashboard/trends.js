/* The charts of the last five minutes on the first screen: throughput (accepted, and
   decided by outcome), accept→outcome latency p50/p99, lag per consumer group, with the
   chaos actions as markers. The history comes over REST (/api/dashboard/history), then
   each monitor status brings one sample (Live.listeners); the client keeps a bounded
   ring (Series.push) and redraws at most once per animation frame. */
(function () {
  "use strict";
  const S = window.Series;
  const NS = "http://www.w3.org/2000/svg";
  const root = document.getElementById("trends");
  if (!root) return;
  const $ = function (id) { return document.getElementById(id); };
  /* Line colours of the lag chart, by group (legend text stays the body colour). */
  const GROUP_COLOURS = {
    payment: "#1d6fd1", inventory: "#b35c00", saga: "#7b3fb3",
    notification: "#00838f", analytics: "#5b6475", projector: "#c2185b",
  };
  let ring = [];
  let actions = [];

  function el(name, attrs, text) {
    const n = document.createElementNS(NS, name);
    Object.keys(attrs).forEach(function (k) { n.setAttribute(k, attrs[k]); });
    if (text !== undefined) n.textContent = text;
    return n;
  }

  function ago(s) { return s >= 90 ? Math.round(s / 60) + " min" : Math.round(s) + " s"; }

  function fixed(v, digits) { return v === null || v === undefined ? "–" : v.toFixed(digits); }

  function setText(id, text) {
    const node = $(id);
    if (node && node.textContent !== text) node.textContent = text;
  }

  /* One chart: axes, the series (paths), the markers; returns the svg's children. */
  function frame(svg, t0, t1, top, unit) {
    const w = Math.max(120, svg.clientWidth || 300), h = Math.max(60, svg.clientHeight || 110);
    const pad = { l: 34, r: 6, t: 12, b: 14 };
    const x = S.scale(t0, t1, pad.l, w - pad.r);
    const y = S.scale(0, top, h - pad.b, pad.t);
    const kids = [
      el("line", { x1: pad.l, y1: h - pad.b, x2: w - pad.r, y2: h - pad.b, class: "axis" }),
      el("line", { x1: pad.l, y1: pad.t, x2: w - pad.r, y2: pad.t, class: "grid" }),
      el("text", { x: pad.l - 3, y: pad.t + 4, "text-anchor": "end", class: "tick" }, top + unit),
      el("text", { x: pad.l - 3, y: h - pad.b + 4, "text-anchor": "end", class: "tick" }, "0"),
      el("text", { x: pad.l, y: h - 2, class: "tick" }, "−" + ago(t1 - t0)),
      el("text", { x: w - pad.r, y: h - 2, "text-anchor": "end", class: "tick" }, "now"),
    ];
    S.marks(actions, t0, t1).forEach(function (a) {
      const g = el("g", { class: "marker " + a.action });
      g.append(el("line", { x1: x(a.t), y1: pad.t - 4, x2: x(a.t), y2: h - pad.b }));
      g.append(el("title", {}, S.label(a) + " at " + new Date(a.t * 1000).toLocaleTimeString([], { hour12: false })));
      const right = x(a.t) > (pad.l + w - pad.r) / 2;  // the label on the side with room
      g.append(el("text", {
        x: x(a.t) + (right ? -2 : 2), y: pad.t - 3, class: "marker-label",
        "text-anchor": right ? "end" : "start",
      }, S.label(a)));
      kids.push(g);
    });
    return { kids: kids, x: x, y: y };
  }

  function draw() {
    const last = ring.length ? ring[ring.length - 1] : null;
    const t1 = last ? last.t : Date.now() / 1000;
    const t0 = S.start(ring, t1);
    root.dataset.samples = String(ring.length);

    const r = S.rates(ring);
    const now = r.length ? r[r.length - 1] : null;
    const top1 = S.niceMax(Math.max(S.maxOf(r, "accepted"), S.maxOf(r, "decided")));
    const f1 = frame($("trend-throughput"), t0, t1, top1, "/s");
    const zero = function () { return 0; };
    const completed = function (p) { return p.completed; };
    const decided = function (p) { return p.decided; };
    f1.kids.splice(2, 0,
      el("path", { d: S.area(r, zero, completed, f1.x, f1.y), class: "area completed" }),
      el("path", { d: S.area(r, completed, decided, f1.x, f1.y), class: "area cancelled" }),
      el("path", { d: S.line(r, "decided", f1.x, f1.y), class: "series decided" }),
      el("path", { d: S.line(r, "accepted", f1.x, f1.y), class: "series accepted" }));
    $("trend-throughput").replaceChildren.apply($("trend-throughput"), f1.kids);
    ["accepted", "decided", "completed", "cancelled"].forEach(function (k) {
      setText("trend-" + k, now ? fixed(now[k], 1) : "–");
    });

    const top2 = S.niceMax(Math.max(S.maxOf(ring, "p99"), S.maxOf(ring, "p50")));
    const f2 = frame($("trend-latency"), t0, t1, top2 >= 1000 ? top2 / 1000 : top2, top2 >= 1000 ? " s" : " ms");
    const y2 = S.scale(0, top2, f2.y(0), f2.y(top2 >= 1000 ? top2 / 1000 : top2));
    f2.kids.splice(2, 0,
      el("path", { d: S.line(ring, "p99", f2.x, y2), class: "series p99" }),
      el("path", { d: S.line(ring, "p50", f2.x, y2), class: "series p50" }));
    $("trend-latency").replaceChildren.apply($("trend-latency"), f2.kids);
    const ms = window.First ? window.First.ms : function (v) { return v + " ms"; };
    setText("trend-p50", last ? ms(last.p50) : "–");
    setText("trend-p99", last ? ms(last.p99) : "–");

    const groups = S.groups(ring);
    const lagOf = function (g) { return function (p) { return p.lag && g in p.lag ? p.lag[g] : null; }; };
    const top3 = S.niceMax(Math.max.apply(null, [0].concat(groups.map(function (g) { return S.maxOf(ring, lagOf(g)); }))));
    const f3 = frame($("trend-lag"), t0, t1, top3, "");
    groups.forEach(function (g, i) {
      f3.kids.splice(2 + i, 0, el("path", {
        d: S.line(ring, lagOf(g), f3.x, f3.y), class: "series lag", "data-group": g,
        stroke: GROUP_COLOURS[g] || "#1d2330",
      }));
    });
    $("trend-lag").replaceChildren.apply($("trend-lag"), f3.kids);
    const legend = $("trend-lag-now");
    const items = groups.map(function (g) {
      const span = document.createElement("span");
      span.className = "key";
      span.dataset.group = g;
      const sw = document.createElement("i");
      sw.style.background = GROUP_COLOURS[g] || "#1d2330";
      const value = document.createElement("span");
      value.className = "now";
      value.textContent = last && last.lag && g in last.lag ? String(last.lag[g]) : "–";
      span.append(sw, g + " ", value);
      return span;
    });
    const text = items.map(function (s) { return s.textContent; }).join("|");
    if (legend.dataset.text !== text) {
      legend.dataset.text = text;
      legend.replaceChildren.apply(legend, items.length ? items : [document.createTextNode("–")]);
    }
  }

  const redraw = window.First.batcher(window.requestAnimationFrame.bind(window), draw);

  function addActions(list) {
    actions = S.marks(actions.concat(list || []), -Infinity, Infinity);
    redraw();
  }

  async function load() {
    try {
      const body = await window.Live.getJson("/api/dashboard/history");
      ring = S.merge(ring, body.samples || [], S.WINDOW_S, S.MAX);
      addActions(body.actions);
    } catch (err) {
      root.dataset.error = "history not loaded: " + err.message;
    }
  }

  window.Live.listeners.push(function (msg) {
    if (msg.type === "hello") load();
    else if (msg.type === "status") {
      ring = S.push(ring, msg.sample, S.WINDOW_S, S.MAX);
      addActions(msg.chaos);
    }
  });
  window.addEventListener("resize", redraw);
  redraw();

  /* Chaos controls mark their own action at once (the monitor's status confirms it). */
  window.Trends = { mark: function (a) { addActions([a]); }, samples: function () { return ring.length; } };
})();
