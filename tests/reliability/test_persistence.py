"""State that survives a restart (serve --state-dir, --import, --export-on-exit), proven on real server
processes driven by the vendors' official SDKs: a clean stop loses nothing, a kill -9 loses nothing answered
100 ms before it, damage is refused by file and line, a torn last write is dropped and said, formats are
checked, and without the options nothing is written."""

from __future__ import annotations

import random
import signal
import threading
import time
from pathlib import Path
from typing import Any, Callable

import pytest

from emulator.core import statefiles
from tests.reliability.saved_state import NAMESPACES, Server, Users, free_port, run_serve

MARGIN = 0.1  # seconds: a change answered this long before a kill -9 must be there after it


def canonical(node: Any, ids: dict | None = None) -> Any:
    """A snapshot with records shared by reference written out in full (after a restart, MKA1's suite versions
    are equal copies, not one object) and empty collections left out (only records are saved)."""
    if ids is None:
        ids = {}
        _collect(node, ids)
    if isinstance(node, dict):
        if "$ref" in node:
            return canonical(ids[node["$ref"]], ids)
        if "collections" in node and isinstance(node["collections"], dict):
            node = {**node, "collections": {k: v for k, v in node["collections"].items() if v}}
        return {k: canonical(v, ids) for k, v in node.items() if k != "$id"}
    if isinstance(node, list):
        return [canonical(v, ids) for v in node]
    return node


def _collect(node: Any, ids: dict) -> None:
    if isinstance(node, dict):
        if "$id" in node:
            ids[node["$id"]] = node
        for value in node.values():
            _collect(value, ids)
    elif isinstance(node, list):
        for value in node:
            _collect(value, ids)


def everything(server: Server) -> dict:
    """Each namespace's whole state (records, extras, RNG, clock, faults) and its journal."""
    return {ns: (canonical(server.control(ns, "GET", "/snapshot")), server.control(ns, "GET", "/journal"))
            for ns in NAMESPACES}


@pytest.fixture
def port() -> int:
    return free_port()


def drive(users: Users, rounds: int = 2) -> dict[str, Any]:
    """Every vendor's mutations through its SDK; what each now reads."""
    ids = users.setup()
    reads = {}
    for _ in range(rounds):
        for change in users.changes:
            key, read = change(ids)
            reads[key] = (read, read())
    return reads


def reread(users: Users, reads: dict[str, Any]) -> dict[str, Any]:
    """The same reads through a new server's SDKs (the reads were made by the old server's clients)."""
    fresh = {}
    by_vendor = {"mka1": users.mka1, "mistral": users.mistral}
    for key in reads:
        vendor, ident = key.split(" ", 1)
        if vendor == "mka1":
            fresh[key] = by_vendor[vendor].get_run(run_id=ident).model_dump()
        elif vendor == "mistral":
            fresh[key] = by_vendor[vendor].judges.fetch(judge_id=ident).model_dump()
        elif vendor == "digitalocean":
            fresh[key] = users.do.get_evaluation_test_case(ident)
        else:
            from qianfan.resources.console.eval import Eval

            fresh[key] = Eval.V2.describe_eval_task(ident).body["result"]
    return fresh


# ---- a clean stop -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT])
def test_a_clean_stop_loses_nothing_and_every_vendor_answers_the_same(tmp_path, port, stop):
    state = str(tmp_path / "state")
    server = Server(tmp_path, port, "--state-dir", state)
    users = Users(server)
    reads = drive(users)
    server.control("mka1-user", "POST", "/clock/advance", json={"seconds": 30})
    server.control("mka1-user", "POST", "/faults", json={"vendor": "mka1", "operation": "getEvalRun", "nth": [50],
                                                         "error": "api_error"})
    answers = {key: read() for key, (read, _) in reads.items()}  # the last changes: within the flush interval
    before = everything(server)
    users.close()
    assert server.stop(stop) in (0, 130)

    again = Server(tmp_path, port, "--state-dir", state)
    assert "restored 4 namespace(s)" in again.summary and "'mka1-user' (1 mka1.suites" in again.summary
    assert everything(again) == before  # records, extras, RNG, clock, faults and their counters, journal
    users = Users(again)
    assert reread(users, reads) == answers
    assert {a["status"] for k, a in answers.items() if k.startswith("mka1")} == {"in_progress"}  # the clock moved
    users.close()
    again.stop()


