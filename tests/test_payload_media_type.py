"""The Content-Type memo of the body reader: same answers as Django's parser, and bounded."""
from __future__ import annotations

from django.utils.http import parse_header_parameters

from smartlayer.detectors.payload import body


def test_media_type_answers_like_djangos_parser_first_and_second_time():
    for ct in ("application/x-www-form-urlencoded", "application/json; charset=UTF-8",
               'multipart/form-data; boundary="----x y"', "text/plain;charset=latin-1", ""):
        expected = parse_header_parameters(ct)
        assert body.media_type(ct) == expected
        assert body.media_type(ct) == expected      # from the memo


def test_media_type_memo_never_grows_past_its_bound(monkeypatch):
    monkeypatch.setattr(body, "_MEDIA_MEMO", {})
    for i in range(body._MEDIA_MEMO_SIZE * 3 + 7):
        media, params = body.media_type(f"multipart/form-data; boundary=b{i}")
        assert (media, params["boundary"]) == ("multipart/form-data", f"b{i}")
        assert len(body._MEDIA_MEMO) <= body._MEDIA_MEMO_SIZE


def test_unparseable_content_type_reads_as_no_media_type(monkeypatch):
    def broken(value):
        raise ValueError("bad header")

    monkeypatch.setattr(body, "_MEDIA_MEMO", {})
    monkeypatch.setattr(body, "parse_header_parameters", broken)
    assert body.media_type("text/x; a=b") == ("", {})
