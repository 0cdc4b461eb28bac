-- POST /v1/auth/sign-in as a seeded user picked at random (lockouts are per account, so spreading
-- over all users keeps any one account far from them; every attempt has the right password).
-- Args: <number of seeded users> <password>.
dofile("common.lua")

local count, password
local headers = { ["Content-Type"] = "application/json" }

function init(args)
  count = tonumber(args[1])
  password = args[2]
  math.randomseed(os.time() + thread_id * 7919)
end

function request()
  local i = math.random(count)
  return wrk.format("POST", "/v1/auth/sign-in", headers,
    '{"email":"user' .. i .. '@example.com","password":"' .. password .. '"}')
end
