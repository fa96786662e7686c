"""The errors of quality review with codes of their own (core.exceptions: one error contract)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from guanxi.core.exceptions import ApplicationError, ConflictError


class AlreadyReviewedError(ConflictError):
    default_code = "already_reviewed"
    default_message = _("This item has already been reviewed with this score sheet.")


class ItemNotFinishedError(ApplicationError):
    status_code = 409
    default_code = "item_not_finished"
    default_message = _("Only resolved, confirmed or closed tickets are reviewed.")


class ReviewStateError(ApplicationError):
    status_code = 409
    default_code = "review_state"
    default_message = _("The review is no longer in a state that allows this.")
