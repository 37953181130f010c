"""Receivers that keep the cache in step with the database."""
from __future__ import annotations

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from ..models import Ban
from .failures import report_failure


@receiver(post_save, sender=Ban, dispatch_uid="smartlayer.ban.saved")
def _ban_saved(sender, instance: Ban, **kwargs) -> None:
    from .bans import cache_ban

    try:
        cache_ban(instance)
    except Exception as exc:  # noqa: BLE001 - the admin must keep working
        report_failure("cache", exc)


@receiver(post_delete, sender=Ban, dispatch_uid="smartlayer.ban.deleted")
def _ban_deleted(sender, instance: Ban, **kwargs) -> None:
    from .bans import uncache_ban

    try:
        uncache_ban(instance.client_key)
    except Exception as exc:  # noqa: BLE001
        report_failure("cache", exc)
