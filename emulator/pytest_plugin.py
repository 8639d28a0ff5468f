"""pytest plugin (entry point `pytest11`): the emulator as fixtures, one fresh namespace per test.

- `emulator`: the app in process (a Starlette TestClient), manual clock. Hand `emulator.client` to an SDK that
  takes an httpx client; it sends the test's namespace header on every request.
- `emulator_server` / `emulator_tls_server`: a real uvicorn server on a free port, started once per test run
  and shared by every pytest-xdist worker; each test gets its own namespace, named by `token` (use it as the
  SDK's API key and the namespace follows) and sent as the X-Emulator-Namespace header by `control`.
- `@pytest.mark.emulator_scenario("file.yaml")`: load a scenario (relative to the test file) into the test's
  namespace before the test runs.
- `emulator_search` / `emulator_search_server`: an emulator.strategies.Search (session-scoped, so Hypothesis's
  @given may use it) that loads each drawn scenario into a fresh namespace, in process or on the shared server,
  and adds the failing scenario's YAML to the failure.

Every handle has the control API (`advance`, `add_fault`, `journal`, `snapshot`...) and journal assertions:
`assert_called`, `assert_polled_at_most` and `assert_stopped_polling_at_terminal`.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

import pytest
from filelock import FileLock

from emulator.control.client import NAMESPACE_HEADER, EmulatorControl

if TYPE_CHECKING:  # pragma: no cover - emulator.strategies imports Hypothesis, so it is imported when used
    from emulator.strategies import Search

MARKER = "emulator_scenario"


# Names this test run for its shared servers: the pid of the process that owns the run (the xdist controller, or
# pytest itself) and a token, so a nested run (pytester, in process or not) never mistakes an outer run's servers
# for its own. The controller hands it to its workers in `workerinput`.
RUN_KEY = "llm_eval_emulator_run"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", f"{MARKER}(*files): load these scenario files into the test's namespace")
    workerinput = getattr(config, "workerinput", None)
    if workerinput is not None and RUN_KEY in workerinput:
        run = dict(workerinput[RUN_KEY])
    else:
        run = {"pid": os.getpid(), "token": secrets.token_hex(6)}
    setattr(config, "_" + RUN_KEY, run)


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """pytest-xdist (controller side): every worker joins this run's shared servers."""
    node.workerinput[RUN_KEY] = getattr(node.config, "_" + RUN_KEY)


class EmulatorHandle:
    """One test's view of the emulator: its namespace, the control API, and assertions over the journal."""

    def __init__(self, control: EmulatorControl, namespace: str, base_url: str):
        self.control = control
        self.namespace = namespace
        self.token = namespace  # a bearer token / access key whose default namespace is this test's
        self.base_url = base_url
        self.headers = {NAMESPACE_HEADER: namespace}

    # The control API, bound to this test's namespace.
    def load_scenario(self, scenario: Any) -> dict:
        return self.control.load_scenario(scenario)

    def advance(self, seconds: float) -> dict:
        return self.control.advance(seconds)

    def now(self) -> float:
        return self.control.now()

    def set_time(self, when: float | str) -> dict:
        return self.control.set_time(when)

    def freeze(self) -> dict:
        return self.control.freeze()

    def realtime(self) -> dict:
        return self.control.realtime()

    def add_fault(self, **rule: Any) -> dict:
        return self.control.add_fault(**rule)

    def remove_fault(self, fault_id: str) -> dict:
        return self.control.remove_fault(fault_id)

    def faults(self) -> list[dict]:
        return self.control.faults()

    def journal(self, **filters: Any) -> list[dict]:
        return self.control.journal(**filters)

    def resources(self, **query: Any) -> dict:
        return self.control.resources(**query)

    def snapshot(self) -> dict:
        return self.control.snapshot()

    def restore(self, snapshot: dict) -> dict:
        return self.control.restore(snapshot)

    def reset(self) -> dict:
        return self.control.reset()

    # Assertions over the journal.
    def assert_called(self, operation: str | None = None, *, times: int | None = None, at_least: int | None = None,
                      at_most: int | None = None, **filters: Any) -> list[dict]:
        """The matching requests, after checking how many there were."""
        calls = self.journal(operation=operation, **filters)
        what = operation or filters or "any operation"
        if times is not None:
            assert len(calls) == times, f"expected {times} call(s) of {what}, saw {len(calls)}"
        if at_least is not None:
            assert len(calls) >= at_least, f"expected at least {at_least} call(s) of {what}, saw {len(calls)}"
        if at_most is not None:
            assert len(calls) <= at_most, f"expected at most {at_most} call(s) of {what}, saw {len(calls)}"
        if times is None and at_least is None and at_most is None:
            assert calls, f"expected a call of {what}, saw none"
        return calls

    def polls_of(self, resource_id: str) -> list[dict]:
        """Reads of one resource by id (a GET by id, a Qianfan DescribeEvalTask...) with the state each answered."""
        return [e for e in self.journal(limit=10_000)
                if e["state"] is not None and (e.get("resource") == resource_id or resource_id in e["path"])]

    def assert_polled_at_most(self, resource_id: str, n: int) -> list[dict]:
        polls = self.polls_of(resource_id)
        assert len(polls) <= n, f"{resource_id} was polled {len(polls)} times, more than {n}"
        return polls

    def assert_faults_fired(self, *ids: str) -> list[dict]:
        """Every scripted fault rule (or the ones named) fired at least once: a test of a failure path that never
        met its failure proves nothing."""
        rules = self.faults()
        if ids:
            known = {r["id"] for r in rules}
            missing = [i for i in ids if i not in known]
            assert not missing, f"no fault rule with id {', '.join(missing)} (rules: {', '.join(known) or 'none'})"
            rules = [r for r in rules if r["id"] in ids]
        silent = [r for r in rules if r["fired"] == 0]
        assert not silent, "fault rule(s) that never fired: " + "; ".join(
            f"{r['id']} ({', '.join(f'{k}={v}' for k, v in r.items() if k not in ('id', 'fired'))})" for r in silent)
        return rules

    def assert_stopped_polling_at_terminal(self, resource_id: str) -> list[dict]:
        """The client saw the resource reach a terminal state and did not poll it again."""
        polls = self.polls_of(resource_id)
        assert polls, f"{resource_id} was never polled"
        first_terminal = next((i for i, e in enumerate(polls) if e["terminal"]), None)
        assert first_terminal is not None, \
            f"{resource_id} never reached a terminal state while polled (last: {polls[-1]['state']})"
        extra = polls[first_terminal + 1:]
        assert not extra, (f"{resource_id} was polled {len(extra)} more time(s) after it was "
                           f"{polls[first_terminal]['state']}")
        return polls


