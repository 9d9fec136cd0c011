-- wrk script for the miss path: every request asks for a new key,
--   GET /miss/<run>-<thread>-<counter>
-- Usage: wrk ... -s miss.lua URL -- <run id>
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(dir .. "report.lua")

local run_id, counter = "0", 0
thread_id = 0  -- set per thread by setup()
local next_thread = 0

local report_setup = setup
function setup(thread)
  next_thread = next_thread + 1
  thread:set("thread_id", next_thread)
  report_setup(thread)
end

function init(args)
  run_id = args[1] or tostring(os.time())
end

function request()
  counter = counter + 1
  return wrk.format("GET", string.format("/miss/%s-%d-%d", run_id, thread_id, counter))
end
