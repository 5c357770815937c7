# A loop with an if / else-if chain.
def run(n):
    a = b = c = d = 0
    for i in range(n):
        if i % 2 == 0:
            a += 1
        elif i % 3 == 0:
            b += 2
        elif i % 5 == 0:
            c += 3
        else:
            d += 1
    return a + 10 * b + 100 * c + 1000 * d


print(run(8000000))
