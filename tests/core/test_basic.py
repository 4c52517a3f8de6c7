import fialloc
from fialloc import _core


def test_version_matches_core():
    assert _core.__version__ == fialloc.__version__
