"""Open ``count`` tickets at once from as many threads and print their numbers as JSON.

Run by tests/service/test_numbers.py in a process of its own: on SQLite the race needs a database
file that several connections share (the test suite's in-memory database cannot take concurrent
writers), on PostgreSQL the test runs it in-process against the test database instead.

    python -m tests.service.ticket_race sqlite:////tmp/race.sqlite3 50
"""

from __future__ import annotations

import json
import os
import sys
import threading
from concurrent.futures import ThreadPoolExecutor


def race(count: int) -> list[str]:
    """``count`` threads wait at a barrier, then each opens a ticket for the same customer."""
    from django.db import connection

    from guanxi.accounts.models import User
    from guanxi.customers.models import Customer
    from guanxi.service.models import TicketCategory
    from guanxi.service.services import ticket_create

    agent = User.objects.get(username="race_agent")
    customer = Customer.objects.get(name="并发测试客户")
    category = TicketCategory.objects.get(code="after_sales")
    barrier = threading.Barrier(count)

    def one(index: int) -> str:
        try:
            barrier.wait(timeout=60)
            ticket = ticket_create(
                actor=agent,
                customer=customer,
                category=category,
                subject=f"并发工单 {index}",
                description="同时创建",
            )
            return ticket.number
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(one, range(count)))


def race_setup() -> None:
    from guanxi.accounts.models import User
    from guanxi.accounts.roles import Role
    from guanxi.customers.models import Customer

    agent = User.objects.create(username="race_agent", role=Role.SERVICE_AGENT)
    Customer.objects.create(name="并发测试客户", owner=agent)


def main() -> None:
    url, count = sys.argv[1], int(sys.argv[2])
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "guanxi.settings")
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    race_setup()
    print(json.dumps(race(count)))


if __name__ == "__main__":
    main()
