from __future__ import annotations

from django_tasks import task

from guanxi.feedback.services import feedback_items_escalate, survey_invitations_email


@task()
def feedback_items_escalate_task() -> int:
    """Escalate feedback items unanswered 24 hours after they were opened to the owner's manager.
    Idempotent: each item escalates once (escalated_at), each notification has a dedupe key."""
    return feedback_items_escalate()


@task()
def survey_invitations_email_task(invitation_ids: list[int]) -> int:
    """E-mail survey invitations. Idempotent: an invitation e-mailed (or answered) is skipped."""
    return survey_invitations_email(invitation_ids=invitation_ids)
