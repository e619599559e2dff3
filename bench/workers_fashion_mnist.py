#!/usr/bin/python3
"""What asynchronous workers cost in accuracy on real data (issue 6).

Trains the parity recipe (bench/recipe.py: Fashion-MNIST, ResNet-20, batch
128, lr 0.1 cosine to 0 over 3 epochs, weight decay 5e-4, pad-4 crop + flip)
with one worker (the single-process trainer, --threads 2) and with W
asynchronous worker threads of one thread each (`--workers W --mode async
--threads 1`), for each momentum and seed, and prints the test top-1 table,
then two comparisons with the issue's target (W workers within 1.5 points of
one worker):
  - at the recipe's momentum 0.9 for both;
  - at each side's best momentum (the paper's prescription: lower mu as the
    staleness grows).
One machine-readable line per (workers, momentum):

    bench workers_fashion_mnist workers=2 momentum=0.7 seeds=2 top1_mean=...

Usage: bench/workers_fashion_mnist.py [--mutau PATH] [--workers 2]
       [--momentum 0.9,0.7,0.5] [--seeds 1,2] [--epochs 3] [--out DIR]
       [--limit-train N] [--limit-test N]
Long: about 4 minutes per run on two idle cores (1.6 hours for the defaults).
Needs only mutau and the dataset (not PyTorch).
"""
import argparse
import os
import sys

from recipe import run_mutau

TARGET_POINTS = 1.5


def mean(xs):
    return sum(xs) / len(xs)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--mutau", default=os.environ.get("MUTAU", "build/mutau"))
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--momentum", default="0.9,0.7,0.5")
    ap.add_argument("--seeds", default="1,2")
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--out", default="runs/workers")
    ap.add_argument("--limit-train", type=int, default=0)
    ap.add_argument("--limit-test", type=int, default=0)
    a = ap.parse_args()
    if a.workers < 2:
        ap.error("--workers: at least 2 (1 worker is the reference)")
    momenta = [float(m) for m in a.momentum.split(",")]
    seeds = [int(s) for s in a.seeds.split(",")]
    top1 = {}  # (workers, mu) -> mean test top-1 in percent
    for mu in momenta:
        for w in (1, a.workers):
            accs = []
            for s in seeds:
                name = "w%d_mu%g_s%d" % (w, mu, s)
                acc = run_mutau(a.mutau, s, a.epochs, 2 if w == 1 else 1, a.out, a.limit_train,
                                a.limit_test, mu=mu, workers=w, name=name)
                print("workers %d momentum %g seed %d: test top-1 %.2f%%" % (w, mu, s, 100 * acc),
                      flush=True)
                accs.append(100 * acc)
            top1[(w, mu)] = mean(accs)
            print("bench workers_fashion_mnist workers=%d momentum=%g seeds=%d limit_train=%d "
                  "top1_mean=%.4f top1=%s" % (w, mu, len(seeds), a.limit_train, top1[(w, mu)] / 100,
                                              ",".join("%.4f" % (x / 100) for x in accs)),
                  flush=True)
    print("\n%-9s %s" % ("momentum", " ".join("%9s" % ("W=%d" % w) for w in (1, a.workers))))
    for mu in momenta:
        print("%-9g %s" % (mu, " ".join("%8.2f%%" % top1[(w, mu)] for w in (1, a.workers))))
    status = 0
    if 0.9 in momenta:
        gap = top1[(a.workers, 0.9)] - top1[(1, 0.9)]
        ok = gap >= -TARGET_POINTS
        print("momentum 0.9 for both: %d async workers %+.2f points (target: within %.1f) %s" % (
            a.workers, gap, TARGET_POINTS, "met" if ok else "not met"))
    best1 = max(momenta, key=lambda m: top1[(1, m)])
    bestw = max(momenta, key=lambda m: top1[(a.workers, m)])
    gap = top1[(a.workers, bestw)] - top1[(1, best1)]
    ok = gap >= -TARGET_POINTS
    print("best momentum each: 1 worker %g (%.2f%%), %d async workers %g (%.2f%%): %+.2f points "
          "(target: within %.1f) %s" % (best1, top1[(1, best1)], a.workers, bestw,
                                         top1[(a.workers, bestw)], gap, TARGET_POINTS,
                                         "met" if ok else "not met"))
    if not ok:
        status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
