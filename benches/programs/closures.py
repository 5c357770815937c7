# Closures and counters: make counter closures, call them through a list.
def make_counter(step):
    count = 0

    def counter():
        nonlocal count
        count += step
        return count

    return counter


def run(rounds, calls):
    total = 0
    for r in range(rounds):
        counters = []
        for i in range(10):
            counters.append(make_counter(i + r))
        for i in range(calls):
            total = (total + counters[i % 10]()) % 1000003
    return total


print(run(4000, 1000))
