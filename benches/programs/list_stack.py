# A list used as a stack: rounds of pushes and pops, draining to empty each round.
def run(rounds):
    stack = []
    total = 0
    for r in range(rounds):
        for i in range(1000):
            stack.append(i + r)
            stack.append(i)
            total += stack.pop()
        while stack:
            total = (total + stack.pop()) % 1000003
    return total


print(run(4000))
