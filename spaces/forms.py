"""Forms for the HTML pages: they parse and bound input; the services still validate it all."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any, cast

from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import UserCreationForm
from django.core.validators import RegexValidator
from django.forms.utils import flatatt
from django.utils.html import format_html
from django.utils.safestring import SafeString

from spaces.errors import ServiceError
from spaces.models import (
    BODY_MAX,
    KEY_HELP,
    KEY_PATTERN,
    KIND_MAX,
    LABEL_MAX,
    METADATA_MAX_BYTES,
    TITLE_MAX,
    ApiToken,
    Role,
)

INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1
NO_ACCESS = ""


def add_service_error(form: forms.BaseForm, error: ServiceError, field: str | None = None) -> None:
    """Show a service's refusal beside ``field``, or beside the first field its message names."""
    if field is None and error.field in form.fields:
        field = error.field
    if field is None:
        # Quoted values (keys, usernames) are user input, not field names: ignore them.
        words = re.findall(r"\w+", re.sub(r"'[^']*'", "", error.message).lower())
        field = next((word for word in words if word in form.fields), None)
    form.add_error(field, error.message)


class SpaceForm(forms.Form):
    title = forms.CharField(max_length=TITLE_MAX)
    description = forms.CharField(
        max_length=BODY_MAX, required=False, widget=forms.Textarea(attrs={"rows": 4})
    )


class ShareForm(forms.Form):
    username = forms.CharField(max_length=150)
    role = forms.ChoiceField(
        choices=[*Role.choices, (NO_ACCESS, "No access (remove)")],
        required=False,
        initial=Role.VIEWER,
    )

    def clean_role(self) -> str | None:
        return self.cleaned_data["role"] or None


class ThoughtPicker(forms.TextInput):
    """A thought's key, typed or picked: as the person types, htmx asks the space's
    thought-options for the thoughts whose title or key matches and fills the input's
    datalist with them (the title shown, the key put in). A space of any size costs one small
    request per pause in typing, not an ``<option>`` per thought in every form."""

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__({"autocomplete": "off", "spellcheck": "false", **(attrs or {})})
        self.options_url = ""

    def render(
        self, name: str, value: Any, attrs: dict[str, Any] | None = None, renderer: Any = None
    ) -> SafeString:
        final = self.build_attrs(self.attrs, attrs)
        list_id = f"{final.get('id') or name}-options"
        final["list"] = list_id
        if self.options_url:  # the options are the thoughts that match what is typed
            final["hx-get"] = self.options_url
            final["hx-trigger"] = "focus once, input changed delay:150ms"
            final["hx-target"] = f"#{list_id}"
            final["hx-swap"] = "innerHTML"  # not the form's swap, which it would inherit
            final["hx-sync"] = "this:replace"
        value = self.format_value(value)
        if value is not None:
            final["value"] = value
        return format_html(
            '<input type="text" name="{}"{}><datalist id="{}"></datalist>',
            name,
            flatatt(final),
            list_id,
        )


def _pickers(form: forms.Form, names: Iterable[str], options_url: str) -> None:
    for name in names:
        cast(ThoughtPicker, form.fields[name].widget).options_url = options_url


