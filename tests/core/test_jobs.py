"""Background jobs: the database queue by default, RQ on the real Redis, the cron schedule in
Asia/Shanghai, and the ``guanxi`` command."""

from __future__ import annotations

import datetime as dt
import io
import os
import signal
import socket
import subprocess
import threading
import uuid
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection, connections, transaction
from django.utils import timezone
from django_tasks import TaskResultStatus
from django_tasks.exceptions import InvalidTaskError
from django_tasks_db.models import DBTaskResult

from guanxi.accounts.models import Department
from guanxi.accounts.services import department_create, department_delete
from guanxi.core.models import AuditEntry, ScheduleSlot
from guanxi.core.schedule import (
    CATCH_UP,
    SCHEDULE,
    ScheduledJob,
    last_slot,
    schedule_tick,
    validate_schedule,
)
from guanxi.core.tasks import recycle_bin_purge_task
from tests.conftest import skip_or_fail

ROOT = Path(__file__).resolve().parents[2]
DATABASE_TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}
REDIS_TEST_URL = "redis://127.0.0.1:6379/15"
SHANGHAI_03_15_IN_UTC = (19, 15)  # 03:15 at UTC+8 is 19:15 UTC the day before


@pytest.fixture
def database_queue(settings):
    # the legs unset REDIS_URL, but a developer's shell may have it: these tests are about
    # the database queue
    settings.TASKS = DATABASE_TASKS


def _old_deleted_department(name: str = "过期部门") -> Department:
    hq = Department.objects.filter(parent=None).first() or department_create(
        actor=None, name="总部", code="hq"
    )
    department = department_create(
        actor=None, name=name, code=f"old-{uuid.uuid4().hex[:8]}", parent=hq
    )
    department_delete(actor=None, department=department)
    Department.all_objects.filter(pk=department.pk).update(
        deleted_at=timezone.now() - dt.timedelta(days=40)
    )
    return department


# --- database queue --------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_task_enqueued_on_commit_is_run_by_the_database_worker(database_queue):
    # given an old deletion and a task enqueued when the transaction commits
    department = _old_deleted_department()
    results = []
    with transaction.atomic():
        transaction.on_commit(lambda: results.append(recycle_bin_purge_task.enqueue()))
        assert DBTaskResult.objects.count() == 0  # not before the commit
    assert DBTaskResult.objects.count() == 1
    # when the worker runs everything queued and stops
    call_command("db_worker", batch=True, startup_delay=False, interval=0, verbosity=0)
    # then the purge happened, and the result is recorded
    assert not Department.all_objects.filter(pk=department.pk).exists()
    assert AuditEntry.objects.filter(action="purge", object_id=str(department.pk)).count() == 1
    result = recycle_bin_purge_task.get_result(results[0].id)
    assert result.status == TaskResultStatus.SUCCESSFUL
    assert result.return_value == 1


@pytest.mark.django_db(transaction=True)
def test_task_is_not_enqueued_when_the_transaction_rolls_back(database_queue):
    with pytest.raises(RuntimeError), transaction.atomic():
        transaction.on_commit(recycle_bin_purge_task.enqueue)
        raise RuntimeError("the write failed")
    assert DBTaskResult.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_running_the_purge_task_twice_is_harmless(database_queue):
    department = _old_deleted_department()
    first = recycle_bin_purge_task.enqueue()
    second = recycle_bin_purge_task.enqueue()
    call_command("db_worker", batch=True, startup_delay=False, interval=0, verbosity=0)
    assert recycle_bin_purge_task.get_result(first.id).return_value == 1
    assert recycle_bin_purge_task.get_result(second.id).return_value == 0
    assert recycle_bin_purge_task.get_result(second.id).status == TaskResultStatus.SUCCESSFUL
    assert AuditEntry.objects.filter(action="purge", object_id=str(department.pk)).count() == 1


