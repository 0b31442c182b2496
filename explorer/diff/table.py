"""Table diffs in DuckDB, reading the parquet / csv files in place.

Keyed diff (bounded memory):

1. one full outer join of ``(key, hash(compared columns))`` from each side classifies every key:
   added, removed, candidate (hashes differ) or unchanged; only the non-unchanged keys are kept.
   The join's totals (window counts) prove the keys unique on both sides; if they are not, each
   side is grouped to ``key, count(*), hash`` instead, so that repeated keys are set apart (left
   out of the counts and reported), never counted twice;
2. per side, a second scan keeps the full rows of the candidate keys (and of the sample keys);
   the cell-by-cell comparison (with tolerance, nulls equal nulls, NaN equals NaN) runs only on those.

A change is missed only if two different rows' 64-bit hashes collide.

Unkeyed diff: both sides grouped by whole row (over the columns common to both) and joined
null-safely, which counts multiplicity.
"""

from __future__ import annotations

import shutil
import tempfile
from typing import Any

import duckdb

from .. import format as fmt
from ..errors import ExplorerError, one_line
from ..models import AssetVersion, TableInfo
from ..store import data
from ..store.fs import is_local
from .result import TableDiff, jsonable

_NUMERIC = (
    "TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER",
    "UBIGINT", "UHUGEINT", "FLOAT", "DOUBLE", "REAL",
)


def _is_numeric(t: str) -> bool:
    t = t.upper()
    return t in _NUMERIC or t.startswith("DECIMAL")


def q(name: str) -> str:
    """A quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def lit(text: str) -> str:
    """A SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


# --------------------------------------------------------------------------- sources


class Session:
    """A DuckDB connection set up to read a store's files (spilling into a private temp dir)."""

    def __init__(self, store) -> None:
        self.store = store
        self.tmp = tempfile.mkdtemp(prefix="frontier-diff-")
        self.con = duckdb.connect(":memory:")
        self.con.execute(f"SET temp_directory={lit(self.tmp)}")
        self.con.execute("SET preserve_insertion_order=false")
        self.local = is_local(store.fs)
        if not self.local:
            self.con.register_filesystem(store.data_fs)

    def close(self) -> None:
        try:
            self.con.close()
        finally:
            shutil.rmtree(self.tmp, ignore_errors=True)

    def __enter__(self) -> "Session":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def url(self, path: str) -> str:
        if self.local:
            return path
        protocol = self.store.fs.protocol if isinstance(self.store.fs.protocol, str) else self.store.fs.protocol[0]
        return f"{protocol}://{path.lstrip('/') if protocol != 'memory' else path}"

    def source(self, v: AssetVersion) -> str:
        """A SQL table expression reading the version's data in place."""
        path = data.resolve(self.store.fs, self.store.root, v)
        if not self.store.data_fs.exists(path):
            raise ExplorerError(f"data of {v.asset} in run {v.run_id} is missing ({v.data_path})")
        if v.data_format == "parquet":
            return f"read_parquet({lit(self.url(path))})"
        if v.data_format == "directory":
            return f"read_parquet({lit(self.url(fmt.join(path, '**/*.parquet')))}, hive_partitioning=true)"
        if v.data_format == "csv":
            return f"read_csv_auto({lit(self.url(path))})"
        raise ExplorerError(f"{v.asset} in run {v.run_id} is {v.data_format}, not a table")

    def run(self, sql: str, what: str) -> list[tuple]:
        """Execute and fetch everything (so no result is left pending on the connection)."""
        try:
            return self.con.execute(sql).fetchall()
        except duckdb.Error as exc:
            raise ExplorerError(f"cannot diff {what}: {one_line(exc)}") from None

    def records(self, sql: str, what: str) -> list[dict[str, Any]]:
        """Rows as JSON-safe dicts (through Arrow: DuckDB's own conversion of zoned timestamps needs pytz)."""
        try:
            table = self.con.sql(sql).to_arrow_table()
        except duckdb.Error as exc:
            raise ExplorerError(f"cannot diff {what}: {one_line(exc)}") from None
        return [{n: jsonable(v) for n, v in row.items()} for row in table.to_pylist()]

    def schema(self, src: str, what: str) -> dict[str, str]:
        rows = self.run(f"DESCRIBE SELECT * FROM {src}", what)
        return {r[0]: r[1] for r in rows}


# --------------------------------------------------------------------------- helpers