def _test_client_class() -> type:
    """Starlette's TestClient, imported without the deprecation warning it gives on import when httpx (not httpx2)
    is installed: the SDKs under test are built on httpx, and the warning is ours to handle, not the user's."""
    import warnings

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
        from starlette.testclient import TestClient
    return TestClient


def _namespace_for(request: pytest.FixtureRequest) -> str:
    digest = hashlib.sha1(request.node.nodeid.encode()).hexdigest()[:10]
    return f"test-{request.node.name[:40]}-{digest}"


def _scenario_files(request: pytest.FixtureRequest) -> list[Path]:
    """The marker's files: relative to the test file, else to the rootdir, else a scenario shipped with the
    package (`emulator_scenario("mka1.yaml")`); a name found nowhere fails the test with the places looked at."""
    from emulator import shipped

    files = []
    for marker in request.node.iter_markers(MARKER):
        for name in marker.args:
            path = Path(name)
            tried = [path]
            if not path.is_absolute():
                tried = [Path(request.node.fspath).parent / path, Path(request.config.rootpath) / path]
            found = next((p for p in tried if p.is_file()), None) or shipped.scenario(str(name))
            if found is None:
                pytest.fail(f"@pytest.mark.{MARKER}({name!r}): no such scenario file; looked at "
                            f"{', '.join(map(str, tried))} and the shipped scenarios ({', '.join(shipped.names())})",
                            pytrace=False)
            files.append(found)
    return files


def _load_marked(handle: EmulatorHandle, request: pytest.FixtureRequest) -> None:
    for path in reversed(_scenario_files(request)):  # the closest marker is the last word
        handle.load_scenario(path)


# ---- in process -----------------------------------------------------------------------------------------------


@pytest.fixture
def emulator(request: pytest.FixtureRequest) -> Iterator[EmulatorHandle]:
    """The emulator app in process with a manual clock and a fresh namespace for this test."""
    from emulator.app import build_app
    from emulator.core.namespace import Settings

    TestClient = _test_client_class()
    namespace = _namespace_for(request)
    app = build_app(Settings(seed=0, clock_mode="manual"))
    with TestClient(app, headers={NAMESPACE_HEADER: namespace}) as client:
        handle = EmulatorHandle(EmulatorControl(client=client, namespace=namespace), namespace, "http://testserver")
        handle.app, handle.client = app, client
        _load_marked(handle, request)
        yield handle


# ---- a real server, shared across the run (and across xdist workers) -------------------------------------------


@dataclass
class _Server:
    url: str
    pid: int
    ca_file: str | None


def _run(config: pytest.Config) -> dict:
    return getattr(config, "_" + RUN_KEY)


def _run_dir(config: pytest.Config, create: bool = True) -> Path:
    """One directory per test run (shared by its xdist workers), named by the run's owner pid and token."""
    run = _run(config)
    path = Path(tempfile.gettempdir()) / f"llm-eval-emulator-pytest-{run['pid']}-{run['token']}"
    if create:
        path.mkdir(exist_ok=True)
    return path


