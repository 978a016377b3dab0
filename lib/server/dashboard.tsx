/** @jsxImportSource npm:hono@4.13.19/jsx */
/**
 * The dashboard (GET /): one page rendered with hono/jsx, no build step. It lists the fits with
 * their live progress (a server-sent-event stream per unfinished fit), shows a finished fit's
 * parameters with standard errors and its plot, and submits a bundled spec; likewise the program
 * searches (progress: evaluations and best score; a finished search's best program, its rejections
 * and the Pareto front) and a form for the bundled searches the server can run. The token, when the
 * server needs one, is typed into the page and kept in sessionStorage only.
 */

const STYLE = `
body { font: 14px/1.4 system-ui, sans-serif; margin: 2rem; color: #222; max-width: 70rem; }
h1 { font-size: 1.4rem; margin: 0 0 1rem; }
form { display: flex; gap: .5rem; align-items: center; margin-bottom: 1rem; flex-wrap: wrap; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: .3rem .6rem; border-bottom: 1px solid #ddd; font-variant-numeric: tabular-nums; }
tr.fit, tr.search { cursor: pointer; } tr.fit:hover, tr.search:hover { background: #f4f7fb; } tr.selected { background: #e8f0fb; }
.status-done { color: #17692f; } .status-failed { color: #a4161a; } .status-running { color: #1d4ed8; }
.status-cancelled { color: #777; } .status-queued { color: #92400e; }
progress { width: 9rem; vertical-align: middle; }
#detail { margin-top: 1.5rem; } #detail img { max-width: 100%; border: 1px solid #eee; }
#detail table { width: auto; margin-bottom: 1rem; }
.muted { color: #777; }
h2 { font-size: 1.15rem; margin: 1.5rem 0 .6rem; }
pre { background: #f6f8fa; padding: .6rem .8rem; overflow-x: auto; font-size: 12.5px; }
`;

