"""The native part of the package: ``sfu._forward`` (sfu/_forward.c), the forwarding
step of a Consumer in C (header rewrite, SRTP with libsrtp2, sendmmsg), issue 17.

Everything else is in pyproject.toml. The extension is optional: without a C compiler,
Python's headers or libsrtp2's (Debian: gcc, python3-dev, libsrtp2-dev; ``make
system-deps`` installs the last), the package installs without it and the SFU forwards
with the pure-Python path (:mod:`sfu.forwarding`).
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "sfu._forward",
            sources=["sfu/_forward.c"],
            libraries=["srtp2"],
            extra_compile_args=["-O2", "-std=gnu11", "-Wall"],
            optional=True,
        )
    ]
)