def test_every_namespace_of_the_demo_scenario_survives_a_restart(tmp_path, port):
    """Scenarios loaded at start are saved too; the saved state wins over the scenario at the next start."""
    demo = str(Path(__file__).resolve().parents[2] / "scenarios" / "demo.yaml")
    state = str(tmp_path / "state")
    server = Server(tmp_path, port, "--state-dir", state, "--scenario", demo)
    server.control("demo", "POST", "/clock/advance", json={"seconds": 120})
    with server.http("demo") as http:
        runs = http.get("/api/v1/llm/evals/runs", headers={"Authorization": "Bearer demo"}).json()
    before = canonical(server.control("demo", "GET", "/snapshot"))
    server.stop()

    again = Server(tmp_path, port, "--state-dir", state, "--scenario", demo)
    assert "namespace 'demo' restored from the saved state instead of its start-up scenario" in again.summary
    after = canonical(again.control("demo", "GET", "/snapshot"))
    clocks = before["state"].pop("clock"), after["state"].pop("clock")
    assert after == before
    # The demo's clock runs with the wall clock: it carries on from where it was, plus the time it was stopped.
    assert clocks[0]["mode"] == clocks[1]["mode"] == "realtime" and clocks[1]["now"] > clocks[0]["now"]
    with again.http("demo") as http:
        assert http.get("/api/v1/llm/evals/runs", headers={"Authorization": "Bearer demo"}).json() == runs
    again.stop()


# ---- kill -9 ----------------------------------------------------------------------------------------------------


class Driver(threading.Thread):
    """Makes one vendor mutation after another until the server dies; notes each change's read and when its
    answer arrived."""

    def __init__(self, users: Users, ids: dict[str, str], answered: dict[str, tuple[float, Callable, Any]]):
        super().__init__(daemon=True)
        self.users, self.ids, self.answered = users, ids, answered
        self.keys: list[str] = []

    def run(self) -> None:
        changes = self.users.changes
        try:
            for number in range(10_000):
                key, read = changes[number % len(changes)](self.ids)
                at = time.monotonic()
                self.answered[key] = (at, read, read())
                self.keys.append(key)
        except Exception:  # the kill: a refused connection or a reset
            return


def test_a_kill_at_a_random_moment_loses_nothing_answered_100_ms_before_it(tmp_path, port):
    state = str(tmp_path / "state")
    seeded = random.Random()
    answered: dict[str, tuple[float, Callable, Any]] = {}
    killed_at: dict[str, float] = {}
    ids: dict[str, str] = {}
    for round_number in range(4):
        server = Server(tmp_path, port, "--state-dir", state)
        users = Users(server)
        kept = [k for k, (at, _, _) in answered.items() if at <= killed_at[k] - MARGIN]
        for key in kept:  # each change answered well before a kill reads the same through the SDK
            assert reread(users, {key: None})[key] == answered[key][2], (round_number, key)
        if round_number == 3:
            users.close()
            server.stop()
            break
        if not ids:
            ids.update(users.setup())
        driver = Driver(users, ids, answered)
        driver.start()
        time.sleep(seeded.uniform(0.4, 1.5))
        kill = time.monotonic()
        server.kill()
        driver.join(timeout=30)
        for key in driver.keys:
            killed_at[key] = kill
        assert driver.keys, "the driver made no change before the kill"
        users.close()
    assert len(kept) >= 8


# ---- damage, torn writes, formats -------------------------------------------------------------------------------


