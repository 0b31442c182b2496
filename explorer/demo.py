"""The demo store: a seeded, deterministic credit-risk pipeline written with ``RunWriter``.

``python scripts/make_demo_store.py`` rebuilds ``demo_store/``. The story, over ten weeks:

=====  ==========  ================  ====================================================
run    date        job               what happens
=====  ==========  ================  ====================================================
R1     2026-09-01  credit_pipeline   first full run, code v1.0
R2     2026-09-15  credit_pipeline   full run; 400 new applications arrived
R3     2026-09-29  credit_pipeline   fails in ``features`` after ingest and clean (partial)
R4     2026-09-29  credit_pipeline   re-execution of R3 from failure: reads R3's outputs
R5     2026-10-13  credit_pipeline   source changed: new rows, ``income`` int -> float
R6     2026-10-20  credit_pipeline   code v1.1 (new feature ``loan_to_income``)
R7     2026-10-27  scoring           re-scores with R6's features and model (code v1.2);
                                     its new ``reports/drift`` step fails -> missing
R8     2026-11-03  ingest            raw data refreshed: everything downstream is stale
R9     2026-11-10  ingest            re-ingest with identical bytes: nothing new is stale
=====  ==========  ================  ====================================================
"""

from __future__ import annotations

import shutil
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .store.writer import RunWriter

from .bundled import DEMO_STORE  # noqa: E402,F401 - where the bundled copy is

REGIONS = ["north", "south", "east", "west", "central"]
PURPOSES = ["car", "home_improvement", "debt_consolidation", "education", "business", "medical"]

FEATURES_V10 = ["debt_to_income", "log_income", "age", "bureau_score", "term_months",
                "employment_years", "prior_defaults"]
FEATURES_V11 = FEATURES_V10 + ["loan_to_income"]

PLAN_FULL: dict[str, list[str]] = {
    "raw/applications": [],
    "raw/bureau": [],
    "clean/applications": ["raw/applications"],
    "features": ["clean/applications", "raw/bureau"],
    "models/credit_risk": ["features"],
    "metrics/evaluation": ["models/credit_risk", "features"],
    "scores": ["features", "models/credit_risk"],
    "reports/score_distribution": ["scores"],
}


class _Clock:
    """Deterministic time: each call advances by a few minutes from the run's start."""

    def __init__(self, start: datetime) -> None:
        self.t = start

    def __call__(self) -> datetime:
        now = self.t
        self.t += timedelta(minutes=3, seconds=17)
        return now


