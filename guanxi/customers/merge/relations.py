"""Records of other apps that belong to a customer and follow it when it is merged into another
(the interaction log, tickets, feedback, survey answers …). Each app registers its models from
its ``AppConfig.ready()``::

    merge_relation_register("service.tickets", "service.Ticket")

``customer_merge`` moves every row of each registered model from the merged customer to the
survivor (one audited change each) and keeps their ids on the CustomerMerge, so that undoing
moves back exactly those rows. A model with a unique constraint over the customer and something
else (the follow-up tasks of a period, a communication plan) must not be registered: two
customers may each have the row, and the survivor cannot hold both.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.apps import apps
from django.db.models import Model


@dataclass(frozen=True)
class MergeRelation:
    key: str
    model_label: str  # "app_label.ModelName"
    field: str  # the foreign key to the customer

    @property
    def model(self) -> type[Model]:
        return apps.get_model(self.model_label)


_RELATIONS: dict[str, MergeRelation] = {}


def merge_relation_register(key: str, model_label: str, *, field: str = "customer") -> None:
    """Register (or replace: ready() may run twice in tests) the rows of ``model_label`` that
    point at a customer through ``field``."""
    _RELATIONS[key] = MergeRelation(key=key, model_label=model_label, field=field)


def merge_relations() -> list[MergeRelation]:
    return list(_RELATIONS.values())
