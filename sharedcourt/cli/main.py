"""Command line: `python -m sharedcourt.cli COMMAND` (the Makefile calls these)."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Callable, Sequence
from typing import Any

from sharedcourt.cli import faq
from sharedcourt.errors import SharedCourtError
from sharedcourt.settings import Settings


def _run(args: argparse.Namespace) -> int:
    from sharedcourt.cli.procs import run_forever
    from sharedcourt.cli.secrets import ENV_FILE, ensure_secrets

    generated = ensure_secrets(Settings.from_env(env_file=ENV_FILE), ENV_FILE)
    if generated.keys:
        print(generated.announcement(), flush=True)
    settings = Settings.from_env(env_file=ENV_FILE)
    settings.check_secrets()
    return run_forever(settings)


def _cluster(args: argparse.Namespace) -> int:
    from sharedcourt.cli.cluster import check_cluster_settings, run_cluster
    from sharedcourt.cli.procs import train
    from sharedcourt.cli.secrets import ENV_FILE, ensure_secrets

    generated = ensure_secrets(Settings.from_env(env_file=ENV_FILE), ENV_FILE)
    if generated.keys:
        print(generated.announcement(), flush=True)
    settings = Settings.from_env(env_file=ENV_FILE)
    settings.check_secrets()
    check_cluster_settings(settings)
    return run_cluster(settings, train())


def _train(args: argparse.Namespace) -> int:
    from sharedcourt.cli.procs import train

    print(train(force=args.force))
    return 0


def _migrate(args: argparse.Namespace) -> int:
    from sharedcourt.db.migrate import upgrade

    upgrade(Settings.from_env().database_url)
    print("database at the newest revision")
    return 0


def _makemigration(args: argparse.Namespace) -> int:
    import tempfile

    from sharedcourt.db.migrate import revision, upgrade

    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/scratch.db"
        upgrade(url)
        revision(url, args.message, args.rev_id, head=args.head)
    return 0


def _with_rasa(settings: Settings, work: Callable[[Settings], int]) -> int:
    """Use the running Rasa if there is one, else start one on a free port for this command."""
    import httpx

    from sharedcourt.cli.procs import Stack, free_port, start_rasa, train

    try:
        if httpx.get(f"{settings.rasa_url}/", timeout=1.0).status_code == 200:
            return work(settings)
    except httpx.HTTPError:
        pass
    import secrets
    from dataclasses import replace

    # A Rasa only this command talks to: where no secret is configured (a fresh clone, CI), one for this run only.
    temp = replace(
        settings,
        rasa_url=f"http://127.0.0.1:{free_port()}",
        rasa_jwt_secret=settings.rasa_jwt_secret or secrets.token_urlsafe(32),
        action_server_token=settings.action_server_token or secrets.token_urlsafe(32),
    )
    stack = Stack(temp)
    print("Rasa is not running; starting it for this command …", file=sys.stderr)
    start_rasa(stack, train())
    try:
        stack.wait_healthy("rasa", f"{temp.rasa_url}/", 240)
        return work(temp)
    finally:
        stack.stop()


def _parse(args: argparse.Namespace) -> int:
    from sharedcourt.cli.understanding import describe, understand_text

    def work(settings: Settings) -> int:
        result = asyncio.run(understand_text(settings, args.text))
        print(describe(result))
        print(json.dumps(result, ensure_ascii=False))
        return 0

    return _with_rasa(Settings.from_env(), work)


def _eval_nlu(args: argparse.Namespace) -> int:
    from sharedcourt.cli import evaluation

    def work(settings: Settings) -> int:
        rasa = ["--rasa-url", settings.rasa_url, "--jwt-secret", settings.rasa_jwt_secret]
        limits = [f"--confident={settings.classify_confident}", f"--margin={settings.classify_margin}"]
        return evaluation.main(["--data", args.data, *rasa, *limits, f"--choices={settings.classify_choices}"])

    return _with_rasa(Settings.from_env(), work)


def _tune_unsure(args: argparse.Namespace) -> int:
    from sharedcourt.cli import heldout

    return heldout.main([])


def _sites_import(args: argparse.Namespace) -> int:
    from sharedcourt.cli.sites import sites_import_main

    return sites_import_main([args.file, *(["--served"] if args.served else [])])


def _site_qr_scenes(args: argparse.Namespace) -> int:
    from sharedcourt.cli.sites import site_qr_scenes_main

    return site_qr_scenes_main(["--default"] if args.default else [])


def _sites_export(args: argparse.Namespace) -> int:
    from sharedcourt.cli.sites import sites_export_main

    return sites_export_main([args.file])


def _roster(args: argparse.Namespace) -> int:
    from sharedcourt.cli import roster

    url = ["--database-url", args.database_url] if args.database_url else []
    if args.command == "roster-import":
        return roster.roster_import_main([args.file, *url, *(["--dry-run"] if args.dry_run else [])])
    if args.command == "roster-export":
        return roster.roster_export_main([args.file, *url])
    return roster.roster_seed_main([*(["--file", args.file] if args.file else []), *url])


def _staff_add(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from sharedcourt.cli.staff import staff_add

    settings = Settings.from_env()
    if args.database_url:
        settings = replace(settings, database_url=args.database_url)
    return staff_add(settings, args.username, args.role, args.scope, args.display_name)


def _wechat_menu(args: argparse.Namespace) -> int:
    from sharedcourt.channels.wechat.menu import menu
    from sharedcourt.clients.wechat import WeChatAPI
    from sharedcourt.errors import ConfigError

    settings = Settings.from_env()
    if not (settings.wechat_appid and settings.wechat_secret):
        raise ConfigError("WECHAT_APPID and WECHAT_SECRET are required")
    data = menu(settings.public_url)
    if args.dry_run:
        print(json.dumps(data, ensure_ascii=False, indent=2))
        return 0
    api = WeChatAPI(
        settings.wechat_appid, settings.wechat_secret, settings.wechat_api_base, redis_url=settings.redis_url
    )
    from wechatpy.exceptions import WeChatClientException

    try:
        result = api.create_menu_sync(data)
    except WeChatClientException as exc:
        print(f"error: WeChat answered {exc.errcode}: {exc.errmsg}", file=sys.stderr)
        return 2
    print(json.dumps(result, ensure_ascii=False))
    return 0


def _purge(args: argparse.Namespace) -> int:
    from sharedcourt.retention.schedule import run_now

    counts = asyncio.run(run_now(Settings.from_env(), dry_run=args.dry_run))
    print("（仅统计，未删除）" if args.dry_run else "已删除或匿名化过期记录：")
    print(json.dumps(counts, ensure_ascii=False))
    return 0


def _demo_data(args: argparse.Namespace) -> int:
    import datetime as dt

    from sharedcourt.cli.demo_data import demo_data

    end = dt.date.fromisoformat(args.end) if args.end else None
    return demo_data(args.database_url or Settings.from_env().database_url, args.seed, end, args.remove)


def _add_later_commands(sub: Any) -> None:
    """demo-data and the 普法 knowledge base's commands."""
    p = sub.add_parser("demo-data", help="add a synthetic month to the console's data (marked), or --remove it")
    p.add_argument("--remove", action="store_true", help="delete exactly the demo data")
    p.add_argument("--seed", type=int, default=2026, help="the same seed gives the same month")
    p.add_argument("--end", default="", help="the month's last day, YYYY-MM-DD (default: yesterday)")
    p.add_argument("--database-url")
    p.set_defaults(func=_demo_data)
    faq.add_commands(sub)


