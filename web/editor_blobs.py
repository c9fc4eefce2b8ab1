"""The drawing pads' blob transfer, bounded.

Before a pad's drawing is sent, the page hands its layers to the server one blob a request
(`POST /gradio_api/component_server`, `fn_name=accept_blobs`), under an id it makes up, and sends that id as the
pad's value. Gradio's ImageEditor.accept_blobs keeps each blob until an event reads the id, in a dict shared by
every session, and grows a list to whatever layer index the request names: one anonymous request with index
100,000,000 held 763 MB for good. That is Gradio's (gradio/components/image_editor.py, 6.31.0); Gradio's tracker
has no issue for it as of 2026-12 (searched): to report upstream, and to drop this module once a release bounds the
index and frees blobs with their session. `bound_editor_blobs` replaces the method on each of the app's pads: the
index must be one of the few layers a pad has, and each visitor's blobs not yet read are capped in count and bytes
(the oldest go first), as are all visitors' together, and forgotten after a while.
"""
from __future__ import annotations

import time
from collections import OrderedDict

import gradio as gr
from fastapi import HTTPException
from gradio.components.image_editor import EditorDataBlobs

from messages import say
from web.http_guard import client_address, language_of_scope

MAX_LAYERS = 16  # a pad's layers (the page sends one blob for each, numbered from 0)
MAX_SETS_PER_VISITOR = 8  # drawings sent and not yet read
MAX_BYTES_PER_VISITOR = 64 * 2**20
MAX_BYTES = 512 * 2**20  # every visitor's together, per pad
KEEP_S = 600.0  # a drawing's blobs are read by the event sent right after them


class BoundedBlobs:
    """One pad's blobs: what Gradio's `blob_storage` holds, with its owner, size and age beside each id."""

    def __init__(self, editor: gr.ImageEditor, behind_proxy: bool):
        self.editor, self.behind_proxy = editor, behind_proxy
        self.sent: OrderedDict[str, tuple[str, float]] = OrderedDict()  # id -> (visitor, time), oldest first
        self.sizes: dict[str, int] = {}

    def accept_blobs(self, data, request: gr.Request):
        fields, files, scope = data.data, data.files, getattr(request, "request", request).scope
        index = _layer_index(fields.get("index")) if isinstance(fields, dict) else None
        if not isinstance(fields, dict) or len(files) != 1 or not isinstance(fields.get("id"), str) \
                or (fields.get("type") == "layer" and index is None):
            # Gradio's route answers an HTTPException with its status and words (a gr.Error there is a bare 500)
            raise HTTPException(422, say("http_blob_request", language_of_scope(scope), last_layer=MAX_LAYERS - 1))
        visitor = client_address(scope, self.behind_proxy)
        blob_id, blob = fields["id"], files[0][1]
        self._forget_old(visitor, len(blob))
        storage = self.editor.blob_storage
        current = storage.get(blob_id) or EditorDataBlobs(background=None, layers=[], composite=None)
        if fields.get("type") == "layer":
            current.layers.extend([None] * (index + 1 - len(current.layers)))
            current.layers[index] = blob
        elif fields.get("type") == "background":
            current.background = blob
        elif fields.get("type") == "composite":
            current.composite = blob
        storage[blob_id] = current
        self.sent[blob_id] = (visitor, time.monotonic())
        self.sent.move_to_end(blob_id)
        self.sizes[blob_id] = self.sizes.get(blob_id, 0) + len(blob)

    accept_blobs._is_server_fn = True  # what Gradio's component_server route asks of a method it may call

    def _forget_old(self, visitor: str, incoming: int) -> None:
        """Drops what was read or is too old, then the oldest drawings until the new blob fits the caps."""
        storage, now = self.editor.blob_storage, time.monotonic()
        for blob_id, (_, sent_at) in list(self.sent.items()):
            if blob_id not in storage or now - sent_at > KEEP_S:
                self._drop(blob_id)

        def over(mine: list[str]) -> bool:
            return (len(mine) >= MAX_SETS_PER_VISITOR
                    or sum(self.sizes[i] for i in mine) + incoming > MAX_BYTES_PER_VISITOR
                    or sum(self.sizes.values()) + incoming > MAX_BYTES)

        mine = [blob_id for blob_id, (owner, _) in self.sent.items() if owner == visitor]
        while mine and over(mine):
            self._drop(mine.pop(0))
        while self.sent and sum(self.sizes.values()) + incoming > MAX_BYTES:
            self._drop(next(iter(self.sent)))

    def _drop(self, blob_id: str) -> None:
        self.sent.pop(blob_id, None)
        self.sizes.pop(blob_id, None)
        self.editor.blob_storage.pop(blob_id, None)


def _layer_index(value) -> int | None:
    try:
        index = int(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return index if 0 <= index < MAX_LAYERS and str(index) == str(value).strip() else None


def bound_editor_blobs(app: gr.Blocks, behind_proxy: bool) -> None:
    for block in app.blocks.values():
        if isinstance(block, gr.ImageEditor):  # gr.Sketchpad is one
            block.accept_blobs = BoundedBlobs(block, behind_proxy).accept_blobs
