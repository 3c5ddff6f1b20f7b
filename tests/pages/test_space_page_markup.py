"""The space page's cheap renderings: the thought picker (an input and its datalist, built in
Python) and thought URLs built once, not reverse()d per thought."""

import re

import pytest
from django import forms
from django.urls import reverse

from spaces.forms import ThoughtPicker
from spaces.outline import outline

pytestmark = pytest.mark.django_db


def _html(data: dict | None, options_url: str = "/options/") -> str:
    class Form(forms.Form):
        f = forms.CharField(required=False, widget=ThoughtPicker)

    form = Form(data)
    form.fields["f"].widget.options_url = options_url
    return re.sub(r"\s+", " ", str(form["f"]))


def test_the_picker_is_an_input_with_its_own_datalist_filled_as_one_types() -> None:
    html = _html({"f": "k-2"})
    assert 'name="f"' in html and 'value="k-2"' in html and 'list="id_f-options"' in html
    assert '<datalist id="id_f-options"></datalist>' in html
    assert 'hx-get="/options/"' in html and 'hx-target="#id_f-options"' in html


def test_the_picker_escapes_what_was_typed() -> None:
    html = _html({"f": '"><script>x</script>'})
    assert "<script>" not in html and "&quot;&gt;&lt;script&gt;" in html


def test_outline_nodes_carry_the_urls_reverse_gives(space, thought) -> None:
    (node,) = outline(space).roots
    assert node.edit_url == reverse("thought-edit", args=[space.pk, thought.key])
    assert node.delete_url == reverse("thought-delete", args=[space.pk, thought.key])
    assert node.children_url == reverse("thought-children", args=[space.pk, thought.key])


def test_space_page_links_each_thought_to_its_edit_and_delete_pages(owner_client, space, thought):
    page = owner_client.get(reverse("space-detail", args=[space.pk])).content.decode()
    assert f'href="{reverse("thought-edit", args=[space.pk, thought.key])}"' in page
    assert f'hx-post="{reverse("thought-delete", args=[space.pk, thought.key])}"' in page
