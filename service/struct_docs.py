"""Where a Struct's field documentation lives when it is not a ``Meta(description=...)``: the
trailing ``# comment`` on the field's line (read for the OpenAPI document; the ``.proto`` files
carry their own comments, edited by hand)."""

from __future__ import annotations

import functools
import inspect
import io
import re
import textwrap
import tokenize


@functools.cache
def source_comments(cls: type) -> dict[str, str]:
    """Trailing ``# comments`` on the field lines of a class body (field name -> comment)."""
    try:
        source = textwrap.dedent(inspect.getsource(cls))
    except (OSError, TypeError):
        return {}
    comments: dict[str, str] = {}
    line_fields: dict[int, str] = {}
    for number, line in enumerate(source.splitlines(), start=1):
        match = re.match(r"^    (\w+)\s*:", line)
        if match:
            line_fields[number] = match.group(1)
    try:
        for token in tokenize.generate_tokens(io.StringIO(source).readline):
            if token.type == tokenize.COMMENT and token.start[0] in line_fields:
                text = token.string.lstrip("#").strip()
                if text and not text.startswith(("noqa", "type:")):
                    comments[line_fields[token.start[0]]] = text
    except (tokenize.TokenError, SyntaxError):
        return comments
    return comments
