// geochem-bench leaderboard: protocol tabs, filters, search and sortable tables over the
// board's JSON embedded in index.html. It only displays: every number, rank and tie comes
// from the board, computed in Python. Untrusted strings are written as text, never as HTML.
"use strict";
(function () {
  const data = JSON.parse(document.getElementById("board-data").textContent);
  const $ = (id) => document.getElementById(id);
  const state = {
    protocol: data.protocols[0], scene: "", element: "", scale: "", search: "",
    sort: { suite: ["rank", 1], tasks: ["skill", -1] },
  };

  const signed = (v) => (v == null ? "" : (v >= 0 ? "+" : "") + v.toFixed(3));
  const plain = (v) => (v == null ? "" : v.toFixed(3));
  const sig = (v) => (v == null ? "" : String(Number(v.toPrecision(4))));
  const ci = (lo, hi, f) => (lo == null || hi == null ? "" : "[" + f(lo) + ", " + f(hi) + "]");
  const count = (v) => (v == null ? "" : v.toLocaleString("en"));
  const rank = (r) => (r.rank == null ? "-" : (r.tie ? "=" : "") + r.rank);

  // [key, header, cell text or node, sort value]; a sort value of null sorts last
  const columns = {
    suite: [
      ["rank", "rank", rank, (r) => r.order],
      ["submission", "submission", (r) => link(r.submission, r.page), (r) => r.submission],
      ["version", "version", (r) => r.version, null],
      ["iqm", "IQM skill", (r) => signed(r.iqm), (r) => r.iqm],
      ["interval", "95 % CI", (r) => ci(r.iqm_low, r.iqm_high, signed), (r) => r.iqm_low],
      ["tasks", "tasks", (r) => r.tasks + "/" + r.suite_tasks, (r) => r.tasks],
      ["parameters", "parameters", (r) => count(r.parameters), (r) => r.parameters],
      ["status", "status", badge, (r) => r.status],
    ],
    tasks: [
      ["rank", "suite rank", rank, (r) => (r.rank == null ? null : (r.status === "verified" ? 0 : 1e6) + r.rank)],
      ["submission", "submission", (r) => link(r.submission, r.page), (r) => r.submission],
      ["task", "task", (r) => r.task, (r) => r.task],
      ["element", "element", (r) => r.element, (r) => r.element],
      ["skill", "skill", (r) => signed(r.skill), (r) => r.skill],
      ["interval", "95 % CI", (r) => ci(r.skill_low, r.skill_high, signed), (r) => r.skill_low],
      ["rmse", "RMSE", (r) => plain(r.rmse), (r) => r.rmse],
      ["mae", "MAE", (r) => sig(r.mae), (r) => r.mae],
      ["bias", "bias", (r) => signed(r.bias), (r) => (r.bias == null ? null : Math.abs(r.bias))],
      ["runtime", "runtime (s)", (r) => sig(r.runtime), (r) => r.runtime],
      ["parameters", "parameters", (r) => count(r.parameters), (r) => r.parameters],
      ["status", "status", badge, (r) => r.status],
      ["records", "raw", (r) => link("records", r.records), null],
    ],
  };
  const titles = {
    interval: "sorted by the lower bound", bias: "sorted by its size, |bias|",
    rank: "verified and self-reported submissions are ranked apart",
    rmse: "analysis space (log10 for trace elements)", mae: "natural units",
  };

  function link(text, href) {
    const a = document.createElement("a");
    a.textContent = text;
    a.href = href;
    return a;
  }
  function badge(r) {
    const span = document.createElement("span");
    span.className = "badge " + r.status;
    span.textContent = r.status;
    if (r.label) span.title = r.label;
    return span;
  }

  function visible(table) {
    const q = state.search.trim().toLowerCase();
    const rows = (table === "suite" ? data.suites : data.tasks)[state.protocol] || [];
    return rows.filter((r) =>
      r.submission.toLowerCase().includes(q) &&
      (table === "suite" || (
        (!state.scene || r.scene === state.scene) &&
        (!state.element || r.element === state.element) &&
        (!state.scale || String(r.scale) === state.scale))));
  }

  function sorted(table, rows) {
    const [key, dir] = state.sort[table];
    const value = columns[table].find((c) => c[0] === key)[3];
    return rows.map((r, i) => [value(r), i, r]).sort((a, b) => {
      if (a[0] == null || b[0] == null) return (a[0] == null) - (b[0] == null) || a[1] - b[1];
      return (a[0] < b[0] ? -dir : a[0] > b[0] ? dir : 0) || a[1] - b[1];
    }).map((x) => x[2]);
  }

  function draw(table) {
    const el = $(table);
    el.replaceChildren();
    const head = el.createTHead().insertRow();
    const [key, dir] = state.sort[table];
    for (const [k, label, , value] of columns[table]) {
      const th = document.createElement("th");
      th.dataset.column = k;
      if (k === "submission" || k === "task") th.className = "name";
      if (titles[k]) th.title = titles[k];
      if (value) {
        const button = document.createElement("button");
        button.type = "button";
        button.textContent = label;
        button.addEventListener("click", () => {
          state.sort[table] = [k, k === key ? -dir : (k === "skill" || k === "iqm" ? -1 : 1)];
          draw(table);
        });
        th.append(button);
        th.setAttribute("aria-sort", k !== key ? "none" : dir > 0 ? "ascending" : "descending");
      } else {
        th.textContent = label;
      }
      head.append(th);
    }
    const body = el.createTBody();
    const rows = sorted(table, visible(table));
    for (const r of rows) {
      const tr = body.insertRow();
      tr.dataset.key = [r.submission, r.version].concat(table === "tasks" ? [r.task, r.element] : []).join(" ");
      for (const [k, , cell] of columns[table]) {
        const td = tr.insertCell();
        if (k === "submission" || k === "task") td.className = "name";
        const content = cell(r);
        if (typeof content === "string") td.textContent = content;
        else td.append(content);
      }
    }
    if (table === "tasks") {
      $("count").textContent = rows.length + " of " + (data.tasks[state.protocol] || []).length + " rows";
      cite(rows);
    }
  }

  function cite(rows) {
    const pairs = [...new Set(rows.map((r) => r.scene + "/" + state.protocol))].sort();
    const keys = [...new Set(pairs.flatMap((p) => data.citations[p] || []))];
    $("cite-tasks").textContent = keys.map((k) => data.bibtex[k]).join("\n\n");
  }

  function options() {
    const facets = data.facets[state.protocol] || { scene: [], element: [], scale: [] };
    for (const name of ["scene", "element", "scale"]) {
      const values = facets[name].map(String);
      if (!values.includes(state[name])) state[name] = "";
      const select = $(name);
      select.replaceChildren(new Option("all", ""));
      for (const v of values) select.append(new Option(v, v));
      select.value = state[name];
    }
  }

  function update() {
    for (const b of $("protocols").querySelectorAll("button")) {
      b.setAttribute("aria-selected", String(b.dataset.protocol === state.protocol));
    }
    options();
    draw("suite");
    draw("tasks");
    for (const fig of document.querySelectorAll("#plots figure")) {
      fig.hidden = Boolean(state.scene) && fig.dataset.scene !== state.scene;
    }
    const hash = new URLSearchParams();
    for (const k of ["protocol", "scene", "element", "scale", "search"]) if (state[k]) hash.set(k, state[k]);
    try { history.replaceState(null, "", "#" + hash.toString()); } catch (e) { /* some file:// views refuse it */ }
  }

  // a link to the page keeps its view: #protocol=points&scene=meuse&element=Cd
  const given = new URLSearchParams(location.hash.slice(1));
  for (const k of ["scene", "element", "scale", "search"]) state[k] = given.get(k) || "";
  if (data.protocols.includes(given.get("protocol"))) state.protocol = given.get("protocol");
  $("search").value = state.search;

  for (const b of $("protocols").querySelectorAll("button")) {
    b.addEventListener("click", () => { state.protocol = b.dataset.protocol; update(); });
  }
  for (const name of ["scene", "element", "scale"]) {
    $(name).addEventListener("change", (e) => { state[name] = e.target.value; update(); });
  }
  $("search").addEventListener("input", (e) => { state.search = e.target.value; update(); });
  update();
})();
