import os

os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")

try:
    from hypothesis import settings

    settings.register_profile("ci", deadline=None, max_examples=100, derandomize=True)
    settings.register_profile("dev", deadline=None, max_examples=50)
    settings.load_profile("ci" if os.environ.get("CI") else "dev")
except ImportError:  # hypothesis is a test extra; property tests skip without it
    pass
