# Summarizes bench/results/<ts>/runs.tsv (written by bench/run): medians per
# (kind, target, size, connections) and ratios to the peers and the origin.
BEGIN { FS = "\t" }
NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
{
  g = $col["kind"] SUBSEP $col["target"] SUBSEP $col["size"] SUBSEP $col["conns"]
  if (!(g in n)) { order[++ngroups] = g }
  k = ++n[g]
  split("rps p50_us p99_us cpu_us_req redis_cpu_us_req origin_reqs requests errors non2xx hits misses other writes", f, " ")
  for (i in f) v[f[i], g, k] = $col[f[i]]
  # larder's own counters (bench/run's larder_delta; "-" for other targets)
  nl = split("l_up l_hit l_miss l_stale l_reval l_bypass l_pass l_coal l_tier l_stored l_cmds l_slow l_max_ms l_to l_late l_rec l_opened l_err l_skip l_drop l_gen l_rbytes l_inflight_mid l_queued_mid l_inflight_end", lf, " ")
  for (i = 1; i <= nl; i++) if (lf[i] in col) v[lf[i], g, k] = $col[lf[i]]
  if (("l_up" in col) && $col["l_up"] != "-") has_l[g] = 1
}
function maxof(name, g,    i, m, x) {
  m = 0
  for (i = 1; i <= n[g]; i++) { x = v[name, g, i]; if (x == "inf") return "inf"; if (x + 0 > m) m = x + 0 }
  return m
}
function median(name, g,    m, i, j, t, a) {
  m = n[g]
  for (i = 1; i <= m; i++) a[i] = v[name, g, i] + 0
  for (i = 2; i <= m; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
  if (m % 2) return a[(m + 1) / 2]
  return (a[m / 2] + a[m / 2 + 1]) / 2
}
function sum(name, g,    i, s) { s = 0; for (i = 1; i <= n[g]; i++) s += v[name, g, i]; return s }
function key(kind, t, size, conns) { return kind SUBSEP t SUBSEP size SUBSEP conns }
function ratio(a, b) { return b > 0 ? sprintf("%.2f", a / b) : "-" }
function cpu(g,    s) {
  s = sprintf("%.1f", median("cpu_us_req", g))
  if (median("redis_cpu_us_req", g) > 0) s = s sprintf("+%.1f", median("redis_cpu_us_req", g))
  return s
}
END {
  # Section 0: issue 13's targets, larder on Redis against nginx proxy_cache and Varnish.
  header = 0
  for (o = 1; o <= ngroups; o++) {
    g = order[o]; split(g, p, SUBSEP)
    if (p[1] != "hit" || p[2] != "larder-redis") continue
    if (!header) {
      print "Issue 13 targets: larder-redis hits against nginx proxy_cache and Varnish (medians; origin and"
      print "larder's upstream requests: sums over the rounds' hit runs)"
      printf "%-4s %5s %9s %9s %9s %7s %7s %21s %12s %6s %6s  %s\n", "size", "conns", "larder/s", "nginx/s",
             "varnish/s", "x nginx", "x best", "p99 ms larder/ng/va", "cpu us/hit", "origin", "l-up", "targets"
      header = 1
    }
    ng = key("hit", "nginx-cache", p[3], p[4]); vg = key("hit", "varnish", p[3], p[4])
    rps = median("rps", g)
    nrps = (ng in n) ? median("rps", ng) : 0; vrps = (vg in n) ? median("rps", vg) : 0
    best = nrps > vrps ? nrps : vrps
    np99 = (ng in n) ? median("p99_us", ng) : 0
    p99s = sprintf("%.2f/%s/%s", median("p99_us", g) / 1000, (ng in n) ? sprintf("%.2f", np99 / 1000) : "-",
                   (vg in n) ? sprintf("%.2f", median("p99_us", vg) / 1000) : "-")
    c = median("cpu_us_req", g) + median("redis_cpu_us_req", g)
    orig = sum("origin_reqs", g)
    miss = ""
    if (orig != 0) miss = miss sprintf(", origin %d > 0", orig)
    if (p[3] == "64k" || p[3] == "1m") {
      if (!(ng in n)) miss = miss ", no nginx-cache run"
      else {
        if (rps < nrps) miss = miss sprintf(", x nginx %.2f < 1.0", rps / nrps)
        if (median("p99_us", g) >= np99) {
          miss = miss ", p99 not below nginx's"
          pg = key("paced", "larder-redis", p[3], p[4]); png = key("paced", "nginx-cache", p[3], p[4])
          if ((pg in n) && (png in n))
            miss = miss (median("p99_us", pg) < median("p99_us", png) ? " (paced: below)" : " (paced: not below)")
        }
      }
    } else if (p[3] == "1k") {
      if (best == 0) miss = miss ", no peer run"
      else if (rps < 1.5 * best) miss = miss sprintf(", x best %.2f < 1.5", rps / best)
      if (c > 18) miss = miss sprintf(", cpu %.1f > 18", c)
    }
    printf "%-4s %5s %9.0f %9s %9s %7s %7s %21s %12s %6d %6s  %s\n", p[3], p[4], rps,
           nrps ? sprintf("%.0f", nrps) : "-", vrps ? sprintf("%.0f", vrps) : "-", ratio(rps, nrps), ratio(rps, best),
           p99s, cpu(g), orig, has_l[g] ? sum("l_up", g) : "-", miss == "" ? "met" : "NOT MET: " substr(miss, 3)
  }
  if (header) {
    print "targets: every size 0 origin requests; 64k and 1m x nginx >= 1.0 and p99 below nginx's;"
    print "1k x best >= 1.5 and cpu (larder+redis) <= 18 us per hit. l-up: requests larder itself sent upstream."
    print ""
  }
  # Section 0a: the paced runs, every cache at one rate (bench/paced.lua).
  header = 0
  for (o = 1; o <= ngroups; o++) {
    g = order[o]; split(g, p, SUBSEP)
    if (p[1] != "paced") continue
    if (!header) {
      print "Hits at the same load for every cache (bench/paced.lua: BENCH_PACED x the slowest one's hit"
      print "rate, spread over the connections; medians), so that the p99s compare below every server's capacity"
      printf "%-4s %5s %-14s %9s %8s %8s %6s\n", "size", "conns", "target", "req/s", "p50 ms", "p99 ms", "origin"
      header = 1
    }
    printf "%-4s %5s %-14s %9.0f %8.2f %8.2f %6d\n", p[3], p[4], p[2], median("rps", g), median("p50_us", g) / 1000,
           median("p99_us", g) / 1000, sum("origin_reqs", g)
  }
  if (header) print ""
  # Section 0b: larder's own counters during the hit runs (bench/run's larder_delta).
  header = 0
  for (o = 1; o <= ngroups; o++) {
    g = order[o]; split(g, p, SUBSEP)
    if (p[1] != "hit" || !(g in has_l) || p[2] ~ /^larder-pass/) continue
    if (!header) {
      print "larder's counters during the hit runs (sums over the rounds; slowest: the Redis reply histogram's"
      print "bucket bound, max over rounds; in flight: Redis commands sent and unanswered, read mid-run, max)"
      printf "%-14s %-4s %5s %6s %6s %6s %6s %6s %6s %6s %6s %6s %6s %7s %7s %7s %8s %9s\n", "target", "size", "conns",
             "origin", "l-up", "miss", "bypass", "stale", "coal", "tmout", "late", "recon", "opened", "err/skp", "slowest",
             ">10ms", "KB/hit", "in flight"
      header = 1
    }
    reqs = sum("requests", g)
    printf "%-14s %-4s %5s %6d %6d %6d %6d %6d %6d %6d %6d %6d %6d %7d %5s ms %7d %8.1f %9s\n", p[2], p[3], p[4],
           sum("origin_reqs", g), sum("l_up", g), sum("l_miss", g), sum("l_bypass", g),
           sum("l_stale", g) + sum("l_reval", g), sum("l_coal", g), sum("l_to", g), sum("l_late", g), sum("l_rec", g),
           sum("l_opened", g), sum("l_err", g) + sum("l_skip", g) + sum("l_drop", g), sum("l_cmds", g) ? maxof("l_max_ms", g) : "-",
           sum("l_slow", g), reqs ? sum("l_rbytes", g) / reqs / 1024 : 0, maxof("l_inflight_mid", g)
  }
  if (header) {
    print "l-up: requests larder sent upstream (origin > l-up: someone else reached the origin); stale:"
    print "stale + revalidated answers; coal: requests that waited behind another's upstream fetch; tmout:"
    print "Redis commands without a reply within store.redis.timeout; late: replies discarded after it;"
    print "recon: Redis reconnects; opened: breaker openings; err/skp: Redis errors + commands skipped"
    print "(breaker open, no connection) + dropped (larder's queue); >10ms: Redis replies slower than 10 ms;"
    print "KB/hit: bytes larder read from Redis per request (0 for the memory store and in-process tier hits)."
    print ""
  }
  # Section 1: hits and pass-through.
  print "Cache hits and pass-through (X-Cache-verified hits; origin = origin requests per run, median)"
  printf "%-14s %-4s %5s %10s %8s %8s %12s %8s %8s %9s %8s %8s\n", "target", "size", "conns", "req/s", "p50 ms",
         "p99 ms", "cpu us/req", "origin", "vs peer", "vs origin", "p99/peer", "cpu/peer"
  last = ""
  for (o = 1; o <= ngroups; o++) {
    g = order[o]; split(g, p, SUBSEP)
    if (p[1] != "hit") continue
    sc = p[3] SUBSEP p[4]
    if (sc != last && last != "") print ""
    last = sc
    # best peer: the faster of nginx proxy_cache and Varnish
    best = 0; bestp99 = 0; bestcpu = 0
    split("nginx-cache varnish", peers, " ")
    for (i in peers) {
      pg = key("hit", peers[i], p[3], p[4])
      if ((pg in n) && median("rps", pg) > best) {
        best = median("rps", pg); bestp99 = median("p99_us", pg)
        bestcpu = median("cpu_us_req", pg) + median("redis_cpu_us_req", pg)
      }
    }
    og = key("hit", "origin", p[3], p[4])
    orps = (og in n) ? median("rps", og) : 0
    rps = median("rps", g)
    flag = (sum("errors", g) + sum("non2xx", g) > 0) ? " errors=" sum("errors", g) "/non2xx=" sum("non2xx", g) : ""
    printf "%-14s %-4s %5s %10.0f %8.2f %8.2f %12s %8d %8s %9s %8s %8s%s\n", p[2], p[3], p[4], rps,
           median("p50_us", g) / 1000, median("p99_us", g) / 1000, cpu(g), median("origin_reqs", g),
           ratio(rps, best), ratio(rps, orps), ratio(median("p99_us", g), bestp99),
           ratio(median("cpu_us_req", g) + median("redis_cpu_us_req", g), bestcpu), flag
  }
  # Pass-through: larder without routes against nginx proxy_pass.
  header = 0
  for (o = 1; o <= ngroups; o++) {
    g = order[o]; split(g, p, SUBSEP)
    if (p[1] != "hit" || (p[2] != "larder-pass" && p[2] != "larder-pass-tls")) continue
    suffix = substr(p[2], 12)  # "" or "-tls": the https origin
    ng = key("hit", "nginx-pass" suffix, p[3], p[4])
    if (!(ng in n)) continue
    if (!header) { print ""; print "Pass-through: larder-pass / nginx-pass (-tls: both to the https origin)"; header = 1 }
    printf "  %-4s %-4s c=%-4s req/s ratio %s   p99 ratio %s   cpu/req ratio %s\n", suffix == "" ? "http" : "tls", p[3], p[4],
           ratio(median("rps", g), median("rps", ng)), ratio(median("p99_us", g), median("p99_us", ng)),
           ratio(median("cpu_us_req", g), median("cpu_us_req", ng))
  }
  # Misses.
  header = 0
  for (o = 1; o <= ngroups; o++) {
    g = order[o]; split(g, p, SUBSEP)
    if (p[1] != "miss") continue
    if (!header) {
      print ""; print "Misses (a new key per request: GET /miss/<n>)"
      printf "%-14s %5s %10s %8s %8s %12s %14s\n", "target", "conns", "req/s", "p50 ms", "p99 ms", "cpu us/req", "origin/request"
      header = 1
    }
    printf "%-14s %5s %10.0f %8.2f %8.2f %12s %14s\n", p[2], p[4], median("rps", g), median("p50_us", g) / 1000,
           median("p99_us", g) / 1000, cpu(g), ratio(sum("origin_reqs", g), sum("requests", g))
  }
  # Misses side by side: larder (Redis store) against nginx proxy_cache.
  header = 0
  for (o = 1; o <= ngroups; o++) {
    g = order[o]; split(g, p, SUBSEP)
    if (p[1] != "miss" || (p[2] != "larder-redis" && p[2] != "larder-redis-tls")) continue
    suffix = substr(p[2], 13)
    ng = key("miss", "nginx-cache" suffix, p[3], p[4])
    if (!(ng in n)) continue
    if (!header) { print ""; print "Misses: larder-redis / nginx-cache (-tls: both to the https origin; larder cpu without redis)"; header = 1 }
    printf "  %-4s c=%-4s req/s ratio %s   p99 ratio %s   cpu/req ratio %s\n", suffix == "" ? "http" : "tls", p[4],
           ratio(median("rps", g), median("rps", ng)), ratio(median("p99_us", g), median("p99_us", ng)),
           ratio(median("cpu_us_req", g), median("cpu_us_req", ng))
  }
  # Read/write mix.
  header = 0
  for (o = 1; o <= ngroups; o++) {
    g = order[o]; split(g, p, SUBSEP)
    if (p[1] != "mix") continue
    if (!header) {
      print ""; print "Read/write mix: 90% GET of 20 URLs, 10% PUT to one of them"
      print "  shared-ns: GET/PUT /api/products/{id}, a PUT invalidates products + product:{id} (every cached URL)"
      print "  item-ns:   GET/PUT /api/items/{id}, a PUT invalidates item:{id} only"
      printf "%-14s %-9s %5s %10s %8s %8s %12s %10s %8s\n", "target", "scenario", "conns", "req/s", "p50 ms", "p99 ms", "cpu us/req", "hit ratio", "writes"
      header = 1
    }
    reads = sum("hits", g) + sum("misses", g) + sum("other", g)
    total = reads + sum("writes", g)
    printf "%-14s %-9s %5s %10.0f %8.2f %8.2f %12s %9.1f%% %7.1f%%\n", p[2], p[3], p[4], median("rps", g),
           median("p50_us", g) / 1000, median("p99_us", g) / 1000, cpu(g),
           reads ? 100 * sum("hits", g) / reads : 0, total ? 100 * sum("writes", g) / total : 0
  }
  print ""
  print "vs peer: req/s over the faster of nginx proxy_cache and Varnish; p99/peer: p99 over that peer's p99"
  print "(lower is better); cpu/peer: CPU per request over that peer's (lower is better; less"
  print "sensitive to other load on the machine than req/s); vs origin: req/s over the origin"
  print "served directly (the ceiling);"
  print "cpu us/req: user+system CPU of the server's processes per request (larder-redis: larder+redis)."
}
