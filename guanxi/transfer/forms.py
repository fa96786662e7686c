"""Forms of the import and export pages: they parse input; the rules live in services."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from guanxi.customers.models import Contact
from guanxi.transfer.models import ExportJob, ImportJob


class ExportForm(forms.Form):
    """The export menus' buttons: ``export`` is ``<kind>:<format>`` (one form, one button per
    choice, so the menu works without JavaScript); ``query`` the customer list's query string,
    or ``customer`` for one customer's contacts."""

    export = forms.CharField(max_length=30)
    query = forms.CharField(max_length=2000, required=False)
    customer = forms.IntegerField(required=False, min_value=1)

    def clean_export(self) -> tuple[str, str]:
        kind, _sep, format = self.cleaned_data["export"].partition(":")
        if kind not in ExportJob.Kind.values or format not in ExportJob.Format.values:
            raise forms.ValidationError(_("Choose what to export and in which format."))
        return kind, format


class VcardImportForm(forms.Form):
    file = forms.FileField(
        label=_("vCard file"),
        help_text=_(
            "A .vcf file of version 3.0 or 4.0, one card per person, as phones and mail "
            "programs export them."
        ),
        widget=forms.ClearableFileInput(attrs={"accept": ".vcf,text/vcard,text/x-vcard"}),
    )
    legal_basis = forms.ChoiceField(
        label=_("Legal basis"),
        choices=Contact.LegalBasis.choices,
        initial=Contact.LegalBasis.CONSENT,
        help_text=_("Why you may keep these people's data; recorded on every imported contact."),
    )
    consent_note = forms.CharField(label=_("Consent record"), max_length=255, required=False)

    def read(self, limit: int) -> bytes:
        """The uploaded bytes, at most ``limit`` + 1 of them: enough for the service to tell a
        file that is too large without reading all of it."""
        upload: Any = self.cleaned_data["file"]
        upload.seek(0)
        return upload.read(limit + 1)


def _import_kinds() -> list[tuple[str, Any]]:
    from guanxi.transfer.import_services import import_kind_choices

    return import_kind_choices()


class ImportUploadForm(forms.Form):
    kind = forms.ChoiceField(label=_("What to import"), choices=_import_kinds)
    file = forms.FileField(
        label=_("File"),
        help_text=_(
            "CSV (UTF-8, UTF-8 with BOM or GB18030, as Excel and WPS save it) or XLSX; the first "
            "row names the columns."
        ),
        widget=forms.ClearableFileInput(
            attrs={
                "accept": ".csv,.xlsx,text/csv,"
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
            }
        ),
    )


class ImportMappingForm(forms.Form):
    """One select per column of the file (which field it fills, or none), and the policies."""

    duplicate_policy = forms.ChoiceField(
        label=_("When a row matches an existing record"),
        choices=ImportJob.DuplicatePolicy.choices,
    )
    error_policy = forms.ChoiceField(
        label=_("When rows have errors"), choices=ImportJob.ErrorPolicy.choices
    )

    def __init__(
        self, *args: Any, headers: list[str], fields: list[tuple[str, str]], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        choices = [("", _("— not imported —")), *fields]
        self.headers = headers
        for index, header in enumerate(headers):
            self.fields[f"column_{index}"] = forms.ChoiceField(
                label=header or _("Column %(number)s") % {"number": index + 1},
                choices=choices,
                required=False,
                widget=forms.Select(attrs={"class": "form-select form-select-sm"}),
            )

    def column_fields(self) -> list[Any]:
        return [self[f"column_{index}"] for index in range(len(self.headers))]

    def mapping(self) -> dict[str, str]:
        return {
            str(index): self.cleaned_data[f"column_{index}"]
            for index in range(len(self.headers))
            if self.cleaned_data.get(f"column_{index}")
        }
