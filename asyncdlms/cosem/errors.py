"""Errors of the COSEM interface class layer.

Every conversion in :mod:`asyncdlms.cosem` that meets a value without the shape its interface
class defines raises :class:`CosemValueError` (also a :class:`~asyncdlms.errors.DecodeError`,
so code that catches decode errors catches it too); a lookup of an attribute or method that
a class does not have raises :class:`UnknownAttributeError` / :class:`UnknownMethodError`
(also ``LookupError``). Nothing else escapes on bad input.
"""

from __future__ import annotations

from ..errors import DecodeError, DlmsError

__all__ = ["CosemError", "CosemValueError", "UnknownAttributeError", "UnknownMethodError"]


class CosemError(DlmsError):
    """Base class of the errors of :mod:`asyncdlms.cosem`."""


class CosemValueError(DecodeError, CosemError):
    """A value (decoded A-XDR, or given by the caller) that does not have the shape the
    interface class defines: a structure with too few elements, an integer where an
    octet-string is due, a logical name that is not 6 bytes..."""

    def __init__(self, message: str) -> None:
        super().__init__(message)


class UnknownAttributeError(CosemError, LookupError):
    """An attribute name or number that the interface class does not define."""


class UnknownMethodError(CosemError, LookupError):
    """A method name or number that the interface class does not define."""
