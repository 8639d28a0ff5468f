"""The inspector page (/_emulator/ui) in a real headless Chromium, against a real server, with the MKA1 SDK
making the calls it shows. Each test works in its own namespace (the SDK's bearer token names it)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from emulator.control.server import EmulatorServer
from emulator.core.snapshot import FORMAT
from tests.browser.conftest import VIEWPORT

pytestmark = pytest.mark.timeout(120)

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "docs" / "images"
MANIFEST = {"tasks": [{"id": "faq", "type": "qa", "dataset": {"file_id": "file_faq"}}]}
VENDORS = ["mka1", "qianfan", "mistral", "digitalocean"]


def expect(locator):
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(locator)


def evals(server: EmulatorServer, token: str):
    """meetkai-mka1's `llm.evals` for `token` (which names the namespace), without retries."""
    from meetkai_mka1 import SDK
    from meetkai_mka1.utils import RetryConfig

    return SDK(bearer_auth=token, server_url=server.url, retry_config=RetryConfig("none", None, False)).llm.evals


def a_run(server: EmulatorServer, token: str):
    sdk = evals(server, token)
    suite = sdk.create_suite(name="Support", manifest=MANIFEST)
    return sdk, sdk.create_run(suite_id=suite.id, models=["gpt-4o-mini"])


def open_inspector(page, server: EmulatorServer, namespace: str | None = None):
    page.goto(server.url + "/_emulator/ui" + (f"#ns={namespace}" if namespace else ""))
    if namespace:
        expect(page.locator("#ns-name")).to_have_text(namespace)
    return page


def settle(page) -> None:
    """No hover, focus, caret or scroll in a picture: the same page gives the same pixels."""
    page.mouse.move(0, 0)
    page.evaluate("document.activeElement && document.activeElement.blur(); window.scrollTo(0, 0)")


def resource_row(page, ident: str):
    return page.locator(f'#resources tbody tr[data-id="{ident}"]')


def test_the_page_lists_namespaces_links_each_openapi_and_loads_nothing_from_elsewhere(page, server):
    a_run(server, "browser-namespaces")
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    open_inspector(page, server)
    expect(page.locator("#namespaces")).to_contain_text("browser-namespaces")
    links = page.locator("#openapi a")
    expect(links).to_have_count(len(VENDORS))
    assert [links.nth(i).get_attribute("href") for i in range(len(VENDORS))] == [
        f"/_emulator/openapi/{vendor}.json" for vendor in VENDORS]
    page.locator("#namespaces a", has_text="browser-namespaces").click()
    expect(page.locator("#ns-name")).to_have_text("browser-namespaces")
    expect(page.locator("#resources tbody tr")).to_have_count(1)
    assert requested and all(url.startswith(server.url + "/") or url.startswith("data:") for url in requested)


def test_a_run_made_through_the_sdk_appears_and_the_pages_clock_moves_it(page, server):
    sdk, run = a_run(server, "browser-run")
    open_inspector(page, server, "browser-run")
    row = resource_row(page, run.id)
    expect(row.locator(".badge")).to_have_text("queued")
    expect(row).to_contain_text("→ in_progress at 00:00:02")  # the lifecycle's next timed move
    expect(page.locator("#journal tbody")).to_contain_text("createEvalRun")

    page.fill("#advance [name=seconds]", "60")
    page.click("#advance button")
    expect(page.locator("#clock-now")).to_have_text("2026-01-01 00:01:00 UTC")
    expect(row.locator(".badge")).to_have_text("completed")
    assert sdk.get_run(run_id=run.id).status == "completed"

    row.click()  # the run's own journal: the SDK's read of it, and the state it answered
    own = page.locator("#resource-journal")
    expect(own).to_be_visible()
    expect(own.locator("tbody tr")).to_have_count(1)
    expect(own.locator("tbody tr")).to_contain_text("getEvalRun")
    expect(own.locator("tbody tr")).to_contain_text("completed (terminal)")


