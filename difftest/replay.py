#!/usr/bin/python3
"""replay.py: replays graph descriptions written by difftest/gen in PyTorch
(float64) and compares every value the library recorded.

    /usr/bin/python3 difftest/replay.py [--expect N] [--quiet] FILE...

For each graph: every op's output (in order, so the first mismatch names the
op that caused it), the loss, the gradient of the loss with respect to every
leaf that requires grad (both ag_backward's and ag_grad's with create_graph),
with respect to some intermediate tensors and a repeated leaf (ag_grad),
and the Hessian-vector product (torch.autograd.grad of the create_graph
gradients with grad_outputs v). The format is described at the top of
difftest/gen.c.

Tolerance: element i passes when |ag_i - torch_i| <= RTOL |torch_i| + ATOL S
with RTOL = 1e-10, ATOL = 1e-12 and S = max(1, largest |torch value|) over
the op's output for a value, over the whole gradient (every leaf) for a
gradient, over the whole Hessian-vector product for an HVP. The floor is
for elements that are sums cancelling to near zero, whose rounding is
relative to the size of the terms, not of the result. Shapes must match
exactly.

Second look: a graph that fails is compared again with S raised to the size
of the terms its sums were made of: for a value, the largest |input| of its
op; for a gradient, the largest derivative flowing through the backward
pass (max over every tensor n of |dL/dn|); for an HVP, that and the largest
through the double backward (max |dPhi/dn|, Phi = sum <g, v>). This passes
exact constants built by cancellation (x * m / x, a softmax over equal
rows), whose derivatives are pure rounding residue (1e-11 where PyTorch
says 0, with 1e5 flowing through the backward pass). Graphs that pass only
so are counted ("replay-second-look"). Measured: a 1e-8 relative error in
the largest element of a gradient or an HVP is still caught in 1999 graphs
out of 2000.

Exceptions to exact replay (documented in difftest/README.md):
- cast_rt (f64 -> f32 -> f64): the recorded value must be exactly
  representable in f32 and equal PyTorch's x.float().double(), or be the
  neighbouring f32 with x at the rounding midpoint (a tie decided by a last-
  bit difference upstream); PyTorch then continues from the recorded value
  (x + (recorded - x).detach(): the gradient still flows through the cast).
- dropout_mask: the library's generator is not PyTorch's, so the recorded
  mask is taken as a constant after checking that every entry is 0 or
  1 / (1 - p).

Prints one line per failing graph, the first 3 (with --quiet: the first)
in detail with the op sequence and a command to reproduce it, then
"replay: N graphs, P passed, F failed" and "replay-ops: name=count ...".
Exit status: 0 all passed, 1 a graph failed, 2 bad input.
"""
import math
import sys

import torch
import torch.nn.functional as F

RTOL = 1e-10
ATOL = 1e-12
AG_ALL = -1000
DETAILS = 3          # failing graphs printed in full
WORST = [0.0]        # the largest error / tolerance of a passing graph
torch.set_default_dtype(torch.float64)


class Mismatch(Exception):
    """A value differs: the message says where and by how much; at is the
    index of the node it concerns (None for the derivatives)."""

    def __init__(self, msg, at=None):
        Exception.__init__(self, msg)
        self.at = at


# ------------------------------------------------------------------ parse

def parse_arg(tok):
    if tok.startswith('%'):
        return ('t', int(tok[1:]))
    if tok.startswith('['):
        inner = tok[1:-1]
        return [parse_arg(t) for t in inner.split(',')] if inner else []
    if 'x' in tok or 'inf' in tok or 'nan' in tok:
        return float.fromhex(tok)
    return int(tok)


def parse_values(text):
    return [float.fromhex(t) for t in text.split()]


def parse_shape(tok):
    inner = tok.strip()[1:-1]
    return [int(t) for t in inner.split(',')] if inner else []


