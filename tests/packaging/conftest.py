"""The browser fixtures (Debian's Chromium through playwright) of tests/browser, for the fresh-venv check."""

from tests.browser.conftest import browser, page

__all__ = ["browser", "page"]
