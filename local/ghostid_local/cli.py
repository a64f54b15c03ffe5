"""The `ghostid` command (PRODUCT §8): sites, members, login sessions and NDJSON import."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import IO, TYPE_CHECKING, TextIO

from ghostid_local import target
from ghostid_local.progress import ProgressBar

if TYPE_CHECKING:
    from ghostid.models.sites import Site


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ghostid", description="Manage a Ghost ID analytics stack.")
    parser.add_argument("--endpoint", help="DynamoDB endpoint (default: $DDB_ENDPOINT or the local stack)")
    parser.add_argument("--stack", help="use a deployed CloudFormation stack instead of the local one")
    commands = parser.add_subparsers(dest="command", required=True)

    site = commands.add_parser("site", help="register sites").add_subparsers(dest="action", required=True)
    create = site.add_parser("create", help="register a site")
    create.add_argument("--site-id", type=int, required=True)
    create.add_argument("--domain", required=True)
    create.add_argument("--name", default="")
    create.add_argument(
        "--extra-domain", action="append", default=[], help="another domain the tracker may send from"
    )
    create.add_argument(
        "--inactive", action="store_true", help="registered, but the collector refuses events"
    )

    member = commands.add_parser("member", help="grant or revoke access").add_subparsers(
        dest="action", required=True
    )
    for action in ("add", "remove"):
        sub = member.add_parser(action, help=f"{action} a member")
        sub.add_argument("--site", type=int, required=True)
        sub.add_argument("--user", required=True)

    session = commands.add_parser("session", help="login sessions").add_subparsers(
        dest="action", required=True
    )
    login = session.add_parser("create", help="create a login session; prints only the cookie token")
    login.add_argument("--user", required=True)
    login.add_argument("--hours", type=float, default=24 * 7)

    rollups = commands.add_parser("rollups", help="rollup maintenance").add_subparsers(
        dest="action", required=True
    )
    rebuild = rollups.add_parser("rebuild", help="recompute a site's rollups from its raw events")
    rebuild.add_argument("--site", type=int, required=True)

    importer = commands.add_parser("import", help="import NDJSON events")
    importer.add_argument("--site", type=int, required=True)
    importer.add_argument("file", help="NDJSON file, or - for standard input")
    return parser


def main(argv: Sequence[str] | None = None, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    args = _parser().parse_args(argv)
    if args.stack:
        target.use_stack(args.stack)
    else:
        target.use_local(args.endpoint)
    try:
        return _run(args, out, err)
    except UserError as error:
        print(f"ghostid: {error}", file=err)
        return 2


class UserError(Exception):
    pass


def _run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from ghostid.dal import sites as sites_dal
    from ghostid.logic import auth
    from ghostid.models.sites import Site

    if args.command == "site":
        site = Site(
            site_id=args.site_id,
            domain=args.domain,
            name=args.name,
            extra_domains=tuple(args.extra_domain),
            active=not args.inactive,
        )
        sites_dal.put_site(site)
        print(f"site {args.site_id} ({args.domain}) registered", file=out)
    elif args.command == "member":
        _require_site(args.site)
        if args.action == "add":
            sites_dal.add_member(args.site, args.user)
            print(f"{args.user} can now read site {args.site}", file=out)
        else:
            sites_dal.remove_member(args.site, args.user)
            print(f"{args.user} can no longer read site {args.site}", file=out)
    elif args.command == "session":
        if args.hours <= 0:
            raise UserError("--hours must be positive")
        print(auth.create_login_session(args.user, args.hours), file=out)
    elif args.command == "rollups":
        from ghostid import timeutil
        from ghostid.logic.rebuild import rebuild_site

        site = _require_site(args.site)
        print(rebuild_site(args.site, site.lead_rules, timeutil.now_ms()), file=out)
    elif args.command == "import":
        _require_site(args.site)
        print(_import(args.site, args.file, err), file=out)
    return 0


def _require_site(site_id: int) -> Site:
    from ghostid.dal import sites as sites_dal

    site = sites_dal.get_site(site_id)
    if site is None:
        raise UserError(
            f"site {site_id} does not exist; create it with: ghostid site create --site-id {site_id} ..."
        )
    return site


def _import(site_id: int, path: str, err: TextIO) -> str:
    """Checks the whole input (every bad line is printed as it is found), then writes it; a progress bar
    on stderr when that is a terminal."""
    from ghostid.logic.importer import ImportRejected, InputChanged, import_file

    bar = ProgressBar(err)
    try:
        with _open_input(path) as handle:
            result = import_file(site_id, handle, bar.update, lambda error: bar.line(f"  {error}"))
    except OSError as error:
        raise UserError(f"cannot read {path}: {error.strerror}") from None
    except ImportRejected as rejected:
        raise UserError(f"{rejected} (every bad line is listed above)") from None
    except InputChanged as changed:
        raise UserError(f"{changed}; import it again once it is complete") from None
    finally:
        bar.close()
    return f"{result.written} events written ({result.already_present} already present)"


def _open_input(path: str) -> IO[bytes]:
    """The file, or standard input spooled to a temporary file (the import reads its input twice)."""
    from ghostid.logic.importer import spool

    if path == "-":
        return spool(iter(lambda: sys.stdin.buffer.read(1 << 20), b""))
    return open(path, "rb")


if __name__ == "__main__":
    raise SystemExit(main())