// The page's script: list (polled), one event stream per unfinished fit, details of the selected fit.
const SCRIPT = `
const $ = (s) => document.querySelector(s);
const token = () => sessionStorage.getItem("dmci-token") || "";
const headers = () => token() ? { Authorization: "Bearer " + token() } : {};
const api = (path, init = {}) => fetch(path, { ...init, headers: { ...headers(), ...(init.headers || {}) } });
const fits = new Map(); const streams = new Set(); let selected = null;
const fmt = (x) => x === null || x === undefined ? "—" : Math.abs(x) >= 1e4 || (Math.abs(x) < 1e-3 && x !== 0) ? x.toExponential(4) : x.toPrecision(6);
const FINAL = ["done", "failed", "cancelled"];
// Every text from a fit (names, messages) is escaped before it goes into HTML.
const esc = (x) => String(x).replace(/[&<>"']/g, (c) => "&#" + c.charCodeAt(0) + ";");

// One table row per job (kind "fit" or "search"), made on first sight and refreshed in place.
function jobRow(kind, j, prog) {
  let tr = document.getElementById(kind + "-" + j.id);
  if (!tr) {
    tr = document.createElement("tr"); tr.id = kind + "-" + j.id; tr.className = kind;
    tr.onclick = () => KIND[kind].select(j.id);
    $(KIND[kind].table + " tbody").prepend(tr);
  }
  tr.dataset.status = j.status;
  tr.innerHTML = "<td><code>" + j.id.slice(0, 8) + "</code></td><td>" + esc(j.name) + '</td><td class="status status-' + esc(j.status) + '">' + esc(j.status) +
    '</td><td class="progress"></td><td class="muted">' + new Date(j.created).toLocaleTimeString() + "</td>";
  tr.querySelector(".progress").innerHTML = prog;
  if (selected === j.id) tr.classList.add("selected");
}
const failure = (j) => j.error ? esc(j.error.kind + ": " + j.error.message) : "";
// Marks the selected job's row, in either table.
function mark(kind, id) {
  selected = id;
  document.querySelectorAll("tr.fit, tr.search").forEach((tr) => tr.classList.toggle("selected", tr.id === kind + "-" + id));
}

function row(f) {
  const p = f.progress;
  jobRow("fit", f, f.status === "running" && p ? '<progress max="' + p.steps + '" value="' + p.step + '"></progress> step ' + p.step + "/" + p.steps + " objective " + fmt(p.loss)
    : f.status === "done" && f.result ? "loss " + fmt(f.result.train && f.result.train.loss) : failure(f));
}

function update(f) { fits.set(f.id, { ...(fits.get(f.id) || {}), ...f }); row(fits.get(f.id)); if (selected === f.id) detail(); }

async function follow(id, kind = "fit") {
  if (streams.has(id)) return; streams.add(id);
  const res = await api(KIND[kind].path + "/" + id + "/events");
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buf = "";
  for (;;) {
    const { value, done } = await reader.read(); if (done) break;
    buf += value; let k;
    while ((k = buf.indexOf("\\n\\n")) >= 0) {
      const block = buf.slice(0, k); buf = buf.slice(k + 2);
      const ev = /^event: (.*)$/m.exec(block), data = /^data: (.*)$/m.exec(block);
      if (data) KIND[kind].update(JSON.parse(data[1]));
      if (ev && ev[1] === "final" && !selected) KIND[kind].select(JSON.parse(data[1]).id);
    }
  }
  streams.delete(id);
}

async function refresh() {
  for (const kind of ["fit", "search"]) {
    const res = await api(KIND[kind].path + "?limit=50");
    if (!res.ok) { $("#message").textContent = "list: HTTP " + res.status + (res.status === 401 ? " (enter the token)" : ""); return; }
    $("#message").textContent = "";
    const page = await res.json();
    for (const f of page.items.reverse()) { KIND[kind].update(f); if (!FINAL.includes(f.status)) follow(f.id, kind); }
  }
}

async function select(id) {
  mark("fit", id);
  const res = await api("/v1/fits/" + id); if (res.ok) fits.set(id, await res.json());
  detail();
}

async function detail() {
  if (searches.has(selected)) return searchDetail();
  const f = fits.get(selected); const d = $("#detail");
  if (!f) { d.innerHTML = ""; return; }
  d.dataset.id = f.id; d.dataset.status = f.status;
  if (f.status !== "done" || !f.result) {
    d.innerHTML = "<h2>" + esc(f.name) + " <span class=status-" + esc(f.status) + ">" + esc(f.status) + "</span></h2>" +
      (f.error ? "<p>" + esc(f.error.kind + " error" + (f.error.place ? " at " + f.error.place : "") + ": " + f.error.message) + "</p>" : "");
    return;
  }
  if (d.dataset.shown === f.id) return; d.dataset.shown = f.id;
  const r = f.result;
  d.innerHTML = "<h2>" + esc(f.name) + ' <span class="status-done">done</span></h2><p class="muted">' + esc(r.loss_kind + " on " + r.data.rows + " rows, " + r.mode + " on " + r.backend) +
    ", " + r.timing.seconds_total.toFixed(2) + ' s</p><table id="params"><thead><tr><th>parameter</th><th>value</th><th>std. error</th><th>transform</th></tr></thead><tbody>' +
    r.params.map((p) => "<tr><td>" + esc(p.name) + "</td><td>" + fmt(p.value) + "</td><td>" + fmt(p.se) + "</td><td>" + esc(p.fixed ? "fixed" : p.transform) + "</td></tr>").join("") +
    '</tbody></table><div id="plot" class="muted">plot loading…</div>';
  const svg = await api("/v1/fits/" + f.id + "/plot.svg");
  $("#plot").innerHTML = svg.ok ? '<img alt="data and fit" src="' + URL.createObjectURL(new Blob([await svg.text()], { type: "image/svg+xml" })) + '">' : "no plot";
}

// Searches: the same list, stream and detail, with the search's progress and its best program.
const searches = new Map();
function searchRow(s) {
  const p = s.progress, best = (x) => x === null || x === undefined ? "" : " best " + fmt(x);
  jobRow("search", s, s.status === "running" && p ? '<progress max="' + p.budget + '" value="' + p.evaluations + '"></progress> ' + p.evaluations + "/" + p.budget + best(p.best) + (p.complexity === null ? "" : " (complexity " + p.complexity + ")")
    : s.status === "done" && s.result ? s.result.evaluations + " evaluations," + best(s.result.best && s.result.best.score) : failure(s));
}
function updateSearch(s) { searches.set(s.id, { ...(searches.get(s.id) || {}), ...s }); searchRow(searches.get(s.id)); if (selected === s.id) searchDetail(); }
async function selectSearch(id) {
  mark("search", id);
  const res = await api("/v1/searches/" + id); if (res.ok) searches.set(id, await res.json());
  searchDetail();
}
function searchDetail() {
  const s = searches.get(selected); const d = $("#detail");
  d.dataset.id = s.id; d.dataset.status = s.status;
  const head = "<h2>" + esc(s.name) + " <span class=status-" + esc(s.status) + ">" + esc(s.status) + "</span></h2>";
  if (s.status !== "done" || !s.result) {
    d.dataset.shown = "";
    d.innerHTML = head + (s.error ? "<p>" + esc(s.error.kind + " error: " + s.error.message) + "</p>" : "");
    return;
  }
  if (d.dataset.shown === s.id) return; d.dataset.shown = s.id;
  const r = s.result, b = r.best, rejected = Object.entries(r.rejected || {});
  d.innerHTML = head + '<p class="muted">' + r.evaluations + " evaluations in " + Number(r.seconds).toFixed(1) + " s; rejected: " +
    (rejected.length ? esc(rejected.map(([k, n]) => k + " " + n).join(", ")) : "none") + "</p>" +
    (b ? "<p>best: score " + fmt(b.score) + ", complexity " + b.complexity + '</p><pre id="best-program">' + esc(b.program) + "</pre>" : "<p>no program was accepted</p>") +
    '<table id="pareto"><thead><tr><th>complexity</th><th>score</th><th>id</th></tr></thead><tbody>' +
    (r.pareto || []).map((e) => "<tr><td>" + e.complexity + "</td><td>" + fmt(e.score) + "</td><td><code>#" + esc(e.id) + "</code></td></tr>").join("") + "</tbody></table>";
}
const KIND = {
  fit: { path: "/v1/fits", table: "#fits", update, select },
  search: { path: "/v1/searches", table: "#searches", update: updateSearch, select: selectSearch },
};

$("#search-submit").onsubmit = async (e) => {
  e.preventDefault();
  const fixture = $("#search-fixture").value, evaluations = Number($("#search-evaluations").value);
  const res = await api("/v1/searches", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ fixture, evaluations }) });
  const body = await res.json();
  $("#search-message").textContent = res.ok ? "queued " + body.id : "HTTP " + res.status + ": " + body.error.message;
  if (res.ok) { updateSearch({ id: body.id, name: fixture, status: "queued", created: new Date().toISOString(), progress: null }); follow(body.id, "search"); }
};
$("#submit").onsubmit = async (e) => {
  e.preventDefault();
  const res = await api("/v1/fits", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ fixture: $("#fixture").value }) });
  const body = await res.json();
  $("#message").textContent = res.ok ? "queued " + body.id : "HTTP " + res.status + ": " + body.error.message;
  if (res.ok) { update({ id: body.id, name: $("#fixture").value, status: "queued", created: new Date().toISOString(), progress: null }); follow(body.id, "fit"); }
};
$("#token").value = token();
$("#token").onchange = () => { sessionStorage.setItem("dmci-token", $("#token").value); refresh(); };
refresh(); setInterval(refresh, 1000);
`;