def _stats(ta: TableInfo | None, tb: TableInfo | None) -> dict[str, dict[str, Any]]:
    def facts(t: TableInfo | None, name: str) -> dict[str, Any] | None:
        c = t.column(name) if t else None
        if c is None:
            return None
        return {"type": c.type, "null_count": c.null_count, "min": c.min, "max": c.max, "mean": c.mean}

    names: list[str] = []
    for t in (ta, tb):
        for c in t.columns if t else ():
            if c.name not in names:
                names.append(c.name)
    return {n: {"a": facts(ta, n), "b": facts(tb, n)} for n in names}


def _schema_diff(sa: dict[str, str], sb: dict[str, str]) -> dict[str, Any]:
    return {
        "added": [{"column": c, "type": t} for c, t in sb.items() if c not in sa],
        "removed": [{"column": c, "type": t} for c, t in sa.items() if c not in sb],
        "changed": [{"column": c, "from": sa[c], "to": sb[c]} for c in sa if c in sb and sa[c] != sb[c]],
    }


def _cast(ta: str, tb: str) -> str | None:
    """The type both sides are cast to before comparing (None: compare as they are)."""
    if ta == tb:
        return None
    if _is_numeric(ta) and _is_numeric(tb):
        return "DOUBLE"
    return "VARCHAR"


def _col(col: str, cast: str | None, alias: str = "") -> str:
    ref = (alias + "." if alias else "") + q(col)
    return f"CAST({ref} AS {cast})" if cast else ref


def _differs(a: str, b: str, numeric: bool, tolerance: float) -> str:
    """SQL predicate: the two values differ (nulls equal nulls, NaN equals NaN, within tolerance)."""
    same = f"({a} IS NOT DISTINCT FROM {b})"
    if numeric and tolerance > 0:
        same = f"({same} OR coalesce(abs(CAST({a} AS DOUBLE) - CAST({b} AS DOUBLE)) <= {float(tolerance)!r}, false))"
    return f"(NOT {same})"


# --------------------------------------------------------------------------- entry


def identical(va: AssetVersion, vb: AssetVersion, keys: tuple[str, ...]) -> TableDiff:
    """Same bytes: the answer comes from the sidecars alone."""
    n = va.table.num_rows if va.table else None
    return TableDiff(
        mode="identical",
        keys=keys,
        schema={"added": [], "removed": [], "changed": []},
        rows={"a": n, "b": n, "added": 0, "removed": 0, "changed": 0, "unchanged": n},
        columns_changed={},
        samples={"added": [], "removed": [], "changed": []},
        stats=_stats(va.table, vb.table),
        notes=("identical bytes: the data was not read",),
    )


def diff_tables(
    store,
    va: AssetVersion,
    vb: AssetVersion,
    keys: tuple[str, ...] = (),
    tolerance: float = 0.0,
    limit: int = 10,
) -> TableDiff:
    what = f"{va.asset} ({va.run_id} vs {vb.run_id})"
    with Session(store) as s:
        src_a, src_b = s.source(va), s.source(vb)
        sa, sb = s.schema(src_a, what), s.schema(src_b, what)
        for k in keys:
            for side, sch, v in (("A", sa, va), ("B", sb, vb)):
                if k not in sch:
                    raise ExplorerError(
                        f"key column {k!r} is missing in version {side} of {va.asset} (run {v.run_id}); "
                        f"its columns: {', '.join(sch)}"
                    )
        schema = _schema_diff(sa, sb)
        stats = _stats(va.table, vb.table)
        if keys:
            return _keyed(s, what, src_a, src_b, sa, sb, keys, tolerance, max(limit, 0), schema, stats)
        return _unkeyed(s, what, src_a, src_b, sa, sb, max(limit, 0), schema, stats, tolerance)


