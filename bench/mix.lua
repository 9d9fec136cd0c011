-- wrk script for the read/write mix on larder: 90% GET of a small set of
-- product URLs, 10% PUT /api/products/{id} (which invalidates the
-- "products" and "product:{id}" namespaces). Counts X-Cache answers.
-- Usage: wrk ... -s mix.lua URL -- [products] [write percent] [path prefix]
-- With the prefix /api/items/ the same mix runs on routes whose writes
-- invalidate only "item:{id}".
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
counted = {"hits", "misses", "other", "writes"}
dofile(dir .. "report.lua")

local products, write_pct, prefix = 20, 10, "/api/products/"
hits, misses, other, writes = 0, 0, 0, 0
local body = '{"name":"bench product","price":101}'
local put_headers = { ["Content-Type"] = "application/json" }

function init(args)
  products = tonumber(args[1] or "") or products
  write_pct = tonumber(args[2] or "") or write_pct
  prefix = args[3] or prefix
  math.randomseed(os.time() + (tonumber(tostring({}):match("0x(%x+)") or "0", 16) or 0) % 100000)
end

function request()
  local id = math.random(products)
  if math.random(100) <= write_pct then
    return wrk.format("PUT", prefix .. id, put_headers, body)
  end
  return wrk.format("GET", prefix .. id)
end

function response(status, headers, body)
  local x = headers["X-Cache"] or headers["x-cache"]
  if x == "HIT" then
    hits = hits + 1
  elseif x == "MISS" then
    misses = misses + 1
  elseif x == nil and status == 200 then
    writes = writes + 1  -- write routes carry no X-Cache
  else
    other = other + 1
  end
end
