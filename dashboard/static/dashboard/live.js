/* The WebSocket feed: hello -> load the snapshot over REST -> apply changes in version
   order; a gap, a resync message or a lost heartbeat version reloads the snapshot; a
   closed socket reconnects with backoff. Pages call Live.start({snapshot, change, status}). */
(function () {
  "use strict";
  const S = window.Stream;
  const badge = document.getElementById("live");

  function show(text, cls) {
    badge.textContent = text;
    badge.className = "live " + (cls || "");
  }

  function csrfToken() {
    const m = document.cookie.match(/(?:^|; )csrftoken=([^;]+)/);
    return m ? decodeURIComponent(m[1]) : "";
  }

  async function getJson(url) {
    const response = await fetch(url, { headers: { Accept: "application/json" } });
    if (!response.ok) throw new Error("GET " + url + ": " + response.status);
    return response.json();
  }

  async function sendJson(method, url, body) {
    const response = await fetch(url, {
      method: method,
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken() },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const data = await response.json().catch(function () { return null; });
    return { ok: response.ok, status: response.status, data: data };
  }

  /* Other modules of a page (charts, chaos controls) see every message too. */
  const Live = { resyncs: 0, applied: null, getJson: getJson, sendJson: sendJson, listeners: [] };

  Live.start = function (page) {
    let state = S.start(null);
    let buffer = [];
    let attempt = 0;
    let ws = null;

    function open() {
      const scheme = location.protocol === "https:" ? "wss://" : "ws://";
      ws = new WebSocket(scheme + location.host + "/ws/dashboard");
      ws.onmessage = function (e) { receive(JSON.parse(e.data)); };
      ws.onclose = function () {
        state = S.start(null);
        const delay = S.backoff(attempt++, Math.random());
        show("offline, retrying in " + (delay / 1000).toFixed(1) + " s", "down");
        setTimeout(open, delay);
      };
    }

    function receive(msg) {
      Live.listeners.forEach(function (listen) {
        try { listen(msg); } catch (err) { console.error(err); }
      });
      if (msg.type === "hello") {
        attempt = 0;
        Live.staff = msg.staff;
        resync(msg.version);
      } else if (msg.type === "changes") {
        if (state.applied === null) buffer.push(msg);
        else handle(msg);
      } else if (msg.type === "status") {
        if (page.status) page.status(msg);
        // For panels of their own (audit.js): every status, as a DOM event.
        document.dispatchEvent(new CustomEvent("dashboard:status", { detail: msg }));
        const beat = S.heartbeat(state, msg.version);
        state = beat.state;
        if (beat.resync) requestSync("v" + msg.version + " never arrived");
      }
    }

    function handle(msg) {
      const verdict = S.classify(state, msg.version);
      if (verdict === "gap") return requestSync("gap before v" + msg.version);
      if (verdict !== "apply") return;
      if (msg.resync) return requestSync("too many changes at once");
      state = S.advance(state, msg.version);
      Live.applied = state.applied;
      if (page.change) page.change(msg);
      show("live · v" + state.applied, "up");
    }

    async function resync(version) {
      state = S.start(null);
      show("loading…");
      try {
        if (page.snapshot) await page.snapshot();
      } catch (err) {
        show("snapshot failed: " + err.message, "down");
      }
      state = S.start(version);
      Live.applied = version;
      const pending = buffer;
      buffer = [];
      pending.forEach(handle);
      show("live · v" + state.applied, "up");
    }

    function requestSync(reason) {
      Live.resyncs += 1;
      Live.lastResync = reason;
      state = S.start(null);
      buffer = [];
      show("resyncing (" + reason + ")");
      ws.send(JSON.stringify({ type: "sync" }));
    }

    Live.resync = function () { requestSync("requested"); };
    open();
  };

  window.Live = Live;
})();
