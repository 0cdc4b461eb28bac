-- POST /v1/auth/token with grantType refresh_token. Refresh tokens are single-use: each answer
-- carries the successor, which response() puts back in the thread's pool, so every seeded chain is
-- only ever used by one request at a time and each token exactly once. A thread's pool holds more
-- tokens than it has connections, so request() always finds one.
-- Args: <tokens per thread> <offset>. Thread t uses the seeded tokens offset+t*n+1 … offset+t*n+n
-- (bench/seed.ts); the warm-up and the measured run get disjoint ranges.
dofile("common.lua")

local pool = {}
local headers = { ["Content-Type"] = "application/json" }

function init(args)
  local n = tonumber(args[1])
  local first = tonumber(args[2]) + thread_id * n + 1
  for i = first, first + n - 1 do
    table.insert(pool, string.format("r%042d", i))
  end
end

function request()
  -- An empty pool means failures ate the chains; the malformed token makes that show as non-2xx.
  local token = table.remove(pool) or "exhausted"
  return wrk.format("POST", "/v1/auth/token", headers,
    '{"grantType":"refresh_token","refreshToken":"' .. token .. '"}')
end

function response(status, headers, body)
  if status == 200 then
    local successor = string.match(body, '"refreshToken":"([^"]+)"')
    if successor then table.insert(pool, 1, successor) end
  end
end
