"""``{{ thought.body|markdown }}``: a thought's body as Markdown (CommonMark, rendered by
markdown-it-py). Raw HTML in a body is shown as text, links go nowhere but http(s), mailto
and relative addresses (markdown-it's own check), and images are not loaded (a body cannot
make the page fetch from elsewhere); tables and strikethrough are on."""

from __future__ import annotations

from functools import lru_cache

from django import template
from django.utils.safestring import SafeString, mark_safe
from markdown_it import MarkdownIt

register = template.Library()

_RENDERER = (
    MarkdownIt("commonmark", {"html": False, "breaks": True})
    .enable(["table", "strikethrough"])
    .disable("image")
)


@register.filter(name="markdown")
def markdown(text: str) -> SafeString:
    return _render(str(text))


@lru_cache(maxsize=4096)  # a space page shows the same bodies again and again
def _render(text: str) -> SafeString:
    return mark_safe(_RENDERER.render(text))  # noqa: S308 - HTML off: the text is escaped
