-- wrk script: POST a small JSON body; WRK_DELAY_MS paces each connection.
wrk.method = "POST"
wrk.body = '{"email":"ada@example.com","amount":42,"currency":"EUR"}'
wrk.headers["Content-Type"] = "application/json"
local delay_ms = tonumber(os.getenv("WRK_DELAY_MS") or "0")
function delay()
  return delay_ms
end
