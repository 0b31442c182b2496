"""``frontier-explore sql`` writes every DuckDB type in JSON, CSV and tables with the
representation docs/catalogue.md gives, independent of the machine's time zone."""

from __future__ import annotations

import base64
import csv
import io
import json
import os
import subprocess
import sys

QUERY = """select
    42::bigint as i, 9007199254740993::hugeint as big, 18446744073709551615::ubigint as ubig,
    1.5::double as f, 'nan'::double as nan, 'inf'::double as inf, '-inf'::double as ninf,
    12345678901234567890.12::decimal(22,2) as dec,
    interval '1 year 2 months 3 days 4 hours 5 minutes 6.5 seconds' as iv, interval '-5 seconds' as neg,
    date '2025-01-02' as d, time '03:04:05.25' as t, timestamp '2025-01-02 03:04:05' as ts,
    timestamptz '2025-01-02 03:04:05+09' as tstz, '\\xAA\\x00'::blob as blob, true as yes, null::varchar as nothing,
    [1, 2] as l, {'x': 1, 'y': 'z'} as s, map(['k'], [1]) as smap, map([1], ['a']) as imap,
    'e4eaaaf2-d142-11e1-b3e4-080027620cdd'::uuid as u, 1 as a, 2 as a
"""

# what docs/catalogue.md promises, written out by hand
EXPECTED = {
    "i": 42, "big": 9007199254740993, "ubig": 18446744073709551615,
    "f": 1.5, "nan": "NaN", "inf": "Infinity", "ninf": "-Infinity",
    "dec": "12345678901234567890.12",
    "iv": "P1Y2M3DT4H5M6.5S", "neg": "-PT5S",
    "d": "2025-01-02", "t": "03:04:05.250000", "ts": "2025-01-02T03:04:05",
    "tstz": "2025-01-01T18:04:05+00:00", "blob": base64.b64encode(b"\xaa\x00").decode(), "yes": True,
    "nothing": None, "l": [1, 2], "s": {"x": 1, "y": "z"}, "smap": {"k": 1}, "imap": [{"key": 1, "value": "a"}],
    "u": "e4eaaaf2-d142-11e1-b3e4-080027620cdd", "a": 1, "a_2": 2,
}


def _run(demo_path, fmt: str, tz: str) -> str:
    env = {**os.environ, "TZ": tz}
    res = subprocess.run([sys.executable, "-m", "explorer", "sql", str(demo_path), QUERY, "--format", fmt],
                         capture_output=True, text=True, env=env, timeout=120)
    assert res.returncode == 0, res.stderr
    return res.stdout


def test_json_has_one_defined_form_per_type_in_every_time_zone(demo_path):
    for tz in ("UTC", "Asia/Tokyo", "America/Los_Angeles"):
        out = _run(demo_path, "json", tz)
        records = json.loads(out, parse_constant=lambda c: (_ for _ in ()).throw(ValueError(c)))  # strict JSON
        assert records == [EXPECTED], tz


def test_csv_and_table_use_the_same_forms(demo_path, cli):
    rows = list(csv.reader(io.StringIO(_run(demo_path, "csv", "Asia/Tokyo"))))
    header, values = rows
    assert header == [k if k != "a_2" else "a" for k in EXPECTED]  # CSV keeps the names as queried
    as_text = {k: ("" if v is None else "true" if v is True else json.dumps(v) if isinstance(v, (list, dict)) else str(v))
               for k, v in EXPECTED.items()}
    assert values == list(as_text.values())
    table = cli("sql", demo_path, "select interval '1 year 2 months 3 days 4 hours 5 minutes 6.5 seconds' as iv, "
                                  "12345678901234567890.12::decimal(22,2) as dec, 'nan'::double as nan, "
                                  "'\\xAA\\x00'::blob as blob")
    assert table.code == 0
    for shown in ("P1Y2M3DT4H5M6.5S", "12345678901234567890.12", "NaN", as_text["blob"]):
        assert shown in table.out
    assert "DateOffset" not in table.out and "b'" not in table.out
