"""`llm-eval-emulator` (or `python -m emulator`): serve, validate scenario files, print their schema, print a
vendor's OpenAPI document, run the demo.

Every `serve` option can also be set by an environment variable (EMULATOR_PORT=9000), as container and CI users
configure emulators; a flag given on the command line wins over the variable. The options are one table
(SERVE_OPTIONS), so `--help`, the variables and the docs never disagree.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import sys
from dataclasses import dataclass
from typing import Any, Callable

from emulator import __version__
from emulator.core.namespace import Settings
from emulator.core.scenario import ScenarioError

ENV_PREFIX = "EMULATOR_"
TRUE = {"1", "true", "yes", "on"}


def _flag(value: str) -> bool:
    if value.lower() in TRUE | {"0", "false", "no", "off", ""}:
        return value.lower() in TRUE
    raise ValueError(f"{value!r} is not a yes/no value (use 1/0, true/false, yes/no, on/off)")


def _files(value: str) -> list[str]:
    return [part for part in value.split(os.pathsep) if part]


@dataclass(frozen=True)
class Option:
    """One `serve` option: its flag, its environment variable (EMULATOR_ + the flag's name), default and help."""

    flag: str
    default: Any
    help: str
    parse: Callable[[str], Any] = str
    metavar: str | None = None
    choices: tuple[str, ...] | None = None
    switch: bool = False  # a flag without a value (its variable takes yes/no)
    repeat: bool = False  # given several times (its variable takes a list separated by os.pathsep)
    variable: str | None = None  # the environment variable's name after EMULATOR_, when not the flag's

    @property
    def dest(self) -> str:
        return self.flag.removeprefix("--").replace("-", "_")

    @property
    def env(self) -> str:
        return ENV_PREFIX + (self.variable or self.dest.upper())


SERVE_OPTIONS = (
    Option("--host", "127.0.0.1", "address to listen on; 0.0.0.0 serves other machines too (see SECURITY in the "
                                  "docs)"),
    Option("--port", 8080, "port to listen on; 0 picks a free one (the start-up line names it)", int),
    Option("--scenario", [], "YAML scenario to load at start, into the namespace it names (repeatable; the "
                             "variable takes a list separated by the platform's path separator)", _files,
           metavar="FILE", repeat=True, variable="SCENARIOS"),
    Option("--seed", 0, "seed of ids and generated data in namespaces no scenario seeds", int),
    Option("--clock", "realtime", "realtime: every namespace's clock runs; manual: clocks move only through "
                                  "/_emulator/clock", choices=("realtime", "manual")),
    Option("--control-token", None, "a secret the control API and X-Emulator-Namespace need (in the "
                                    "X-Emulator-Control-Token header); required when --host is not a loopback "
                                    "address", metavar="TOKEN"),
    Option("--max-body", 10 * 1024 * 1024, "bytes a request body may have where the vendor documents no limit of "
                                           "its own (413 past it, before the rest is read)", int, metavar="BYTES"),
    Option("--max-namespaces", 10_000, "how many namespaces may exist at once; past it new ones are refused",
           int, metavar="N"),
    Option("--keep-alive", 5.0, "seconds a connection may stay silent (new, or after its last answer)", float,
           metavar="SECONDS"),
    Option("--header-timeout", 10.0, "seconds a request may take to send its headers (slow clients are cut off)",
           float, metavar="SECONDS"),
    Option("--max-connections", 1000, "concurrent connections served; past it the server answers 503", int,
           metavar="N"),
    Option("--log-level", "warning", "server log level", choices=("critical", "error", "warning", "info", "debug")),
    Option("--log-requests", False, "log one line per vendor request: namespace, vendor, operation, status, "
                                    "virtual time, faults fired", _flag, switch=True),
    Option("--tls", False, "serve HTTPS with a certificate for 127.0.0.1/localhost made at start (pydo needs "
                           "https)", _flag, switch=True),
    Option("--tls-ca-file", None, "with --tls: where to write the CA certificate clients verify (default: a "
                                  "temporary file, named at start)", metavar="PATH"),
    Option("--state-dir", None, "keep every namespace's state in DIR: restored at start, saved as it changes (a "
                                "kill -9 loses at most the last 50 ms); see docs/persistence.md",
           metavar="DIR"),
    Option("--import", None, "restore the state saved in DIR at start, without ever writing to DIR",
           metavar="DIR"),
    Option("--export-on-exit", None, "save every namespace's state to DIR at a clean stop (SIGTERM, Ctrl-C); "
                                     "serve --state-dir or --import DIR restores it", metavar="DIR"),
    Option("--exit-with-pid", None, "stop when process PID ends (the pytest plugin's shared server uses it)", int,
           metavar="PID"),
)


SCHEMA_HELP = """Print the JSON Schema of scenario files. Editors complete and check scenario files with it:
vendors, operations (the SDK's method names and the operationIds) and error codes are enums.

The schema ships inside the package (emulator/scenario.schema.json). To wire it to the YAML language server
(VS Code's YAML extension, or any editor using yaml-language-server), either put this first line in a scenario:

    # yaml-language-server: $schema=/path/to/scenario.schema.json

(the installed file's path: python -c "from emulator import shipped; print(shipped.schema_path())")

or map it to your scenario files in the editor's settings (VS Code settings.json):

    "yaml.schemas": {"/path/to/scenario.schema.json": "scenarios/*.yaml"}

or write a copy next to your files: python -m emulator schema > scenario.schema.json"""


def _env_default(option: Option) -> Any:
    raw = os.environ.get(option.env)
    if raw is None:
        return option.default
    try:
        value = option.parse(raw)
    except ValueError as exc:
        raise SystemExit(f"error: {option.env}={raw!r}: {exc}") from None
    if option.choices and value not in option.choices:
        raise SystemExit(f"error: {option.env}={raw!r}: use one of {', '.join(option.choices)}")
    return value


def _add(parser: argparse.ArgumentParser, option: Option) -> None:
    quiet = option.default is None or option.default is False or option.default == []
    hint = f" (env {option.env})" if quiet else f" (default {option.default}; env {option.env})"
    kwargs: dict[str, Any] = {"dest": option.dest, "help": option.help + hint, "default": _env_default(option)}
    if option.switch:
        kwargs["action"] = "store_true"
    elif option.repeat:  # flags replace the variable's list rather than add to it
        kwargs.update(action="append", metavar=option.metavar, default=None)
    else:
        kwargs.update(type=option.parse, metavar=option.metavar, choices=option.choices)
    parser.add_argument(option.flag, **kwargs)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="llm-eval-emulator", description="Offline emulator of LLM-evaluation "
                                     "APIs (MKA1, Qianfan, Mistral, DigitalOcean) for tests of their SDKs.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    serve_parser = sub.add_parser("serve", help="serve every vendor and the /_emulator control API",
                                  description="Serve every vendor and the /_emulator control API. Every option "
                                              "can be set by the environment variable named after it; a flag wins.")
    for option in SERVE_OPTIONS:
        _add(serve_parser, option)
    validate_parser = sub.add_parser("validate", help="check scenario files; every mistake is reported with its line")
    validate_parser.add_argument("files", nargs="+", metavar="FILE")
    sub.add_parser("schema", help="print the JSON Schema of scenario files (for editor completion)",
                   description=SCHEMA_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    openapi_parser = sub.add_parser("openapi", help="print the OpenAPI 3.1 document of a vendor's emulated API "
                                                    "(or of the control API: `control`)")
    openapi_parser.add_argument("vendor", metavar="VENDOR")
    sub.add_parser("demo", help="tell each vendor's demo story through its official SDK (needs the SDKs)")
    return parser


def validate(args: argparse.Namespace) -> int:
    from emulator.core import scenario as scenarios
    from emulator.vendors.registry import vendors

    served = vendors()
    failed = 0
    for name in args.files:
        try:
            text = open(name, encoding="utf-8").read()
            scenarios.check(text, name, served)
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

    print(json.dumps(json_schema(vendors()), indent=2))
    return 0


def openapi(args: argparse.Namespace) -> int:
    import json

    from emulator.control.routes import control_document
    from emulator.core.openapi import vendor_document
    from emulator.core.vendor import suggest
    from emulator.vendors.registry import vendors

    served = vendors()
    if args.vendor == "control":
        print(json.dumps(control_document(), indent=2))
    elif args.vendor in served:
        print(json.dumps(vendor_document(served[args.vendor]), indent=2))
    else:
        names = [*served.names, "control"]
        print(f"error: no vendor {args.vendor!r}{suggest(args.vendor, names)}; use one of {', '.join(names)}",
              file=sys.stderr)
        return 2
    return 0


def demo(args: argparse.Namespace) -> int:
    import importlib.util

    missing = [sdk for sdk in ("meetkai_mka1", "qianfan", "mistralai", "pydo") if importlib.util.find_spec(sdk) is None]
    if missing:
        print(f"error: the demo drives each vendor's official SDK; {', '.join(missing)} missing: "
              "pip install 'llm-eval-emulator[demo]'", file=sys.stderr)
        return 2
    from emulator import demo as stories

    return stories.main()


def _exit_with(pid: int) -> None:
    """End this server when `pid` is gone, so a crashed test run never leaves it behind."""
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


def _loopback(host: str) -> bool:
    import ipaddress

    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def summary(app: Any, url: str, args: argparse.Namespace) -> list[str]:
    """The start-up lines: where, which vendors at which prefixes, what each scenario loaded, seed and clock."""
    world = app.state.world
    lines = [f"emulator {__version__} listening on {url} (clock {args.clock}, seed {args.seed})"]
    for vendor in app.state.vendors:
        lines.append(f"  {vendor.name:<13} {url}{', '.join(vendor.owns)}")
    lines.append(f"  {'control API':<13} {url}/_emulator")
    for path, name in app.state.loaded:
        ns = world.get(name)
        counts = ", ".join(f"{count} {collection}" for collection, count in ns.store.counts().items() if count)
        lines.append(f"  scenario {path} -> namespace {name!r}: seed {world.overrides[name].seed}, clock "
                     f"{ns.clock.mode}; {counts or 'no resources'}" + (f", {len(ns.faults)} fault rule(s)"
                                                                         if ns.faults else ""))
    return lines


def serve(args: argparse.Namespace) -> int:
    import logging

    import uvicorn

    from emulator.app import build_app

    if not _loopback(args.host) and not args.control_token:
        print(f"error: --host {args.host} serves other machines: give --control-token (or EMULATOR_CONTROL_TOKEN) "
              "so that only its holders can use the control API and name namespaces (see SECURITY in the docs)",
              file=sys.stderr)
        return 2
    state_dir, import_dir, export_dir = args.state_dir, vars(args)["import"], args.export_on_exit
    if state_dir and import_dir:
        print("error: --state-dir already restores its state at start: give --state-dir or --import, not both",
              file=sys.stderr)
        return 2
    if state_dir and export_dir and os.path.abspath(state_dir) == os.path.abspath(export_dir):
        print("error: --state-dir is saved as it changes: --export-on-exit to the same directory is not needed",
              file=sys.stderr)
        return 2
    try:
        app = build_app(Settings(seed=args.seed, clock_mode=args.clock), args.scenario)
    except ScenarioError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    saved: list[str] = []
    if state_dir or import_dir or export_dir:  # imported only then: a fifteenth of the start-up otherwise
        from emulator.core import persistence
        from emulator.core.statefiles import StateError

        try:
            app.state.persistence, saved = persistence.configure(
                app.state.world, app.state.vendors, __version__, state_dir=state_dir, import_dir=import_dir,
                export_dir=export_dir)
        except (StateError, OSError) as exc:
            print(f"error: the saved state cannot be used: {exc}", file=sys.stderr)
            return 2
    world = app.state.world
    world.log_requests, world.control_token = args.log_requests, args.control_token
    world.max_namespaces, world.max_body = args.max_namespaces, args.max_body
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
    tls: dict[str, str] = {}
    files = None
    if args.tls:
        from emulator.tls import make_certificates

        files = make_certificates(args.tls_ca_file)
        tls = {"ssl_certfile": str(files.cert_file), "ssl_keyfile": str(files.key_file)}
    from emulator.serving import Limits, freeze_survivors, uvicorn_config

    config = uvicorn_config(app, log_level=args.log_level, tls=tls, limits=Limits(
        keep_alive=args.keep_alive, header_timeout=args.header_timeout, max_connections=args.max_connections))
    if files is not None:
        config.load()  # reads the key into the SSL context, so the key file can go now, whatever stops us later
        files.remove_private()
    if args.log_requests:
        logging.getLogger("emulator.requests").setLevel(logging.INFO)
        if not logging.getLogger("emulator.requests").handlers:
            handler = logging.StreamHandler(sys.stderr)
            handler.setFormatter(logging.Formatter("%(message)s"))
            logging.getLogger("emulator.requests").addHandler(handler)
    server = uvicorn.Server(config)
    # SIGTERM stops the server through uvicorn's own flag, whenever it comes: before uvicorn listens for signals
    # (right after the start-up lines a script waits for), while it serves (uvicorn's handler, which raises the
    # signal again once it has stopped, landing here), or after. `serve` then returns, so what was registered to
    # run at exit (the CA file's removal) runs. Installed before the start-up lines, so no SIGTERM a reader of them
    # sends can kill the process outright; and no SystemExit from a handler, which Python ignores when the signal
    # lands in a callback (a weakref's), leaving the server running.
    signal.signal(signal.SIGTERM, lambda *_: setattr(server, "should_exit", True))
    shown = f"[{args.host}]" if ":" in args.host else args.host
    url = f"{'https' if args.tls else 'http'}://{shown}:{port}"
    print("\n".join(summary(app, url, args) + saved), flush=True)
    if files is not None:
        print(f"TLS CA certificate: {files.ca_file}", flush=True)
    if args.exit_with_pid:
        _exit_with(args.exit_with_pid)
    freeze_survivors()
    server.run(sockets=[sock])
    return 0


COMMANDS = {"serve": serve, "validate": validate, "schema": schema, "openapi": openapi, "demo": demo}


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "serve":
        for option in SERVE_OPTIONS:
            if option.repeat and getattr(args, option.dest) is None:
                setattr(args, option.dest, _env_default(option))
    try:
        return COMMANDS[args.command](args)
    except KeyboardInterrupt:  # Ctrl-C: uvicorn has already stopped; no traceback
        return 130
    except BrokenPipeError:  # the output piped into a reader that stopped early (| head): nothing to report
        sys.stderr.close()
        return 0
