from __future__ import annotations

import signal
import time
from typing import Any

from django.core.management.base import BaseCommand

from guanxi.core.schedule import SCHEDULE, schedule_tick, validate_schedule


class Command(BaseCommand):
    help = "Run the periodic schedule: enqueue each job when its cron expression is due."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--interval", type=float, default=15.0, help="Seconds between checks.")
        parser.add_argument("--once", action="store_true", help="Check once and exit (for cron or tests).")

    def handle(self, *args: Any, interval: float, once: bool, **options: Any) -> None:
        validate_schedule()
        stopping = False

        def stop(signum: int, frame: Any) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        self.stdout.write(f"scheduler: {len(SCHEDULE)} jobs: " + ", ".join(f"{j.name} [{j.cron}]" for j in SCHEDULE))
        while not stopping:
            for name in schedule_tick():
                self.stdout.write(f"scheduler: enqueued {name}")
            if once:
                break
            time.sleep(interval)