def build_parser() -> argparse.ArgumentParser:
    """Every subcommand the Makefile and developers use, with its arguments."""
    parser = argparse.ArgumentParser(prog="sharedcourt", description="Shared Court front door")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("run", help="migrate, train if needed, start every process").set_defaults(func=_run)
    sub.add_parser("cluster", help="replicas of every role behind haproxy (PostgreSQL, Redis)").set_defaults(
        func=_cluster
    )
    p = sub.add_parser("train", help="train the Rasa model if its inputs changed")
    p.add_argument("--force", action="store_true")
    p.set_defaults(func=_train)
    sub.add_parser("migrate", help="upgrade the database to the newest revision").set_defaults(func=_migrate)
    p = sub.add_parser("makemigration", help="autogenerate an Alembic revision")
    p.add_argument("-m", "--message", required=True)
    p.add_argument("--rev-id", required=True)
    p.add_argument("--head", default="0001@head")
    p.set_defaults(func=_makemigration)
    p = sub.add_parser("parse", help="what the assistant understands from one message (JSON)")
    p.add_argument("text")
    p.set_defaults(func=_parse)
    p = sub.add_parser("eval-nlu", help="evaluate dispute classification on a text,code CSV")
    p.add_argument("--data", required=True)
    p.set_defaults(func=_eval_nlu)
    p = sub.add_parser("tune-unsure", help="figures on the held-out dev split and the thresholds meeting the goals")
    p.set_defaults(func=_tune_unsure)
    p = sub.add_parser("sites-import", help="import the site registry from CSV (all or nothing)")
    p.add_argument("file")
    p.add_argument("--served", action="store_true", help="only the sites of SERVED_CITIES")
    p.set_defaults(func=_sites_import)
    p = sub.add_parser("site-qr-scenes", help="list every site's WeChat QR scene value (CSV on stdout)")
    p.add_argument("--default", action="store_true", help="the committed default registry, not the database")
    p.set_defaults(func=_site_qr_scenes)
    p = sub.add_parser("sites-export", help="export the site registry to CSV")
    p.add_argument("file")
    p.set_defaults(func=_sites_export)
    p = sub.add_parser("staff-add", help="create a console account (password from PASSWORD or a prompt)")
    p.add_argument("--username", required=True)
    p.add_argument("--role", required=True, help="admin, dispatcher, judge, mediator, lawyer or auditor")
    p.add_argument("--scope", default="", help="a site key or a county code; empty for admin and auditor")
    p.add_argument("--display-name", default="")
    p.add_argument("--database-url")
    p.set_defaults(func=_staff_add)
    p = sub.add_parser("roster-import", help="replace the duty roster from CSV (all or nothing)")
    p.add_argument("file")
    p.add_argument("--dry-run", action="store_true")
    p = sub.add_parser("roster-export", help="export the duty roster to CSV")
    p.add_argument("file")
    p = sub.add_parser("roster-seed", help="fill an empty duty roster from the roster YAML (the sample by default)")
    p.add_argument("--file", default="")
    for name in ("roster-import", "roster-export", "roster-seed"):
        sub.choices[name].add_argument("--database-url")
        sub.choices[name].set_defaults(func=_roster)
    p = sub.add_parser("wechat-menu", help="create the Official Account menu through the WeChat API")
    p.add_argument("--dry-run", action="store_true", help="print the menu JSON without calling the API")
    p.set_defaults(func=_wechat_menu)
    p = sub.add_parser("purge", help="delete or anonymise records past their retention period")
    p.add_argument("--dry-run", action="store_true", help="count what would go, change nothing")
    p.set_defaults(func=_purge)
    _add_later_commands(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one subcommand; our typed errors become `error: ...` on stderr and exit code 2."""
    args = build_parser().parse_args(argv)
    try:
        code: int = args.func(args)
    except SharedCourtError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return code


if __name__ == "__main__":
    sys.exit(main())
