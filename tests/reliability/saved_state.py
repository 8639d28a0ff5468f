"""Helpers for the saved-state tests: a real `serve` process over TLS (pydo needs https) on a port kept across
restarts (presigned URLs name it), and every vendor's official SDK pointed at it, each making the mutations a
user makes and reading back what the SDK answers."""

from __future__ import annotations

import gc
import os
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any, Callable

import httpx

from emulator.vendors.digitalocean.records import AGENT_METRICS
from tests.contract.digitalocean.uploads import csv_text

ROOT = Path(__file__).resolve().parents[2]
MKA1_TOKEN, QIANFAN_AK, QIANFAN_SK, MISTRAL_KEY, DO_TOKEN = ("mka1-user", "emulator-ak", "emulator-sk",
                                                            "mistral-user", "do-user")
NAMESPACES = (MKA1_TOKEN, QIANFAN_AK, MISTRAL_KEY, DO_TOKEN)
MANIFEST = {"tasks": [{"id": "t1", "type": "qa", "dataset": {"source": "file", "file_id": "file_1"}}],
            "schema_version": "2026-05-27"}
JUDGE = {"description": "Is the answer polite?", "model_name": "mistral-large-latest",
         "output": {"type": "CLASSIFICATION", "options": [{"value": "POLITE", "description": "courteous"},
                                                          {"value": "RUDE", "description": "dismissive"}]},
         "instructions": "Classify the tone of the assistant's answer.", "tools": []}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """`python -m emulator serve --tls` with the given options; its output is collected as it comes."""

    def __init__(self, tmp: Path, port: int, *options: str, cwd: Path = ROOT):
        self.ca_file = str(tmp / "ca.pem")
        self.url = f"https://127.0.0.1:{port}"
        self.output: list[str] = []
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "emulator", "serve", "--port", str(port), "--clock", "manual", "--tls",
             "--tls-ca-file", self.ca_file, "--exit-with-pid", str(os.getpid()), *options],
            cwd=cwd, env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        deadline = time.monotonic() + 30
        while not any("TLS CA certificate" in line for line in self.output):
            assert self.proc.poll() is None, "the server ended:\n" + "".join(self.output)
            assert time.monotonic() < deadline, "the server did not start:\n" + "".join(self.output)
            time.sleep(0.01)

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.output.append(line)

    @property
    def summary(self) -> str:
        return "".join(self.output)

    def http(self, namespace: str) -> httpx.Client:
        return httpx.Client(base_url=self.url, verify=self.verify(), timeout=30,
                            headers={"X-Emulator-Namespace": namespace})

    def verify(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=self.ca_file)

    def control(self, namespace: str, method: str, path: str, **kwargs: Any) -> Any:
        with self.http(namespace) as http:
            res = http.request(method, "/_emulator" + path, **kwargs)
        assert res.status_code < 300, res.text
        return res.json()

    def stop(self, sig: int = signal.SIGTERM) -> int:
        self.proc.send_signal(sig)
        code = self.proc.wait(timeout=30)
        self.reader.join(timeout=5)
        return code

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait(timeout=30)
        self.reader.join(timeout=5)


