/* Operations (staff): the DLQ (list, inspect, redrive, discard) and failure injection,
   through the staff APIs with the session and its CSRF token. */
(function () {
  "use strict";
  const $ = function (id) { return document.getElementById(id); };

  function cell(text) {
    const td = document.createElement("td");
    td.textContent = text === null || text === undefined ? "" : String(text);
    return td;
  }

  function button(label, action) {
    const b = document.createElement("button");
    b.textContent = label;
    b.onclick = action;
    return b;
  }

  function report(id, result) {
    $(id).textContent = result.ok ? "done" : "failed (" + result.status + "): " +
      ((result.data && result.data.detail) || "");
  }

  async function act(method, url, body) {
    const result = await Live.sendJson(method, url, body);
    report("dlq-result", result);
    await loadDlq();
  }

  async function loadDlq() {
    const status = $("dlq-status").value;
    const page = await Live.getJson("/api/ops/dlq?limit=100" + (status ? "&status=" + status : ""));
    const body = $("dlq");
    body.replaceChildren();
    page.results.forEach(function (d) {
      const tr = document.createElement("tr");
      tr.append(cell(d.id), cell(d.status), cell(d.failedAt.slice(0, 19)), cell(d.originalTopic),
        cell(d.consumerGroup), cell(d.errorType + ": " + d.errorMessage), cell(d.attempts));
      const td = document.createElement("td");
      td.append(button("inspect", async function () {
        $("dlq-detail").hidden = false;
        $("dlq-detail").textContent = JSON.stringify(await Live.getJson("/api/ops/dlq/" + d.id), null, 2);
      }));
      if (d.status === "pending") {
        td.append(button("redrive", function () { act("POST", "/api/ops/dlq/" + d.id + "/redrive"); }),
          button("discard", function () { act("POST", "/api/ops/dlq/" + d.id + "/discard"); }));
      }
      tr.append(td);
      body.append(tr);
    });
  }

  function number(value, step) {
    const input = document.createElement("input");
    input.type = "number"; input.min = "0"; input.step = step; input.value = value;
    return input;
  }

  async function loadFaults() {
    const faults = await Live.getJson("/api/ops/faults");
    const body = $("faults");
    body.replaceChildren();
    Object.keys(faults).forEach(function (service) {
      const f = faults[service];
      const rate = number(f.failureRate, "0.05");
      const latency = number(f.latencyMs, "10");
      const attempts = number(f.failAttempts, "1");
      const tr = document.createElement("tr");
      tr.dataset.service = service;
      tr.className = f.active ? "active" : "";
      const tds = [rate, latency, attempts].map(function (input) {
        const td = document.createElement("td"); td.append(input); return td;
      });
      const td = document.createElement("td");
      td.append(button("apply", async function () {
        const result = await Live.sendJson("PUT", "/api/ops/faults/" + service, {
          failureRate: Number(rate.value), latencyMs: Number(latency.value), failAttempts: Number(attempts.value),
        });
        report("faults-result", result);
        loadFaults();
      }), button("clear", async function () {
        report("faults-result", await Live.sendJson("PUT", "/api/ops/faults/" + service, {}));
        loadFaults();
      }));
      tr.append(cell(service), ...tds, td);
      body.append(tr);
    });
  }

  $("dlq-refresh").onclick = loadDlq;
  $("dlq-status").onchange = loadDlq;
  $("dlq-redrive-all").onclick = function () {
    if (confirm("Redrive every pending dead letter?")) act("POST", "/api/ops/dlq/redrive", { all: true });
  };
  $("dlq-discard-all").onclick = function () {
    if (confirm("Discard every pending dead letter?")) act("POST", "/api/ops/dlq/discard", { all: true });
  };

  /* Dead letters arrive through the projector: reload the list when a change lands. */
  Live.start({
    snapshot: function () { return Promise.all([loadDlq(), loadFaults()]); },
    change: function () { loadDlq(); },
  });
})();
