"""The index format's names and numbers (docs/design.md, sections 3-5)."""

from __future__ import annotations

from linkedthreads._codec import KEY_PROBE, SLOTS

INDEX_FORMAT = 1
TAG_KEY = "linkedthreads"
ROOT_TAG = f"index/{INDEX_FORMAT}"
CODEC_KEY = "lt_codec"
PROBE_KEY = "lt_probe"  # the value-only probe of roots made before the key probe (5.3)
CHILD_TAG_PREFIX = "in:"
RESERVED_KEYS = frozenset({TAG_KEY, CODEC_KEY, PROBE_KEY, KEY_PROBE})
NONCE_MEMORY = 128  # entry nonces a checkpoint remembers (docs/design.md, section 8.3)
END_OP = "end"  # the tombstone a destroy appends first (docs/design.md, 4.7 and 8.5)
METADATA_SLOTS = SLOTS  # key-value pairs an object's metadata holds (docs/design.md, 2)
ROOT_HEADER_KEYS = 3  # TAG_KEY, CODEC_KEY and KEY_PROBE on a root (section 3)
CHILD_HEADER_KEYS = 1  # TAG_KEY on a child
ROOT_USER_KEYS = METADATA_SLOTS - ROOT_HEADER_KEYS  # metadata room left for the user on a root
CHILD_USER_KEYS = METADATA_SLOTS - CHILD_HEADER_KEYS  # and on a child
DESTROY_ROUNDS = 100  # journal re-reads a destroy makes while other processes still append