def _keyed(s, what, src_a, src_b, sa, sb, keys, tolerance, limit, schema, stats) -> TableDiff:
    keys = tuple(dict.fromkeys(keys))
    compared = [c for c in sa if c in sb and c not in keys]
    cast = {c: _cast(sa[c], sb[c]) for c in compared}
    numeric = {c: _is_numeric(sa[c]) and _is_numeric(sb[c]) for c in compared}
    kcast = {k: _cast(sa[k], sb[k]) for k in keys}
    kn = [f"__k{i}" for i in range(len(keys))]

    def side_keys(alias: str = "") -> str:
        return ", ".join(f"{_col(k, kcast[k], alias)} AS {n}" for k, n in zip(keys, kn))

    def hash_of() -> str:
        return f"hash({', '.join(_col(c, cast[c]) for c in compared)})" if compared else "0::UBIGINT"

    on = " AND ".join(f"ga.{n} IS NOT DISTINCT FROM gb.{n}" for n in kn)
    kcoal = ", ".join(f"coalesce(ga.{n}, gb.{n}) AS {n}" for n in kn)
    korder = ", ".join(kn)
    # 1. optimistic plan, for unique keys: one hash join of (key, row hash) per side keeping all but
    #    the unchanged keys, with the join's totals (window counts) to prove the keys were unique
    rows_a = s.run(f"SELECT count(*) FROM {src_a}", what)[0][0]
    rows_b = s.run(f"SELECT count(*) FROM {src_b}", what)[0][0]
    keys_a = rows_a
    s.run(
        f"""CREATE TEMP TABLE cls AS
        SELECT {kcoal}, CASE WHEN ga.__p THEN 1 END AS __na, CASE WHEN gb.__p THEN 1 END AS __nb,
          CASE WHEN ga.__p IS NULL THEN 'added' WHEN gb.__p IS NULL THEN 'removed' ELSE 'cand' END AS __c,
          count(ga.__p) OVER () AS __ta, count(gb.__p) OVER () AS __tb
        FROM (SELECT {side_keys()}, {hash_of()} AS __h, true AS __p FROM {src_a}) ga
        FULL OUTER JOIN (SELECT {side_keys()}, {hash_of()} AS __h, true AS __p FROM {src_b}) gb ON {on}
        QUALIFY ga.__p IS NULL OR gb.__p IS NULL OR ga.__h <> gb.__h""",
        what,
    )
    totals = s.run("SELECT __ta, __tb FROM cls LIMIT 1", what)
    if totals:
        # a repeated key matched on the other side multiplies join rows: the totals exceed the row counts;
        # a repeated key found on one side only shows up twice among the kept rows
        has_dups = tuple(totals[0]) != (rows_a, rows_b) or bool(
            s.run(f"SELECT count(*) FROM (SELECT {korder} FROM cls GROUP BY ALL HAVING count(*) > 1)", what)[0][0]
        )
    else:  # nothing differs by hash: a plain check for repeated keys decides
        has_dups = any(
            s.run(f"SELECT count(*) FROM (SELECT {side_keys()} FROM {src} GROUP BY ALL HAVING count(*) > 1)", what)[0][0]
            for src in (src_a, src_b)
        )
    if has_dups:
        s.run("DROP TABLE cls", what)
        # 2. repeated keys: per side key, multiplicity, row hash; then classify keys, duplicates apart
        for name, src in (("ga", src_a), ("gb", src_b)):
            s.run(
                f"CREATE TEMP TABLE {name} AS SELECT {side_keys()}, count(*) AS __n, min({hash_of()}) AS __h "
                f"FROM {src} GROUP BY ALL",
                what,
            )
        rows_a, keys_a = s.run("SELECT coalesce(sum(__n), 0)::BIGINT, count(*) FROM ga", what)[0]
        rows_b = s.run("SELECT coalesce(sum(__n), 0)::BIGINT FROM gb", what)[0][0]
        s.run(
            f"""CREATE TEMP TABLE cls AS
            SELECT {kcoal}, ga.__n AS __na, gb.__n AS __nb,
              CASE WHEN ga.__n > 1 OR gb.__n > 1 THEN 'dup'
                   WHEN ga.__n IS NULL THEN 'added'
                   WHEN gb.__n IS NULL THEN 'removed'
                   ELSE 'cand' END AS __c
            FROM ga FULL OUTER JOIN gb ON {on}
            WHERE ga.__n IS NULL OR gb.__n IS NULL OR ga.__n > 1 OR gb.__n > 1 OR ga.__h <> gb.__h""",
            what,
        )
        s.run("DROP TABLE ga; DROP TABLE gb", what)
    counts = dict(s.run("SELECT __c, count(*) FROM cls GROUP BY __c", what))
    dup_keys, dup_rows_a, dup_rows_b, dup_a_keys = s.run(
        "SELECT count(*), coalesce(sum(__na), 0)::BIGINT, coalesce(sum(__nb), 0)::BIGINT, count(__na) "
        "FROM cls WHERE __c = 'dup'",
        what,
    )[0]
    # 3. full rows of the candidates and of the sample keys, one scan per side
    s.run(
        f"""CREATE TEMP TABLE pick AS
        SELECT {korder}, __c FROM cls WHERE __c = 'cand'
        UNION ALL (SELECT {korder}, __c FROM cls WHERE __c = 'added' ORDER BY {korder} LIMIT {limit})
        UNION ALL (SELECT {korder}, __c FROM cls WHERE __c = 'removed' ORDER BY {korder} LIMIT {limit})
        UNION ALL SELECT {korder}, __c FROM cls WHERE __c = 'dup'""",
        what,
    )
    for name, src, cls in (("ra", src_a, "removed"), ("rb", src_b, "added")):
        p_on = " AND ".join(f"t.{n} IS NOT DISTINCT FROM p.{n}" for n in kn)
        s.run(
            f"""CREATE TEMP TABLE {name} AS
            SELECT t.* FROM (SELECT *, {side_keys()} FROM {src}) t
            SEMI JOIN (SELECT {korder} FROM pick WHERE __c IN ('cand', 'dup', '{cls}')) p ON {p_on}""",
            what,
        )
    # 4. cell by cell on the candidates
    diffs = {c: _differs(_col(c, cast[c], "ra"), _col(c, cast[c], "rb"), numeric[c], tolerance) for c in compared}
    j_on = " AND ".join(f"ra.{n} IS NOT DISTINCT FROM rb.{n}" for n in kn)
    any_diff = " OR ".join(diffs.values()) if diffs else "false"
    agg = ", ".join(f"count(*) FILTER (WHERE {d})" for d in diffs.values())
    cand_on = " AND ".join(f"ra.{n} IS NOT DISTINCT FROM p.{n}" for n in kn)
    base = (
        f"FROM ra JOIN rb ON {j_on} SEMI JOIN (SELECT {korder} FROM pick WHERE __c = 'cand') p ON {cand_on}"
    )
    res = s.run(f"SELECT count(*) FILTER (WHERE {any_diff}){', ' + agg if agg else ''} {base}", what)[0]
    changed = int(res[0])
    columns_changed = {c: int(n) for c, n in zip(diffs, res[1:]) if n}
    added, removed = int(counts.get("added", 0)), int(counts.get("removed", 0))
    unchanged = keys_a - dup_a_keys - removed - changed  # unique keys of A that matched and compare equal
    # samples
    samples: dict[str, list] = {"added": [], "removed": [], "changed": []}
    if limit:
        key_sel = ", ".join(f"ra.{q(k)} AS {q(k)}" for k in keys)
        cells = ", ".join(
            f"ra.{q(c)} AS {q('a:' + c)}, rb.{q(c)} AS {q('b:' + c)}, {d} AS {q('d:' + c)}" for c, d in diffs.items()
        )
        rows = s.records(
            f"SELECT {key_sel}{', ' + cells if cells else ''} {base} WHERE {any_diff} "
            f"ORDER BY {', '.join('ra.' + n for n in kn)} LIMIT {limit}",
            what,
        )
        for row in rows:
            changes = {
                c: {"from": row[f"a:{c}"], "to": row[f"b:{c}"]} for c in diffs if row[f"d:{c}"]
            }
            samples["changed"].append({"key": {k: row[k] for k in keys}, "changes": changes})
        for name, cls, cols in (("rb", "added", list(sb)), ("ra", "removed", list(sa))):
            p_on = " AND ".join(f"{name}.{n} IS NOT DISTINCT FROM p.{n}" for n in kn)
            samples[cls] = s.records(
                f"SELECT {', '.join(f'{name}.{q(c)}' for c in cols)} FROM {name} "
                f"SEMI JOIN (SELECT {korder} FROM pick WHERE __c = '{cls}') p ON {p_on} "
                f"ORDER BY {', '.join(f'{name}.{n}' for n in kn)} LIMIT {limit}",
                what,
            )
    duplicates = None
    if dup_keys:
        ex = s.records(
            f"SELECT {korder}, coalesce(__na, 0) AS rows_a, coalesce(__nb, 0) AS rows_b FROM cls "
            f"WHERE __c = 'dup' ORDER BY {korder} LIMIT {max(limit, 1)}",
            what,
        )
        examples = []
        for row in ex:
            examples.append({"key": {k: row[n] for k, n in zip(keys, kn)}, "rows_a": row["rows_a"], "rows_b": row["rows_b"]})
        # are the rows of the repeated keys the same multiset on both sides? (compared columns, keys included)
        mcols = [(k, kcast[k]) for k in keys] + [(c, cast[c]) for c in compared]
        mn = [f"__m{i}" for i in range(len(mcols))]
        dup_on = " AND ".join(f"t.{n} IS NOT DISTINCT FROM p.{n}" for n in kn)

        def grouped(name: str) -> str:
            sel = ", ".join(f"{_col(c, cst, 't')} AS {n}" for (c, cst), n in zip(mcols, mn))
            return (f"SELECT {sel}, count(*) AS __n FROM {name} t "
                    f"SEMI JOIN (SELECT {korder} FROM pick WHERE __c = 'dup') p ON {dup_on} GROUP BY ALL")

        m_on = " AND ".join(f"x.{n} IS NOT DISTINCT FROM y.{n}" for n in mn)
        differing_rows = s.run(
            f"SELECT coalesce(sum(abs(coalesce(x.__n, 0) - coalesce(y.__n, 0))), 0)::BIGINT "
            f"FROM ({grouped('ra')}) x FULL OUTER JOIN ({grouped('rb')}) y ON {m_on}",
            what,
        )[0][0]
        duplicates = {"keys": int(dup_keys), "rows_a": int(dup_rows_a), "rows_b": int(dup_rows_b),
                      "rows_equal": differing_rows == 0, "examples": examples}
    notes = []
    if duplicates:
        notes.append(
            f"{dup_keys} keys appear more than once on a side; their rows ({dup_rows_a} in A, {dup_rows_b} in B) "
            "are not counted as added, removed, changed or unchanged; "
            + ("they are the same rows on both sides" if duplicates["rows_equal"] else "they differ between the sides")
        )
    if schema["added"] or schema["removed"]:
        notes.append("values are compared on the columns present in both versions")
    return TableDiff(
        mode="keyed",
        keys=keys,
        schema=schema,
        rows={"a": int(rows_a), "b": int(rows_b), "added": added, "removed": removed,
              "changed": changed, "unchanged": int(unchanged)},
        columns_changed=columns_changed,
        samples=samples,
        stats=stats,
        duplicates=duplicates,
        compared_columns=tuple(compared),
        notes=tuple(notes),
    )


