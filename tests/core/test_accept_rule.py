"""The one rule for what may be accepted: a tile the models dispute is refused whoever asks."""

import pytest

from saltviewer.store.reasons import MIN_AGREEMENT, accept_refusal, dispute_of


@pytest.mark.parametrize("scores, disputed", [
    ({"mean_iou": 0.0, "presence_votes": 1, "members": 2, "member_coverage": [0.0, 0.42]}, True),   # issue 25
    ({"mean_iou": 1.0, "presence_votes": 0, "members": 3}, False),                                  # all empty
    ({"mean_iou": 0.95, "presence_votes": 3, "members": 3}, False),
    ({"mean_iou": MIN_AGREEMENT, "presence_votes": 2, "members": 2}, False),                        # at the level
    ({"mean_iou": MIN_AGREEMENT - 0.01, "presence_votes": 2, "members": 2}, True),
    ({"mean_iou": 0.1, "presence_votes": 1, "members": 1}, False),               # one model cannot disagree
])
def test_dispute_of_reads_the_scores(scores, disputed):
    assert (dispute_of(scores) is not None) == disputed


def test_dispute_says_what_the_models_do():
    why = dispute_of({"mean_iou": 0.0, "presence_votes": 1, "members": 2, "member_coverage": [0.0, 0.42]})
    assert why == "1 of 2 model versions see salt (0% to 42% of the tile)"
    why = dispute_of({"mean_iou": 0.55, "presence_votes": 2, "members": 2, "member_coverage": [0.2, 0.3]})
    assert "mean IoU 0.55" in why


def test_a_picked_tile_the_models_split_is_proposed_disputed_and_refused(sample_dataset, workspace):
    import numpy as np

    from saltviewer.ensemble import Ensemble
    from saltviewer.picked import picked_proposals

    tiles = [sample_dataset.ids[i] for i in sample_dataset.indices("test")[:2]]
    for v in range(2):
        probs = np.full((len(sample_dataset), 101, 101), 0.02, np.float32)
        probs[sample_dataset.index(tiles[0]), 30:70, 30:70] = 0.95                  # both see the same body
        if v:
            probs[sample_dataset.index(tiles[1]), :50] = 0.95                       # only the second sees salt
        workspace.write_predictions(workspace.add_version({"threshold": 0.5}), sample_dataset, probs)
    proposals, disputes = picked_proposals(Ensemble(workspace, sample_dataset, "all"), tiles, code="mosaic-dock",
                                           reason="picked")
    agreed, split = proposals
    assert (agreed.criterion, agreed.agreement, agreed.disagreement) == ("mosaic-dock", 1.0, 0.0)
    assert accept_refusal(agreed.tile, agreed.criterion) is None
    assert split.criterion == "mosaic-dock+disagreement" and split.agreement == 0.0 and split.disagreement == 1.0
    assert accept_refusal(split.tile, split.criterion) is not None
    assert list(disputes) == [tiles[1]] and disputes[tiles[1]].startswith("1 of 2 model versions see salt (0% to ")
