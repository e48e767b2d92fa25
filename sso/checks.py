"""Deployment checks for parent sign-in (`manage.py check --deploy`)."""

from django.conf import settings
from django.core.checks import Warning, register


@register("security", deploy=True)
def outbound_private_addresses(app_configs, **kwargs):
    if getattr(settings, "OUTBOUND_ALLOW_PRIVATE_ADDRESSES", False):
        return [Warning(
            "OUTBOUND_ALLOW_PRIVATE_ADDRESSES is True: district-configured URLs (identity providers, SIS) "
            "may reach private and loopback addresses of this network.",
            hint="Set OUTBOUND_ALLOW_PRIVATE_ADDRESSES=False in production.",
            id="sso.W001",
        )]
    return []
