from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from guanxi.core.demo.load import demo_load


class Command(BaseCommand):
    help = "Load the deterministic demo data set (idempotent)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--seed", type=int, default=20261122)

    def handle(self, *args: Any, seed: int, **options: Any) -> None:
        loaded = demo_load(seed=seed)
        self.stdout.write(
            "demo data loaded" if loaded else "demo data already present: nothing changed"
        )
