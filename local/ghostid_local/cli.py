"""The `ghostid` command (PRODUCT §8): sites, members, login sessions, NDJSON import and webhooks."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import IO, TYPE_CHECKING, TextIO

from ghostid_local import target
from ghostid_local.progress import ProgressBar

if TYPE_CHECKING:
    from ghostid.models.alerts import Delivery
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

    _webhook_parser(commands)

    rollups = commands.add_parser("rollups", help="rollup maintenance").add_subparsers(
        dest="action", required=True
    )
    rebuild = rollups.add_parser("rebuild", help="recompute a site's rollups from its raw events")
    rebuild.add_argument("--site", type=int, required=True)

    importer = commands.add_parser("import", help="import NDJSON events")
    importer.add_argument("--site", type=int, required=True)
    importer.add_argument("file", help="NDJSON file, or - for standard input")
    return parser


def _webhook_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    webhook = commands.add_parser("webhook", help="lead alerts: webhooks and their deliveries")
    actions = webhook.add_subparsers(dest="action", required=True)
    add = actions.add_parser("add", help="add a webhook; prints its id and signing secret (shown once)")
    add.add_argument("--site", type=int, required=True)
    add.add_argument("--url", required=True, help="https URL that receives the POSTs")
    add.add_argument("--events", default="lead.hot,visitor.identified", help="comma-separated event types")
    actions.add_parser("list", help="the site's webhooks").add_argument("--site", type=int, required=True)
    remove = actions.add_parser("remove", help="remove a webhook (its pending deliveries are cancelled)")
    remove.add_argument("--site", type=int, required=True)
    remove.add_argument("--id", required=True)
    deliveries = actions.add_parser("deliveries", help="deliveries: status, attempts, last error, times")
    deliveries.add_argument("--site", type=int, required=True)
    deliveries.add_argument("--webhook", help="only this webhook's")
    deliveries.add_argument("--limit", type=int, default=50)


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
    elif args.command == "webhook":
        _require_site(args.site)
        _webhook(args, out)
    elif args.command == "import":
        _require_site(args.site)
        print(_import(args.site, args.file, err), file=out)
    return 0


def _webhook(args: argparse.Namespace, out: TextIO) -> None:
    from ghostid import timeutil
    from ghostid.errors import GhostIdError
    from ghostid.logic import alerts

    try:
        if args.action == "add":
            events = [e.strip() for e in args.events.split(",") if e.strip()]
            webhook, secret = alerts.add_webhook(args.site, args.url, events, timeutil.now_ms())
            print(f"webhook {webhook.webhook_id} added to site {args.site}: {webhook.url}", file=out)
            print(f"events: {', '.join(webhook.events)}", file=out)
            print(
                f"signing secret (shown only now; keep it where your receiver reads it): {secret}", file=out
            )
        elif args.action == "list":
            for hook in alerts.list_webhooks(args.site):
                created = timeutil.format_timestamp(hook.created_at_ms)
                print(f"{hook.webhook_id}  {hook.url}  {','.join(hook.events)}  created {created}", file=out)
        elif args.action == "remove":
            alerts.remove_webhook(args.site, args.id)
            print(f"webhook {args.id} removed from site {args.site}", file=out)
        else:
            if args.limit < 1:
                raise UserError("--limit must be positive")
            _print_deliveries(alerts.list_deliveries(args.site, args.webhook, args.limit), out)
    except GhostIdError as error:
        raise UserError(error.message) from None


def _print_deliveries(deliveries: Sequence[Delivery], out: TextIO) -> None:
    from ghostid.timeutil import format_timestamp

    def when(ms: int | None) -> str:
        return format_timestamp(ms) if ms else "-"

    columns = (
        "DELIVERY",
        "WEBHOOK",
        "TYPE",
        "VISITOR",
        "STATUS",
        "ATTEMPTS",
        "CREATED",
        "LAST ATTEMPT",
        "NEXT ATTEMPT",
        "FINISHED",
        "LAST ERROR",
    )
    rows = [columns]
    for d in deliveries:
        upcoming = when(d.next_attempt_at_ms) if d.status == "pending" else "-"
        rows.append(
            (
                d.delivery_id,
                d.webhook_id,
                d.type,
                d.ghost_vid,
                d.status,
                str(d.attempts),
                when(d.created_at_ms),
                when(d.last_attempt_at_ms),
                upcoming,
                when(d.finished_at_ms),
                d.last_error or "-",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(columns) - 1)]
    for row in rows:
        print(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False)) + "  " + row[-1],
            file=out,
        )


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
