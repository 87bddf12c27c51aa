"""The curation loop benchmark, second version: what do a reviewer's minutes buy a retrained model?

A simulated loop on the 3,200 labelled TGS tiles, whose truth is known but hidden from training,
measuring what ships: the product's presets, its queue, its store.

* **Split** (seeded, stratified by salt-coverage class): 500 labelled tiles, an evaluation part
  of 1,200 that nothing trains on (taken out of what would be the pool), and a pool of the other
  1,500 whose masks training never sees unless a simulated reviewer puts them in force.
* **Round 0**, per seed s (0, 1, 2): the from-scratch preset (3 folds x 24 epochs) on the
  labelled tiles. Seed s's ensemble is its own version and seed s+1's (two members trained
  alike, both well above the floor), so its queue runs in the order of their disagreement.
* **Queue**, per seed: `saltviewer.pseudo.propose_pseudo_labels` into a real curation store:
  the confident candidates (share and ranking chosen on the out-of-fold maps, as before) plus
  every other pool tile, disputed ones first (`CurationStore.queue`).
* **The reviewer** (`saltviewer.loop.simulate_review`) sees the truth: accepts a proposal that
  scores at least 0.8 (2 s), takes a member's mask of a disputed tile when that one does (2 s),
  else corrects it to the truth (25 s); a tile drawn from nothing costs 60 s
  (`saltviewer.loop.ReviewTimes`). Every decision is a tile shown, so the tile trains as a label.
* **Arms** (all scored on the same 1,200 evaluation tiles, with the version's folds, flip TTA and
  tuned threshold):
  - ``baseline``: the preset without new tiles (the fair baseline: same preset, same steps);
  - ``queue-K``: the first K items of the queue reviewed; ``random-K``: K pool tiles in random
    order reviewed; ``from-nothing-N``: N random pool tiles drawn from nothing, N chosen so that
    it costs the minutes queue-K cost;
  - ``oracle-queue-K`` / ``oracle-random-K``: the true masks of the same tiles, trained from
    scratch with the labelled tiles (the most those tiles can buy); ``full``: the true masks of
    every pool tile (every tile outside the evaluation part);
  - ``blind`` / ``blind-w1``: every candidate accepted unseen (pseudo-labels at the preset's
    weight 0.5, and at weight 1).
  Presets: ``fine-tune`` (`TrainingRecipe.fine_tune`, 3 folds on the parent's folds, from round
  0 of the seed) and ``scratch`` (`TrainingRecipe.from_scratch` on everything). The scratch
  preset's fair baseline draws as many tiles per epoch as the K arm it is compared with
  (``baseline-K``: same steps, without the new tiles).
* **Figures**: per preset, arm and K, the gain over the fair baseline (mean over seeds), its 95%
  interval over seeds and tiles together (`saltviewer.loop.seed_tile_interval`), the reviewer's
  minutes, and the share of the oracle's gain the arm keeps.

Models are the small encoder at 64-pixel inputs (``--input-size``; the product's default is 128):
what 2 shared CPU cores can train 60 times over in a working day. Everything is kept under
--work (default /work/bench/loop2) and a cut run resumes where it stopped; ``--report`` only
rebuilds benchmarks/results/loop.json and loop.png from what is there.

Run:  nohup sh -c 'until python benchmarks/bench_loop.py; do [ $? -eq 3 ] || break; done' > /work/bench/loop2.log 2>&1 &
      (exit status 3: the watchdog cut a hung run; the loop resumes it)
"""

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _util import RESULTS, TGS, write_results  # noqa: E402

from saltviewer.loop import paired_ci, precision_curve  # noqa: E402,F401  (bench_selection imports them from here)

ACCEPT_AT = 0.8          # the simulated reviewer accepts a proposal scoring at least this against the truth
TARGET_PRECISION = 0.90  # the pseudo-label share is the largest whose out-of-fold precision reaches this
SHARES = (0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.5, 0.6, 0.7, 0.8)
HAND_LABEL_SECONDS = 60  # each starting label, drawn from nothing


def log(*parts):
    print(time.strftime("%H:%M:%S"), *parts, flush=True)


# ---------------------------------------------------------------------------------- split and data
def make_split(dataset, n_labelled, n_eval, seed, n_pool=None):
    """Ids of the labelled part, the pool and the evaluation part (`saltviewer.loop.loop_split`)."""
    from saltviewer.loop import loop_split

    labelled = np.flatnonzero(dataset.has_mask)
    return loop_split([dataset.ids[i] for i in labelled], dataset.masks(labelled), n_labelled, n_eval, seed, n_pool)


def build_folder(folder, source, train_ids, test_ids):
    """A data folder in the competition layout linking to the source tiles (nothing copied)."""
    if folder.exists():
        shutil.rmtree(folder)
    for sub in ("train/images", "train/masks", "test/images"):
        (folder / sub).mkdir(parents=True)
    for tile in train_ids:
        os.symlink(source / "train/images" / f"{tile}.png", folder / "train/images" / f"{tile}.png")
        os.symlink(source / "train/masks" / f"{tile}.png", folder / "train/masks" / f"{tile}.png")
    for tile in test_ids:
        os.symlink(source / "train/images" / f"{tile}.png", folder / "test/images" / f"{tile}.png")
    wanted = set(train_ids) | set(test_ids)
    lines = (source / "depths.csv").read_text().splitlines()
    (folder / "depths.csv").write_text("\n".join([lines[0]] + [x for x in lines[1:] if x.split(",")[0] in wanted])
                                       + "\n")


