"""pytest plugin shipped with augkit (entry point ``pytest11``): fixtures for plugin authors.

``augkit_plugin(obj, name=None)`` registers a plugin module or object with augkit's plugin manager for
the current test only; its components are then resolvable by name (``augkit.get_component``) and usable
from recipes run in that test.

``augkit_browser`` is a headless Chromium for the whole test session (``augkit.browser``): pass it
to ``open_page(path, browser=augkit_browser)``. Without Chromium or Playwright the test is skipped, unless
``AUGKIT_REQUIRE_BROWSER=1`` makes that a failure (for CI, which installs both).
"""

from __future__ import annotations

import os

import pytest


@pytest.fixture
def augkit_plugin():
    from augkit.plugins import get_plugin_manager

    pm = get_plugin_manager()
    registered = []

    def register(plugin, name: str | None = None):
        pm.register(plugin, name=name)
        registered.append(plugin)
        return plugin

    yield register
    for plugin in registered:
        if pm.is_registered(plugin):
            pm.unregister(plugin)


@pytest.fixture(scope="session")
def augkit_browser():
    from augkit.browser import BrowserUnavailable, launch_chromium

    try:
        with launch_chromium() as browser:
            yield browser
            return
    except BrowserUnavailable as e:
        if os.environ.get("AUGKIT_REQUIRE_BROWSER") == "1":
            pytest.fail(f"AUGKIT_REQUIRE_BROWSER=1, but {e}")
        pytest.skip(str(e))
