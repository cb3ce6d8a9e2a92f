"""Login, logout and API tokens. Every other route depends on `current_user`."""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from pydantic import BaseModel

from vigil.api.deps import SESSION_COOKIE, CurrentUser, current_user, get_vigil
from vigil.api.schemas import LoginRequest, TokenOut, TokenRequest, UserOut
from vigil.catalog.accounts import issue, revoke, verify

SESSION_TTL_MS = 12 * 3_600_000

public = APIRouter(prefix="/api/auth", tags=["auth"])
router = APIRouter(prefix="/api/auth", tags=["auth"], dependencies=[Depends(current_user)])


@public.post("/login", response_model=UserOut, responses={401: {"description": "wrong user name or password"}})
def login(body: LoginRequest, request: Request, response: Response) -> UserOut:
    vigil = get_vigil(request)
    user = verify(vigil.catalog, body.username, body.password)
    if user is None:
        # One message for a wrong name and a wrong password: no hint which part was wrong.
        raise HTTPException(401, "invalid user name or password")
    secret = issue(vigil.catalog, user.username, "session", "browser", SESSION_TTL_MS)
    response.set_cookie(SESSION_COOKIE, secret, max_age=SESSION_TTL_MS // 1000, httponly=True, samesite="strict",
                        secure=request.url.scheme == "https", path="/")
    return UserOut(username=user.username, role=user.role)


class SessionOut(BaseModel):
    user: UserOut | None


@public.get("/session", response_model=SessionOut)
def session(request: Request) -> SessionOut:
    """Who is logged in (or null): lets the login page start without a 401."""
    try:
        user = current_user(request)
    except HTTPException:
        return SessionOut(user=None)
    return SessionOut(user=UserOut(username=user.username, role=user.role))


@router.post("/logout", status_code=204)
def logout(request: Request, response: Response) -> None:
    secret = request.cookies.get(SESSION_COOKIE)
    if secret:
        revoke(get_vigil(request).catalog, secret)
    response.delete_cookie(SESSION_COOKIE, path="/")


@router.get("/me", response_model=UserOut)
def me(user: CurrentUser) -> UserOut:
    return UserOut(username=user.username, role=user.role)


@router.post("/tokens", response_model=TokenOut, status_code=201)
def create_token(body: TokenRequest, request: Request, user: CurrentUser) -> TokenOut:
    """A bearer token for scripts; shown once."""
    return TokenOut(token=issue(get_vigil(request).catalog, user.username, "token", body.name), name=body.name)
