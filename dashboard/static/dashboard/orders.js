/* Orders page: the catalogue picker, one order or a burst, the live table, the timeline. */
(function () {
  "use strict";
  const S = window.Stream;
  const LIMIT = 100;
  let rows = [];
  let products = [];
  let openOrder = null;
  const $ = function (id) { return document.getElementById(id); };

  function cell(text, cls) {
    const td = document.createElement("td");
    td.textContent = text === null || text === undefined ? "" : String(text);
    if (cls) td.className = cls;
    return td;
  }

  function filter() {
    return { status: $("status-filter").value, text: $("text-filter").value };
  }

  function renderCatalogue() {
    const body = $("catalogue");
    body.replaceChildren();
    products.forEach(function (p) {
      const tr = document.createElement("tr");
      tr.append(cell(p.productId + " · " + p.name), cell(p.price), cell(p.available, "available"));
      const qty = document.createElement("input");
      qty.type = "number"; qty.min = "0"; qty.max = "100"; qty.value = "0";
      qty.dataset.productId = p.productId; qty.dataset.price = p.price;
      qty.className = "qty";
      const td = document.createElement("td"); td.append(qty); tr.append(td);
      tr.dataset.productId = p.productId;
      body.append(tr);
    });
  }

  function updateProducts(changed) {
    changed.forEach(function (p) {
      const tr = document.querySelector('#catalogue tr[data-product-id="' + p.productId + '"]');
      if (tr) tr.querySelector(".available").textContent = p.available;
      products = products.map(function (q) { return q.productId === p.productId ? p : q; });
    });
  }

  function renderOrders() {
    const body = $("orders");
    body.replaceChildren();
    const f = filter();
    rows.filter(function (o) { return S.matches(o, f); }).forEach(function (o) {
      const tr = document.createElement("tr");
      tr.dataset.orderId = o.orderId;
      tr.className = "status-" + o.status.toLowerCase();
      const status = o.status + (o.cancelReason ? " (" + o.cancelReason + ")" : "");
      tr.append(cell(o.orderId, "id"), cell(o.userId), cell(o.amount + " " + o.currency),
        cell(status, "status"), cell(o.payment.status || "…"), cell(o.inventory.status || "…"),
        cell(new Date(o.updatedAt).toLocaleTimeString()));
      tr.onclick = function () { showTimeline(o.orderId); };
      body.append(tr);
    });
  }

  async function snapshot() {
    const status = $("status-filter").value;
    const [page, catalogue] = await Promise.all([
      Live.getJson("/api/orders?limit=" + LIMIT + (status ? "&status=" + status : "")),
      Live.getJson("/api/products"),
    ]);
    rows = page.results;
    products = catalogue.results || catalogue;
    if (!document.querySelector("#catalogue .qty")) renderCatalogue(); else updateProducts(products);
    renderOrders();
    if (openOrder) showTimeline(openOrder);
  }

  function change(msg) {
    (msg.orders || []).forEach(function (o) { rows = S.upsert(rows, o, LIMIT); });
    updateProducts(msg.products || []);
    renderOrders();
    if (openOrder && (msg.orders || []).some(function (o) { return o.orderId === openOrder; })) {
      showTimeline(openOrder);
    }
  }

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
    });
  }

  function chosenLines() {
    return Array.from(document.querySelectorAll("#catalogue .qty"))
      .filter(function (q) { return Number(q.value) > 0; })
      .map(function (q) {
        return { productId: q.dataset.productId, quantity: Number(q.value), price: q.dataset.price };
      });
  }

  async function place(userId, items) {
    const result = await Live.sendJson("POST", "/api/orders", { userId: userId, items: items });
    if (result.ok) rows = S.upsert(rows, result.data, LIMIT);
    return result;
  }

  $("order-form").onsubmit = async function (e) {
    e.preventDefault();
    const items = chosenLines();
    if (!items.length) { $("order-result").textContent = "pick at least one product"; return; }
    const result = await place($("user-id").value, items);
    $("order-result").textContent = result.ok
      ? "accepted " + result.data.orderId
      : "refused: " + JSON.stringify(result.data && (result.data.errors || result.data.detail));
    if (result.ok) renderOrders();
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
    }
    renderOrders();
  };

  $("status-filter").onchange = function () { snapshot(); };
  $("text-filter").oninput = renderOrders;
  $("timeline-close").onclick = function () { openOrder = null; $("timeline").hidden = true; };

  Live.start({ snapshot: snapshot, change: change });
})();
