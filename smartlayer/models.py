"""Database models.

Nothing here is read on the hot path: windows, counters and bans are served
from the cache.  The database holds the request log (written in batches by
:mod:`smartlayer.log.writer`), the durable side of bans, lifetime usage
counters, daily reports, LLM verdicts and the registry of model versions.

Users are referred to by the string form of their primary key rather than a
foreign key, so the tables work with any ``AUTH_USER_MODEL`` (integer, UUID,
string keys) and logs survive the deletion of a user.
"""
from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone

BLOCKERS = [
    ("ban", "Ban"),
    ("anomaly", "Anomaly detector"),
    ("validator", "Request validator"),
    ("ratelimit", "Rate limiter"),
]

ACTIONS = [
    ("allow", "Allow"),
    ("record", "Record only"),
    ("ask_llm", "Ask the LLM"),
    ("block", "Block"),
    ("ban", "Ban"),
    ("throttle", "Throttle (429)"),
    ("deny", "Deny (plan)"),
]


class RequestLog(models.Model):
    """One request seen by smartlayer, with what smartlayer decided about it."""

    timestamp = models.DateTimeField(default=timezone.now)
    client_key = models.CharField(max_length=64, default="", help_text="Identity used by every component: u:<pk> or ip:<address>.")
    user_id = models.CharField(max_length=64, null=True, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    method = models.CharField(max_length=10)
    path = models.CharField(max_length=500)
    status_code = models.PositiveSmallIntegerField()
    response_time_ms = models.FloatField()
    user_agent = models.CharField(max_length=256, blank=True, default="")
    was_blocked = models.BooleanField(default=False)
    blocked_by = models.CharField(max_length=16, blank=True, default="", choices=BLOCKERS)
    action = models.CharField(max_length=16, blank=True, default="allow", choices=ACTIONS)
    monitor_only = models.BooleanField(default=False, help_text="Decided to block, but the component was in monitor mode.")
    reason = models.CharField(max_length=200, blank=True, default="")
    rule_score = models.SmallIntegerField(null=True, blank=True)
    model_score = models.FloatField(null=True, blank=True)
    payload_score = models.SmallIntegerField(null=True, blank=True)
    model_version = models.CharField(max_length=64, blank=True, default="")
    details = models.JSONField(null=True, blank=True, help_text="Rules fired, scores, top features: why this decision.")
    # What the site profile learns from (smartlayer.profile): how the client asked and what it got back.
    response_type = models.CharField(max_length=64, blank=True, default="",
                                     help_text="Media type of the response (Content-Type without parameters).")
    accept = models.CharField(max_length=64, blank=True, default="", help_text="The Accept header (cut).")
    fetch = models.CharField(max_length=48, blank=True, default="",
                             help_text="Sec-Fetch-Dest/Mode/Site as dest/mode/site; empty when the client sent none.")
    xrw = models.BooleanField(default=False, help_text="X-Requested-With: XMLHttpRequest was sent.")
    referer_host = models.CharField(max_length=100, blank=True, default="", help_text="Host of the Referer.")
    params = models.JSONField(null=True, blank=True,
                              help_text="Parameter names and value shapes [[where, name, shape], …] — never values.")

    class Meta:
        indexes = [
            # analyse_logs, retention and training scan by time
            models.Index(fields=["timestamp"], name="sl_reqlog_time"),
            # training and the admin's per-client view read one client's history
            models.Index(fields=["client_key", "timestamp"], name="sl_reqlog_client_time"),
            # the report's blocks-by-component section
            models.Index(fields=["was_blocked", "timestamp"], name="sl_reqlog_blocked_time"),
        ]
        ordering = ["-timestamp"]

    def __str__(self) -> str:
        return f"{self.method} {self.path} → {self.status_code}"


class Overview(RequestLog):
    """Not a table: the admin's overview page, drawn from the request log.

    A proxy model, so that the admin lists the page on its index with the
    smartlayer models, without a custom admin site the host project would
    have to install.
    """

    class Meta:
        proxy = True
        verbose_name = "overview"
        verbose_name_plural = "overview: the last 24 hours and 7 days"


class BanQuerySet(models.QuerySet):
    def active(self, now=None):
        now = now or timezone.now()
        return self.filter(lifted_at__isnull=True).filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))


