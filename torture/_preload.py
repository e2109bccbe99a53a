"""Imported once by the forkserver of the torture workers (see ``torture.worker.process_context``):
the ``openai`` SDK builds its resources and response models lazily, which costs each fresh
process over a second of CPU; done here, every forked worker inherits them ready."""

from __future__ import annotations

import warnings

import openai

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    _client = openai.OpenAI(api_key="preload", base_url="http://127.0.0.1:9/v1")
    _ = (_client.conversations.items, _client.beta.threads.messages)
    _client.close()
