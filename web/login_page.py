"""The login page's words for a throttled login.

HttpGuard answers a login from an address with too many recent failures with HTTP 429 and a sentence in the
browser's language ("try again in N seconds"); Gradio's login page (6.31) shows words for a 400 only, so a
person locked out saw nothing happen, even with the right password. `LoginRefusalWords` puts a script in the
page's HTML (the app's `head` reaches only a logged-in page: it comes with the configuration) that shows the
server's sentence above the form when a login is answered 429.
"""
from __future__ import annotations

from starlette._utils import get_route_path

PAGES = ("/", "/login", "/login/")  # where Gradio serves its page (the login form is the page before a login)

LOGIN_REFUSAL = """<script>
(() => {
  const fetchOriginal = window.fetch;
  window.fetch = async (...args) => {
    const answer = await fetchOriginal(...args);
    try {
      const target = new URL(String(args[0] && args[0].url ? args[0].url : args[0]), location.href);
      if (answer.status === 429 && /\\/login\\/?$/.test(target.pathname)) {
        const words = (await answer.clone().json()).detail;
        const button = document.querySelector("input[type=password]") && document.querySelector("button");
        let said = document.getElementById("login-refusal");
        if (!said && button) {  // under the login form's one button
          said = document.createElement("p");
          said.id = "login-refusal";
          said.setAttribute("role", "alert");
          said.style.cssText = "color: var(--error-text-color, #b91c1c); margin: 0.75em 0; font-weight: 600;";
          button.after(said);
        }
        if (said) said.textContent = words;
      }
    } catch (error) { /* the page keeps working without the words */ }
    return answer;
  };
})();
</script>"""


class LoginRefusalWords:
    """An ASGI middleware: the page's HTML with LOGIN_REFUSAL before its </head>."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] != "GET" or (get_route_path(scope) or "/") not in PAGES:
            return await self.app(scope, receive, send)
        start, body = None, b""

        async def with_script(message):
            nonlocal start, body
            if message["type"] == "http.response.start":
                headers = dict(message.get("headers", []))
                if not headers.get(b"content-type", b"").startswith(b"text/html") or b"content-encoding" in headers:
                    start = False
                    return await send(message)
                start = message
                return None
            if start is False:
                return await send(message)
            body += message.get("body", b"")
            if message.get("more_body", False):
                return None
            page = body.replace(b"</head>", LOGIN_REFUSAL.encode() + b"</head>", 1)
            headers = [(k, v) for k, v in start.get("headers", []) if k != b"content-length"]
            await send({**start, "headers": [*headers, (b"content-length", str(len(page)).encode())]})
            await send({"type": "http.response.body", "body": page})

        await self.app(scope, receive, with_script)
