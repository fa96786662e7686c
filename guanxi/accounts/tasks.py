from __future__ import annotations

from django.contrib.sessions.models import Session
from django.utils import timezone
from django_tasks import task

from guanxi.accounts.models import LoginSession


@task()
def sessions_cleanup_task() -> int:
    """Drop expired sessions and the login records that pointed at them. Idempotent."""
    Session.objects.filter(expire_date__lt=timezone.now()).delete()
    live = Session.objects.values("session_key")
    removed, _detail = LoginSession.objects.exclude(session_key__in=live).delete()
    return removed
