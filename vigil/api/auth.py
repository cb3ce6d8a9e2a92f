"""Login (throttled), logout, password change, sessions and API tokens. Every other route depends on
`current_user`."""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from pydantic import BaseModel, Field

from vigil.api.audit import record
from vigil.api.deps import SESSION_COOKIE, CurrentUser, current_user, get_vigil
from vigil.api.schemas import LoginRequest, TokenOut, TokenRequest, UserOut
from vigil.catalog.accounts import User, issue, revoke, sessions, set_password, verify

public = APIRouter(prefix="/api/auth", tags=["auth"])
router = APIRouter(prefix="/api/auth", tags=["auth"], dependencies=[Depends(current_user)])


def _check_password(request: Request, username: str, password: str, action: str = "login") -> User:
    """The user, or 401; too many failures for the account or from the address first answer 429."""
    vigil = get_vigil(request)
    address = request.client.host if request.client else ""
    wait, what = vigil.logins.wait(username, address, "web")
    if wait > 0:
        raise HTTPException(429, f"too many failed logins for {what}: try again in {int(wait) + 1} s",
                            headers={"Retry-After": str(int(wait) + 1)})
    user = verify(vigil.catalog, username, password)
    if user is None:
        vigil.logins.failed(username, address, "web", f"{action}_failed")
        # One message for a wrong name and a wrong password: no hint which part was wrong.
        raise HTTPException(401, "invalid user name or password")
    vigil.logins.succeeded(username)
    if action == "login":  # a password change records itself (POST /api/auth/password) in the audit middleware
        record(vigil.catalog, "login", user.username, address)
    return user


def _start_session(request: Request, response: Response, username: str) -> None:
    ttl_ms = int(get_vigil(request).cfg.api.session_hours * 3_600_000)
    secret = issue(get_vigil(request).catalog, username, "session", "browser", ttl_ms)
    response.set_cookie(SESSION_COOKIE, secret, max_age=ttl_ms // 1000, httponly=True, samesite="strict",
                        secure=request.url.scheme == "https", path="/")


def _out(user: User) -> UserOut:
    return UserOut(username=user.username, role=user.role, must_change_password=user.must_change_password)


@public.post("/login", response_model=UserOut, responses={401: {"description": "wrong user name or password"},
                                                          429: {"description": "too many failed logins"}})
def login(body: LoginRequest, request: Request, response: Response) -> UserOut:
    user = _check_password(request, body.username, body.password)
    _start_session(request, response, user.username)
    return _out(user)


class PasswordChange(BaseModel):
    current_password: str
    new_password: str = Field(min_length=8, max_length=200)


@router.post("/password", response_model=UserOut)
def change_password(body: PasswordChange, request: Request, response: Response, user: CurrentUser) -> UserOut:
    """Changes the caller's password. Every other browser session of the account ends; this browser gets a new
    one (API tokens stay)."""
    try:
        _check_password(request, user.username, body.current_password, action="password_check")
    except HTTPException as err:
        if err.status_code == 401:  # not "log in again": the session is fine, the old password was not
            raise HTTPException(403, "the current password is wrong") from None
        raise
    set_password(get_vigil(request).catalog, user.username, body.new_password)
    if SESSION_COOKIE in request.cookies:
        _start_session(request, response, user.username)
    return UserOut(username=user.username, role=user.role, must_change_password=False)


class SessionRow(BaseModel):
    id: str
    username: str
    kind: str
    name: str
    created_ms: int
    expires_ms: int | None
    current: bool


@router.get("/sessions", response_model=list[SessionRow])
def list_sessions(request: Request, user: CurrentUser, all_users: bool = False) -> list[SessionRow]:
    """The caller's browser sessions and API tokens (an admin: everybody's, with ?all_users=true)."""
    if all_users and user.role != "admin":
        raise HTTPException(403, "only an admin can see everybody's sessions")
    mine = request.cookies.get(SESSION_COOKIE)
    return [SessionRow.model_validate({**c.public(), "current": c.is_secret(mine)})
            for c in sessions(get_vigil(request).catalog, None if all_users else user.username)]


@router.delete("/sessions/{session_id}", status_code=204)
def revoke_session(session_id: str, request: Request, user: CurrentUser) -> None:
    """Ends a session or API token at once (one's own; an admin: anybody's)."""
    catalog = get_vigil(request).catalog
    found = [c for c in sessions(catalog, None) if c.id == session_id]
    if not found or (found[0].username != user.username and user.role != "admin"):
        raise HTTPException(404, f"no session {session_id!r}; GET /api/auth/sessions lists them")
    revoke(catalog, found[0].token_hash, hashed=True)


class SessionOut(BaseModel):
    user: UserOut | None


@public.get("/session", response_model=SessionOut)
def session(request: Request) -> SessionOut:
    """Who is logged in (or null): lets the login page start without a 401."""
    try:
        user = current_user(request)
    except HTTPException:
        return SessionOut(user=None)
    return SessionOut(user=_out(user))


@router.post("/logout", status_code=204)
def logout(request: Request, response: Response) -> None:
    secret = request.cookies.get(SESSION_COOKIE)
    if secret:
        revoke(get_vigil(request).catalog, secret)
    response.delete_cookie(SESSION_COOKIE, path="/")


@router.get("/me", response_model=UserOut)
def me(user: CurrentUser) -> UserOut:
    return _out(user)


@router.post("/tokens", response_model=TokenOut, status_code=201)
def create_token(body: TokenRequest, request: Request, user: CurrentUser) -> TokenOut:
    """A bearer token for scripts; shown once."""
    return TokenOut(token=issue(get_vigil(request).catalog, user.username, "token", body.name), name=body.name)
