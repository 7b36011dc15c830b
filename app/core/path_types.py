"""Path parameter types for routes whose templated path sits beside a literal one.

`/v1/journal/{entry_id}` beside `/v1/journal/tags`: without a type, `DELETE /v1/journal/tags`
matches the template (and fails as an id that is not a UUID) instead of answering 405 with
the literal path's `Allow`. Typed parameters (`{entry_id:uuid}`, Starlette's own, and
`{local_date:date}` below) match only what they can be, so a literal sibling is routed, and
refused, as itself. Import this module before declaring a route that uses `:date`.
"""

from __future__ import annotations

from starlette.convertors import Convertor, register_url_convertor


class DateConvertor(Convertor[str]):
    """A calendar date as `YYYY-MM-DD`; the endpoint's own parsing checks it is a real day."""

    regex = r"[0-9]{4}-[0-9]{2}-[0-9]{2}"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("date", DateConvertor())
