"""Every value as text in every output format: Markdown, HTML and XML (JUnit).

Values in reports come from outside: stack names, e-mail addresses, URLs, error messages of
servers and Azure. None may become markup. The Jinja environments that write reports use
these functions as `finalize`, so every `{{ value }}` passes through one of them, including
rows added to a template later:

- `markdown_text`: CommonMark backslash escapes for the punctuation that starts markup
  (emphasis, links, code, raw HTML, entities, headings) and GFM's `\\|` for table cells;
  control characters become spaces and line breaks `<br>` (the one HTML the reports write in
  a cell). Values rendered in a code span use `markdown_code` instead (backslashes are
  literal there): backticks are replaced, `|` escaped, line breaks flattened.
- `xml_text`: characters XML 1.0 forbids (C0 controls but tab, line feed and carriage
  return; U+FFFE, U+FFFF; lone surrogates) are shown as `\\xNN` escapes; the autoescape of the
  environment then escapes `& < > " '`. HTML reports use the same.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup

# CommonMark: any ASCII punctuation may be backslash-escaped. Escaped here is what can start
# markup where it stands, so that plain text ("< 200 ms", "NO_DATA") stays readable: code,
# emphasis, links and images, strikethrough, table pipes, raw HTML and autolinks (`<` before a
# letter, `/`, `!` or `?`), entities (`&` before a letter or `#`), emphasis by `_` at a word
# boundary, and a heading or block quote at the start of a value.
MARKDOWN_SPECIAL = re.compile(
    r"([\\`*\[\]|~])|(<(?=[A-Za-z/!?]))|(&(?=[A-Za-z#]))|((?<![A-Za-z0-9])_|_(?![A-Za-z0-9]))|(^[#>])"
)
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
XML_FORBIDDEN = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
# In a `<...>` link destination, these would end it or start markup (CommonMark, "link destination").
URL_ENCODE = {"<": "%3C", ">": "%3E", " ": "%20", "\\": "%5C", "|": "%7C"}
LINE_BREAK = re.compile(r"\r\n|\r|\n|\u2028|\u2029")


def markdown_text(value: Any) -> Any:
    """`value` as literal Markdown text (Markup and non-strings other than None pass unchanged)."""
    if isinstance(value, Markup) or (value is not None and not isinstance(value, str)):
        return value
    text = "None" if value is None else value
    lines = LINE_BREAK.split(text)
    return Markup(
        "<br>".join(MARKDOWN_SPECIAL.sub(lambda m: "\\" + m.group(), CONTROL.sub(" ", line)) for line in lines)
    )


def markdown_code(value: Any) -> Markup:
    """`value` for a code span: one line, no backtick to close it early, `|` escaped for tables."""
    text = LINE_BREAK.sub(" ", CONTROL.sub(" ", str(value)))
    return Markup(text.replace("`", "'").replace("|", "\\|"))


def markdown_url(value: Any) -> Markup:
    """`value` as a Markdown link destination: in angle brackets, with what could end it encoded."""
    text = LINE_BREAK.sub("", CONTROL.sub("", str(value)))
    return Markup("<" + "".join(URL_ENCODE.get(char, char) for char in text) + ">")


def xml_text(value: Any) -> Any:
    """`value` with the characters XML 1.0 cannot hold written as `\\xNN` (escaped afterwards by autoescape)."""
    if not isinstance(value, str) or isinstance(value, Markup):
        return value
    return XML_FORBIDDEN.sub(lambda m: f"\\x{ord(m.group()):02x}", value)


def markdown_environment(directory: Path) -> Environment:
    """A Jinja environment for Markdown reports: every `{{ value }}` is literal text (`markdown_text`),
    and `| code` renders a value inside a code span (`markdown_code`)."""
    environment = Environment(
        loader=FileSystemLoader(directory),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        finalize=markdown_text,
    )
    environment.filters["code"] = markdown_code
    return environment
