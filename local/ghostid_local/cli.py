"""The `ghostid` command (PRODUCT §8, §12, §13): sites, members, users, sessions, API keys, webhooks, NDJSON
import and export."""

from __future__ import annotations

import argparse
import getpass
import signal
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import IO, TYPE_CHECKING, TextIO

from botocore.exceptions import EndpointConnectionError
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

    site = commands.add_parser("site", help="register and manage sites").add_subparsers(
        dest="action", required=True
    )
    create = site.add_parser("create", help="register a site (refuses an id that exists)")
    create.add_argument("--site-id", type=int, required=True)
    create.add_argument("--domain", required=True)
    create.add_argument("--name", default="")
    create.add_argument(
        "--extra-domain", action="append", default=[], help="another domain the tracker may send from"
    )
    create.add_argument(
        "--timezone", default="UTC", help="IANA time zone of the site's reports (default UTC)"
    )
    create.add_argument(
        "--inactive", action="store_true", help="registered, but the collector refuses events"
    )
    site.add_parser("list", help="every registered site")
    show = site.add_parser("show", help="one site's settings")
    show.add_argument("--site-id", type=int, required=True)
    update = site.add_parser(
        "update", help="change a site's settings (a new time zone or lead rules rebuilds its rollups)"
    )
    update.add_argument("--site-id", type=int, required=True)
    update.add_argument("--domain")
    update.add_argument("--name")
    update.add_argument("--extra-domain", action="append", help="replaces the extra domains (repeat it)")
    update.add_argument("--no-extra-domains", action="store_true", help="removes every extra domain")
    update.add_argument("--timezone", help="IANA time zone, e.g. Europe/Berlin")
    update.add_argument("--high-intent-pages", help="comma-separated paths, each matching itself and below")
    update.add_argument("--pageview-weight", type=int, help="points per pageview of a high-intent page")
    update.add_argument("--custom-event-weight", type=int, help="points per custom event")
    update.add_argument("--identified-weight", type=int, help="points once the visitor is identified")
    update.add_argument("--threshold", type=int, help="score at which a visitor is a hot lead")
    update.add_argument("--active", choices=["yes", "no"], help="whether the collector takes its events")

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

    user = commands.add_parser("user", help="people who sign in").add_subparsers(dest="action", required=True)
    for action, text in (("create", "create a user"), ("set-password", "give a user a new password")):
        sub = user.add_parser(action, help=text)
        sub.add_argument("--email", required=True)
        sub.add_argument(
            "--password-stdin",
            action="store_true",
            help="read the password from standard input, not a prompt",
        )

    apikey = commands.add_parser("apikey", help="API keys for programs").add_subparsers(
        dest="action", required=True
    )
    for action, text in (
        ("create", "create a key for one site; prints it once"),
        ("list", "a site's keys: name, created, last used"),
        ("revoke", "revoke a site's key by name (at once)"),
    ):
        sub = apikey.add_parser(action, help=text)
        sub.add_argument("--site", type=int, required=True)
        if action != "list":
            sub.add_argument("--name", required=True)

    _webhook_parser(commands)

    rollups = commands.add_parser("rollups", help="rollup maintenance").add_subparsers(
        dest="action", required=True
    )
    rebuild = rollups.add_parser("rebuild", help="recompute a site's rollups from its raw events")
    rebuild.add_argument("--site", type=int, required=True)

    exporter = commands.add_parser("export", help="export a site's events as NDJSON (the import format)")
    exporter.add_argument("--site", type=int, required=True)
    exporter.add_argument("--from", dest="from_day", required=True, help="first local date, YYYY-MM-DD")
    exporter.add_argument("--to", dest="to_day", required=True, help="last local date, YYYY-MM-DD")
    exporter.add_argument("file", nargs="?", default="-", help="where to write (default: standard output)")

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


def main(
    argv: Sequence[str] | None = None,
    out: TextIO = sys.stdout,
    err: TextIO = sys.stderr,
    stdin: TextIO = sys.stdin,
) -> int:
    args = _parser().parse_args(argv)
    if out is sys.__stdout__ and hasattr(signal, "SIGPIPE"):
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # `ghostid ... | head` ends quietly, as `ls` does
    if args.stack:
        target.use_stack(args.stack)
    else:
        target.use_local(args.endpoint)
    try:
        if args.command == "user":
            return _user(args, out, stdin)
        if args.command == "apikey":
            return _apikey(args, out)
        return _run(args, out, err)
    except UserError as error:
        print(f"ghostid: {error}", file=err)
        return 2
    except EndpointConnectionError as error:
        print(f"ghostid: no DynamoDB at {error.kwargs.get('endpoint_url')}: {_NO_ENDPOINT}", file=err)
        return 2