def evaluate_version(workspace, version, dataset, truth):
    """Per-image competition precision of a version on a dataset's test tiles (fold models, flip TTA,
    its threshold and minimum area)."""
    from saltviewer.metric import image_precisions
    from saltviewer.thresholds import apply_threshold
    from saltviewer.training.fit import prepare_inputs
    from saltviewer.training.predict import load_version_models
    from saltviewer.training.tta import predict_probabilities

    models, card = load_version_models(workspace, version)
    rows = dataset.indices("test")
    probabilities = predict_probabilities(models, prepare_inputs(dataset, rows), tta=card.get("tta", True))
    masks = apply_threshold(probabilities, card.get("threshold") or 0.5, card.get("min_area") or 0)
    return image_precisions(truth, masks)


def oof_ensemble(work, workspace, dataset, versions):
    """An Ensemble reading each version's out-of-fold maps as its predictions of the labelled tiles."""
    from saltviewer import Workspace
    from saltviewer.ensemble import Ensemble

    scratch = Workspace(work / "ws_oof")
    for version in versions:
        target = scratch.models_dir / version
        if not (target / "card.json").is_file():
            target.mkdir(parents=True, exist_ok=True)
            for name in ("card.json", "oof.npz"):
                shutil.copy2(workspace.version_dir(version) / name, target / name)
        with np.load(target / "oof.npz") as oof:
            ids, levels = [str(i) for i in oof["ids"]], oof["probabilities"]
        maps = np.zeros((len(dataset), 101, 101), np.uint8)
        rows = np.array([dataset.index(i) for i in ids])
        maps[rows] = levels
        scratch.write_predictions(version, dataset, maps)
        predicted = np.zeros(len(dataset), bool)
        predicted[rows] = True
        np.save(scratch.predicted_tiles_path(version, dataset), predicted)
    return Ensemble(scratch, dataset, versions)


# ---------------------------------------------------------------------------------- what runs
#: What runs: phases of (preset, arm), each with the seeds it runs for, in order; a phase runs for
#: its seeds before the next starts, so the figures the issue asks for first are complete first.
#: (The scratch preset's arms cost 3 to 4 times a fine-tune's; the whole pool's truth, the most
#: costly, runs for one seed before the others.)
PHASES = [
    ([("fine-tune", "baseline"), ("fine-tune", "queue-1000")], None),
    ([("fine-tune", "baseline-1000")], None),
    ([("scratch", "oracle-queue-1000")], [0, 1]),
    # the preset the Retrain dock recommends for 1,000 reviewed tiles on 500 labels, with its
    # same-steps baseline: the fine-tune kept +0.005 of the oracle's +0.06
    ([("scratch", "queue-1000"), ("scratch", "baseline-1000")], None),
    # per reviewer minute, with the preset recommended at K = 1,000: random order and masks drawn
    # from nothing in queue-1000's minutes, one seed first
    ([("scratch", "random-1000"), ("scratch", "from-nothing@queue-1000")], [0]),
    # the true masks of the whole pool (every tile outside the evaluation part), one seed
    ([("scratch", "full")], [0]),
    ([("fine-tune", "random-1000"), ("fine-tune", "from-nothing@queue-1000"),
      ("fine-tune", "baseline-for-from-nothing@queue-1000")], [0]),
    ([("scratch", "baseline-for-from-nothing@queue-1000")], [0]),
    ([("scratch", "oracle-queue-1000")], None),
    ([("scratch", "random-1000"), ("scratch", "from-nothing@queue-1000"),
      ("scratch", "baseline-for-from-nothing@queue-1000")], None),
    ([("fine-tune", "random-1000"), ("fine-tune", "from-nothing@queue-1000"),
      ("fine-tune", "baseline-for-from-nothing@queue-1000")], None),
    # a probe, not a preset: does a longer fine-tune at the scratch preset's learning rate take in
    # the new labels better? (8 epochs, peak 0.005: a new label seen 16 times)
    ([("fine-tune-long", "queue-1000"), ("fine-tune-long", "baseline-1000")], [0]),
    ([("fine-tune", "queue-300"), ("fine-tune", "random-300"), ("fine-tune", "from-nothing@queue-300"),
      ("fine-tune", "baseline-300"), ("fine-tune", "baseline-for-from-nothing@queue-300")], None),
    ([("fine-tune", "queue-100"), ("fine-tune", "random-100"), ("fine-tune", "from-nothing@queue-100"),
      ("fine-tune", "baseline-100"), ("fine-tune", "baseline-for-from-nothing@queue-100"),
      ("fine-tune", "queue-1500"), ("fine-tune", "baseline-1500")], None),
    ([("fine-tune", "blind"), ("fine-tune", "blind-w1")], None),
    ([("scratch", "full")], None),
    ([("scratch", "random-1000"), ("scratch", "from-nothing@queue-1000"),
      ("scratch", "baseline-for-from-nothing@queue-1000"), ("scratch", "oracle-random-1000")], None),
]
SMOKE_PLAN = [("fine-tune", "baseline"), ("fine-tune", "queue-40"), ("fine-tune", "from-nothing@queue-40"),
              ("scratch", "oracle-queue-40"), ("scratch", "baseline-40"), ("fine-tune", "blind")]
