#!/usr/bin/env python3
"""The scikit-learn transcription of examples/co2_forecast.c, whose output
tests/models/co2_expected.txt holds (make check compares the example's output with it:
the same best alpha, CV means and forecasts within 1e-9 relative).

Run from the repository root with Debian's python3 (python3-pandas, python3-sklearn):
    /usr/bin/python3 tests/models/co2_sklearn.py > tests/models/co2_expected.txt
"""
import numpy as np
import pandas as pd
from sklearn.linear_model import Ridge
from sklearn.model_selection import GridSearchCV, TimeSeriesSplit
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

LAGS = 12
ALPHAS = [0.001, 0.01, 0.1, 1, 10, 100]

co2 = pd.read_csv("data/co2-concentration.csv", parse_dates=["Date"], index_col="Date")["CO2"]
series = co2.asfreq("MS").interpolate(method="time").to_numpy()
x = np.array([series[i:i + LAGS] for i in range(len(series) - LAGS)])
y = series[LAGS:]
search = GridSearchCV(make_pipeline(StandardScaler(), Ridge()), {"ridge__alpha": ALPHAS},
                      cv=TimeSeriesSplit(n_splits=5, test_size=12),
                      scoring="neg_mean_squared_error")
search.fit(x, y)
window = list(series[-LAGS:])
forecast = []
for _ in range(12):
    nxt = search.best_estimator_.predict(np.array([window[-LAGS:]]))[0]
    forecast.append(nxt)
    window.append(nxt)
print("best alpha %.17g" % ALPHAS[search.best_index_])
for a, m in zip(ALPHAS, search.cv_results_["mean_test_score"]):
    print("alpha %.17g cv mean %.17g" % (a, m))
for v in forecast:
    print("forecast %.17g" % v)