_NO_ENDPOINT = "start `make serve` (with the same DDB_PORT), or give --endpoint / DDB_ENDPOINT, or --stack"


class UserError(Exception):
    pass


def _run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from ghostid.dal import sites as sites_dal
    from ghostid.logic import auth
    from ghostid.logic.signin import normalize_email

    if args.command == "site":
        _site_command(args, out)
    elif args.command == "member":
        _require_site(args.site)
        if args.action == "add":
            sites_dal.add_member(args.site, normalize_email(args.user))
            print(f"{args.user} can now read site {args.site}", file=out)
        else:
            sites_dal.remove_member(args.site, normalize_email(args.user))
            print(f"{args.user} can no longer read site {args.site}", file=out)
    elif args.command == "session":
        if args.hours <= 0:
            raise UserError("--hours must be positive")
        print(auth.create_login_session(normalize_email(args.user), args.hours), file=out)
    elif args.command == "rollups":
        from ghostid import timeutil
        from ghostid.logic.rebuild import rebuild_site

        site = _require_site(args.site)
        print(rebuild_site(args.site, site, timeutil.now_ms()), file=out)
    elif args.command == "export":
        _require_site(args.site)
        print(_export(args), file=sys.stderr)
    elif args.command == "webhook":
        _require_site(args.site)
        _webhook(args, out)
    elif args.command == "import":
        _require_site(args.site)
        print(_import(args.site, args.file, err), file=out)
    return 0


def _site_command(args: argparse.Namespace, out: TextIO) -> None:
    from ghostid.dal import sites as sites_dal
    from ghostid.models.sites import Site
    from pydantic import ValidationError

    try:
        if args.action == "create":
            site = Site(
                site_id=args.site_id,
                domain=args.domain,
                name=args.name,
                extra_domains=tuple(args.extra_domain),
                active=not args.inactive,
                timezone=args.timezone,
            )
            if not sites_dal.create_site(site):
                raise UserError(
                    f"site {args.site_id} exists already: change it with "
                    f"`ghostid site update --site-id {args.site_id} ...` (see `ghostid site show`)"
                )
            print(f"site {args.site_id} ({args.domain}, {args.timezone}) registered", file=out)
        elif args.action == "list":
            for site in sites_dal.list_sites():
                print(f"{site.site_id}\t{site.domain}\t{site.timezone}\t{site.name}", file=out)
        elif args.action == "show":
            print(_require_site(args.site_id).model_dump_json(indent=2), file=out)
        else:
            _update_site(args, out)
    except ValidationError as error:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in error.errors())
        raise UserError(problems) from None


def _update_site(args: argparse.Namespace, out: TextIO) -> None:
    from ghostid import timeutil
    from ghostid.dal import sites as sites_dal
    from ghostid.logic.rebuild import rebuild_site
    from ghostid.models.sites import LeadRules, Site

    site = _require_site(args.site_id)
    changes: dict[str, object] = {
        k: v
        for k, v in {"domain": args.domain, "name": args.name, "timezone": args.timezone}.items()
        if v is not None
    }
    if args.extra_domain is not None or args.no_extra_domains:
        changes["extra_domains"] = tuple(args.extra_domain or ())
    if args.active is not None:
        changes["active"] = args.active == "yes"
    rules = {
        "high_intent_pages": tuple(p.strip() for p in args.high_intent_pages.split(",") if p.strip())
        if args.high_intent_pages is not None
        else None,
        "pageview_weight": args.pageview_weight,
        "custom_event_weight": args.custom_event_weight,
        "identified_weight": args.identified_weight,
        "threshold": args.threshold,
    }
    rule_changes = {k: v for k, v in rules.items() if v is not None}
    if rule_changes:
        changes["lead_rules"] = LeadRules.model_validate({**site.lead_rules.model_dump(), **rule_changes})
    updated = Site.model_validate({**site.model_dump(), **changes})
    sites_dal.put_site(updated)
    print(f"site {updated.site_id} updated", file=out)
    if updated.timezone != site.timezone or updated.lead_rules != site.lead_rules:
        what = "time zone" if updated.timezone != site.timezone else "lead rules"
        print(f"its {what} changed: rebuilding its rollups from its events...", file=out)
        print(rebuild_site(updated.site_id, updated, timeutil.now_ms()), file=out)