SMOKE_SCALE = {"epochs": 2, "width": 4, "folds": 2}


class Loop:
    def __init__(self, args):
        self.args = args
        self.work = Path(args.work)
        self.work.mkdir(parents=True, exist_ok=True)
        self.state_path = self.work / "state.json"
        self.state = json.loads(self.state_path.read_text()) if self.state_path.is_file() else {}
        self.scale = {"input_size": args.input_size, "resize_mode": "resize" if args.input_size < 101 else "pad",
                      "width": args.width}
        if args.smoke:
            self.scale.update(SMOKE_SCALE)
        self.seeds = list(range(args.seeds))

    def save(self):
        tmp = self.state_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.state, indent=1))
        os.replace(tmp, self.state_path)

    # -------------------------------------------------------------- data
    def prepare(self):
        from saltviewer import Workspace, open_dataset

        source = Path(self.args.data).resolve()
        if "split" not in self.state:
            full = open_dataset(source)
            self.state["split"] = make_split(full, self.args.labelled, self.args.eval, self.args.split_seed,
                                             self.args.pool)
            self.state["split_sizes"] = {k: len(v) for k, v in self.state["split"].items()}
            self.state["scale"] = self.scale
            self.save()
        split = self.state["split"]
        self.train_dir, self.eval_dir = self.work / "data", self.work / "eval"
        if not (self.work / "data.ok").is_file():
            build_folder(self.train_dir, source, split["labelled"], split["pool"])
            build_folder(self.eval_dir, source, [], split["eval"])
            (self.work / "data.ok").write_text("ok\n")
        self.dataset = open_dataset(self.train_dir)
        self.eval_set = open_dataset(self.eval_dir)
        self.workspace = Workspace(self.work / "ws")
        self.dataset.use_cache(self.workspace)
        self.eval_set.use_cache(self.workspace)
        truth_source = open_dataset(source)
        self.eval_truth = truth_source.masks([truth_source.index(i) for i in self.eval_set.ids])
        self.pool_rows = self.dataset.indices("test")
        self.pool_ids = [self.dataset.ids[i] for i in self.pool_rows]
        pool_truth = truth_source.masks([truth_source.index(t) for t in self.pool_ids])
        self.truth_of = dict(zip(self.pool_ids, pool_truth))
        self.pool_truth = pool_truth

    # -------------------------------------------------------------- round 0
    def round0(self):
        from saltviewer.recipe import TrainingRecipe
        from saltviewer.training import predict_dataset, train_model

        versions = self.state.setdefault("round0", {})
        for seed in self.seeds:
            key = f"seed{seed}"
            if key in versions:
                continue
            log(f"round 0: training from scratch, seed {seed}")
            recipe = TrainingRecipe.from_scratch(seed=seed, **self.scale)
            start = time.perf_counter()
            result = train_model(self.dataset, self.workspace, recipe)
            versions[key] = {"version": result.version, "oof_score": result.card["oof_score"],
                             "seconds": round(time.perf_counter() - start, 1), "recipe": result.card["recipe"]}
            self.save()
            log(f"round 0 {result.version}: oof {result.card['oof_score']:.4f} in {versions[key]['seconds']} s")
        names = [versions[f"seed{s}"]["version"] for s in self.seeds]
        missing = [v for v in names if not self.workspace.has_predictions(v, self.dataset)
                   or not self.workspace.predicted_tiles(v, self.dataset)[self.pool_rows].all()]
        if missing:
            log(f"round 0: predicting the pool with {missing}")
            start = time.perf_counter()
            predict_dataset(self.dataset, self.workspace, missing, split="test")
            self.state["pool_predict_seconds"] = round((time.perf_counter() - start) / len(missing), 1)
            self.save()
        for info in versions.values():
            if "eval" not in info:
                scores = evaluate_version(self.workspace, info["version"], self.eval_set, self.eval_truth)
                np.save(self.work / f"eval_{info['version']}.npy", scores)
                info["eval"] = round(float(scores.mean()), 4)
                self.save()
                log(f"round 0 {info['version']}: evaluation {info['eval']:.4f}")
        from saltviewer.pseudo import labelled_empty_share

        self.state["floor"] = round(labelled_empty_share(self.dataset), 4)

    def parent(self, seed):
        return self.state["round0"][f"seed{seed}"]["version"]

    def members(self, seed):
        """Seed s's ensemble: its own round-0 version and the next seed's."""
        others = [s for s in self.seeds if s != seed]
        return [self.parent(seed)] + ([self.parent(others[seed % len(others)])] if others else [])

    # -------------------------------------------------------------- the queue
    def queue(self, seed):
        from saltviewer import CurationStore
        from saltviewer.ensemble import Ensemble
        from saltviewer.pseudo import RANKS, labelled_empty_share, propose_pseudo_labels

        queues = self.state.setdefault("queues", {})
        key = f"seed{seed}"
        store_path = self.work / f"queue_seed{seed}.sqlite"
        if key in queues and store_path.is_file():
            return queues[key]
        members = self.members(seed)
        empty_share = labelled_empty_share(self.dataset)
        labelled = np.flatnonzero(self.dataset.has_mask)
        with oof_ensemble(self.work, self.workspace, self.dataset, members) as ensemble:
            oof = precision_curve(ensemble, labelled, self.dataset.masks(labelled), SHARES, RANKS, empty_share)
        with Ensemble(self.workspace, self.dataset, members) as ensemble:
            pool = precision_curve(ensemble, self.pool_rows, self.pool_truth, SHARES, RANKS, empty_share)
        best = None
        for rank in RANKS:          # chosen on the out-of-fold maps only (the pool's truth is hidden)
            ok = [p for p in oof[0][rank] if p["precision"] is not None and p["precision"] >= TARGET_PRECISION]
            if ok and (best is None or ok[-1]["share"] > best[1] or
                       (ok[-1]["share"] == best[1] and ok[-1]["precision"] > best[2])):
                best = (rank, ok[-1]["share"], ok[-1]["precision"])
        if best is None:
            best = ("expected-iou", SHARES[0], None)
        if store_path.exists():
            store_path.unlink()
        # The candidates a batch would accept unseen: the chosen share. The queue a reviewer works
        # through: every pool tile proposed (share 1), so that it orders the whole pool, the tiles
        # the members dispute first, then the agreed ones from the least to the most confident.
        from saltviewer.pseudo import select_candidates

        with Ensemble(self.workspace, self.dataset, members) as ensemble:
            scores = ensemble.scores(self.pool_rows, truth=False, images=True)
        candidates = select_candidates(scores, share=best[1], rank=best[0], empty_share=empty_share)
        with CurationStore(store_path, user="bench") as store:
            report = propose_pseudo_labels(self.workspace, self.dataset, members, store=store, share=1.0,
                                           rank=best[0], label_errors=False, review=len(self.pool_rows), crf=False,
                                           empty_share=None)
            items = store.queue(self.dataset)
        counts = {}
        for item in items:
            counts[item.why] = counts.get(item.why, 0) + 1
        queues[key] = {"members": members, "order": [item.tile for item in items],
                       "disputed": [item.tile for item in items if item.disputed],
                       "candidates": list(candidates.ids), "proposed": len(report.candidates), "reasons": counts,
                       "chosen": {"rank": best[0], "share": best[1], "oof_precision": best[2]},
                       "pool_curve": pool[0][best[0]], "pool_all_tiles_precision": pool[2]["all_tiles_precision"]}
        self.save()
        log(f"queue seed {seed}: {len(items)} items {counts}, {len(candidates)} candidates, chosen {best}")
        return queues[key]

    # -------------------------------------------------------------- the reviewer
    def _member_masks(self, seed):
        from saltviewer.ensemble import Ensemble

        ensemble = Ensemble(self.workspace, self.dataset, self.members(seed))

        def members(tile):
            view = ensemble.tile(tile)
            return list(zip(ensemble.versions, view.member_masks))
        return ensemble, members

    def _k(self, arm):
        return int(arm.rsplit("-", 1)[1])

    def _new_tiles(self, seed, baseline):
        """How many tiles the arm a baseline stands for adds: ``baseline-K`` K, and
        ``baseline-for-from-nothing@queue-K`` the masks drawn in queue-K's minutes."""
        from saltviewer.loop import ReviewTimes

        if baseline.startswith("baseline-for-from-nothing@"):
            return ReviewTimes().tiles_from_nothing(self.review_seconds(seed, baseline.split("@", 1)[1]))
        return self._k(baseline)

    def arm_store(self, seed, arm):
        """A curation store holding what the simulated reviewer did for an arm, and its tally."""
        from saltviewer import CurationStore
        from saltviewer.loop import ReviewTimes, simulate_review

        q = self.queue(seed)
        path = self.work / f"store_seed{seed}_{arm}.sqlite"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        times = ReviewTimes()
        tally = {"seconds": 0.0}
        pool = list(self.pool_ids)
        if arm.startswith(("queue-", "random-", "blind")):
            shutil.copy2(self.work / f"queue_seed{seed}.sqlite", path)
        with CurationStore(path, user="simulated-reviewer") as store:
            if arm.startswith(("queue-", "random-")):
                k = self._k(arm)
                if arm.startswith("queue-"):
                    tiles = q["order"][:k]
                else:
                    tiles = [pool[i] for i in np.random.default_rng(1000 + k + 100 * seed).permutation(len(pool))[:k]]
                ensemble, members = self._member_masks(seed)
                with ensemble:
                    tally = dict(simulate_review(store, self.dataset, tiles, self.truth_of, accept_at=ACCEPT_AT,
                                                 members=members, missing="draw", times=times))
            elif arm.startswith("from-nothing@"):
                n = times.tiles_from_nothing(self.review_seconds(seed, arm.split("@", 1)[1]))
                order = np.random.default_rng(2000 + 100 * seed).permutation(len(pool))
                tiles = [pool[i] for i in order[:n]]
                for tile in tiles:
                    store.correct(self.dataset, tile, self.truth_of[tile], how="tile", source="drawn from nothing")
                tally = {"drawn": n, "seconds": times.seconds(drawn=n)}
            elif arm.startswith(("oracle-", "full")):
                if arm == "full":
                    tiles = pool
                else:
                    source = self.state["arms"][f"{seed}/fine-tune/{arm[len('oracle-'):]}"]
                    tiles = source["tiles"]
                for tile in tiles:
                    store.correct(self.dataset, tile, self.truth_of[tile], how="tile", source="truth")
                tally = {"truth": len(tiles), "seconds": 0.0}
            elif arm.startswith("blind"):
                decisions = [(tile, "pseudo", "accept", None) for tile in q["candidates"]]
                accepted = store.decide_batch(self.dataset, decisions, how="batch",
                                              detail={"batch": "bench: every candidate accepted unseen"})
                tally = {"blind": len(accepted), "seconds": 0.0}
                tiles = []
            elif not arm.startswith("baseline"):
                raise ValueError(f"unknown arm {arm}")
            else:
                tiles = []
        tally["tiles"] = list(tiles) if arm.startswith(("queue-", "random-", "from-nothing", "oracle-")) else []
        return path, tally

    def review_seconds(self, seed, arm):
        """The reviewer's seconds of a fine-tune arm (simulated, cheap: done again if not run yet)."""
        done = self.state.get("arms", {}).get(f"{seed}/fine-tune/{arm}")
        if done:
            return done["review"]["seconds"]
        _, tally = self.arm_store(seed, arm)
        return tally["seconds"]

    # -------------------------------------------------------------- training an arm
    def run_arm(self, seed, preset, arm):
        from saltviewer.metric import image_precisions
        from saltviewer.recipe import TrainingRecipe
        from saltviewer.store import CurationStore, masks_in_force
        from saltviewer.training import train_model

        key = f"{seed}/{preset}/{arm}"
        arms = self.state.setdefault("arms", {})
        if key in arms:
            return
        store_path, tally = self.arm_store(seed, arm)
        tiles = tally.pop("tiles", [])
        with CurationStore(store_path) as store:
            in_force = masks_in_force(store, self.dataset)
        reviewed_ids, reviewed_masks = in_force.pseudo_label_arrays(reviewed=True)
        pseudo_ids, _ = in_force.pseudo_label_arrays(reviewed=False)
        quality = None
        if reviewed_ids:
            truth = np.array([self.truth_of[t] for t in reviewed_ids])
            quality = round(float(image_precisions(truth, reviewed_masks).mean()), 4)
        parent = self.parent(seed)
        if preset.startswith("fine-tune"):
            recipe = TrainingRecipe.fine_tune(self.workspace.card(parent), seed=seed,
                                              **(SMOKE_SCALE if self.args.smoke else {}))
            if preset == "fine-tune-long":
                recipe = recipe.replace(epochs=8, max_lr=0.005)
            if arm == "blind-w1":
                recipe = recipe.replace(pseudo_weight=1.0)
            if arm.startswith("baseline-"):        # as many draws per epoch as the arm it is for: same steps
                folds = recipe.folds
                draws = (len(self.dataset.indices("train")) + self._new_tiles(seed, arm) * recipe.new_label_repeat
                         ) * (folds - 1) / folds
                recipe = recipe.replace(epoch_tiles=int(round(draws)))
            base = parent
        else:
            recipe = TrainingRecipe.from_scratch(seed=seed, **self.scale)
            if arm.startswith("baseline-"):        # as many tiles per epoch as the arm it is compared with
                folds = recipe.folds
                per_fold = (len(self.dataset.indices("train")) + self._new_tiles(seed, arm)) * (folds - 1) / folds
                recipe = recipe.replace(epoch_tiles=int(round(per_fold)))
            base = None
        # the arm's store is the workspace's store while it trains (runs go one after another)
        for suffix in ("-wal", "-shm"):
            Path(f"{self.workspace.store_path}{suffix}").unlink(missing_ok=True)
        shutil.copy2(store_path, self.workspace.store_path)
        log(f"arm {key}: {len(reviewed_ids)} reviewed tiles as labels, {len(pseudo_ids)} pseudo-labels, "
            f"review {tally.get('seconds', 0) / 60:.1f} min {({k: v for k, v in tally.items() if k != 'seconds'})}")
        start = time.perf_counter()
        result = train_model(self.dataset, self.workspace, recipe, base_version=base, pseudo_labels="accepted")
        seconds = time.perf_counter() - start
        scores = evaluate_version(self.workspace, result.version, self.eval_set, self.eval_truth)
        np.save(self.work / f"eval_{result.version}.npy", scores)
        card = result.card
        arms[key] = {"seed": seed, "preset": preset, "arm": arm, "version": result.version,
                     "eval": round(float(scores.mean()), 4), "oof_score": card["oof_score"],
                     "parent_oof_score": card.get("parent_oof_score"), "train_seconds": round(seconds, 1),
                     "review": tally, "reviewed_labels": len(reviewed_ids), "pseudo_labels": len(pseudo_ids),
                     "reviewed_label_precision": quality, "tiles": tiles,
                     "epoch_tiles": [f["epoch_tiles"] for f in card["fold_details"]],
                     "loss_schedule": card["loss_schedule"]}
        self.save()
        log(f"arm {key}: {result.version} evaluation {scores.mean():.4f} (train {seconds:.0f} s)")

    # -------------------------------------------------------------- report
    def scores(self, version):
        return np.load(self.work / f"eval_{version}.npy")

    def report(self):
        from saltviewer.loop import seed_tile_interval

        state = self.state
        arms = state.get("arms", {})
        round0 = state.get("round0", {})

        def baseline_of(seed, preset, arm):
            """The fair baseline's arm (its version and name): the same preset without the new
            tiles; for the scratch preset the run with as many tiles per epoch as the arm's K
            (``baseline-K``), else round 0 of the seed (the same preset on the labelled tiles)."""
            if arm.startswith("from-nothing@"):
                found = arms.get(f"{seed}/{preset}/baseline-for-{arm}")
                if found is not None:
                    return found, "same steps"
            if preset.startswith("fine-tune"):
                # the same steps where that run exists (the K arms' epochs are longer: new labels are
                # drawn twice), else the preset without new tiles
                if arm.startswith(("queue-", "random-")):
                    found = arms.get(f"{seed}/{preset}/baseline-{self._k(arm)}")
                    if found is not None:
                        return found, f"baseline-{self._k(arm)}"
                return arms.get(f"{seed}/{preset}/baseline"), "baseline"
            if arm.startswith(("queue-", "random-", "oracle-")):
                found = arms.get(f"{seed}/scratch/baseline-{self._k(arm)}")
                if found is not None:
                    return found, f"baseline-{self._k(arm)}"
            parent = round0.get(f"seed{seed}")
            return (dict(parent, seed=seed) if parent else None), "round 0"

        def oracle_key(seed, preset, arm):
            # masks drawn from nothing are the truth already: they are their own oracle
            if arm.startswith(("queue-", "random-")):
                return f"{seed}/scratch/oracle-{arm}"
            return None

        # where a gain lands: the evaluation tiles by their true salt share
        coverage = self.eval_truth.reshape(len(self.eval_truth), -1).astype(bool).mean(axis=1)
        classes = {"empty": coverage == 0, "small (<10%)": (coverage > 0) & (coverage < 0.1),
                   "mid": (coverage >= 0.1) & (coverage < 0.9), "large (>=90%)": coverage >= 0.9}

        groups = {}
        for key, info in arms.items():
            groups.setdefault((info["preset"], info["arm"]), []).append(info)
        summary = []
        for (preset, arm), infos in sorted(groups.items()):
            infos = sorted(infos, key=lambda i: i["seed"])
            row = {"preset": preset, "arm": arm.split("-")[0] if arm.startswith(("queue", "random")) else
                   ("from-nothing" if arm.startswith("from-nothing") else arm),
                   "name": arm, "K": None, "seeds": [i["seed"] for i in infos],
                   "score": round(float(np.mean([i["eval"] for i in infos])), 4),
                   "reviewer_minutes": round(float(np.mean([i["review"].get("seconds", 0) for i in infos])) / 60, 1),
                   "train_minutes": round(float(np.mean([i["train_seconds"] for i in infos])) / 60, 1)}
            if arm.startswith(("queue-", "random-")):
                row["K"] = self._k(arm)
            elif arm.startswith("from-nothing"):
                row["K"] = int(round(np.mean([i["review"].get("drawn", 0) for i in infos])))
                row["matched_to"] = arm.split("@", 1)[1]
            elif arm in ("full",):
                row["K"] = len(self.pool_ids)
            diffs, oracle_gains, gains, paired_gains, oracle_seeds = [], [], [], [], []
            for info in infos:
                base, row["baseline"] = baseline_of(info["seed"], preset, arm)
                if base is None or base is info:
                    continue
                d = self.scores(info["version"]) - self.scores(base["version"])
                diffs.append(d)
                gains.append(float(d.mean()))
                okey = oracle_key(info["seed"], preset, arm)
                oracle = arms.get(okey) if okey else None
                if oracle is not None:
                    oracle_gains.append(float((self.scores(oracle["version"]) - self.scores(base["version"])).mean()))
                    paired_gains.append(gains[-1])
                    oracle_seeds.append(info["seed"])
            if diffs:
                mean, low, high = seed_tile_interval(diffs, n=4000)
                row.update(gain=round(mean, 4), ci=[round(low, 4), round(high, 4)],
                           gains_per_seed=[round(g, 4) for g in gains],
                           gain_by_coverage={name: round(float(np.mean([d[m].mean() for d in diffs])), 4)
                                             for name, m in classes.items()})
            else:
                row.update(gain=None, ci=None)
            plain = [arms.get(f"{i['seed']}/{preset}/baseline" if preset == "fine-tune" else "") for i in infos]
            if preset == "fine-tune" and row["baseline"] != "baseline" and all(plain):
                # also against the preset run without new tiles (fewer steps): what pressing Retrain
                # with nothing new gives
                row["gain_vs_plain_baseline"] = round(float(np.mean(
                    [(self.scores(i["version"]) - self.scores(b["version"])).mean() for i, b in zip(infos, plain)])), 4)
            if oracle_gains and np.mean(oracle_gains) > 0:
                # over the seeds that have both the arm and its oracle (an oracle costs a scratch
                # training per seed; the seeds are named)
                row["oracle_gain"] = round(float(np.mean(oracle_gains)), 4)
                row["oracle_share"] = round(float(np.mean(paired_gains)) / float(np.mean(oracle_gains)), 3)
                row["oracle_seeds"] = oracle_seeds
            else:
                row["oracle_share"] = None
            row["total_minutes_with_starting_labels"] = round(
                row["reviewer_minutes"] + len(self.dataset.indices("train")) * HAND_LABEL_SECONDS / 60, 1)
            summary.append(row)
        # what the reviewed tiles are made of: the share of truly empty tiles among the queue's
        # first K, against the labelled tiles and the pool (a queue of disputed tiles first draws
        # salt; the new labels then shift the training set's balance)
        empty = {t: not m.any() for t, m in zip(self.pool_ids, self.pool_truth)}
        labelled = self.dataset.masks(self.dataset.indices("train"))
        composition = {"labelled_empty_share": round(float(np.mean([not m.any() for m in labelled])), 3),
                       "pool_empty_share": round(float(np.mean(list(empty.values()))), 3)}
        for key, queue in state.get("queues", {}).items():
            composition[key] = {f"first_{k}_empty_share": round(float(np.mean([empty[t] for t in queue["order"][:k]])), 3)
                                for k in (100, 300, 1000)}
        results = {"command": "python benchmarks/bench_loop.py", "data": str(self.args.data),
                   "eval_coverage_classes": {name: int(m.sum()) for name, m in classes.items()},
                   "queue_composition": composition,
                   "split": state.get("split_sizes"), "scale": state.get("scale"), "accept_at": ACCEPT_AT,
                   "review_times_s": {"accept": 2, "reject": 2, "pick": 2, "correct": 25, "draw": 60},
                   "round0": round0, "floor": state.get("floor"),
                   "pool_predict_seconds": state.get("pool_predict_seconds"),
                   "queues": {k: {kk: vv for kk, vv in v.items() if kk not in ("order", "candidates", "disputed")}
                              | {"items": len(v["order"]), "candidates": len(v["candidates"]),
                                 "disputed": len(v["disputed"])}
                              for k, v in state.get("queues", {}).items()},
                   "summary": summary,
                   "arms": {k: {kk: vv for kk, vv in v.items() if kk != "tiles"} for k, v in arms.items()}}
        write_results("loop_smoke" if self.args.smoke else "loop", results)
        self.plot(summary, round0)

    def plot(self, summary, round0):
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, axes = plt.subplots(1, 2, figsize=(13, 5), dpi=110, sharey=True)
        colours = {"queue": "tab:blue", "random": "tab:orange", "from-nothing": "tab:green"}
        for ax, preset in zip(axes, ("fine-tune", "scratch")):
            rows = [r for r in summary if r["preset"] == preset]
            base = [r for r in rows if r["name"] == "baseline" or r["name"].startswith("baseline-")]
            for arm in ("queue", "random", "from-nothing"):
                points = sorted(((r["reviewer_minutes"], r["score"], r) for r in rows if r["arm"] == arm),
                                key=lambda p: p[0])
                if not points:
                    continue
                # one line per arm: from its fair baseline at 0 minutes (the same preset and steps
                # without the new tiles) through each K; the bar is the gain's 95% interval
                first = points[0][2]
                start = [] if first.get("gain") is None else [(0.0, first["score"] - first["gain"])]
                xs = [x for x, _ in start] + [p[0] for p in points]
                ys = [y for _, y in start] + [p[1] for p in points]
                ax.plot(xs, ys, "-", color=colours[arm], alpha=0.7)
                for minutes, score, r in points:
                    if r.get("ci"):
                        low, high = r["ci"]
                        ax.errorbar([minutes], [score], yerr=[[r["gain"] - low], [high - r["gain"]]], fmt="o",
                                    color=colours[arm], capsize=3)
                    else:
                        ax.plot([minutes], [score], "o", color=colours[arm])
                ax.plot([], [], "-o", color=colours[arm],
                        label=f"{arm}: " + "; ".join(f"{p[2]['K']} tiles {p[1]:.3f}"
                                                     + (f" ({p[2]['gain']:+.3f})" if p[2].get("gain") is not None else "")
                                                     for p in points))
            for r in base:
                ax.axhline(r["score"], color="grey", linestyle="-.", linewidth=1,
                           label=f"fair baseline {r['name']}: {r['score']:.3f}")
            for r in rows:
                if r["name"].startswith("oracle-"):
                    minutes = next((q["reviewer_minutes"] for q in summary if q["preset"] == "fine-tune"
                                    and q["name"] == r["name"][len("oracle-"):]), 0)
                    ax.scatter([minutes], [r["score"]], marker="*", s=160, color="gold", edgecolors="black",
                               zorder=5, label=f"oracle: true masks of {r['name'][len('oracle-'):]}: {r['score']:.3f}")
                if r["name"] == "full":
                    ax.axhline(r["score"], color="black", linestyle=":", linewidth=1.2,
                               label=f"true masks of the whole pool: {r['score']:.3f}")
                if r["name"].startswith("blind"):
                    ax.scatter([0], [r["score"]], marker="x", s=60, color="tab:red",
                               label=f"{r['name']} (accepted unseen): {r['score']:.3f}")
            r0 = [v.get("eval") for v in round0.values() if v.get("eval") is not None]
            if r0 and preset == "fine-tune":
                ax.axhline(float(np.mean(r0)), color="tab:purple", linestyle="--", linewidth=1,
                           label=f"round 0 (parents): {np.mean(r0):.3f}")
            ax.set_xlim(left=-5)
            ax.set_xlabel("reviewer minutes (accept 2 s, correct 25 s, draw 60 s)")
            ax.set_title(f"{preset} preset", fontsize=10)
            ax.grid(alpha=0.3)
            ax.legend(fontsize=6.5, loc="lower right")
        axes[0].set_ylabel(f"competition score on {self.state.get('split_sizes', {}).get('eval')} evaluation tiles")
        sizes = self.state.get("split_sizes", {})
        fig.suptitle(f"Curation loop: {sizes.get('labelled')} labelled tiles, pool {sizes.get('pool')}, "
                     f"{len(self.seeds)} seeds (mean); small encoder at {self.scale['input_size']} px", fontsize=10)
        fig.tight_layout()
        fig.savefig(RESULTS / ("loop_smoke.png" if self.args.smoke else "loop.png"))
        plt.close(fig)