def _unkeyed(s, what, src_a, src_b, sa, sb, limit, schema, stats, tolerance=0.0) -> TableDiff:
    compared = [c for c in sa if c in sb]
    if not compared:
        ra = s.run(f"SELECT count(*) FROM {src_a}", what)[0][0]
        rb = s.run(f"SELECT count(*) FROM {src_b}", what)[0][0]
        return TableDiff(
            mode="unkeyed", keys=(), schema=schema,
            rows={"a": ra, "b": rb, "added": rb, "removed": ra, "changed": None, "unchanged": 0},
            columns_changed={}, samples={"added": [], "removed": [], "changed": []}, stats=stats,
            notes=("the versions share no column: no rows in common",),
        )
    cn = [f"__c{i}" for i in range(len(compared))]
    for name, src in (("ga", src_a), ("gb", src_b)):
        cols = ", ".join(f"{_col(c, _cast(sa[c], sb[c]))} AS {n}" for c, n in zip(compared, cn))
        s.run(f"CREATE TEMP TABLE {name} AS SELECT {cols}, count(*) AS __n FROM {src} GROUP BY ALL", what)
    on = " AND ".join(f"ga.{n} IS NOT DISTINCT FROM gb.{n}" for n in cn)
    s.run(
        f"""CREATE TEMP TABLE j AS SELECT {', '.join(f'coalesce(ga.{n}, gb.{n}) AS {n}' for n in cn)},
            coalesce(ga.__n, 0) AS __na, coalesce(gb.__n, 0) AS __nb
            FROM ga FULL OUTER JOIN gb ON {on}""",
        what,
    )
    ra, rb, only_a, only_b, both = s.run(
        "SELECT coalesce(sum(__na), 0)::BIGINT, coalesce(sum(__nb), 0)::BIGINT, "
        "coalesce(sum(greatest(__na - __nb, 0)), 0)::BIGINT, coalesce(sum(greatest(__nb - __na, 0)), 0)::BIGINT, "
        "coalesce(sum(least(__na, __nb)), 0)::BIGINT FROM j",
        what,
    )[0]
    samples: dict[str, list] = {"added": [], "removed": [], "changed": []}
    if limit:
        sel = ", ".join(f"{n} AS {q(c)}" for c, n in zip(compared, cn))
        for cls, cond, count in (("removed", "__na > __nb", "__na - __nb"), ("added", "__nb > __na", "__nb - __na")):
            samples[cls] = s.records(
                f"SELECT {sel}, {count} AS {q('__count')} FROM j WHERE {cond} ORDER BY ALL LIMIT {limit}",
                what,
            )
    notes = ["no key: whole rows compared as a multiset (order ignored, duplicates counted)"]
    if tolerance:
        notes.append("--tolerance applies to keyed comparisons only; rows were compared exactly")
    if schema["added"] or schema["removed"]:
        notes.append(f"rows are compared on the {len(compared)} columns present in both versions")
    return TableDiff(
        mode="unkeyed",
        keys=(),
        schema=schema,
        rows={"a": int(ra), "b": int(rb), "added": int(only_b), "removed": int(only_a),
              "changed": None, "unchanged": int(both)},
        columns_changed={},
        samples=samples,
        stats=stats,
        compared_columns=tuple(compared),
        notes=tuple(notes),
    )
