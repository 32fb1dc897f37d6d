"""An e-mail's body: MJML compiled to HTML, CSS inlined, the text part, and its links.

Tokens (``{contactfield=firstname}``, ``{unsubscribe_url}`` ...) pass through all of it untouched, in text
and in attributes, so they are filled per contact only at send time.
"""

from __future__ import annotations

import html as html_lib
import re
from collections.abc import Callable

import css_inline
import mrml
from inscriptis import get_text
from inscriptis.css_profiles import CSS_PROFILES
from inscriptis.model.config import ParserConfig

# No web fonts: an e-mail that loads them leaks its opening to a third party, and offline previews fail.
_RENDER = mrml.RenderOptions(fonts={})
_INLINER = css_inline.CSSInliner(keep_style_tags=True, load_remote_stylesheets=False)
_TEXT = ParserConfig(css=CSS_PROFILES["strict"], display_links=True)
# An href (or src) value in single or double quotes.
_HREF = re.compile(r"""(\bhref\s*=\s*)(?:"([^"]*)"|'([^']*)')""", re.IGNORECASE)


class ContentError(ValueError):
    """The content does not compile; the message is the compiler's."""


def compile_mjml(source: str) -> str:
    """MJML to HTML with mrml (a Rust compiler), no web fonts."""
    if "<mjml" not in source:
        raise ContentError("MJML starts with <mjml>: this looks like HTML (use the HTML code view) or is empty.")
    try:
        return str(mrml.to_html(source, render_options=_RENDER).content)
    except OSError as exc:  # mrml reports parse errors as OSError
        raise ContentError(str(exc)) from exc


def finish_html(html: str) -> str:
    """CSS inlined into style attributes (mail clients drop style sheets); media queries stay in their tags."""
    try:
        return str(_INLINER.inline(html))
    except ValueError as exc:
        raise ContentError(f"The CSS could not be inlined: {exc}") from exc


def plain_text(html: str) -> str:
    """A readable text part: links as "text (url)"-style references, blank runs squeezed."""
    text = get_text(html, _TEXT) if html.strip() else ""
    lines = [line.rstrip() for line in text.splitlines()]
    out: list[str] = []
    for line in lines:
        if line or (out and out[-1]):
            out.append(line)
    return "\n".join(out).strip() + "\n" if out else ""


def _trackable(url: str) -> bool:
    lowered = url.lower()
    return lowered.startswith(("http://", "https://")) and "{" not in url


def links_in(html: str) -> list[str]:
    """The distinct web links of the body in order (not mailto:, anchors or links made of tokens)."""
    seen: dict[str, None] = {}
    for match in _HREF.finditer(html):
        url = html_lib.unescape(match.group(2) if match.group(2) is not None else match.group(3)).strip()
        if _trackable(url):
            seen.setdefault(url, None)
    return list(seen)


def rewrite_links(html: str, url_for: Callable[[str], str | None]) -> str:
    """Each web link replaced by ``url_for(link)`` when that gives one; the rest left as written."""

    def swap(match: re.Match[str]) -> str:
        raw = match.group(2) if match.group(2) is not None else match.group(3)
        url = html_lib.unescape(raw).strip()
        new = url_for(url) if _trackable(url) else None
        if new is None:
            return match.group(0)
        return f'{match.group(1)}"{html_lib.escape(new, quote=True)}"'

    return _HREF.sub(swap, html)
