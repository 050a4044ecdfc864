"""What the service hands the ASGI layer once its model is ready."""

from service.api.state import ServiceState


def test_not_ready_until_the_model_is_handed_over():
    state = ServiceState()
    assert not state.ready and state.predict_batch is None

    def batch(texts):
        return [{"label": "neutral"}] * len(texts)

    state.model_ready({"name": "m"}, "metrics", batch)
    assert state.ready and state.model_info == {"name": "m"} and state.metrics == "metrics"
    assert state.predict_batch(["a"]) == [{"label": "neutral"}]
