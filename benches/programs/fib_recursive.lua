-- Recursive Fibonacci: fib(30), four times (one fib(30) is too short under CPython).
local function fib(n)
  if n < 2 then
    return n
  end
  return fib(n - 1) + fib(n - 2)
end

local total = 0
for _ = 1, 4 do
  total = total + fib(30)
end
print(string.format("%d", total))
