"""``frontier-explore stale``: which assets are stale or missing, and why. Exit codes for CI."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from rich.text import Text

from ..models import iso
from ..humanize import counted
from ..markdown import cell as md_cell, code as md_code
from ..visible import visible
from .common import add_format_arg, add_store_args, console, open_store, print_document, print_json, styled_status, table, text

if TYPE_CHECKING:  # the staleness rules are imported when a store is asked, not for --help
    from ..plan import RerunPlan
    from ..staleness import StalenessReport

FAIL_ON = {"stale": ("stale", "missing"), "missing": ("missing",), "none": ()}


def _summary(report: StalenessReport) -> str:
    c = report.counts()
    when = ""
    if report.as_of_run:
        when = f" as of run {report.as_of_run} ({iso(report.as_of)})"
    elif report.as_of:
        when = f" as of {iso(report.as_of)}"
    return f"{c['fresh']} fresh, {c['stale']} stale, {c['missing']} missing in {report.store}{when}"


def _missing_note(a) -> str:
    return "never materialized" + (f"; planned by {', '.join(a.planned_by)}" if a.planned_by else "")


WIDE = 120
"""Below this many columns the report is a list of assets, each cause on its own lines: a
table's cause columns would be a dozen characters wide and break every run id."""


def render_table(report: StalenessReport) -> None:
    out = console()
    if out.width < WIDE:
        _render_list(report)
        return
    rows = []
    for a in report.assets:
        # one line per cause: each made visible on its own (a cause's text is never two lines)
        causes = ("\n".join([*(visible(c.describe()) for c in a.causes), a.causes_summary()]).rstrip("\n")
                  if a.status != "missing" else _missing_note(a))
        causes = "\n".join(filter(None, [causes, *(f"vs Dagster: {visible(n)}" for n in a.dagster_differs)]))
        roots = "\n".join([*(visible(c.describe_chain()) for c in a.root_causes), a.root_causes_summary()]).rstrip("\n")
        rows.append((a.asset, styled_status(a.status), a.run_id or "", causes, roots))
    out.print(table(_summary(report), ["asset", "status", "run", "causes", "root causes"], rows, show_lines=True))


def _render_list(report: StalenessReport) -> None:
    out = console()
    out.print(text(_summary(report), "bold"))
    for a in report.assets:
        out.print(Text.assemble(text(a.asset, "bold"), " ", styled_status(a.status),
                                text(f" (run {a.run_id})" if a.run_id else "", "dim")))
        lines = [("", _missing_note(a))] if a.status == "missing" else []
        lines += [("cause: ", c.describe()) for c in a.causes]
        lines += [("", a.causes_summary())] if a.causes_summary() else []
        lines += [("root cause: ", c.describe_chain()) for c in a.root_causes]
        lines += [("", a.root_causes_summary())] if a.root_causes_summary() else []
        lines += [("vs Dagster: ", n) for n in a.dagster_differs]
        for label, line in lines:
            # wrapped by hand, with a hanging indent: rich's Padding pads every line to the width
            # with spaces, which a CI log or a pasted report then carries at each line's end
            body = Text.assemble(text(label, "dim"), text(visible(line)))
            for i, piece in enumerate(body.wrap(out, max(20, out.width - 4))):
                piece.rstrip()
                out.print(Text.assemble("    " if i else "  ", piece))


def render_markdown(report: StalenessReport) -> str:
    lines = [f"**Staleness:** {_summary(report)}", ""]
    bad = report.with_status("stale", "missing")
    if not bad:
        lines.append("Every asset is fresh.")
        return "\n".join(lines) + "\n"
    lines += ["| asset | status | run | causes |", "|---|---|---|---|"]
    for a in bad:
        causes = ("<br>".join([*(md_cell(c.describe(), "<br>") for c in a.causes), *filter(None, [a.causes_summary()])])
                  if a.status == "stale" else md_cell(_missing_note(a), "<br>"))
        lines.append(f"| {md_code(a.asset)} | {a.status} | {a.run_id or ''} | {causes} |")
    stale = report.with_status("stale")
    if stale:
        lines += ["", "**Root causes**", ""]
        for a in stale:
            for c in a.root_causes:
                lines.append(f"- {c.chain_text(md_code)} <- {md_cell(c.describe(), '<br>')}")
            if a.root_causes_omitted:
                lines.append(f"- {md_code(a.asset)}: {a.root_causes_summary()}")
    differs = [a for a in report.assets if a.dagster_differs]
    if differs:
        lines += ["", "**Where this differs from Dagster's stale status, on purpose**", ""]
        lines += [f"- {md_code(a.asset)}: {md_cell(n, '<br>')}" for a in differs for n in a.dagster_differs]
    return "\n".join(lines) + "\n"


