from django.http import Http404


def login_start(request, district):
    """Parent sign-in through the district's identity provider (the OIDC flow replaces this)."""
    raise Http404("Parent sign-in is not configured for this district.")