def read_graphs(path):
    """Yields graphs: dicts with seed, records (kind, fields) and the text."""
    graph = None
    with open(path) as f:
        for lineno, line in enumerate(f, 1):
            line = line.rstrip('\n')
            if not line or line.startswith('#'):
                continue
            kind = line.split(' ', 1)[0]
            if kind == 'graph':
                if graph is not None:
                    raise ValueError('%s:%d: graph inside a graph' % (path, lineno))
                _, seed, n_ops = line.split()[:3]
                tag = line.split()[3] if len(line.split()) > 3 else ''
                graph = {'seed': int(seed), 'ops': int(n_ops), 'tag': tag,
                         'nodes': [], 'notes': [],
                         'loss': None, 'records': []}
            elif graph is None:
                raise ValueError('%s:%d: %s outside a graph' % (path, lineno, kind))
            elif kind == 'end':
                yield graph
                graph = None
            else:
                parse_line(graph, kind, line, path, lineno)
    if graph is not None:
        raise ValueError('%s: the last graph (seed %d) has no end: truncated?'
                         % (path, graph['seed']))


def parse_line(graph, kind, line, path, lineno):
    try:
        if kind in ('leaf', 'node'):
            head, vals = line.split(' : ', 1)
            if kind == 'leaf':
                _, nid, rg, shape = head.split()
                graph['nodes'].append({'kind': 'leaf', 'id': int(nid), 'rg': int(rg) == 1,
                                       'shape': parse_shape(shape), 'vals': parse_values(vals),
                                       'text': head})
            else:
                call, shape = head.split(' -> ')
                toks = call.split()
                graph['nodes'].append({'kind': 'node', 'id': int(toks[1]), 'op': toks[2],
                                       'args': [parse_arg(t) for t in toks[3:]],
                                       'shape': parse_shape(shape), 'vals': parse_values(vals),
                                       'text': head})
        elif kind == 'note':
            graph['notes'].append(line.split()[1])
        elif kind == 'loss':
            graph['loss'] = int(line.split()[1][1:])
        elif kind in ('grad', 'gradcg', 'vec', 'hvp', 'igrad'):
            head, vals = line.split(' : ', 1)
            _, lid, shape = head.split()
            graph['records'].append((kind, int(lid), parse_shape(shape), parse_values(vals)))
        else:
            raise ValueError('unknown record')
    except ValueError as e:
        raise ValueError('%s:%d: cannot read this %s record (%s)' % (path, lineno, kind, e))


# -------------------------------------------------------------------- ops

def red_dim(x, axis):
    """PyTorch's dim for an ag axis (AG_ALL: every axis; 0 for a 0-d x)."""
    if x.dim() == 0:
        return 0
    return tuple(range(x.dim())) if axis == AG_ALL else axis


def op_max(x, axis, keep, largest=True):
    d = red_dim(x, axis)
    if isinstance(d, tuple):
        return torch.amax(x, d, keep) if largest else torch.amin(x, d, keep)
    return (torch.max if largest else torch.min)(x, d, keep).values


def op_sum_to(x, shape):
    lead = x.dim() - len(shape)
    if lead:
        x = x.sum(dim=tuple(range(lead)))
    dims = tuple(i for i, (s, t) in enumerate(zip(x.shape, shape)) if t == 1 and s != 1)
    return x.sum(dim=dims, keepdim=True) if dims else x


def op_slice(x, axis, start, end, step):
    idx = [slice(None)] * x.dim()
    idx[axis % x.dim()] = slice(start, end, step)
    return x[tuple(idx)]


def op_clamp(x, lo, hi):
    return torch.clamp(x, min=lo if math.isfinite(lo) else None,
                       max=hi if math.isfinite(hi) else None)


def index(idx, shape=None):
    t = torch.tensor(idx, dtype=torch.int64)
    return t.reshape(shape) if shape is not None else t


def mask(b):
    return b.to(torch.float64)


