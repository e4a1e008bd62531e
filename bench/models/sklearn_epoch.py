#!/usr/bin/env python3
"""One training epoch of scikit-learn's MLPRegressor, timed for bench_models.

usage: sklearn_epoch.py DATA ROWS COLS HIDDEN BATCH REPS
DATA holds ROWS x COLS doubles (x, row-major) then ROWS doubles (y), as bench_models writes
them. Each timed call is MLPRegressor(max_iter=1).fit: setup and one epoch, as the C
variants. Prints "min median max" in milliseconds."""
import sys
import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPRegressor


def main():
    path, rows, cols, hidden, batch, reps = sys.argv[1:7]
    rows, cols, hidden, batch, reps = int(rows), int(cols), int(hidden), int(batch), int(reps)
    raw = np.fromfile(path, dtype=np.float64)
    x = raw[: rows * cols].reshape(rows, cols)
    y = raw[rows * cols : rows * cols + rows]
    warnings.simplefilter("ignore", ConvergenceWarning)
    times = []
    for r in range(reps + 1):
        model = MLPRegressor(hidden_layer_sizes=(hidden,), activation="relu", solver="adam",
                             alpha=1e-4, batch_size=batch, learning_rate_init=1e-3,
                             max_iter=1, shuffle=True, random_state=r)
        t0 = time.perf_counter()
        model.fit(x, y)
        t1 = time.perf_counter()
        if r > 0:  # the first call warms up imports and caches
            times.append((t1 - t0) * 1e3)
    times.sort()
    print(f"{times[0]:.4f} {times[len(times) // 2]:.4f} {times[-1]:.4f}")


if __name__ == "__main__":
    main()
