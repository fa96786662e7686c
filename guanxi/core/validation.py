"""Small checks the services of every app share: who the actor is, free text within a limit, a
value from a list of choices, and gathering several field errors into one ValidationError so
that a form shows them all at once and nothing is written."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

T = TypeVar("T")


def actor_is_user(actor: Any) -> bool:
    """A signed-in, active person (not the scheduler, not the customer's public link)."""
    return actor is not None and getattr(actor, "is_authenticated", False) and actor.is_active


def actor_or_none(actor: Any) -> Any:
    """The actor to record on a row: the person, or None for the system."""
    return actor if actor_is_user(actor) else None


def text_clean(name: str, value: Any, *, limit: int, required: bool = False) -> str:
    text = str(value or "").strip()
    if required and not text:
        raise ValidationError({name: [_("This field is required.")]}, code="required")
    if len(text) > limit:
        raise ValidationError(
            {name: [_("Keep this under %(limit)s characters.") % {"limit": limit}]},
            code="too_long",
        )
    return text


def choice_clean(name: str, value: Any, choices: Any, *, blank: bool = False) -> str:
    """``value`` if it is one of ``choices`` (a TextChoices), or blank where ``blank``."""
    text = str(value or "")
    if (blank and text == "") or text in choices.values:
        return text
    raise ValidationError({name: [_("Select a valid choice.")]}, code="invalid_choice")


def errors_collect(errors: dict[str, list[str]], call: Callable[[], T]) -> T | None:
    """Run one check; a field error it raises is added to ``errors`` instead of stopping the
    others."""
    try:
        return call()
    except ValidationError as error:
        for name, messages in error.message_dict.items():
            errors.setdefault(name, []).extend(messages)
        return None