def start_watchdog(idle_seconds=300):
    """Exit with status 3 (after dumping every thread's stack) when the process burns no CPU for
    `idle_seconds` of its own running time: a hung TensorFlow input pipeline is cut, and a
    wrapper loop resumes the run. Time the process spent stopped (SIGSTOP, to measure something
    else on an idle machine) does not count."""
    import faulthandler
    import resource
    import threading

    def used():
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return usage.ru_utime + usage.ru_stime

    def watch():
        last, since, tick = used(), time.monotonic(), time.monotonic()
        while True:
            time.sleep(15)
            now = used()
            if time.monotonic() - tick > 60:      # we were stopped: start counting again
                since = time.monotonic()
            tick = time.monotonic()
            if now - last > 1.0:        # a second of CPU in 15 s: working (a hung one spins far less)
                since = time.monotonic()
            last = now
            if time.monotonic() - since > idle_seconds:
                log(f"watchdog: no progress for {idle_seconds} s; stacks follow, then exit 3 to resume")
                faulthandler.dump_traceback(all_threads=True)
                os._exit(3)

    threading.Thread(target=watch, daemon=True).start()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=TGS)
    parser.add_argument("--work", type=Path, default=Path("/work/bench/loop2"))
    parser.add_argument("--labelled", type=int, default=500)
    parser.add_argument("--eval", type=int, default=1200)
    parser.add_argument("--pool", type=int, default=None, help="pool size (default: every other labelled tile)")
    parser.add_argument("--seeds", type=int, default=3, help="training seeds (each with its own round 0 and queue)")
    parser.add_argument("--split-seed", type=int, default=0, help="seed of the split")
    parser.add_argument("--input-size", type=int, default=64)
    parser.add_argument("--width", type=int, default=16)
    parser.add_argument("--smoke", action="store_true", help="tiny models, a few arms: checks the script runs")
    parser.add_argument("--report", action="store_true", help="only rebuild loop.json and loop.png")
    parser.add_argument("--phases", type=int, default=None, help="run only the first N phases of the plan")
    parser.add_argument("--stop-after", type=float, default=None, metavar="MINUTES",
                        help="start no new arm after this many minutes")
    args = parser.parse_args()
    if not (args.data / "train").is_dir():
        raise SystemExit(f"{args.data}: no TGS data (needs train/images and train/masks)")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    loop = Loop(args)
    start = time.monotonic()
    if not args.report:
        start_watchdog()
    loop.prepare()
    if not args.report:
        loop.round0()
        for seed in loop.seeds:
            loop.queue(seed)
        plan = [([step], None) for step in SMOKE_PLAN] if args.smoke else PHASES
        for phase, seeds in plan[:args.phases]:
            for seed in (loop.seeds if seeds is None else [s for s in seeds if s in loop.seeds]):
                for preset, arm in phase:
                    if args.stop_after is not None and time.monotonic() - start > args.stop_after * 60:
                        log("stop-after reached")
                        loop.report()
                        return
                    loop.run_arm(seed, preset, arm)
                    loop.report()
    loop.report()


if __name__ == "__main__":
    main()
