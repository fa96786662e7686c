"""Forms parse and shape input for the knowledge pages; the rules live in services and come back
as field errors (accounts.forms.apply_errors)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django import forms
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from guanxi.accounts.forms import VersionedForm
from guanxi.service.knowledge.models import Article, ArticleKind, ArticleStatus, KnowledgeCategory
from guanxi.service.knowledge.selectors import ARTICLE_SORTS
from guanxi.service.knowledge.services import BODY_LIMIT
from guanxi.service.models import TicketCategory

SORT_LABELS = {
    "-updated_at": _("Recently updated"),
    "-view_count": _("Most viewed"),
    "-link_count": _("Most used on tickets"),
    "title": _("Title"),
}


class _IdsField(forms.MultipleChoiceField):
    """Ids picked from a list the browser loads as the user types (the customer lookup): any id
    parses here, the service decides which may be used."""

    def valid_value(self, value: Any) -> bool:
        return str(value).isdigit()


class ArticleForm(VersionedForm):
    title = forms.CharField(label=_("Title"), max_length=200)
    kind = forms.ChoiceField(label=_("Kind"), choices=ArticleKind.choices)
    category = forms.TypedChoiceField(label=_("Category"), coerce=int)
    body = forms.CharField(
        label=_("Text"),
        max_length=BODY_LIMIT,
        widget=forms.Textarea(attrs={"rows": 14}),
        help_text=_("Plain text: paragraphs and line breaks are kept, markup is shown as typed."),
    )
    tags = forms.CharField(
        label=_("Tags"),
        required=False,
        max_length=1000,
        help_text=_("Separate tags with commas."),
    )
    ticket_categories = forms.TypedMultipleChoiceField(
        label=_("Helps with tickets of these categories"),
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Tickets of these categories suggest this article."),
    )
    customers = _IdsField(
        label=_("Customers"),
        required=False,
        help_text=_(
            "A customer note names its customers; only people who can see all of them read it."
        ),
    )
    publish = forms.BooleanField(label=_("Publish now"), required=False)

    def __init__(
        self,
        *args: Any,
        article: Article | None = None,
        categories: Iterable[KnowledgeCategory],
        ticket_categories: Iterable[TicketCategory],
        customer_names: dict[int, str],
        can_publish: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, editing=article is not None, **kwargs)
        category_choices = [(row.pk, row.name) for row in categories]
        if article is not None and article.category_id not in dict(category_choices):
            category_choices.append((article.category_id, article.category.name))
        self.fields["category"].choices = [("", "—"), *category_choices]
        ticket_category_choices = [(row.pk, row.name) for row in ticket_categories]
        self.fields["ticket_categories"].choices = ticket_category_choices
        self.fields["customers"].choices = list(customer_names.items())
        self.fields["customers"].widget.attrs.update(
            {
                "data-tom-select": "",
                "data-lookup-url": reverse("customers:customer-lookup"),
                "data-placeholder": _("Type a name, pinyin or initials"),
                "data-no-results": _("No matches"),
            }
        )
        if article is not None or not can_publish:
            del self.fields["publish"]

    @classmethod
    def initial_for(cls, article: Article) -> dict[str, Any]:
        return {
            "version": article.version,
            "title": article.title,
            "kind": article.kind,
            "category": article.category_id,
            "body": article.body,
            "tags": ", ".join(tag.name for tag in article.tags.all()),
            "ticket_categories": [row.pk for row in article.ticket_categories.all()],
            "customers": [row.pk for row in article.customers.all()],
        }

    def service_data(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "title": data["title"],
            "kind": data["kind"],
            "category": data["category"],
            "body": data["body"],
            "tags": data.get("tags") or "",
            "ticket_categories": list(data.get("ticket_categories") or []),
            "customers": [int(pk) for pk in data.get("customers") or []],
        }

    def changed_service_data(self) -> dict[str, Any]:
        """Only what the user changed (an untouched field is not sent, so it cannot conflict)."""
        data = self.service_data()
        return {name: value for name, value in data.items() if name in self.changed_data}


class ArticleFilterForm(forms.Form):
    """The article list's GET parameters; what does not parse is ignored."""

    q = forms.CharField(required=False, max_length=100)
    category = forms.TypedChoiceField(required=False, coerce=int, empty_value=None)
    kind = forms.ChoiceField(required=False, choices=[("", _("All kinds")), *ArticleKind.choices])
    status = forms.ChoiceField(required=False, choices=[("", _("Current")), *ArticleStatus.choices])
    tag = forms.ChoiceField(required=False)
    sort = forms.ChoiceField(
        required=False, choices=[(key, SORT_LABELS[key]) for key in ARTICLE_SORTS]
    )

    def __init__(
        self,
        *args: Any,
        categories: Iterable[KnowledgeCategory],
        tags: Iterable[str],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["category"].choices = [
            ("", _("All categories")),
            *((row.pk, row.name) for row in categories),
        ]
        self.fields["tag"].choices = [("", _("All tags")), *((name, name) for name in tags)]

    def filters(self) -> dict[str, Any]:
        self.is_valid()
        cleaned = getattr(self, "cleaned_data", {})
        data = {name: cleaned.get(name) for name in self.fields if name not in self.errors}
        return {
            "query": (data.get("q") or "").strip(),
            "category": data.get("category"),
            "kind": data.get("kind") or "",
            "status": data.get("status") or "",
            "tag": data.get("tag") or "",
            "sort": data.get("sort") or "-updated_at",
        }


class ArticleStatusForm(VersionedForm):
    status = forms.ChoiceField(choices=ArticleStatus.choices)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, editing=True, **kwargs)


class KnowledgeCategoryForm(VersionedForm):
    code = forms.SlugField(
        label=_("Code"),
        max_length=40,
        help_text=_("Letters, digits and hyphens; fixed once created."),
    )
    name = forms.CharField(label=_("Name"), max_length=60)
    description = forms.CharField(label=_("Description"), max_length=255, required=False)
    position = forms.IntegerField(label=_("Position"), min_value=0, max_value=32767)
    active = forms.BooleanField(label=_("In use"), required=False)

    def __init__(self, *args: Any, editing: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, editing=editing, **kwargs)
        if editing:
            del self.fields["code"]
