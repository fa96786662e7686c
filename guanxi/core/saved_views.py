"""Saved views: a user's named filter sets for a list.

Which lists take saved views, where they live and which query parameters a view may keep is
registered by the app that owns the list (``saved_view_list_register`` in its ``ready()``), so the
shared code knows nothing about customers or tickets. A view keeps only registered parameters with
a value, never the cursor: it is "these filters", not "this page".
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.http import QueryDict
from django.utils.translation import gettext as _

SAVED_VIEWS_PER_LIST = 30


@dataclass(frozen=True)
class SavedViewList:
    name: str
    url_name: str
    params: frozenset[str]


_LISTS: dict[str, SavedViewList] = {}


def saved_view_list_register(name: str, *, url_name: str, params: set[str] | frozenset) -> None:
    _LISTS[name] = SavedViewList(name=name, url_name=url_name, params=frozenset(params))


def saved_view_list_get(name: str) -> SavedViewList:
    found = _LISTS.get(name)
    if found is None:
        raise ValidationError({"list_name": [_("There is no such list.")]}, code="unknown_list")
    return found


def saved_view_query_clean(list_name: str, query: str) -> str:
    """The registered, non-empty parameters of ``query`` in a stable order."""
    allowed = saved_view_list_get(list_name).params
    parsed = QueryDict(query or "")
    kept = QueryDict(mutable=True)
    for key in sorted(parsed):
        if key in allowed:
            values = [value.strip() for value in parsed.getlist(key) if value.strip()]
            if values:
                kept.setlist(key, values)
    return kept.urlencode()
