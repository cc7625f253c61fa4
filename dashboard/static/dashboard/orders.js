/* The first screen: the KPI strip and the map (from the monitor's status), the compact
   order form (product, quantity, lines; a burst of N), the live orders table and the
   timeline drawer. Every DOM update is batched per animation frame (First.batcher). */
(function () {
  "use strict";
  const S = window.Stream;
  const F = window.First;
  const LIMIT = 100;
  let rows = [];
  let products = [];
  let lines = [];
  let openOrder = null;
  let status = null;
  let previous = null;
  let current = null;
  let lastAt = null;
  const dirty = { orders: false, status: false, products: false };
  const $ = function (id) { return document.getElementById(id); };

  function cell(text, cls) {
    const td = document.createElement("td");
    td.textContent = text === null || text === undefined ? "" : String(text);
    if (cls) td.className = cls;
    return td;
  }

  const frame = F.batcher(window.requestAnimationFrame.bind(window), function () {
    if (dirty.orders) renderOrders();
    if (dirty.products) renderProducts();
    if (dirty.status) renderStatus();
    dirty.orders = dirty.products = dirty.status = false;
  });

  function mark(what) {
    dirty[what] = true;
    frame();
  }

  /* ---- catalogue and the order lines ---- */
  function renderProducts() {
    const select = $("product");
    const chosen = select.value;
    select.replaceChildren();
    products.forEach(function (p) {
      const option = document.createElement("option");
      option.value = p.productId;
      option.textContent = p.productId + " · " + p.name + " · " + p.price + " (" + p.available + " left)";
      select.append(option);
    });
    if (chosen) select.value = chosen;
  }

  function renderLines() {
    const list = $("lines");
    list.replaceChildren();
    lines.forEach(function (line, i) {
      const li = document.createElement("li");
      li.textContent = line.quantity + " × " + line.productId + " ";
      const remove = document.createElement("button");
      remove.type = "button";
      remove.textContent = "×";
      remove.setAttribute("aria-label", "remove " + line.productId);
      remove.onclick = function () { lines.splice(i, 1); renderLines(); };
      li.append(remove);
      list.append(li);
    });
  }

  function addLine() {
    const product = products.find(function (p) { return p.productId === $("product").value; });
    const quantity = Math.max(1, Math.min(100, Number($("quantity").value) || 1));
    if (!product) return;
    const same = lines.find(function (l) { return l.productId === product.productId; });
    if (same) same.quantity = Math.min(100, same.quantity + quantity);
    else lines.push({ productId: product.productId, quantity: quantity, price: product.price });
    renderLines();
  }

  /* ---- live orders ---- */
  function renderOrders() {
    const body = $("orders");
    const f = { status: $("status-filter").value, text: $("text-filter").value };
    const out = document.createDocumentFragment();
    rows.filter(function (o) { return S.matches(o, f); }).forEach(function (o) {
      const tr = document.createElement("tr");
      tr.dataset.orderId = o.orderId;
      tr.className = "status-" + o.status.toLowerCase() + (o.orderId === openOrder ? " selected" : "");
      tr.tabIndex = 0;
      const st = o.status + (o.cancelReason ? " (" + o.cancelReason + ")" : "");
      tr.append(cell(o.orderId, "id"), cell(o.userId), cell(o.amount + " " + o.currency),
        cell(st, "status"), cell(new Date(o.updatedAt).toLocaleTimeString([], { hour12: false })));
      tr.onclick = function () { showTimeline(o.orderId); };
      tr.onkeydown = function (e) { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); showTimeline(o.orderId); } };
      out.append(tr);
    });
    body.replaceChildren(out);
  }

  /* ---- KPIs and the map ---- */
  function setText(id, text) {
    const node = $(id);
    if (node.textContent !== text) node.textContent = text;
  }

  function renderStatus() {
    if (!status) return;
    const k = status.kpis;
    const r = F.rates(previous, current);
    setText("kpi-accepted", r ? r.accepted.toFixed(1) : "–");
    setText("kpi-decided", r ? r.decided.toFixed(1) : "–");
    if (k) {
      setText("kpi-inflight", String(k.inFlight));
      setText("kpi-completed", String(k.completed));
      setText("kpi-cancelled", String(k.cancelled));
      const reasons = Object.keys(k.cancelledBy).map(function (why) { return why.replace(/_/g, " ") + " " + k.cancelledBy[why]; });
      setText("kpi-reasons", reasons.join(" · ") || "none");
      setText("kpi-latency", F.ms(k.p50Ms) + " / " + F.ms(k.p99Ms));
      setText("kpi-dlq", String(k.dlqPending));
      $("kpi-dlq-box").classList.toggle("alert", k.dlqPending > 0);
    }
    const lag = (status.groups || []).reduce(function (sum, g) { return sum + g.lag; }, 0);
    setText("kpi-lag", status.groups && status.groups.length ? String(lag) : "–");
    $("kpi-lag-box").classList.toggle("warn", lag > F.LAGGING);
    window.ChoreoMap.update(status, r);
  }

  function onStatus(msg) {
    if (!msg) return;
    status = msg;
    lastAt = new Date(msg.at);
    previous = current;
    current = { at: lastAt.getTime(), kpis: msg.kpis };
    mark("status");
  }

  setInterval(function () {
    if (!lastAt) { $("status-age").textContent = "waiting for the monitor…"; return; }
    const age = (Date.now() - lastAt.getTime()) / 1000;
    $("status-age").textContent = age > 6 ? "monitor silent for " + age.toFixed(0) + " s" : "";
    $("status-age").className = age > 6 ? "note down" : "note";
  }, 1000);

  /* ---- feed ---- */
  async function snapshot() {
    const st = $("status-filter").value;
    const [page, catalogue, monitor] = await Promise.all([
      Live.getJson("/api/orders?limit=" + LIMIT + (st ? "&status=" + st : "")),
      Live.getJson("/api/products"),
      Live.getJson("/api/dashboard/status").catch(function () { return { status: null }; }),
    ]);
    rows = page.results;
    products = catalogue.results || catalogue;
    if (!status) onStatus(monitor.status);
    mark("products");
    mark("orders");
    if (openOrder) showTimeline(openOrder);
  }

  function change(msg) {
    (msg.orders || []).forEach(function (o) { rows = S.upsert(rows, o, LIMIT); });
    (msg.products || []).forEach(function (p) {
      products = products.map(function (q) { return q.productId === p.productId ? p : q; });
    });
    if ((msg.products || []).length) mark("products");
    mark("orders");
    if (openOrder && (msg.orders || []).some(function (o) { return o.orderId === openOrder; })) {
      showTimeline(openOrder);
    }
  }

  /* ---- timeline ---- */
  const SERVICE_OF = {
    "orders.v1": ["gateway", "orders.v1", "payment", "inventory"],
    "payments.v1": ["payment", "saga"],
    "inventory.v1": ["inventory", "saga"],
    "orders.outcome.v1": ["saga", "orders.outcome.v1", "notification", "analytics"],
    "orders.dlq.v1": ["dlq"],
  };

  async function showTimeline(orderId) {
    openOrder = orderId;
    const order = await Live.getJson("/api/orders/" + encodeURIComponent(orderId));
    $("timeline").hidden = false;
    $("timeline-id").textContent = orderId;
    $("timeline-summary").textContent = order.status +
      (order.cancelReason ? " (" + order.cancelReason + ")" : "") + " · payment " +
      (order.payment.status || "…") + " · inventory " + (order.inventory.status || "…") +
      " · notification " + (order.notification.status || "…");
    const body = $("timeline-rows");
    body.replaceChildren();
    const path = [];
    order.timeline.forEach(function (e) {
      const tr = document.createElement("tr");
      const kind = /refunded|released/.test(e.type) ? "compensation"
        : e.type === "retry.scheduled" ? "retry"
        : e.type === "dlq.recorded" ? "dead-letter" : "";
      tr.className = kind;
      tr.append(cell(e.type), cell(e.topic), cell(e.partition), cell(e.offset),
        cell(new Date(e.occurredAt).toISOString().slice(11, 23)),
        cell(e.hopLatencyMs === null ? "" : e.hopLatencyMs + " ms"),
        cell((kind ? kind + " · " : "") + JSON.stringify(e.data).slice(0, 120), "data"));
      body.append(tr);
      (SERVICE_OF[e.topic] || []).forEach(function (id) { path.push(id); });
      if (kind === "retry") path.push("retry");
    });
    window.ChoreoMap.light(path);
    mark("orders");
  }

  async function place(userId, items) {
    const result = await Live.sendJson("POST", "/api/orders", { userId: userId, items: items });
    if (result.ok) rows = S.upsert(rows, result.data, LIMIT);
    return result;
  }

  $("add-line").onclick = addLine;
  $("order-form").onsubmit = async function (e) {
    e.preventDefault();
    if (!lines.length) addLine();
    if (!lines.length) { $("order-result").textContent = "pick a product"; return; }
    const result = await place($("user-id").value, lines);
    $("order-result").textContent = result.ok
      ? "accepted " + result.data.orderId
      : "refused: " + JSON.stringify(result.data && (result.data.errors || result.data.detail));
    if (result.ok) { lines = []; renderLines(); mark("orders"); }
  };

  $("burst-form").onsubmit = async function (e) {
    e.preventDefault();
    const n = Math.min(200, Math.max(1, Number($("burst-count").value) || 1));
    let accepted = 0;
    for (let i = 0; i < n; i++) {
      const picks = products.slice().sort(function () { return Math.random() - 0.5; })
        .slice(0, 1 + Math.floor(Math.random() * 3));
      const items = picks.map(function (p) {
        return { productId: p.productId, quantity: 1 + Math.floor(Math.random() * 3), price: p.price };
      });
      const result = await place("user-" + (1 + Math.floor(Math.random() * 50)), items);
      if (result.ok) accepted += 1;
      $("burst-result").textContent = accepted + " of " + n + " accepted";
      mark("orders");
    }
  };

  $("status-filter").onchange = function () { snapshot(); };
  $("text-filter").oninput = function () { mark("orders"); };
  $("timeline-close").onclick = function () {
    openOrder = null;
    $("timeline").hidden = true;
    window.ChoreoMap.light([]);
    mark("orders");
  };

  /* #order=<id> (the auditor's drill-down links) opens that order's timeline. */
  function fromHash() {
    const m = location.hash.match(/^#order=(.+)$/);
    if (m) showTimeline(decodeURIComponent(m[1])).catch(function (err) {
      $("order-result").textContent = "order " + decodeURIComponent(m[1]) + ": " + err.message;
    });
  }
  window.addEventListener("hashchange", fromHash);
  fromHash();

  Live.start({ snapshot: snapshot, change: change, status: onStatus });
})();