OPS = {
    'neg': torch.neg, 'exp': torch.exp, 'log': torch.log, 'sqrt': torch.sqrt,
    'abs': torch.abs, 'square': torch.square, 'reciprocal': torch.reciprocal,
    'sin': torch.sin, 'cos': torch.cos, 'tanh': torch.tanh, 'sigmoid': torch.sigmoid,
    'softplus': F.softplus, 'relu': torch.relu, 'sign': torch.sign,
    'detach': lambda x: x.detach(),
    'add_scalar': lambda x, s: x + s, 'sub_scalar': lambda x, s: x - s,
    'rsub_scalar': lambda x, s: s - x, 'mul_scalar': lambda x, s: x * s,
    'div_scalar': lambda x, s: x / s, 'rdiv_scalar': lambda x, s: s / x,
    'pow_scalar': torch.pow, 'leaky_relu': F.leaky_relu, 'elu': F.elu, 'clamp': op_clamp,
    'add': torch.add, 'sub': torch.sub, 'mul': torch.mul, 'div': torch.div,
    'pow': torch.pow, 'maximum': torch.maximum, 'minimum': torch.minimum,
    'gt': lambda a, b: mask(a > b), 'ge': lambda a, b: mask(a >= b),
    'lt': lambda a, b: mask(a < b), 'le': lambda a, b: mask(a <= b),
    'eq': lambda a, b: mask(a == b),
    'gt_scalar': lambda a, s: mask(a > s), 'ge_scalar': lambda a, s: mask(a >= s),
    'lt_scalar': lambda a, s: mask(a < s), 'le_scalar': lambda a, s: mask(a <= s),
    'eq_scalar': lambda a, s: mask(a == s),
    'where': lambda m, a, b: torch.where(m != 0, a, b),
    'sum': lambda x, ax, k: x.sum(dim=red_dim(x, ax), keepdim=bool(k)),
    'mean': lambda x, ax, k: x.mean(dim=red_dim(x, ax), keepdim=bool(k)),
    'max': lambda x, ax, k: op_max(x, ax, bool(k)),
    'min': lambda x, ax, k: op_max(x, ax, bool(k), largest=False),
    'logsumexp': lambda x, ax, k: torch.logsumexp(x, red_dim(x, ax), keepdim=bool(k)),
    'var': lambda x, ax, c, k: torch.var(x, red_dim(x, ax), unbiased=bool(c), keepdim=bool(k)),
    'softmax': torch.softmax, 'log_softmax': torch.log_softmax,
    'matmul': torch.matmul, 'transpose': torch.transpose,
    'permute': lambda x, p: x.permute(*p),
    'reshape': lambda x, s: x.reshape(s), 'flatten': torch.flatten,
    'squeeze': lambda x, ax: x.squeeze() if ax == AG_ALL else x.squeeze(ax),
    'unsqueeze': torch.unsqueeze, 'expand': torch.broadcast_to, 'sum_to': op_sum_to,
    'concat': torch.cat, 'slice': op_slice,
    'index_select': lambda x, ax, i: torch.index_select(x, ax, index(i)),
    'index_add': lambda b, ax, i, s: torch.index_add(b, ax, index(i), s),
    'gather': lambda x, ax, i, sh: torch.gather(x, ax, index(i, sh)),
    'scatter_add': lambda b, ax, i, sh, s: torch.scatter_add(b, ax, index(i, sh), s),
}


def resolve(arg, env):
    if isinstance(arg, tuple):
        return env[arg[1]]
    if isinstance(arg, list):
        return [resolve(a, env) for a in arg]
    return arg


def recorded(node):
    return torch.tensor(node['vals'], dtype=torch.float64).reshape(node['shape'])


