#!/usr/bin/env python3
"""The ridge grid job of bench_models in scikit-learn, timed:
GridSearchCV(make_pipeline(StandardScaler(), Ridge()), {"ridge__alpha": ALPHAS},
cv=TimeSeriesSplit(n_splits=FOLDS, test_size=TEST), scoring="neg_mean_squared_error",
refit=True, n_jobs=JOBS).fit(x, y).

usage: sklearn_ridge_grid.py DATA ROWS COLS FOLDS TEST JOBS REPS ALPHA...
DATA holds ROWS x COLS doubles (x, row-major) then ROWS doubles (y). The first fit is not
timed (imports, joblib's workers). Prints "min median max" in milliseconds, then the best
alpha and its mean score."""
import sys
import time

import numpy as np
from sklearn.linear_model import Ridge
from sklearn.model_selection import GridSearchCV, TimeSeriesSplit
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler


def main():
    path, rows, cols, folds, test, jobs, reps = sys.argv[1:8]
    alphas = [float(a) for a in sys.argv[8:]]
    rows, cols, folds, test, jobs, reps = (int(v) for v in (rows, cols, folds, test, jobs, reps))
    raw = np.fromfile(path, dtype=np.float64)
    x = raw[: rows * cols].reshape(rows, cols)
    y = raw[rows * cols : rows * cols + rows]
    times = []
    for r in range(reps + 1):
        search = GridSearchCV(make_pipeline(StandardScaler(), Ridge()), {"ridge__alpha": alphas},
                              cv=TimeSeriesSplit(n_splits=folds, test_size=test),
                              scoring="neg_mean_squared_error", refit=True, n_jobs=jobs)
        t0 = time.perf_counter()
        search.fit(x, y)
        t1 = time.perf_counter()
        if r > 0:
            times.append((t1 - t0) * 1e3)
    times.sort()
    print(f"{times[0]:.4f} {times[len(times) // 2]:.4f} {times[-1]:.4f}")
    print(f"{alphas[search.best_index_]:.17g} {search.best_score_:.17g}")


if __name__ == "__main__":
    main()