def _start(kind: str, run_dir: Path, owner: int) -> _Server:
    command = [sys.executable, "-m", "emulator", "serve", "--port", "0", "--clock", "manual",
               "--exit-with-pid", str(owner)]
    ca_file = None
    if kind == "tls":
        ca_file = str(run_dir / "ca.pem")
        command += ["--tls", "--tls-ca-file", ca_file]
    log = open(run_dir / f"{kind}.log", "w")
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=log, text=True, start_new_session=True)
    line = proc.stdout.readline() if proc.stdout else ""
    if "listening on" not in line:
        proc.kill()
        raise RuntimeError(f"the emulator did not start: {line!r}; see {run_dir / (kind + '.log')}")
    url = line.split("listening on ", 1)[1].split()[0]
    return _Server(url=url, pid=proc.pid, ca_file=ca_file)


def _shared_server(kind: str, config: pytest.Config) -> _Server:
    """Start the run's server of this kind, or join the one another worker started."""
    run_dir = _run_dir(config)
    state = run_dir / f"{kind}.json"
    # filelock: a lock every platform has (pytest-xdist's docs use it for session fixtures shared by workers).
    with FileLock(str(run_dir / "lock")):
        if state.exists():
            return _Server(**json.loads(state.read_text()))
        server = _start(kind, run_dir, _run(config)["pid"])
        state.write_text(json.dumps(server.__dict__))
        return server


def _stop_servers(run_dir: Path) -> None:
    for state in run_dir.glob("*.json"):
        try:
            os.kill(json.loads(state.read_text())["pid"], signal.SIGTERM)
        except (OSError, ValueError, KeyError):
            pass
    shutil.rmtree(run_dir, ignore_errors=True)


def pytest_unconfigure(config: pytest.Config) -> None:
    if hasattr(config, "workerinput") or not hasattr(config, "_" + RUN_KEY):
        return  # the controller stops the shared servers once every worker is done
    run_dir = _run_dir(config, create=False)
    if run_dir.exists():
        _stop_servers(run_dir)


@pytest.fixture(scope="session")
def _emulator_http_server(pytestconfig: pytest.Config) -> _Server:
    return _shared_server("http", pytestconfig)


@pytest.fixture(scope="session")
def _emulator_tls_server(pytestconfig: pytest.Config) -> _Server:
    return _shared_server("tls", pytestconfig)


def _handle(server: _Server, request: pytest.FixtureRequest) -> Iterator[EmulatorHandle]:
    namespace = _namespace_for(request)
    control = EmulatorControl(server.url, namespace=namespace, verify=server.ca_file or True)
    handle = EmulatorHandle(control, namespace, server.url)
    handle.ca_file = server.ca_file
    control.reset()
    _load_marked(handle, request)
    try:
        yield handle
    finally:
        control.reset()  # free the namespace's memory on the shared server
        control.close()


@pytest.fixture
def emulator_server(_emulator_http_server: _Server, request: pytest.FixtureRequest) -> Iterator[EmulatorHandle]:
    """The shared emulator server (http), with a fresh namespace for this test."""
    yield from _handle(_emulator_http_server, request)


@pytest.fixture
def emulator_tls_server(_emulator_tls_server: _Server, request: pytest.FixtureRequest) -> Iterator[EmulatorHandle]:
    """The shared emulator server over HTTPS; `ca_file` is the CA to verify it with (pydo needs https)."""
    yield from _handle(_emulator_tls_server, request)



# ---- searches: drawn scenarios, one fresh namespace each (emulator.strategies) ------------------------------


@pytest.fixture(scope="session")
def emulator_search() -> Iterator["Search"]:
    """Searches in process: one app (manual clock) for the session, a fresh namespace per scenario. The handle's
    `client` is shared and sends the current scenario's namespace header (one scenario at a time)."""
    from emulator.app import build_app
    from emulator.core.namespace import Settings
    from emulator.strategies import Search

    app = build_app(Settings(seed=0, clock_mode="manual"))
    with _test_client_class()(app) as client:
        @contextmanager
        def open_namespace(name: str) -> Iterator[EmulatorHandle]:
            client.headers[NAMESPACE_HEADER] = name
            handle = EmulatorHandle(EmulatorControl(client=client, namespace=name), name, "http://testserver")
            handle.app, handle.client = app, client
            try:
                yield handle
            finally:
                client.headers.pop(NAMESPACE_HEADER, None)

        yield Search(open_namespace)


@pytest.fixture(scope="session")
def emulator_search_server(_emulator_http_server: _Server) -> "Search":
    """Searches on the shared server (http): a fresh namespace per scenario, named by the handle's `token`."""
    from emulator.strategies import Search

    @contextmanager
    def open_namespace(name: str) -> Iterator[EmulatorHandle]:
        control = EmulatorControl(_emulator_http_server.url, namespace=name)
        try:
            yield EmulatorHandle(control, name, _emulator_http_server.url)
        finally:
            control.close()

    return Search(open_namespace)
