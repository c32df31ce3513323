"""Every HTML page of a data folder's reports in headless Chromium, with the network off.

    .venv/bin/python bench/report_pages.py [--data data] [--screenshots docs/images]

Prints, per page: its size, the seconds to its load event, its height in pixels, the requests
it made outside the data folder (refused; there should be none) and its console errors. With
``--screenshots``, writes a screenshot of the top of each kind of report (indicators, a
package, the packages' index, the stewards' report, the GX Data Docs index and a validation,
the dbt docs) at 1280 pixels wide.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # the tests' support

from support.chromium import CHROMIUM, CHROMIUM_FLAGS, open_offline  # noqa: E402

VIEWPORT = {"width": 1280, "height": 900}
VALIDATION = "quality/gx/loads/validations/raw/unified_record/visits/*/*/*.html"
# screenshot name -> (page under reports/, language anchor, how much of it: pixels tall)
SHOTS = {
    "indicator-report": ("indicators/index.html", "", 1400),
    "indicator-card": ("indicators/index.html", "#fi-t3_median_days", 1300),
    "package": ("packages/*/primary_care.html", "#sv", 1300),
    "packages-index": ("packages/index.html", "", 500),
    "steward-report": ("quality/index.html", "", 2200),
    "steward-report-sv": ("quality/index.html", "#sv", 1400),
    "data-docs-index": ("quality/gx/loads/index.html", "", 900),
    "data-docs-validation": (VALIDATION, "", 900),
    "dbt-docs": ("dbt-docs/index.html", "", 900),
}


def measure(browser, data: Path) -> list[dict]:
    reports = data / "reports"
    found = []
    for path in sorted(reports.rglob("*.html")):
        page, errors, outside, seconds = open_offline(browser, path, data, viewport=VIEWPORT)
        if path.parent.name == "dbt-docs":
            page.wait_for_timeout(1500)  # AngularJS draws it after the load event
        found.append(
            {
                "page": path.relative_to(reports).as_posix(),
                "kB": round(path.stat().st_size / 1024),
                "seconds": round(seconds, 2),
                "height": page.evaluate("document.documentElement.scrollHeight"),
                "outside": outside,
                "errors": errors,
            }
        )
        page.context.close()
    return found


def screenshots(browser, data: Path, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, (pattern, anchor, tall) in SHOTS.items():
        path = next(iter(sorted((data / "reports").glob(pattern))), None)
        if path is None:
            print(f"{name}: no page {pattern}")
            continue
        context = browser.new_context(offline=True, viewport=VIEWPORT)
        page = context.new_page()
        page.goto(path.resolve().as_uri() + anchor, wait_until="load")
        page.wait_for_timeout(1500 if path.parent.name == "dbt-docs" else 200)
        top = page.evaluate("window.scrollY")
        height = min(tall, page.evaluate("document.documentElement.scrollHeight") - top)
        clip = {"x": 0, "y": top, "width": VIEWPORT["width"], "height": height}
        page.screenshot(path=str(folder / f"{name}.png"), full_page=True, clip=clip)
        context.close()
        print(f"{name}: {folder / f'{name}.png'}")


def main() -> None:
    from playwright.sync_api import sync_playwright

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="data", type=Path)
    parser.add_argument("--screenshots", type=Path)
    args = parser.parse_args()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_FLAGS)
        pages = measure(browser, args.data)
        print(f"{'page':70} {'kB':>6} {'s':>6} {'px':>7} outside errors")
        for row in pages:
            print(
                f"{row['page'][:70]:70} {row['kB']:>6} {row['seconds']:>6} {row['height']:>7} "
                f"{len(row['outside']):>7} {len(row['errors']):>6}"
            )
        outside = sum(len(r["outside"]) for r in pages)
        errors = sum(len(r["errors"]) for r in pages)
        print(f"{len(pages)} pages; requests outside the data folder: {outside}; errors: {errors}")
        if args.screenshots:
            screenshots(browser, args.data, args.screenshots)
        browser.close()


if __name__ == "__main__":
    main()
