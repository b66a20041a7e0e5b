"""IEC 62056-46 HDLC link layer: frame codec, stream splitter and the sans-IO link."""
