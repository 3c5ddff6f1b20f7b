"""The space page's key selects, built in Python, give the markup of Django's own Select."""

import re

import pytest
from django import forms
from django.test.html import parse_html

from spaces.forms import KeySelect

pytestmark = pytest.mark.django_db

CHOICES = [("", "— none —"), ("a<b", "a<b"), ("k-2", "k-2")]


def _html(field: forms.Field, data: dict | None) -> str:
    class Form(forms.Form):
        f = field

    return re.sub(r"\s+", " ", str(Form(data)["f"])).replace("> <", "><")


@pytest.mark.parametrize("required", [False, True])
@pytest.mark.parametrize("data", [None, {"f": "k-2"}, {"f": "a<b"}, {"f": ""}])
def test_key_select_renders_like_djangos_select(data: dict | None, required: bool) -> None:
    stock = _html(forms.ChoiceField(choices=CHOICES, required=required), data)
    fast = _html(forms.ChoiceField(choices=CHOICES, required=required, widget=KeySelect), data)
    assert parse_html(fast) == parse_html(stock)  # attribute order aside


def test_key_select_escapes_keys() -> None:
    html = _html(forms.ChoiceField(choices=[("<x>", "<x>")], widget=KeySelect), None)
    assert "&lt;x&gt;" in html and "<x>" not in html
