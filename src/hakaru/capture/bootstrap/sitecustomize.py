"""Started by ``hakaru trace`` in the traced program (this folder is put first on PYTHONPATH,
as ``opentelemetry-instrument`` does): switch capture on, then run the program's own
``sitecustomize`` if it has one."""

from hakaru.capture.boot import start_from_env

start_from_env(__file__)
