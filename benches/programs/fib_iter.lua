-- Iterative Fibonacci modulo a prime, for 100 values of n around 100,000.
local function fib(n)
  local a, b = 0, 1
  for _ = 1, n do
    a, b = b, (a + b) % 1000000007
  end
  return a
end

local total = 0
for k = 0, 99 do
  total = (total + fib(100000 + k)) % 1000000007
end
print(string.format("%d", total))
