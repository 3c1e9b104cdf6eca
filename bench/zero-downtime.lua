-- wrk script for bench/zero-downtime: counts responses by status class and the X-Generation values seen, and
-- prints one machine-readable RESULT line at the end. wrk's own summary counts only status >= 400 as errors,
-- so non-2xx is counted here.
--
-- With WRK_THINK_MS set (bench/zero-downtime's RATE), each connection waits a think time between a response and
-- its next request: exponentially distributed with that mean, so the connections together send a roughly Poisson
-- stream of requests at a rate that does not depend on how fast the server answers. wrk takes whole milliseconds,
-- so each draw is rounded up or down at random in proportion, which keeps the mean. wrk measures latency from the
-- request being written, so the think time is not part of it.
local threads = {}

local think_ms = tonumber(os.getenv("WRK_THINK_MS") or "")
if think_ms and think_ms > 0 then
  function delay()
    local d = -think_ms * math.log(1 - math.random())
    local whole = math.floor(d)
    if math.random() < d - whole then whole = whole + 1 end
    return whole
  end
end

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  math.randomseed(os.time() + tonumber(tostring({}):match("0x(%x+)") or "0", 16) % 100000)
  ok, non2xx, gen_min, gen_max = 0, 0, -1, -1
end

function response(status, headers, body)
  if status >= 200 and status < 300 then
    ok = ok + 1
  else
    non2xx = non2xx + 1
  end
  local g = tonumber(headers["X-Generation"] or headers["x-generation"] or "")
  if g then
    if gen_min < 0 or g < gen_min then gen_min = g end
    if g > gen_max then gen_max = g end
  end
end

function done(summary, latency, requests)
  local total_ok, total_non2xx, gmin, gmax = 0, 0, -1, -1
  for _, t in ipairs(threads) do
    total_ok = total_ok + t:get("ok")
    total_non2xx = total_non2xx + t:get("non2xx")
    local a, b = t:get("gen_min"), t:get("gen_max")
    if a >= 0 and (gmin < 0 or a < gmin) then gmin = a end
    if b > gmax then gmax = b end
  end
  local e = summary.errors
  io.write(string.format(
    "RESULT requests=%d ok=%d non2xx=%d connect=%d read=%d write=%d timeout=%d duration_s=%.2f rps=%.1f " ..
    "p50_ms=%.2f p99_ms=%.2f max_ms=%.2f gen_min=%d gen_max=%d\n",
    summary.requests, total_ok, total_non2xx, e.connect, e.read, e.write, e.timeout,
    summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000, gmin, gmax))
end
