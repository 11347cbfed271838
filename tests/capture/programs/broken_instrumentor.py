"""A third-party instrumentor that fails when switched on (the failed-instrumentor test)."""


class BrokenInstrumentor:
    def instrument(self, **kwargs: object) -> None:
        raise RuntimeError("this instrumentor is broken on purpose")
