"""The error bodies of the Azure DevOps hosts: the "WrappedException" JSON every error carries, and the
not-found answers. A leaf: routing (sandbox/adohttp.py) and authentication (sandbox/identity.py) both use it.
"""

from __future__ import annotations

from starlette.responses import JSONResponse

ASSEMBLY = "Microsoft.VisualStudio.Services.Common"


def wrapped_error(status: int, message: str, type_key: str, headers: dict | None = None) -> JSONResponse:
    """The "WrappedException" body every Azure DevOps error carries (reference §10.1)."""
    body = {
        "$id": "1",
        "innerException": None,
        "message": message,
        "typeName": f"Microsoft.VisualStudio.Services.Common.{type_key}, {ASSEMBLY}",
        "typeKey": type_key,
        "errorCode": 0,
        "eventId": 3000,
    }
    return JSONResponse(body, status_code=status, headers=headers)


def organization_not_found(name: str) -> JSONResponse:
    # The real body for an unknown organization is unconfirmed (reference §17.2); a 404 is what clients see.
    return wrapped_error(404, f"The organization '{name}' could not be found.", "HostDoesNotExistException")


def project_not_found(key: str) -> JSONResponse:
    return wrapped_error(
        404,
        f"VS800075: The project with id or name '{key}' does not exist, or you do not have permission to "
        "access it.",
        "ProjectDoesNotExistException",
    )


def repository_not_found(key: str) -> JSONResponse:
    return wrapped_error(
        404,
        f"TF401019: The Git repository with name or identifier {key} does not exist or you do not have "
        "permissions for the operation you are attempting.",
        "GitRepositoryNotFoundException",
    )
