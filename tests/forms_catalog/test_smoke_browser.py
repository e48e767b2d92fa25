import pytest

pytestmark = pytest.mark.browser


def test_health_endpoint_serves_over_real_http(page, live_server):
    response = page.goto(f"{live_server.url}/healthz")
    assert response.status == 200
    assert page.inner_text("body") == "ok"
