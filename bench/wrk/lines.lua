-- POST a different form body per request: line i of BENCH_FILE, each used once (codes and refresh tokens are
-- single-use). Each thread takes every n-th line. BENCH_TEMPLATE has one %s, replaced by the line.
dofile(os.getenv("BENCH_WRK_DIR") .. "/report.lua")

local counter = 0
function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
end

function init(args)
  -- wrk.format uses only the headers it is given: the ones from -H are copied in.
  headers = { ["Content-Type"] = "application/x-www-form-urlencoded" }
  for name, value in pairs(wrk.headers) do
    headers[name] = value
  end
  local threads = tonumber(os.getenv("BENCH_THREADS"))
  bodies = {}
  next_body = 1
  local template = os.getenv("BENCH_TEMPLATE")
  local i = 0
  for line in io.lines(os.getenv("BENCH_FILE")) do
    if i % threads == id then
      bodies[#bodies + 1] = string.format(template, line)
    end
    i = i + 1
  end
end

-- Past the last line a thread sends a form that names no token: it is refused (an error in the table), but it is no
-- replay, which would revoke the grant the other threads' codes and refresh tokens belong to.
function request()
  local body = bodies[next_body] or string.format(os.getenv("BENCH_TEMPLATE"), "exhausted")
  next_body = next_body + 1
  return wrk.format("POST", nil, headers, body)
end
