-- wrk script for the vault's login/start (docs/vault.md, "The load generator's CPU"): a standard load
-- generator beside bench/vault-load.ts's own. args[1] is a file of request bodies, one JSON
-- {"account":…,"request":<KE1>} a line (bench/vault.ts --wrk writes one); each request is built once
-- in init and the connections send them in turn, so wrk's CPU per request is one copy and its TLS.
--   wrk -t1 -c64 -d5s --latency -s bench/wrk-login.lua https://HOST:PORT/v1/login/start -- bodies.txt
local requests = {}
local n = 0

function init(args)
  for body in io.lines(args[1]) do
    requests[#requests + 1] = wrk.format("POST", "/v1/login/start", { ["content-type"] = "application/json" }, body)
  end
end

function request()
  n = n % #requests + 1
  return requests[n]
end