def test_set_freeze_and_realtime_drive_the_namespace_clock(page, server):
    a_run(server, "browser-clock")
    open_inspector(page, server, "browser-clock")
    page.fill("#set-clock [name=time]", "2026-03-01T12:00:00Z")
    page.click("#set-clock button")
    expect(page.locator("#clock-now")).to_have_text("2026-03-01 12:00:00 UTC")
    page.click("#realtime")
    expect(page.locator("#clock-mode")).to_have_text("realtime")
    page.click("#freeze")
    expect(page.locator("#clock-mode")).to_have_text("manual")
    page.fill("#set-clock [name=time]", "2020-01-01T00:00:00Z")
    page.click("#set-clock button")
    expect(page.locator("#message")).to_contain_text("only moves forward")  # the control API's refusal


def test_a_fault_added_from_the_page_reaches_the_sdk(page, server):
    from meetkai_mka1.errors import SDKDefaultError

    sdk, run = a_run(server, "browser-fault")
    open_inspector(page, server, "browser-fault")
    form = page.locator("#add-fault")
    form.locator("[name=vendor]").select_option("mka1")
    form.locator("[name=operation]").select_option("getEvalRun")
    form.locator("[name=error]").select_option("rate_limit_error")
    form.locator("[name=times]").fill("1")
    form.locator("button").click()
    rule = page.locator("#faults tbody tr")
    expect(rule).to_have_count(1)
    expect(rule).to_contain_text("getEvalRun")
    expect(rule).to_contain_text("rate_limit_error")

    with pytest.raises(SDKDefaultError) as refused:
        sdk.get_run(run_id=run.id)
    assert refused.value.raw_response.status_code == 429
    assert sdk.get_run(run_id=run.id).id == run.id  # `times: 1`: the next call goes through

    expect(rule.locator("td").nth(4)).to_have_text("2")  # matched
    expect(rule.locator("td").nth(5)).to_have_text("1")  # fired
    answered = page.locator("#journal tbody tr.faulted")
    expect(answered).to_have_count(1)
    expect(answered).to_contain_text("fault_1")
    expect(answered).to_contain_text("429")

    page.fill("#journal-filters [name=status]", "429")
    page.press("#journal-filters [name=status]", "Enter")
    expect(page.locator("#journal tbody tr")).to_have_count(1)

    rule.locator("button", has_text="Delete").click()
    expect(page.locator("#faults tbody tr")).to_have_count(0)


def test_export_downloads_a_snapshot_and_import_restores_it_elsewhere(page, server):
    _, run = a_run(server, "browser-export")
    open_inspector(page, server, "browser-export")
    expect(resource_row(page, run.id)).to_have_count(1)
    with page.expect_download() as info:
        page.click("#export")
    download = info.value
    assert download.suggested_filename == "snapshot-browser-export.json"
    snapshot = json.loads(Path(download.path()).read_text())
    assert snapshot["format"] == FORMAT and snapshot["namespace"] == "browser-export"

    open_inspector(page, server, "browser-import")
    expect(page.locator("#resources tbody tr")).to_have_count(0)
    page.set_input_files("#import", download.path())
    expect(page.locator("#message")).to_have_text("imported a snapshot into browser-import")
    expect(resource_row(page, run.id)).to_have_count(1)


