-- wrk script for `GET /v1/decisions?ip=`: each request asks for a random address, held by the
-- server with probability 1 - MISS, else absent. Decision i (0 <= i < HELD) is the address
-- (11 + i % 200).b.c.d where b.c.d is i // 200 in base 256 (the same formula as run.sh's
-- CSV files); indexes in [HELD, 2 * HELD) give addresses the server does not hold.
--
--   HELD=100000 MISS=0.2 API_KEY=... wrk -t2 -c50 -d20s -s lookup.lua http://127.0.0.1:PORT
--
-- Prints one line at the end: `RESULT req_s=.. p50_ms=.. p99_ms=.. max_ms=.. requests=..
-- errors=..` (errors: connect/read/write/timeout failures plus non-2xx answers).

local held = tonumber(os.getenv("HELD") or "100000")
local miss = tonumber(os.getenv("MISS") or "0.2")
local key = os.getenv("API_KEY") or ""
local counter = 0

local function ip(i)
  local q = math.floor(i / 200)
  return string.format("%d.%d.%d.%d", 11 + i % 200, math.floor(q / 65536) % 256,
    math.floor(q / 256) % 256, q % 256)
end

function setup(thread)
  counter = counter + 1
  thread:set("seed", counter)
end

function init(args)
  math.randomseed(os.time() * 1000 + (seed or 0))
  wrk.headers["X-Api-Key"] = key
  wrk.headers["User-Agent"] = "lapi-bench/1.0"
end

function request()
  local i = math.random(0, held - 1)
  if math.random() < miss then
    i = i + held
  end
  return wrk.format("GET", "/v1/decisions?ip=" .. ip(i))
end

function done(summary, latency, requests)
  local e = summary.errors
  local errors = e.connect + e.read + e.write + e.timeout + e.status
  io.write(string.format(
    "RESULT req_s=%.1f p50_ms=%.3f p99_ms=%.3f max_ms=%.3f requests=%d errors=%d\n",
    summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000, summary.requests, errors))
end
