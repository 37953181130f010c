"""The validator reads a body only when there is one to scan, and never takes it from the view."""
from __future__ import annotations

import hashlib
import io
import json

import pytest
from asgiref.sync import async_to_sync
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import AsyncClient
from django.test.client import BOUNDARY, encode_multipart

from smartlayer.detectors.payload.body import Replay, multipart_fields
from smartlayer.detectors.payload.scan import scan_request
from tests.conftest import BROWSER_UA

pytestmark = pytest.mark.django_db

UPLOAD = b"%PDF-1.4\n" + bytes(range(256)) * 40 + b"<script>alert(1)</script>"   # file parts are not scanned
FORM = {"title": "holiday", "tags": ["sea", "sun"]}


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


#: Raw multipart bytes go through the test client untouched under this spelling (quoted boundary).
MULTIPART_CONTENT = f'multipart/form-data; boundary="{BOUNDARY}"'


def multipart(**extra) -> bytes:
    return encode_multipart(BOUNDARY, {**FORM, "doc": SimpleUploadedFile("a.pdf", UPLOAD, "application/pdf"),
                                       **extra})


class CountingStream(io.BytesIO):
    """A WSGI input that counts the reads: a body that never arrives would block each one."""

    def __init__(self, data: bytes = b"") -> None:
        super().__init__(data)
        self.reads = 0

    def read(self, *args):
        self.reads += 1
        return super().read(*args)

    def readline(self, *args):
        self.reads += 1
        return super().readline(*args)


# ── the view reads what was sent, whatever the validator read ──────────────

@pytest.mark.parametrize(("body", "content_type"), [
    (b"name=jane&comment=Rock+%26+roll", "application/x-www-form-urlencoded"),
    (json.dumps({"name": "jane", "tags": ["a", "b"]}).encode(), "application/json"),
    (multipart(), MULTIPART_CONTENT),
])
@pytest.mark.parametrize("view", ["/body/read/", "/body/stream/"])
def test_the_view_reads_the_whole_body(browser, view, body, content_type):
    r = browser.post(view, data=body, content_type=content_type)
    assert r.status_code == 200
    assert r.json() == {"len": len(body), "sha256": sha(body)}


def test_a_csrf_exempt_view_reads_request_body_of_a_multipart_post(browser):
    """It got RawPostDataException (a 500): the validator had parsed request.POST."""
    body = multipart()
    r = browser.post("/body/read/", data=body, content_type=MULTIPART_CONTENT)
    assert r.status_code == 200 and r.json()["sha256"] == sha(body)


def test_the_view_reads_multipart_fields_and_files(browser):
    r = browser.post("/body/form/", data=multipart(), content_type=MULTIPART_CONTENT)
    assert r.status_code == 200
    assert r.json() == {"post": {"title": ["holiday"], "tags": ["sea", "sun"]}, "files": {"doc": ["a.pdf", sha(UPLOAD)]}}


def test_the_view_reads_urlencoded_fields(browser):
    r = browser.post("/body/form/", data="name=jane&tag=a&tag=b", content_type="application/x-www-form-urlencoded")
    assert r.json() == {"post": {"name": ["jane"], "tag": ["a", "b"]}, "files": {}}


def test_the_view_can_still_choose_its_upload_handlers(browser):
    """Setting request.upload_handlers raised once the validator had read request.POST."""
    r = browser.post("/body/handlers/", data=multipart(), content_type=MULTIPART_CONTENT)
    assert r.status_code == 200
    assert r.json()["view_handler"] is True and r.json()["files"] == {"doc": ["a.pdf", sha(UPLOAD)]}


def test_an_attack_in_a_multipart_text_field_is_still_blocked(browser):
    r = browser.post("/body/read/", data=multipart(comment="<script>alert(1)</script>"), content_type=MULTIPART_CONTENT)
    assert r.status_code == 403