def run_cast_rt(node, env):
    """x.float().double(), checked, then continued from ag's value."""
    x = env[node['args'][0][1]]
    y = x.float().double()
    rec = recorded(node)
    yd = y.detach()
    if not torch.equal(rec.float().double(), rec):
        raise Mismatch('cast_rt: a recorded value is not a float32: %s' % node['text'])
    differ = rec != yd
    if differ.any():
        xd = x.detach().expand_as(rec)
        mid = (rec + yd) / 2
        ulp = torch.abs(torch.nextafter(yd.float(), rec.float()).double() - yd)
        near_tie = (ulp >= torch.abs(rec - yd)) & (torch.abs(xd - mid) <= 1e-12 * torch.abs(xd))
        if not near_tie[differ].all():
            i = int(torch.nonzero((differ & ~near_tie).flatten())[0])
            raise Mismatch('cast_rt: element %d: PyTorch %r, ag %r' % (
                i, yd.flatten()[i].item(), rec.flatten()[i].item()))
        return y + (rec - yd)
    return y


def run_dropout(node):
    p = node['args'][0]
    rec = recorded(node)
    keep = 1.0 / (1.0 - p) if p < 1 else 0.0
    ok = (rec == 0) | (rec == keep)
    if not ok.all() or list(rec.shape) != node['args'][1]:
        raise Mismatch('dropout_mask: entries must be 0 or %r: %s' % (keep, node['text']))
    return rec


def run_node(node, env):
    op = node['op']
    if op == 'cast_rt':
        return run_cast_rt(node, env)
    if op == 'dropout_mask':
        return run_dropout(node)
    if op not in OPS:
        raise Mismatch('unknown op %s' % op)
    args = [resolve(a, env) for a in node['args']]
    y = OPS[op](*args)
    if any(y is a for a in args):
        # Every ag op makes a new tensor, with its own gradient as an input
        # of ag_grad; PyTorch returns the input itself from some no-ops
        # (flatten with start == end, our sum_to to the same shape).
        y = y.view_as(y)
    return y


# -------------------------------------------------------------- evaluate

class Check:
    """One recorded tensor and PyTorch's value for it; scale: the absolute
    floor's (None: the tensor's own), flow: the second look's (see top)."""

    def __init__(self, what, ref, vals, shape, at=None, flow=None):
        self.what, self.ref, self.vals, self.shape, self.at = what, ref.detach(), vals, shape, at
        self.scale, self.flow = None, flow


def zeros_if_none(grads, leaves):
    return [g if g is not None else torch.zeros_like(x) for g, x in zip(grads, leaves)]


def group(checks):
    """One absolute-floor scale for a whole gradient or HVP (every leaf)."""
    scale = max_abs([c.ref for c in checks])
    for c in checks:
        c.scale = scale
    return checks


def derivative_checks(graph, env):
    loss = env[graph['loss']]
    leaf_ids = [n['id'] for n in graph['nodes'] if n['kind'] == 'leaf' and n['rg']]
    leaves = [env[i] for i in leaf_ids]
    recs = {(k, i): (s, v) for k, i, s, v in graph['records']}
    for i in leaf_ids:
        for k in ('grad', 'gradcg', 'vec', 'hvp'):
            if (k, i) not in recs:
                raise Mismatch('no %s record for leaf %%%d' % (k, i))
    grads = zeros_if_none(torch.autograd.grad(loss, leaves, create_graph=True,
                                              allow_unused=True), leaves)
    out = group([Check('grad (%s) of leaf %%%d' % (how, i), g, recs[k, i][1], recs[k, i][0],
                       flow='grad')
                 for i, g in zip(leaf_ids, grads)
                 for k, how in (('grad', 'ag_backward'), ('gradcg', 'ag_grad, create_graph'))])
    # ag_grad with respect to intermediate tensors and a repeated leaf
    irecs = [(i, s, v) for k, i, s, v in graph['records'] if k == 'igrad']
    if irecs:
        inputs = [env[i] for i, _, _ in irecs]
        ig = zeros_if_none(torch.autograd.grad(loss, inputs, retain_graph=True,
                                               allow_unused=True), inputs)
        out += group([Check('grad with respect to %%%d (ag_grad, intermediate or repeated '
                            'input)' % i, g, v, s, flow='grad') for (i, s, v), g in zip(irecs, ig)])
    vs = [torch.tensor(recs['vec', i][1]).reshape(recs['vec', i][0]) for i in leaf_ids]
    live = [(g, v) for g, v in zip(grads, vs) if g.requires_grad]
    hv = [torch.zeros_like(x) for x in leaves]
    if live:
        hv = zeros_if_none(torch.autograd.grad([g for g, _ in live], leaves,
                                               grad_outputs=[v for _, v in live],
                                               retain_graph=True, allow_unused=True), leaves)
    out += group([Check('Hessian-vector product for leaf %%%d' % i, h, recs['hvp', i][1],
                        recs['hvp', i][0], flow='hvp') for i, h in zip(leaf_ids, hv)])
    return out, live


