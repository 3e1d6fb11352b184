"""Errors a user can cause, each carrying the exit code the CLI returns for it.

Anything that is not a SeqsentError is a bug: the CLI shows its traceback only
with --debug.
"""


class SeqsentError(Exception):
    """A problem the user can fix; the message says how."""

    exit_code = 1


class UsageError(SeqsentError):
    """An option value or combination that cannot work."""

    exit_code = 2


class DataError(SeqsentError):
    """Input data that is missing, unreadable or unusable."""

    exit_code = 1


class ModelError(SeqsentError):
    """A MODEL path that is not a loadable seqsent model."""

    exit_code = 1


class TrainingError(SeqsentError):
    """Training that cannot go on (NaN loss, interrupted run)."""

    exit_code = 1


class Interrupted(KeyboardInterrupt):
    """Ctrl-C during a run; the message says what was kept and how to resume.

    A KeyboardInterrupt still, so library callers that catch that keep working.
    """

    exit_code = 130


class SeqsentWarning(UserWarning):
    """Something a library caller should hear about (a numeric policy that cannot apply, a diverged validation
    loss): the Python API issues these through `warnings`; the CLI prints them as `Warning:` lines."""


def check_keras_backend() -> None:
    """seqsent runs on Keras' TensorFlow backend (tf.distribute, SavedModel export, tf.data pipelines): refuse any
    other before Keras is imported and fails later with a stranger message."""
    import os

    backend = os.environ.get("KERAS_BACKEND", "tensorflow").strip().lower()
    if backend != "tensorflow":
        raise UsageError(f"KERAS_BACKEND is {os.environ['KERAS_BACKEND']!r}: seqsent needs Keras' TensorFlow backend "
                         "(unset KERAS_BACKEND or set it to tensorflow)")