class ThoughtForm(forms.Form):
    """Add a thought (with ``key``) or edit one (with ``version``, so stale edits are refused)."""

    key = forms.CharField(
        max_length=80,
        required=False,
        validators=[RegexValidator(KEY_PATTERN, KEY_HELP)],
        help_text="Its name in links and the API; made from the title when left empty.",
    )
    title = forms.CharField(max_length=TITLE_MAX)
    body = forms.CharField(
        max_length=BODY_MAX, required=False, widget=forms.Textarea(attrs={"rows": 4})
    )
    kind = forms.CharField(max_length=KIND_MAX, required=False, initial="note")
    parent = forms.CharField(
        required=False,
        max_length=80,
        label="Parent",
        widget=ThoughtPicker(attrs={"placeholder": "Top level; type to find a thought"}),
    )
    position = forms.IntegerField(min_value=INT32_MIN, max_value=INT32_MAX, initial=0)
    metadata = forms.CharField(
        required=False,
        label="Metadata (JSON object)",
        initial="{}",
        widget=forms.Textarea(attrs={"rows": 3, "spellcheck": "false", "class": "mono"}),
    )
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)

    def __init__(
        self,
        *args: Any,
        options_url: str = "",
        editing: bool = False,
        **kwargs: Any,
    ) -> None:
        """``options_url``: where the parent's picker finds thoughts (thought-options)."""
        super().__init__(*args, **kwargs)
        _pickers(self, ["parent"], options_url)
        if editing:
            del self.fields["key"]
        else:
            del self.fields["version"]

    def clean_metadata(self) -> dict[str, Any]:
        text = self.cleaned_data["metadata"].strip()
        if not text:
            return {}
        if len(text.encode()) > METADATA_MAX_BYTES * 2:
            raise forms.ValidationError(
                f"Metadata is too large; the limit is {METADATA_MAX_BYTES} bytes."
            )
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            raise forms.ValidationError(
                f"Not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})."
            ) from None
        if not isinstance(value, dict):
            raise forms.ValidationError('Metadata must be a JSON object, such as {"tag": "idea"}.')
        return value

    def clean_parent(self) -> str | None:
        return self.cleaned_data["parent"].strip() or None

    def changes(self) -> dict[str, Any]:
        """The cleaned values as a thought_update ``changes`` mapping."""
        fields = ("title", "body", "kind", "metadata", "parent", "position")
        return {name: self.cleaned_data[name] for name in fields}


def thought_initial(thought: Any) -> dict[str, Any]:
    """An edit form's starting values for ``thought``."""
    return {
        "title": thought.title,
        "body": thought.body,
        "kind": thought.kind,
        "parent": thought.parent.key if thought.parent_id else "",
        "position": thought.position,
        "metadata": json.dumps(thought.metadata, indent=2, ensure_ascii=False),
        "version": thought.version,
    }


class LinkForm(forms.Form):
    source = forms.CharField(max_length=80, label="From", widget=ThoughtPicker)
    target = forms.CharField(max_length=80, label="To", widget=ThoughtPicker)
    label = forms.CharField(max_length=LABEL_MAX, required=False)

    def __init__(self, *args: Any, options_url: str = "", **kwargs: Any) -> None:
        """``options_url``: where the pickers find thoughts (thought-options)."""
        super().__init__(*args, **kwargs)
        _pickers(self, ["source", "target"], options_url)

    def clean(self) -> dict[str, Any] | None:
        cleaned = super().clean()
        if cleaned and cleaned.get("source") and cleaned.get("source") == cleaned.get("target"):
            self.add_error("target", "A link needs two different thoughts.")
        return cleaned


class SignupForm(UserCreationForm):
    class Meta(UserCreationForm.Meta):
        model = get_user_model()
        fields = ("username",)


class InviteForm(forms.Form):
    role = forms.ChoiceField(
        choices=Role.choices,
        initial=Role.VIEWER,
        help_text="What whoever opens the link first may do here.",
    )


class TokenForm(forms.Form):
    name = forms.CharField(
        max_length=100,
        help_text="What will use this token.",
        error_messages={"required": "Name the token after what will use it."},
    )
    mode = forms.ChoiceField(
        choices=ApiToken.Mode.choices,
        initial=ApiToken.Mode.DIRECT,
        help_text="direct: changes apply at once, as you. confirm: reads answer at once, every "
        "change waits as a proposal until approved. read: reads only.",
    )


class ImportForm(forms.Form):
    """Upload an archive: a ThoughtSpace archive (.jsonl) or a zip of Markdown files."""

    archive = forms.FileField(
        help_text="A ThoughtSpace archive (.jsonl) or a zip of Markdown files (an Obsidian vault)."
    )
    into = forms.ChoiceField(
        label="Into",
        required=False,
        help_text="A new space, or merged into one you can edit (what it has already is kept).",
    )
    dry_run = forms.BooleanField(label="Dry run: check and count, change nothing", required=False)

    def __init__(self, *args: Any, spaces: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["into"]).choices = [("", "A new space"), *spaces]

    def clean_archive(self) -> Any:
        upload = self.cleaned_data["archive"]
        if upload.size > settings.IMPORT_MAX_BYTES:
            raise forms.ValidationError(
                f"The file is {upload.size} bytes; the limit is {settings.IMPORT_MAX_BYTES}."
            )
        return upload


class MomentForm(forms.Form):
    """A moment to show a space as it was at."""

    at = forms.DateTimeField(
        label="As it was at",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local", "step": "1"}),
        input_formats=["%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S.%f"],
    )
