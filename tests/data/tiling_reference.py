# Prints the tile layouts of deepinv's tiling_splitting_strategy that tests/unit/test_tiling.cpp
# compares with (run with deepinv 0.5: python tests/data/tiling_reference.py).
from deepinv.distributed.strategies.utils import tiling_splitting_strategy

CASES = [
    # (img_size, patch_size, overlap, stride, tiling_dims)
    ((1, 3, 16, 16), 8, 2, None, (-2, -1)),
    ((1, 3, 16, 16), 4, 2, None, (-2, -1)),
    ((2, 1, 37, 23), (8, 5), (3, 1), None, (-2, -1)),
    ((1, 1, 50, 40), 12, 4, 7, (-2, -1)),
    ((1, 1, 16, 16, 16), 8, 2, None, (-3, -2, -1)),
    ((1, 2, 9, 30), 9, 0, 4, (-1,)),
    ((1, 1, 33, 21, 10), (10, 7), (2, 3), (6, 7), (2, 3)),
]


def starts_and_trims(img, md, gs, dim_pos):
    dim = md["tiling_dims"][dim_pos]
    dim = dim + len(img) if dim < 0 else dim
    starts = sorted({g[dim].start for g in gs})
    trims = []
    for st in starts:
        for g, c in zip(gs, md["crop_slices"]):
            if g[dim].start == st:
                trims.append(c[dim].start - (md["window_shape"][dim_pos] - md["inner_patch_size"][dim_pos]) // 2)
                break
    return starts, trims


for img, p, rf, s, dims in CASES:
    gs, md = tiling_splitting_strategy(img, patch_size=p, overlap=rf, stride=s, tiling_dims=dims)
    print(f"// {img} patch={p} overlap={rf} stride={s} dims={dims}: {len(gs)} tiles,"
          f" window {md['window_shape']}")
    for i in range(len(dims)):
        st, tr = starts_and_trims(img, md, gs, i)
        print(f"//   axis {i}: starts {st} trims {tr}")
    # Tile order: the padded start of every tile along each tiled dimension, for tiles 0..5.
    nd = [d + len(img) if d < 0 else d for d in dims]
    print(f"//   order: {[tuple(g[d].start for d in nd) for g in gs[:6]]}")
    # deepinv's target slices (into the signal) of the last tile.
    print(f"//   last target: {[(gs and md['target_slices'][-1][d].start, md['target_slices'][-1][d].stop) for d in nd]}")
