"""A real headless Chromium for the tests that look at HTML reports (fixture in conftest)."""

CHROMIUM = "/usr/bin/chromium"  # Debian's chromium (make system-packages installs it)
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def open_page(browser, url: str, **page_options):
    """Open url in a new page; returns (page, errors) where errors collects console errors."""
    page = browser.new_page(**page_options)
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(url, wait_until="load")
    return page, errors