def test_a_multipart_field_is_scanned_and_the_file_is_not(rf):
    request = rf.post("/x/", data=multipart(comment="1; DROP TABLE users"), content_type=MULTIPART_CONTENT)
    result = scan_request(request)
    assert result.hits == ["sqli_stacked_query@body", "sqli_destructive@body"]
    assert result.skipped == ["multipart:file_parts"] and not result.truncated
    assert request.FILES["doc"].read() == UPLOAD and request.POST["comment"] == "1; DROP TABLE users"


# ── bodies that are not read ───────────────────────────────────────────────

@pytest.mark.parametrize("method", ["GET", "HEAD", "OPTIONS", "TRACE"])
def test_a_declared_body_of_a_method_without_one_is_never_read(client, method):
    """Two clients declaring 1000 bytes and sending none held both workers until the server's timeout."""
    stream = CountingStream()
    r = client.generic(method, "/page/1", HTTP_USER_AGENT=BROWSER_UA, CONTENT_LENGTH="1000",
                       CONTENT_TYPE="application/x-www-form-urlencoded", **{"wsgi.input": stream})
    assert r.status_code == 200
    assert stream.reads == 0


def test_a_binary_body_is_never_read(rf):
    stream = CountingStream(b"\x89PNG<script>")
    request = rf.generic("POST", "/x/", CONTENT_TYPE="image/png", CONTENT_LENGTH="13", **{"wsgi.input": stream})
    result = scan_request(request)
    assert result.skipped == ["body:binary"] and stream.reads == 0
    assert request.body == b"\x89PNG<script>"


XXE = b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><r>&x;</r>'


@pytest.mark.parametrize("data", [XXE, b"  \n" + XXE, b"\xef\xbb\xbf" + XXE, XXE.decode().encode("utf-16"),
                                  b'{"q": "1 union select password from users"}'])
def test_xml_or_json_declared_as_bytes_is_read_as_what_it_is(rf, data):
    """``application/octet-stream`` names no format, and a service that parses what it is sent reads XML or JSON
    declared so: a body that opens as one is scanned (an XXE declared as bytes scored 0), and the view gets it whole."""
    stream = CountingStream(data)
    request = rf.generic("POST", "/x/", CONTENT_TYPE="application/octet-stream", CONTENT_LENGTH=str(len(data)),
                         **{"wsgi.input": stream})
    result = scan_request(request)
    assert result.score >= 3 and "body:binary" not in result.skipped, result.hits
    assert request.body == data


@pytest.mark.parametrize("data", [b"\x89PNG\r\n\x1a\n" + b"<script>" * 50, b"%PDF-1.7 <script>", b"PK\x03\x04<!DOCTYPE"])
def test_a_file_declared_as_bytes_is_read_no_further_than_its_magic(rf, data):
    stream = CountingStream(data)
    request = rf.generic("POST", "/x/", CONTENT_TYPE="application/octet-stream", CONTENT_LENGTH=str(len(data)),
                         **{"wsgi.input": stream})
    result = scan_request(request)
    assert result.skipped == ["body:binary"] and result.score == 0
    assert stream.tell() <= 16 and stream.reads <= 1         # the sniff's 16 bytes, handed back to the view
    assert request.body == data


# ── only a prefix is read ──────────────────────────────────────────────────

def test_a_body_beyond_the_limit_is_scanned_up_to_it_and_reaches_the_view_whole(browser, sl):
    sl(VALIDATOR_MAX_BYTES=1000)
    late = b"a" * 1500 + b"<script>alert(1)</script>"
    r = browser.post("/body/read/", data=late, content_type="text/plain")
    assert r.status_code == 200 and r.json() == {"len": len(late), "sha256": sha(late)}
    early = b"<script>alert(1)</script>" + b"a" * 1500
    assert browser.post("/body/read/", data=early, content_type="text/plain").status_code == 403


