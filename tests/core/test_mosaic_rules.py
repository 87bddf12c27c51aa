"""Rules down the columns of a mosaic: vertical salt flanks, empty tiles under salt, review items."""

import numpy as np
import pytest

from saltviewer import SaltviewerError, Workspace
from saltviewer.mosaic import Mosaic, mosaic_rules, queue_rule_items, rule_proposals, vertical_columns

TILE = 101


@pytest.mark.parametrize("columns, noise, expected", [
    (slice(60, None), 0, "60:"), (slice(0, 30), 0, ":30"), (slice(0, 0), 0, None), (slice(None), 0, None),
    (slice(60, None), 1, "60:"), (slice(60, None), 5, None),
])
def test_vertical_masks_are_all_or_nothing_columns(columns, noise, expected):
    mask = np.zeros((TILE, TILE), bool)
    mask[:, columns] = True
    mask[:noise, 10] = True                           # a few stray pixels in one column
    found = vertical_columns(mask)
    if expected is None:
        assert found is None
    else:
        wanted = np.zeros(TILE, bool)
        wanted[eval(f"np.s_[{expected}]")] = True
        assert np.array_equal(found, wanted)


def _column(*tiles):
    return Mosaic(0, list(tiles), list(range(len(tiles))), [0] * len(tiles))


def test_a_vertical_flank_runs_down_the_column_and_settled_masks_are_kept():
    flank = np.zeros((TILE, TILE), bool)
    flank[:, 70:] = True
    masks = {"a": flank, "b": np.zeros((TILE, TILE), bool), "c": None, "d": np.zeros((TILE, TILE), bool)}
    changed, findings = mosaic_rules([_column("a", "b", "c", "d")], masks)
    assert set(changed) == {"b", "c", "d"} and all(np.array_equal(changed[t], flank) for t in "bcd")
    assert [(f.rule, f.above, f.below, f.changed) for f in findings] == [
        ("vertical", "a", "b", True), ("vertical", "b", "c", True), ("vertical", "c", "d", True)]
    changed, findings = mosaic_rules([_column("a", "b", "c", "d")], masks, settled={"b"})
    assert changed == {} and [(f.below, f.changed, f.iou) for f in findings] == [("b", False, 0.0)]
    masks["b"] = flank.copy()
    masks["b"][:2, 69] = True                         # agrees well enough: no finding
    assert mosaic_rules([_column("a", "b")], masks, settled={"b"}) == ({}, [])


def test_an_empty_tile_under_a_salt_edge_becomes_salt_or_a_finding():
    body = np.zeros((TILE, TILE), bool)
    body[40:] = True                                  # salt from row 40 down: its bottom edge is all salt
    empty = np.zeros((TILE, TILE), bool)
    changed, findings = mosaic_rules([_column("a", "b")], {"a": body, "b": empty})
    assert changed["b"].all() and findings[0].rule == "under-salt"
    assert mosaic_rules([_column("a", "b")], {"a": body, "b": empty}, rules=("vertical",)) == ({}, [])
    _, findings = mosaic_rules([_column("a", "b")], {"a": body, "b": empty}, settled={"b"})
    assert [(f.rule, f.changed) for f in findings] == [("under-salt", False)]
    partly = empty.copy()
    partly[:10] = True                                # some salt below: the rule says nothing
    assert mosaic_rules([_column("a", "b")], {"a": body, "b": partly}) == ({}, [])
    with pytest.raises(SaltviewerError, match="unknown rule"):
        mosaic_rules([_column("a", "b")], {"a": body, "b": empty}, rules=("sideways",))


def test_contradicted_training_masks_become_review_items(tmp_path, sample_dataset):
    from saltviewer.store import CurationStore

    labelled = [sample_dataset.ids[i] for i in np.flatnonzero(sample_dataset.has_mask)
                if not sample_dataset.mask(i).any()][:2]
    flank = np.zeros((TILE, TILE), bool)
    flank[:, 50:] = True
    masks = {labelled[0]: flank, labelled[1]: sample_dataset.mask(labelled[1])}
    _, findings = mosaic_rules([_column(*labelled)], masks, settled={labelled[1]})
    proposals = rule_proposals(findings, sample_dataset)
    assert [p.tile for p in proposals] == [labelled[1]]
    assert proposals[0].criterion == "mosaic-rule" and proposals[0].kind == "label"
    assert proposals[0].disagreement == 1.0 and "salt flank" in proposals[0].reason
    workspace = Workspace(tmp_path / "ws")
    assert queue_rule_items(workspace, sample_dataset, findings) == 1
    assert queue_rule_items(workspace, sample_dataset, findings) == 0          # already under review
    with CurationStore(workspace.store_path) as store:
        assert [item.criterion for item in store.items(sample_dataset, kind="label")] == ["mosaic-rule"]
