-- wrk script shared by the scenarios: optional JSON body, header, unique emails (register) and
-- emails taking turns over BENCH_ROTATE accounts (login), and a one-line JSON summary at the end.
local counter = 0
local thread_id = 0
local threads = {}

function setup(thread)
  thread:set("id", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  thread_id = id or 0
end

request = function()
  local body = os.getenv("BENCH_BODY")
  local method = os.getenv("BENCH_METHOD") or "GET"
  local headers = {}
  local header = os.getenv("BENCH_HEADER")
  if header and header ~= "" then
    local name, value = header:match("^([^:]+):%s*(.*)$")
    headers[name] = value
  end
  if body and body ~= "" then
    headers["Content-Type"] = "application/json"
    if body:find("UNIQUE") then
      counter = counter + 1
      body = body:gsub("UNIQUE", string.format("%d-%d-%d", os.time(), thread_id, counter))
    end
    if body:find("ROTATE") then
      -- Each thread takes its own accounts in turn, so an account has one attempt in flight at most.
      local accounts = tonumber(os.getenv("BENCH_ROTATE") or "1")
      local nthreads = tonumber(os.getenv("BENCH_THREADS") or "2")
      counter = counter + 1
      body = body:gsub("ROTATE", string.format("%d", (counter * nthreads + thread_id - 1) % accounts))
    end
  end
  return wrk.format(method, nil, headers, body ~= "" and body or nil)
end

done = function(summary, latency, requests)
  local errors = summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout
  io.write(string.format('{"requests":%d,"duration_us":%d,"errors":%d,"p50_us":%d,"p99_us":%d}\n',
    summary.requests, summary.duration, errors, latency:percentile(50), latency:percentile(99)))
end
