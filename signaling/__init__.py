"""Signaling: the WebSocket protocol between browsers and server, authentication, roles, state store."""
