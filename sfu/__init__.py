"""The media plane: a packet-forwarding SFU on aiortc (never decodes, never re-encodes)."""
