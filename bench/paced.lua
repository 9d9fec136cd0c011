-- wrk script for hits at a set rate: each connection waits before sending
-- its next request, so that all of them together offer about RATE requests
-- a second whatever the server's own speed. Servers then compare at the same
-- load, below every one's capacity, instead of each at the rate at which
-- the client can read it (the hit runs, where a faster server hands the
-- client more than it can read in turn, and the client's own queueing is
-- most of the tail).
-- Usage: wrk -c CONNS ... -s paced.lua URL -- RATE CONNS
-- wrk measures each request from its write, so the wait is not in the latency.
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(dir .. "report.lua")

local interval_ms = 0

function init(args)
  local rate, conns = tonumber(args[1]), tonumber(args[2])
  interval_ms = conns / rate * 1000
  math.randomseed(os.time())
end

-- Uniform in [0.5, 1.5] x the mean interval: connections do not fall into step.
function delay()
  return interval_ms * (0.5 + math.random())
end
