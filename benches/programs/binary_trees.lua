-- Binary trees: allocate many short-lived trees and one long-lived one (GC pressure).
local function make(d)
  if d == 0 then
    return { false, false }
  end
  return { make(d - 1), make(d - 1) }
end

local function check(t)
  if not t[1] then
    return 1
  end
  return 1 + check(t[1]) + check(t[2])
end

local function run(max_depth)
  local total = check(make(max_depth + 1))
  local long_lived = make(max_depth)
  for d = 4, max_depth, 2 do
    local iters = 2 ^ (max_depth - d + 4)
    for _ = 1, iters do
      total = total + check(make(d))
    end
  end
  return total + check(long_lived)
end

print(string.format("%d", run(14)))
