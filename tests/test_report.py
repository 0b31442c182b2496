"""`frontier-explore report`: one self-contained HTML file, opened in headless Chromium and
checked against the store (the truth from Store and what the test wrote with RunWriter)."""

from __future__ import annotations

import shutil
from datetime import datetime, timedelta, timezone

import pandas as pd
import pytest
from browser_support import Watched, browser  # noqa: F401 - fixture
from s3_support import Clock

from explorer import RunWriter, Store

HOSTILE_KEY = "evil/<script>window.pwned=1</script>"
HOSTILE_TAG = '<img src="http://127.0.0.1:9/x.png" onerror="window.pwned=2">'
HOSTILE_META = "</style><script>window.pwned=3</script>"


@pytest.fixture(scope="module")
def demo_report(tmp_path_factory, demo_path):
    from explorer.cli import main

    out = tmp_path_factory.mktemp("report") / "report.html"
    assert main(["report", str(demo_path), "--output", str(out), "--asset", "scores"]) == 0
    return out


def test_report_renders_offline_and_matches_the_store(browser, demo_report, demo_path):
    store = Store.open(str(demo_path))
    w = Watched(browser)
    try:
        page = w.page
        page.goto(demo_report.as_uri())
        page.wait_for_selector("svg.graph")
        assert w.errors == []
        assert [u for u in w.requests if u != demo_report.as_uri()] == []  # nothing fetched
        # the graph: one box per asset, built or planned
        planned = {p.asset for r in store.runs for p in r.planned}
        boxes = page.eval_on_selector_all("svg.graph g.node[data-asset]", "els => els.map(e => e.dataset.asset)")
        assert set(boxes) == set(store.assets()) | planned
        # the staleness table: each asset's status and root causes as the library computes them
        report = store.staleness()
        rows = page.eval_on_selector_all(
            "#staleness + table tbody tr", "rs => rs.map(r => [...r.cells].map(c => c.innerText.trim()))")
        assert {r[0]: r[1] for r in rows} == {a.asset: a.status for a in report.assets}
        for r in rows:
            for cause in report.get(r[0]).root_causes:
                assert cause.run_id in r[3] and cause.asset in r[3]
        # runs, newest first
        run_rows = page.eval_on_selector_all("#runs ~ table tbody tr td:first-child", "cs => cs.map(c => c.innerText)")
        assert run_rows == [r.run_id for r in reversed(store.runs)]
        # the chosen asset: its provenance, every version it was built from
        prov = page.eval_on_selector_all('[id="asset-scores"] table:last-of-type tbody tr td:nth-child(2)',
                                         "cs => cs.map(c => c.innerText)")
        latest = store.latest("scores")
        truth = {(v.asset, v.run_id) for v in [latest]} | {(i.asset, i.run_id) for i in latest.inputs}
        got = page.eval_on_selector_all('[id="asset-scores"] table tbody tr',
                                        "rs => rs.map(r => [...r.cells].map(c => c.innerText))")
        pairs = {(r[0], r[1]) for r in got if len(r) >= 3}
        assert truth <= pairs and prov
        assert page.locator('[id="asset-scores"] svg.history').count() == 2
        # collapsing a group hides its members and shows one box for it
        member = page.locator('g.node[data-asset="raw/applications"]')
        assert member.is_visible()
        page.get_by_text("collapse raw/").click()
        assert not member.is_visible()
        assert page.locator("g.collapsed", has_text="raw/ (2)").is_visible()
        page.screenshot(path=str(demo_report.with_suffix(".png")), full_page=True)
    finally:
        w.close()


