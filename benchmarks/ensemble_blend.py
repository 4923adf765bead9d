"""Rank vs mean blending of the engine's greedy ensemble (the measurement behind anytime/ensemble.py).

Data: ``autodl_solver.testing.make_dataset`` for all five domains, multi-class and
multi-label, 5 classes, seeds 0-2 (30 cases); summary features with Gaussian noise
so that the tasks are not trivial; four scikit-learn members; 100-example hold-out.

Usage::

    .venv/bin/python -m benchmarks.ensemble_blend | tee benchmarks/results/ensemble_blend.txt
"""
import warnings

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.naive_bayes import GaussianNB
from sklearn.neighbors import KNeighborsClassifier
from sklearn.ensemble import RandomForestClassifier
from sklearn.multioutput import MultiOutputClassifier
from autodl_solver.testing import make_dataset, DOMAINS
from autodl_solver.anytime.ensemble import greedy_selection, blend
from autodl_solver.anytime.validation import validation_nauc

warnings.filterwarnings("ignore")  # after the imports, none of which warns: same output as before

def feats(x, domain, vocab):
    if domain == "tabular":
        return x.ravel()
    if domain == "text":
        h = np.bincount(x.ravel().astype(int), minlength=vocab).astype(float)
        return h / h.sum()
    if domain == "speech":
        s = np.abs(np.fft.rfft(x.ravel(), n=4096))
        b = s[:2048].reshape(64, 32).mean(1)
        return np.log1p(b)
    if domain == "image":
        return np.concatenate([x.mean((0,1,2)), x.std((0,1,2)),
                               np.abs(np.diff(x, axis=1)).mean((0,1,2)), np.abs(np.diff(x, axis=2)).mean((0,1,2))])
    if domain == "video":
        return np.concatenate([x.mean(0).ravel(), x.std(0).ravel()])

def proba(model, X, ml):
    p = model.predict_proba(X)
    if ml:
        return np.stack([q[:, 1] if q.shape[1] == 2 else np.zeros(len(X)) for q in p], 1)
    return p

def models(seed):
    return [LogisticRegression(max_iter=300, C=0.05), GaussianNB(), KNeighborsClassifier(7),
            RandomForestClassifier(30, max_depth=4, random_state=seed)]

res = {"rank": [], "mean": [], "best": []}
wins = 0
ties = 0
n = 0
for domain in DOMAINS:
    for ml in (False, True):
        for seed in range(3):
            tr, te, yte = make_dataset(domain, n_train=700, n_test=400, output_dim=5, multilabel=ml, seed=seed)
            xs, y = tr.take(0, len(tr))
            xt, _ = te.take(0, len(te))
            vocab = len(tr.metadata.channel_to_index)
            X = np.array([feats(x, domain, vocab) for x in xs])
            Xt = np.array([feats(x, domain, vocab) for x in xt])
            rng = np.random.default_rng(seed)
            noise = rng.normal(0, 1.0 * X.std(0) + 1e-9, X.shape)
            X = X + noise  # harder
            Xt = Xt + rng.normal(0, 1.0 * Xt.std(0) + 1e-9, Xt.shape)
            Xtr, ytr, Xv, yv = X[100:], y[100:], X[:100], y[:100]
            vp, tp, sc = {}, {}, {}
            for i, m in enumerate(models(seed)):
                mm = MultiOutputClassifier(m) if ml else m
                target = ytr.astype(int) if ml else ytr.argmax(1)
                mm.fit(Xtr, target)
                vp[i] = proba(mm, Xv, ml)
                tp[i] = proba(mm, Xt, ml)
                sc[i] = validation_nauc(yv, vp[i])
            best = max(sc, key=sc.get)
            out = {}
            for mode in ("rank", "mean"):
                sel = greedy_selection(vp, yv, sc, max_size=5, accept_ratio=0.97, mode=mode)
                if sel is None:
                    pred = tp[best]
                else:
                    pred = blend([tp[k] for k in sel.members], list(sel.members.values()), mode,
                                 [sel.refs.get(k) for k in sel.members])
                out[mode] = validation_nauc(yte, pred)
            out["best"] = validation_nauc(yte, tp[best])
            for k in res:
                res[k].append(out[k])
            n += 1
            wins += out["rank"] > out["mean"] + 1e-9
            ties += abs(out["rank"] - out["mean"]) <= 1e-9
            print(domain, ml, seed, {k: round(v, 4) for k, v in out.items()},
                  {k: round(v, 3) for k, v in sc.items()}, flush=True)
print({k: round(float(np.mean(v)), 4) for k, v in res.items()}, "rank wins", wins, "ties", ties, "of", n)
