"""The hub across processes: an app process calls the room's hub (:mod:`~wae_core.live.hub`)
over an authenticated :mod:`multiprocessing.connection` socket, with the hub's own methods::

    hub = HubClient("127.0.0.1:8765", key)   # in an app process (``WAE_LAB_HUB``)
    hub.frame(run_id, viewer)                # the same call as on a Hub in this process
    serve(Hub(), 8765, key=key)              # in the hub's process (``python -m wae_core.live.hub``)

Only the :data:`PUBLIC` methods cross; arguments and results are pickled, so only holders of the
room's key may connect.
"""

from __future__ import annotations

import functools
import pickle
import queue
import sys
import threading
from multiprocessing import AuthenticationError
from multiprocessing.connection import (
    Client,
    Connection,
    Listener,
    answer_challenge,
    deliver_challenge,
)
from typing import Any

BACKLOG = 128  # connections the hub's accept queue holds (see serve)
PUBLIC = ("create", "close", "start", "pause", "step", "reset", "update", "set_speed", "share",
          "find", "state", "frame", "reserve", "ticket", "release", "stats")


class HubClient:
    """The hub of another process, with the same methods (:data:`PUBLIC`). Each call borrows an
    open connection from a pool: Streamlit runs every script run (fragments too) in a new thread,
    and a connection per thread would cost a handshake per redraw."""

    def __init__(self, address: str, key: str) -> None:
        host, port = address.rsplit(":", 1)
        self.address, self.key = (host, int(port)), key.encode()
        self._pool: queue.LifoQueue = queue.LifoQueue()

    def _call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        try:
            conn = self._pool.get_nowait()
        except queue.Empty:
            conn = Client(self.address, authkey=self.key)
        try:
            _send(conn, (name, args, kwargs))
            ok, value = _recv(conn)
        except BaseException:
            conn.close()  # a half-done exchange: never reuse this connection
            raise
        self._pool.put(conn)
        if not ok:
            raise value
        return value

    def __getattr__(self, name: str) -> Any:
        if name not in PUBLIC:
            raise AttributeError(name)
        return functools.partial(self._call, name)


def _send(conn: Connection, obj: Any) -> None:
    # Plain pickle, not the connection's own: once torch is imported, multiprocessing's pickler
    # sends tensors as shared-memory handles, which an unrelated process cannot open.
    conn.send_bytes(pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL))


def _recv(conn: Connection) -> Any:
    return pickle.loads(conn.recv_bytes())  # noqa: S301 - an authenticated peer of the room


def _answer(hub: Any, conn: Connection, key: bytes) -> None:
    """One app process's connection: the key's handshake (here, not in the accepting thread, so a
    caller that never answers holds up no one else), then calls in and results (or the
    exception) out, until it closes."""
    with conn:
        try:
            deliver_challenge(conn, key)
            answer_challenge(conn, key)
        except (AuthenticationError, OSError, EOFError):
            return  # a wrong key or a dropped handshake: nothing for that caller
        while True:
            try:
                name, args, kwargs = _recv(conn)
            except Exception:  # noqa: BLE001 - closed, or a stream that cannot be read on
                return
            try:
                if name not in PUBLIC:
                    raise AttributeError(f"the hub has no method {name!r}")
                reply = (True, getattr(hub, name)(*args, **kwargs))
            except Exception as e:  # noqa: BLE001 - the caller re-raises it
                reply = (False, e)
            try:
                _send(conn, reply)
            except (pickle.PicklingError, TypeError, AttributeError):  # an exception that won't pickle
                _send(conn, (False, RuntimeError(f"{type(reply[1]).__name__}: {reply[1]}")))


def serve(hub: Any, port: int, host: str = "127.0.0.1", key: str = "") -> None:
    """Serve ``hub`` to the app processes until killed. Only holders of ``key`` may connect: the
    calls are pickled, so the key must stay secret (``python -m app.room`` makes a random one)."""
    # No authkey here: _answer checks the key per connection. A backlog, not Listener's default of
    # 1: when a burst of new connections overflows the accept queue, Linux drops the handshake's
    # last ACK and, after its SYN-ACK retries, the connection; the client, which waits for the
    # hub's challenge and sends nothing, would wait forever (seen: 1 run in 7 of
    # test_hub_across_processes on a loaded machine).
    listener = Listener((host, port), backlog=BACKLOG)
    print(f"WAE Lab hub listening on {host}:{port} ({hub.slots.n} training slots)", file=sys.stderr,
          flush=True)
    while True:
        try:
            conn = listener.accept()
        except OSError:
            continue
        threading.Thread(target=_answer, args=(hub, conn, key.encode()), name="wae-hub-conn",
                         daemon=True).start()
