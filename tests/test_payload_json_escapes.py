"""A JSON text's many ``\\uXXXX`` escapes, decoded by the C string scanner (:mod:`.json_escapes`):
the same text as the normaliser's own escape decoder makes, and that decoder not called."""
import importlib
import json
import random

D = importlib.import_module("smartlayer.detectors.payload.decoders")
J = importlib.import_module("smartlayer.detectors.payload.json_escapes")

#: Escapes of every kind the decoder knows (pairs, lone and reversed surrogates, either case, ``\\x``)
#: and what looks like one without being one (a doubled backslash, a cut escape, JSON's ``\\n``, quotes).
PIECES = ["\\ud83d\\ude00", "\\ud800", "\\udc00", "\\uD83D", "\\uDE00", "\\u0041", "\\U0041", "\\x41", "\\X7f",
          "\\u003c", "\\u00e9", "\\uffff", "\\udbff\\udfff", "\\ud800\\ud800\\udc00", "\\u0000", "\\x00", "\\xd8",
          "\\ud83d\\x41", "a", " ", '"', "\\", "\\u12", "\\x4", "\\U", "\\X", "\\n", '\\"', "\\\\", "u", "d83d",
          "DE00", "x", "0", "\\u", "\\ud8", "%", "&#", "\n", "\t", "\x00", "\\N{DASH}", "\\777", "\\0", "'"]


def _own_decoder(text):
    return D._decode_escapes(text, D._ESCAPE_RE, flag_metachars=False)[0]


def test_the_same_text_as_the_decoder_makes_on_generated_texts():
    rng = random.Random(11)
    for _ in range(3000):
        text = "".join(rng.choice(PIECES) for _ in range(rng.randrange(1, 40)))
        text = "\\u0041" * J.MANY_ESCAPES + text if rng.random() < 0.7 else text + "\\u00e9" * J.MANY_ESCAPES
        assert J.json_unescaped(text) == _own_decoder(text), text


def test_json_of_random_characters_cut_anywhere():
    """What a body cut at its size limit leaves: an escape, a surrogate pair or a quote cut in two."""
    rng = random.Random(4)
    chars = [chr(rng.choice([rng.randrange(32, 127), rng.randrange(0xA0, 0xD800), rng.randrange(0x10000, 0x10FFFF)]))
             for _ in range(600)]
    document = json.dumps(["".join(chars[i:i + 50]) for i in range(0, 600, 50)])
    for cut in range(len(document) - 40, len(document) + 1):
        assert J.json_unescaped(document[:cut]) == _own_decoder(document[:cut])
    assert J.json_unescaped(document) == _own_decoder(document) == json.dumps(json.loads(document), ensure_ascii=False)


def test_not_taken_for_few_escapes_or_text_that_is_not_ascii():
    assert J.json_unescaped("\\u0041" * (J.MANY_ESCAPES - 1)) is None
    assert J.json_unescaped("é" + "\\u0041" * J.MANY_ESCAPES) is None
    assert J.json_unescaped("\\u0041" * J.MANY_ESCAPES) == "A" * J.MANY_ESCAPES


def test_a_json_round_with_many_escapes_does_not_split_them(monkeypatch):
    """The round of a JSON text takes the scanner's path; a text that is not JSON still the decoder's,
    whose marker for an escaped metacharacter it keeps."""
    calls = []
    real = D._decode_escapes
    monkeypatch.setattr(D, "_decode_escapes", lambda *a, **k: calls.append(1) or real(*a, **k))
    text = json.dumps("".join(chr(0x4E00 + i) for i in range(500)) + "<script>")
    decoded, markers = D._decode_once(text, plus=False, json_text=True)
    assert calls == [] and markers == 0
    assert decoded == json.dumps(json.loads(text), ensure_ascii=False)
    decoded, markers = D._decode_once(text.replace("<", "\\u003c"), plus=False, json_text=False)
    assert calls == [1] and markers & D._ESCAPES and decoded.endswith('<script>"')


def test_a_cut_json_body_scores_the_same_either_way(monkeypatch):
    """A JSON body of non-Latin text and an attack, cut at the size limit: the same verdict and hits
    as the decoder's own path gives."""
    from django.test import RequestFactory, override_settings

    from smartlayer.detectors.payload.scan import scan_request

    items = ["".join(chr(0x4E00 + (i * 37 + j) % 3000) for j in range(300)) for i in range(40)]
    items.insert(20, "1' union select password from users--")
    body = json.dumps(items).encode()
    request = RequestFactory().post("/", data=body, content_type="application/json")
    with override_settings(SMART_MIDDLEWARE={"VALIDATOR_MAX_BYTES": len(body) - 100}):
        fast = scan_request(request)
        monkeypatch.setattr(D, "json_unescaped", lambda text: None)
        own = scan_request(RequestFactory().post("/", data=body, content_type="application/json"))
    assert fast.score >= 3
    assert (fast.score, fast.hits, fast.excerpt) == (own.score, own.hits, own.excerpt)
