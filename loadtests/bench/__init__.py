"""`sentiment-lab bench`: model, offline-scorer and HTTP benchmarks written to build/bench/benchmarks.md (+ JSON, PNG).

Everything here is measurement code: the service never imports it.
"""
