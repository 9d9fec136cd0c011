-- wrk script for bench/scale-out: cache hits spread over a fixed set of URLs,
--   GET <pattern with %d replaced by 1..keys>
-- each request the next one, every connection starting at its own offset.
-- Distinct paths, not only distinct queries: a path has a namespace of its
-- own (its URI namespace, read by every hit on it), so on a Redis Cluster
-- both the entries and those namespaces spread over the masters, as in a
-- real workload. (Every hit also reads the fleet-wide keys, whatever the
-- URL: see bench/scale-out.) The URL given to wrk is only where to connect.
-- Usage: wrk ... -s rotate.lua URL -- <keys> <pattern, e.g. /bench/k%d/1k.json>
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(dir .. "report.lua")

local keys, counter, pattern = 64, 0, "/bench/k%d/1k.json"

function init(args)
  keys = tonumber(args[1] or "") or keys
  pattern = args[2] or pattern
  math.randomseed(os.time() + (tonumber(tostring({}):match("0x(%x+)") or "0", 16) or 0) % 100000)
  -- A start of its own, so that the wrk processes do not walk in step.
  counter = math.random(keys)
end

function request()
  counter = counter % keys + 1
  return wrk.format("GET", string.format(pattern, counter))
end