@pytest.mark.django_db(transaction=True)
def test_sessions_cleanup_task_runs_on_the_worker(database_queue, org):
    from django.contrib.sessions.models import Session

    from guanxi.accounts.models import LoginSession
    from guanxi.accounts.tasks import sessions_cleanup_task

    # given one expired and one live session, each with its login record
    expired = Session.objects.create(
        session_key="e" * 32, session_data="", expire_date=timezone.now() - dt.timedelta(hours=1)
    )
    live = Session.objects.create(
        session_key="l" * 32, session_data="", expire_date=timezone.now() + dt.timedelta(hours=1)
    )
    LoginSession.objects.create(user=org.rep, session_key=expired.session_key)
    LoginSession.objects.create(user=org.rep, session_key=live.session_key)
    # when
    result = sessions_cleanup_task.enqueue()
    call_command("db_worker", batch=True, startup_delay=False, interval=0, verbosity=0)
    # then
    assert sessions_cleanup_task.get_result(result.id).status == TaskResultStatus.SUCCESSFUL
    assert list(Session.objects.values_list("session_key", flat=True)) == [live.session_key]
    assert list(LoginSession.objects.values_list("session_key", flat=True)) == [live.session_key]


# --- RQ on the real Redis --------------------------------------------------------------------


def _redis_or_skip():
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=2):
            pass
    except OSError:
        skip_or_fail("no Redis at 127.0.0.1:6379")


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_rq_worker_runs_the_task_against_the_real_redis(settings):
    _redis_or_skip()
    import django_rq

    # given a queue of our own on Redis database 15 and RQ as the task backend
    queue_name = f"guanxi-test-{uuid.uuid4().hex[:12]}"
    settings.RQ_QUEUES = {
        "default": {"URL": REDIS_TEST_URL, "DEFAULT_TIMEOUT": 60},
        queue_name: {"URL": REDIS_TEST_URL, "DEFAULT_TIMEOUT": 60},
    }
    settings.TASKS = {"default": {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": [queue_name]}}
    department = _old_deleted_department()
    results = []
    queue = django_rq.get_queue(queue_name)
    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        with transaction.atomic():
            transaction.on_commit(
                lambda: results.append(
                    recycle_bin_purge_task.using(queue_name=queue_name).enqueue()
                )
            )
        assert queue.count == 1
        # when a burst worker (no fork, so it shares this test's database) drains the queue
        call_command(
            "rqworker",
            queue_name,
            burst=True,
            job_class="django_tasks_rq.Job",
            worker_class="rq.worker.SimpleWorker",
            verbosity=0,
        )
        # then the task ran, its effect is in the database and its result is on Redis
        assert queue.count == 0
        assert not Department.all_objects.filter(pk=department.pk).exists()
        assert AuditEntry.objects.filter(action="purge", object_id=str(department.pk)).count() == 1
        result = recycle_bin_purge_task.get_result(results[0].id)
        assert result.status == TaskResultStatus.SUCCESSFUL
        assert result.return_value == 1
    finally:
        for sig, handler in handlers.items():
            signal.signal(sig, handler)
        _forget_queue(queue.connection, queue_name, [r.id for r in results])


def _forget_queue(redis, queue_name: str, job_ids: list[str]) -> None:
    """Leave Redis as it was: the queue, its registries, its jobs and the worker's record."""
    keys = list(redis.scan_iter(f"*{queue_name}*"))
    for job_id in job_ids:
        keys += list(redis.scan_iter(f"*{job_id}*"))
    for worker_key in redis.scan_iter("rq:worker:*"):
        if (
            redis.type(worker_key) == b"hash"
            and redis.hget(worker_key, "queues") == queue_name.encode()
        ):
            keys.append(worker_key)
            redis.srem("rq:workers", worker_key)
    redis.srem("rq:queues", f"rq:queue:{queue_name}")
    if keys:
        redis.delete(*keys)


# --- the schedule ----------------------------------------------------------------------------

EVERY_TEN_MINUTES = ScheduledJob(
    "test-purge", "*/10 * * * *", "guanxi.core.tasks.recycle_bin_purge_task"
)
NIGHTLY = ScheduledJob("test-nightly", "15 3 * * *", "guanxi.core.tasks.recycle_bin_purge_task")


def test_cron_is_evaluated_in_asia_shanghai(settings):
    assert settings.TIME_ZONE == "Asia/Shanghai"
    # 19:20 UTC on 10 March is 03:20 on 11 March in Shanghai
    now = dt.datetime(2026, 3, 10, 19, 20, tzinfo=dt.UTC)
    assert last_slot(NIGHTLY, now) == dt.datetime(
        2026, 3, 10, *SHANGHAI_03_15_IN_UTC, tzinfo=dt.UTC
    )


def test_last_slot_crosses_the_day_boundary(settings):
    # 18:00 UTC on 10 March is 02:00 on 11 March in Shanghai: the last 03:15 was on 10 March local
    now = dt.datetime(2026, 3, 10, 18, 0, tzinfo=dt.UTC)
    assert last_slot(NIGHTLY, now) == dt.datetime(2026, 3, 9, *SHANGHAI_03_15_IN_UTC, tzinfo=dt.UTC)
    # and across a month and a year
    now = dt.datetime(2026, 12, 31, 18, 0, tzinfo=dt.UTC)
    assert last_slot(NIGHTLY, now) == dt.datetime(
        2026, 12, 30, *SHANGHAI_03_15_IN_UTC, tzinfo=dt.UTC
    )


def test_time_zone_setting_decides_the_slot(settings):
    settings.TIME_ZONE = "UTC"
    now = dt.datetime(2026, 3, 10, 19, 20, tzinfo=dt.UTC)
    assert last_slot(NIGHTLY, now) == dt.datetime(2026, 3, 10, 3, 15, tzinfo=dt.UTC)


def test_slot_includes_its_own_instant_and_nothing_later():
    slot = dt.datetime(2026, 3, 10, *SHANGHAI_03_15_IN_UTC, tzinfo=dt.UTC)
    assert last_slot(NIGHTLY, slot) == slot
    assert last_slot(NIGHTLY, slot + dt.timedelta(microseconds=1)) == slot
    assert last_slot(NIGHTLY, slot - dt.timedelta(microseconds=1)) == slot - dt.timedelta(days=1)


@pytest.mark.django_db
def test_tick_enqueues_a_due_job_once_however_often_it_runs(database_queue):
    # given 12:03 UTC, three minutes after a */10 slot
    now = dt.datetime(2026, 3, 10, 12, 3, tzinfo=dt.UTC)
    # when the scheduler ticks three times
    fired = [
        schedule_tick(now=now + dt.timedelta(seconds=s), jobs=(EVERY_TEN_MINUTES,))
        for s in (0, 15, 30)
    ]
    # then the slot was claimed and its job enqueued exactly once
    assert fired == [["test-purge"], [], []]
    (claimed,) = ScheduleSlot.objects.all()
    assert claimed.slot == dt.datetime(2026, 3, 10, 12, 0, tzinfo=dt.UTC)
    assert DBTaskResult.objects.count() == 1
    assert claimed.task_result_id == str(DBTaskResult.objects.get().id)
    # and the next slot fires again
    assert schedule_tick(now=now + dt.timedelta(minutes=10), jobs=(EVERY_TEN_MINUTES,)) == [
        "test-purge"
    ]
    assert DBTaskResult.objects.count() == 2


@pytest.mark.django_db
def test_a_slot_claimed_by_another_process_is_not_fired_again(database_queue):
    now = dt.datetime(2026, 3, 10, 12, 3, tzinfo=dt.UTC)
    ScheduleSlot.objects.create(
        name="test-purge", slot=dt.datetime(2026, 3, 10, 12, 0, tzinfo=dt.UTC)
    )
    assert schedule_tick(now=now, jobs=(EVERY_TEN_MINUTES,)) == []
    assert DBTaskResult.objects.count() == 0
    assert ScheduleSlot.objects.count() == 1


@pytest.mark.django_db
def test_missed_slot_older_than_the_catch_up_window_is_skipped(database_queue):
    slot = dt.datetime(2026, 3, 10, *SHANGHAI_03_15_IN_UTC, tzinfo=dt.UTC)
    assert dt.timedelta(hours=1) == CATCH_UP
    assert schedule_tick(now=slot + CATCH_UP + dt.timedelta(seconds=1), jobs=(NIGHTLY,)) == []
    assert not ScheduleSlot.objects.exists()
    assert DBTaskResult.objects.count() == 0
    # within the window a late scheduler still catches up
    assert schedule_tick(now=slot + CATCH_UP, jobs=(NIGHTLY,)) == ["test-nightly"]


@pytest.mark.django_db
def test_a_failed_enqueue_leaves_the_slot_unclaimed_for_the_next_tick(database_queue, settings):
    # given a queue the backend does not serve, so enqueueing fails
    broken = ScheduledJob("test-broken", "*/10 * * * *", "guanxi.core.tasks.recycle_bin_purge_task")
    now = dt.datetime(2026, 3, 10, 12, 3, tzinfo=dt.UTC)
    settings.TASKS = {"default": {**DATABASE_TASKS["default"], "QUEUES": ["elsewhere"]}}
    # when
    with pytest.raises(InvalidTaskError, match="not valid for backend"):
        schedule_tick(now=now, jobs=(broken,))
    # then nothing was claimed, and once the queue is back the slot still fires
    assert not ScheduleSlot.objects.exists()
    settings.TASKS = DATABASE_TASKS
    assert schedule_tick(now=now + dt.timedelta(seconds=15), jobs=(broken,)) == ["test-broken"]
    assert DBTaskResult.objects.count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_schedulers_racing_for_one_slot_claim_it_once(database_queue):
    if connection.vendor != "postgresql":
        skip_or_fail("needs PostgreSQL (set DATABASE_URL)")
    now = dt.datetime(2026, 3, 10, 12, 3, tzinfo=dt.UTC)
    barrier = threading.Barrier(4)
    fired: list[list[str]] = []
    errors: list[BaseException] = []

    def scheduler_process() -> None:
        try:
            barrier.wait(timeout=10)
            fired.append(schedule_tick(now=now, jobs=(EVERY_TEN_MINUTES,)))
        except BaseException as error:  # surfaced below
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=scheduler_process) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    assert sorted(fired) == [[], [], [], ["test-purge"]]
    assert ScheduleSlot.objects.count() == 1
    assert DBTaskResult.objects.count() == 1


def test_validate_schedule_accepts_the_shipped_schedule():
    validate_schedule()
    assert {job.name for job in SCHEDULE} >= {"recycle-bin-purge", "sessions-cleanup"}


@pytest.mark.parametrize("cron", ["61 * * * *", "* * *", "every day", "15 3 * * * * *", ""])
def test_validate_schedule_rejects_a_bad_cron_expression(cron):
    with pytest.raises(ValueError, match="bad cron expression"):
        validate_schedule(
            (ScheduledJob("broken", cron, "guanxi.core.tasks.recycle_bin_purge_task"),)
        )


def test_validate_schedule_rejects_a_missing_task():
    with pytest.raises(ImportError):
        validate_schedule((ScheduledJob("broken", "* * * * *", "guanxi.core.tasks.no_such_task"),))


def _zone_where_it_is_just_after_the_nightly_jobs(now: dt.datetime) -> str:
    """An Etc/GMT zone in which the local time is between 03:20 and 04:25: the 03:15 or the 03:30
    job (or both) is due and at least five minutes away from the edge of the catch-up window."""
    target_hour = 3 if now.minute >= 20 else 4
    offset = (target_hour - now.hour) % 24
    if offset > 14:
        offset -= 24
    return "Etc/GMT" if offset == 0 else f"Etc/GMT{-offset:+d}"


@pytest.mark.django_db
def test_scheduler_once_command_fires_due_jobs_once(database_queue, settings, monkeypatch):
    # given a time zone in which the nightly jobs are just due
    settings.TIME_ZONE = _zone_where_it_is_just_after_the_nightly_jobs(timezone.now())
    # (jobs due every hour or minute, such as notifications-deliveries-retry, would fire on
    # both runs whenever a minute turns between them: this test is about the nightly ones)
    from guanxi.core.management.commands import scheduler

    daily = tuple(job for job in SCHEDULE if job.cron.split()[1] != "*")
    monkeypatch.setattr(scheduler, "schedule_tick", lambda: schedule_tick(jobs=daily))
    first, second = io.StringIO(), io.StringIO()
    # when the scheduler checks once, twice
    call_command("scheduler", "--once", stdout=first)
    call_command("scheduler", "--once", stdout=second)
    # then the first run enqueued the due jobs and the second nothing
    fired = [line.split()[-1] for line in first.getvalue().splitlines() if "enqueued" in line]
    assert "recycle-bin-purge [15 3 * * *]" in first.getvalue()
    assert fired and set(fired) <= {
        "recycle-bin-purge",
        "sessions-cleanup",
        "customers-recycle",
        "rate-windows-purge",
    }
    assert "enqueued" not in second.getvalue()
    assert sorted(ScheduleSlot.objects.values_list("name", flat=True)) == sorted(fired)
    assert DBTaskResult.objects.count() == len(fired)


# --- the guanxi command ----------------------------------------------------------------------


def _guanxi(*args: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "GUANXI_DATA_DIR": str(tmp_path / "data"),
    }
    return subprocess.run(
        [str(ROOT / ".venv" / "bin" / "guanxi"), *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_guanxi_help_lists_every_command(tmp_path):
    result = _guanxi("help", tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: guanxi <command>")
    for command in ("demo", "serve", "worker", "scheduler", "createuser", "token", "help"):
        assert f"\n  {command} " in result.stdout, command
    assert "manage.py" in result.stdout


def test_guanxi_without_arguments_prints_the_help(tmp_path):
    assert _guanxi(tmp_path=tmp_path).stdout == _guanxi("help", tmp_path=tmp_path).stdout


def test_guanxi_help_for_a_command_shows_its_options(tmp_path):
    result = _guanxi("help", "scheduler", tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "--once" in result.stdout and "--interval" in result.stdout


def test_guanxi_passes_other_verbs_to_manage_py(tmp_path):
    result = _guanxi("check", tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout


def test_guanxi_unknown_verb_fails_with_a_hint(tmp_path):
    result = _guanxi("no-such-verb", tmp_path=tmp_path)
    assert result.returncode != 0
    assert "Unknown command" in result.stderr


RACER = """
import json, sys, time, datetime as dt
import django
django.setup()
from guanxi.core.schedule import ScheduledJob, schedule_tick
job = ScheduledJob("race", "*/10 * * * *", "guanxi.core.tasks.recycle_bin_purge_task")
time.sleep(max(0.0, float(sys.argv[1]) - time.time()))
print(json.dumps(schedule_tick(now=dt.datetime(2026, 3, 10, 12, 3, tzinfo=dt.UTC), jobs=(job,))))
"""


def test_scheduler_processes_racing_on_one_sqlite_file_claim_the_slot_once(tmp_path):
    # given a migrated SQLite database file (WAL, IMMEDIATE transactions) shared by four processes
    import json
    import sqlite3
    import sys
    import time

    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "GUANXI_DATA_DIR": str(tmp_path),
        "PYTHONPATH": str(ROOT),
        "DJANGO_SETTINGS_MODULE": "guanxi.settings",
    }
    migrate = subprocess.run(
        [sys.executable, "manage.py", "migrate", "-v", "0"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert migrate.returncode == 0, migrate.stderr
    # when they all tick for the same slot at the same moment
    start_at = str(time.time() + 4)
    racers = [
        subprocess.Popen(
            [sys.executable, "-c", RACER, start_at],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    outputs = [racer.communicate(timeout=120) for racer in racers]
    # then exactly one claimed it and enqueued the job; the others saw the claim
    assert all(racer.returncode == 0 for racer in racers), [err for _out, err in outputs]
    fired = sorted(json.loads(out.strip().splitlines()[-1]) for out, _err in outputs)
    assert fired == [[], [], [], ["race"]]
    with sqlite3.connect(tmp_path / "guanxi.sqlite3") as database:
        assert database.execute("SELECT count(*) FROM core_scheduleslot").fetchone()[0] == 1
        assert (
            database.execute("SELECT count(*) FROM django_tasks_database_dbtaskresult").fetchone()[
                0
            ]
            == 1
        )


SEED_AND_ENQUEUE = """
import datetime as dt
import django
django.setup()
from django.db import transaction
from django.utils import timezone
from guanxi.accounts.models import Department
from guanxi.accounts.services import department_create, department_delete
from guanxi.core.tasks import recycle_bin_purge_task
hq = department_create(actor=None, name="总部", code="hq")
old = department_create(actor=None, name="过期部门", code="old", parent=hq)
department_delete(actor=None, department=old)
Department.all_objects.filter(pk=old.pk).update(deleted_at=timezone.now() - dt.timedelta(days=40))
with transaction.atomic():
    transaction.on_commit(lambda: print(recycle_bin_purge_task.enqueue().id))
"""


def _project_env(tmp_path: Path, **values: str) -> dict[str, str]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "GUANXI_DATA_DIR": str(tmp_path),
        "PYTHONPATH": str(ROOT),
        "DJANGO_SETTINGS_MODULE": "guanxi.settings",
    }
    env.update(values)
    return env


def _seeded_database(env: dict[str, str]) -> str:
    import sys

    for args in (["manage.py", "migrate", "-v", "0"], ["-c", SEED_AND_ENQUEUE]):
        done = subprocess.run(
            [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_guanxi_worker_runs_queued_jobs_from_the_database_queue(tmp_path):
    import sqlite3

    # given a database with an old deletion and a purge job queued
    env = _project_env(tmp_path)
    task_id = _seeded_database(env)
    # when the worker command processes the queue and stops
    worker = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "guanxi"), "worker", "--batch", "--no-startup-delay"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    # then
    assert worker.returncode == 0, worker.stderr
    with sqlite3.connect(tmp_path / "guanxi.sqlite3") as database:
        assert (
            database.execute(
                "SELECT count(*) FROM accounts_department WHERE code = 'old'"
            ).fetchone()[0]
            == 0
        )
        results = database.execute(
            "SELECT id, status FROM django_tasks_database_dbtaskresult"
        ).fetchall()
    assert [(str(uuid.UUID(row_id)), status) for row_id, status in results] == [
        (task_id, "SUCCESSFUL")
    ]


@pytest.mark.redis
def test_guanxi_worker_uses_rq_when_redis_url_is_set(tmp_path):
    _redis_or_skip()
    import sqlite3

    import redis as redis_client

    # given REDIS_URL (database 15) and a purge job queued on RQ
    env = _project_env(tmp_path, REDIS_URL=REDIS_TEST_URL)
    connection_ = redis_client.Redis.from_url(REDIS_TEST_URL)
    task_id = _seeded_database(env)
    try:
        assert connection_.lrange("rq:queue:default", 0, -1) == [task_id.encode()]
        # when the worker command drains the queue once (RQ forks a work horse per job)
        worker = subprocess.run(
            [str(ROOT / ".venv" / "bin" / "guanxi"), "worker", "--burst"],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        # then the job ran in the forked child and its effect reached the database file
        assert worker.returncode == 0, worker.stderr
        with sqlite3.connect(tmp_path / "guanxi.sqlite3") as database:
            remaining = database.execute(
                "SELECT count(*) FROM accounts_department WHERE code = 'old'"
            )
            assert remaining.fetchone()[0] == 0
        assert connection_.hget(f"rq:job:{task_id}", "status") == b"finished"
    finally:
        _forget_queue(connection_, "default", [task_id])
