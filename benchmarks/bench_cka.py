"""Memory of streaming linear CKA: flat in the number of sentences (all-at-once grows with it).

    python benchmarks/bench_cka.py [--dim 256] [--layers 13] [--batch 64]

Each measurement runs in a fresh process (peak RSS from the kernel), feeding random mean-pooled
representations of n sentences through one ``StreamingCKA`` per layer, side by side with keeping every
sentence's features and computing CKA at the end (what a direct implementation does).
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys

CHILD = r"""
import json, resource, sys, time
import numpy as np, torch
from augkit_analysis import StreamingCKA, linear_cka
n, dim, layers, batch, mode = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
torch.set_num_threads(1)
rng = np.random.default_rng(0)
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t0 = time.perf_counter()
if mode == "stream":
    accs = [StreamingCKA(dim) for _ in range(layers)]
    for start in range(0, n, batch):
        m = min(batch, n - start)
        for a in accs:
            x = rng.standard_normal((m, dim), dtype=np.float32)
            a.update(torch.from_numpy(x), torch.from_numpy(x + 0.5 * rng.standard_normal((m, dim), dtype=np.float32)))
    vals = [a.value() for a in accs]
else:
    xs = [[] for _ in range(layers)]; ys = [[] for _ in range(layers)]
    for start in range(0, n, batch):
        m = min(batch, n - start)
        for k in range(layers):
            x = rng.standard_normal((m, dim), dtype=np.float32)
            xs[k].append(x); ys[k].append(x + 0.5 * rng.standard_normal((m, dim), dtype=np.float32))
    vals = [linear_cka(np.concatenate(a), np.concatenate(b)) for a, b in zip(xs, ys)]
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"peak_mib": peak / 1024, "growth_mib": (peak - base) / 1024, "s": time.perf_counter() - t0,
                  "cka": float(np.mean(vals))}))
"""


def measure(n, dim, layers, batch, mode):
    out = subprocess.run([sys.executable, "-c", CHILD, str(n), str(dim), str(layers), str(batch), mode],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dim", type=int, default=256)
    ap.add_argument("--layers", type=int, default=13)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--sizes", default="2000,20000,100000")
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    print(f"dim {args.dim}, {args.layers} layers, batches of {args.batch}; peak RSS of a fresh process (MiB)")
    rows = []
    for n in sizes:
        s = measure(n, args.dim, args.layers, args.batch, "stream")
        d = measure(n, args.dim, args.layers, args.batch, "direct")
        rows.append((n, s, d))
        print(f"n={n:>7}: streaming peak {s['peak_mib']:7.1f} ({s['s']:.1f}s, CKA {s['cka']:.4f})   "
              f"all-at-once peak {d['peak_mib']:7.1f} ({d['s']:.1f}s, CKA {d['cka']:.4f})")
    first, last = rows[0], rows[-1]
    print(f"RESULT streaming peak grows {last[1]['peak_mib'] / first[1]['peak_mib']:.2f}x for "
          f"{last[0] // first[0]}x sentences (all-at-once: {last[2]['peak_mib'] / first[2]['peak_mib']:.2f}x); "
          f"same CKA: {all(abs(s['cka'] - d['cka']) < 1e-6 for _, s, d in rows)}")


if __name__ == "__main__":
    main()