def test_a_scenario_loads_from_a_file_shows_its_timeline_and_reset_empties_it(page, server, tmp_path):
    scenario = tmp_path / "scenario.yaml"
    scenario.write_text("""\
mka1:
  suites:
    - {ref: s, name: Support, manifest: {tasks: [{id: faq, type: qa, dataset: {file_id: f}}]}}
  runs:
    - suite: s
      models: [gpt-4o-mini]
      timeline:
        - {after_polls: 2, status: in_progress}
        - {at: 90s, status: failed}
""")
    open_inspector(page, server, "browser-scenario")
    page.set_input_files("#scenario", str(scenario))
    expect(page.locator("#message")).to_have_text("loaded a scenario into browser-scenario")
    row = page.locator("#resources tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("after 2 polls (0 so far) → in_progress; at 00:01:30 → failed")
    page.click("#reset")
    expect(page.locator("#message")).to_have_text("reset browser-scenario")
    expect(page.locator("#resources tbody tr")).to_have_count(0)


def test_resources_are_shown_a_page_at_a_time(page, server, tmp_path):
    scenario = tmp_path / "many.yaml"
    scenario.write_text("""\
mka1:
  suites:
    - {ref: s, name: Support, manifest: {tasks: [{id: faq, type: qa, dataset: {file_id: f}}]}}
  runs:
    - {suite: s, models: [m], generate: 45}
""")
    open_inspector(page, server, "browser-pages")
    page.set_input_files("#scenario", str(scenario))
    rows = page.locator("#resources tbody tr")
    expect(page.locator("#resources-total")).to_have_text("45 in all · page 1")
    expect(rows).to_have_count(20)
    first = rows.first.get_attribute("data-id")
    page.click("#page-older")
    expect(page.locator("#resources-total")).to_have_text("45 in all · page 2")
    expect(rows).to_have_count(20)
    assert rows.first.get_attribute("data-id") != first
    page.click("#page-older")
    expect(rows).to_have_count(5)
    expect(page.locator("#page-older")).to_be_disabled()
    page.click("#page-newest")
    expect(rows).to_have_count(20)
    expect(rows.first).to_have_attribute("data-id", first)


def test_screenshots_of_the_inspector(browser, tmp_path):
    """The pictures in docs/images, taken on a server of their own so they show the same thing every time;
    written there only with UPDATE_SCREENSHOTS=1 (else into a temporary folder)."""
    folder = SCREENSHOTS if os.environ.get("UPDATE_SCREENSHOTS") == "1" else tmp_path
    folder.mkdir(parents=True, exist_ok=True)
    demo = (ROOT / "scenarios" / "demo.yaml").read_text()
    demo = demo.replace("  mode: realtime", "  mode: manual\n  start: 2026-06-01T09:00:00Z")
    demo = demo.replace("generate: 249", "generate: 5")
    with EmulatorServer(clock="manual", seed=1) as server:
        context = browser.new_context(viewport=VIEWPORT, accept_downloads=True)
        page = context.new_page()
        try:
            scenario = tmp_path / "demo.yaml"
            scenario.write_text(demo)
            open_inspector(page, server, "demo")
            page.set_input_files("#scenario", str(scenario))
            expect(page.locator("#message")).to_have_text("loaded a scenario into demo")
            sdk = evals(server, "demo")
            runs = sdk.list_runs().data
            form = page.locator("#add-fault")
            form.locator("[name=operation]").select_option("getEvalRun")
            form.locator("[name=error]").select_option("service_unavailable_error")
            form.locator("[name=nth]").fill("2")
            form.locator("button").click()
            expect(page.locator("#faults tbody tr")).to_have_count(1)
            for run in runs:
                try:
                    sdk.get_run(run_id=run.id)
                except Exception:  # the second read meets the fault, as the picture shows
                    pass
            page.fill("#advance [name=seconds]", "30")
            page.click("#advance button")
            expect(page.locator("#clock-now")).to_have_text("2026-06-01 09:00:30 UTC")
            expect(page.locator("#journal tbody tr")).to_have_count(4)
            expect(page.locator("#faults tbody tr td").nth(5)).to_have_text("1")  # fired
            settle(page)
            page.screenshot(path=str(folder / "inspector.png"), full_page=True)

            resource_row(page, runs[1].id).click()  # the run whose second read met the fault
            expect(page.locator("#resource-journal tbody tr")).to_contain_text("fault_1")
            settle(page)
            page.screenshot(path=str(folder / "inspector-resources.png"), full_page=True,
                            clip=page.locator("#resources").bounding_box())  # not scrolled: page = viewport
        finally:
            context.close()
    assert (folder / "inspector.png").stat().st_size > 10_000
