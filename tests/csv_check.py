#!/usr/bin/python3
"""csv_check.py DIR...: reads every CSV file under the directories with pandas,
as a user's notebook would, and checks each against its documented columns and
types (docs/train.md, docs/sweep.md, docs/pca.md). A CSV whose kind is not
known here fails too: a new file mutau writes gets its schema added.

Types: "int" is an integer column (pandas int64; float64 only where the column
may be empty, with whole values), "float" a number (int64 or float64), "str"
text. Prints one line per file; exits 1 on the first failure, with the reason.
"""
import os
import sys

try:
    import numpy as np
    import pandas as pd
except ImportError as e:
    sys.exit("csv_check.py: pandas is not installed (%s): apt-get install python3-pandas "
             "(make deps)" % e)

LOG = [("epoch", "int"), ("step", "int"), ("lr", "float"), ("train_loss", "float"),
       ("train_acc", "float"), ("eval_loss", "float"), ("eval_top1", "float"),
       ("eval_top5", "float"), ("images_per_s", "float"), ("seconds", "float")]
LOG_PS = [("tau_mean", "float"), ("tau_max", "int"), ("tau_p50", "int"), ("tau_p90", "int"),
          ("tau_p99", "int"), ("server_share", "float"), ("momentum", "float"),
          ("dropped", "int")]
STEPS = [("step", "int"), ("epoch", "float"), ("lr", "float"), ("loss", "float"),
         ("tau_mean", "float"), ("images_per_s", "float")]
SWEEP = [("cell", "str"), ("workers", "int"), ("momentum", "float"), ("method", "str"),
         ("momentum_used", "float"), ("mode", "str"),
         ("delay", "int"), ("repeat", "int"), ("seed", "int"), ("final_top1", "float"),
         ("final_top5", "float"), ("best_top1", "float"), ("best_top5", "float"),
         ("best_epoch", "int"), ("epochs", "int"), ("epochs_planned", "int"),
         ("staleness_mean", "float"), ("staleness_max", "float"), ("images_per_s", "float"),
         ("wall_seconds", "float"), ("cpu_seconds", "float"), ("status", "str")]
PCA = [("momentum", "float"), ("delay", "int"), ("runs", "int"), ("diverged", "int"),
       ("mean", "float"), ("sd", "float"), ("median", "float"), ("q10", "float"),
       ("q25", "float"), ("q75", "float"), ("q90", "float"), ("min", "float"), ("max", "float"),
       ("mean_converged", "float"), ("within_tolerance", "int")]
PCA_RUNS = [("momentum", "float"), ("delay", "int"), ("run", "int"), ("error", "float"),
            ("diverged", "int")]
PCA_TRACE = [("momentum", "float"), ("delay", "int"), ("iteration", "int"),
             ("mean_error", "float")]
PCA_METHODS = [("method", "str"), ("momentum", "float"), ("error_first_delay", "float"),
               ("optimal_delay", "int"), ("censored", "int")]
STATUSES = {"completed", "diverged", "interrupted", "running", "failed", "pending"}


def schema(name, header):
    """The documented columns of a CSV by its name and first column."""
    if name == "log.csv":
        if "comm_share" in header:  # the MPI engine's log (trainer/train_mpi.c)
            return LOG + LOG_PS[:7] + [("comm_share", "float")]
        return LOG + LOG_PS if "tau_mean" in header else LOG
    if name == "steps.csv":
        return STEPS
    if name == "results.csv":
        return SWEEP if header[:1] == ["cell"] else PCA
    return {"runs.csv": PCA_RUNS, "trace.csv": PCA_TRACE, "methods.csv": PCA_METHODS}.get(name)


def check_column(df, col, kind):
    s = df[col]
    if kind == "str":
        if s.dtype != object:
            return "a text column, pandas read %s" % s.dtype
        return None
    if not pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s):
        return "a number column, pandas read %s (first values %s)" % (s.dtype, list(s[:3]))
    if kind == "int" and not pd.api.types.is_integer_dtype(s):
        full = s.dropna()
        if not s.isna().any() or not np.all(np.floor(full) == full):
            return "an integer column, pandas read %s" % s.dtype
    return None


def check(path):
    df = pd.read_csv(path)
    name = os.path.basename(path)
    cols = list(df.columns)
    want = schema(name, cols)
    if want is None:
        return "a CSV this check does not know (columns %s): add its schema" % cols
    if cols != [c for c, _ in want]:
        return "columns %s, documented %s" % (cols, [c for c, _ in want])
    if len(df) == 0:
        return "no rows"
    for col, kind in want:
        why = check_column(df, col, kind)
        if why:
            return "%s: %s" % (col, why)
    if name == "results.csv" and cols[0] == "cell":
        bad = set(df["status"]) - STATUSES
        if bad:
            return "status: unknown values %s" % sorted(bad)
    return None


def main(dirs):
    paths = sorted(os.path.join(root, f) for d in dirs for root, _, files in os.walk(d)
                   for f in files if f.endswith(".csv"))
    if not paths:
        sys.exit("csv_check.py: no CSV files under %s" % " ".join(dirs))
    for p in paths:
        why = check(p)
        if why:
            sys.exit("csv_check.py: %s: %s" % (p, why))
        print("ok %s" % p)


if __name__ == "__main__":
    main(sys.argv[1:])
