-- Sieve of Eratosthenes: count the primes below n, several times.
local function sieve(n)
  local flags = {}
  for i = 1, n do
    flags[i] = true
  end
  -- flags[k + 1] says whether k is prime
  flags[1] = false
  flags[2] = false
  local i = 2
  while i * i < n do
    if flags[i + 1] then
      local j = i * i
      while j < n do
        flags[j + 1] = false
        j = j + i
      end
    end
    i = i + 1
  end
  local count = 0
  for _, f in ipairs(flags) do
    if f then
      count = count + 1
    end
  end
  return count
end

local total = 0
for k = 0, 7 do
  total = total + sieve(500000 + k)
end
print(string.format("%d", total))
