#include "admin/status_page.h"

namespace larder::admin {
namespace {

constexpr std::string_view kHeaders =
    "Content-Security-Policy: default-src 'none'; script-src 'unsafe-inline'; "
    "style-src 'unsafe-inline'; connect-src 'self'; img-src data:; frame-ancestors 'none'\r\n"
    "Cache-Control: no-store\r\n"
    "X-Content-Type-Options: nosniff\r\n";

// Kept in one literal so the page is one response with no assets.
constexpr std::string_view kPage = R"html(<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>larder status</title>
<style>
body { font: 13px/1.4 system-ui, sans-serif; margin: 1em 2em; color: #222; background: #fafafa; }
h1 { font-size: 20px; margin: 0 0 .2em; }
h2 { font-size: 15px; margin: 1.4em 0 .4em; border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; min-width: 40em; background: #fff; }
th, td { border: 1px solid #ccc; padding: 3px 8px; text-align: right; }
th { background: #e6e9ef; }
td.name, th.name { text-align: left; font-family: monospace; }
.up { background: #c8efc8; } .down { background: #f4c2c2; } .unknown { background: #eee; }
.bar { display: inline-block; height: 10px; background: #4a8; vertical-align: middle; margin-left: 6px; }
#state { color: #555; } #state.error { color: #b00; font-weight: bold; }
.note { color: #666; font-size: 12px; }
</style>
</head>
<body>
<h1>larder status</h1>
<div><span id="state">loading...</span>
 <form id="auth" style="display:inline" onsubmit="return useToken()">
  <input id="token" type="password" placeholder="admin token" autocomplete="off">
  <button type="submit">use token</button></form></div>

<h2>Hit ratio</h2>
<table id="routes">
 <thead><tr><th class="name">route</th><th>hit ratio</th><th>last interval</th>
  <th>hit</th><th>stale</th><th>revalidated</th><th>miss</th><th>bypass</th><th>pass</th></tr></thead>
 <tbody id="routes-body"></tbody>
</table>
<p class="note" id="routes-note">hit ratio = (hit + stale + revalidated) / (those + miss + bypass); pass (no cached route) is left out.
 <span id="routes-missing" style="display:none">No per-route metrics (larder_route_requests_total) from this larder: all reads only.</span></p>

<h2>Store and upstream</h2>
<table id="health">
 <thead><tr><th class="name">component</th><th>state</th><th class="name">detail</th></tr></thead>
 <tbody id="health-body"></tbody>
</table>

<h2>Counters</h2>
<table id="counters">
 <thead><tr><th class="name">what</th><th>value</th></tr></thead>
 <tbody id="counters-body"></tbody>
</table>

<h2>Recent purges (this instance)</h2>
<table id="purges">
 <thead><tr><th class="name">time (UTC)</th><th class="name">scope</th><th class="name">subject</th>
  <th>kind</th><th>result</th></tr></thead>
 <tbody id="purges-body"></tbody>
</table>

<script>
"use strict";
var token = "";
var previous = null;  // the last poll's request counts, for the interval ratio
var RESULTS = ["hit", "stale", "revalidated", "miss", "bypass", "pass"];

(function () {
  var m = /(?:^#|&)token=([^&]*)/.exec(location.hash);
  if (m) token = decodeURIComponent(m[1]);
})();

function useToken() {
  token = document.getElementById("token").value;
  document.getElementById("token").value = "";
  poll();
  return false;
}

function get(path) {
  var headers = {};
  if (token) headers["Authorization"] = "Bearer " + token;
  return fetch(path, { headers: headers, cache: "no-store" });
}

// Prometheus text format 0.0.4: name{label="value",...} number
function parseMetrics(text) {
  var samples = [];
  text.split("\n").forEach(function (line) {
    if (!line || line[0] === "#") return;
    var i = 0, name = "";
    while (i < line.length && line[i] !== "{" && line[i] !== " ") name += line[i++];
    var labels = {};
    if (line[i] === "{") {
      i++;
      while (i < line.length && line[i] !== "}") {
        var key = "";
        while (line[i] !== "=") key += line[i++];
        i += 2;  // ="
        var value = "";
        while (i < line.length && line[i] !== '"') {
          if (line[i] === "\\") { i++; value += line[i] === "n" ? "\n" : line[i]; } else value += line[i];
          i++;
        }
        i++;  // closing quote
        labels[key.trim()] = value;
        if (line[i] === ",") i++;
      }
      i++;
    }
    samples.push({ name: name, labels: labels, value: parseFloat(line.slice(i).trim()) });
  });
  return samples;
}

function sum(samples, name, filter) {
  var total = 0;
  samples.forEach(function (s) {
    if (s.name !== name) return;
    for (var k in filter) if (s.labels[k] !== filter[k]) return;
    total += s.value;
  });
  return total;
}

function served(c) { return c.hit + c.stale + c.revalidated; }
function eligible(c) { return served(c) + c.miss + c.bypass; }
function ratioText(c) {
  var n = eligible(c);
  return n > 0 ? (100 * served(c) / n).toFixed(1) + "%" : "-";
}

function cell(text, cls) {
  var td = document.createElement("td");
  td.textContent = text;
  if (cls) td.className = cls;
  return td;
}

function fill(id, rows) {
  var body = document.getElementById(id);
  body.textContent = "";
  rows.forEach(function (cells) {
    var tr = document.createElement("tr");
    cells.forEach(function (td) { tr.appendChild(td); });
    body.appendChild(tr);
  });
}

function routeCounts(samples) {
  var routes = {};
  var overall = {};
  RESULTS.forEach(function (r) { overall[r] = sum(samples, "larder_requests_total", { method: "read", cache: r }); });
  samples.forEach(function (s) {
    if (s.name !== "larder_route_requests_total" || s.labels.route === undefined) return;
    var c = routes[s.labels.route];
    if (!c) { c = routes[s.labels.route] = {}; RESULTS.forEach(function (r) { c[r] = 0; }); }
    if (c[s.labels.cache] !== undefined) c[s.labels.cache] += s.value;
  });
  return { overall: overall, routes: routes };
}

function renderRoutes(counts) {
  var rows = [];
  function row(name, c, before) {
    var ratio = ratioText(c);
    var recent = "-";
    if (before) {
      var d = {};
      RESULTS.forEach(function (r) { d[r] = c[r] - (before[r] || 0); });
      recent = ratioText(d);
    }
    var tdRatio = cell(ratio, "ratio");
    if (ratio !== "-") {
      var bar = document.createElement("span");
      bar.className = "bar";
      bar.style.width = Math.round(parseFloat(ratio)) + "px";
      tdRatio.appendChild(bar);
    }
    var cells = [cell(name, "name"), tdRatio, cell(recent, "recent")];
    RESULTS.forEach(function (r) { cells.push(cell(String(c[r]), r)); });
    rows.push(cells);
  }
  row("(all reads)", counts.overall, previous && previous.overall);
  var names = Object.keys(counts.routes).sort();
  names.forEach(function (n) { row(n, counts.routes[n], previous && previous.routes[n]); });
  fill("routes-body", rows);
  document.getElementById("routes").setAttribute("data-routes", String(names.length));
  document.getElementById("routes-missing").style.display = names.length === 0 ? "" : "none";
}

function renderHealth(ready, samples) {
  var rows = [];
  function state(ok) { return ok === null ? ["n/a", "unknown"] : ok ? ["up", "up"] : ["down", "down"]; }
  if (ready) {
    var s = state(ready.ready);
    rows.push([cell("larder", "name"), cell(s[0], s[1]), cell(ready.config || "", "name")]);
    var redis = ready.store === "redis" ? state(ready.redis_reachable) : ["memory", "up"];
    var detail = ready.store === "redis" ? "redis" : "in-process memory store";
    if (samples) {
      var open = sum(samples, "larder_redis_circuit_breakers", { state: "open" });
      detail += "; errors " + sum(samples, "larder_redis_errors_total", {}) +
                ", timeouts " + sum(samples, "larder_redis_timeouts_total", {}) +
                ", open breakers " + open;
    }
    rows.push([cell("store", "name"), cell(redis[0], redis[1]), cell(detail, "name")]);
    (ready.upstream || []).forEach(function (u) {
      var st = state(u.up);
      rows.push([cell("upstream " + u.server, "name"), cell(st[0], st[1]), cell("", "name")]);
    });
  } else {
    rows.push([cell("larder", "name"), cell("no answer", "down"), cell("/readyz did not answer", "name")]);
  }
  fill("health-body", rows);
}

function renderCounters(samples) {
  var count = sum(samples, "larder_upstream_response_seconds_count", {});
  var mean = count > 0 ? (1000 * sum(samples, "larder_upstream_response_seconds_sum", {}) / count).toFixed(1) + " ms" : "-";
  var items = [
    ["requests answered", sum(samples, "larder_requests_total", {})],
    ["upstream responses", sum(samples, "larder_upstream_responses_total", {})],
    ["upstream mean response time", mean],
    ["upstream errors", sum(samples, "larder_upstream_errors_total", {})],
    ["in-process tier hits", sum(samples, "larder_memory_tier_hits_total", {})],
    ["coalesced requests", sum(samples, "larder_coalesced_requests_total", {})],
    ["invalidation backlog keys", sum(samples, "larder_invalidation_backlog_keys", {})],
    ["purges", sum(samples, "larder_admin_purges_total", {})]
  ];
  fill("counters-body", items.map(function (it) { return [cell(it[0], "name"), cell(String(it[1]))]; }));
}

function renderPurges(list) {
  fill("purges-body", list.purges.map(function (p) {
    return [cell(p.at.replace("T", " ").replace("Z", ""), "name"), cell(p.scope, "name"),
            cell(p.subject, "name subject"), cell(p.soft ? "soft" : "hard"),
            cell(p.ok ? "ok" : "queued", p.ok ? "up" : "down")];
  }));
}

function setState(text, error) {
  var el = document.getElementById("state");
  el.textContent = text;
  el.className = error ? "error" : "";
}

async function poll() {
  var problems = [];
  var ready = null, samples = null;
  try {
    var r = await get("/readyz");
    ready = await r.json();
  } catch (e) { problems.push("/readyz: " + e); }
  try {
    var m = await get("/metrics");
    if (m.status === 401) problems.push("the admin token is needed (#token=... or the field)");
    else if (!m.ok) problems.push("/metrics answered " + m.status);
    else samples = parseMetrics(await m.text());
  } catch (e) { problems.push("/metrics: " + e); }
  renderHealth(ready, samples);
  if (samples) {
    var counts = routeCounts(samples);
    renderRoutes(counts);
    renderCounters(samples);
    previous = counts;
  }
  try {
    var p = await get("/status/purges");
    if (p.ok) renderPurges(await p.json());
  } catch (e) { problems.push("/status/purges: " + e); }
  var now = new Date().toISOString().replace("T", " ").slice(0, 19);
  setState(problems.length ? problems.join("; ") : "updated " + now + " UTC, every 2 s", problems.length > 0);
  document.body.setAttribute("data-polls", String(Number(document.body.getAttribute("data-polls") || 0) + 1));
}

poll();
setInterval(poll, 2000);
</script>
</body>
</html>
)html";

}  // namespace

std::string_view statusPageHtml() { return kPage; }
std::string_view statusPageHeaders() { return kHeaders; }

}  // namespace larder::admin
