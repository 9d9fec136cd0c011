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
