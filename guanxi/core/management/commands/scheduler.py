from __future__ import annotations

import logging
import signal
import time
from typing import Any

from django.core.management.base import BaseCommand
from django.db import close_old_connections

from guanxi.core.schedule import SCHEDULE, schedule_tick, validate_schedule

logger = logging.getLogger("guanxi.scheduler")


class Command(BaseCommand):
    help = "Run the periodic schedule: enqueue each job when its cron expression is due."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--interval", type=float, default=15.0, help="Seconds between checks.")
        parser.add_argument(
            "--once", action="store_true", help="Check once and exit (for cron or tests)."
        )

    def handle(self, *args: Any, interval: float, once: bool, **options: Any) -> None:
        validate_schedule()
        stopping = False

        def stop(signum: int, frame: Any) -> None:
            nonlocal stopping
            stopping = True

        if not once:
            signal.signal(signal.SIGTERM, stop)
            signal.signal(signal.SIGINT, stop)
        self.stdout.write(
            f"scheduler: {len(SCHEDULE)} jobs: "
            + ", ".join(f"{j.name} [{j.cron}]" for j in SCHEDULE)
        )
        while not stopping:
            try:
                fired = schedule_tick()
            except Exception:
                # A database or queue outage must not end the scheduler: the slot was not
                # claimed, so the next tick fires it once the outage is over.
                if once:
                    raise
                logger.exception("scheduler: tick failed; retrying in %s s", interval)
                close_old_connections()
                fired = []
            for name in fired:
                self.stdout.write(f"scheduler: enqueued {name}")
            if once:
                break
            deadline = time.monotonic() + interval
            while not stopping and time.monotonic() < deadline:  # wake promptly on SIGTERM
                time.sleep(min(0.5, interval))
