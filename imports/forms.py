from django import forms
from django.utils.translation import gettext_lazy as _

from imports.models import ImportBatch, Kind
from imports.parsing import MAX_FILE_BYTES


class UploadForm(forms.Form):
    kind = forms.ChoiceField(label=_("What the file holds"), choices=Kind.choices)
    file = forms.FileField(label=_("CSV or XLSX file"), help_text=_("UTF-8 CSV (with or without BOM) or XLSX, at most 50 MB."))

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_FILE_BYTES:
            raise forms.ValidationError(_("The file is larger than %(mb)s MB.") % {"mb": MAX_FILE_BYTES // (1024 * 1024)})
        return upload


class CommitForm(forms.Form):
    mode = forms.ChoiceField(choices=ImportBatch.Mode.choices)
