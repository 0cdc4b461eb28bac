-- GET the URL's path with one header whose value is a line of a file, picked at random per request:
-- access tokens (Authorization: Bearer …) or a peer's session cookies.
-- Args: <file> <header name> [value prefix].
dofile("common.lua")

local values, name, prefix

function init(args)
  values = read_lines(args[1])
  name = args[2]
  prefix = args[3] or ""
  math.randomseed(os.time() + thread_id * 7919)
end

function request()
  return wrk.format("GET", nil, { [name] = prefix .. values[math.random(#values)] })
end
