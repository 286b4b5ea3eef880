"""A JSON response rendered by orjson (fast; datetimes in ISO 8601)."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import JSONResponse


class FastJSONResponse(JSONResponse):
    """A JSON response serialised by orjson (non-string dict keys allowed)."""

    def render(self, content: Any) -> bytes:
        """The body as JSON bytes.

        Parameters
        ----------
        content : object
            The JSON-ready value.

        Returns
        -------
        bytes
            UTF-8 JSON.

        Examples
        --------
        >>> FastJSONResponse({1: "a"}).body
        b'{"1":"a"}'
        """
        return orjson.dumps(content, option=orjson.OPT_NON_STR_KEYS)