class Ban(models.Model):
    """A client (user or IP) refused for a while, or until lifted.

    The database row is the durable record; the cache holds the copy that the
    request path reads (see :mod:`smartlayer.state.bans`).
    """

    SOURCES = [("rule", "Rules"), ("model", "Model"), ("llm", "LLM verdict"), ("admin", "Admin")]

    client_key = models.CharField(max_length=64)
    user_id = models.CharField(max_length=64, null=True, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    reason = models.CharField(max_length=300, default="")
    source = models.CharField(max_length=8, choices=SOURCES, default="admin")
    details = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(null=True, blank=True, help_text="Empty means permanent.")
    lifted_at = models.DateTimeField(null=True, blank=True)
    lifted_by = models.CharField(max_length=150, blank=True, default="")

    objects = BanQuerySet.as_manager()

    class Meta:
        indexes = [
            models.Index(fields=["client_key", "lifted_at"], name="sl_ban_client"),
            models.Index(fields=["expires_at"], name="sl_ban_expires"),
        ]
        ordering = ["-created_at"]

    @property
    def is_active(self) -> bool:
        if self.lifted_at is not None:
            return False
        return self.expires_at is None or self.expires_at > timezone.now()

    def __str__(self) -> str:
        until = self.expires_at.isoformat(timespec="minutes") if self.expires_at else "permanent"
        return f"{self.client_key} ({self.source}, {until})"


class UsageCounter(models.Model):
    """Lifetime request count of one client on one rate-limited route of one plan.

    Incremented with a conditional ``UPDATE … SET count = count + 1 WHERE
    count < limit``, so concurrent requests can never exceed the limit.
    """

    client_key = models.CharField(max_length=64)
    plan = models.CharField(max_length=64)
    route = models.CharField(max_length=200)
    count = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["client_key", "plan", "route"], name="sl_usage_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.client_key} {self.plan} {self.route}: {self.count}"


class DailyReport(models.Model):
    """The plain-English report of one day, written by ``analyse_logs``."""

    date = models.DateField(unique=True)
    report = models.TextField()
    summary = models.JSONField(default=dict, blank=True, help_text="The raw figures the report was written from.")
    ai_status = models.CharField(max_length=200, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-date"]

    def __str__(self) -> str:
        return f"Report {self.date}"


class Verdict(models.Model):
    """One LLM verdict (or failed attempt at one), kept for explainability."""

    KINDS = [("grey", "Grey-zone client"), ("payload", "Borderline payload")]

    created_at = models.DateTimeField(default=timezone.now)
    kind = models.CharField(max_length=8, choices=KINDS)
    client_key = models.CharField(max_length=64, blank=True, default="")
    verdict = models.CharField(max_length=16, blank=True, default="", help_text="BLOCK, ALLOW, or empty when none was obtained.")
    confidence = models.SmallIntegerField(null=True, blank=True)
    error = models.CharField(max_length=200, blank=True, default="")
    latency_ms = models.FloatField(null=True, blank=True)
    ai_model = models.CharField(max_length=100, blank=True, default="")
    payload_hash = models.CharField(max_length=64, blank=True, default="")
    details = models.JSONField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["created_at"], name="sl_verdict_time")]
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.kind} {self.client_key}: {self.verdict or self.error or '?'}"


class ModelVersion(models.Model):
    """A trained anomaly model in the model store, and its lifecycle."""

    STATUSES = [("candidate", "Candidate"), ("active", "Active"), ("retired", "Retired")]

    version = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    status = models.CharField(max_length=10, choices=STATUSES, default="candidate")
    feature_set = models.CharField(max_length=32, default="")
    training_start = models.DateTimeField(null=True, blank=True)
    training_end = models.DateTimeField(null=True, blank=True)
    samples = models.PositiveIntegerField(default=0)
    clients = models.PositiveIntegerField(default=0)
    threshold = models.FloatField(null=True, blank=True)
    metrics = models.JSONField(default=dict, blank=True)
    params = models.JSONField(default=dict, blank=True)
    sha256 = models.CharField(max_length=64, blank=True, default="")
    activated_at = models.DateTimeField(null=True, blank=True)
    notes = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["status"], condition=Q(status="active"), name="sl_one_active_model"),
        ]

    def __str__(self) -> str:
        return f"{self.version} ({self.status})"