def _saved(tmp_path: Path, port: int) -> tuple[str, dict, Path]:
    """A state directory with a base and a log of several batches for namespace mka1-user."""
    state = str(tmp_path / "state")
    server = Server(tmp_path, port, "--state-dir", state)
    users = Users(server)
    ids = users.setup()
    folder = Path(state) / statefiles.NAMESPACES / "mka1-user"
    for _ in range(50):  # changes until the log holds three batches (one per change, unless the machine lags)
        users.change_mka1(ids)
        time.sleep(0.1)
        if list(folder.glob("log-*.jsonl")) and _log(folder).read_bytes().count(b' {"batch":') >= 3:
            break
    before = everything(server)
    users.close()
    server.stop()
    return state, before, folder


def _log(folder: Path) -> Path:
    (log,) = sorted(folder.glob("log-*.jsonl"))
    return log


def test_a_damaged_line_is_refused_with_its_file_and_line(tmp_path, port):
    state, _, folder = _saved(tmp_path, port)
    log = _log(folder)
    lines = log.read_bytes().splitlines(keepends=True)
    assert len(lines) >= 7 and b"eval_run_" in lines[2]
    lines[2] = lines[2].replace(b"eval_run_", b"eval_rux_", 1)  # a batch in the middle: damage, not a torn tail
    log.write_bytes(b"".join(lines))
    refused = run_serve("--state-dir", state)
    assert refused.returncode == 2
    assert f"{log}: line 3 is damaged (its checksum does not match)" in refused.stderr

    (base,) = folder.glob("base-*.jsonl")
    log.write_bytes(b"".join(lines[:2]))  # the log is fine again; now the base is cut short
    base.write_bytes(b"".join(base.read_bytes().splitlines(keepends=True)[:-1]))
    refused = run_serve("--state-dir", state)
    assert refused.returncode == 2 and f"{base}: cut short" in refused.stderr


TORN = {  # what a kill may leave after the last whole batch
    "a cut line": b'0badc0de ["mka1.runs","eval_run_',
    "records without their commit": statefiles.line(statefiles.record_payload(
        "mka1.runs", "eval_run_lost", 99, True, {"$type": "emulator.vendors.mka1.records:Run"})) * 2,
}


@pytest.mark.parametrize("tail", TORN.values(), ids=TORN)
def test_a_torn_last_write_is_dropped_and_said_and_cut_off(tmp_path, port, tail):
    state, before, folder = _saved(tmp_path, port)
    log = _log(folder)
    whole = log.read_bytes()
    count = whole.count(b"\n")
    log.write_bytes(whole + tail)
    server = Server(tmp_path, port, "--state-dir", state)
    assert f"dropped a torn last write ({log} line {count + 1})" in server.summary
    assert everything(server) == before
    assert log.read_bytes() == whole  # cut off, so the next batches follow a whole line
    users = Users(server)
    users.change_mka1({"suite": users.mka1.list_suites().data[0].id})
    users.close()
    server.stop()
    again = Server(tmp_path, port, "--state-dir", state)
    assert "dropped a torn" not in again.summary and "restored 2 namespace(s)" in again.summary
    again.stop()


@pytest.mark.parametrize("found, words", [(0, "an older format (0)"), (2, "a newer format (2)"),
                                          ("1", "no format this emulator knows")])
def test_a_state_of_another_format_is_refused(tmp_path, port, found, words):
    state, _, folder = _saved(tmp_path, port)
    (base,) = folder.glob("base-*.jsonl")
    lines = base.read_bytes().splitlines(keepends=True)
    header = statefiles._parse(lines[0], base, 1)
    lines[0] = statefiles.json_line({**header, "format": found})
    base.write_bytes(b"".join(lines))
    refused = run_serve("--state-dir", state)
    assert refused.returncode == 2 and f"{base}: written in {words}" in refused.stderr

    marker = Path(state) / statefiles.MARKER
    marker.write_text('{"format": 0}\n')
    refused = run_serve("--state-dir", state)
    assert refused.returncode == 2 and f"{marker}: written in an older format (0)" in refused.stderr


