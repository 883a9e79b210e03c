"""Zoom-shaped JSON responses and errors."""

from __future__ import annotations

from typing import Any

from starlette.responses import JSONResponse


def zoom_error(
    status: int, code: int, message: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    """Zoom's error envelope: `{"code": <int>, "message": "..."}`.

    https://developers.zoom.us/docs/api/errors/
    """
    return JSONResponse({"code": code, "message": message}, status_code=status, headers=headers)


def zoom_json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(body, status_code=status, headers=headers)
