"""Pseudo-label selection and label-error flags on planted predictions, through the API and the CLI."""

import shutil
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from saltviewer import SaltviewerError, Workspace, make_sample, open_dataset
from saltviewer.ensemble import Ensemble
from saltviewer.pseudo import (labelled_empty_share, propose_pseudo_labels, select_candidates, select_label_errors,
                               versions_with_predictions)
from saltviewer.store import CurationStore
from saltviewer.tiles import read_mask

GROUPS = {"empty": 40, "salt": 50, "disagree": 20, "unsure": 10}


def _disk(cy, cx, r):
    yy, xx = np.mgrid[:101, :101]
    return (yy - cy) ** 2 + (xx - cx) ** 2 < r * r


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    """A sample with 120 unlabelled tiles in four planted groups, one blank image and two wrong labels.

    Three members predict: the true masks on labelled tiles (before two were planted wrong);
    on unlabelled tiles, confident empties, agreeing salt disks, disagreeing disks, and
    salt with uncertain probabilities.
    """
    root = make_sample(tmp_path_factory.mktemp("planted") / "data", n_train=60, n_test=120, seed=11)
    dataset = open_dataset(root)
    truth = np.zeros((len(dataset), 101, 101), bool)
    truth[dataset.has_mask] = dataset.masks(np.flatnonzero(dataset.has_mask))
    rng = np.random.default_rng(0)
    test = dataset.indices("test")
    groups = np.repeat(list(GROUPS), list(GROUPS.values()))
    maps = np.zeros((3, len(dataset), 101, 101), np.uint8)
    for member in range(3):
        maps[member][dataset.has_mask] = np.where(truth[dataset.has_mask], 235, 12)
    for k, (i, group) in enumerate(zip(test, groups)):
        cy, cx, r = rng.uniform(30, 70), rng.uniform(30, 70), rng.uniform(18, 30)
        for member in range(3):
            if group == "empty":
                tile = np.full((101, 101), 3, np.uint8)
                tile[40:45, 40:45] = 3 + 2 * k                 # a faint spot: max p grows with k
            elif group == "salt":
                tile = np.where(_disk(cy, cx + member - 1, r), 240, 8).astype(np.uint8)
            elif group == "disagree":
                tile = np.where(_disk(*rng.uniform(20, 80, 2), rng.uniform(5, 30)), 220, 20).astype(np.uint8)
                if member == 0:
                    tile[:] = 20
            else:
                tile = np.where(_disk(cy, cx, r), 160, 90).astype(np.uint8)
            maps[member, i] = tile
    workspace = Workspace(tmp_path_factory.mktemp("planted") / "ws")
    versions = []
    for member in range(3):
        versions.append(workspace.add_version({"encoder": "test", "threshold": 0.5}))
        workspace.write_predictions(versions[-1], dataset, maps[member])
    blank = dataset.ids[test[0]]                                  # a confident empty with a blank image
    Image.fromarray(np.full((101, 101), 7, np.uint8)).save(root / "test" / "images" / f"{blank}.png")
    salted = next(i for i in dataset.indices("train") if truth[i].mean() > 0.2)
    emptied = next(i for i in dataset.indices("train") if not truth[i].any())
    for i, mask in ((salted, np.zeros((101, 101), bool)), (emptied, _disk(50, 50, 30))):
        path = root / "train" / "masks" / f"{dataset.ids[i]}.png"
        Image.fromarray(np.where(mask, 255, 0).astype(np.uint8)).save(path)
    dataset = open_dataset(root)
    return {"root": root, "dataset": dataset, "workspace": workspace, "versions": versions, "groups": groups,
            "test": test, "blank": blank, "wrong": {dataset.ids[salted], dataset.ids[emptied]}}


def _scores(planted):
    ensemble = Ensemble(planted["workspace"], planted["dataset"], planted["versions"])
    return ensemble, ensemble.scores(planted["test"], images=True)