def test_only_the_prefix_is_read_from_the_stream(rf, sl):
    sl(VALIDATOR_MAX_BYTES=1000)
    body = b"x" * 5000
    stream = CountingStream(body)
    request = rf.generic("POST", "/x/", CONTENT_TYPE="text/plain", CONTENT_LENGTH=str(len(body)),
                         **{"wsgi.input": stream})
    result = scan_request(request)
    assert result.truncated and result.score == 0
    assert stream.tell() == 1001                    # the limit, and one byte to know there is more
    assert request.body == body


def test_multipart_fields_beyond_the_prefix_are_not_scanned(rf, sl):
    sl(VALIDATOR_MAX_BYTES=2000)
    request = rf.post("/x/", data=multipart(zz="<script>alert(1)</script>"), content_type=MULTIPART_CONTENT)
    result = scan_request(request)
    assert result.score == 0 and result.truncated
    assert request.POST["zz"] == "<script>alert(1)</script>"


def test_a_body_someone_read_before_is_scanned_from_memory(rf):
    request = rf.post("/x/", data="<script>alert(1)</script>", content_type="text/plain")
    assert request.body
    assert "xss_script_tag@body" in scan_request(request).hits


# ── ASGI: the body is a spooled file Django already received ───────────────

def asgi_post(path: str, body: bytes):
    """A POST through Django's ASGI handler (headers per request: see tests/test_asgi.py)."""
    return async_to_sync(AsyncClient().post)(path, data=body, content_type=MULTIPART_CONTENT,
                                             headers={"user-agent": BROWSER_UA})


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("view", ["/body/read/", "/body/form/"])
def test_asgi_views_read_the_whole_multipart_body(view):
    body = multipart()
    r = asgi_post(view, body)
    assert r.status_code == 200
    expected = ({"len": len(body), "sha256": sha(body)} if view == "/body/read/"
                else {"post": {"title": ["holiday"], "tags": ["sea", "sun"]}, "files": {"doc": ["a.pdf", sha(UPLOAD)]}})
    assert r.json() == expected


@pytest.mark.django_db(transaction=True)
def test_asgi_attack_in_a_multipart_field_is_blocked():
    assert asgi_post("/body/read/", multipart(c="hello")).status_code == 200
    assert asgi_post("/body/read/", multipart(c="' OR 1=1--")).status_code == 403


# ── the pieces ─────────────────────────────────────────────────────────────

def test_replay_hands_out_the_prefix_then_the_rest():
    def replay() -> Replay:
        rest = io.BytesIO(b"ef\ngh\nij")
        return Replay(b"ab\ncd", rest)

    assert replay().read() == b"ab\ncdef\ngh\nij"
    assert replay().read(4) == b"ab\nc"
    stream = replay()
    assert [stream.read(3), stream.read(4), stream.read(100), stream.read(1)] == [b"ab\n", b"cdef", b"\ngh\nij", b""]
    stream = replay()
    assert list(iter(stream.readline, b"")) == [b"ab\n", b"cdef\n", b"gh\n", b"ij"]
    assert replay().readline(2) == b"ab" and not replay().seekable()


def test_multipart_parser_follows_django():
    body = (b"preamble\r\n--B\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\none\r\n"
            b"--B\r\nContent-Disposition: form-data; name=\"f\"; filename=\"x.txt\"\r\n\r\n<script>\r\n"
            b"--B\r\nContent-Disposition: form-data; name=\"e\"; filename=\"\"\r\n\r\nempty name is a field\r\n"
            b"--B\r\nContent-Disposition: form-data; name=\"b\"\r\nContent-Transfer-Encoding: base64\r\n\r\n"
            b"PHNjcmlwdD4=\r\n--B\r\nContent-Type: text/plain\r\n\r\nno name: ignored\r\n--B--\r\n")
    fields, has_files, ended = multipart_fields(body, b"B")
    assert fields == {"a": ["one"], "e": ["empty name is a field"], "b": ["<script>"]}
    assert has_files and ended
    fields, has_files, ended = multipart_fields(body[:61], b"B")
    assert fields == {"a": ["on"]} and not ended
