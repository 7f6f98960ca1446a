"""The server side of a salle's connection, built by Séance from its pieces (issue 11
point 8), instead of aiortc's ``RTCPeerConnection`` as an answerer:

- :mod:`.sdp`: the answer, written by Séance from the offer parsed with ``aiortc.sdp``
  (codecs and header extensions chosen as aiortc does, Opus FEC, RTX, ``a=rid`` and
  ``a=simulcast`` for the kiosk's encodings);
- :mod:`.ice`: ICE with ``aioice.Connection`` (the controlled agent, RFC 8445);
- :mod:`.dtls`: the DTLS handshake (RFC 6347) with pyOpenSSL and the SRTP keys it
  exports (RFC 5764 section 4.2), the peer's certificate checked against the offer's
  fingerprint (RFC 8122 section 5);
- :mod:`.srtp`: the two ``pylibsrtp.Session`` of a connection (RFC 3711);
- :mod:`.connection`: RFC 7983 demultiplexing of what arrives, RTP to the Producer of
  its stream and RTCP to the Producer or Consumer it is about, and the endpoints
  (:class:`.connection.Receiver`, :class:`.connection.Sender`) they use to send.

It is the only server side there is: nothing of aiortc or aioice is rebound. Every
library is used through its public API except five names of ``aioice.Connection``, all
in :mod:`sfu.library_surface` (gathering on Séance's own addresses, and the nominated pair's
socket for the synchronous send), which checks them against the pinned versions.
"""
