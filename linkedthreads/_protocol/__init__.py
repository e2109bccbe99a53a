"""The index protocol as I/O-free flows, shared by ``ThreadIndex`` and ``AsyncThreadIndex``.

A flow is a generator: it yields requests to send (``Batch``), IDs for the caller (``Emit``)
or a wait (``Pause``), and returns its result; the front ends only drive flows, so the
protocol exists once. docs/design.md is the protocol itself. One module a concern, lowest
first:

- ``constants``: the format's names and numbers; ``flow``: the flow machinery;
  ``view``: what a reader learned from the journal; ``environment``: the clocks, random
  source and nonces a flow uses (scripted in tests);
- ``validation``: checks of a caller's IDs and metadata; ``root``: the root header;
- ``state``: the state of one open index (``IndexState``) and this process's write gate of
  each root;
- ``pages``: what an instance knows of pages; ``entries``: records grouped into entries;
- ``writing``: appends to the journal (where a record goes out, and a retry is answered);
- ``reading``: the journal, pages, ``all``/``len``/``in``;
- ``compaction``: checkpoints, their pages (where a page is written) and collection;
- ``children``: creating and deleting children;
- ``maintenance`` (``stats``, ``verify``, rebuild), ``destroy``, ``newest_first``.

This package namespace names what the front ends drive.
"""

from .children import create_children, delete_objects, discard_children
from .compaction import compact, maybe_compact, plan
from .constants import CHILD_USER_KEYS, END_OP, ROOT_USER_KEYS, TAG_KEY
from .destroy import destroy
from .environment import PROCESS, Environment
from .flow import Batch, Emit, Flow, PageGone, Pause, Step
from .maintenance import stats, verify
from .newest_first import list_ids_newest_first
from .reading import contains, count, list_ids, read_view
from .root import alphabet_for_root, create_root, open_root
from .state import WEIGHT_IDS, IndexState, entry_weight
from .validation import validate_id, validate_ids, validate_user_metadata
from .writing import flush

__all__ = [
    "CHILD_USER_KEYS",
    "END_OP",
    "PROCESS",
    "ROOT_USER_KEYS",
    "TAG_KEY",
    "WEIGHT_IDS",
    "Batch",
    "Emit",
    "Environment",
    "Flow",
    "IndexState",
    "PageGone",
    "Pause",
    "Step",
    "alphabet_for_root",
    "compact",
    "contains",
    "count",
    "create_children",
    "create_root",
    "delete_objects",
    "destroy",
    "discard_children",
    "entry_weight",
    "flush",
    "list_ids",
    "list_ids_newest_first",
    "maybe_compact",
    "open_root",
    "plan",
    "read_view",
    "stats",
    "validate_id",
    "validate_ids",
    "validate_user_metadata",
    "verify",
]
