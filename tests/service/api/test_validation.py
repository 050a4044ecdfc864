"""Body validation: every rule names the field/index and the limit (no server needed)."""

import pytest

from service.api.validation import RequestError, parse_explain, parse_predict


def err(body: bytes, max_texts: int = 4, max_chars: int = 10) -> RequestError:
    with pytest.raises(RequestError) as e:
        parse_predict(body, max_texts, max_chars)
    return e.value


def test_valid_bodies():
    assert parse_predict(b'{"texts": ["a", " b "]}', 4, 10) == ["a", " b "]
    assert parse_predict('{"texts": ["caf\u00e9 \U0001f600"]}'.encode(), 4, 10) == ["caf\u00e9 \U0001f600"]
    assert parse_explain(b'{"text": "hello"}', 10) == "hello"


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        (b'{"texts": ["a", "b", "c", "d", "e"]}', "texts", "texts: 5 texts, the limit is 4 per request"),
        (b'{"texts": ["a", "12345678901"]}', "texts[1]", "texts[1]: text has 11 characters, the limit is 10"),
        (b'{"texts": ["a", "\\u3000"]}', "texts[1]", "texts[1]: empty or whitespace-only text"),
        (b'{"texts": ["a", 1.5]}', "texts[1]", "texts[1]: expected a string, got number"),
        (b'{"texts": ["\\udfff"]}', "texts[0]", "texts[0]: invalid Unicode: lone surrogate '\\udfff' at character 0"),
        (b'{"texts": {"0": "a"}}', "texts", "texts: expected an array of strings, got object"),
        (b'{"texts": ["a"], "model": "x"}', "model", "unknown field 'model'"),
        (b"[]", "body", "request body: expected a JSON object"),
    ],
)
def test_field_and_limit_are_named(body, field, message):
    e = err(body)
    assert e.status == 400 and e.field == field and message in e.message
    assert e.body() == {"error": e.message, "field": field}


def test_malformed_bytes():
    assert "not valid UTF-8 (byte 12" in err(b'{"texts": ["\xc3\x28"]}').message
    assert "invalid JSON at line 2 column 1" in err(b'{"texts": ["a"]\n').message
    assert "nested too deeply" in err(b"[" * 100_000).message
    assert "empty request body" in err(b"\n").message
    assert err(b'{"texts": ["a"]} trailing').reason == "bad_json"


def test_explain_body():
    with pytest.raises(RequestError, match="text: expected a string, got null"):
        parse_explain(b'{"text": null}', 10)
    with pytest.raises(RequestError, match="text: text has 11 characters, the limit is 10"):
        parse_explain(b'{"text": "12345678901"}', 10)


def test_the_documented_text_pattern_means_what_validation_accepts():
    """The OpenAPI pattern and the server must agree on every character (schemathesis found \\x1c: blank for
    str.isspace(), not for the \\s of JSON Schema's regex)."""
    import re

    from service.api.validation import TEXT_PATTERN, RequestError, check_text

    pattern = re.compile(TEXT_PATTERN)
    for code in [*range(0x3100), *range(0xFEF0, 0x10000)]:
        c = chr(code)
        if 0xD800 <= code <= 0xDFFF:
            continue
        for text in (c, f"{c}{c}", f"a{c}", f"{c} "):
            try:
                check_text("t", text, 100)
                accepted = True
            except RequestError:
                accepted = False
            assert accepted == bool(pattern.match(text)), (hex(code), text)