def _reference_agreement(ensemble, test, blank, min_agreement=0.9, max_uncertain=0.05):
    """Candidates by the rules, tile by tile from the display view (no vectorised scoring)."""
    empty, salt = [], []
    for i in test:
        view = ensemble.tile(int(i))
        if view.id == blank:
            continue
        uncertain = np.mean((view.probability >= 0.2 - 1e-6) & (view.probability <= 0.8 + 1e-6))
        present = [m.any() for m in view.member_masks]
        if not any(present) and uncertain <= max_uncertain:
            empty.append((view.probability.max(), uncertain, view.id))
        elif all(present) and view.mask.any() and uncertain <= max_uncertain:
            masks = view.member_masks
            ious = [np.logical_and(masks[a], masks[b]).sum() / np.logical_or(masks[a], masks[b]).sum()
                    for a in range(3) for b in range(a + 1, 3)]
            if np.mean(ious) >= min_agreement:
                salt.append((-np.mean(ious), uncertain, view.id))
    return sorted(empty), sorted(salt)


def test_agreement_candidates_hold_the_labelled_empty_share(planted):
    ensemble, scores = _scores(planted)
    share = labelled_empty_share(planted["dataset"])
    masks = [read_mask(p) for p in sorted((planted["root"] / "train" / "masks").glob("*.png"))]
    assert share == pytest.approx(np.mean([not m.any() for m in masks]))
    selection = select_candidates(scores, empty_share=share)
    empty, salt = _reference_agreement(ensemble, planted["test"], planted["blank"])
    assert len(salt) == GROUPS["salt"] and len(empty) == GROUPS["empty"] - 1      # the blank image is left out
    n_salt, n_empty = len(salt), round(len(salt) * share / (1 - share))
    if n_empty > len(empty):                            # too few empties: fewer salt tiles instead
        n_salt, n_empty = round(len(empty) * (1 - share) / share), len(empty)
    assert selection.counts() == {"confident-salt": n_salt, "confident-empty": n_empty}
    assert selection.empty_share == pytest.approx(n_empty / (n_empty + n_salt))
    assert abs(selection.empty_share - share) < 1 / len(selection)
    chosen = set(selection.ids)
    assert chosen == {t for *_, t in salt[:n_salt]} | {t for *_, t in empty[:n_empty]}    # the most confident
    assert planted["blank"] not in chosen and selection.stats["blank_images_skipped"] == 1
    for tile, code, reason in zip(selection.ids, selection.criteria, selection.reasons):
        group = planted["groups"][list(planted["test"]).index(planted["dataset"].index(tile))]
        assert (group, code) in (("salt", "confident-salt"), ("empty", "confident-empty"))
        assert ("all 3 models predict salt" in reason) == (code == "confident-salt")
        assert ("no model of 3 predicts salt" in reason) == (code == "confident-empty")


def test_share_limit_and_no_share(planted):
    _, scores = _scores(planted)
    free = select_candidates(scores, empty_share=None)
    assert free.counts() == {"confident-salt": 50, "confident-empty": 39}
    assert select_candidates(scores, empty_share=0).counts() == {"confident-salt": 50}
    few_salt = select_candidates(scores, empty_share=0.8)           # not enough empties: fewer salt tiles
    assert few_salt.counts() == {"confident-empty": 39, "confident-salt": round(39 * 0.2 / 0.8)}
    limited = select_candidates(scores, empty_share=0.4, limit=20)
    assert len(limited) == 20 and limited.counts()["confident-empty"] == 8
    with pytest.raises(SaltviewerError, match="empty_share must be a number in"):
        select_candidates(scores, empty_share=1.5)
    with pytest.raises(SaltviewerError, match="criterion must be"):
        select_candidates(scores, criterion="vibes")


def test_pixel_confidence_chooses_confident_tiles_with_salt(planted):
    ensemble, scores = _scores(planted)
    selection = select_candidates(scores, "pixel-confidence", empty_share=None)
    expected = set()
    for i in planted["test"]:
        view = ensemble.tile(int(i))
        confident = np.mean((view.probability < 0.2 - 1e-6) | (view.probability > 0.8 + 1e-6))
        if confident >= 0.9 and view.mask.any() and view.id != planted["blank"]:
            expected.add(view.id)
    assert set(selection.ids) == expected
    assert all(code == "pixel-confidence" for code in selection.criteria)
    groups = {planted["groups"][list(planted["test"]).index(planted["dataset"].index(t))] for t in selection.ids}
    assert "unsure" not in groups and "empty" not in groups
    both = select_candidates(scores, "both", empty_share=None)
    assert set(both.ids) >= expected and any("+pixel-confidence" in code for code in both.criteria)


