"""Test setup for the Python bindings. Run through bindings/uniffi/test.sh, which sets:

* HUSHWIRE_PY_DIR: a directory holding the generated hushwire_ffi.py and the library beside it;
* HUSHWIRE_ROOT: the repository root (for docs/vectors);
* HUSHWIRE_KOTLIN_CMD: the command (a JSON list) that runs the compiled Kotlin test program,
  used by the cross-language test.
"""
import json
import os
import sys

import pytest


def _need(name):
    value = os.environ.get(name)
    if not value:
        pytest.exit(f"{name} is not set: run these tests through bindings/uniffi/test.sh", returncode=2)
    return value


sys.path.insert(0, _need("HUSHWIRE_PY_DIR"))


@pytest.fixture
def root():
    return _need("HUSHWIRE_ROOT")


@pytest.fixture
def kotlin_cmd():
    return json.loads(_need("HUSHWIRE_KOTLIN_CMD"))
