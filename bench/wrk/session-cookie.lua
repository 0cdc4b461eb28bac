-- GET /v1/auth/session with the session cookie of a seeded session picked at random (uniform over
-- all of them). Args: <number of seeded sessions>. Token format: bench/seed.ts.
dofile("common.lua")

local count

function init(args)
  count = tonumber(args[1])
  math.randomseed(os.time() + thread_id * 7919)
end

function request()
  local i = math.random(count)
  local token = string.format("ses_0%025x.s%042d", i, i)
  return wrk.format("GET", "/v1/auth/session", { ["Cookie"] = "burrow_session=" .. token })
end