def test_the_whole_ensemble_contradicting_a_training_mask_is_flagged(planted):
    ensemble = Ensemble(planted["workspace"], planted["dataset"], planted["versions"])
    scores = ensemble.scores(planted["dataset"].indices("train"))
    errors = select_label_errors(scores)
    assert set(errors.ids) == planted["wrong"]
    reasons = " | ".join(errors.reasons)
    assert "the training mask is empty, but all 3 models predict salt" in reasons
    assert "but no model of 3 predicts any" in reasons
    alone = Ensemble(planted["workspace"], planted["dataset"], planted["versions"][:1])
    assert len(select_label_errors(alone.scores(planted["dataset"].indices("train")))) == 0   # one model is no jury


def test_propose_writes_candidates_label_checks_and_review_items(planted, tmp_path):
    workspace = Workspace(tmp_path / "ws")
    shutil.copytree(planted["workspace"].models_dir, workspace.models_dir)
    shutil.copytree(planted["workspace"].predictions_dir, workspace.predictions_dir)
    dataset = planted["dataset"]
    assert versions_with_predictions(workspace, dataset) == planted["versions"]
    report = propose_pseudo_labels(workspace, dataset, review=5, user="dee")
    with CurationStore(workspace.store_path) as store:
        pseudo = store.queue(dataset, kind="pseudo")
        labels = store.queue(dataset, kind="label")
        assert {q.tile for q in labels} == planted["wrong"]
        assert len(pseudo) == len(report.candidates) + 5
        assert [q.criterion for q in pseudo[:5]] == ["disagreement"] * 5             # most disagreement first
        assert all(q.models == tuple(planted["versions"]) and q.created_by == "dee" for q in pseudo)
        item = store.item(dataset, report.candidates.ids[0])
        view = Ensemble(workspace, dataset).tile(item.tile)
        assert np.array_equal(item.proposed_mask, view.mask)
        assert item.scores["mean_iou"] == pytest.approx(view.scores["mean_iou"])
        store.accept(dataset, report.candidates.ids[0])
    again = propose_pseudo_labels(workspace, dataset, review=5)
    assert (again.store.added, again.store.updated, again.store.kept_decided) == (0, 0, 1)
    lines = "\n".join(again.lines())
    assert "empty share:" in lines and "likely label errors: 2 of 60" in lines and "1 already decided" in lines
    with pytest.raises(SaltviewerError, match="has no model versions yet|no model version"):
        propose_pseudo_labels(Workspace(tmp_path / "empty"), dataset)


def saltviewer(*args):
    return subprocess.run([sys.executable, "-m", "saltviewer", *map(str, args)], capture_output=True, text=True,
                          timeout=300)


