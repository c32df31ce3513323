"""GX Data Docs that work offline: on a hospital network without the internet, or from a folder.

GX's pages load Bootstrap, jQuery, bootstrap-table, Font Awesome and Vega from CDNs, and its
index pages are empty tables that a script fills. ``make_offline`` takes every reference to the
internet out of a page (stylesheets, scripts, the logo in its CSS) and puts a small stylesheet of
its own in their place, so a page reads the same from ``file://``; what the scripts did (sorting
tables, drawing the odd chart) is left out. ``write_index`` writes the site's index again as a
static page: each validation (suite, run name = the load date, when, status) linked, newest
first, and each suite's expectations.
"""

from __future__ import annotations

import html
import re
from pathlib import Path

_EXTERNAL_LINK = re.compile(r"<link\b[^>]*\bhref=[\"']https?://[^>]*>", re.I)
_EXTERNAL_IMAGE = re.compile(r"<img\b[^>]*\bsrc=[\"']https?://[^>]*>", re.I)
_SCRIPT = re.compile(r"<script\b[^>]*>.*?</script>", re.I | re.S)
_EXTERNAL_URL = re.compile(r"url\(\s*['\"]?https?://[^)]*\)", re.I)
_HANDLER = re.compile(r"\son(?:click|load|change)=\"[^\"]*\"", re.I)
MARK = "<!-- sotelake: offline -->"

# What GX's pages need of Bootstrap 4: the grid, cards, tables, badges, alerts and navbar.
STYLE = """<style>
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: #1d2733;
       margin: 0; }
a { color: #1f5f8b; } code, pre { font-size: 12px; }
pre { white-space: pre-wrap; word-break: break-all; }
.container-fluid { padding: 12px 24px; } .row { display: flex; flex-wrap: wrap; gap: 16px; }
.row > [class*="col-"] { min-width: 0; } .col-md-2 { flex: 0 0 210px; } .col-md-10 { flex: 1 1 0; }
.col-12, .col { flex: 1 1 100%; } .col-md-6 { flex: 1 1 45%; } .col-md-4 { flex: 1 1 30%; }
.col-md-8 { flex: 1 1 60%; } .col-md-3 { flex: 1 1 22%; } .col-md-9 { flex: 1 1 70%; }
.navbar { background: #1f5f8b; padding: 8px 24px; } .navbar a, .navbar { color: #fff; }
.navbar-brand img { display: none; } .navbar .nav-link { display: none; }
.navbar-brand a::before { content: "\2190  Data Docs"; color: #fff; }
.card { border: 1px solid #d9dee4; border-radius: 6px; margin: 0 0 16px; background: #fff; }
.card-header { background: #f3f5f7; padding: 8px 12px; border-bottom: 1px solid #d9dee4; }
.card-body { padding: 8px 12px; } .card-body > * { max-width: 100%; overflow-x: auto; }
table { border-collapse: collapse; width: 100%; margin: 6px 0 12px; }
th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid #d9dee4;
         vertical-align: top; }
th { background: #f3f5f7; }
.badge { display: inline-block; padding: 1px 7px; border-radius: 9px; font-size: 12px;
         background: #f2f4f7; }
.badge-success, .text-success { color: #027a48; } .badge-danger, .text-danger { color: #b42318; }
.badge-warning, .text-warning { color: #b54708; } .badge-info { color: #1f5f8b; }
.alert { padding: 8px 12px; border-radius: 6px; background: #f6f8fa; margin: 8px 0; }
.list-group { padding: 0; list-style: none; } .list-group-item { padding: 3px 0; }
.d-none, .modal, .ge-walkthrough-modal, button, .btn, .fas, .far, .fa, footer,
.cooltip .popover, .show-scrollbars + script { display: none; }
.sticky { position: sticky; top: 0; } .mb-2 { margin-bottom: 8px; }
img { max-width: 100%; }
</style>"""


def make_offline(page: str) -> str:
    """The page without anything it would fetch from the internet, with ``STYLE`` instead."""
    if MARK in page:
        return page
    page = _EXTERNAL_LINK.sub("", page)
    page = _EXTERNAL_IMAGE.sub("", page)
    page = _SCRIPT.sub("", page)
    page = _EXTERNAL_URL.sub("none", page)
    page = _HANDLER.sub("", page)
    return page.replace("</head>", f"{MARK}\n{STYLE}\n</head>", 1)


_STATUS = re.compile(r"<td[^>]*>\s*Status\s*</td>\s*<td[^>]*>(.*?)</td>", re.I | re.S)
_TAGS = re.compile(r"<[^>]+>")


def _status(page: Path) -> str:
    """``Succeeded`` or ``Failed``, as the validation page's overview says."""
    text = page.read_text(encoding="utf-8", errors="replace")
    found = _STATUS.search(text)
    if found:
        return " ".join(_TAGS.sub(" ", found.group(1)).split())
    for word in ("Failed", "Succeeded"):
        if f">{word}<" in text or f"{word}</" in text:
            return word
    return ""


def write_index(site: Path) -> Path | None:
    """The site's ``index.html`` as a static page linking every validation and suite."""
    if not site.exists():
        return None
    validations = []
    for page in (site / "validations").rglob("*.html"):
        parts = page.relative_to(site / "validations").parts
        if len(parts) < 4:
            continue
        suite, run_name, run_time = ".".join(parts[:-3]), parts[-3], parts[-2]
        validations.append((run_name, run_time, suite, page))
    validations.sort(key=lambda v: (v[0], v[1], v[2]), reverse=True)
    suites = sorted((site / "expectations").rglob("*.html"))
    rows = []
    for run_name, run_time, suite, page in validations:
        status = _status(page)
        mark = "text-danger" if "fail" in status.lower() else "text-success"
        rows.append(
            f'<tr data-suite="{html.escape(suite)}" data-run-name="{html.escape(run_name)}">'
            f'<td><a href="{html.escape(page.relative_to(site).as_posix())}">'
            f"{html.escape(suite)}</a></td><td>{html.escape(run_name)}</td>"
            f"<td>{html.escape(run_time)}</td>"
            f'<td class="{mark}">{html.escape(status)}</td></tr>'
        )
    suite_items = [
        f'<li class="list-group-item"><a href="{html.escape(p.relative_to(site).as_posix())}">'
        f"{html.escape(p.relative_to(site / 'expectations').with_suffix('').as_posix())}</a></li>"
        for p in suites
    ]
    index = site / "index.html"
    index.write_text(
        f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Data Docs · sote-lake</title>
{MARK}
{STYLE}
</head><body>
<nav class="navbar">Great Expectations Data Docs · sote-lake</nav>
<div class="container-fluid">
<h1>Validations</h1>
<p>{len(validations)} validations; the run name is the load date. Newest first.</p>
<table class="validations"><tr><th>Suite</th><th>Run name (load date)</th><th>Run time</th>
<th>Status</th></tr>
{"".join(rows)}
</table>
<h2>Expectation suites</h2>
<ul class="list-group">{"".join(suite_items)}</ul>
</div></body></html>
""",
        encoding="utf-8",
    )
    return index