def flows(env, loss, live):
    """The largest derivatives flowing through the backward pass, max over
    every tensor n of |dL/dn|, and through the double backward, max of
    |dPhi/dn| with Phi = sum <g, v> (g: the create_graph gradients)."""
    nodes = [t for t in env.values() if t.requires_grad]
    big = lambda ds: max([d.detach().abs().max().item() for d in ds
                          if d is not None and d.numel()] + [1.0])
    s_grad = big(torch.autograd.grad(loss, nodes, retain_graph=True, allow_unused=True))
    s_hvp = s_grad
    if live:
        phi = sum((g * v).sum() for g, v in live)
        s_hvp = max(s_hvp, big(torch.autograd.grad(phi, nodes, retain_graph=True,
                                                   allow_unused=True)))
    return {'grad': s_grad, 'hvp': s_hvp}


def evaluate(graph):
    """The graph in PyTorch: every Check in the order they are compared,
    and a function giving the second look's flow scales."""
    env, checks = {}, []
    for k, node in enumerate(graph['nodes']):
        if node['kind'] == 'leaf':
            env[node['id']] = recorded(node).requires_grad_(node['rg'])
            continue
        try:
            y = run_node(node, env)
        except Mismatch as e:
            e.at = k
            raise
        except (RuntimeError, TypeError, IndexError, KeyError, ValueError) as e:
            raise Mismatch('PyTorch rejected the op: %s: %s' % (type(e).__name__, e), k)
        env[node['id']] = y
        ins = [env[a[1]] for a in node['args'] if isinstance(a, tuple)]
        ins += [env[t[1]] for a in node['args'] if isinstance(a, list)
                for t in a if isinstance(t, tuple)]
        checks.append(Check('value of %%%d %s' % (node['id'], node['op']), y, node['vals'],
                            node['shape'], k, flow=max_abs(ins + [y])))
    if graph['loss'] is None:
        raise Mismatch('no loss record')
    try:
        more, live = derivative_checks(graph, env)
    except (RuntimeError, TypeError, IndexError, KeyError, ValueError) as e:
        raise Mismatch('PyTorch failed on the derivatives: %s: %s' % (type(e).__name__, e))
    return checks + more, lambda: flows(env, env[graph['loss']], live)


# -------------------------------------------------------------- compare

def hexs(v):
    return '%s (%.17g)' % (float.hex(v), v)


def max_abs(tensors):
    return max([t.detach().abs().max().item() for t in tensors if t.numel()] + [1.0])


