"""Allow-list HTML sanitising of third-party content. The only module that imports nh3.

Runs once, when a post is normalised, so nothing untrusted reaches the store or any output:
scripts, styles, event handlers, iframes, forms and `javascript:` URLs go; `data:` URLs stay only
on images (and never SVG, which can carry script); math spans and code classes stay so readers
can style them.
"""

from __future__ import annotations

import nh3

_TAGS = (
    nh3.ALLOWED_TAGS
    | {"section", "tfoot", "picture", "source", "figure", "figcaption", "mark", "details", "summary", "video", "audio"}
) - {"area", "map"}
_ATTRIBUTES: dict[str, set[str]] = {
    **{tag: set(attrs) for tag, attrs in nh3.ALLOWED_ATTRIBUTES.items()},
    "*": {"lang", "dir", "title"},
    "a": {"href", "hreflang", "title"},
    "img": {"src", "alt", "title", "width", "height", "srcset", "loading"},
    "source": {"src", "srcset", "type", "media"},
    "video": {"src", "poster", "controls", "width", "height"},
    "audio": {"src", "controls"},
    "span": {"class"},
    "div": {"class"},
    "code": {"class"},
    "pre": {"class"},
    "p": {"class"},
    "ol": {"start", "type"},
    "td": {"colspan", "rowspan", "align"},
    "th": {"colspan", "rowspan", "align", "scope"},
    "details": {"open"},
}
_DROP_WITH_CONTENT = {
    "script",
    "style",
    "iframe",
    "object",
    "embed",
    "form",
    "noscript",
    "template",
    "textarea",
    "select",
    "button",
    "frameset",
    "frame",
    "applet",
    "svg",
    "math",
}
_SCHEMES = {"http", "https", "mailto", "data"}
_SAFE_DATA_IMAGES = ("data:image/png", "data:image/jpeg", "data:image/gif", "data:image/webp", "data:image/avif")


def _filter_attribute(tag: str, attribute: str, value: str) -> str | None:
    # data: is allowed as a scheme only so that inline raster images survive; nowhere else
    if value.lstrip().lower().startswith("data:"):
        return (
            value
            if tag == "img" and attribute == "src" and value.lstrip().lower().startswith(_SAFE_DATA_IMAGES)
            else None
        )
    return value


def sanitize_html(html: str) -> str:
    """The allow-listed form of an HTML fragment; sanitising the result again changes nothing."""
    if not html:
        return ""
    return nh3.clean(
        html,
        tags=_TAGS,
        clean_content_tags=_DROP_WITH_CONTENT,
        attributes=_ATTRIBUTES,
        attribute_filter=_filter_attribute,
        url_schemes=_SCHEMES,
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    )


def escape_text(text: str) -> str:
    """Plain text made safe to put inside HTML."""
    return nh3.clean_text(text)
