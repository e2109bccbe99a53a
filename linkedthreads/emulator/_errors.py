"""Every error the emulator answers, built in this one place.

Each function returns an :class:`APIError` whose body is OpenAI's
``{"error": {"message", "type", "param", "code"}}``.  Texts marked FACTS are copied from
``FACTS.md``; the others follow OpenAI's usual validation style and are listed as such in
``docs/emulator.md``.  The state layer raises these; the HTTP layer only serialises them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

INVALID_REQUEST = "invalid_request_error"


class APIError(Exception):
    """An error answer: HTTP status, the four body fields, and extra response headers."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type: str = INVALID_REQUEST,
        param: str | None = None,
        code: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type
        self.param = param
        self.code = code
        self.headers: dict[str, str] = dict(headers or {})

    def body(self) -> dict[str, dict[str, str | None]]:
        """The JSON body, e.g. ``{"error": {"message": ..., "type": ..., ...}}``."""
        return {
            "error": {
                "message": self.message,
                "type": self.type,
                "param": self.param,
                "code": self.code,
            }
        }

    def __repr__(self) -> str:
        return (
            f"APIError({self.status}, {self.message!r}, param={self.param!r}, code={self.code!r})"
        )


def type_phrase(value: object) -> str:
    """How OpenAI names the JSON type of ``value`` in "but got ... instead".

    >>> [type_phrase(v) for v in (None, True, 1, 1.5, "x", [], {})]
    ['null', 'a boolean', 'an integer', 'a decimal', 'a string', 'an array', 'an object']
    """
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a decimal"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


def _quoted_list(values: Sequence[str]) -> str:
    quoted = [f"'{v}'" for v in values]
    if len(quoted) <= 2:
        return " and ".join(quoted)
    return ", ".join(quoted[:-1]) + ", and " + quoted[-1]


# --- authentication and headers ----------------------------------------------------------


def missing_api_key() -> APIError:
    """401 with no or an empty bearer key (FACTS: message begins "You didn't provide...")."""
    return APIError(
        401,
        "You didn't provide an API key. You need to provide your API key in an Authorization "
        "header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY), or as the password "
        "field (with blank username) if you're accessing the API from your browser and are "
        "prompted for a username and password. You can obtain an API key from "
        "https://platform.openai.com/account/api-keys.",
    )


def mask_key(key: str) -> str:
    """Mask an API key the way OpenAI does: first 3 and last 4 characters kept.

    >>> mask_key("sk-abcdefghijklmnop1234")
    'sk-****************1234'
    >>> mask_key("short")
    '*****'
    """
    if len(key) < 12:
        return "*" * len(key)
    return key[:3] + "*" * (len(key) - 7) + key[-4:]


def incorrect_api_key(key: str) -> APIError:
    """401 ``invalid_api_key`` when the emulator was started with another key."""
    return APIError(
        401,
        f"Incorrect API key provided: {mask_key(key)}. You can find your API key at "
        "https://platform.openai.com/account/api-keys.",
        code="invalid_api_key",
    )


def invalid_beta() -> APIError:
    """400 ``invalid_beta``: a threads route without ``OpenAI-Beta: assistants=v2`` (FACTS)."""
    return APIError(
        400,
        "You must provide the 'OpenAI-Beta' header to access the Assistants API. Please try "
        "again by setting the header 'OpenAI-Beta: assistants=v2'.",
        code="invalid_beta",
    )


def invalid_url(method: str, path: str) -> APIError:
    """404 for an unknown URL, and for every threads route once the Assistants API is sunset."""
    return APIError(404, f"Invalid URL ({method} {path})")


def method_not_allowed(method: str, path: str, allow: Sequence[str]) -> APIError:
    """405 with an ``Allow`` header for a known path used with another method."""
    return APIError(405, f"Invalid URL ({method} {path})", headers={"allow": ", ".join(allow)})


def invalid_json() -> APIError:
    """400 when the body is not JSON (OpenAI's wording)."""
    return APIError(
        400,
        "We could not parse the JSON body of your request. (HINT: This likely means you aren't "
        "using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was "
        "sent was not valid JSON. If you have trouble figuring out how to fix this, please "
        "contact us through our help center at help.openai.com.)",
    )


# --- rate limits and injected faults -----------------------------------------------------


def rate_limited(retry_after_s: float | None, headers: Mapping[str, str] | None = None) -> APIError:
    """429 ``rate_limit_exceeded`` (FACTS body), with ``retry-after`` if given."""
    extra = dict(headers or {})
    if retry_after_s is not None:
        extra["retry-after"] = (
            str(int(retry_after_s)) if float(retry_after_s).is_integer() else str(retry_after_s)
        )
    return APIError(
        429,
        "You've exceeded the rate limit, please slow down and try again later.",
        code="rate_limit_exceeded",
        headers=extra,
    )


def server_error() -> APIError:
    """500 as OpenAI words it."""
    return APIError(
        500,
        "The server had an error while processing your request. Sorry about that!",
        type="server_error",
    )


def overloaded() -> APIError:
    """503 as OpenAI words it."""
    return APIError(503, "The server is overloaded or not ready yet.", type="server_error")


def injected(kind: str, retry_after_s: float | None) -> APIError:
    """The answer of an injected ``"429"``, ``"500"`` or ``"503"`` fault."""
    if kind == "429":
        return rate_limited(retry_after_s)
    return server_error() if kind == "500" else overloaded()


# --- missing objects and IDs (FACTS) -----------------------------------------------------


