"""What `saltviewer train` prints after a run, from the version's card (no training needed)."""

from saltviewer.cli.train import FEW_EPOCH_TILES, summary_lines


def card(epoch_tiles, rule="labelled+pseudo", parent=None):
    return {"version": "v0002", "parent": parent, "folds": 3, "epochs": 24, "encoder": "small",
            "cut_by_budget": False, "timings": {"total_s": 600}, "ids_count": 500, "threshold": 0.5,
            "min_area": 10, "oof_score": 0.61,
            "recipe": {"epoch_tiles": rule, "pseudo_fraction": 1 / 3,
                       "resolved": {"loss_schedule": [["bce_dice", 12], ["lovasz", 12]]}},
            "fold_details": [{"epoch_tiles": n} for n in epoch_tiles]}


def hint(lines):
    return [line for line in lines if line.startswith("few labels:")]


def test_a_run_from_scratch_on_few_labels_says_that_more_draws_paid_off():
    said = hint(summary_lines(card([333, 333, 334])))
    assert len(said) == 1
    assert "334 tiles" in said[0] and f"--epoch-tiles {FEW_EPOCH_TILES}" in said[0]


def test_no_hint_with_enough_draws_a_number_asked_for_or_a_fine_tune():
    assert not hint(summary_lines(card([2133, 2133, 2134])))
    assert not hint(summary_lines(card([333, 333, 334], rule=333)))
    assert not hint(summary_lines(card([333, 333, 334], parent="v0001")))
