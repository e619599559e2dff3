#!/usr/bin/python3
"""bf16 against fp32 in mutau on the parity recipe (bench/recipe.py: ResNet-20
on Fashion-MNIST, batch 128, lr 0.1 cosine to 0 over 3 epochs, momentum 0.9,
weight decay 5e-4, pad-4 crop + flip). Trains the recipe with
`--precision fp32` and `--precision bf16` for each seed, alternating, and
prints each test top-1, the means and their difference; the target is bf16
within 0.5 points of fp32. One machine-readable line at the end:

    bench parity_bf16 seeds=2 fp32_top1_mean=... bf16_top1_mean=... diff_points=...

Usage: bench/parity_bf16.py [--mutau PATH] [--seeds 1,2] [--epochs 3]
       [--threads 2] [--out DIR] [--limit-train N] [--limit-test N]
Needs a CPU with AVX512_BF16 (mutau refuses bf16 elsewhere). About four
minutes per fp32 run and two per bf16 run on two idle cores.
"""
import argparse
import os
import statistics
import sys
import tempfile

from recipe import run_mutau


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--mutau", default=os.path.join(os.path.dirname(__file__), "..", "build", "mutau"))
    ap.add_argument("--seeds", default="1,2")
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", default=None)
    ap.add_argument("--limit-train", type=int, default=0)
    ap.add_argument("--limit-test", type=int, default=0)
    a = ap.parse_args()
    seeds = [int(s) for s in a.seeds.split(",")]
    out = a.out or tempfile.mkdtemp(prefix="mutau-parity-bf16-")
    top1 = {"fp32": [], "bf16": []}
    for seed in seeds:
        for precision in ("fp32", "bf16"):
            t = run_mutau(a.mutau, seed, a.epochs, a.threads, out, a.limit_train, a.limit_test,
                          name="%s-seed%d" % (precision, seed), precision=precision)
            top1[precision].append(100 * t)
            print("seed %d %s: test top-1 %.2f%%" % (seed, precision, 100 * t), flush=True)
    m = {p: statistics.mean(v) for p, v in top1.items()}
    diff = m["bf16"] - m["fp32"]
    print("fp32 %s (mean %.2f%%), bf16 %s (mean %.2f%%): %+.2f points, %s the 0.5-point target"
          % (", ".join("%.2f" % x for x in top1["fp32"]), m["fp32"],
             ", ".join("%.2f" % x for x in top1["bf16"]), m["bf16"], diff,
             "within" if abs(diff) <= 0.5 else "outside"))
    print("bench parity_bf16 seeds=%d fp32_top1_mean=%.4f bf16_top1_mean=%.4f diff_points=%.4f"
          % (len(seeds), m["fp32"], m["bf16"], diff))
    return 0


if __name__ == "__main__":
    sys.exit(main())
