-- wrk script: prints one machine-readable line at the end of a run.
--   BENCH requests=N duration_us=N rps=F p50_us=N p99_us=N errors=N non2xx=N
--     [hits=N misses=N other=N writes=N]
-- Other scripts (miss.lua, mix.lua) load this one and may set `counted`
-- (a list of per-thread counter names) to have them summed and printed.
local threads = {}
counted = counted or {}

function setup(thread)
  table.insert(threads, thread)
end

function done(summary, latency, requests)
  local e = summary.errors
  local errors = e.connect + e.read + e.write + e.timeout
  local line = string.format(
    "BENCH requests=%d duration_us=%d rps=%.1f p50_us=%d p99_us=%d errors=%d non2xx=%d",
    summary.requests, summary.duration, summary.requests / (summary.duration / 1e6),
    latency:percentile(50), latency:percentile(99), errors, e.status)
  for _, name in ipairs(counted) do
    local total = 0
    for _, t in ipairs(threads) do total = total + (t:get(name) or 0) end
    line = line .. string.format(" %s=%d", name, total)
  end
  io.write(line .. "\n")
end