/** A table of jobs; the page's script fills its rows. */
function JobTable(props: { id: string }) {
  return (
    <table id={props.id}>
      <thead>
        <tr>
          <th>id</th>
          <th>spec</th>
          <th>status</th>
          <th>progress</th>
          <th>created</th>
        </tr>
      </thead>
      <tbody></tbody>
    </table>
  );
}

/**
 * The dashboard page; `fixtures` are the bundled fit specs the fit form offers, `searches` the
 * bundled search specs the server can run, which the search form offers.
 *
 * @example
 * ```ts
 * const html = String(dashboard(["exponential_decay"], ["pendulum-search"]));
 * ```
 */
export function dashboard(fixtures: readonly string[], searches: readonly string[] = []) {
  return "<!doctype html>" + (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <title>dmci fit server</title>
        <style dangerouslySetInnerHTML={{ __html: STYLE }} />
      </head>
      <body>
        <h1>dmci fit server</h1>
        <form id="submit">
          <label>
            bundled spec{" "}
            <select id="fixture" name="fixture">
              {fixtures.map((f) => <option key={f} value={f}>{f}</option>)}
            </select>
          </label>
          <button type="submit">fit</button>
          <label>
            token <input id="token" type="password" size={16} placeholder="if the server needs one" />
          </label>
          <span id="message" class="muted"></span>
        </form>
        <JobTable id="fits" />
        <h2>Program searches</h2>
        <form id="search-submit">
          <label>
            bundled search{" "}
            <select id="search-fixture" name="fixture">
              {searches.map((f) => <option key={f} value={f}>{f}</option>)}
            </select>
          </label>
          <label>
            evaluations <input id="search-evaluations" type="number" min={1} value={100} size={6} />
          </label>
          <button type="submit" disabled={searches.length === 0}>search</button>
          <span id="search-message" class="muted"></span>
        </form>
        <JobTable id="searches" />
        <section id="detail"></section>
        <p class="muted">
          API: <a href="/docs">/docs</a> · <a href="/openapi.json">/openapi.json</a>
        </p>
        <script dangerouslySetInnerHTML={{ __html: SCRIPT }} />
      </body>
    </html>
  );
}
