"""Views that read a request body each in their own way, for tests/test_request_body.py.

CSRF-exempt like the webhooks and APIs they stand for; each answers with a
digest of what it could read, so a test compares it with what was sent.
"""
from __future__ import annotations

import hashlib

from django.core.files.uploadhandler import MemoryFileUploadHandler
from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _form(request) -> dict:
    return {
        "post": {name: values for name, values in request.POST.lists()},
        "files": {name: [f.name, _digest(f.read())] for name, f in request.FILES.items()},
    }


@csrf_exempt
def read_body(request):
    return JsonResponse({"len": len(request.body), "sha256": _digest(request.body)})


@csrf_exempt
def read_form(request):
    return JsonResponse(_form(request))


@csrf_exempt
def read_stream(request):
    """Reads the raw stream in small chunks, as a streaming parser would."""
    chunks = iter(lambda: request.read(1000), b"")
    data = b"".join(chunks)
    return JsonResponse({"len": len(data), "sha256": _digest(data)})


class _FlaggingHandler(MemoryFileUploadHandler):
    """Keeps uploads in memory, and marks the request: proof that the view's own handler ran."""

    def new_file(self, *args, **kwargs):
        self.request.flagged_by_view_handler = True
        return super().new_file(*args, **kwargs)


@csrf_exempt
def own_upload_handlers(request):
    request.upload_handlers = [_FlaggingHandler(request)]
    form = _form(request)
    return JsonResponse({**form, "view_handler": getattr(request, "flagged_by_view_handler", False)})
