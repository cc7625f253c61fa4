/* The live choreography map: services (boxes) and topics (pills) of the saga as an SVG
   graph, drawn once; Map.update(status, rates) recolours the services (First.node) and
   rewrites their figures and the edges' rates and hop latencies (p50 of the last minute,
   status.kpis.hopsP50Ms: dashboard/kpis.py). Map.light(topics) lights an order's path.
   A chaos action (status.chaos, or Map.mark right after it) labels its service for
   MARK_S seconds: "⚡ kill 13:02:11". */
(function () {
  "use strict";
  const F = window.First;
  const NS = "http://www.w3.org/2000/svg";
  const svg = document.getElementById("map");
  if (!svg) return;

  /* id: [kind, x, y, label, group or null] */
  const NODES = {
    gateway: ["svc", 5, 135, "gateway", null],
    "orders.v1": ["topic", 150, 144, "orders.v1", null],
    payment: ["svc", 320, 40, "payment", "payment"],
    inventory: ["svc", 320, 230, "inventory", "inventory"],
    saga: ["svc", 470, 135, "saga", "saga"],
    "orders.outcome.v1": ["topic", 560, 70, "orders.outcome.v1", null],
    notification: ["svc", 640, 10, "notification", "notification"],
    analytics: ["svc", 640, 135, "analytics", "analytics"],
    retry: ["topic", 150, 20, "retry 1s·4s·16s", null],
    dlq: ["topic", 150, 280, "orders.dlq.v1", null],
    projector: ["svc", 470, 260, "projector", "projector"],
  };
  const SVC = { w: 110, h: 40 };
  const TOPIC = { w: 130, h: 22 };
  /* [from, to, rate (of the KPI rates) or null, hop (of kpis.hopsP50Ms) or null] */
  const EDGES = [
    ["gateway", "orders.v1", "accepted"],
    ["orders.v1", "payment", null, "payment"],
    ["orders.v1", "inventory", null, "inventory"],
    ["payment", "saga"],
    ["inventory", "saga"],
    ["saga", "orders.outcome.v1", "decided", "saga"],
    ["orders.outcome.v1", "notification", null, "notice"],
    ["orders.outcome.v1", "analytics"],
    ["payment", "retry"],
    ["retry", "payment"],
    ["retry", "dlq"],
    ["saga", "projector"],
  ];
  const parts = {};
  const MARK_S = 90;
  let marked = [];

  function el(name, attrs, text) {
    const n = document.createElementNS(NS, name);
    Object.keys(attrs).forEach(function (k) { n.setAttribute(k, attrs[k]); });
    if (text !== undefined) n.textContent = text;
    return n;
  }

  function box(id) {
    const n = NODES[id];
    const size = n[0] === "svc" ? SVC : TOPIC;
    return { x: n[1], y: n[2], w: size.w, h: size.h, cx: n[1] + size.w / 2, cy: n[2] + size.h / 2 };
  }

  /* The point where the line from a's centre to b's centre leaves a's box. */
  function exit(a, b) {
    const dx = b.cx - a.cx, dy = b.cy - a.cy;
    const t = Math.min(Math.abs((a.w / 2) / (dx || 1e-9)), Math.abs((a.h / 2) / (dy || 1e-9)));
    return [a.cx + dx * t, a.cy + dy * t];
  }

  function draw() {
    const defs = el("defs", {});
    const marker = el("marker", { id: "arrow", viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: "auto-start-reverse" });
    marker.append(el("path", { d: "M0,0 L10,5 L0,10 z", class: "arrowhead" }));
    defs.append(marker);
    svg.append(defs);
    EDGES.forEach(function (e) {
      const a = box(e[0]), b = box(e[1]);
      const p = exit(a, b), q = exit(b, a);
      const bend = e[0] === "retry" && e[1] === "payment" ? 12 : e[0] === "payment" && e[1] === "retry" ? -12 : 0;
      const g = el("g", { class: "edge", "data-from": e[0], "data-to": e[1] });
      g.append(el("line", { x1: p[0], y1: p[1] + bend / 3, x2: q[0], y2: q[1] + bend / 3, "marker-end": "url(#arrow)" }));
      if (e[2] || e[3]) {
        const t = el("text", { x: (p[0] + q[0]) / 2, y: (p[1] + q[1]) / 2 - 8, class: "rate", "text-anchor": "middle" }, "");
        if (e[3]) {
          t.setAttribute("data-hop", e[3]);
          g.append(el("title", {}, e[3] + " hop: p50 of the orders decided in the last minute"));
        }
        parts["label-" + e[0] + ">" + e[1]] = t;
        g.append(t);
      }
      svg.append(g);
    });
    Object.keys(NODES).forEach(function (id) {
      const n = NODES[id], b = box(id);
      const g = el("g", { class: "node " + n[0] + " unknown", "data-node": id });
      g.append(el("rect", { x: b.x, y: b.y, width: b.w, height: b.h, rx: n[0] === "svc" ? 6 : 11 }));
      if (n[0] === "svc") {
        g.append(el("text", { x: b.cx, y: b.y + 16, "text-anchor": "middle", class: "name" }, n[3]));
        const figures = el("text", { x: b.cx, y: b.y + 32, "text-anchor": "middle", class: "figures" }, "–");
        g.append(figures);
        parts["fig-" + id] = figures;
      } else {
        const t = el("text", { x: b.cx, y: b.cy + 4, "text-anchor": "middle", class: "name" }, n[3]);
        g.append(t);
        parts["fig-" + id] = t;
      }
      if (n[0] === "svc") {
        const mark = el("text", { x: b.cx, y: b.y - 3, "text-anchor": "middle", class: "mark" }, "");
        g.append(mark);
        parts["mark-" + id] = mark;
      }
      const title = el("title", {}, n[3]);
      g.append(title);
      parts["title-" + id] = title;
      parts[id] = g;
      svg.append(g);
    });
  }

  function setState(id, state, text, title) {
    parts[id].setAttribute("class", "node " + NODES[id][0] + " " + state + (parts[id].classList.contains("lit") ? " lit" : ""));
    if (text !== undefined) parts["fig-" + id].textContent = text;
    if (title !== undefined) parts["title-" + id].textContent = title;
  }

  function rate(value) {
    return value === null || value === undefined ? "" : value.toFixed(1) + "/s";
  }

  function update(status, r) {
    const groups = {};
    (status.groups || []).forEach(function (g) { groups[g.group] = g; });
    const procs = status.processes || {};
    const health = {};
    ((status.health || {}).services || []).forEach(function (h) { health[h.name] = h; });
    Object.keys(NODES).forEach(function (id) {
      const n = NODES[id];
      if (n[0] !== "svc") return;
      if (id === "gateway") {
        const h = health.gateway, relay = health.relay;
        const p = procs.gateway;
        const down = (h && h.status === "down") || (relay && relay.status === "down") || (p && p.running === 0);
        const state = down ? "down" : h || p ? "up" : "unknown";
        const parts2 = ["+ relay " + (relay ? relay.status : "?")];
        if (p && p.restarts) parts2.push("↻ " + p.restarts);
        setState(id, state, parts2.join(" · "), "gateway: " + (h ? h.status : "?") + "; relay: " + (relay ? relay.detail : "?"));
        return;
      }
      const node = F.node(groups[n[4]], procs[id]);
      setState(id, node.state, F.nodeText(node), n[3] + ": " + node.state + " · " + F.nodeText(node));
    });
    let retryLag = 0;
    (status.groups || []).forEach(function (g) {
      g.topics.forEach(function (t) {
        if (t.topic.indexOf("orders.retry.") === 0) {
          t.partitions.forEach(function (p) { retryLag += p.lag || 0; });
        }
      });
    });
    setState("retry", retryLag ? "lagging" : "up", undefined, "retry tiers: " + retryLag + " records waiting");
    const k = status.kpis;
    const dlq = k ? k.dlqPending : null;
    setState("dlq", dlq ? "down" : dlq === 0 ? "up" : "unknown", "orders.dlq.v1" + (dlq ? " · " + dlq : ""),
      "dead letters pending: " + (dlq === null ? "?" : dlq));
    setState("orders.v1", "up");
    setState("orders.outcome.v1", "up");
    const hops = (k && k.hopsP50Ms) || {};
    EDGES.forEach(function (e) {
      if (!e[2] && !e[3]) return;
      const text = [e[2] && r ? rate(r[e[2]]) : "", e[3] && hops[e[3]] !== null && hops[e[3]] !== undefined ? F.ms(hops[e[3]]) : ""]
        .filter(Boolean).join(" · ");
      const node = parts["label-" + e[0] + ">" + e[1]];
      if (node.textContent !== text) node.textContent = text;
    });
    marks(status.chaos || [], status.at ? Date.parse(status.at) / 1000 : Date.now() / 1000);
  }

  /* Label each service with its latest chaos action of the last MARK_S seconds. */
  function marks(actions, now) {
    marked = marked.concat(actions).filter(function (a) { return now - a.t <= MARK_S; });
    const latest = {};
    marked.forEach(function (a) {
      const id = String(a.target).split(".")[0];
      if (parts["mark-" + id] && (!latest[id] || latest[id].t <= a.t)) latest[id] = a;
    });
    Object.keys(NODES).forEach(function (id) {
      const node = parts["mark-" + id];
      if (!node) return;
      const a = latest[id];
      const text = a ? "⚡ " + a.action + " " + new Date(a.t * 1000).toLocaleTimeString([], { hour12: false }) : "";
      if (node.textContent !== text) node.textContent = text;
      parts[id].classList.toggle("chaos", !!a);
    });
  }

  /* Light the nodes an order passed (topics and services of its timeline); none: clear. */
  function light(ids) {
    Object.keys(NODES).forEach(function (id) { parts[id].classList.toggle("lit", ids.indexOf(id) >= 0); });
  }

  draw();
  window.ChoreoMap = {
    update: update, light: light, NODES: NODES,
    mark: function (a) { marks([a], Date.now() / 1000); },
  };
})();
