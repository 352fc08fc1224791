-- wrk script: POST a small JSON body. WRK_DELAY_MS (fractional allowed)
-- paces each connection: wait that long before each request. wrk takes
-- whole milliseconds, so the fraction is carried from one request to the
-- next and the mean delay is the one asked for.
wrk.method = "POST"
wrk.body = '{"email":"ada@example.com","amount":42,"currency":"EUR"}'
wrk.headers["Content-Type"] = "application/json"
local delay_ms = tonumber(os.getenv("WRK_DELAY_MS") or "0")
local carried = 0
function delay()
  carried = carried + delay_ms
  local whole = math.floor(carried)
  carried = carried - whole
  return whole
end
