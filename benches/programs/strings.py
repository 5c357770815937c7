# String building: str() of numbers, concatenation, join, length.
def run(rounds, n):
    total = 0
    for r in range(rounds):
        parts = []
        for i in range(n):
            parts.append("k" + str(i * 7 + r))
        s = ",".join(parts)
        total += len(s)
    return total


print(run(500, 10000))
