"""PDF copies of report pages, printed by the headless Chromium the browser tests use.

``cx report --pdf`` writes ``NN_topic.pdf`` beside each page, through Playwright driving the
system's Chromium (``CX_CHROMIUM``, else ``chromium`` or ``chromium-browser`` on PATH;
nothing is downloaded). The page is printed with its print stylesheet, on A4, after its
charts are drawn, with every request but the page itself blocked. Without Chromium or
Playwright, :func:`unavailable` says why in one line and no PDF is written. Japanese text
needs a CJK font on the machine (Debian's ``fonts-noto-cjk``, installed with Chromium by
``make browser``). Knows nothing about CX.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence
from pathlib import Path

LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update",
               "--disable-sync"]
PRINT_WIDTH_PX = 700  # A4 less 12 mm margins is ~703 CSS px: charts are laid out to fit
DRAWN = ("() => Array.from(document.querySelectorAll('div.plotly-graph-div'))"
         ".every(d => d.querySelector('svg.main-svg'))")


def chromium() -> str | None:
    """The Chromium executable to print with, or None."""
    return (os.environ.get("CX_CHROMIUM") or shutil.which("chromium")
            or shutil.which("chromium-browser"))


def unavailable() -> str | None:
    """Why no PDF can be printed on this machine (one line), or None when it can."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return ("PDF skipped: the playwright package is not installed "
                "(pip install playwright; the dev extra has it)")
    if not chromium():
        return ("PDF skipped: no Chromium found (apt-get install chromium fonts-noto-cjk, "
                "or set CX_CHROMIUM to its path)")
    return None


def print_pdfs(pages: Sequence[Path], timeout_s: float = 120) -> list[Path]:
    """Print each HTML page in ``pages`` to a PDF beside it (written to a temporary name,
    then renamed); returns the PDFs. Raises RuntimeError when Chromium cannot be used."""
    why = unavailable()
    if why:
        raise RuntimeError(why)
    # in a thread of its own: Playwright's sync API refuses to start where an event loop
    # runs already (a Jupyter kernel, or a caller that drives a browser itself)
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(_print_all, list(pages), timeout_s).result()


def _print_all(pages: Sequence[Path], timeout_s: float) -> list[Path]:
    from playwright.sync_api import sync_playwright

    written = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium(), headless=True,
                                     args=LAUNCH_ARGS)
        try:
            for page_path in pages:
                written.append(_print(browser, Path(page_path), timeout_s))
        finally:
            browser.close()
    return written


def _print(browser, page_path: Path, timeout_s: float) -> Path:  # noqa: ANN001
    url = page_path.resolve().as_uri()
    context = browser.new_context(viewport={"width": PRINT_WIDTH_PX, "height": 1000},
                                  service_workers="block")
    context.route("**/*", lambda r: r.continue_() if r.request.url == url else r.abort())
    try:
        page = context.new_page()
        page.goto(url, wait_until="load", timeout=timeout_s * 1000)
        try:
            page.wait_for_function(DRAWN, timeout=timeout_s * 1000)
        except Exception:  # noqa: BLE001 - a chart that never draws is printed as it is
            pass
        page.emulate_media(media="print")
        target = page_path.with_suffix(".pdf")
        tmp = target.with_name(f".{target.name}.tmp")
        page.pdf(path=str(tmp), format="A4", print_background=True,
                 margin={"top": "12mm", "bottom": "12mm", "left": "12mm", "right": "12mm"})
        os.replace(tmp, target)
        return target
    finally:
        context.close()
