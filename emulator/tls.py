"""HTTPS for the emulator: a throwaway CA and a server certificate for 127.0.0.1 and localhost, made at start.

Some official clients refuse plain http with a bearer token (pydo, through azure-core), so `serve --tls` serves
HTTPS with a certificate from a CA made on the spot (trustme), and writes the CA's PEM where a client can read
it: `Client(token=..., endpoint="https://127.0.0.1:PORT", connection_verify=<CA path>)`. Nothing is installed
in the system trust store. The server's key lives in a private temporary directory only until the server has
loaded it (`remove_private`), so no stop, however abrupt, leaves it behind.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

HOSTS = ("127.0.0.1", "localhost", "::1")


@dataclass(frozen=True)
class TlsFiles:
    ca_file: Path  # the CA certificate (PEM) clients verify against
    cert_file: Path  # the server certificate chain (PEM), for uvicorn's ssl_certfile
    key_file: Path  # the server private key (PEM), for uvicorn's ssl_keyfile

    def remove_private(self) -> None:
        """Delete the server's certificate and key (once loaded into the SSL context); the CA file stays."""
        shutil.rmtree(self.key_file.parent, ignore_errors=True)


def make_certificates(ca_file: str | Path | None = None, hosts: tuple[str, ...] = HOSTS) -> TlsFiles:
    """Make a CA and a server certificate for `hosts`; write the CA PEM to `ca_file` (default: a temp file)."""
    import trustme

    ca = trustme.CA(organization_name="LLM-evaluation API emulator")
    server = ca.issue_cert(*hosts)
    workdir = Path(tempfile.mkdtemp(prefix="emulator-tls-"))
    atexit.register(shutil.rmtree, workdir, True)
    if ca_file is None:  # a public certificate: a file of its own, outside the key's directory
        handle, name = tempfile.mkstemp(prefix="emulator-ca-", suffix=".pem")
        os.close(handle)
        atexit.register(_unlink, name)
        ca_file = name
    ca_path = Path(ca_file)
    ca_path.parent.mkdir(parents=True, exist_ok=True)
    ca.cert_pem.write_to_path(str(ca_path))
    cert_path, key_path = workdir / "server.pem", workdir / "server.key"
    for blob in server.cert_chain_pems:
        blob.write_to_path(str(cert_path), append=True)
    server.private_key_pem.write_to_path(str(key_path))
    key_path.chmod(0o600)
    return TlsFiles(ca_file=ca_path, cert_file=cert_path, key_file=key_path)


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass
