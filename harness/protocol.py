"""Streamlit's websocket protocol as a browser tab speaks it: what one script run sent
(:class:`RunResult`), the widget states a tab sends back, the cookies of an HTTP answer."""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from harness.pages import is_refusal


def parse_set_cookies(headers: Iterable[str]) -> dict[str, str]:
    """name -> value of ``Set-Cookie`` headers (attributes dropped, quotes stripped)."""
    out = {}
    for h in headers:
        name, sep, value = h.split(";", 1)[0].partition("=")
        if sep and name.strip():
            out[name.strip()] = value.strip().strip('"')
    return out


@dataclass
class RunResult:
    """What one script run sent: its elements (kind, proto), where they go (delta path), which
    fragment drew them, and how the run finished."""

    elements: list[tuple[str, Any]] = field(default_factory=list)
    paths: list[tuple[int, ...]] = field(default_factory=list)
    fragments: list[str] = field(default_factory=list)  # the fragment id of each element ("": none)
    status: int = -1
    first_element_at: float | None = None  # time.perf_counter() when the first element arrived

    def append(self, msg: Any) -> None:  # noqa: ANN401 - a ForwardMsg with a new_element delta
        kind = msg.delta.new_element.WhichOneof("type")
        if self.first_element_at is None:
            self.first_element_at = time.perf_counter()
        self.elements.append((kind, getattr(msg.delta.new_element, kind)))
        self.paths.append(tuple(msg.metadata.delta_path))
        self.fragments.append(msg.delta.fragment_id)

    def widget_id(self, key: str) -> str | None:
        for _, el in self.elements:
            wid = getattr(el, "id", "")
            if isinstance(wid, str) and wid.endswith(f"-{key}"):
                return wid
        return None

    def fragment_of(self, widget_id: str) -> str:
        """The fragment that drew this widget ("" outside any): its changes rerun that fragment."""
        for (_, el), frag in zip(self.elements, self.fragments):
            if getattr(el, "id", "") == widget_id:
                return frag
        return ""

    def has(self, key: str) -> bool:
        return self.widget_id(key) is not None

    def markdown(self) -> list[str]:
        return [el.body for kind, el in self.elements if kind == "markdown"]

    def alerts(self) -> list[tuple[int, str]]:
        """(Alert.format, body) of every st.error / warning / info / success."""
        return [(el.format, el.body) for kind, el in self.elements if kind == "alert"]

    def texts(self) -> list[str]:
        """Every text a reader sees: markdown (captions too), alerts, progress bars, metrics."""
        out = []
        for kind, el in self.elements:
            if kind in ("markdown", "alert", "text"):
                out.append(el.body)
            elif kind == "progress":
                out.append(el.text)
            elif kind == "metric":
                out.append(f"{el.label}: {el.body}")
        return out

    def metrics(self) -> list[tuple[str, str]]:
        return [(el.label, el.body) for kind, el in self.elements if kind == "metric"]

    def media(self) -> list[str]:
        return [img.url for kind, el in self.elements if kind == "imgs" for img in el.imgs
                if img.url.startswith("/media/")]

    def refusals(self) -> list[str]:
        """Warnings / errors that turn the user away ("already training", "try again", "refused")."""
        from streamlit.proto.Alert_pb2 import Alert

        return [body[:200] for fmt, body in self.alerts()
                if fmt in (Alert.ERROR, Alert.WARNING) and is_refusal(body)]

    def problems(self) -> list[str]:
        """Exceptions, error boxes (refusals are counted apart) and a failed run."""
        from streamlit.proto.Alert_pb2 import Alert

        out = [f"exception: {el.type}: {el.message[:200]}" for kind, el in self.elements
               if kind == "exception"]
        out += [f"error box: {body[:200]}" for fmt, body in self.alerts()
                if fmt == Alert.ERROR and not is_refusal(body)]
        if self.status == 1:
            out.append("script finished with a compile error")
        return out


def run_fragments(msg: Any) -> list[str]:  # noqa: ANN401 - a script_finished ForwardMsg
    """The fragments a finished run ran ([] for a full run, or when the server did not say)."""
    return list(msg.metadata.run.fragment_ids) if msg.HasField("metadata") else []


def trigger(widget_id: str):  # noqa: ANN201
    from streamlit.proto.WidgetStates_pb2 import WidgetState

    return WidgetState(id=widget_id, trigger_value=True)


def number(widget_id: str, value: float):  # noqa: ANN201
    """A ``st.number_input`` value (sent as a double, also for integers)."""
    from streamlit.proto.WidgetStates_pb2 import WidgetState

    return WidgetState(id=widget_id, double_value=value)


def slider(widget_id: str, value: float):  # noqa: ANN201
    """A single-value ``st.slider`` position (the browser sends a one-element array)."""
    from streamlit.proto.WidgetStates_pb2 import WidgetState

    state = WidgetState(id=widget_id)
    state.double_array_value.data.append(value)
    return state