def _user(args: argparse.Namespace, out: TextIO, stdin: TextIO) -> int:
    from ghostid import timeutil
    from ghostid.dal.users import UserExists
    from ghostid.logic import users

    password = _password(stdin) if args.password_stdin else _prompted_password()
    try:
        if args.action == "create":
            user = users.create_user(args.email, password, timeutil.now_ms())
            print(f"user {user.email} created; add them to sites with: ghostid member add", file=out)
        elif users.set_password(args.email, password, timeutil.now_ms()):
            print(f"new password set for {args.email.strip().lower()}", file=out)
        else:
            raise UserError(f"no user {args.email}; create it with: ghostid user create --email {args.email}")
    except ValueError as error:
        raise UserError(str(error)) from None
    except UserExists:
        raise UserError(f"user {args.email} exists; use: ghostid user set-password") from None
    return 0


def _password(stdin: TextIO) -> str:
    return stdin.readline().rstrip("\r\n")


def _prompted_password() -> str:
    first = getpass.getpass("Password: ")
    if getpass.getpass("Repeat it: ") != first:
        raise UserError("the passwords differ")
    return first


def _apikey(args: argparse.Namespace, out: TextIO) -> int:
    from ghostid import timeutil
    from ghostid.logic import apikeys
    from pydantic import ValidationError

    _require_site(args.site)
    if args.action == "create":
        try:
            print(apikeys.create_key(args.site, args.name, timeutil.now_ms()), file=out)
        except ValidationError:
            raise UserError("a key's name has 1 to 64 printable characters, no spaces") from None
        except apikeys.KeyNameTaken:
            raise UserError(f"site {args.site} has a live key named {args.name}; revoke it first") from None
    elif args.action == "list":
        rows = [("NAME", "CREATED", "LAST USED", "REVOKED")]
        rows += [
            (k.name, _when(k.created_at), _when(k.last_used), _when(k.revoked_at))
            for k in apikeys.list_keys(args.site)
        ]
        widths = [max(len(row[i]) for row in rows) for i in range(4)]
        for row in rows:
            print(
                "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip(),
                file=out,
            )
    elif (count := apikeys.revoke_key(args.site, args.name, timeutil.now_ms())) == 0:
        raise UserError(f"site {args.site} has no live key named {args.name}")
    else:
        print(
            f"revoked {count} key{'s' if count > 1 else ''} named {args.name} of site {args.site}", file=out
        )
    return 0


def _when(epoch_ms: int | None) -> str:
    if epoch_ms is None:
        return "-"
    return datetime.fromtimestamp(epoch_ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%SZ")


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


def _export(args: argparse.Namespace) -> str:
    """Follows the export's cursors (GET /api/export's pages) into a file or standard output."""
    from ghostid import timeutil
    from ghostid.errors import InvalidParameter
    from ghostid.logic.export import export_page
    from ghostid.models.people import ExportQuery
    from pydantic import ValidationError

    try:
        query = ExportQuery.model_validate({"siteId": args.site, "from": args.from_day, "to": args.to_day})
    except ValidationError as error:
        raise UserError("--from and --to must be dates YYYY-MM-DD") from error
    handle = sys.stdout if args.file == "-" else open(args.file, "w", encoding="utf-8")  # noqa: SIM115
    total, pages = 0, 0
    progress = sys.stderr.isatty() and handle is not sys.stdout
    try:
        while True:
            try:
                page = export_page(query, timeutil.now_ms())
            except InvalidParameter as error:
                raise UserError(error.message) from None
            handle.write(page.body)
            total, pages = total + page.events, pages + 1
            if progress:
                print(f"\rexported {total:,} events ({pages} pages)", end="", file=sys.stderr, flush=True)
            if page.next_cursor is None:
                break
            query = query.model_copy(update={"cursor": page.next_cursor})
    finally:
        if handle is not sys.stdout:
            handle.close()
    if progress:
        print(file=sys.stderr)
    return f"{total} events exported in {pages} part{'s' if pages != 1 else ''}"


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
