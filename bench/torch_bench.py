"""PyTorch timing loop for bench/kernels.ts: SGEMM and conv2d fwd / fwd+bwd(dx, dw), float32.

Usage: python3 bench/torch_bench.py '<json spec>'   (spec: {"threads": 2, "sgemm": [128, ...],
"convs": [[N, C, H, W, O, K, pad], ...], "budget_s": 1.0, "max_reps": 300})
Prints one JSON object per line: {"case", "threads", "median_ms", "min_ms", "max_ms", "reps"}.
The thread count is also fixed through OMP/OPENBLAS env vars by the caller (they must be set
before torch loads its thread pools).
"""
import json
import sys
import time

import torch


def timeit(fn, budget_s, max_reps):
    for _ in range(3):  # warm-up: allocator, oneDNN primitive cache
        fn()
    times = []
    start = time.perf_counter()
    while len(times) < max_reps and (len(times) < 3 or time.perf_counter() - start < budget_s):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    return times[len(times) // 2], times[0], times[-1], len(times)


def main():
    spec = json.loads(sys.argv[1])
    threads = int(spec["threads"])
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    budget, max_reps = float(spec.get("budget_s", 1.0)), int(spec.get("max_reps", 300))

    def emit(case, r):
        print(json.dumps({"case": case, "threads": threads, "median_ms": r[0], "min_ms": r[1], "max_ms": r[2], "reps": r[3]}), flush=True)

    for n in spec.get("sgemm", []):
        a, b = torch.rand(n, n), torch.rand(n, n)
        emit(f"sgemm N={n}", timeit(lambda: torch.mm(a, b), budget, max_reps))

    for (n, c, h, w, o, k, pad) in spec.get("convs", []):
        x = torch.rand(n, c, h, w)
        wt = torch.rand(o, c, k, k)
        name = f"conv [{n},{c},{h},{w}]x[{o},{c},{k},{k}] pad {pad}"
        with torch.no_grad():
            emit(f"{name} fwd", timeit(lambda: torch.nn.functional.conv2d(x, wt, padding=pad), budget, max_reps))
        xg, wg = x.clone().requires_grad_(True), wt.clone().requires_grad_(True)
        dy = torch.rand(torch.nn.functional.conv2d(x, wt, padding=pad).shape)

        def fwd_bwd():
            y = torch.nn.functional.conv2d(xg, wg, padding=pad)
            return torch.autograd.grad(y, (xg, wg), dy)

        emit(f"{name} fwd+bwd(dx,dw)", timeit(fwd_bwd, budget, max_reps))


if __name__ == "__main__":
    main()
