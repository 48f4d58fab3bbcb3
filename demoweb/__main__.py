"""Command line of the demo web: ``python -m demoweb serve ...`` and ``python -m demoweb truth``.

``serve`` runs in the foreground (``make demo-web``, the test fixture, the load test) and
writes ``host:port`` to ``--ready-file`` once listening, so a parent process that asked for
``--port 0`` learns the port without parsing output. ``truth`` writes the ground truth Parquet
for the same parameters.
"""

from __future__ import annotations

import argparse
import errno
import os
import sys
import tempfile
from pathlib import Path

EXIT_USAGE = 2


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a number >= 1, got {value}")
    return value


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a port number, got {text!r}") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"port must be 0-65535 (0 = any free port), got {value}")
    return value


def _share(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number 0.0-1.0, got {text!r}") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"expected a share between 0.0 and 1.0, got {value}")
    return value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seconds, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected seconds >= 0, got {value}")
    return value


def _add_web_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--seed", type=int, default=1, help="generator seed (default 1)")
    parser.add_argument("--sites", type=_positive_int, default=12, help="publisher sites (12)")
    parser.add_argument("--stories", type=_positive_int, default=300, help="original stories (300)")
    parser.add_argument("--day", type=_positive_int, default=1, help="day of the web (1)")
    parser.add_argument(
        "--heavy",
        action="store_true",
        help="pages as heavy as real ones (scripts, styles, mega menu, comments, teasers)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m demoweb",
        description="A deterministic news ecosystem on 127.0.0.1, reached as an HTTP proxy.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", help="serve the demo web in the foreground")
    _add_web_options(serve)
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (127.0.0.1)")
    serve.add_argument("--port", type=_port, default=8800, help="port (8800; 0 = any free port)")
    serve.add_argument(
        "--faults", type=_share, default=0.0, help="share of URLs that fail (0.0-1.0; default 0)"
    )
    serve.add_argument(
        "--fault-delay", type=_seconds, default=2.0, help="seconds a slow URL waits (2.0)"
    )
    serve.add_argument("--ready-file", type=Path, help="write host:port here once listening")
    serve.add_argument("--truth", type=Path, help="also write the ground truth Parquet here")

    truth = commands.add_parser("truth", help="write the ground truth Parquet and exit")
    _add_web_options(truth)
    truth.add_argument("--out", type=Path, required=True, help="Parquet file to write")
    return parser


def write_atomically(path: Path, text: str) -> None:
    """Write `text` so a reader polling for `path` never sees it half written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _write_truth(web: object, out: Path) -> int:
    from demoweb.truth import write_truth

    out.parent.mkdir(parents=True, exist_ok=True)
    return write_truth(web, out)


def _make_web(args: argparse.Namespace) -> object:
    from demoweb import DemoWeb

    return DemoWeb(
        seed=args.seed, sites=args.sites, stories=args.stories, day=args.day, heavy=args.heavy
    )


def _example_host(web: object) -> str:
    hosts = sorted(getattr(web, "hosts", []) or [])
    return hosts[0] if hosts else "example.test"


def cmd_serve(args: argparse.Namespace, web: object) -> int:
    from demoweb.server import DemoWebServer

    if args.truth is not None:
        rows = _write_truth(web, args.truth)
        print(f"Ground truth: {rows} rows -> {args.truth}", flush=True)
    server = DemoWebServer(
        web, host=args.host, port=args.port, faults=args.faults, fault_delay=args.fault_delay
    )

    def on_ready(srv: DemoWebServer) -> None:
        faults = f", faults {args.faults:g}" if args.faults else ""
        faults += ", heavy" if args.heavy else ""
        print(
            f"Demo web: {args.sites} sites, {args.stories} stories "
            f"(seed {args.seed}, day {args.day}{faults}) at proxy {srv.proxy_url} "
            f"-- e.g. curl -x {srv.proxy_url} http://{_example_host(web)}/",
            flush=True,
        )
        if args.ready_file is not None:
            write_atomically(args.ready_file, f"{srv.host}:{srv.port}\n")

    try:
        server.serve_forever(on_ready=on_ready)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            print(
                f"error: port {args.port} on {args.host} is already in use; "
                "pick another with --port (0 = any free port)",
                file=sys.stderr,
            )
        else:
            print(f"error: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        pass
    print("Demo web stopped.", flush=True)
    return 0


def cmd_truth(args: argparse.Namespace, web: object) -> int:
    rows = _write_truth(web, args.out)
    print(f"Ground truth: {rows} rows -> {args.out}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        web = _make_web(args)  # the web validates its own parameters
    except ValueError as exc:
        parser.error(f"bad demo web parameters: {exc}")  # exits 2, like other usage errors
    if args.command == "serve":
        return cmd_serve(args, web)
    return cmd_truth(args, web)


if __name__ == "__main__":
    sys.exit(main())
