HELP = "list every problem in a data folder (exit 1 if any)"


def add_arguments(parser):
    from ._common import add_data_argument

    add_data_argument(parser)


def run(args):
    from ..check import check_dataset
    from ._common import tqdm_progress

    progress = tqdm_progress("checking")
    try:
        problems = check_dataset(args.data, progress=progress)
    finally:
        progress.close()
    for problem in problems:
        print(problem)
    if problems:
        print(f"{len(problems)} problem{'s' if len(problems) != 1 else ''} in {args.data}")
        return 1
    from ..dataset import open_dataset

    dataset = open_dataset(args.data)
    n_train = int((dataset.split == "train").sum())
    print(f"{args.data}: no problems; {len(dataset)} tiles ({n_train} train, {len(dataset) - n_train} test), "
          f"{int(dataset.has_mask.sum())} masks, {int((~__import__('numpy').isnan(dataset.depths)).sum())} depths")
    return 0
