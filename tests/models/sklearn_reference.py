#!/usr/bin/env python3
"""Writes the scikit-learn references that tests/models checks ndpar's models against.

Run from the repository root (python3-sklearn, python3-numpy):
    python3 tests/models/sklearn_reference.py
Each case is one CSV file in tests/models/data/ of %.17g numbers, no header:
rows of [x | y] (n rows), then the reference: coefficients (features rows x outputs),
one intercept row, then the predictions of the training x (n rows x outputs). The first
line holds n, features, outputs, alpha (alpha < 0: LinearRegression).
"""
import numpy as np
from sklearn.linear_model import LinearRegression, Ridge

OUT = "tests/models/data"


def write(name, x, y, alpha):
    model = LinearRegression() if alpha < 0 else Ridge(alpha=alpha)
    model.fit(x, y)
    coef = np.atleast_2d(model.coef_).T  # features x outputs
    intercept = np.atleast_1d(model.intercept_)[None, :]
    pred = model.predict(x).reshape(len(x), -1)
    n, p = x.shape
    k = y.shape[1]
    width = max(p + k, k, 4)

    def row(values):
        v = list(values) + [0.0] * (width - len(values))
        return ",".join("%.17g" % t for t in v)

    with open("%s/%s.csv" % (OUT, name), "w") as f:
        f.write(row([n, p, k, alpha]) + "\n")
        for i in range(n):
            f.write(row(list(x[i]) + list(y[i])) + "\n")
        for j in range(p):
            f.write(row(coef[j]) + "\n")
        f.write(row(intercept[0]) + "\n")
        for i in range(n):
            f.write(row(pred[i]) + "\n")


def main():
    rng = np.random.default_rng(20261207)
    for n, p, k, alpha in [(50, 5, 1, 1.0), (40, 8, 3, 0.1), (12, 30, 2, 10.0), (7, 7, 1, 1e-3),
                           (30, 4, 2, -1), (10, 25, 2, -1)]:
        x = rng.normal(size=(n, p)) * rng.uniform(0.1, 100, size=p) + rng.normal(size=p) * 10
        w = rng.normal(size=(p, k))
        y = x @ w + rng.normal(size=(n, k)) + 3.0
        kind = "ols" if alpha < 0 else "ridge"
        write("%s_%dx%dx%d" % (kind, n, p, k), x, y, alpha)
    # real data: 12 monthly lags of the bundled CO2 series (rows with a value), horizon 3
    vals = []
    with open("data/co2-concentration.csv") as f:
        next(f)
        for line in f:
            parts = line.strip().split(",")
            if len(parts) > 1 and parts[1] != "":
                vals.append(float(parts[1]))
    s = np.array(vals)
    lags, h = 12, 3
    rows = len(s) - lags - h + 1
    x = np.array([s[i:i + lags] for i in range(rows)])
    y = np.array([s[i + lags:i + lags + h] for i in range(rows)])
    write("ridge_co2", x, y, 2.5)
    write("ols_co2", x, y, -1)


if __name__ == "__main__":
    main()
