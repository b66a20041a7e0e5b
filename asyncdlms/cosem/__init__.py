"""COSEM interface classes (DLMS UA Blue Book, IEC 62056-6-2)."""
