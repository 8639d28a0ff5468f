"""The inspector's files as the app serves them at /_emulator/ui (the page itself runs in tests/browser)."""

from __future__ import annotations

import re

from emulator.control import routes as control
from tests.control.conftest import error_body


def test_the_page_and_its_two_files_are_served(client):
    page = client.get("/_emulator/ui")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert '<script src="/_emulator/ui/inspector.js">' in page.text
    assert client.get("/_emulator/ui/").text == page.text
    script = client.get("/_emulator/ui/inspector.js")
    assert script.status_code == 200 and script.headers["content-type"].startswith("text/javascript")
    style = client.get("/_emulator/ui/inspector.css")
    assert style.status_code == 200 and style.headers["content-type"].startswith("text/css")


def test_nothing_else_is_served_from_the_ui_folder(client):
    for name in ("nope.js", "..%2Froutes.py", "index.htm"):
        res = client.get(f"/_emulator/ui/{name}")
        assert res.status_code == 404, name
        assert error_body(res)["type"] == "not_found"


def test_the_page_works_offline():
    """No CDN, no font or script from elsewhere: every file is the project's own."""
    for name in control.UI_FILES:
        text = (control.UI / name).read_text()
        assert not re.search(r"(https?:)?//[a-z0-9.-]+\.[a-z]{2,}/", text, re.I), name
        assert "@import" not in text and "fonts.googleapis" not in text


def test_every_call_the_page_makes_is_a_control_api_route():
    """The page is a view on the control API: each call its script makes is one of the API's routes."""
    script = (control.UI / "inspector.js").read_text()
    calls = set(re.findall(r'api\("(GET|POST|PUT|DELETE)", "(/[^"]*)"', script))
    assert len(calls) >= 15
    served = [(method, route.path) for route in control.routes() for method in route.methods or ()]
    for method, path in calls:
        full = control.PREFIX + path
        assert any(m == method and (p == full or (full.endswith("/") and p.startswith(full))) for m, p in served), \
            (method, path)
