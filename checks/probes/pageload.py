"""Page load in a real browser: headless Chromium (the system's), Navigation Timing per load.

Azure has no time-to-interactive metric, and a true TTI (Lighthouse's quiet-window heuristic)
needs a trace; this probe uses the W3C Navigation Timing entry of each load as the proxy, and
says so in every report row: the judged value is `loadEventEnd` (navigation start to the end
of the load event: HTML parsed, scripts run, sub-resources loaded, so a Next.js page has
hydrated its initial bundle), which is also what Application Insights' "browser page load time"
measures. `domInteractive` and `domContentLoadedEventEnd` are reported alongside.

Each load uses a fresh browser context (empty cache and cookies: a first visit). The browser is
the system Chromium (`/usr/bin/chromium` by default, `FIN_CHECK_CHROMIUM` to change), never a
downloaded one.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime

CHROMIUM_PATH = os.environ.get("FIN_CHECK_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
NAVIGATION_JS = """() => {
  const [nav] = performance.getEntriesByType('navigation');
  return nav ? nav.toJSON() : null;
}"""


class PageLoadError(RuntimeError):
    """The browser could not be started."""


@dataclass
class PageLoad:
    time: datetime
    load_ms: float | None
    dom_interactive_ms: float | None = None
    dom_content_loaded_ms: float | None = None
    status: int | None = None
    error: str | None = None
    timed_out: bool = False

    @property
    def ok(self) -> bool:
        return self.error is None and self.load_ms is not None and self.load_ms > 0


@dataclass
class PageLoadResult:
    url: str
    loads: list[PageLoad] = field(default_factory=list)

    @property
    def successes(self) -> list[PageLoad]:
        return [load for load in self.loads if load.ok]

    def mean(self, attribute: str = "load_ms") -> float | None:
        values = [getattr(load, attribute) for load in self.successes if getattr(load, attribute) is not None]
        return math.fsum(values) / len(values) if values else None


def load_pages(url: str, *, loads: int, timeout_seconds: float, executable: str | None = None) -> PageLoadResult:
    """Load `url` `loads` times in fresh contexts and read each load's navigation timing."""
    try:  # the `checks` extra: plan, policy and deploy installs leave the browser driver out
        from playwright.sync_api import Error as PlaywrightError
        from playwright.sync_api import TimeoutError as PlaywrightTimeout
        from playwright.sync_api import sync_playwright
    except ImportError:
        raise PageLoadError(
            "the page-load probe needs Playwright, which is in the `checks` extra: `make setup-checks` "
            "(or `uv sync --locked --extra checks`)"
        ) from None

    path = executable or CHROMIUM_PATH
    if not os.path.exists(path):
        raise PageLoadError(f"no Chromium at {path} (install the Debian package chromium, or set FIN_CHECK_CHROMIUM)")
    result = PageLoadResult(url)
    # Playwright gives the browser a fresh temporary profile of its own (it refuses --user-data-dir).
    with sync_playwright() as playwright:
        try:
            browser = playwright.chromium.launch(executable_path=path, args=CHROMIUM_ARGS, timeout=60_000)
        except PlaywrightError as error:
            raise PageLoadError(f"Chromium did not start: {str(error).splitlines()[0]}") from None
        try:
            for _ in range(loads):
                result.loads.append(_one_load(browser, url, timeout_seconds, PlaywrightError, PlaywrightTimeout))
        finally:
            browser.close()
    return result


def _one_load(
    browser, url: str, timeout_seconds: float, error_type: type[Exception], timeout_type: type[Exception]
) -> PageLoad:
    """One load; a load that does not reach its load event within the timeout is `timed_out`
    (the page took at least that long: the source counts it as the timeout, a lower bound)."""
    started = datetime.now(UTC)
    context = browser.new_context()
    try:
        page = context.new_page()
        response = page.goto(url, wait_until="load", timeout=timeout_seconds * 1000)
        status = response.status if response is not None else None
        if status is not None and not 200 <= status < 400:
            return PageLoad(started, None, status=status, error=f"HTTP {status}")
        entry = page.evaluate(NAVIGATION_JS)
        if not entry or not entry.get("loadEventEnd"):
            return PageLoad(started, None, status=status, error="no navigation timing entry")
        return PageLoad(
            started,
            float(entry["loadEventEnd"]),
            dom_interactive_ms=float(entry.get("domInteractive") or 0) or None,
            dom_content_loaded_ms=float(entry.get("domContentLoadedEventEnd") or 0) or None,
            status=status,
        )
    except timeout_type:
        return PageLoad(started, None, error=f"timeout after {timeout_seconds:g} s", timed_out=True)
    except error_type as error:
        first = str(error).splitlines()[0] if str(error) else type(error).__name__
        return PageLoad(started, None, error=first[:200])
    finally:
        context.close()
