"""A multipart file part named as a server-side script: what a web-shell upload sends (``script_upload``)."""
from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import RequestFactory

from smartlayer.detectors.payload import scan_request

BLOCK = 3


def upload(name: str, **fields: str):
    data = {"title": "My upload", **fields, "file": SimpleUploadedFile(name, b"hello", content_type="text/plain")}
    return scan_request(RequestFactory().post("/upload/", data=data))


@pytest.mark.parametrize("name", ["shell.php", "SHELL.PHP5", "x.phtml", "cmd.jsp", "a.aspx", "up.phar", "shell.php.",
                                  "x.asp;.jpg", "shell.php%00.jpg"])
def test_a_file_named_as_a_server_script_is_blocked(name):
    result = upload(name)
    assert result.score >= BLOCK and "script_upload@body" in result.hits, result.hits


@pytest.mark.parametrize("name", ["report (final).pdf", "image.php.jpg", "notes.txt", "résumé.docx", "php-logo.png",
                                  "asp.net-guide.pdf", "data.json"])
def test_an_ordinary_file_name_is_not(name):
    assert upload(name).score == 0


def test_a_text_field_naming_a_script_is_not_an_upload():
    # the page a support form asks about, in a field of its own: a word, not a file part
    result = upload("screenshot.png", page="index.php")
    assert "script_upload@body" not in result.hits and result.score < BLOCK
