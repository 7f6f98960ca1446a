"""The media-plane benchmark (issue 7): synthetic salles, Janus as the reference SFU,
server CPU and memory from /proc, and a JSON report whose keys stay stable over time.

Run it as ``python -m bench --salles N --seconds S [--vs-janus] [--json FILE]``; see
``docs/performance.md``. Nothing here is imported by the server.
"""
