"""The curation loop benchmark: what does reviewing K pseudo-labels buy a retrained model?

A simulated loop on the 3,200 labelled TGS tiles, whose truth is known but hidden from training:

* **Split** (seeded, stratified by salt-coverage class): a labelled part, a pool whose masks
  training never sees, and a fixed evaluation part that nothing trains on. The default 500 /
  1,900 / 800 keeps the pool about 4x the labelled part (the real pool is 4.5x: 18,000 to
  3,200), leaves K = 1,000 reviews at about half the pool, and 800 evaluation tiles for paired
  comparisons; the labelled part is small enough for round 0 to train in minutes on 2 cores.
* **Round 0**: the default from-scratch recipe (seed 0, 3 folds x 24 epochs) on the labelled
  part, the parent of every arm, and a shorter second version (seed 1, 2 folds x 12 epochs)
  for the ensemble that selects; both predict the pool. Their out-of-fold maps choose the pseudo-label share: the largest
  share of the ranked selection whose out-of-fold mean per-image precision is at least 0.90.
  The same curve on the pool (truth known here) says how good the choice was.
* **Queue**: the ranked candidates plus every other pool tile the two disagree on, in the store
  (`saltviewer.pseudo.propose_pseudo_labels`), in the Review queue's order (most disputed first).
* **Arms**, each a fine-tune of round 0's first version with the same recipe (the default
  `TrainingRecipe.fine_tune()`: the same number of gradient steps whatever the pseudo-labels, so
  equal training time) and scored on the same evaluation tiles:
  ``baseline`` (no pseudo-labels), ``blind`` (every candidate accepted unseen), ``queue-K`` (the
  first K of the queue reviewed by a simulated reviewer who sees the truth: accept when the
  proposal's per-image score is at least 0.8, else correct it to the truth), ``random-K`` (K
  items of the same queue in random order), and ``queue-K+blind`` (reviewed K, the remaining
  candidates accepted unseen, as a person with a batch-accept button would do).

Everything is kept under --work (default /work/bench/loop) and a cut run resumes where it
stopped: each finished step writes its result file. ``--report`` only rebuilds the JSON and
the plot from what is there.

Run:  nohup sh -c 'until python benchmarks/bench_loop.py; do [ $? -eq 3 ] || break; done' > /work/bench/loop.log 2>&1 &
      (exit status 3: the watchdog cut a hung run; the loop resumes it)
Writes benchmarks/results/loop.json and benchmarks/results/loop.png.
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


# ---------------------------------------------------------------------------------- evaluation
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


# ---------------------------------------------------------------------------------- the benchmark
class Loop:
    def __init__(self, args):
        self.args = args
        self.work = Path(args.work)
        self.work.mkdir(parents=True, exist_ok=True)
        self.state_path = self.work / "state.json"
        self.state = json.loads(self.state_path.read_text()) if self.state_path.is_file() else {}

    def save(self):
        tmp = self.state_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.state, indent=1))
        os.replace(tmp, self.state_path)

    # -------------------------------------------------------------- steps
    def prepare(self):
        from saltviewer import Workspace, open_dataset

        source = Path(self.args.data).resolve()
        if "split" not in self.state:
            full = open_dataset(source)
            self.state["split"] = make_split(full, self.args.labelled, self.args.eval, self.args.seed, self.args.pool)
            self.state["split_sizes"] = {k: len(v) for k, v in self.state["split"].items()}
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
        pool_rows = self.dataset.indices("test")
        self.pool_rows = pool_rows
        self.pool_truth = truth_source.masks([truth_source.index(self.dataset.ids[i]) for i in pool_rows])
        self.truth_of = {self.dataset.ids[i]: m for i, m in zip(pool_rows, self.pool_truth)}

    def round0(self):
        from saltviewer.recipe import TrainingRecipe
        from saltviewer.training import predict_dataset, train_model

        versions = self.state.setdefault("round0", {})
        for seed in (0, 1):
            key = f"seed{seed}"
            if key in versions:
                continue
            log(f"round 0: training from scratch, seed {seed}")
            recipe = TrainingRecipe.from_scratch(seed=seed, **(SMOKE_SCRATCH if self.args.smoke else ROUND0[seed]))
            result = train_model(self.dataset, self.workspace, recipe)
            versions[key] = {"version": result.version, "oof_score": result.card["oof_score"],
                             "seconds": result.card["timings"]["total_s"], "recipe": result.card["recipe"]}
            self.save()
            log(f"round 0 {result.version}: oof {result.card['oof_score']:.4f} in {result.card['timings']['total_s']} s")
        names = [versions[f"seed{s}"]["version"] for s in (0, 1)]
        # a member no better than predicting every tile empty (its out-of-fold score at or below the
        # share of empty masks) would only veto salt: the selection then uses the others alone
        from saltviewer.pseudo import labelled_empty_share

        floor = labelled_empty_share(self.dataset) + 0.01
        useful = [v for v, s in zip(names, (0, 1)) if versions[f"seed{s}"]["oof_score"] > floor]
        self.state["selection_members"] = useful or names[:1]
        missing = [v for v in names if not self.workspace.has_predictions(v, self.dataset)
                   or not self.workspace.predicted_tiles(v, self.dataset)[self.pool_rows].all()]
        if missing:
            log(f"round 0: predicting the pool with {missing}")
            start = time.perf_counter()
            predict_dataset(self.dataset, self.workspace, missing, split="test")
            self.state["pool_predict_seconds"] = round(time.perf_counter() - start, 1)
            self.save()
        self.versions = list(self.state["selection_members"])
        self.parent = names[0]
        for key, info in versions.items():
            if "eval" not in info:
                scores = evaluate_version(self.workspace, info["version"], self.eval_set, self.eval_truth)
                np.save(self.work / f"eval_{info['version']}.npy", scores)
                info["eval"] = round(float(scores.mean()), 4)
                self.save()
                log(f"round 0 {info['version']}: evaluation {info['eval']:.4f}")

    def curves(self):
        if "curves" in self.state:
            return
        from saltviewer.ensemble import Ensemble
        from saltviewer.pseudo import RANKS, labelled_empty_share

        empty_share = labelled_empty_share(self.dataset)
        labelled = np.flatnonzero(self.dataset.has_mask)
        with oof_ensemble(self.work, self.workspace, self.dataset, self.versions) as ensemble:
            oof = precision_curve(ensemble, labelled, self.dataset.masks(labelled), SHARES, RANKS, empty_share)
        with Ensemble(self.workspace, self.dataset, self.versions) as ensemble:
            pool = precision_curve(ensemble, self.pool_rows, self.pool_truth, SHARES, RANKS, empty_share)
        # the ranking and share chosen on the out-of-fold maps only (the pool's truth is hidden)
        best = None
        for rank in RANKS:
            ok = [p for p in oof[0][rank] if p["precision"] is not None and p["precision"] >= TARGET_PRECISION]
            if ok and (best is None or ok[-1]["share"] > best[1] or
                       (ok[-1]["share"] == best[1] and ok[-1]["precision"] > best[2])):
                best = (rank, ok[-1]["share"], ok[-1]["precision"])
        if best is None:
            best = ("expected-iou", SHARES[0], None)
        self.state["curves"] = {"empty_share": empty_share, "target_precision": TARGET_PRECISION,
                                "oof": {"ranked": oof[0], "threshold_criterion": oof[1], **oof[2]},
                                "pool": {"ranked": pool[0], "threshold_criterion": pool[1], **pool[2]},
                                "chosen": {"rank": best[0], "share": best[1], "oof_precision": best[2]}}
        self.save()
        log(f"selection chosen on out-of-fold maps: {best}")

    def queue(self):
        from saltviewer import CurationStore
        from saltviewer.pseudo import propose_pseudo_labels

        store_path = self.work / "queue.sqlite"
        if "queue" in self.state and store_path.is_file():
            return
        if store_path.exists():
            store_path.unlink()
        chosen = self.state["curves"]["chosen"]
        with CurationStore(store_path, user="bench") as store:
            if len(self.versions) > 1:
                report = propose_pseudo_labels(self.workspace, self.dataset, self.versions, store=store,
                                               share=chosen["share"], rank=chosen["rank"], label_errors=False,
                                               review=len(self.pool_rows), crf=False)
                candidates = report.candidates
                review_items = len(report.review)
            else:
                # one member: no disputes to queue; the whole pool is queued as ranked proposals (the
                # queue orders them most uncertain first) and the candidates are the chosen share
                report = propose_pseudo_labels(self.workspace, self.dataset, self.versions, store=store,
                                               share=1.0, rank=chosen["rank"], label_errors=False,
                                               empty_share=None, crf=False)
                from saltviewer.ensemble import Ensemble
                from saltviewer.pseudo import labelled_empty_share, select_candidates

                with Ensemble(self.workspace, self.dataset, self.versions) as ensemble:
                    scores = ensemble.scores(self.pool_rows, truth=False, images=True)
                candidates = select_candidates(scores, share=chosen["share"], rank=chosen["rank"],
                                               empty_share=labelled_empty_share(self.dataset))
                review_items = 0
            items = store.queue(self.dataset)
        self.state["queue"] = {
            "order": [item.tile for item in items],
            "criteria": [item.criterion for item in items],
            "candidates": list(candidates.ids),
            "candidate_counts": candidates.counts(),
            "review_items": review_items,
            "members": list(self.versions),
        }
        self.save()
        log(f"queue: {len(items)} items, {len(candidates)} candidates ({candidates.counts()}), "
            f"{review_items} disputed")

    def arm_labels(self, arm):
        """Decisions of the simulated reviewer for an arm, made through a real curation store."""
        from saltviewer import CurationStore
        from saltviewer.loop import simulate_review
        from saltviewer.metric import image_precisions

        q = self.state["queue"]
        order = q["order"]
        name, _, rest = arm.partition("-")
        reviewed, blind = [], []
        if name == "blind":
            blind = list(q["candidates"])
        elif name in ("queue", "random"):
            k, _, extra = rest.partition("+")
            k = int(k)
            if name == "queue":
                reviewed = order[:k]
            else:
                rng = np.random.default_rng(1000 + k)
                reviewed = [order[i] for i in rng.permutation(len(order))[:k]]
            if extra == "blind":
                seen = set(reviewed)
                blind = [t for t in q["candidates"] if t not in seen]
        path = self.work / f"store_{arm}.sqlite"
        if path.exists():
            path.unlink()
        shutil.copy2(self.work / "queue.sqlite", path)
        with CurationStore(path, user="simulated-reviewer") as store:
            tally = simulate_review(store, self.dataset, reviewed, self.truth_of, accept_at=ACCEPT_AT)
            for tile in blind:
                store.accept(self.dataset, tile, "pseudo", user="batch")
            labels = store.pseudo_labels(self.dataset)
        quality = None
        if labels:
            ids = list(labels)
            quality = float(image_precisions(np.array([self.truth_of[t] for t in ids]),
                                             np.array([labels[t] for t in ids])).mean())
        return labels, {"reviewed": tally["reviewed"], "accepted": tally["accepted"], "corrected": tally["corrected"],
                        "blind": len(blind), "pseudo_labels": len(labels), "pseudo_label_precision": quality}

    def run_arm(self, arm, seed, recipe_name):
        from saltviewer.recipe import TrainingRecipe
        from saltviewer.training import train_model

        key = f"{recipe_name}/{arm}/seed{seed}"
        arms = self.state.setdefault("arms", {})
        if key in arms:
            return
        parent = self.parent
        labels, review = self.arm_labels(arm)
        recipe = TrainingRecipe.fine_tune(seed=seed, **{**RECIPES[recipe_name], **(SMOKE_TUNE if self.args.smoke else {})})
        log(f"arm {key}: {review}")
        start = time.perf_counter()
        result = train_model(self.dataset, self.workspace, recipe, base_version=parent,
                             pseudo_labels=labels or None)
        seconds = time.perf_counter() - start
        scores = evaluate_version(self.workspace, result.version, self.eval_set, self.eval_truth)
        np.save(self.work / f"eval_{result.version}.npy", scores)
        arms[key] = {"arm": arm, "seed": seed, "recipe": recipe_name, "version": result.version,
                     "eval": round(float(scores.mean()), 4), "oof_score": result.card["oof_score"],
                     "parent_oof_score": result.card.get("parent_oof_score"), "train_seconds": round(seconds, 1),
                     **review}
        self.save()
        log(f"arm {key}: {result.version} evaluation {scores.mean():.4f} (train {seconds:.0f} s)")

    # -------------------------------------------------------------- report
    def report(self):
        state = self.state
        results = {"command": "python benchmarks/bench_loop.py", "data": str(self.args.data),
                   "split": state.get("split_sizes"), "accept_at": ACCEPT_AT,
                   "round0": state.get("round0"), "pool_predict_seconds": state.get("pool_predict_seconds"),
                   "selection": state.get("curves"), "recipes": {k: v for k, v in RECIPES.items()}}
        if "queue" in state:
            q = state["queue"]
            results["queue"] = {"items": len(q["order"]), "candidates": len(q["candidates"]),
                                "candidate_counts": q["candidate_counts"], "review_items": q["review_items"]}
        arms = state.get("arms", {})
        results["arms"] = arms
        base_scores = {}
        summary = {}
        for key, info in arms.items():
            if info["arm"] == "baseline":
                base_scores[(info["recipe"], info["seed"])] = np.load(self.work / f"eval_{info['version']}.npy")
        round0 = state.get("round0", {}).get("seed0")
        round0_scores = np.load(self.work / f"eval_{round0['version']}.npy") if round0 else None
        for key, info in arms.items():
            scores = np.load(self.work / f"eval_{info['version']}.npy")
            base = base_scores.get((info["recipe"], info["seed"]))
            if base is not None and info["arm"] != "baseline":
                d, lo, hi = paired_ci(base, scores)
                info["vs_baseline"] = {"diff": round(d, 4), "ci95": [round(lo, 4), round(hi, 4)]}
            if round0_scores is not None:
                d, lo, hi = paired_ci(round0_scores, scores)
                info["vs_round0"] = {"diff": round(d, 4), "ci95": [round(lo, 4), round(hi, 4)]}
            group = summary.setdefault(f"{info['recipe']}/{info['arm']}", {"evals": [], "seconds": [], "diffs": []})
            group["evals"].append(info["eval"])
            group["seconds"].append(info["train_seconds"])
            if "vs_baseline" in info:
                group["diffs"].append(info["vs_baseline"]["diff"])
        for group in summary.values():
            group["mean_eval"] = round(float(np.mean(group["evals"])), 4)
            group["mean_vs_baseline"] = round(float(np.mean(group["diffs"])), 4) if group["diffs"] else None
            group["mean_train_seconds"] = round(float(np.mean(group["seconds"])), 1)
        # seeds pooled: the paired difference over (seed, image) pairs
        for name, group in summary.items():
            recipe_name, arm = name.split("/", 1)
            pairs = [(base_scores[(recipe_name, info["seed"])], np.load(self.work / f"eval_{info['version']}.npy"))
                     for info in arms.values() if info["recipe"] == recipe_name and info["arm"] == arm
                     and (recipe_name, info["seed"]) in base_scores]
            if pairs and arm != "baseline":
                d, lo, hi = paired_ci(np.concatenate([a for a, _ in pairs]), np.concatenate([b for _, b in pairs]))
                group["pooled_vs_baseline"] = {"diff": round(d, 4), "ci95": [round(lo, 4), round(hi, 4)],
                                               "seeds": len(pairs)}
        results["summary"] = summary
        write_results("loop_smoke" if self.args.smoke else "loop", results)
        self.plot(summary)

    def plot(self, summary):
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(10.5, 5), dpi=110)
        round0 = self.state.get("round0", {}).get("seed0", {}).get("eval")
        colours = {"fast": "tab:green", "default": "tab:blue", "long": "tab:purple", "long1": "tab:orange"}
        for recipe_name in RECIPES:
            for order, style in (("queue", "-o"), ("random", "--s")):
                points = sorted((int(name.split("-")[1]), g) for name, g in
                                ((n.split("/", 1)[1], g) for n, g in summary.items() if n.startswith(recipe_name + "/"))
                                if name.startswith(order + "-") and "+" not in name)
                if points:
                    ks = [k for k, _ in points]
                    ax.plot(ks, [g["mean_eval"] for _, g in points], style, color=colours.get(recipe_name),
                            label=f"{order} order ({recipe_name} fine-tune)")
                    for k, g in points:
                        ax.scatter([k] * len(g["evals"]), g["evals"], color=colours.get(recipe_name), s=8, alpha=0.4)
            for arm, style in (("baseline", "-."), ("blind", ":")):
                g = summary.get(f"{recipe_name}/{arm}")
                if g:
                    ax.axhline(g["mean_eval"], color=colours.get(recipe_name), linestyle=style, linewidth=1.2,
                               label=f"{arm} ({recipe_name}): {g['mean_eval']:.3f}")
            for name, g in summary.items():
                if name.startswith(recipe_name + "/") and "+blind" in name:
                    k = int(name.split("-")[1].split("+")[0])
                    ax.scatter([k], [g["mean_eval"]], marker="*", s=120, color=colours.get(recipe_name), edgecolors="black",
                               label=f"{name.split('/', 1)[1]} ({recipe_name})")
        if round0 is not None:
            ax.axhline(round0, color="grey", linestyle="--", linewidth=1, label=f"round 0: {round0:.3f}")
        ax.set_xscale("log")
        ax.set_xlabel("tiles reviewed (K)")
        ax.set_ylabel("competition score on 800 evaluation tiles")
        sizes = self.state.get("split_sizes", {})
        ax.set_title(f"Curation loop: {sizes.get('labelled')} labelled, pool {sizes.get('pool')}, "
                     f"fine-tuned from round 0", fontsize=10)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
        fig.tight_layout()
        fig.savefig(RESULTS / ("loop_smoke.png" if self.args.smoke else "loop.png"))
        plt.close(fig)


#: Fine-tune recipes compared, each the same for every arm (equal training time): ``fast`` is the
#: default fine-tune on one model (fold 0 of the parent, a fifth held out; what 2 shared cores
#: could afford), ``default`` the default fine-tune of all three folds, ``long`` 8 epochs of 1,000
#: tiles per fold, which gives pseudo-labels more steps to matter; ``long1`` the same on one model (the
#: fast recipe sees at most 4 x 166 pseudo-labels: too few steps for 1,000 reviewed tiles to matter).
RECIPES = {"fast": {"folds": 1}, "default": {}, "long": {"epochs": 8, "epoch_tiles": 1000, "pseudo_fraction": 0.5},
           "long1": {"folds": 1, "epochs": 8, "epoch_tiles": 1000, "pseudo_fraction": 0.5}}
#: Round 0: the default from-scratch recipe (the parent of every arm), and a short second member
#: (one model, 6 epochs) whose only role is to make the ensemble for the selection: on the shared
#: 2-core machine training ran at about 10 tiles/s, not the 51 of the throughput benchmark.
ROUND0 = {0: {}, 1: {"folds": 1, "epochs": 6}}
SMOKE_SCRATCH = {"epochs": 2, "width": 4, "folds": 2}
SMOKE_TUNE = {"epochs": 1, "width": 4, "folds": 2, "swa_epochs": 0}
#: What runs, in order: (recipe, seed, arms).
PLAN = [
    ("fast", 0, ["baseline", "blind", "queue-300", "random-300", "queue-1000", "random-1000", "queue-100"]),
    ("long1", 0, ["baseline", "queue-1000", "random-1000", "blind", "queue-300", "queue-300+blind"]),
    ("fast", 1, ["baseline", "blind", "queue-300", "random-300", "queue-1000", "random-1000"]),
    ("fast", 0, ["random-100", "queue-300+blind"]),
    ("default", 0, ["baseline", "blind", "queue-300", "random-300", "queue-1000", "random-1000", "queue-300+blind"]),
    ("long", 0, ["baseline", "blind", "queue-1000", "random-1000", "queue-300+blind"]),
]


def start_watchdog(idle_seconds=300):
    """Exit with status 3 (after dumping every thread's stack) when the process burns no CPU for
    `idle_seconds`: a hung TensorFlow input pipeline is cut, and a wrapper loop resumes the run."""
    import faulthandler
    import resource
    import threading

    def used():
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return usage.ru_utime + usage.ru_stime

    def watch():
        last, since = used(), time.monotonic()
        while True:
            time.sleep(15)
            now = used()
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
    parser.add_argument("--work", type=Path, default=Path("/work/bench/loop"))
    parser.add_argument("--labelled", type=int, default=500)
    parser.add_argument("--eval", type=int, default=800)
    parser.add_argument("--seed", type=int, default=0, help="seed of the split")
    parser.add_argument("--pool", type=int, default=None, help="pool size (default: every other labelled tile)")
    parser.add_argument("--smoke", action="store_true", help="tiny models and two arms: checks the script runs")
    parser.add_argument("--report", action="store_true", help="only rebuild loop.json and loop.png")
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
        loop.curves()
        loop.queue()
        for recipe_name, seed, arms in (PLAN[:1] if args.smoke else PLAN):
            arms = arms[:3] if args.smoke else arms
            for arm in arms:
                if args.stop_after is not None and time.monotonic() - start > args.stop_after * 60:
                    log("stop-after reached")
                    break
                loop.run_arm(arm, seed, recipe_name)
                loop.report()
    else:
        loop.versions = loop.state.get("selection_members") or [loop.state["round0"]["seed0"]["version"]]
    loop.report()


if __name__ == "__main__":
    main()
