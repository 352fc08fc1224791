-- wrk script: POST a small JSON body. With WRK_RATE set (requests per
-- second, one wrk thread), requests leave on a fixed schedule, one every
-- 1/rate s, whichever connection is free, as an open load would send them;
-- without it, each connection sends again as soon as it has its answer.
wrk.method = "POST"
wrk.body = '{"email":"ada@example.com","amount":42,"currency":"EUR"}'
wrk.headers["Content-Type"] = "application/json"

local rate = tonumber(os.getenv("WRK_RATE") or "0")
if rate > 0 then
  local ffi = require("ffi")
  ffi.cdef [[
    typedef struct { long tv_sec; long tv_nsec; } switchyard_timespec;
    int clock_gettime(int clock, switchyard_timespec *now);
  ]]
  local CLOCK_MONOTONIC = 1
  local now = ffi.new("switchyard_timespec")
  local function now_ms()
    ffi.C.clock_gettime(CLOCK_MONOTONIC, now)
    return tonumber(now.tv_sec) * 1000 + tonumber(now.tv_nsec) / 1e6
  end
  local interval_ms = 1000 / rate
  local next_ms = nil

  -- wrk asks before each request after a connection's first: wait until
  -- the next free slot of the schedule. A schedule more than a second
  -- behind restarts from now instead of sending a burst to catch up.
  function delay()
    local at = now_ms()
    if next_ms == nil or next_ms < at - 1000 then
      next_ms = at
    end
    local wait = next_ms - at
    next_ms = next_ms + interval_ms
    return math.floor(wait)
  end
end