def test_hostile_store_strings_are_text(browser, tmp_path, cli):
    store = tmp_path / "s"
    with RunWriter(str(store), job="<b>job</b>", tags={"owner": HOSTILE_TAG}) as run:
        run.write(HOSTILE_KEY, pd.DataFrame({"x": [1, 2]}), metadata={"note": HOSTILE_META})
    out = tmp_path / "r.html"
    assert cli("report", store, "--output", out, "--asset", HOSTILE_KEY).code == 0
    document = out.read_text()
    assert "<script" not in document and "<img" not in document and "<b>" not in document
    w = Watched(browser)
    try:
        w.page.goto(out.as_uri())
        w.page.wait_for_selector("svg.graph")
        assert w.page.evaluate("window.pwned") is None
        assert w.errors == [] and [u for u in w.requests if u != out.as_uri()] == []
        body = w.page.inner_text("body")
        for s in (HOSTILE_KEY, HOSTILE_TAG, HOSTILE_META, "<b>job</b>"):
            assert s in body  # shown as the text it is
    finally:
        w.close()


def test_redact_hides_metadata_and_tag_values(tmp_path, cli):
    store = tmp_path / "s"
    with RunWriter(str(store), job="j", tags={"customer": "ACME-Secret-Corp"}) as run:
        run.write("model", {"w": 1}, metadata={"auc": "0.987654", "trained_on": "s3://private-bucket/x"})
    plain, redacted = tmp_path / "a.html", tmp_path / "b.html"
    assert cli("report", store, "--output", plain, "--asset", "model").code == 0
    assert cli("report", store, "--output", redacted, "--asset", "model", "--redact").code == 0
    for value in ("ACME-Secret-Corp", "0.987654", "s3://private-bucket/x"):
        assert value in plain.read_text() and value not in redacted.read_text()
    for key in ("customer", "auc", "trained_on"):
        assert key in redacted.read_text()


def test_as_of_shows_the_store_as_it_was(tmp_path, cli):
    store = tmp_path / "s"
    t0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
    ids = []
    for i in range(3):
        with RunWriter(str(store), job="j", started_at=t0 + timedelta(days=i), clock=Clock(t0 + timedelta(days=i)),
                       run_id=f"2026010{i + 1}T000000Z-r{i + 1}") as run:
            run.write("raw", pd.DataFrame({"x": list(range(i + 1))}))
            if i == 0:
                run.write("derived", pd.DataFrame({"y": [1]}), inputs=["raw"])
        ids.append(run.run_id)
    out = tmp_path / "r.html"
    assert cli("report", store, "--output", out, "--as-of", ids[0]).code == 0
    doc = out.read_text()
    assert ids[0] in doc and ids[1] not in doc and ids[2] not in doc
    now = tmp_path / "now.html"
    assert cli("report", store, "--output", now).code == 0
    # as of the first run, derived was fresh; now raw changed twice since
    st = Store.open(str(store))
    assert st.staleness(as_of=ids[0]).get("derived").status == "fresh"
    assert st.staleness().get("derived").status == "stale"
    assert '<td class="key">derived</td><td><span class="badge s-fresh">' in doc
    assert '<td class="key">derived</td><td><span class="badge s-stale">' in now.read_text()


def test_graph_alone_through_graphviz(tmp_path, cli, demo_path):
    out = tmp_path / "g.svg"
    r = cli("report", demo_path, "--output", out, "--format", "svg")
    if shutil.which("dot") is None:
        assert r.code == 2 and "Graphviz's dot, which is not installed" in r.err and not out.exists()
    else:
        assert r.code == 0 and "<svg" in out.read_text()
        assert all(a in out.read_text() for a in Store.open(str(demo_path)).assets())


@pytest.mark.parametrize("argv, message", [
    (["--output", "r.html", "--asset", "nope"], "nope"),
    (["-o", "r.html"], "use --output r.html"),
    (["--output", "r.svg", "--format", "svg", "--redact"], "--asset and --redact are for html"),
])
def test_bad_input_is_one_line(cli, demo_path, tmp_path, monkeypatch, argv, message):
    monkeypatch.chdir(tmp_path)
    r = cli("report", demo_path, *argv)
    assert r.code == 2 and message in r.err and "Traceback" not in r.err
    assert len(r.err.strip().splitlines()) == 1
