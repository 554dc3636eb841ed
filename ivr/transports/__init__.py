"""Transports: thin adapters that move call audio and control events between a peer (WAV file,
microphone, SIP, Asterisk AudioSocket, WebSocket) and the call engine.  No dialog logic here."""
