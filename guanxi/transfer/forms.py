"""Forms of the import and export pages: they parse input; the rules live in services."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from guanxi.customers.models import Contact
from guanxi.transfer.models import ExportJob


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
