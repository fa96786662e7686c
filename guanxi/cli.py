"""The ``guanxi`` command: demo, serve, worker, scheduler, createuser, token, and every manage.py
verb (``guanxi migrate``, ``guanxi shell`` …)."""

from __future__ import annotations

import os
import sys

DEMO_USERS_HELP = """
Guanxi demo is starting on http://127.0.0.1:{port}/
Sign in with one of these users (password: {password}):
  admin     administrator (all data, settings, audit trail)
  manager   sales manager (the sales department and below)
  rep1      sales rep, East team (own records)
  rep2      sales rep, North team (own records)
  agent     service agent (customer service centre)
  analyst   analyst (reads everything)
Data is kept in {data_dir}; run `make demo` again to reuse it. Stop with Ctrl+C.
"""


def _django_setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "guanxi.settings")
    import django

    django.setup()


def _manage(*argv: str) -> None:
    from django.core.management import execute_from_command_line

    execute_from_command_line(["guanxi", *argv])


def _gunicorn(bind: str) -> None:
    workers = os.environ.get("WEB_CONCURRENCY", "2")
    args = [
        sys.executable,
        "-m",
        "gunicorn",
        "guanxi.wsgi:application",
        "--bind",
        bind,
        "--workers",
        workers,
        "--threads",
        os.environ.get("GUANXI_THREADS", "4"),
        "--access-logfile",
        "-",
        "--timeout",
        "60",
    ]
    os.execv(sys.executable, args)


def demo(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DEBUG", "false")
    port = os.environ.get("PORT", "8000")
    from django.conf import settings

    _django_setup()
    settings.DATA_DIR.mkdir(parents=True, exist_ok=True)
    if os.environ.get("DATABASE_URL") and "--force" not in (argv or []):
        # The demo writes users with a published password: never into a real database by accident.
        raise SystemExit(
            "guanxi demo: DATABASE_URL is set; the demo would add users with the published demo "
            "password to that database. Unset DATABASE_URL, or run `guanxi demo --force`."
        )
    _manage("migrate", "--noinput", "-v", "0")
    _manage("createcachetable")
    _manage("collectstatic", "--noinput", "-v", "0")
    _manage("demo_load")
    print(
        DEMO_USERS_HELP.format(
            port=port, password=settings.GUANXI_DEMO_PASSWORD, data_dir=settings.DATA_DIR
        ),
        flush=True,
    )
    # The demo binds to the loopback interface only: it has a published password.
    _gunicorn(f"127.0.0.1:{port}")


LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "[::1]", "::1"}


def serve() -> None:
    _django_setup()
    from django.conf import settings

    bind = os.environ.get("GUANXI_BIND", f"127.0.0.1:{os.environ.get('PORT', '8000')}")
    host = bind.rsplit(":", 1)[0] if ":" in bind else bind
    if host not in LOOPBACK_HOSTS and settings.SECRET_KEY == settings.DEFAULT_SECRET_KEY:
        # Reachable from other machines with the key from the source tree: anyone could forge
        # sessions. The settings check alone misses this when ALLOWED_HOSTS stays local.
        raise SystemExit(
            f"guanxi serve: refusing to listen on {bind} with the built-in SECRET_KEY. "
            "Set SECRET_KEY (see docs/operations.md)."
        )
    _gunicorn(bind)


def worker(argv: list[str]) -> None:
    _django_setup()
    from django.conf import settings

    if settings.REDIS_URL:
        # --with-scheduler runs tasks enqueued for later (run_after) when they fall due.
        _manage(
            "rqworker", "default", "--job-class", "django_tasks_rq.Job", "--with-scheduler", *argv
        )
    else:
        _manage("db_worker", *argv)


USAGE = """usage: guanxi <command> [options]

Guanxi (关系): an open-source CRM.

commands:
  demo        migrate, load the demo data and serve on http://127.0.0.1:$PORT (default 8000)
  serve       serve with gunicorn on $GUANXI_BIND (default 127.0.0.1:$PORT)
  worker      run the background-job worker (RQ when REDIS_URL is set, else the database queue)
  scheduler   enqueue the periodic jobs when they are due (--once: check once and exit)
  createuser  create a user: guanxi createuser USERNAME --role ROLE [--department CODE]
  token       create an API token for a user and print it once: guanxi token USERNAME
  import      import a CSV or XLSX file: guanxi import customers|contacts FILE [--dry-run]
              [--policy skip|update|create] [--on-error all|skip] [--map COLUMN=FIELD]
              [--errors REPORT.csv] [--user USERNAME]; exit 0 all rows, 3 rows with errors,
              1 nothing imported
  calendar_seed
              (re)seed the holiday and adjusted-working-day table from chinese-calendar:
              [--year YEAR ...] [--overwrite-edited]; later years are entered by an administrator
  help        this text; `guanxi help <command>` shows a command's options

Every other command goes to Django's manage.py: guanxi migrate, guanxi check, guanxi shell, …
Settings come from the environment (DATABASE_URL, REDIS_URL, SECRET_KEY, ALLOWED_HOSTS,
GUANXI_DATA_DIR, …); see docs/operations.md.
"""


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    command = argv[0] if argv else "help"
    rest = argv[1:]
    if command == "demo":
        demo(rest)
    elif command == "serve":
        serve()
    elif command == "worker":
        worker(rest)
    elif command == "scheduler":
        _django_setup()
        _manage("scheduler", *rest)
    elif command == "import":
        # "import" is a Python keyword, so the management command is import_file.
        _django_setup()
        _manage("import_file", *rest)
    elif command in {"help", "-h", "--help"} and rest:
        _django_setup()
        _manage("help", *rest)
    elif command in {"help", "-h", "--help"}:
        print(USAGE, end="")
    else:
        _django_setup()
        _manage(command, *rest)


if __name__ == "__main__":
    main()
