-- wrk script for bench/zero-downtime: counts responses by status class and the X-Generation values seen, and
-- prints one machine-readable RESULT line at the end. wrk's own summary counts only status >= 400 as errors,
-- so non-2xx is counted here.
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
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