def _reasons(reasons) -> str:
    """The reasons in words: ``upstream changed`` (JSON keeps the codes)."""
    return ", ".join(r.replace("_", " ") for r in reasons)


def render_plan(plan: RerunPlan, fmt: str) -> None:
    """The rerun plan: numbered steps (asset, job, why), the job batches and a Dagster command."""
    if fmt == "json":
        print_json(plan.to_dict())
        return
    if not plan.steps:
        message = "Every asset is fresh: nothing to rematerialize."
        print_document(message + "\n") if fmt == "markdown" else console().print(text(message))
        return
    if fmt == "markdown":
        lines = [f"**Rerun plan:** {counted(len(plan.steps), 'asset')} to rematerialize, in this order", "",
                 "| # | asset | job | why |", "|---|---|---|---|"]
        lines += [f"| {i} | {md_code(s.asset)} | {md_cell(s.job or '?', '<br>')} | {_reasons(s.reasons)} |" for i, s in enumerate(plan.steps, 1)]
        lines += ["", "```sh", plan.command(), "```"]
        print_document("\n".join(lines) + "\n")
        return
    out = console()
    # the reasons in words ("upstream changed" wraps at its space; "upstream_change/d" did not)
    rows = [(i, s.asset, s.job or "?", styled_status(s.status), _reasons(s.reasons))
            for i, s in enumerate(plan.steps, 1)]
    out.print(table(f"rerun plan: {counted(len(plan.steps), 'asset')} to rematerialize, in this order",
                    ["#", "asset", "job", "status", "why"], rows, drop=("why", "status"), no_wrap=("#", "job")))
    for b in plan.batches:
        out.print(Text.assemble(text("job ", "dim"), text(b.job or "?", "bold"), text(f": {', '.join(b.assets)}")))
    # one line, whatever the width (the terminal wraps it): a command cut by a newline would run
    # half of itself when pasted, "dagster asset materialize --select" without the selection
    out.print(Text.assemble(text("dagster: ", "dim"), text(plan.command())), soft_wrap=True)


def cmd_stale(args: argparse.Namespace) -> int:
    store = open_store(args)
    report = store.staleness(as_of=args.as_of, max_age=args.max_age)
    if args.plan:
        from ..plan import rerun_plan

        render_plan(rerun_plan(report, store.index), args.format)
    elif args.format == "json":
        print_json(report.to_dict())
    elif args.format == "markdown":
        print_document(render_markdown(report))
    else:
        render_table(report)
    failing = FAIL_ON[args.fail_on]
    return 1 if any(a.status in failing for a in report.assets) else 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "stale",
        help="fresh / stale / missing for every asset, with causes (exit 1 when something is stale)",
        description=(
            "Status of the current version of every asset: fresh, stale (with causes and root causes) "
            "or missing. Exit code 0 when nothing matches --fail-on, 1 when something does, 2 on error."
        ),
    )
    add_store_args(p)
    add_format_arg(p, ("table", "json", "markdown"))
    p.add_argument("--as-of", metavar="RUN_ID|ISO_TIME",
                   help="judge the store as it was: as a run left it (its finish), or at an ISO time")
    p.add_argument("--max-age", metavar="DURATION", help="versions older than this are stale (e.g. 36h, 7d, 1d12h)")
    p.add_argument("--plan", action="store_true",
                   help="print the rerun plan instead: the assets to rematerialize, in order, by job, "
                        "with a Dagster command line (json: for a scheduler)")
    p.add_argument("--fail-on", choices=list(FAIL_ON), default="stale",
                   help="exit 1 when an asset is stale or missing (stale, the default), only missing, or never (none)")
    p.set_defaults(func=cmd_stale)