def _applications(rng: np.random.Generator, start_id: int, n: int, first_day: datetime, float_income: bool) -> pd.DataFrame:
    ids = np.arange(start_id, start_id + n)
    age = rng.integers(19, 76, n)
    income = np.round(rng.lognormal(10.6, 0.45, n), 2 if float_income else -2)
    loan = np.round(rng.lognormal(9.3, 0.6, n), -2)
    employment = np.clip(np.round(rng.gamma(2.0, 3.0, n)), 0, age - 18).astype(int)
    prior = rng.poisson(0.25, n)
    term = rng.choice([12, 24, 36, 48, 60], n, p=[0.1, 0.2, 0.35, 0.2, 0.15])
    applied = [first_day + timedelta(minutes=int(m)) for m in np.sort(rng.integers(0, 14 * 24 * 60, n))]
    df = pd.DataFrame(
        {
            "application_id": ids,
            "applied_at": pd.to_datetime(applied, utc=True),
            "age": age,
            "income": income if float_income else income.astype(np.int64),
            "loan_amount": loan.astype(np.int64),
            "term_months": term,
            "employment_years": employment,
            "region": rng.choice(REGIONS, n),
            "purpose": rng.choice(PURPOSES, n),
            "prior_defaults": prior,
        }
    )
    # a few data-quality problems for the cleaning step to remove
    bad = rng.choice(n, max(1, n // 80), replace=False)
    df.loc[bad[: len(bad) // 2], "age"] = -1
    df["employment_years"] = df["employment_years"].astype("Int64")
    df.loc[bad[len(bad) // 2 :], "employment_years"] = pd.NA
    return df


def _bureau(rng: np.random.Generator, apps: pd.DataFrame) -> pd.DataFrame:
    n = len(apps)
    base = 690 - 45 * apps["prior_defaults"].to_numpy() + rng.normal(0, 55, n)
    return pd.DataFrame(
        {
            "application_id": apps["application_id"].to_numpy(),
            "bureau_score": np.clip(np.round(base), 300, 850).astype(np.int64),
            "open_accounts": rng.poisson(4, n),
        }
    )


def _outcomes(apps: pd.DataFrame, bureau: pd.DataFrame, seed: int) -> pd.Series:
    """Realised defaults (known later), from a latent logistic model."""
    rng = np.random.default_rng(seed)
    m = apps.merge(bureau, on="application_id")
    z = (
        -1.2
        + 2.2 * (m["loan_amount"] / m["income"].astype(float)).clip(0, 3)
        - 0.012 * (m["bureau_score"] - 650)
        + 0.5 * m["prior_defaults"]
        - 0.03 * m["employment_years"].fillna(0).astype(float)
    )
    p = 1 / (1 + np.exp(-z))
    return pd.Series((rng.random(len(m)) < p.to_numpy()).astype(np.int8), index=m["application_id"].to_numpy())


def _clean(apps: pd.DataFrame) -> pd.DataFrame:
    out = apps[(apps["age"] >= 18) & apps["employment_years"].notna()].copy()
    out["employment_years"] = out["employment_years"].astype(np.int64)
    cap = float(out["income"].quantile(0.995))
    out["income"] = out["income"].clip(upper=cap).astype(apps["income"].dtype)
    return out.reset_index(drop=True)


def _features(clean: pd.DataFrame, bureau: pd.DataFrame, outcomes: pd.Series, names: list[str]) -> pd.DataFrame:
    m = clean.merge(bureau, on="application_id", how="inner")
    inc = m["income"].astype(float)
    feats = pd.DataFrame(
        {
            "application_id": m["application_id"],
            "debt_to_income": np.round(m["loan_amount"] / inc / (m["term_months"] / 12), 6),
            "log_income": np.round(np.log(inc), 6),
            "age": m["age"],
            "bureau_score": m["bureau_score"],
            "term_months": m["term_months"],
            "employment_years": m["employment_years"],
            "prior_defaults": m["prior_defaults"],
        }
    )
    if "loan_to_income" in names:
        feats["loan_to_income"] = np.round(m["loan_amount"] / inc, 6)
    feats["defaulted"] = outcomes.reindex(m["application_id"].to_numpy()).to_numpy()
    return feats


def _train(feats: pd.DataFrame, names: list[str]) -> dict[str, Any]:
    x = feats[names].to_numpy(float)
    y = feats["defaulted"].to_numpy(float)
    mu, sd = x.mean(0), x.std(0) + 1e-9
    xs = (x - mu) / sd
    w = np.zeros(len(names))
    b = 0.0
    for _ in range(400):
        p = 1 / (1 + np.exp(-(xs @ w + b)))
        w -= 0.5 * (xs.T @ (p - y) / len(y) + 1e-3 * w)
        b -= 0.5 * float(np.mean(p - y))
    return {
        "kind": "logistic_regression",
        "features": names,
        "coefficients": [round(float(v), 6) for v in w],
        "intercept": round(b, 6),
        "feature_mean": [round(float(v), 6) for v in mu],
        "feature_std": [round(float(v), 6) for v in sd],
        "training_rows": int(len(y)),
    }


def _predict(model: dict[str, Any], feats: pd.DataFrame) -> np.ndarray:
    x = feats[model["features"]].to_numpy(float)
    xs = (x - np.array(model["feature_mean"])) / np.array(model["feature_std"])
    return 1 / (1 + np.exp(-(xs @ np.array(model["coefficients"]) + model["intercept"])))


def _auc(y: np.ndarray, p: np.ndarray) -> float:
    order = np.argsort(p)
    ranks = np.empty(len(p))
    ranks[order] = np.arange(1, len(p) + 1)
    pos = y == 1
    n_pos, n_neg = pos.sum(), (~pos).sum()
    return float((ranks[pos].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def _scores(model: dict[str, Any], feats: pd.DataFrame, approve_below: float, decline_above: float) -> pd.DataFrame:
    p = _predict(model, feats)
    decision = np.where(p < approve_below, "approve", np.where(p > decline_above, "decline", "review"))
    return pd.DataFrame(
        {"application_id": feats["application_id"], "score": np.round(p, 6), "decision": decision}
    )


def _evaluation(model: dict[str, Any], feats: pd.DataFrame) -> dict[str, Any]:
    p = _predict(model, feats)
    y = feats["defaulted"].to_numpy()
    return {
        "auc": round(_auc(y, p), 4),
        "accuracy": round(float(((p > 0.5) == (y == 1)).mean()), 4),
        "default_rate": round(float(y.mean()), 4),
        "rows": int(len(y)),
    }


class _Pipeline:
    """Keeps the source data growing between runs, as an upstream system would."""

    def __init__(self, root: Path) -> None:
        self.root = str(root)
        self.rng = np.random.default_rng(20260901)
        self.apps = _applications(self.rng, 100001, 2000, datetime(2026, 8, 18, tzinfo=timezone.utc), False)
        self.bureau = _bureau(self.rng, self.apps)
        self.run_ids: dict[str, str] = {}

    def grow(self, n: int, day: datetime, float_income: bool = False) -> None:
        start = int(self.apps["application_id"].max()) + 1
        new = _applications(self.rng, start, n, day - timedelta(days=14), float_income)
        if float_income:
            self.apps = self.apps.assign(income=self.apps["income"].astype(float))
        self.apps = pd.concat([self.apps, new], ignore_index=True)
        self.bureau = pd.concat([self.bureau, _bureau(self.rng, new)], ignore_index=True)

    def writer(self, name: str, start: datetime, job: str, code: str, plan: dict, **kw: Any) -> RunWriter:
        run_id = start.strftime("%Y%m%dT%H%M%SZ") + f"-{name.lower()}"
        self.run_ids[name] = run_id
        return RunWriter(self.root, job=job, code_version=code, run_id=run_id, started_at=start,
                         clock=_Clock(start + timedelta(seconds=20)), plan=plan, **kw)

    def ingest(self, run: RunWriter) -> None:
        run.write("raw/applications", self.apps, keys=["application_id"],
                  metadata={"source": "loan-origination-db", "extracted_rows": len(self.apps)})
        run.write("raw/bureau", self.bureau, format="csv", keys=["application_id"],
                  metadata={"source": "credit-bureau-sftp"})

    def transform(self, run: RunWriter, inputs: dict[str, Any], names: list[str]) -> pd.DataFrame:
        clean = _clean(self.apps)
        run.write("clean/applications", clean, inputs=[inputs["raw/applications"]], keys=["application_id"],
                  metadata={"dropped_rows": int(len(self.apps) - len(clean))})
        return clean

    def train_and_score(self, run: RunWriter, clean: pd.DataFrame, inputs: dict[str, Any], names: list[str],
                        thresholds=(0.15, 0.45)) -> None:
        feats = _features(clean, self.bureau, _outcomes(self.apps, self.bureau, 7), names)
        run.write("features", feats, inputs=[inputs["clean/applications"], inputs["raw/bureau"]],
                  keys=["application_id"], metadata={"feature_count": len(names)})
        model = _train(feats, names)
        ev = _evaluation(model, feats)
        run.write("models/credit_risk", model, inputs=["features"], metadata={"auc": ev["auc"], "algorithm": "logistic_regression"})
        run.write("metrics/evaluation", ev, inputs=["models/credit_risk", "features"])
        scores = _scores(model, feats, *thresholds)
        run.write("scores", scores, inputs=["features", "models/credit_risk"], keys=["application_id"],
                  metadata={"approve_below": thresholds[0], "decline_above": thresholds[1],
                            "approval_rate": round(float((scores["decision"] == "approve").mean()), 4)})
        hist, _ = np.histogram(scores["score"], bins=20, range=(0, 1))
        run.write("reports/score_distribution", hist.astype(np.int64), inputs=["scores"])


def build(path: str | Path = DEMO_STORE) -> dict[str, str]:
    """(Re)build the demo store at ``path``. Returns ``{"R1": run_id, ...}``."""
    path = Path(path)
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)
    p = _Pipeline(path)
    day = lambda m, d, h=2: datetime(2026, m, d, h, 0, tzinfo=timezone.utc)  # noqa: E731
    tags = {"team": "credit-risk", "env": "prod"}

    # R1, R2: full runs
    for name, when, grow in (("R1", day(9, 1), 0), ("R2", day(9, 15), 400)):
        if grow:
            p.grow(grow, when)
        with p.writer(name, when, "credit_pipeline", "v1.0", PLAN_FULL, tags=tags) as run:
            p.ingest(run)
            clean = p.transform(run, {"raw/applications": "raw/applications"}, FEATURES_V10)
            p.train_and_score(run, clean, {"clean/applications": "clean/applications", "raw/bureau": "raw/bureau"}, FEATURES_V10)

    # R3: fails in features after ingest and clean
    p.grow(300, day(9, 29))
    try:
        with p.writer("R3", day(9, 29), "credit_pipeline", "v1.0", PLAN_FULL, tags=tags) as run:
            p.ingest(run)
            clean = p.transform(run, {"raw/applications": "raw/applications"}, FEATURES_V10)
            raise RuntimeError("features: bureau join timed out")
    except RuntimeError:
        pass
    r3 = p.run_ids["R3"]

    # R4: re-execution from failure, reusing R3's ingest and clean outputs
    plan_r4 = {k: v for k, v in PLAN_FULL.items() if not k.startswith(("raw/", "clean/"))}
    with p.writer("R4", day(9, 29, 5), "credit_pipeline", "v1.0", plan_r4, parent_run_id=r3,
                  tags=dict(tags, reexecution="from_failure")) as run:
        p.train_and_score(run, clean, {"clean/applications": ("clean/applications", r3), "raw/bureau": ("raw/bureau", r3)}, FEATURES_V10)

    # R5: the source changed: new rows, and income now arrives with decimals (int -> float)
    p.grow(500, day(10, 13), float_income=True)
    with p.writer("R5", day(10, 13), "credit_pipeline", "v1.0", PLAN_FULL, tags=tags) as run:
        p.ingest(run)
        clean = p.transform(run, {"raw/applications": "raw/applications"}, FEATURES_V10)
        p.train_and_score(run, clean, {"clean/applications": "clean/applications", "raw/bureau": "raw/bureau"}, FEATURES_V10)

    # R6: code v1.1 adds a feature; the source did not change (identical raw bytes)
    with p.writer("R6", day(10, 20), "credit_pipeline", "v1.1", PLAN_FULL, tags=tags) as run:
        p.ingest(run)
        clean = p.transform(run, {"raw/applications": "raw/applications"}, FEATURES_V11)
        p.train_and_score(run, clean, {"clean/applications": "clean/applications", "raw/bureau": "raw/bureau"}, FEATURES_V11)
    r6 = p.run_ids["R6"]

    # R7: scoring only, from R6's features and model, with new thresholds; drift report fails
    plan_r7 = {"scores": ["features", "models/credit_risk"], "reports/score_distribution": ["scores"],
               "reports/drift": ["scores", "features"]}
    try:
        with p.writer("R7", day(10, 27), "scoring", "v1.2", plan_r7, tags=dict(tags, trigger="schedule")) as run:
            import json as _json

            model = _json.loads(Path(path, r6, "models/credit_risk.json").read_text())
            feats = pd.read_parquet(Path(path, r6, "features.parquet"))
            scores = _scores(model, feats, 0.12, 0.5)
            run.write("scores", scores, inputs=[("features", r6), ("models/credit_risk", r6)], keys=["application_id"],
                      metadata={"approve_below": 0.12, "decline_above": 0.5,
                                "approval_rate": round(float((scores["decision"] == "approve").mean()), 4)})
            hist, _ = np.histogram(scores["score"], bins=20, range=(0, 1))
            run.write("reports/score_distribution", hist.astype(np.int64), inputs=["scores"])
            raise RuntimeError("reports/drift: reference window not found")
    except RuntimeError:
        pass

    # R8: fresh source data arrives; R9: re-ingest with identical bytes
    plan_ingest = {"raw/applications": [], "raw/bureau": []}
    p.grow(350, day(11, 3))
    with p.writer("R8", day(11, 3), "ingest", "v1.1", plan_ingest, tags=dict(tags, trigger="schedule")) as run:
        p.ingest(run)
    with p.writer("R9", day(11, 10), "ingest", "v1.1", plan_ingest, tags=dict(tags, trigger="schedule")) as run:
        p.ingest(run)
    _register_when_started(path, p.run_ids)
    return p.run_ids


def _register_when_started(path: Path, run_ids: dict[str, str]) -> None:
    """The demo's run log as if each run had been registered when it started (the writers
    register by this machine's clock): the same bytes every build. The demo's runs all lie in
    the past, before any checkpoint of a copy, so the log stays true."""
    import fsspec

    from . import format as fmt
    from .store.writer import register_run

    shutil.rmtree(path / fmt.RUN_LOG_DIR, ignore_errors=True)
    for run_id in run_ids.values():
        register_run(fsspec.filesystem("file"), str(path), run_id,
                     at=datetime.strptime(run_id.split("-")[0], "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc))
