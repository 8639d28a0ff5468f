"""`python -m emulator serve|validate|schema`: serve the app, check scenario files, print their JSON Schema."""

from __future__ import annotations

import argparse
import socket
import sys

from emulator.core.namespace import Settings
from emulator.core.scenario import ScenarioError


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m emulator", description="Offline LLM-evaluation API emulator")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="serve every vendor and the /_emulator control API")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8080)
    serve.add_argument("--scenario", action="append", default=[], metavar="FILE",
                       help="YAML scenario to load at start (repeatable)")
    serve.add_argument("--seed", type=int, default=0, help="seed for ids and generated data (default 0)")
    serve.add_argument("--clock", choices=["realtime", "manual"], default="realtime",
                       help="realtime: namespaces' clocks run; manual: they move only by /_emulator/clock/advance")
    serve.add_argument("--log-level", default="warning")
    serve.add_argument("--tls", action="store_true",
                       help="serve HTTPS with a certificate for 127.0.0.1/localhost made at start (pydo needs https)")
    serve.add_argument("--tls-ca-file", metavar="PATH", default=None,
                       help="with --tls: where to write the CA certificate clients verify (default: a temp file)")
    serve.add_argument("--exit-with-pid", type=int, default=None, metavar="PID",
                       help="stop when process PID ends (the pytest plugin's shared server uses it)")
    validate = sub.add_parser("validate", help="check scenario files; every mistake is reported with its line")
    validate.add_argument("files", nargs="+", metavar="FILE")
    sub.add_parser("schema", help="print the JSON Schema of scenario files (for editor completion)")
    return parser


def validate(args: argparse.Namespace) -> int:
    from emulator.app import build_app
    from emulator.core import scenario as scenarios

    app = build_app()
    failed = 0
    for name in args.files:
        try:
            text = open(name, encoding="utf-8").read()
            scenarios.check(text, name, app.state.vendors)
        except OSError as exc:
            print(f"{name}: cannot read: {exc.strerror}", file=sys.stderr)
            failed += 1
        except ScenarioError as exc:
            print(str(exc), file=sys.stderr)
            failed += 1
        else:
            print(f"{name}: ok")
    return 1 if failed else 0


def schema(args: argparse.Namespace) -> int:
    import json

    from emulator.core.scenario import json_schema
    from emulator.vendors.registry import vendors

    print(json.dumps(json_schema({v.name: v.scenario_section for v in vendors()}), indent=2))
    return 0


def _exit_with(pid: int) -> None:
    """End this server when `pid` is gone, so a crashed test run never leaves it behind."""
    import os
    import threading
    import time

    def watch() -> None:
        while True:
            time.sleep(1.0)
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                os._exit(0)
            except PermissionError:
                pass

    threading.Thread(target=watch, daemon=True).start()


def serve(args: argparse.Namespace) -> int:
    import uvicorn

    from emulator.app import build_app

    try:
        app = build_app(Settings(seed=args.seed, clock_mode=args.clock), args.scenario)
    except ScenarioError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    # Bind first so the printed URL is one that already accepts connections (and --port 0 shows the real port).
    sock = socket.socket(socket.AF_INET6 if ":" in args.host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((args.host, args.port))
    except OSError as exc:
        print(f"error: cannot listen on {args.host}:{args.port}: {exc.strerror}", file=sys.stderr)
        return 2
    sock.listen(2048)
    port = sock.getsockname()[1]
    tls = {}
    if args.tls:
        from emulator.tls import make_certificates

        files = make_certificates(args.tls_ca_file)
        tls = {"ssl_certfile": str(files.cert_file), "ssl_keyfile": str(files.key_file)}
    config = uvicorn.Config(app, log_level=args.log_level, access_log=False, http="httptools", loop="uvloop",
                            lifespan="off", **tls)
    scheme = "https" if args.tls else "http"
    print(f"emulator listening on {scheme}://{args.host}:{port} (clock {args.clock}, seed {args.seed})", flush=True)
    if args.tls:
        print(f"TLS CA certificate: {files.ca_file}", flush=True)
    if args.exit_with_pid:
        _exit_with(args.exit_with_pid)
    uvicorn.Server(config).run(sockets=[sock])
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    return {"serve": serve, "validate": validate, "schema": schema}[args.command](args)
