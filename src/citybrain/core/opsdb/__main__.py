"""Developer commands for the ops database: ``python -m citybrain.core.opsdb --help``."""

from __future__ import annotations

import argparse
import sys

from citybrain.core.opsdb.migrate import current_revision, head_revision, make_revision, upgrade


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m citybrain.core.opsdb")
    commands = parser.add_subparsers(dest="command", required=True)
    revision = commands.add_parser("revision", help="write a new migration from the models")
    revision.add_argument("-m", "--message", required=True)
    revision.add_argument("--empty", action="store_true", help="no autogenerate; write it by hand")
    up = commands.add_parser("upgrade", help="upgrade a database to head")
    up.add_argument("url")
    current = commands.add_parser("current", help="show a database's revision and the head")
    current.add_argument("url")
    args = parser.parse_args(argv)

    if args.command == "revision":
        path = make_revision(args.message, autogenerate=not args.empty)
        sys.stdout.write(f"wrote {path}\n")
    elif args.command == "upgrade":
        upgrade(args.url)
        sys.stdout.write(f"at {head_revision()}\n")
    else:
        sys.stdout.write(f"database: {current_revision(args.url)}  head: {head_revision()}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
