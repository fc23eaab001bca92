"""
Our topotests run on FRR's own topotest library, from the FRR source tree our
build prepared (FRR_TOPOTESTS_DIR, set by CTest). FRR's conftest.py brings the
options, fixtures and hooks that library needs; it is loaded here under its
own name so that pytest sees it as part of ours.
"""
import importlib.util
import os
import sys

FRR_TOPOTESTS_DIR = os.environ.get("FRR_TOPOTESTS_DIR")
if not FRR_TOPOTESTS_DIR or not os.path.isfile(
    os.path.join(FRR_TOPOTESTS_DIR, "conftest.py")
):
    raise RuntimeError(
        "FRR_TOPOTESTS_DIR must name FRR's tests/topotests folder "
        "(run the topotests through ctest, or set it to <build>/frr/src/tests/topotests)"
    )

sys.path.insert(0, FRR_TOPOTESTS_DIR)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

_spec = importlib.util.spec_from_file_location(
    "frr_topotests_conftest", os.path.join(FRR_TOPOTESTS_DIR, "conftest.py")
)
_frr_conftest = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = _frr_conftest
_spec.loader.exec_module(_frr_conftest)

from frr_topotests_conftest import *  # noqa: E402,F401,F403  (hooks and fixtures)
