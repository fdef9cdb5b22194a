#!/usr/bin/python3
"""Fit scikit-learn's LogisticRegression and HistGradientBoostingClassifier on
the feature matrices `wholecare risk train --export-features DIR` wrote, on the
same temporal split (train.csv: features at T0, labels from the year after;
valid.csv: the same at T1 = T0 + 1 year), and print their validation AUROC and
fit time beside ours (DIR/wholecare.json).

Run with Debian's Python and python3-sklearn (apt-get install python3-sklearn):

    /usr/bin/python3 scripts/compare_sklearn.py DIR

The settings mirror ours so the comparison is like for like: C = 1 on
standardised features is our L2 penalty λ = 1 on the summed log-loss; the
boosting parameters are riskmodel.DefaultGBTSpec. Exits 1 when our better model
is more than 0.01 AUROC below the better of scikit-learn's.
"""
import json
import sys
import time

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score, roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler


def load(path):
    with open(path) as f:
        header = f.readline().strip().split(",")
    m = np.loadtxt(path, delimiter=",", skiprows=1, dtype=np.float64, ndmin=2)
    return header[2:], m[:, 2:], m[:, 1].astype(int)


def main(argv):
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    d = argv[1]
    names, xt, yt = load(f"{d}/train.csv")
    names_v, xv, yv = load(f"{d}/valid.csv")
    if names != names_v:
        print("train.csv and valid.csv have different features", file=sys.stderr)
        return 2
    with open(f"{d}/wholecare.json") as f:
        ours = json.load(f)

    models = {
        "LogisticRegression": make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=1000)),
        "HistGradientBoostingClassifier": HistGradientBoostingClassifier(
            learning_rate=0.1, max_iter=500, max_leaf_nodes=31, max_depth=8, min_samples_leaf=20,
            l2_regularization=1.0, max_bins=255, early_stopping=True, validation_fraction=0.1,
            n_iter_no_change=20, random_state=1),
    }
    print(f"train {len(yt)} rows ({yt.sum()} positive), validation {len(yv)} rows ({yv.sum()} positive), {len(names)} features")
    print(f"{'model':<44}{'AUROC':>8}{'avg prec':>10}{'fit s':>9}")
    best_sk = 0.0
    for name, m in models.items():
        t = time.perf_counter()
        m.fit(xt, yt)
        fit = time.perf_counter() - t
        p = m.predict_proba(xv)[:, 1]
        auc = roc_auc_score(yv, p)
        best_sk = max(best_sk, auc)
        print(f"{'scikit-learn ' + name:<44}{auc:>8.4f}{average_precision_score(yv, p):>10.4f}{fit:>9.2f}")
    best_ours = 0.0
    for kind in ("logistic", "gbt"):
        o = ours[kind]
        best_ours = max(best_ours, o["auroc"])
        print(f"{'wholecare ' + kind + ' (' + o['version'] + ')':<44}{o['auroc']:>8.4f}{'':>10}{o['fit_seconds']:>9.2f}")
    gap = best_sk - best_ours
    ok = gap <= 0.01
    print(f"best wholecare {best_ours:.4f} vs best scikit-learn {best_sk:.4f}: difference {-gap:+.4f} -> {'within target' if ok else 'MISSES the 0.01 target'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
