"""A multipart body's file names are scanned as their field's values: text the client chose, which a site may
store and show (an upload list, an e-mail), so an attack in it is an attack like any other field's.

The file's content is not scanned (``multipart:file_parts`` says so); the parameters the log and the site
profile keep are the text fields alone, as before.
"""
from __future__ import annotations

import pytest

from smartlayer.detectors.payload import body, scan_request
from smartlayer.profile.pending import resolved

BLOCK = 3


def _upload(filename: str) -> bytes:
    return (b'--B\r\nContent-Disposition: form-data; name="title"\r\n\r\nholiday\r\n'
            b'--B\r\nContent-Disposition: form-data; name="photo"; filename="' + filename.encode() + b'"\r\n'
            b"Content-Type: image/png\r\n\r\n\x89PNG <script>not scanned</script>\r\n--B--\r\n")


def test_the_parser_hands_out_each_file_parts_name():
    fields, files, ended = body.multipart_parts(_upload("a.png"), b"B")
    assert fields == {"title": ["holiday"]} and files == {"photo": ["a.png"]} and ended


@pytest.mark.parametrize("filename", ["../../../etc/passwd", "..\\..\\..\\windows\\win.ini",
                                      '"><img src=x onerror=alert(1)>.png', "a;cat /etc/passwd;.png"])
def test_an_attack_in_a_file_name_is_blocked(rf, filename):
    result = scan_request(rf.post("/up", data=_upload(filename), content_type="multipart/form-data; boundary=B"))
    assert result.score >= BLOCK and all(hit.endswith("@body") for hit in result.hits), result.hits
    assert "multipart:file_parts" in result.skipped


@pytest.mark.parametrize("filename", ["IMG_2024-07-01 (1).png", "Zoë's CV – final.pdf", "report.v2.tar.gz",
                                      "notes; draft.txt", "C:\\Users\\me\\Pictures\\cat.jpg"])
def test_ordinary_file_names_pass_and_the_fields_kept_are_the_text_fields(rf, filename):
    """(A whole Windows path, as old browsers sent it, is a hint at most: it names a user's directory.)"""
    result = scan_request(rf.post("/up", data=_upload(filename), content_type="multipart/form-data; boundary=B"))
    assert result.score == 0 or (filename.startswith("C:") and result.score < BLOCK), result.hits
    assert [name for _, name, *_ in resolved(result.params)] == ["title"]


def test_a_body_django_parsed_already_has_its_file_names_scanned(rf):
    """``request.FILES`` read before the scan: the names as Django cleaned them (no directories), scanned."""
    request = rf.post("/up", data=_upload('"><svg onload=alert(1)>.png'), content_type="multipart/form-data; boundary=B")
    assert request.FILES["photo"].name
    assert scan_request(request).score >= BLOCK