def thread_not_found(thread_id: str) -> APIError:
    return APIError(404, f"No thread found with id '{thread_id}'.")


def message_not_found(message_id: str) -> APIError:
    return APIError(404, f"No message found with id '{message_id}'.")


def conversation_not_found(conversation_id: str) -> APIError:
    return APIError(404, f"Conversation with id '{conversation_id}' not found.")


def item_not_found(item_id: str) -> APIError:
    return APIError(404, f"Item with id '{item_id}' not found in conversation.")


def invalid_id_prefix(param: str, value: str, prefix: str) -> APIError:
    """400 for an ID with the wrong prefix (FACTS: "Expected an ID that begins with ...")."""
    return APIError(
        400,
        f"Invalid '{param}': '{value}'. Expected an ID that begins with '{prefix}'.",
        param=param,
        code="invalid_value",
    )


# --- metadata (FACTS table) --------------------------------------------------------------


def metadata_too_many(count: int, maximum: int = 16, param: str = "metadata") -> APIError:
    return APIError(
        400,
        f"Invalid '{param}': too many properties. Expected an object with at most {maximum} "
        f"properties, but got an object with {count} properties instead.",
        param=param,
        code="object_above_max_properties",
    )


def metadata_key_too_long(
    key: str, length: int, maximum: int = 64, param: str = "metadata"
) -> APIError:
    return APIError(
        400,
        f"Invalid property name in '{param}': '{key}' is too long. Expected a string with "
        f"maximum length {maximum}, but got a string with length {length} instead.",
        param=f"{param}.{key}",
        code="property_name_above_max_length",
    )


def metadata_not_object(value: object, param: str = "metadata") -> APIError:
    return APIError(
        400,
        f"Invalid type for '{param}': expected a metadata object, but got "
        f"{type_phrase(value)} instead.",
        param=param,
        code="invalid_type",
    )


def metadata_not_ascii(key: str, param: str = "metadata") -> APIError:
    """400 under ``metadata_text="ascii_reject"`` (a setting: the record is silent)."""
    return APIError(
        400,
        f"Invalid '{param}.{key}': metadata keys and values must be ASCII.",
        param=f"{param}.{key}",
        code="invalid_value",
    )


def metadata_key_not_ascii(key: str, param: str = "metadata") -> APIError:
    """400 under ``metadata_keys="ascii_reject"`` (a setting: the record is silent), in the
    shape of the record's key error (``property_name_above_max_length``)."""
    return APIError(
        400,
        f"Invalid property name in '{param}': '{key}' contains non-ASCII characters. "
        "Expected a string of ASCII characters.",
        param=f"{param}.{key}",
        code="invalid_value",
    )


# --- generic validation ------------------------------------------------------------------


def invalid_type(param: str, expected: str, value: object) -> APIError:
    """E.g. "Invalid type for 'metadata.k': expected a string, but got an integer instead."."""
    return APIError(
        400,
        f"Invalid type for '{param}': expected {expected}, but got {type_phrase(value)} instead.",
        param=param,
        code="invalid_type",
    )


def invalid_value(param: str, value: object, supported: Sequence[str]) -> APIError:
    """E.g. "Invalid value: 'up'. Supported values are: 'asc' and 'desc'."."""
    return APIError(
        400,
        f"Invalid value: '{value}'. Supported values are: {_quoted_list(supported)}.",
        param=param,
        code="invalid_value",
    )


def string_too_long(param: str, length: int, maximum: int) -> APIError:
    return APIError(
        400,
        f"Invalid '{param}': string too long. Expected a string with maximum length {maximum}, "
        f"but got a string with length {length} instead.",
        param=param,
        code="string_above_max_length",
    )


def integer_above_max(param: str, value: int, maximum: int) -> APIError:
    return APIError(
        400,
        f"Invalid '{param}': integer above maximum value. Expected a value <= {maximum}, but "
        f"got {value} instead.",
        param=param,
        code="integer_above_max_value",
    )


def integer_below_min(param: str, value: int, minimum: int) -> APIError:
    return APIError(
        400,
        f"Invalid '{param}': integer below minimum value. Expected a value >= {minimum}, but "
        f"got {value} instead.",
        param=param,
        code="integer_below_min_value",
    )


def array_too_long(param: str, length: int, maximum: int) -> APIError:
    return APIError(
        400,
        f"Invalid '{param}': array too long. Expected an array with maximum length {maximum}, "
        f"but got an array with length {length} instead.",
        param=param,
        code="array_above_max_length",
    )


def empty_array(param: str) -> APIError:
    return APIError(
        400,
        f"Invalid '{param}': empty array. Expected an array with minimum length 1, but got an "
        "empty array instead.",
        param=param,
        code="empty_array",
    )


def empty_message_content(param: str) -> APIError:
    """A thread message with empty content (recorded answer, ``param: "content"``)."""
    return APIError(400, "Message content must be non-empty.", param=param)


def missing_required(param: str) -> APIError:
    return APIError(
        400,
        f"Missing required parameter: '{param}'.",
        param=param,
        code="missing_required_parameter",
    )


def unknown_parameter(param: str) -> APIError:
    return APIError(400, f"Unknown parameter: '{param}'.", param=param, code="unknown_parameter")


def not_emulated(param: str, what: str) -> APIError:
    """400 for something OpenAI accepts but the emulator does not model (files, tools...)."""
    return APIError(
        400,
        f"Invalid '{param}': the linkedthreads emulator does not support {what}.",
        param=param,
        code="invalid_value",
    )
