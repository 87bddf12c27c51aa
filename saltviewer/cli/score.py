HELP = "score a submission CSV with the competition metric"
DESCRIPTION = ("Score an id,rle_mask submission against ground truth (a train.csv-style CSV, a folder of "
               "mask PNGs, or a data folder). Truth ids missing from the submission count as empty "
               "predictions. The last line is 'score: <value>'.")


def add_arguments(parser):
    from pathlib import Path

    parser.add_argument("submission", type=Path, metavar="SUBMISSION.csv", help="id,rle_mask CSV to score")
    parser.add_argument("--truth", type=Path, required=True, metavar="TRUTH",
                        help="train.csv-style CSV, folder of mask PNGs, or data folder")


def run(args):
    from ..score import score_submission

    report = score_submission(args.submission, args.truth)
    print(f"scored {report.n_scored} tiles")
    print(f"missing from the submission (scored as empty): {report.n_missing}")
    if report.n_extra:
        print(f"in the submission but not in the truth (ignored): {report.n_extra}")
    print(f"score: {report.score:.4f}")
    return 0
