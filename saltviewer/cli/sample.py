HELP = "write a synthetic dataset in the competition layout"
DESCRIPTION = ("Write a synthetic dataset in the competition layout: tiles cut from synthetic seismic "
               "sections (folded reflectors, salt bodies with chaotic interiors), about 40% without salt, "
               "with depths and the true tile layout in sample_layout.csv.")


def add_arguments(parser):
    from pathlib import Path

    parser.add_argument("out", type=Path, metavar="DIR", help="folder to create (must be new or empty)")
    parser.add_argument("--n-train", type=int, default=400, metavar="N", help="labelled tiles (default 400)")
    parser.add_argument("--n-test", type=int, default=100, metavar="M", help="unlabelled tiles (default 100)")
    parser.add_argument("--seed", type=int, default=0, metavar="S", help="random seed (default 0)")


def run(args):
    from ..sample import make_sample

    out = make_sample(args.out, args.n_train, args.n_test, args.seed)
    print(f"wrote {args.n_train} train and {args.n_test} test tiles to {out}")
    return 0
