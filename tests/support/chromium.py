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


def open_offline(browser, path, folder, **page_options):
    """Open the HTML file ``path`` with the network off: every request outside ``folder`` (the
    data folder the page belongs to) is refused and recorded. Returns (page, errors, outside,
    seconds to the load event); errors are console errors."""
    import time
    from pathlib import Path
    from urllib.parse import unquote, urlsplit

    root = Path(folder).resolve()
    outside: list[str] = []

    def route(r):
        url = r.request.url
        parts = urlsplit(url)
        inside = parts.scheme == "file" and Path(unquote(parts.path)).resolve().is_relative_to(root)
        if inside or parts.scheme in ("data", "about", "blob"):
            r.continue_()
        else:
            outside.append(url)
            r.abort()

    context = browser.new_context(offline=True, **page_options)
    context.route("**/*", route)
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    started = time.perf_counter()
    page.goto(Path(path).resolve().as_uri(), wait_until="load")
    seconds = time.perf_counter() - started
    return page, errors, outside, seconds
