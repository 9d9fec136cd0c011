# Summarizes bench/results/<ts>/memory.tsv (written by bench/run): what one
# stored entry takes in Redis, per body and size, stored as it came
# (larder-redis, what the hit runs read) and gzip-compressed (larder-gzip,
# cache.compression: { algorithm: gzip }, measured only).
BEGIN { FS = "\t" }
NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
{
  g = $col["body"] SUBSEP $col["size"]
  if (!(g in raw)) order[++ng] = g
  raw[g] = $col["raw_bytes"]
  c = $col["config"]
  mu[g, c] = $col["memory_usage"]; len[g, c] = $col["value_bytes"]; sb[g, c] = $col["stored_body_bytes"]
}
function frac(a, b) { return (b > 0 && a != "") ? sprintf("%.3f", a / b) : "-" }
END {
  if (!ng) exit
  print "Redis memory per stored entry: MEMORY USAGE of the entry key (key, value and Redis's overhead,"
  print "allocator rounding included) over the raw body; value: the entry's length (head + body)"
  printf "%-6s %-4s %9s | %-32s | %-43s\n", "", "", "", "    as it came (larder-redis)", "    gzip (larder-gzip, not in the hit runs)"
  printf "%-6s %-4s %9s | %9s %9s %12s | %9s %9s %9s %12s\n", "body", "size", "raw B", "value B", "memory B",
         "memory/raw", "body B", "value B", "memory B", "memory/raw"
  for (o = 1; o <= ng; o++) {
    g = order[o]; split(g, p, SUBSEP)
    printf "%-6s %-4s %9d | %9s %9s %12s | %9s %9s %9s %12s\n", p[1], p[2], raw[g], len[g, "larder-redis"],
           mu[g, "larder-redis"], frac(mu[g, "larder-redis"], raw[g]), sb[g, "larder-gzip"], len[g, "larder-gzip"],
           mu[g, "larder-gzip"], frac(mu[g, "larder-gzip"], raw[g])
    if (p[1] == "api" && p[2] == "64k" && mu[g, "larder-gzip"] != "")
      target = sprintf("issue 13 target (api 64k, compression %s, memory/raw <= 0.25): %s, %s", compression,
                       frac(mu[g, "larder-gzip"], raw[g]),
                       mu[g, "larder-gzip"] / raw[g] <= 0.25 ? "met" : "NOT MET")
  }
  print "bench: {\"data\":\"xxx...\"}, the hit runs' body (one byte repeated: compresses ~100x, no fair test);"
  print "api: a product listing (the shape of bench/micro's API JSON, ~4.7x smaller gzipped)."
  print "body B: body bytes larder stored (larder_cache_stored_bytes_total{form=\"stored\"})."
  if (target != "") print target
}
