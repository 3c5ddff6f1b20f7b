"""The space page's cheap renderings (key selects built in Python, thought URLs built once)
give the same markup as Django's own Select and reverse()."""

import re

import pytest
from django import forms
from django.test.html import parse_html
from django.urls import reverse

from spaces.forms import KeySelect
from spaces.presentation import thought_tree

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


def test_tree_nodes_carry_the_urls_reverse_gives(space, thought) -> None:
    (node,) = thought_tree([thought], [], space_id=space.pk)
    assert node.edit_url == reverse("thought-edit", args=[space.pk, thought.key])
    assert node.delete_url == reverse("thought-delete", args=[space.pk, thought.key])


def test_space_page_links_each_thought_to_its_edit_and_delete_pages(owner_client, space, thought):
    page = owner_client.get(reverse("space-detail", args=[space.pk])).content.decode()
    assert f'href="{reverse("thought-edit", args=[space.pk, thought.key])}"' in page
    assert f'hx-post="{reverse("thought-delete", args=[space.pk, thought.key])}"' in page
