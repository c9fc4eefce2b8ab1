"""A person locked out of the login (too many failures from their address) is told so on the login page, in the
browser's language, instead of a form that silently does nothing."""
import httpx
import pytest

import messages
from conftest import SCREENSHOTS
from raw_api import launch


@pytest.mark.browser
@pytest.mark.parametrize("locale, language", [("en-US", "en"), ("zh-CN", "zh")])
def test_a_locked_out_login_says_so_on_the_page(browser, tiny_overrides, locale, language):
    app, _, base = launch(tiny_overrides, login_required=True, launch_options={"auth": ("ada", "secret-pw")})
    try:
        for attempt in range(10):
            assert httpx.post(f"{base}/login", data={"username": "ada", "password": f"guess-{attempt}"},
                              timeout=30).status_code == 400
        page = browser.new_page(locale=locale, viewport={"width": 390, "height": 844})
        page.goto(base)
        page.locator("input[type=text]").first.fill("ada")
        page.locator("input[type=password]").fill("secret-pw")
        page.locator("input[type=password]").press("Enter")
        said = page.locator("#login-refusal")
        said.wait_for(timeout=30_000)
        first_words = messages.say("http_too_many_logins", language, seconds=0).split("0")[0]
        assert said.inner_text().startswith(first_words), said.inner_text()
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"login-locked-out-{language}.png"), full_page=True)
        page.close()
    finally:
        app.close()
