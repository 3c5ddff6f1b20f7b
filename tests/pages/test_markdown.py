"""Thought bodies are Markdown: formatting shows, while HTML, script links and outside images
in a body stay harmless text."""

import pytest
from django.urls import reverse

from spaces import services

pytestmark = pytest.mark.django_db

BODY = """A **bold** step, then `code`.

- one
- two

| a | b |
|---|---|
| 1 | 2 |

<img src=x onerror=alert(1)> and <script>alert(2)</script>

[safe](https://example.com/a) [unsafe](javascript:alert(3)) ![tracker](https://example.com/t.png)
"""


@pytest.mark.parametrize("page", ["space-detail", "thought-detail"])
def test_a_body_is_rendered_as_markdown_and_stays_harmless(owner_client, owner, space, page):
    services.thought_create(space=space, actor=owner, key="md", title="Markdown", body=BODY)
    args = [space.pk] if page == "space-detail" else [space.pk, "md"]
    html = owner_client.get(reverse(page, args=args)).content.decode()
    assert "<strong>bold</strong>" in html and "<code>code</code>" in html
    assert "<li>one</li>" in html and "<td>2</td>" in html
    assert '<a href="https://example.com/a">safe</a>' in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "&lt;script&gt;alert(2)&lt;/script&gt;" in html
    assert "[unsafe](javascript:alert(3))" in html  # text, not a link
    assert 'href="javascript' not in html
    assert "<img" not in html  # an image is not fetched: it shows as a link