def run_serve(*options: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    """A `serve` that is expected to refuse to start."""
    return subprocess.run([sys.executable, "-m", "emulator", "serve", "--port", "0", *options], cwd=cwd,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True, timeout=60)


class Users:
    """The four vendors' official SDKs on one server, one namespace each. Each `change_*` makes one mutation and
    answers (key, read) where `read()` is what the SDK answers about it now, and again after a restart."""

    def __init__(self, server: Server):
        import pydo
        from meetkai_mka1 import SDK
        from meetkai_mka1.utils import RetryConfig
        from mistralai.client import Mistral

        self.server = server
        self._mka1_http = httpx.Client(verify=server.verify(), timeout=30)
        self.mka1 = SDK(bearer_auth=MKA1_TOKEN, server_url=server.url, client=self._mka1_http,
                        retry_config=RetryConfig("none", None, False)).llm.evals
        self._mistral_http = httpx.Client(verify=server.verify(), timeout=30)
        self.mistral = Mistral(api_key=MISTRAL_KEY, server_url=server.url,
                               client=self._mistral_http).beta.observability
        self._pydo = pydo.Client(token=DO_TOKEN, endpoint=server.url, connection_verify=server.ca_file,
                                 retry_total=0)
        self.do = self._pydo.genai
        self._configure_qianfan()

    def _configure_qianfan(self) -> None:
        import qianfan

        os.environ["REQUESTS_CA_BUNDLE"] = self.server.ca_file  # the SDK speaks requests, which reads it
        config = qianfan.get_config()
        config.CONSOLE_API_BASE_URL = self.server.url
        config.ACCESS_KEY, config.SECRET_KEY = QIANFAN_AK, QIANFAN_SK

    def close(self) -> None:
        """Close every connection (a TLS connection left open holds a clean stop of the server for a while)."""
        self._mka1_http.close()
        self._mistral_http.close()
        self._pydo.close()
        gc.collect()  # Qianfan's SDK makes a requests session per call and leaves it to the collector

    # ---- setup: what the mutations need ----

    def setup(self) -> dict[str, str]:
        suite = self.mka1.create_suite(name="kept", manifest=MANIFEST).id
        text = csv_text(3)
        upload = self.do.create_evaluation_dataset_file_upload_presigned_urls(
            {"files": [{"file_name": "faq.csv", "file_size": str(len(text))}]})["uploads"][0]
        with httpx.Client(verify=self.server.verify()) as http:
            assert http.put(upload["presigned_url"], content=text.encode()).status_code == 200
        dataset = self.do.create_evaluation_dataset({"name": "faq", "file_upload_dataset": {
            "original_file_name": "faq.csv", "stored_object_key": upload["object_key"],
            "size_in_bytes": str(len(text))}})["evaluation_dataset_uuid"]
        return {"suite": suite, "dataset": dataset}

    # ---- one mutation each ----

    def change_mka1(self, ids: dict[str, str]) -> tuple[str, Callable[[], Any]]:
        run = self.mka1.create_run(suite_id=ids["suite"], models=["m"]).id
        return "mka1 " + run, lambda: self.mka1.get_run(run_id=run).model_dump()

    def change_qianfan(self, ids: dict[str, str]) -> tuple[str, Callable[[], Any]]:
        from qianfan.resources.console.eval import Eval

        body = Eval.V2.create_eval_task(
            f"task-{uuid.uuid4().hex[:6]}", "model",
            {"evalModelConfig": {"versionId": "ds-evalset00001", "evalModelConfigList": [
                {"modelId": "amv-user000001", "promptTemplate": "Q: {input}"}]}},
            {"evalMode": "rule"}, description="kept").body
        task = body["result"]  # the new task's id
        # requestId and logId count requests, so only the result is compared
        return "qianfan " + task, lambda: Eval.V2.describe_eval_task(task).body["result"]

    def change_mistral(self, ids: dict[str, str]) -> tuple[str, Callable[[], Any]]:
        judge = self.mistral.judges.create(name=f"judge-{uuid.uuid4().hex[:8]}", **JUDGE).id
        return "mistral " + judge, lambda: self.mistral.judges.fetch(judge_id=judge).model_dump()

    def change_digitalocean(self, ids: dict[str, str]) -> tuple[str, Callable[[], Any]]:
        case = self.do.create_evaluation_test_case({
            "name": f"case-{uuid.uuid4().hex[:6]}", "description": "kept", "dataset_uuid": ids["dataset"],
            "metrics": [AGENT_METRICS[0].metric_uuid], "agent_workspace_name": "support"})
        case = case["test_case_uuid"]
        return "digitalocean " + case, lambda: self.do.get_evaluation_test_case(case)

    @property
    def changes(self) -> list[Callable[[dict[str, str]], tuple[str, Callable[[], Any]]]]:
        return [self.change_mka1, self.change_qianfan, self.change_mistral, self.change_digitalocean]
