# Sieve of Eratosthenes: count the primes below n, several times.
def sieve(n):
    flags = []
    for _ in range(n):
        flags.append(True)
    flags[0] = False
    flags[1] = False
    i = 2
    while i * i < n:
        if flags[i]:
            j = i * i
            while j < n:
                flags[j] = False
                j += i
        i += 1
    count = 0
    for f in flags:
        if f:
            count += 1
    return count


total = 0
for k in range(8):
    total += sieve(500000 + k)
print(total)
