-- wrk script for benches/http_load.sh. MODE picks the request mix:
--   get        GET /api/v2/dashboards/{id}                     (~4 KB answers)
--   get_props  GET /api/v2/dashboards/{id}?include=properties  (~25 KB answers)
--   list       GET /api/v2/dashboards?orgID=…&limit=20&offset=… (a page of 20)
--   list_first the same at offset 0; list_deep at offset PER_ORG-20
--   org        GET /api/v2/dashboards?orgID=…&limit=100 (the Influx UI's list;
--              a whole org from a server without --enforce-org-dashboard-limits)
--   mixed      35% get, 15% get_props, 30% list, 10% PATCH view, 10% PUT cells
-- IDS names the seeder's "orgID dashID cellID,cellID,…" file, TOKEN the
-- operator token, VIEW a view-properties fixture for PATCH bodies.
local mode = os.getenv("MODE") or "mixed"
local token = os.getenv("TOKEN") or ""
local per_org = tonumber(os.getenv("PER_ORG") or "1000")

local orgs_seen, orgs, dashes, cells = {}, {}, {}, {}
for line in io.lines(os.getenv("IDS")) do
  local org, dash, cs = line:match("^(%S+) (%S+) (%S+)$")
  if org then
    dashes[#dashes + 1] = dash
    local list = {}
    for c in cs:gmatch("[^,]+") do list[#list + 1] = c end
    cells[#cells + 1] = list
    if not orgs_seen[org] then
      orgs_seen[org] = true
      orgs[#orgs + 1] = org
    end
  end
end

local f = io.open(os.getenv("VIEW"), "r")
local view = f:read("*a")
f:close()
local view_body = '{"name":"patched under load","properties":' .. view .. '}'

local headers = { ["Authorization"] = "Token " .. token, ["Content-Type"] = "application/json" }
local shift = 0

local function get(i)
  return wrk.format("GET", "/api/v2/dashboards/" .. dashes[i], headers)
end

local function get_props(i)
  return wrk.format("GET", "/api/v2/dashboards/" .. dashes[i] .. "?include=properties", headers)
end

local function list()
  local org = orgs[math.random(#orgs)]
  local offset = 20 * math.random(0, math.floor(per_org / 20) - 1)
  return wrk.format("GET", "/api/v2/dashboards?orgID=" .. org .. "&limit=20&offset=" .. offset, headers)
end

local function list_at(offset)
  local org = orgs[math.random(#orgs)]
  return wrk.format("GET", "/api/v2/dashboards?orgID=" .. org .. "&limit=20&offset=" .. offset, headers)
end

local function whole_org()
  local org = orgs[math.random(#orgs)]
  return wrk.format("GET", "/api/v2/dashboards?orgID=" .. org .. "&limit=100", headers)
end

local function patch_view(i)
  local cs = cells[i]
  local path = "/api/v2/dashboards/" .. dashes[i] .. "/cells/" .. cs[math.random(#cs)] .. "/view"
  return wrk.format("PATCH", path, headers, view_body)
end

local function put_cells(i)
  shift = shift + 1
  local cs = cells[i]
  local parts = {}
  for k, c in ipairs(cs) do
    local j = (k + shift) % #cs
    parts[#parts + 1] = string.format('{"id":"%s","x":%d,"y":%d,"w":4,"h":4}', c, (j % 3) * 4, math.floor(j / 3) * 4)
  end
  return wrk.format("PUT", "/api/v2/dashboards/" .. dashes[i] .. "/cells", headers, "[" .. table.concat(parts, ",") .. "]")
end

-- ADDRS ("host:port,host:port"): wrk threads spread over several Tessera
-- instances on one database, one instance per thread in turn.
local addrs = os.getenv("ADDRS") or ""
if addrs ~= "" then
  local list, n = {}, 0
  for a in addrs:gmatch("[^,]+") do list[#list + 1] = a end
  setup = function(thread)
    n = n + 1
    local host, port = list[(n - 1) % #list + 1]:match("^(.*):(%d+)$")
    thread.addr = wrk.lookup(host, port)[1]
  end
end

request = function()
  local i = math.random(#dashes)
  if mode == "get" then return get(i) end
  if mode == "get_props" then return get_props(i) end
  if mode == "list" then return list() end
  if mode == "list_first" then return list_at(0) end
  if mode == "list_deep" then return list_at(per_org - 20) end
  if mode == "org" then return whole_org() end
  if mode == "patch" then return patch_view(i) end
  if mode == "cells" then return put_cells(i) end
  local r = math.random(100)
  if r <= 35 then return get(i) end
  if r <= 50 then return get_props(i) end
  if r <= 80 then return list() end
  if r <= 90 then return patch_view(i) end
  return put_cells(i)
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "RESULT rps=%.1f p50_us=%d p99_us=%d p999_us=%d max_us=%d requests=%d errors=%d status_errors=%d bytes=%d\n",
    summary.requests / (summary.duration / 1e6),
    latency:percentile(50), latency:percentile(99), latency:percentile(99.9), latency.max,
    summary.requests, e.connect + e.read + e.write + e.timeout + e.status, e.status, summary.bytes))
end