def test_a_directory_that_is_not_a_state_is_refused(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    refused = run_serve("--state-dir", str(tmp_path))
    assert refused.returncode == 2 and "not an emulator's state directory" in refused.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


# ---- --import, --export-on-exit, off ----------------------------------------------------------------------------


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_import_restores_and_never_writes(tmp_path, port):
    state, before, _ = _saved(tmp_path, port)
    kept = _files(Path(state))
    server = Server(tmp_path, port, "--import", state)
    assert f"imported {state}: read once; changes are not written back" in server.summary
    assert everything(server) == before
    users = Users(server)
    users.change_mka1({"suite": users.mka1.list_suites().data[0].id})
    server.control("mka1-user", "POST", "/reset")
    users.close()
    server.stop()
    assert _files(Path(state)) == kept


def test_export_on_exit_writes_at_a_clean_stop_and_imports_back(tmp_path, port):
    out = tmp_path / "export"
    server = Server(tmp_path, port, "--export-on-exit", str(out))
    users = Users(server)
    reads = drive(users, rounds=1)
    assert not out.exists() or not any(out.rglob("*.jsonl"))  # nothing until the stop
    before = everything(server)
    users.close()
    server.stop(signal.SIGINT)
    assert sorted(p.name for p in (out / statefiles.NAMESPACES).iterdir()) == sorted(NAMESPACES)
    again = Server(tmp_path, port, "--import", str(out))
    assert everything(again) == before
    users = Users(again)
    assert reread(users, reads) == {key: answer for key, (_, answer) in reads.items()}
    users.close()
    again.stop()


def test_without_the_options_nothing_is_written(tmp_path, port):
    work = tmp_path / "cwd"
    work.mkdir()
    server = Server(tmp_path, port, cwd=work)
    assert not any(line.startswith(("  state", "  imported", "  export")) for line in server.output)
    users = Users(server)
    drive(users, rounds=1)
    users.close()
    server.stop()
    assert list(work.iterdir()) == []
    assert {p.name for p in tmp_path.iterdir()} <= {"ca.pem", "cwd"}


def test_conflicting_options_are_refused(tmp_path):
    refused = run_serve("--state-dir", str(tmp_path / "a"), "--import", str(tmp_path / "b"))
    assert refused.returncode == 2 and "not both" in refused.stderr
    refused = run_serve("--import", str(tmp_path / "missing"))
    assert refused.returncode == 2 and "no such directory" in refused.stderr


# ---- namespaces on disk ---------------------------------------------------------------------------------------


def test_a_dropped_or_reset_namespace_leaves_no_files_and_odd_names_stay_inside(tmp_path, port):
    state = tmp_path / "state"
    server = Server(tmp_path, port, "--state-dir", str(state))
    odd = "../Odd Name/?*%2F"
    for name in (odd, "plain", "x" * 300):
        server.control(name, "POST", "/clock/advance", json={"seconds": 5})
    time.sleep(0.3)
    folders = sorted(p.name for p in (state / statefiles.NAMESPACES).iterdir())
    assert statefiles.dir_name(odd) in folders and "plain" in folders and len(folders) == 3
    assert all(len(name) <= 120 and "/" not in name and name not in (".", "..") for name in folders)
    assert statefiles.dir_name("Plain") != statefiles.dir_name("plain")  # case-insensitive file systems too
    server.control("x", "DELETE", "/namespaces/plain")
    server.control(odd, "POST", "/reset")
    time.sleep(0.3)
    assert len(list((state / statefiles.NAMESPACES).iterdir())) == 1
    server.stop()
    again = Server(tmp_path, port, "--state-dir", str(state))
    assert "restored 1 namespace(s)" in again.summary
    assert again.control("x" * 300, "GET", "/clock")["now"] == server_clock_after(5)
    again.stop()


def server_clock_after(seconds: float) -> float:
    from emulator.core.clock import DEFAULT_MANUAL_START

    return DEFAULT_MANUAL_START + seconds
