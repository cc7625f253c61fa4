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

  function renderGroups(groups) {
    const root = $("groups");
    root.replaceChildren();
    const now = Date.now() / 1000;
    groups.forEach(function (g) {
      const box = node("div", "group" + (g.rebalancedAt && now - g.rebalancedAt < 15 ? " rebalanced" : ""));
      box.dataset.group = g.group;
      box.append(node("h3", "", g.group + " · " + g.state + " · lag " + g.lag +
        (g.rebalancedAt ? " · rebalanced at " + new Date(g.rebalancedAt * 1000).toLocaleTimeString() : "")));
      const members = node("ul", "members");
      if (!g.members.length) members.append(node("li", "down", "no members"));
      g.members.forEach(function (m) {
        members.append(node("li", "", m.label + " " + m.clientId + " @ " + m.host + " — " +
          m.partitions.length + " partitions: " + m.partitions.join(", ")));
      });
      box.append(members);
      const table = node("table", "partitions");
      g.topics.forEach(function (t) {
        const tr = node("tr");
        tr.append(node("th", "", t.topic));
        t.partitions.forEach(function (p) {
          const td = node("td", "p" + (p.lag ? " lagging" : ""));
          td.title = "committed " + p.committed + ", end " + p.end + ", lag " + p.lag;
          td.append(node("b", "", p.partition + ":" + (p.owner || "–")),
            node("span", "", " " + (p.committed === null ? "–" : p.committed) + "/" + p.end + " lag " + p.lag));
          tr.append(td);
        });
        table.append(tr);
      });
      box.append(table);
      root.append(box);
    });
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
