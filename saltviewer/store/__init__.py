"""The curation store: every review decision, with provenance and a full history, in SQLite.

The package's parts: `store` (the `CurationStore`: items, proposals, decisions, batches),
`history` (undo and redo in a shared store, verification), `reasons` (why an item is
under review and what that allows), `in_force` (which mask is in force for a tile),
`provenance` (how a decision was made: a reviewed tile or one accepted unseen), `records`
(the dataclasses handed out), `codec` (masks as bytes), `schema` (tables and migrations),
`base` (the connection) and `export` (curated masks in the competition layout). Every public name is importable from here.
"""

from .base import DECISIONS, KINDS, STATES, default_user
from .codec import check_mask, decode_mask, encode_mask
from .export import export_labels
from .in_force import MasksInForce, masks_in_force
from .provenance import HOWS, REVIEWED_HOWS, check_how, is_reviewed, legacy_how
from .reasons import (DISPUTED_CRITERIA, REASON_COLOURS, REASONS, accept_refusal, batch_acceptable, is_disputed,
                      reason_of)
from .records import Event, Item, Proposal, ProposeReport, UndoPlan
from .schema import APPLICATION_ID, MIGRATIONS, SCHEMA_VERSION, migrate
from .store import CurationStore

__all__ = ["CurationStore", "Item", "Event", "Proposal", "ProposeReport", "UndoPlan", "SCHEMA_VERSION", "KINDS",
           "STATES", "DECISIONS", "MIGRATIONS", "APPLICATION_ID", "migrate", "default_user", "export_labels",
           "encode_mask", "decode_mask", "check_mask", "REASONS", "REASON_COLOURS", "DISPUTED_CRITERIA", "reason_of",
           "is_disputed", "batch_acceptable", "accept_refusal", "MasksInForce", "masks_in_force", "HOWS",
           "REVIEWED_HOWS", "check_how", "is_reviewed", "legacy_how"]