def compare(c, scale=None):
    """Raises Mismatch when c's recorded values differ from its reference;
    returns the largest error / tolerance. scale: the absolute floor's."""
    ref = c.ref
    if list(ref.shape) != list(c.shape):
        raise Mismatch('%s: shape: PyTorch %s, ag %s' % (c.what, list(ref.shape), c.shape), c.at)
    got = torch.tensor(c.vals, dtype=torch.float64).reshape(ref.shape)
    if scale is None:
        scale = c.scale if c.scale is not None else max_abs([ref])
    tol = RTOL * ref.abs() + ATOL * scale
    err = (got - ref).abs()
    bad = ~(err <= tol)               # NaN counts as bad
    if bad.any():
        i = int(torch.nonzero(bad.flatten())[0])
        pos = tuple(int(k) for k in torch.nonzero(bad)[0]) if ref.dim() else ()
        r, g = ref.flatten()[i].item(), got.flatten()[i].item()
        rel = abs(g - r) / abs(r) if r else float('inf')
        raise Mismatch('%s: element %d %s: PyTorch %s, ag %s, |diff| %.3g (relative %.3g) '
                       '> tolerance %.3g (absolute floor 1e-12 x %.3g)'
                       % (c.what, i, pos, hexs(r), hexs(g), abs(g - r), rel,
                          tol.flatten()[i].item(), scale), c.at)
    return (err / tol).max().item() if ref.numel() else 0.0


def replay(graph, counts):
    """Returns (None, second_look) when every value matches (second_look:
    only with the flow scales), else ((message, node index), False)."""
    for name in graph['notes']:
        counts[name] = counts.get(name, 0) + 1
    for node in graph['nodes']:
        if node['kind'] == 'node':
            counts[node['op']] = counts.get(node['op'], 0) + 1
    try:
        checks, flow_scales = evaluate(graph)
        try:
            worst = max([compare(c) for c in checks] + [0.0])
            second = False
        except Mismatch:
            fl = flow_scales()
            worst = 0.0
            for c in checks:
                own = c.scale if c.scale is not None else max_abs([c.ref])
                worst = max(worst, compare(c, max(own, fl.get(c.flow, 1.0)
                                                  if isinstance(c.flow, str) else c.flow)))
            second = True
        if not worst <= WORST[0]:
            WORST[0] = worst
        return None, second
    except Mismatch as e:
        return (str(e), e.at), False


def report(path, graph, msg, at, detail):
    seed = graph['seed']
    print('difftest: FAIL graph seed %d (%s): %s' % (seed, path, msg))
    if not detail:
        return
    nodes = graph['nodes'] if at is None else graph['nodes'][:at + 1]
    print('  op sequence%s:' % ('' if at is None else ' up to the first mismatch'))
    for n in nodes:
        print('    ' + n['text'] + ('   <-- here' if at is not None and n is nodes[-1] else ''))
    how = ('--repro ' + graph['tag'][len('repro_'):] if graph['tag'].startswith('repro_')
           else '--seed %d --count 1' % seed)
    print('  reproduce: build/difftest/gen %s > g.txt && /usr/bin/python3 difftest/replay.py g.txt'
          % how)


def main(argv):
    expect, details, paths = None, DETAILS, []
    args = iter(argv)
    for a in args:
        if a == '--expect':
            expect = int(next(args))
        elif a == '--quiet':
            details = 1
        else:
            paths.append(a)
    if not paths:
        print('usage: replay.py [--expect N] [--quiet] FILE...', file=sys.stderr)
        return 2
    n = failed = second = 0
    counts = {}
    try:
        for path in paths:
            for graph in read_graphs(path):
                n += 1
                res, looked_twice = replay(graph, counts)
                second += looked_twice
                if res:
                    failed += 1
                    report(path, graph, res[0], res[1], failed <= details)
    except (ValueError, OSError) as e:
        print('replay: bad input: %s' % e)
        return 2
    print('replay: %d graphs, %d passed, %d failed' % (n, n - failed, failed))
    print('replay-worst: %.3g of the tolerance' % WORST[0])
    print('replay-second-look: %d passed only on the second look' % second)
    print('replay-ops: ' + ' '.join('%s=%d' % kv for kv in sorted(counts.items())))
    if expect is not None and n != expect:
        print('replay: expected %d graphs, read %d' % (expect, n))
        return 2
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