def test_cli_pseudo_label_queue_decide_export(planted, tmp_path):
    ws = tmp_path / "ws"
    shutil.copytree(planted["workspace"].path, ws)
    data = planted["root"]
    dry = saltviewer("pseudo-label", data, "--workspace", ws, "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "dry run: nothing was written" in dry.stdout and not (ws / "curation.sqlite").exists() or \
        CurationStore(ws / "curation.sqlite").revision() == 0
    result = saltviewer("pseudo-label", data, "--workspace", ws, "--models", *planted["versions"][:2])
    assert result.returncode == 0, result.stderr
    assert "models: v0001 (threshold 0.5), v0002 (threshold 0.5)" in result.stdout
    share_line = next(line for line in result.stdout.splitlines() if line.startswith("empty share:"))
    assert "target" in share_line and "labelled tiles" in share_line
    queue = saltviewer("queue", data, "--workspace", ws)
    assert queue.returncode == 0, queue.stderr
    lines = queue.stdout.splitlines()
    assert lines[0].startswith("# tile")
    rows = [line.split() for line in lines[1:]]
    disagreement = [float(line[48:56]) for line in lines[1:]]       # fixed columns: 'why' may hold spaces
    assert disagreement == sorted(disagreement, reverse=True) and len(rows) > 40
    top = rows[0][0]
    ids = saltviewer("queue", data, "--workspace", ws, "--ids", "--kind", "pseudo", "--limit", "3").stdout.split()
    assert len(ids) == 3
    decided = saltviewer("decide", data, "--workspace", ws, "accept", *ids, "--user", "eve")
    assert decided.returncode == 0, decided.stderr
    assert saltviewer("decide", data, "--workspace", ws, "reject", top).returncode == 0
    assert "undone" in saltviewer("decide", data, "--workspace", ws, "undo").stdout
    counts = saltviewer("queue", data, "--workspace", ws, "--counts").stdout
    assert "accepted 3" in counts
    history = saltviewer("history", data, "--workspace", ws, "--tile", ids[0]).stdout
    assert "propose" in history and "accept" in history and "eve" in history
    bad = saltviewer("decide", data, "--workspace", ws, "accept", "no-such-tile")
    assert bad.returncode == 1 and "'no-such-tile' is not in the dataset" in bad.stderr
    assert "Traceback" not in bad.stderr
    out = tmp_path / "export"
    exported = saltviewer("export", data, "--workspace", ws, out)
    assert exported.returncode == 0, exported.stderr
    assert sorted(open_dataset(out).ids) == sorted(ids)
    nothing = saltviewer("queue", data, "--workspace", tmp_path / "fresh")
    assert nothing.returncode == 1 and "has no curation store yet" in nothing.stderr
    drawn = tmp_path / "drawn.png"
    Image.fromarray(np.where(_disk(20, 20, 10), 255, 0).astype(np.uint8)).save(drawn)
    unproposed = saltviewer("queue", data, "--workspace", ws, "--state", "all", "--ids").stdout.split()
    free = next(dataset_id for dataset_id in (planted["dataset"].ids[i] for i in planted["test"])
                if dataset_id not in unproposed)
    corrected = saltviewer("decide", data, "--workspace", ws, "correct", free, "--mask", drawn)
    assert corrected.returncode == 0 and f"{free}: corrected" in corrected.stdout
    with CurationStore(Workspace(ws)) as store:
        assert np.array_equal(store.pseudo_labels(planted["dataset"])[free], _disk(20, 20, 10))
    bad_share = saltviewer("pseudo-label", data, "--workspace", ws, "--empty-share", "lots")
    assert bad_share.returncode == 1 and "--empty-share: expected 'auto', 'none' or a number" in bad_share.stderr
    bad_mask = saltviewer("decide", data, "--workspace", ws, "correct", free, "--mask", data / "depths.csv")
    assert bad_mask.returncode == 1 and "is not a PNG file" in bad_mask.stderr


def test_proposed_masks_can_be_refined_by_the_crf(planted, tmp_path):
    from saltviewer.crf import CRF_PARAMETERS, crf_available, refine_with_crf

    if not crf_available():
        pytest.skip("the crf extra (pydensecrf2) is not installed")
    workspace = Workspace(tmp_path / "ws")
    shutil.copytree(planted["workspace"].models_dir, workspace.models_dir)
    shutil.copytree(planted["workspace"].predictions_dir, workspace.predictions_dir)
    dataset = planted["dataset"]
    report = propose_pseudo_labels(workspace, dataset, crf=True, label_errors=False, limit=6)
    assert report.crf and "refined by the dense CRF" in "\n".join(report.lines())
    ensemble = Ensemble(workspace, dataset)
    with CurationStore(workspace) as store:
        for tile in report.candidates.ids:
            view = ensemble.tile(tile)
            expected = refine_with_crf(view.probability, dataset.image(tile), **CRF_PARAMETERS) > 0.5
            item = store.item(dataset, tile)
            assert np.array_equal(item.proposed_mask, expected)
            assert item.scores["mask"] == "consensus refined by dense CRF"


def test_a_member_predicted_on_one_split_only_is_never_read_as_zeros(planted, tmp_path):
    from saltviewer._errors import SaltviewerError

    workspace = Workspace(tmp_path / "ws")
    shutil.copytree(planted["workspace"].models_dir, workspace.models_dir)
    shutil.copytree(planted["workspace"].predictions_dir, workspace.predictions_dir)
    dataset = planted["dataset"]
    version = planted["versions"][1]
    predicted = ~dataset.has_mask                          # as `saltviewer predict --split test` records it
    np.save(workspace.predictions_path(version, dataset).with_suffix(".predicted.npy"), predicted)
    assert np.array_equal(workspace.predicted_tiles(version, dataset), predicted)

    ensemble = Ensemble(workspace, dataset, planted["versions"])
    assert np.array_equal(ensemble.predicted, predicted)
    with pytest.raises(SaltviewerError, match=f"model version {version} has no predictions for"):
        ensemble.scores(dataset.indices("train"))
    with pytest.raises(SaltviewerError, match="saltviewer predict"):
        ensemble.tile(int(dataset.indices("train")[0]))
    assert len(ensemble.scores(dataset.indices("test"))) == len(dataset.indices("test"))

    report = propose_pseudo_labels(workspace, dataset, review=0)
    assert report.labelled == 0 and len(report.label_errors) == 0      # no label check against zeros
    assert len(report.candidates) > 0


def test_ranked_selection_takes_the_top_tiles_with_the_empty_share(planted):
    """--top / --share: every unanimous tile is eligible (no thresholds), the best first by rank."""
    _, scores = _scores(planted)
    groups = dict(zip(scores.ids, planted["groups"]))
    unsure = [t for t, g in groups.items() if g == "unsure"]
    everything = select_candidates(scores, top=1000, empty_share=None)
    # the thresholds would refuse the uncertain disks; the ranking takes them, but last among salt tiles
    assert set(unsure) <= set(everything.ids)
    assert not set(unsure) & set(select_candidates(scores, empty_share=None).ids)
    for rank in ("expected-iou", "agreement"):
        ranked = select_candidates(scores, top=30, empty_share=0.4, rank=rank)
        assert ranked.counts() == {"confident-salt": 18, "confident-empty": 12}
        assert all(groups[t] == "salt" for t, e in zip(ranked.ids, ranked.empty) if not e)
        assert all(groups[t] == "empty" for t, e in zip(ranked.ids, ranked.empty) if e)
        assert planted["blank"] not in ranked.ids and ranked.stats["rank"] == rank
        assert all(r.startswith("rank ") for r in ranked.reasons)
    # expected IoU ranks salt tiles by it; empty tiles by the least expected salt
    ranked = select_candidates(scores, top=60, empty_share=0.5, rank="expected-iou")
    salt = ranked.positions[~ranked.empty]
    empty = ranked.positions[ranked.empty]
    assert np.all(np.diff(scores.expected_iou[salt]) <= 1e-7)
    assert np.all(np.diff(scores.expected_salt[empty]) >= -1e-9)
    # disputed tiles (some members see salt, others none) are never candidates
    disputed = set(np.array(scores.ids)[scores.presence_disagreement])
    assert disputed and not disputed & set(select_candidates(scores, share=1.0, empty_share=None).ids)
    # a share of the eligible tiles, and one kind running short shrinks the other
    by_share = select_candidates(scores, share=0.25, empty_share=0.39)
    assert len(by_share) == round(0.25 * (len(scores) - 1))
    short = select_candidates(scores, top=200, empty_share=0.9)
    assert short.counts()["confident-empty"] == 39 and short.counts()["confident-salt"] == round(39 * 0.1 / 0.9)
    with pytest.raises(SaltviewerError, match="top or share"):
        select_candidates(scores, top=3, share=0.1)
    with pytest.raises(SaltviewerError, match="rank must be"):
        select_candidates(scores, top=3, rank="luck")
    with pytest.raises(SaltviewerError, match="top must be"):
        select_candidates(scores, top=-1)


def test_expected_iou_matches_a_per_tile_reference(planted):
    ensemble, scores = _scores(planted)
    for k in range(0, len(scores), 7):
        view = ensemble.tile(int(scores.indices[k]))
        p, mask = view.probability.astype(np.float64), view.mask
        if mask.any():
            expected = p[mask].sum() / (mask.sum() + p[~mask].sum())
        else:
            expected = max(0.0, 1 - 100 * p.mean())
        assert scores.expected_iou[k] == pytest.approx(expected, abs=2e-3), scores.ids[k]
        assert scores.expected_salt[k] == pytest.approx(p.mean(), abs=1e-3)


def test_cli_top_proposes_ranked_candidates(planted, tmp_path):
    ws = tmp_path / "ws"
    shutil.copytree(planted["workspace"].path, ws)
    result = saltviewer("pseudo-label", planted["root"], "--workspace", ws, "--top", "20", "--no-label-errors")
    assert result.returncode == 0, result.stderr
    assert "candidates: 20 (" in result.stdout and "ranked by expected-iou" in result.stdout
    bad = saltviewer("pseudo-label", planted["root"], "--workspace", ws, "--top", "5", "--share", "0.1")
    assert bad.returncode == 2 and "not allowed with" in bad.stderr
