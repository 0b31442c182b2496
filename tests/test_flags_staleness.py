"""A flagged version makes its current descendants stale with cause flagged_upstream (CLI end to end)."""

from __future__ import annotations

import shutil


def test_flag_then_stale_then_unflag(tmp_path, demo_path, demo_runs, cli):
    store = tmp_path / "store"
    shutil.copytree(demo_path, store)
    r6 = demo_runs["R6"]
    before = {a["asset"]: a for a in cli("stale", store, "--format", "json", "--fail-on", "none").json()["assets"]}
    assert all(c["kind"] != "flagged_upstream" for a in before.values() for c in a["causes"])

    r = cli("flag", store, "features", r6, "--reason", "leaked label column")
    assert r.code == 0, r.err
    after = {a["asset"]: a for a in cli("stale", store, "--format", "json", "--fail-on", "none").json()["assets"]}
    # the current versions built from features@R6 (truth from the demo story: R6 trained the model,
    # R7 scored with R6's features and model)
    built_from_r6_features = {"features", "models/credit_risk", "metrics/evaluation", "scores", "reports/score_distribution"}
    flagged = {k for k, a in after.items() if any(c["kind"] == "flagged_upstream" for c in a["causes"])}
    assert flagged == built_from_r6_features
    assert all(after[k]["status"] == "stale" for k in flagged)
    assert after["raw/applications"]["status"] == "fresh"

    assets = {a["asset"]: a for a in cli("assets", store, "--format", "json").json()}
    assert {k for k, a in assets.items() if a["tainted"]} == built_from_r6_features

    assert cli("unflag", store, "features", r6, "--reason", "false alarm").code == 0
    again = {a["asset"]: a for a in cli("stale", store, "--format", "json", "--fail-on", "none").json()["assets"]}
    assert not any(c["kind"] == "flagged_upstream" for a in again.values() for c in a["causes"])
