"""asyncdlms: an asyncio-native DLMS/COSEM (IEC 62056) protocol stack with a sans-IO core."""

from __future__ import annotations

from .errors import DecodeError, DlmsError, EncodeError

__version__ = "0.1.0.dev0"

__all__ = ["DecodeError", "DlmsError", "EncodeError", "__version__"]
