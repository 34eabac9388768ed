"""Signing in to the dashboard: ``/login`` takes an API key or a JWT a person pastes and
keeps it in the session cookie; ``/logout`` drops it; a page refused for want of a
credential sends the browser to ``/login``.

The cookie is HttpOnly (no script reads it), SameSite=Strict (no other site's page or form
sends it, which with GET-only pages is the CSRF defence) and Secure when the dashboard is
served over https. Only the page guards read it (:func:`shared.auth.guard.require_page`);
the API stays header-only. The login form itself refuses a post from another origin, so no
site can sign a browser in under its own key.
"""

from __future__ import annotations

from urllib.parse import parse_qs, quote

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from services.insights.web.render import page
from shared.auth.guard import LOGIN_FORM, SESSION_COOKIE, Authenticator, PageRefusal
from shared.auth.principal import Unauthenticated
from shared.auth.scopes import Scope

router = APIRouter(include_in_schema=False)
FORM_TYPE = "application/x-www-form-urlencoded"
COOKIE_MAX_AGE_S = 8 * 3600  # a working day; the key's own expiry still applies


def safe_next(target: str | None) -> str:
    """Where to go after signing in: a path of this site only (never ``//host`` or a URL)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


async def _form(request: Request) -> dict[str, str]:
    """The urlencoded login form (parsed here: python-multipart is not worth a dependency
    for two fields); the shared body limit caps its size."""
    if not request.headers.get("content-type", "").startswith(FORM_TYPE):
        return {}
    fields = parse_qs((await request.body()).decode("utf-8", "replace"), max_num_fields=8)
    return {k: v[0] for k, v in fields.items() if v}


def _login_page(next_path: str, error: str | None = None, status: int = 200) -> HTMLResponse:
    return page("login.html", status, next=safe_next(next_path), error=error)


@router.get("/login", openapi_extra=LOGIN_FORM)
async def login_form(request: Request) -> HTMLResponse:
    return _login_page(request.query_params.get("next", "/"))


@router.post("/login", openapi_extra=LOGIN_FORM)
async def login(request: Request) -> Response:
    """Check the credential as the API would (known, unexpired, holding reports:read) and
    keep it in the session cookie; otherwise show the form again with the reason."""
    form = await _form(request)
    credential, next = form.get("credential", ""), form.get("next", "/")
    origin = request.headers.get("origin")
    if origin is not None and origin != f"{request.url.scheme}://{request.url.netloc}":
        return _login_page(next, "Sign in from this dashboard's own page.", 403)
    auth: Authenticator = request.app.state.auth
    if not credential.strip() or len(credential) > 8192 or "\x00" in credential:
        return _login_page(next, "Paste an API key or a JWT.", 401)
    try:
        principal = await auth.authenticate(credential.strip())
    except Unauthenticated as exc:
        return _login_page(next, f"That key or token was not accepted: {exc.message}", 401)
    if not principal.may(Scope.REPORTS_READ):
        return _login_page(next, "That key or token lacks scope reports:read.", 403)
    response = RedirectResponse(safe_next(next), status_code=303)
    response.set_cookie(
        SESSION_COOKIE, credential.strip(), max_age=COOKIE_MAX_AGE_S, path="/",
        httponly=True, samesite="strict", secure=request.url.scheme == "https",
    )  # fmt: skip
    return response


@router.get("/logout", openapi_extra=LOGIN_FORM)
async def logout(request: Request) -> Response:
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(
        SESSION_COOKIE, path="/", httponly=True, samesite="strict",
        secure=request.url.scheme == "https",
    )  # fmt: skip
    return response


async def _on_page_refusal(request: Request, exc: Exception) -> Response:
    """No or a bad credential: to the login page (and back here after); a credential
    without the scope: a page saying so."""
    assert isinstance(exc, PageRefusal)
    if exc.status == 401:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)
    refused = page("login.html", exc.status, next=safe_next(request.url.path), error=exc.message)
    refused.headers.update(exc.headers or {})  # 429: Retry-After
    return refused


def install(app: FastAPI) -> None:
    """Answer the page guards' refusals as pages (called by ``main.create_app``)."""
    app.add_exception_handler(PageRefusal, _on_page_refusal)
