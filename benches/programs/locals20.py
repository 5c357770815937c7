# Twenty local variables rotated through each iteration: t = v0; v0 = v1 + 1; ...; v19 = t + i % 7.
def run(n):
    v0, v1, v2, v3, v4, v5, v6, v7, v8, v9, v10, v11, v12, v13, v14, v15, v16, v17, v18, v19 = 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19
    for i in range(n):
        t = v0
        v0 = v1 + 1
        v1 = v2 + 1
        v2 = v3 + 1
        v3 = v4 + 1
        v4 = v5 + 1
        v5 = v6 + 1
        v6 = v7 + 1
        v7 = v8 + 1
        v8 = v9 + 1
        v9 = v10 + 1
        v10 = v11 + 1
        v11 = v12 + 1
        v12 = v13 + 1
        v13 = v14 + 1
        v14 = v15 + 1
        v15 = v16 + 1
        v16 = v17 + 1
        v17 = v18 + 1
        v18 = v19 + 1
        v19 = t + i % 7
    return 1 * v0 + 2 * v1 + 3 * v2 + 4 * v3 + 5 * v4 + 6 * v5 + 7 * v6 + 8 * v7 + 9 * v8 + 10 * v9 + 11 * v10 + 12 * v11 + 13 * v12 + 14 * v13 + 15 * v14 + 16 * v15 + 17 * v16 + 18 * v17 + 19 * v18 + 20 * v19


print(run(1500000))
