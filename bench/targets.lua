-- wrk script: each request takes the next "path<TAB>Cookie-header" line of the file named by the
-- BENCH_TARGETS environment variable (real parent sessions, one per guardian), and every response
-- that is not 200 counts as an error. done() prints one JSON line for bench/bench.py.
local targets = {}
local counter = 0
local threads = {}
bad = 0

function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

function init(args)
  local f = assert(io.open(os.getenv("BENCH_TARGETS"), "r"))
  for line in f:lines() do
    local path, cookie = line:match("^([^\t]+)\t?(.*)$")
    if path then table.insert(targets, {path, cookie}) end
  end
  f:close()
  counter = tid * 7919
end

function request()
  counter = counter + 1
  local t = targets[(counter % #targets) + 1]
  local headers = {}
  if t[2] ~= "" then headers["Cookie"] = t[2] end
  return wrk.format("GET", t[1], headers)
end

function response(status, headers, body)
  if status ~= 200 then bad = bad + 1 end
end

function done(summary, latency, requests)
  local non200 = 0
  for _, t in ipairs(threads) do non200 = non200 + t:get("bad") end
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests": %d, "duration_us": %d, "non200": %d, "socket_errors": %d, ' ..
    '"p50_us": %d, "p95_us": %d, "p99_us": %d, "mean_us": %.1f, "max_us": %d}\n',
    summary.requests, summary.duration, non200, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.mean, latency.max))
end
