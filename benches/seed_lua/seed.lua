-- The seed report's six categories under Lua 5.4 and LuaJIT, the same algorithms
-- as benches/seed.rs and benches/seed_py/seed.py, timed in-process. They put the
-- seed report's claims in proportion: what an interpreter other than Vela gets over
-- CPython on the same work.
--
-- Prints one tab-separated line per benchmark: `group/param  ns_per_call  result`.
-- Runs under Lua 5.4 and LuaJIT 2.1 (Lua 5.1 syntax: no `//`, no integer-only ops).
-- Usage: lua5.4 seed.lua [--quick]   (--quick: one short repeat each, for smoke tests)

local VAR_ROUNDS = 100

local function arithmetic(n)
  local x = 0
  for i = 0, n - 1 do
    x = (x * 3 + i) % 1000003
  end
  return x
end

local function fibonacci(n)
  local a, b = 0, 1
  for _ = 1, n do
    local t = a + b
    a = b
    b = t
  end
  return a
end

-- A Lua table used as a list, as benches/programs/list_stack.lua does: append at
-- `#s + 1`, pop by reading `s[#s]` and clearing it.
local function stack_operations(n)
  local s = {}
  for i = 0, n - 1 do
    s[#s + 1] = i
  end
  local total = 0
  for _ = 1, n - 1 do
    local top = s[#s]
    s[#s] = nil
    total = total + top
  end
  return total + s[1]
end

local function control_flow(n)
  local count = 0
  for i = 0, n - 1 do
    if i % 3 == 0 then
      count = count + 1
    elseif i % 3 == 1 then
      count = count + 2
    else
      count = count - 1
    end
  end
  return count
end

local load_source = loadstring or load

-- Compiles generated source and returns the function it defines as global `name`.
local function generated(source, name)
  local chunk = assert(load_source(source, "=" .. name))
  chunk()
  return _G[name]
end

-- The local (or global) variables benchmark's source: n variables, each updated in
-- every round and summed at the end. Globals are reset at the start of each call.
local function vars_source(n, globals)
  local name = globals and "global_variables" or "local_variables"
  local var = globals and "g%d" or "v%d"
  local lines, sum = {}, {}
  for j = 0, n - 1 do
    sum[#sum + 1] = var:format(j)
    if globals then
      lines[#lines + 1] = (var .. " = 0"):format(j)
    end
  end
  lines[#lines + 1] = ("function %s()"):format(name)
  local set = globals and "  " .. var .. " = %d" or "  local " .. var .. " = %d"
  for j = 0, n - 1 do
    lines[#lines + 1] = set:format(j, j)
  end
  lines[#lines + 1] = ("  for i = 0, %d do"):format(VAR_ROUNDS - 1)
  for j = 0, n - 1 do
    lines[#lines + 1] = ("    " .. var .. " = " .. var .. " + i"):format(j, j)
  end
  lines[#lines + 1] = "  end"
  lines[#lines + 1] = "  return " .. table.concat(sum, " + ")
  lines[#lines + 1] = "end"
  return table.concat(lines, "\n") .. "\n", name
end

local function vars_ref(n)
  return n * (n - 1) / 2 + n * (VAR_ROUNDS * (VAR_ROUNDS - 1) / 2)
end

local function fib_ref(n)
  local a, b = 0, 1
  for _ = 1, n do
    a, b = b, a + b
  end
  return a
end

-- { group, param, function, argument, expected result (nil: none) }
local function cases()
  local list = {}
  local function add(group, n, f, arg, expect)
    list[#list + 1] = { group, n, f, arg, expect }
  end
  -- (No reference here: it would be the same loop. scripts/perf_report.py checks
  -- every result, this one included, against CPython's.)
  for _, n in ipairs({ 1000, 10000, 100000 }) do
    add("arithmetic", n, arithmetic, n, nil)
  end
  for _, n in ipairs({ 10, 20, 30 }) do
    add("fibonacci", n, fibonacci, n, fib_ref(n))
  end
  for _, n in ipairs({ 5, 10, 20 }) do
    add("local_variables", n, generated(vars_source(n, false)), nil, vars_ref(n))
  end
  for _, n in ipairs({ 5, 10, 20 }) do
    add("global_variables", n, generated(vars_source(n, true)), nil, vars_ref(n))
  end
  for _, n in ipairs({ 10, 50, 100 }) do
    add("stack_operations", n, stack_operations, n, n * (n - 1) / 2)
  end
  for _, n in ipairs({ 100, 500, 1000 }) do
    local expect = 0
    for i = 0, n - 1 do
      expect = expect + ({ 1, 2, -1 })[i % 3 + 1]
    end
    add("control_flow", n, control_flow, n, expect)
  end
  return list
end

-- Seconds of processor time for `number` calls of f(arg).
local function time_calls(f, arg, number)
  local start = os.clock()
  for _ = 1, number do
    f(arg)
  end
  return os.clock() - start
end

local function median(xs)
  table.sort(xs)
  local m = math.floor(#xs / 2) + 1
  if #xs % 2 == 1 then
    return xs[m]
  end
  return (xs[m - 1] + xs[m]) / 2
end

local function main(quick)
  local repeats = quick and 1 or 7
  local budget = quick and 0.01 or 0.15
  for _, c in ipairs(cases()) do
    local group, param, f, arg, expect = c[1], c[2], c[3], c[4], c[5]
    local result = f(arg)
    if expect ~= nil and result ~= expect then
      error(("%s/%d: got %s, expected %s"):format(group, param, tostring(result), tostring(expect)))
    end
    -- Like Python's timeit.autorange: 1, 2, 5, 10, 20, 50, ... calls until they
    -- take 0.2 s, then scaled to the budget per repeat.
    local number, scale = 1, 1
    while true do
      local done = false
      for _, k in ipairs({ 1, 2, 5 }) do
        number = k * scale
        if time_calls(f, arg, number) >= 0.2 then
          done = true
          break
        end
      end
      if done then
        break
      end
      scale = scale * 10
    end
    number = math.max(1, math.floor(number * budget / 0.2))
    local times = {}
    for r = 1, repeats do
      times[r] = time_calls(f, arg, number)
    end
    local ns = median(times) / number * 1e9
    io.write(("%s/%d\t%.1f\t%d\n"):format(group, param, ns, result))
    io.stdout:flush()
  end
end

main(arg and arg[1] == "--quick")
