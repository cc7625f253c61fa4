/* Consumer groups and health: both pages render the monitor's latest status (REST
   snapshot first, then each push). */
(function () {
  "use strict";
  const $ = function (id) { return document.getElementById(id); };
  let lastAt = null;

  function node(tag, cls, text) {
    const n = document.createElement(tag);
    if (cls) n.className = cls;
    if (text !== undefined) n.textContent = text;
    return n;
  }

  /* Member colours of the assignment grid (M1, M2, ...), readable on white. */
  const COLOURS = ["#6fb1ff", "#f2a65a", "#7cc68d", "#c58be0", "#f07f7f", "#5fc7c0", "#d6c25a", "#a0a8b8"];

  function colour(label) {
    const i = label ? Number(label.slice(1)) - 1 : -1;
    return i >= 0 ? COLOURS[i % COLOURS.length] : "#e3e7ee";
  }

  function time(at) {
    return at ? new Date(at * 1000).toLocaleTimeString() : "none seen";
  }

  function renderGroups(groups) {
    const root = $("groups");
    const out = document.createDocumentFragment();
    const now = Date.now() / 1000;
    groups.forEach(function (g) {
      const box = node("div", "group" + (g.rebalancedAt && now - g.rebalancedAt < 15 ? " rebalanced" : ""));
      box.dataset.group = g.group;
      box.append(node("h3", "", g.group + " · " + g.state + " · lag " + g.lag));
      box.append(node("p", "meta", g.members.length + (g.members.length === 1 ? " member" : " members") + " · generation " + g.generation +
        " (seen by the monitor) · last rebalance " + time(g.lastRebalanceAt)));
      const members = node("ul", "members");
      if (!g.members.length) members.append(node("li", "down", "no members"));
      g.members.forEach(function (m) {
        const li = node("li", "", "");
        const swatch = node("span", "swatch", m.label);
        swatch.style.background = colour(m.label);
        li.append(swatch, " " + m.clientId + " @ " + m.host + " — " + m.partitions.length + " partitions");
        members.append(li);
      });
      box.append(members);
      const grid = node("table", "grid partitions");
      grid.setAttribute("aria-label", g.group + ": partitions by owner, with lag");
      g.topics.forEach(function (t) {
        const tr = node("tr");
        tr.append(node("th", "", t.topic));
        t.partitions.forEach(function (p) {
          const td = node("td", "p" + (p.lag ? " lagging" : ""), String(p.partition));
          td.style.background = colour(p.owner);
          td.dataset.owner = p.owner || "";
          td.title = t.topic + "[" + p.partition + "] owner " + (p.owner || "none") + ", committed " +
            p.committed + ", end " + p.end + ", lag " + p.lag;
          if (p.lag) td.append(node("sup", "", String(p.lag)));
          tr.append(td);
        });
        grid.append(tr);
      });
      box.append(grid);
      if ((g.restore || []).length) {
        const restore = node("p", "restore", "restore state (never lag): " + g.restore.map(function (r) {
          return r.topic + " " + r.records + " records in " + r.partitions.length + " partitions";
        }).join(" · "));
        box.append(restore);
      }
      out.append(box);
    });
    root.replaceChildren(out);
  }

  function renderHealth(health) {
    const root = $("health");
    root.replaceChildren();
    health.services.concat(health.infrastructure).forEach(function (h) {
      const card = node("div", "card " + h.status);
      card.dataset.name = h.name;
      card.append(node("h3", "", h.name), node("p", "state", h.status), node("p", "note", h.detail || ""));
      root.append(card);
    });
  }

  function render(status) {
    if (!status) return;
    lastAt = new Date(status.at);
    if ($("groups")) renderGroups(status.groups);
    if ($("health")) renderHealth(status.health);
  }

  setInterval(function () {
    if (!lastAt) { $("status-age").textContent = "waiting for the monitor…"; return; }
    const age = (Date.now() - lastAt.getTime()) / 1000;
    $("status-age").textContent = "updated " + age.toFixed(0) + " s ago" + (age > 6 ? " — the monitor is silent" : "");
    $("status-age").className = age > 6 ? "down" : "";
  }, 1000);

  async function snapshot() {
    const body = await Live.getJson("/api/dashboard/status");
    render(body.status);
  }

  Live.start({ snapshot: snapshot, status: render });
})();
